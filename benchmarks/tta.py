"""Test-time augmentation side by side: each of inference.tta's view sets, on trained runs.

For every run given, each view set reads the touch drawings and the run's own test split;
the table gives mean ± sd over the runs (several seeds of one recipe), and the time to
read the test split against 'none' (the same images, back to back in this process).

    python benchmarks/tta.py runs/class_sets/synthetic-demo-seed0 \\
        runs/class_sets/synthetic-demo-seed1 runs/class_sets/synthetic-demo-seed2

(The three runs are benchmarks/class_sets.py's hiragana71 row: `make demo`'s recipe,
seeds 0, 1 and 2.)
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from common import parser, spread

import maist
from maist import cli
from maist.analysis import metrics, report
from maist.analysis.report import touch_split
from maist.data.classes import get_class_set
from maist.inference.tta import TTA


def build_parser():
    p = parser(__doc__, touch=True)
    p.add_argument("runs", nargs="+", help="run directories (several seeds of one recipe)")
    p.add_argument("--views", default=",".join(TTA), help="(default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    names = args.views.split(",")
    rows = {name: [] for name in names}
    for run in args.runs:
        data = report.data_for_run(run, None)
        for name in names:
            with maist.restore(run, tta=name) as r:
                if tuple(r.classes) != get_class_set("hiragana71").chars:
                    raise SystemExit(f"{run}: a hiragana71 run is measured here (the touch "
                                     f"drawings' labels are hiragana71's)")
                x, y, held, _ = touch_split(args.touch, r.preprocess)
                probs = r.probabilities(x)
                start = time.perf_counter()
                test = report.evaluate_run(r, data, "test").accuracy
                seconds = time.perf_counter() - start
            rows[name].append(dict(touch=metrics.top_k_accuracy(probs, y, 1),
                                   tune=metrics.top_k_accuracy(probs[~held], y[~held], 1),
                                   held=metrics.top_k_accuracy(probs[held], y[held], 1),
                                   test=test, seconds=seconds))
            print(json.dumps({"run": run, "tta": name, **rows[name][-1]}), flush=True)
    base = statistics.mean(r["seconds"] for r in rows[names[0]])
    print(f"\n{len(args.runs)} runs; touch: {len(y)} drawings, {int(held.sum())} of them the "
          f"held-out drawers'\n")
    print(f"| tta | views | touch top-1 | tuning drawers | held-out drawers | synthetic test | "
          f"time to read the test split, vs {names[0]} |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        res = rows[name]
        print(f"| {name} | {len(TTA[name])} | {spread([r['touch'] for r in res])} | "
              f"{spread([r['tune'] for r in res])} | {spread([r['held'] for r in res])} | "
              f"{spread([r['test'] for r in res])} | "
              f"{statistics.mean(r['seconds'] for r in res) / base:.1f}x |")


if __name__ == "__main__":
    sys.exit(main())
