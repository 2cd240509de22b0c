"""Generate MAIST's synthetic handwriting as ETL9G-format files (the default: hiragana).

    python scripts/make_synthetic.py --writers 200 --seed 0 --out data/synthetic
"""

from __future__ import annotations

import time

from .. import cli


def build_parser():
    from .. import synth
    from ..data.classes import CLASS_SETS, DEFAULT_CLASSES
    from ..paths import data_dir

    p = cli.parser(__doc__)
    p.add_argument("--writers", type=int, default=200, help="writers, each writing every "
                   "class; 4 a file (default: %(default)s)")
    p.add_argument("--classes", default=DEFAULT_CLASSES, metavar="SET",
                   help=f"the class set: {', '.join(CLASS_SETS)} (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same bytes "
                   "(default: %(default)s)")
    p.add_argument("--out", default=str(data_dir() / "synthetic"),
                   help="output folder (default: %(default)s)")
    p.add_argument("--variation", type=float, default=1.0, help="scales all writer and sample "
                   "variation; 0 draws KanjiVG's shapes as they are (default: %(default)s)")
    p.add_argument("--fragment-rate", type=float, default=0.15, help="share of fields with a "
                   "neighbour's stroke at an edge (default: %(default)s)")
    p.add_argument("--noise", type=float, default=0.25, help="scanner noise sd in grey levels "
                   "(default: %(default)s)")
    for name, help_ in (("stroke_jitter", "each stroke turned, scaled, moved on its own"),
                        ("bend", "strokes' control points pulled off KanjiVG's curves"),
                        ("connect_rate", "share of stroke ends joined to the next"),
                        ("pen_range", "pens from hair-thin to blotted"),
                        ("mark_jitter", "voicing marks placed and sized freely"),
                        ("variant_rate", "share of writers who use each handwritten variant "
                         "form (strokes joined or lifted apart: synth/forms.json)"),
                        ("proportion", "each writer's own width-to-height for each character"),
                        ("marks", "each writer's own voicing marks: ticks, dots or one stroke, "
                         "rings open or closed, close to the base and outside it"),
                        ("reshape_rate", "share of writers who write each reshaped form (a part "
                         "in a quick hand's proportions: ro's turn high, mu's loop tight, no and "
                         "me narrow: synth/forms.json)"),
                        ("neighbour_rate", "share of fields with a separate piece of a sheet "
                         "neighbour's ink near an edge (its voicing mark, a stroke's end)")):
        default = synth.DEFAULT.get(name, getattr(synth.SynthConfig(), name))
        p.add_argument("--" + name.replace("_", "-"), type=float, default=default,
                       help=f"{help_}; 0 is off (default: %(default)s)")
    p.add_argument("--workers", type=int, default=2, help="processes (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="replace a synthetic set already in "
                   "--out (only files MAIST wrote there) (default: refuse)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    from tqdm import tqdm

    from .. import synth
    from ..errors import SynthError

    cfg = synth.SynthConfig(writers=args.writers, seed=args.seed, classes=args.classes,
                                variation=args.variation, fragment_rate=args.fragment_rate,
                                noise=args.noise, workers=args.workers,
                                **{name: getattr(args, name) for name in synth.FEATURES})
    start = time.perf_counter()
    try:
        with tqdm(total=cfg.writers, unit="writer", desc="rendering", disable=None) as bar:
            paths = synth.generate(args.out, cfg, overwrite=args.force, progress=bar.update)
    except SynthError as e:
        # The library speaks of `overwrite`; this script's flag for it is --force.
        e.params = tuple("force" if p == "overwrite" else p for p in e.params)
        raise
    print(f"wrote {len(paths)} ETL9G files ({cfg.writers} writers x {cfg.class_count} "
          f"{cfg.classes}) to {args.out} in {time.perf_counter() - start:.1f} s")
    return 0

