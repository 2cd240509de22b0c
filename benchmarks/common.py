"""What the benchmarks share: where the touch drawings are, and how a spread is written."""

from __future__ import annotations

import statistics
from pathlib import Path

# CI and the developers' machines keep the touch-hiragana set beside the checkout.
TOUCH_DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "touch-hiragana"


def spread(values: list[float]) -> str:
    """'78.5% ± 2.0%' (mean ± sample standard deviation), or the one value."""
    if len(values) == 1:
        return f"{values[0]:.1%}"
    return f"{statistics.mean(values):.1%} ± {statistics.stdev(values):.1%}"
