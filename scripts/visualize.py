"""Write a run's figures: filters and activations at step 0 and at the last checkpoint,
learning curves, the prediction grid and the confusion matrix.

    python scripts/visualize.py runs/demo-expert            # -> runs/demo-expert/figures/
"""

from __future__ import annotations

import sys
from pathlib import Path

from maist import cli


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("run_dir", help="a run directory written by scripts/train_maist.py")
    p.add_argument("--data", default=None, help="data for the example and the grid "
                   "(default: the run's own)")
    p.add_argument("--out", default=None, help="output folder (default: RUN_DIR/figures)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    from maist.analysis import report
    from maist.inference.restore import restore

    restore(args.run_dir).close()  # a damaged run is reported before data is built
    data = report.data_for_run(args.run_dir, args.data)
    figures = report.run_figures(args.run_dir, data)
    for path in report.save_figures(figures, args.out or Path(args.run_dir) / "figures"):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
