"""Restore a run's checkpoint and report test accuracy, per-class accuracy and confusions.

    python scripts/evaluate.py runs/demo-expert
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import cli


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("run_dir", help="a run directory written by scripts/train_maist.py")
    p.add_argument("--data", default=None, help="data to evaluate on (default: the run's own)")
    p.add_argument("--step", type=int, default=None, help="checkpoint step (default: the last)")
    p.add_argument("--split", choices=["train", "val", "test"], default="test",
                   help="(default: %(default)s)")
    p.add_argument("--tta", choices=["none", "shift"], default="none",
                   help="test-time augmentation: shift reads each image and four copies "
                   "moved a pixel, and averages (five times the work) (default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    from ..analysis import report, visualize
    from ..fileio import write_text_atomic
    from ..inference.restore import restore

    with restore(args.run_dir, args.step, args.tta) as restored:  # a damaged run fails before the data
        data = report.data_for_run(args.run_dir, args.data)
        rep = report.evaluate_run(restored, data, args.split)
    for line in rep.lines():
        print(line)
    out = Path(args.run_dir)
    # The run's own data has its evaluation.json; other data gets files of its own name,
    # so that one never overwrites the other.
    tag = ("" if args.data is None else "-" + Path(args.data).name.removesuffix(".npz")) + (
        "" if args.tta == "none" else f"-tta-{args.tta}")
    report.save_figures({f"confusion{tag}": visualize.confusion_figure(rep.confusion,
                                                                       data.classes)}, out)
    write_text_atomic(out / f"evaluation{tag}.json", json.dumps(
        {"step": rep.step, "split": args.split, "data": data.meta.get("path"), "tta": args.tta,
         "accuracy": rep.accuracy, "loss": rep.loss, "per_class": rep.per_class,
         "most_confused": rep.most_confused}, indent=2, ensure_ascii=False))
    print(f"wrote {out / f'evaluation{tag}.json'} and {out / f'confusion{tag}.png'}")
    return 0

