"""Restore a run's checkpoint and report test accuracy, per-class accuracy and confusions.

    python scripts/evaluate.py runs/demo-expert
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="a run directory written by scripts/train_maist.py")
    p.add_argument("--data", default=None, help="data to evaluate on (default: the run's own)")
    p.add_argument("--step", type=int, default=None, help="checkpoint step (default: the last)")
    p.add_argument("--split", choices=["train", "val", "test"], default="test",
                   help="(default: %(default)s)")
    args = p.parse_args(argv)
    from maist import dataset, etl, report, visualize
    from maist.train import TrainingError, restore

    try:
        data = report.data_for_run(args.run_dir, args.data)
        restored = restore(args.run_dir, args.step)
        try:
            rep = report.evaluate_run(restored, data, args.split)
        finally:
            restored.close()
    except (TrainingError, dataset.DatasetError, etl.EtlFormatError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for line in rep.lines():
        print(line)
    out = Path(args.run_dir)
    report.save_figures({"confusion": visualize.confusion_figure(rep.confusion, data.classes)}, out)
    (out / "evaluation.json").write_text(json.dumps(
        {"step": rep.step, "split": args.split, "accuracy": rep.accuracy, "loss": rep.loss,
         "per_class": rep.per_class, "most_confused": rep.most_confused},
        indent=2, ensure_ascii=False))
    print(f"wrote {out / 'evaluation.json'} and {out / 'confusion.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
