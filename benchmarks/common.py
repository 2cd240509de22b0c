"""What the benchmarks share: one parser, errors as the commands show them, one way to
write a table and a spread, and another revision of MAIST measured beside this checkout.

    parser(doc, touch=True)     cli.parser with the shared flags (--touch, the drawings)
    @cli.command(build_parser)  main(args): a MaistError is one line and exit code 1
    table_head(*columns)        a markdown table's header and rule
    spread([0.95, 0.96, 0.94])  '95.0% ± 1.0%'
    checkout(rev), in_tree(tree, code)   a git worktree of another revision, run apart

The touch drawings' held-out drawers are the package's (analysis.report.touch_split).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from maist import cli
from maist.paths import touch_dir

# The checkout's root: the benchmarks find ../shared beside it from any working directory.
ROOT = Path(__file__).resolve().parent.parent
TOUCH_DEFAULT = ROOT / touch_dir()


def parser(doc: str | None, touch: bool = False):
    """The commands' parser (--debug), with --touch where a benchmark reads the drawings."""
    p = cli.parser(doc)
    if touch:
        p.add_argument("--touch", default=str(TOUCH_DEFAULT), help="the touch-hiragana folder "
                       "(default: ../shared/data/touch-hiragana beside the checkout)")
    return p


def table_head(*columns: str) -> str:
    """'| a | b |' and its rule '|---|---|': a markdown table's first two lines."""
    return "| " + " | ".join(columns) + " |\n" + "|---" * len(columns) + "|"


def spread(values: list[float]) -> str:
    """'78.5% ± 2.0%' (mean ± sample standard deviation), or the one value."""
    if len(values) == 1:
        return f"{values[0]:.1%}"
    return f"{statistics.mean(values):.1%} ± {statistics.stdev(values):.1%}"


@contextlib.contextmanager
def checkout(rev: str | None):
    """A git worktree of revision `rev` in a temporary folder (None: no worktree), removed
    afterwards: another version of MAIST to measure beside this checkout."""
    if rev is None:
        yield None
        return
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
                       check=True, capture_output=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           capture_output=True)


# Run first in a child that measures `tree`: that tree's maist, not an editable install's
# (its import hook goes, and the tree comes first on the path).
USE_TREE = """
import os, sys
tree = os.environ["MAIST_TREE"]
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in getattr(f, "__name__", "")]
sys.path[:0] = [tree, os.path.join(tree, "benchmarks")]
"""


def in_tree(tree: Path, code: str, *args: str) -> str:
    """Run `code` in a fresh Python with `tree`'s maist; its last line of output."""
    out = subprocess.run([sys.executable, "-c", USE_TREE + code, *args], capture_output=True,
                         text=True, check=True, cwd=tree, env=dict(os.environ, MAIST_TREE=str(tree)))
    return out.stdout.strip().splitlines()[-1]


def data_for(features: str, variation: float, writers: int, root: Path, seed: int = 0):
    """A synthetic set of the generator's `features` at `variation` with `writers` (drawn
    from the generator's `seed`): data/synthetic itself for the default's settings, else
    made once under root/data."""
    from dataclasses import replace

    import maist
    from maist import synth
    from maist.data import sources

    cfg = replace(synth.SynthConfig(**synth.parse_features(features)), writers=writers,
                  variation=variation, seed=seed)
    if cfg == synth.SynthConfig(**synth.DEFAULT):  # what data/synthetic is made with
        return maist.load_data()
    folder = root / "data" / (f"synthetic-{features}-v{variation:g}-w{writers}"
                              + (f"-s{seed}" if seed else ""))
    if not synth.is_current(folder, cfg):
        synth.generate(folder, cfg, overwrite=True)
    return sources.load(folder)
