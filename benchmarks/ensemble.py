"""A few seeds' ensemble: the runs' probabilities averaged, against each run alone.

Each group is a comma-separated list of run directories trained on the same data and
split (so that their test writers are the same); the table gives the runs' mean and the
ensemble's accuracy on that test split and on the touch drawings of MAIST's hiragana.
An ensemble of k runs costs k times the training and k times the reading.

    python benchmarks/ensemble.py "runs/pretrain/synthetic-v1.5-w200/demo-fresh-seed0,\\
        runs/pretrain/synthetic-v1.5-w200/demo-fresh-seed1,..."

(benchmarks/pretrain.py makes those runs; its rows train every seed on one split.)
"""

from __future__ import annotations

import statistics
import sys

import numpy as np
from common import parser, table_head

import maist
from maist import cli
from maist.analysis import metrics, report
from maist.analysis.report import touch_split


def accuracies(probs: np.ndarray, y: np.ndarray, held: np.ndarray | None = None) -> tuple:
    if held is None:
        return (metrics.top_k_accuracy(probs, y, 1),)
    return tuple(metrics.top_k_accuracy(probs[m], y[m], 1) for m in (slice(None), ~held, held))


def build_parser():
    p = parser(__doc__, touch=True)
    p.add_argument("groups", nargs="+", help="comma-separated run directories, one group each")
    return p


@cli.command(build_parser)
def main(args) -> int:
    print(table_head("runs", "k", "test, each run (mean)", "test, ensemble",
                     "touch, each run (mean)", "touch, ensemble",
                     "tuning / held-out drawers, ensemble"))
    for group in args.groups:
        runs = group.split(",")
        test = report.data_for_run(runs[0], None).test
        test_probs, touch_probs = [], []
        for run in runs:
            if not np.array_equal(report.data_for_run(run, None).test.y, test.y):
                raise SystemExit(f"{run}: another test split than {runs[0]}'s; ensemble runs "
                                 f"trained on one split")
            with maist.restore(run) as r:
                x, y, held, _ = touch_split(args.touch, r.preprocess)
                test_probs.append(r.probabilities(test.x))
                touch_probs.append(r.probabilities(x))
        each_test = [accuracies(pr, test.y)[0] for pr in test_probs]
        each_touch = [accuracies(pr, y)[0] for pr in touch_probs]
        ens_test = accuracies(np.mean(test_probs, 0), test.y)[0]
        ens_touch, tune, hold = accuracies(np.mean(touch_probs, 0), y, held)
        name = runs[0].rsplit("-seed", 1)[0]
        print(f"| {name} | {len(runs)} | {statistics.mean(each_test):.1%} | {ens_test:.1%} | "
              f"{statistics.mean(each_touch):.1%} | {ens_touch:.1%} | {tune:.1%} / {hold:.1%} |",
              flush=True)


if __name__ == "__main__":
    sys.exit(main())
