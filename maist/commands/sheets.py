"""Contact sheets for the docs: the synthetic ETL9G set beside the real touch-screen drawings,
the variant forms the generator can write (docs/images/variant_forms.png), what
augmentation does to a few characters (docs/images/augment.png), and synthetic beside
real at 28x28, as the network sees them (docs/images/synthetic_vs_touch.png), and the
characters the generator's last version changed, at 28x28 in the training split's
writing (docs/images/synthetic_v{VERSION}_28.png: a sheet per version, to set side by side).

    python scripts/contact_sheets.py --out docs/images
    python scripts/contact_sheets.py --out docs/images --version-only
"""

from __future__ import annotations

import sys
from pathlib import Path

from .. import cli


def build_parser():
    from ..paths import touch_dir

    p = cli.parser(__doc__)
    p.add_argument("--etl", default=None, help="ETL folder (default: data/ETL9G if present, "
                   "else the synthetic set)")
    p.add_argument("--touch", default=str(touch_dir()), help="touch-hiragana folder or its "
                   ".npz (default: %(default)s, beside the checkout)")
    p.add_argument("--writers", type=int, default=6, help="writers in the sheet, 1 or more "
                   "(default: %(default)s)")
    p.add_argument("--augment", default="full", help="augmentation shown in augment.png "
                   "(default: %(default)s)")
    p.add_argument("--chars", default=None, help="the characters augment.png shows "
                   "(default: five spread over the class set)")
    p.add_argument("--version-sheet", default=None, metavar="CHARS",
                   help="the characters of synthetic_v{VERSION}_28.png (default: those the "
                   "generator's last version changed)")
    p.add_argument("--version-only", action="store_true", help="write only "
                   "synthetic_v{VERSION}_28.png (it needs no data set)")
    p.add_argument("--out", default="docs/images", help="(default: %(default)s)")
    return p



@cli.command(build_parser)
def main(args) -> int:
    import numpy as np

    from .. import synth
    from ..analysis import sheets, visualize
    from ..data import augment, sources
    from ..data.classes import DEFAULT_CLASSES, get_class_set
    from ..errors import DatasetError, MaistError
    from ..training.defaults import default_data

    # Every flag is checked before a figure is written: --out may hold the docs' own.
    cfg = augment.Augment.parse(args.augment)
    if args.writers < 1:
        raise MaistError(f"--writers must be 1 or more, not {args.writers}")
    out = Path(args.out)
    if args.version_sheet is not None:
        bad = [c for c in args.version_sheet if c not in get_class_set(DEFAULT_CLASSES).chars]
        if bad or not args.version_sheet:
            raise MaistError(f"--version-sheet: give characters of the default class set"
                             f"{', not ' + ' '.join(bad) if bad else ''}")
    out.mkdir(parents=True, exist_ok=True)
    # The generator's version sheet: 16 writers of data/synthetic's setting, at 28x28.
    changed = list(args.version_sheet or sheets.version_changed(get_class_set(DEFAULT_CLASSES)))
    writing = synth.SynthConfig(writers=16, **synth.DEFAULT)
    fig = visualize.version_sheet(sheets.synthetic_grid(writing, changed, writing.writers),
                                  changed, synth.GENERATOR_VERSION)
    fig.savefig(out / f"synthetic_v{synth.GENERATOR_VERSION}_28.png", dpi=90, bbox_inches="tight")
    print(out / f"synthetic_v{synth.GENERATOR_VERSION}_28.png")
    if args.version_only:
        return 0
    source = Path(args.etl) if args.etl else default_data()
    data = sources.load(source)
    class_set = get_class_set(data.meta.get("classes", DEFAULT_CLASSES))
    chars = list(args.chars) if args.chars else list(data.classes[:: max(1, len(data.classes) // 5)][:5])
    missing = [c for c in chars if c not in data.classes or not (data.test.y == data.classes.index(c)).any()]
    if missing:
        raise MaistError(f"--chars: {' '.join(missing)} have no test images in {source}")
    out.mkdir(parents=True, exist_ok=True)
    grid, ids, max_level = sheets.writer_grid(source, class_set, args.writers)
    fig = visualize.writer_sheet(grid, ids, class_set.chars, Path(source).name, max_level)
    fig.savefig(out / "synthetic_sheet.png", dpi=80, bbox_inches="tight")
    print(out / "synthetic_sheet.png")
    images, forms = synth.variant_examples(classes=class_set.name)
    fig = visualize.contact_sheet(images / 15.0, ["KanjiVG", "variant"], forms, size=1.1,
                                  title="variant forms (make_synthetic.py --variant-rate)")
    fig.savefig(out / "variant_forms.png", dpi=100, bbox_inches="tight")
    print(out / "variant_forms.png")
    images, forms = synth.variant_examples(classes=class_set.name, kind="reshaped")
    if forms:
        fig = visualize.contact_sheet(images / 15.0, ["KanjiVG", "reshaped"], forms, size=1.1,
                                      title="reshaped forms (make_synthetic.py --reshape-rate)")
        fig.savefig(out / "reshaped_forms.png", dpi=100, bbox_inches="tight")
        print(out / "reshaped_forms.png")
    picks = [int(np.flatnonzero(data.test.y == data.classes.index(c))[0]) for c in chars]
    grid = augment.examples(data.test.x[picks], cfg, per_image=8, seed=1)
    fig = visualize.contact_sheet(grid, chars, ["as is"] + [f"#{k}" for k in range(1, 9)],
                                  size=0.8,
                                  title=f"augment {cfg}: what the network sees in training")
    fig.savefig(out / "augment.png", dpi=80, bbox_inches="tight")
    print(out / "augment.png")
    try:
        touch = sources.load_touch(args.touch)
    except DatasetError as e:
        print(f"skipped the touch sheets: {e}", file=sys.stderr)
        return 0
    grid, present = sheets.touch_grid(touch.images, touch.chars, class_set)
    visualize.touch_sheet(grid, present).savefig(out / "touch_sheet.png", dpi=80,
                                                 bbox_inches="tight")
    print(out / "touch_sheet.png")
    x, y, _ = sources.from_images(touch.images, touch.chars, class_set, data.meta["preprocess"])
    side, labels = sheets.side_by_side(data.test, x, y, per_source=4)
    fig = visualize.contact_sheet(side, labels, [data.classes[c] for c in sorted(set(y.tolist()))],
                                  title="28x28 as the network sees them: synthetic test writers "
                                        "(top) and real touch drawings (bottom)")
    fig.savefig(out / "synthetic_vs_touch.png", dpi=80, bbox_inches="tight")
    print(out / "synthetic_vs_touch.png")
    return 0

