"""Step tables and the named training recipes of the blog.

    StepTable.parse("1e-3, 1000:1e-4, 5000:1e-5")   a pure function of the step
    table(step) -> value                              fed through a placeholder every step
    RECIPES["seed-95"]                                the blog's tables, with its figures

Boundaries are inclusive of the new value: in "1e-3, 1000:1e-4" step 999 trains at 1e-3
and step 1000 at 1e-4, which is what the blog's `if i == 1000: L = 1e-4` meant.

Why a placeholder: the blog built `AdamOptimizer(L)` from a Python float once, so its later
`L = 1e-4` changed a Python name and never the graph; its learning rate stayed 1e-3. MAIST
feeds the table's value at every step, so a table really takes effect (recipe
"seed-95-as-run" reproduces what the blog's code actually did).
"""

from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..errors import ScheduleError

SAMPLING = ("epoch", "random")


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
        if self.steps < 1 or not 0 <= self.warmup <= self.steps:
            raise ScheduleError(f"{self}: needs 0 <= warmup <= steps, and steps >= 1")

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
            return cls(float(m.group(1)), int(m.group(2)), float(m.group(3)), int(m.group(4)))
        except ValueError:
            raise ScheduleError(f"cannot read the numbers of {text!r}") from None

    def __str__(self) -> str:
        return f"cosine({self.peak:g}, warmup={self.warmup}, floor={self.floor:g}, steps={self.steps})"


def parse_schedule(text: str | float) -> StepTable | Cosine:
    """A step table ('1e-3, 1000:1e-4'), a cosine ('cosine(...)') or a constant."""
    if isinstance(text, (int, float)):
        return StepTable.constant(text)
    return Cosine.parse(text) if text.strip().startswith("cosine") else StepTable.parse(text)


@dataclass(frozen=True)
class Recipe:
    name: str
    model: str
    optimizer: str  # "adam" or "gd"
    loss: str  # "stable" or "tutorial"
    steps: int
    batch_size: int
    learning_rate: StepTable
    keep_prob: StepTable
    sampling: str = "random"  # the blog drew batches with replacement (random_index)
    blog: dict = field(default_factory=dict)  # step -> the blog's test accuracy
    note: str = ""
    augment: str = "none"  # training batches only: none, affine, elastic, full, or a list
    label_smoothing: float = 0.0  # of the one-hot targets, for the stable loss

    def __post_init__(self):
        def whole(name: str, value) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ScheduleError(f"recipe {self.name}: {name} must be a whole number of at "
                                    f"least 1, not {value!r}", params=(name,))

        whole("steps", self.steps)
        whole("batch_size", self.batch_size)
        for name in ("learning_rate", "keep_prob"):
            if not isinstance(getattr(self, name), (StepTable, Cosine)):
                raise ScheduleError(f"recipe {self.name}: {name} must be a StepTable or Cosine "
                                    f"(parse_schedule('1e-3, 1000:1e-4'))", params=(name,))
        bad = [v for v in self.learning_rate.values if not (math.isfinite(v) and v >= 0)]
        if bad:
            raise ScheduleError(f"recipe {self.name}: a learning rate must be 0 or more and "
                                f"finite, not {bad[0]:g}", params=("learning_rate",))
        bad = [v for v in self.keep_prob.values if not (0 < v <= 1)]
        if bad:
            raise ScheduleError(
                f"recipe {self.name}: keep_prob is the share of units kept by dropout, above 0 "
                f"and at most 1 (1 = no dropout), not {bad[0]:g}", params=("keep_prob",))
        if not 0 <= self.label_smoothing < 1:
            raise ScheduleError(f"recipe {self.name}: label_smoothing is a share, 0 to below 1, "
                                f"not {self.label_smoothing}", params=("label_smoothing",))
        from ..data.augment import Augment

        Augment.parse(self.augment)  # an unknown transform is an error here, not mid-run
        if self.sampling not in SAMPLING:
            raise ScheduleError(f"recipe {self.name}: sampling {self.sampling!r} is not one of "
                                f"{', '.join(SAMPLING)}", params=("sampling",))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["learning_rate"], d["keep_prob"] = str(self.learning_rate), str(self.keep_prob)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Recipe":
        d = dict(d)
        for key in ("learning_rate", "keep_prob"):
            if isinstance(d.get(key), (int, float, str)):
                d[key] = parse_schedule(d[key])
        d["blog"] = {int(k): v for k, v in d.get("blog", {}).items()}
        try:
            return cls(**d)
        except TypeError as e:
            raise ScheduleError(f"recipe fields: {e}") from None


_SEED_95_LR = StepTable((1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9),
                        (1000, 3000, 7000, 10000, 14000, 19000))
_SEED_95_KEEP = StepTable((1.0, 0.3, 0.1, 0.05, 0.8), (3000, 10000, 15000, 19000))

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("beginner", "beginner", "gd", "tutorial", 10_000, 50,
               StepTable.constant(1e-4), StepTable.constant(1.0),
               blog={10_000: 0.2879, 50_000: 0.4086, 100_000: 0.4563},
               note="The blog's softmax regression: GD at 1e-4 on the summed loss."),
        Recipe("tutorial", "expert", "adam", "stable", 20_000, 50,
               StepTable.constant(1e-4), StepTable.constant(0.5),
               blog={10_000: 0.8715},
               note="Deep MNIST for Experts as published: Adam 1e-4, keep 0.5."),
        Recipe("seed-lr", "expert", "adam", "stable", 20_000, 50,
               StepTable((1e-3, 1e-4, 1e-5, 1e-6), (1000, 5000, 10000)),
               StepTable.constant(0.5), blog={20_000: 0.9199},
               note="The blog's learning-rate table against divergence."),
        Recipe("seed-95", "expert", "adam", "stable", 20_000, 50, _SEED_95_LR, _SEED_95_KEEP,
               blog={20_000: 0.9504},
               note="The blog's learning-rate and keep_prob tables, as it meant them."),
        Recipe("seed-95-as-run", "expert", "adam", "stable", 20_000, 50,
               StepTable.constant(1e-3), _SEED_95_KEEP, blog={20_000: 0.9504},
               note="What the blog's code did: AdamOptimizer(L) took L once, so the "
                    "rate stayed 1e-3; only the fed keep_prob table applied."),
        Recipe("demo", "expert", "adam", "stable", 2_000, 128,
               Cosine(2e-3, 100, 1e-5, 2_000), StepTable.constant(0.5), sampling="epoch",
               augment="elastic", label_smoothing=0.1,
               note="A few minutes on 2 CPU cores, and a model that reads real drawings: "
                    "elastic distortion, label smoothing and a warm-up + cosine schedule "
                    "take it from 69% to 91% on the touch set (docs/README.md)."),
        Recipe("fast", "expert", "adam", "stable", 700, 64,
               Cosine(2e-3, 50, 2e-5, 700), StepTable.constant(0.75), sampling="epoch",
               note="The quickest way to a useful model: under a minute on 2 CPU cores. A "
                    "short warm-up, a high peak rate and a cosine decay; no augmentation, "
                    "which pays off only later."),
        Recipe("maist", "expert", "adam", "stable", 6_000, 128,
               Cosine(2e-3, 300, 1e-5, 6_000), StepTable.constant(0.5), sampling="epoch",
               augment="full", label_smoothing=0.1,
               note="MAIST's best: the expert CNN, augmented (affine, elastic, stroke width) "
                    "against over-fitting to the training writers, warm-up and cosine decay, "
                    "label smoothing; about 20 minutes on 2 CPU cores."),
        Recipe("mlp", "mlp", "adam", "stable", 10_000, 128,
               StepTable.constant(1e-3), StepTable.constant(1.0), sampling="epoch",
               note="The MLP seed: 16 sigmoid units, Adam, batch 128."),
        Recipe("deep", "deep", "adam", "stable", 10_000, 128,
               StepTable.constant(1e-3), StepTable.constant(0.5), sampling="epoch",
               note="The Keras CIFAR-10 seed's CNN, with its dropout."),
    )
}


def get_recipe(name_or_path: str) -> Recipe:
    """A named recipe, or a JSON file holding one (missing fields come from 'tutorial')."""
    if name_or_path in RECIPES:
        return RECIPES[name_or_path]
    path = Path(name_or_path)
    if path.suffix == ".json" and path.is_file():
        try:
            fields = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise ScheduleError(f"{path}: not JSON ({e})") from None
        if not isinstance(fields, dict):
            raise ScheduleError(f"{path}: a recipe file holds a JSON object of recipe fields")
        base_name = fields.pop("base", "tutorial")
        if base_name not in RECIPES:
            raise ScheduleError(f"{path}: base {base_name!r} is not one of {', '.join(RECIPES)}")
        base = RECIPES[base_name].to_dict()
        base.update(fields, name=fields.get("name", path.stem))
        return Recipe.from_dict(base)
    raise ScheduleError(
        f"unknown recipe {name_or_path!r}; choose one of {', '.join(RECIPES)} or give a .json file"
    )


def with_overrides(recipe: Recipe, follow_steps: bool = True, **changes) -> Recipe:
    """The recipe with the given non-None fields replaced; tables may be strings.

    A cosine schedule over the recipe's steps follows new steps (`follow_steps`); a
    resumed run keeps its schedule as it was, and runs on at the floor past its end.
    """
    changes = {k: v for k, v in changes.items() if v is not None}
    for key in ("learning_rate", "keep_prob"):
        if isinstance(changes.get(key), (int, float, str)):
            changes[key] = parse_schedule(changes[key])
    lr = changes.get("learning_rate", recipe.learning_rate)
    if (follow_steps and "steps" in changes and isinstance(lr, Cosine)
            and lr.steps == recipe.steps and changes["steps"] >= 1):
        changes["learning_rate"] = lr.stretched(changes["steps"])  # the cosine follows
    try:
        return replace(recipe, **changes)
    except TypeError as e:
        raise ScheduleError(f"recipe fields: {e}") from None
