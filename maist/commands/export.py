"""Export a trained run: a SavedModel (TF Serving; pictures in, characters out) and TFLite.

    python scripts/export.py runs/demo-expert --out exports/demo
    python scripts/export.py runs/demo-expert:1000 --out exports/demo-1000 --format tflite --quantize none,dynamic,int8
"""

from __future__ import annotations

import sys
from pathlib import Path

from .. import cli


def build_parser():
    from ..inference.export import FORMATS, QUANTIZE

    p = cli.parser(__doc__)
    p.add_argument("source", metavar="RUN_DIR[:STEP]", help="a run directory, and the "
                   "checkpoint step to export (default: the last)")
    p.add_argument("--out", required=True, help="the folder to write (required); refused if "
                   "it exists, unless --force")
    p.add_argument("--format", default=",".join(FORMATS), help=f"comma-separated, from "
                   f"{', '.join(FORMATS)} (default: %(default)s; TFLite is converted from the "
                   f"SavedModel, which is written either way and kept with saved_model)")
    p.add_argument("--quantize", default="none", help=f"TFLite files to make, comma-separated, "
                   f"from {', '.join(QUANTIZE)} (default: %(default)s)")
    p.add_argument("--data", default=None, help="data to score the export on and to calibrate "
                   "int8 with (default: the run's own, if it can be found)")
    p.add_argument("--force", action="store_true", help="replace --out if it is an earlier "
                   "export (maist.json, labels.txt, saved_model, .tflite files and nothing "
                   "else); anything else is refused (default: refuse)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    from ..analysis import report
    from ..errors import MaistError
    from ..inference import export

    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    quantize = tuple(q.strip() for q in args.quantize.split(",") if q.strip())
    export.check_choices(formats, quantize)  # before anything is read
    export.check_out(Path(args.out), args.force)
    run_dir, _ = export.parse_source(args.source)
    try:
        data = report.data_for_run(run_dir, args.data)
    except MaistError as e:
        if args.data is not None or "int8" in quantize:
            raise
        print(f"note: the run's data could not be read ({e}); maist.json records no accuracy",
              file=sys.stderr)
        data = None
    export.export(args.source, args.out, formats, quantize, data=data, force=args.force)
    return 0

