"""How fast the synthetic generator draws, per class set: images a second on `--workers`
processes, the figure the katakana-and-kanji issue asks for (at least 400 a second on 2
cores; kanji have more strokes, so their figure is recorded on its own).

Each row is a fresh Python process that renders `--images` images of the class set with
synth.rendered_writers (the same pool make_synthetic.py uses; the ETL9G files are not
written, they take a few percent). With --baseline REV the same is measured for MAIST at
another git revision, alternating with this checkout, and the ratio printed.

    python benchmarks/bench_synth.py --classes hiragana71 kana142 kyoiku1026 --baseline HEAD~1
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from common import ROOT, checkout, in_tree, parser

from maist import cli

# Runs inside the child, with the tree's maist (common.USE_TREE).
CHILD = r"""
import json, time
from maist.data.classes import get_class_set
from maist import synth
classes, images, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
count = len(get_class_set(classes).chars)
writers = max(workers, -(-images // count))
cfg = synth.SynthConfig(writers=writers, classes=classes, workers=workers)
for ch in get_class_set(classes).chars:   # KanjiVG's strokes parsed and cached: not timed
    synth.character_strokes(ch)
start = time.perf_counter()
with synth.rendered_writers(cfg, workers) as it:
    done = sum(len(imgs) for imgs in it)
print(json.dumps({"images": done, "seconds": time.perf_counter() - start}))
"""


def measure(tree: Path, classes: str, images: int, workers: int) -> dict:
    return json.loads(in_tree(tree, CHILD, classes, str(images), str(workers)))


def build_parser():
    p = parser(__doc__)
    p.add_argument("--classes", nargs="+", default=["hiragana71", "kana142", "kyoiku1026"])
    p.add_argument("--images", type=int, default=8000, help="at least this many a row "
                   "(whole writers) (default: %(default)s)")
    p.add_argument("--workers", type=int, default=2, help="(default: %(default)s)")
    p.add_argument("--repeats", type=int, default=1, help="(default: %(default)s)")
    p.add_argument("--baseline", default=None, metavar="REV", help="a git revision to measure "
                   "beside this checkout (default: this checkout only)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    with checkout(args.baseline) as base:
        trees = {"this checkout": ROOT}
        if base is not None:
            trees = {f"baseline {args.baseline}": base, **trees}
        print(f"synthetic images a second on {args.workers} processes (median of "
              f"{args.repeats}; KanjiVG parsing not timed)\n")
        print("| class set | " + " | ".join(trees) + (" | ratio |" if base else ""))
        print("|---|" + "---|" * (len(trees) + (1 if base else 0)))
        for classes in args.classes:
            rates = {name: [] for name in trees}
            for _ in range(args.repeats):
                for name, tree in trees.items():
                    r = measure(tree, classes, args.images, args.workers)
                    rates[name].append(r["images"] / r["seconds"])
            med = {name: statistics.median(v) for name, v in rates.items()}
            cells = " | ".join(f"{v:.0f}" for v in med.values())
            ratio = ""
            if base is not None:
                a, b = med.values()
                ratio = f" {b / a:.2f}x |"
            print(f"| {classes} | {cells} |{ratio}")


if __name__ == "__main__":
    sys.exit(main())
