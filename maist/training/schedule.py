"""Schedules: the learning rate and keep_prob as pure functions of the step.

    StepTable.parse("1e-3, 1000:1e-4, 5000:1e-5")   piecewise constant
    Cosine.parse("cosine(2e-3, warmup=100, floor=1e-5, steps=2000)")   warm-up, then cosine
    parse_schedule(text)                              either, or a constant
    schedule(step) -> value                           fed through a placeholder every step

Boundaries are inclusive of the new value: in "1e-3, 1000:1e-4" step 999 trains at 1e-3
and step 1000 at 1e-4, which is what the blog's `if i == 1000: L = 1e-4` meant.

Why a placeholder: the blog built `AdamOptimizer(L)` from a Python float once, so its later
`L = 1e-4` changed a Python name and never the graph; its learning rate stayed 1e-3. MAIST
feeds the schedule's value at every step, so a table really takes effect (recipe
"blog-95-as-run" reproduces what the blog's code actually did).
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, replace

from ..errors import ScheduleError


@dataclass(frozen=True)
class StepTable:
    """Piecewise constant: values[0] before boundaries[0], values[i] from boundaries[i-1]."""

    values: tuple[float, ...]
    boundaries: tuple[int, ...] = ()

    def __post_init__(self):
        if len(self.values) != len(self.boundaries) + 1:
            raise ScheduleError(
                f"a table with {len(self.boundaries)} boundaries needs "
                f"{len(self.boundaries) + 1} values, got {len(self.values)}"
            )
        if any(b <= 0 for b in self.boundaries):
            raise ScheduleError(f"boundaries must be positive steps, got {list(self.boundaries)}")
        if any(b2 <= b1 for b1, b2 in zip(self.boundaries, self.boundaries[1:])):
            raise ScheduleError(
                f"boundaries must increase strictly, got {list(self.boundaries)}"
            )

    def __call__(self, step: int) -> float:
        return self.values[bisect.bisect_right(self.boundaries, step)]

    @classmethod
    def constant(cls, value: float) -> "StepTable":
        return cls((float(value),))

    @classmethod
    def parse(cls, text: str) -> "StepTable":
        """'1e-3, 1000:1e-4' -> 1e-3 until step 999, 1e-4 from step 1000."""
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise ScheduleError("an empty table; give at least one value, e.g. '1e-4'")
        try:
            values = [float(parts[0])]
            bounds = []
            for p in parts[1:]:
                step, value = p.split(":")
                bounds.append(int(step))
                values.append(float(value))
        except ValueError:
            raise ScheduleError(
                f"cannot read table {text!r}; write 'VALUE, STEP:VALUE, ...' "
                f"such as '1e-3, 1000:1e-4, 5000:1e-5'"
            ) from None
        return cls(tuple(values), tuple(bounds))

    def __str__(self) -> str:
        parts = [f"{self.values[0]:g}"] + [
            f"{b}:{v:g}" for b, v in zip(self.boundaries, self.values[1:])
        ]
        return ", ".join(parts)


@dataclass(frozen=True)
class Cosine:
    """Linear warm-up to `peak` over `warmup` steps, then a cosine down to `floor` at `steps`.

    A pure function of the step, fed through the learning_rate placeholder like a table.
    Written 'cosine(3e-3, warmup=300, floor=1e-5, steps=6000)'.
    """

    peak: float
    warmup: int
    floor: float
    steps: int

    def __post_init__(self):
        if self.steps < 1:
            raise ScheduleError(f"{self}: steps must be 1 or more", params=("learning_rate",))
        if not 0 <= self.warmup <= self.steps:
            raise ScheduleError(f"{self}: the warm-up ({self.warmup} steps) must fit in the "
                                f"schedule's {self.steps} steps", params=("learning_rate",))

    def stretched(self, steps: int) -> "Cosine":
        """The same shape over `steps`: the warm-up keeps its share of the schedule."""
        return replace(self, steps=steps, warmup=round(self.warmup * steps / self.steps))

    @property
    def values(self) -> tuple[float, ...]:
        return (self.peak, self.floor)

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return self.peak * (step + 1) / self.warmup
        t = min(1.0, (step - self.warmup) / max(1, self.steps - self.warmup))
        return self.floor + 0.5 * (self.peak - self.floor) * (1.0 + math.cos(math.pi * t))

    _PATTERN = re.compile(r"^cosine\(\s*([^,\s]+)\s*,\s*warmup\s*=\s*(\d+)\s*,\s*floor\s*=\s*"
                          r"([^,\s]+)\s*,\s*steps\s*=\s*(\d+)\s*\)$")

    @classmethod
    def parse(cls, text: str) -> "Cosine":
        m = cls._PATTERN.match(text.strip())
        if not m:
            raise ScheduleError(f"cannot read {text!r}; write 'cosine(PEAK, warmup=STEPS, "
                                f"floor=VALUE, steps=STEPS)', e.g. 'cosine(3e-3, warmup=300, "
                                f"floor=1e-5, steps=6000)'")
        try:
            numbers = float(m.group(1)), int(m.group(2)), float(m.group(3)), int(m.group(4))
        except ValueError:
            raise ScheduleError(f"cannot read the numbers of {text!r}") from None
        return cls(*numbers)  # its own checks say what is wrong (warmup > steps, ...)

    def __str__(self) -> str:
        return f"cosine({self.peak:g}, warmup={self.warmup}, floor={self.floor:g}, steps={self.steps})"


def parse_schedule(text: str | float) -> StepTable | Cosine:
    """A step table ('1e-3, 1000:1e-4'), a cosine ('cosine(...)') or a constant."""
    if isinstance(text, (int, float)):
        return StepTable.constant(text)
    return Cosine.parse(text) if text.strip().startswith("cosine") else StepTable.parse(text)


