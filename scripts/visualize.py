"""Write a run's figures: filters and activations at step 0 and at the last checkpoint,
learning curves, the prediction grid and the confusion matrix.

    python scripts/visualize.py runs/demo-expert            # -> runs/demo-expert/figures/
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="a run directory written by scripts/train_maist.py")
    p.add_argument("--data", default=None, help="data for the example and the grid "
                   "(default: the run's own)")
    p.add_argument("--out", default=None, help="output folder (default: RUN_DIR/figures)")
    args = p.parse_args(argv)
    from maist import dataset, etl, report
    from maist.train import TrainingError

    try:
        data = report.data_for_run(args.run_dir, args.data)
        figures = report.run_figures(args.run_dir, data)
    except (TrainingError, dataset.DatasetError, etl.EtlFormatError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    paths = report.save_figures(figures, args.out or Path(args.run_dir) / "figures")
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
