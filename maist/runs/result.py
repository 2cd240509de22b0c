"""A run's end: result.json, and the RunResult that training returns and reuse reads back.

    RunResult(run_dir, step, test_accuracy, stopped, history)
    write(run_dir, result) / read(run_dir) -> RunResult or None
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..fileio import write_text_atomic
from .metrics import read_metrics

FILE = "result.json"
# How a run stopped part way says so ("stopped"): Ctrl-C or SIGTERM saved it, its test
# accuracy is the step's, not the recipe's, and resuming it continues the run.
CUT_SHORT = ("interrupted", "terminated")
STOPS = ("completed", "early stopping") + CUT_SHORT


@dataclass
class RunResult:
    run_dir: Path
    step: int  # steps trained
    test_accuracy: float
    stopped: str  # one of STOPS
    history: list[dict] = field(default_factory=list)  # metrics.csv's rows
    test_loss: float | None = None

    @property
    def finished(self) -> bool:
        """Ran to its end, or stopped early on validation: not cut short."""
        return self.stopped not in CUT_SHORT


def write(run_dir: str | os.PathLike, result: RunResult) -> None:
    d = {"step": result.step, "test_accuracy": result.test_accuracy,
         "test_loss": result.test_loss, "stopped": result.stopped}
    write_text_atomic(Path(run_dir) / FILE, json.dumps(d, indent=2))


def read(run_dir: str | os.PathLike) -> RunResult | None:
    """The result of a run that reached its end or was cut short, with its metrics; None
    where there is none (unfinished, or the file unreadable)."""
    path = Path(run_dir) / FILE
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    keys = ("step", "test_accuracy", "stopped")
    if not isinstance(d, dict) or not all(k in d for k in keys):
        return None
    return RunResult(Path(run_dir), d["step"], d["test_accuracy"], d["stopped"],
                     read_metrics(run_dir), d.get("test_loss"))
