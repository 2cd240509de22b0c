"""Recipes side by side: test accuracy, real touch-drawing accuracy and wall time, over seeds.

Each row is a recipe (optionally with --augment and other overrides) trained with several
seeds on the same data; the table gives mean and standard deviation, since a difference
of 2-3 points on a few hundred drawings is noise. Finished runs are reused.

    python benchmarks/recipes.py --rows demo,demo+full --seeds 0,1,2
    python benchmarks/recipes.py --rows fast,demo,maist --variation 1.5 --seeds 0

A row is RECIPE or RECIPE+AUGMENT (demo+full: the demo recipe with full augmentation);
RECIPE may be a .json recipe file (docs/recipes/demo-1500.json: the demo before
augmentation).
--synth names the generator's setting as synth.parse_features reads it ('default', 'v1',
'v1+variant_rate', ...). Any set other than data/synthetic's (a --synth, --variation or
--writers other than the default's) is generated on its own under runs/. The tables in
README.md and docs/README.md made before generator version 3 used --synth v1.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from common import data_for, parser, spread, table_head

import maist
from maist import cli, synth
from maist.analysis import report
from maist.analysis.compare import train_or_reuse
from maist.training import recipes
from maist.training.config import TrainConfig


def build_parser():
    p = parser(__doc__, touch=True)
    p.add_argument("--rows", default="demo,demo+full", help="(default: %(default)s)")
    p.add_argument("--seeds", default="0,1,2", help="(default: %(default)s)")
    p.add_argument("--variation", type=float, default=1.0, help="synthetic set (default: 1)")
    p.add_argument("--synth", default="default", help="the generator's features, e.g. v1 "
                   "(the generator before version 3) or default-stroke_jitter "
                   "(default: %(default)s)")
    p.add_argument("--writers", type=int, default=200, help="(default: %(default)s)")
    p.add_argument("--steps", type=int, default=None, help="override every recipe's steps")
    p.add_argument("--root", default="runs/recipes", help="(default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    root = Path(args.root)
    try:
        data = data_for(args.synth, args.variation, args.writers, root)
    except synth.SynthError as e:
        raise SystemExit(f"--synth {args.synth}: {e}") from None
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for row in args.rows.split(","):
        name, _, aug = row.partition("+")
        recipe = recipes.with_overrides(recipes.get_recipe(name), steps=args.steps,
                                         augment=aug or None)
        results = []
        for seed in seeds:
            # The data's settings are in the name: a reused run is matched by its files'
            # paths, and data/synthetic keeps its paths when it is regenerated.
            tag = (f"{recipe.name}{'+' + aug if aug else ''}-{args.synth}-v{args.variation:g}"
                   f"-w{args.writers}-{recipe.steps}-seed{seed}")
            start = time.perf_counter()
            run = train_or_reuse(data, TrainConfig(recipe, seed=seed,
                                                   eval_every=max(recipe.steps // 4, 1)),
                                 root / tag)
            seconds = time.perf_counter() - start
            with maist.restore(run.run_dir) as r:
                touch = report.touch_accuracy(r, args.touch)
            results.append(dict(seed=seed, test=run.test_accuracy, seconds=seconds, **touch))
            print(json.dumps({"row": row, **results[-1]}), flush=True)
        rows.append((row, recipe, results))
    print(f"\nsynthetic set {args.synth}, variation {args.variation:g}, {args.writers} writers, "
          f"seeds {args.seeds}"
          f" (touch: {rows[0][2][0]['n']} drawings)\n")
    print(table_head("row", "steps x batch", "synthetic test", "touch top-1", "touch top-5",
                     "train s (first seed)"))
    for row, recipe, res in rows:
        print(f"| {row} | {recipe.steps} x {recipe.batch_size} | {spread([r['test'] for r in res])} | "
              f"{spread([r['accuracy'] for r in res])} | {spread([r['top5'] for r in res])} | "
              f"{res[0]['seconds']:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
