"""Build the 28x28 MAIST data set from ETL files and save it as an .npz.

    python scripts/build_maist.py --etl data/ETL9G --out data/maist.npz
"""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from maist import dataset, etl, kana


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--etl", nargs="+", required=True, metavar="DIR_OR_FILE",
                   help="ETL folder(s) or file(s), e.g. data/ETL9G (required)")
    p.add_argument("--out", default="data/maist.npz", help="output .npz (default: %(default)s)")
    p.add_argument("--preprocess", choices=["seed", "centered"], default="centered",
                   help="seed: the whole field resized, as the blog did; centered: MNIST's "
                        "recipe (default: %(default)s)")
    p.add_argument("--split", choices=["writer", "random"], default="writer",
                   help="writer: no writer in two splits; random: per image (default: %(default)s)")
    p.add_argument("--classes", choices=sorted(kana.CLASS_SETS), default="hiragana71",
                   help="class set (default: %(default)s)")
    p.add_argument("--format", default=None, help="ETL format, when file names do not say "
                   "(default: from the file name)")
    p.add_argument("--seed", type=int, default=0, help="split seed (default: %(default)s)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write data/cache "
                   "(default: use it)")
    args = p.parse_args(argv)
    try:
        with tqdm(total=0, unit="B", unit_scale=True, desc="reading ETL", leave=False) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            data = dataset.build(args.etl, args.classes, args.preprocess, args.split, args.seed,
                                 fmt=args.format, cache_dir=None if args.no_cache else
                                 dataset.DATA_DIR / "cache", progress=progress)
        out = data.save(args.out)
    except (etl.EtlFormatError, dataset.DatasetError, kana.KanaError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for line in dataset.summary(data):
        print(line)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
