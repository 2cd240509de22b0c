"""Restore a run's checkpoint and report test accuracy, per-class accuracy and confusions.

    python scripts/evaluate.py runs/demo-expert
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from maist import cli


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("run_dir", help="a run directory written by scripts/train_maist.py")
    p.add_argument("--data", default=None, help="data to evaluate on (default: the run's own)")
    p.add_argument("--step", type=int, default=None, help="checkpoint step (default: the last)")
    p.add_argument("--split", choices=["train", "val", "test"], default="test",
                   help="(default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    from maist.analysis import report, visualize
    from maist.fileio import write_text_atomic
    from maist.training import rundir as runs

    runs.read_config(args.run_dir)  # a damaged run is reported before data is built
    with runs.restore(args.run_dir, args.step) as restored:
        data = report.data_for_run(args.run_dir, args.data)
        rep = report.evaluate_run(restored, data, args.split)
    for line in rep.lines():
        print(line)
    out = Path(args.run_dir)
    report.save_figures({"confusion": visualize.confusion_figure(rep.confusion, data.classes)}, out)
    write_text_atomic(out / "evaluation.json", json.dumps(
        {"step": rep.step, "split": args.split, "accuracy": rep.accuracy, "loss": rep.loss,
         "per_class": rep.per_class, "most_confused": rep.most_confused},
        indent=2, ensure_ascii=False))
    print(f"wrote {out / 'evaluation.json'} and {out / 'confusion.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
