"""Build the 28x28 MAIST data set from ETL files and save it as an .npz.

    python scripts/build_maist.py --etl data/ETL9G --out data/maist.npz
"""

from __future__ import annotations

from .. import cli


def build_parser():
    from ..data import classes, preprocess

    p = cli.parser(__doc__)
    p.add_argument("--etl", nargs="+", required=True, metavar="DIR_OR_FILE",
                   help="ETL folder(s) or file(s), e.g. data/ETL9G (required)")
    p.add_argument("--out", default="data/maist.npz", help="output .npz; never one of the "
                   "inputs (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists "
                   "(default: refuse)")
    p.add_argument("--preprocess", choices=list(preprocess.PREPROCESSORS),
                   default=preprocess.DEFAULT_PREPROCESS,
                   help="blog: the whole field resized, as the blog did; centered: MNIST's "
                        "recipe (default: %(default)s)")
    p.add_argument("--split", choices=["writer", "random"], default="writer",
                   help="writer: no writer in two splits; random: per image (default: %(default)s)")
    p.add_argument("--classes", default=classes.DEFAULT_CLASSES, metavar="SET",
                   help=f"class set: {', '.join(classes.CLASS_SETS)} (default: %(default)s)")
    p.add_argument("--format", default=None, help="ETL format, when file names do not say "
                   "(default: from the file name)")
    p.add_argument("--seed", type=int, default=0, help="split seed, 0 or more "
                   "(default: %(default)s)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write data/cache "
                   "(default: use it)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    from tqdm import tqdm

    from ..data import dataset

    # Checked before anything is read, so a bad --out costs nothing and harms nothing.
    out = dataset.check_output_path(args.out, args.etl, overwrite=args.force)
    with tqdm(total=0, unit="B", unit_scale=True, desc="reading ETL", leave=False,
              disable=None) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        data = dataset.build(args.etl, args.classes, args.preprocess, args.split, args.seed,
                             fmt=args.format, cache=not args.no_cache, progress=progress)
    data.save(out)
    for line in dataset.summary(data):
        print(line)
    print(f"wrote {out}")
    return 0

