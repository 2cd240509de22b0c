"""What the benchmarks share: where the touch drawings are, and how a spread is written."""

from __future__ import annotations

import statistics
from pathlib import Path

from maist.paths import touch_dir

# The checkout's root: the benchmarks find ../shared beside it from any working directory.
ROOT = Path(__file__).resolve().parent.parent
TOUCH_DEFAULT = ROOT / touch_dir()


def spread(values: list[float]) -> str:
    """'78.5% ± 2.0%' (mean ± sample standard deviation), or the one value."""
    if len(values) == 1:
        return f"{values[0]:.1%}"
    return f"{statistics.mean(values):.1%} ± {statistics.stdev(values):.1%}"
