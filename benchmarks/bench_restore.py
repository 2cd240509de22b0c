"""From a run directory to the first prediction: how long restore() takes, and what it builds.

Each measurement is a fresh Python process (imports are not timed): restore the run, then
read one image. With --baseline REV, the same is measured for MAIST at another git
revision (checked out in a temporary worktree), alternating with this checkout, so both
meet the machine's minute-to-minute swings alike.

    python benchmarks/bench_restore.py runs/demo-expert --baseline ac17762 --repeats 5
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from common import ROOT, checkout, in_tree, parser, table_head

from maist import cli

# Runs inside the child, with the tree's maist (common.USE_TREE): restore as it spells it.
CHILD = r"""
import json, time
import numpy as np
if os.path.exists(os.path.join(tree, "maist", "inference", "restore.py")):
    from maist.inference.restore import restore          # the inference graph
else:
    from maist.runs import restore                        # before: the training graph
from maist.data import preprocess  # noqa: F401  (imports are not timed)
assert os.path.abspath(sys.modules["maist"].__file__).startswith(os.path.abspath(tree))
x = np.zeros((1, 784), np.float32)
x[0, 300:320] = 1.0
start = time.perf_counter()
r = restore(sys.argv[1])
restored = time.perf_counter()
p = r.probabilities(x)
first = time.perf_counter()
graph = r.graph.graph if hasattr(r.graph, "graph") else r.graph
print(json.dumps({"restore_s": restored - start, "first_s": first - restored,
                  "total_s": first - start, "ops": len(graph.get_operations()),
                  "variables": len(graph.get_collection("variables")),
                  "top": int(p.argmax())}))
"""


def measure(tree: Path, run_dir: str) -> dict:
    return json.loads(in_tree(tree, CHILD, str(Path(run_dir).resolve())))


def build_parser():
    p = parser(__doc__)
    p.add_argument("run_dir", help="a trained run, e.g. runs/demo-expert")
    p.add_argument("--baseline", default=None, metavar="REV", help="a git revision to measure "
                   "beside this checkout (default: this checkout only)")
    p.add_argument("--repeats", type=int, default=5, help="(default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    with checkout(args.baseline) as base:
        trees = {"this checkout": ROOT}
        if base is not None:
            trees = {f"baseline {args.baseline}": base, **trees}
        results = {name: [] for name in trees}
        for _ in range(args.repeats):
            for name, tree in trees.items():
                results[name].append(measure(tree, args.run_dir))
    print(f"{args.run_dir}: restore() to the first prediction, median of {args.repeats} fresh "
          f"processes\n")
    print(table_head("MAIST", "restore s", "first prediction s", "total s", "ops in the graph",
                     "variables"))
    totals = {}
    for name, rows in results.items():
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        totals[name] = med["total_s"]
        print(f"| {name} | {med['restore_s']:.2f} | {med['first_s']:.3f} | {med['total_s']:.2f} "
              f"| {med['ops']:.0f} | {med['variables']:.0f} |")
    if len(totals) == 2:
        (a, ta), (b, tb) = totals.items()
        print(f"\n{b} takes {tb / ta:.2f}x the time of {a}")


if __name__ == "__main__":
    sys.exit(main())
