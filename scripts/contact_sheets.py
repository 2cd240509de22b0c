"""Contact sheets for the docs: the synthetic ETL9G set beside the real touch-screen drawings,
the variant forms the generator can write (docs/images/variant_forms.png), what
augmentation does to a few characters (docs/images/augment.png), and synthetic beside
real at 28x28, as the network sees them (docs/images/synthetic_vs_touch.png).

    python scripts/contact_sheets.py --out docs/images
"""

from __future__ import annotations

import sys
from pathlib import Path

from maist import cli

# Where CI and the developers' machines keep the touch-hiragana set: beside the checkout.
TOUCH_DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "touch-hiragana"


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--etl", default=None, help="ETL folder (default: data/ETL9G if present, "
                   "else the synthetic set)")
    p.add_argument("--touch", default=str(TOUCH_DEFAULT), help="touch-hiragana folder or its "
                   ".npz (default: ../shared/data/touch-hiragana beside the checkout)")
    p.add_argument("--writers", type=int, default=6, help="(default: %(default)s)")
    p.add_argument("--augment", default="full", help="augmentation shown in augment.png "
                   "(default: %(default)s)")
    p.add_argument("--out", default="docs/images", help="(default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    import numpy as np

    from maist.analysis import visualize
    from maist.data import augment, dataset
    from maist.data import classes as kana
    from maist.errors import DatasetError
    from maist.synth import generator as synth

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    source = dataset.resolve_data(args.etl)
    grid, ids, max_level = dataset.writer_grid(source, args.writers)
    fig = visualize.writer_sheet(grid, ids, kana.hiragana71.chars, Path(source).name,
                                 max_level)
    fig.savefig(out / "synthetic_sheet.png", dpi=80, bbox_inches="tight")
    print(out / "synthetic_sheet.png")
    images, chars = synth.variant_examples()
    fig = visualize.contact_sheet(images / 15.0, ["KanjiVG", "variant"], chars, size=1.1,
                                  title="variant forms (make_synthetic.py --variant-rate)")
    fig.savefig(out / "variant_forms.png", dpi=100, bbox_inches="tight")
    print(out / "variant_forms.png")
    data = dataset.load(source, log=lambda s: None)
    picks = [int(np.flatnonzero(data.test.y == data.classes.index(c))[0]) for c in "あずぬほを"]
    cfg = augment.Augment.parse(args.augment)
    grid = augment.examples(data.test.x[picks], cfg, per_image=8, seed=1)
    fig = visualize.contact_sheet(grid, [data.classes[data.test.y[i]] for i in picks],
                                  ["as is"] + [f"#{k}" for k in range(1, 9)], size=0.8,
                                  title=f"augment {cfg}: what the network sees in training")
    fig.savefig(out / "augment.png", dpi=80, bbox_inches="tight")
    print(out / "augment.png")
    try:
        images, chars = dataset.load_touch_hiragana(args.touch)
    except DatasetError as e:
        print(f"skipped the touch sheet: {e}", file=sys.stderr)
        return 0
    grid, present = dataset.touch_grid(images, chars)
    visualize.touch_sheet(grid, present).savefig(out / "touch_sheet.png", dpi=80,
                                                 bbox_inches="tight")
    print(out / "touch_sheet.png")
    x, y, _ = dataset.from_images(images, chars, kana.hiragana71, data.meta["preprocess"])
    side, labels = dataset.side_by_side(data.test, x, y, data.classes, per_source=4)
    fig = visualize.contact_sheet(side, labels, [data.classes[c] for c in sorted(set(y.tolist()))],
                                  title="28x28 as the network sees them: synthetic test writers "
                                        "(top) and real touch drawings (bottom)")
    fig.savefig(out / "synthetic_vs_touch.png", dpi=80, bbox_inches="tight")
    print(out / "synthetic_vs_touch.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
