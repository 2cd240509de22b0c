"""Read pictures of characters (PNG or JPEG, any size, dark-on-light or light-on-dark).

    python scripts/predict.py runs/demo-expert my_a.png my_ka.jpg
"""

from __future__ import annotations

import sys

from .. import cli


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("run_dir", help="a run directory written by scripts/train_maist.py, an "
                   "exported SavedModel folder, or a .tflite file (scripts/export.py)")
    p.add_argument("images", nargs="+", help="picture files, one character each")
    p.add_argument("--top", type=int, default=5, help="how many guesses, 1 or more "
                   "(default: %(default)s)")
    p.add_argument("--step", type=int, default=None, help="checkpoint step (default: the last)")
    p.add_argument("--scripts", default=None, metavar="SCRIPTS", help="read only as these "
                   "scripts, e.g. hiragana or hiragana,kanji, for a model of several: its "
                   "look-alikes across scripts (hiragana ri, katakana RI) kept apart "
                   "(default: every class)")
    p.add_argument("--tta", choices=["none", "shift"], default="none",
                   help="test-time augmentation: shift reads each picture and four copies "
                   "moved a pixel, and averages (five times the work) (default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    from ..errors import MaistError, PictureError
    from ..inference.export import open_model

    if args.top < 1:
        raise MaistError(f"--top must be 1 or more, not {args.top}")
    failed = 0
    with open_model(args.run_dir, args.step, args.tta) as model:
        if args.scripts:
            from ..data.classes import script_mask

            script_mask(model.classes, args.scripts)  # a wrong name before any picture
        for path in args.images:
            try:
                (top,), _ = model.predict([path], args.top, scripts=args.scripts)
            except PictureError as e:
                failed += 1
                print(cli.error_line(e), file=sys.stderr)
                continue
            print(f"{path}: " + "  ".join(f"{c} {p:.3f}" for c, p in top))
    return 1 if failed else 0

