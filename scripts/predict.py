"""Classify pictures of hiragana (PNG or JPEG, any size, dark-on-light or light-on-dark).

    python scripts/predict.py runs/demo-expert my_a.png my_ka.jpg
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="a run directory written by scripts/train_maist.py")
    p.add_argument("images", nargs="+", help="picture files, one character each")
    p.add_argument("--top", type=int, default=5, help="how many guesses (default: %(default)s)")
    args = p.parse_args(argv)
    from maist import evaluate, report
    from maist.train import TrainingError, restore

    try:
        pictures = [evaluate.read_picture(path) for path in args.images]
        restored = restore(args.run_dir)
        try:
            guesses, _ = report.predict_pictures(restored, pictures, args.top)
        finally:
            restored.close()
    except (evaluate.PictureError, TrainingError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for path, top in zip(args.images, guesses):
        print(f"{path}: " + "  ".join(f"{c} {p:.3f}" for c, p in top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
