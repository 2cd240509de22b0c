"""Contact sheets for the docs: the synthetic ETL9G set beside the real touch-screen drawings.

    python scripts/contact_sheets.py --out docs/images
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--etl", default=None, help="ETL folder (default: data/ETL9G if present, "
                   "else the synthetic set)")
    p.add_argument("--touch", default=None, help="touch_hiragana_300.npz (default: "
                   "../shared/data/touch-hiragana/)")
    p.add_argument("--writers", type=int, default=6, help="(default: %(default)s)")
    p.add_argument("--out", default="docs/images", help="(default: %(default)s)")
    args = p.parse_args(argv)
    from maist import dataset, etl, report

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        source = dataset.resolve_data(args.etl)
        fig = report.etl_sheet(source, args.writers)
        fig.savefig(out / "synthetic_sheet.png", dpi=80, bbox_inches="tight")
        print(out / "synthetic_sheet.png")
    except (etl.EtlFormatError, dataset.DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        fig = report.touch_sheet(args.touch)
        fig.savefig(out / "touch_sheet.png", dpi=80, bbox_inches="tight")
        print(out / "touch_sheet.png")
    except FileNotFoundError as e:
        print(f"skipped the touch sheet: {e}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
