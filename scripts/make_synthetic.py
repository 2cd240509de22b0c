"""Generate MAIST's synthetic handwritten hiragana as ETL9G-format files.

    python scripts/make_synthetic.py --writers 200 --seed 0 --out data/synthetic
"""

from __future__ import annotations

import sys
import time

from maist import cli


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--writers", type=int, default=200, help="writers, 71 characters each; 4 a "
                   "file (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same bytes "
                   "(default: %(default)s)")
    p.add_argument("--out", default="data/synthetic", help="output folder (default: %(default)s)")
    p.add_argument("--variation", type=float, default=1.0, help="scales all writer and sample "
                   "variation; 0 draws KanjiVG's shapes as they are (default: %(default)s)")
    p.add_argument("--fragment-rate", type=float, default=0.15, help="share of fields with a "
                   "neighbour's stroke at an edge (default: %(default)s)")
    p.add_argument("--noise", type=float, default=0.25, help="scanner noise sd in grey levels "
                   "(default: %(default)s)")
    from maist.synth import generator as synth

    for name, help_ in (("stroke_jitter", "each stroke turned, scaled, moved on its own"),
                        ("bend", "strokes' control points pulled off KanjiVG's curves"),
                        ("connect_rate", "share of stroke ends joined to the next"),
                        ("pen_range", "pens from hair-thin to blotted"),
                        ("mark_jitter", "voicing marks placed and sized freely"),
                        ("variant_rate", "share of writers who use each variant form "
                         "(joined さ き ふ や, one-stroke り, two-stroke そ)"),
                        ("proportion", "each writer's own width-to-height for each kana")):
        default = synth.DEFAULT.get(name, getattr(synth.SynthConfig(), name))
        p.add_argument("--" + name.replace("_", "-"), type=float, default=default,
                       help=f"{help_}; 0 is off (default: %(default)s)")
    p.add_argument("--workers", type=int, default=2, help="processes (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="replace ETL9G files already in --out "
                   "(default: refuse)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    from tqdm import tqdm

    from maist.synth import generator as synth

    cfg = synth.SynthConfig(writers=args.writers, seed=args.seed, variation=args.variation,
                            fragment_rate=args.fragment_rate, noise=args.noise,
                            workers=args.workers,
                            **{name: getattr(args, name) for name in synth.FEATURES})
    start = time.perf_counter()
    try:
        with tqdm(total=cfg.writers, unit="writer", desc="rendering", disable=None) as bar:
            paths = synth.generate(args.out, cfg, overwrite=args.force, progress=bar.update)
    except synth.SynthError as e:
        # The library speaks of `overwrite`; this script's flag for it is --force.
        e.params = tuple("force" if p == "overwrite" else p for p in e.params)
        raise
    print(f"wrote {len(paths)} ETL9G files ({cfg.writers} writers x 71) to {args.out} "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
