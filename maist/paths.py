"""Where MAIST keeps things on disk: data/ and runs/, under the working directory.

    data_dir()   ./data, or $MAIST_DATA: AIST's files you add, the synthetic set, the cache
    runs_dir()   ./runs: one folder per training run
    touch_dir()  ../shared/data/touch-hiragana, or $MAIST_TOUCH: real drawings to check with

Both follow the working directory (the checkout, when `make demo` or a script runs there),
never the package's own folder: an installed MAIST lives in site-packages, which has no
data/ and must never be written to.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    return Path(os.environ.get("MAIST_DATA") or "data")


def runs_dir() -> Path:
    return Path("runs")


def touch_dir() -> Path:
    """The touch-hiragana drawings (CC BY 4.0): beside the checkout on CI and developers'
    machines (../shared/data/touch-hiragana), or $MAIST_TOUCH. A user's clone has none."""
    return Path(os.environ.get("MAIST_TOUCH") or Path("..") / "shared" / "data" / "touch-hiragana")
