"""Synthetic pretraining, measured: a recipe from fresh weights against the same recipe
started from the synthetic model that `--pretrain` gives it (training.pretrain).

The target is real ETL files (--data data/ETL9G, for whoever has AIST's files) or, here,
where there are none, a harder synthetic set: other writers, drawn with more variation
(--variation 1.5), whose test split stands in for real writers the model never saw.
Each row is trained with several seeds; the touch drawings are read by every run.

    python benchmarks/pretrain.py --rows fast --seeds 0,1,2
    python benchmarks/pretrain.py --data data/ETL9G --rows fast,maist --seeds 0
    python benchmarks/pretrain.py --rows fast,demo --synth-seed 1 --mix 0.3

The synthetic model is the one train_maist.py would start from (runs/demo-expert when
`make demo` made it, else made now, and its time printed). With --mix SHARE, two more
starts mix synthetic writers into the target's training batches (SHARE of each batch from
the synthetic set's training writers: train_maist.py's --replay SHARE --replay-data
data/synthetic), from fresh weights and from the synthetic model; validation and test stay
the target's own writers.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from common import data_for, parser, spread, table_head

import maist
from maist import cli
from maist.analysis import report
from maist.data import sources
from maist.data.classes import DEFAULT_CLASSES
from maist.training import adapt, pretrain, recipes
from maist.training.config import TrainConfig
from maist.training.defaults import synthetic_data
from maist.training.reuse import train_or_reuse


def build_parser():
    p = parser(__doc__, touch=True)
    p.add_argument("--rows", default="fast", help="recipes (default: %(default)s)")
    p.add_argument("--seeds", default="0,1,2", help="(default: %(default)s)")
    p.add_argument("--data", default=None, help="the target: ETL files (default: a synthetic "
                   "set of --variation and --writers)")
    p.add_argument("--variation", type=float, default=1.5, help="(default: %(default)s)")
    p.add_argument("--writers", type=int, default=200, help="(default: %(default)s)")
    p.add_argument("--synth-seed", type=int, default=0, help="the generator's seed of the "
                   "harder set; 0 draws its writers from the streams data/synthetic's come "
                   "from (at more variation), another seed from streams of their own "
                   "(default: %(default)s)")
    p.add_argument("--mix", type=float, default=0.0, metavar="SHARE", help="also train with "
                   "this share of each batch from the synthetic set (default: no such rows)")
    p.add_argument("--root", default="runs/pretrain", help="(default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    root = Path(args.root)
    target = (sources.load(args.data) if args.data
              else data_for("default", args.variation, args.writers, root, args.synth_seed))
    seed_note = f", generator seed {args.synth_seed}" if args.synth_seed else ""
    where = args.data or (f"synthetic, variation {args.variation:g}, {args.writers} writers"
                          f"{seed_note}")
    target_name = (Path(args.data).name if args.data
                   else f"synthetic-v{args.variation:g}-w{args.writers}"
                   + (f"-s{args.synth_seed}" if args.synth_seed else ""))
    classes = target.meta.get("classes") or DEFAULT_CLASSES
    made_with = pretrain.recipe_for("auto", classes, "expert")
    start = time.perf_counter()
    synthetic = synthetic_data(classes)
    source = pretrain.pretrained(sources.load(synthetic, seed=pretrain.SEED),
                                 made_with, {}, Path("runs"))
    made_in = time.perf_counter() - start
    print(f"synthetic model: {source} ({made_with.name}, {made_with.steps} steps; "
          f"{'made in %.0f s' % made_in if made_in > 60 else 'already made'})")
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for name in args.rows.split(","):
        recipe = recipes.get_recipe(name)
        starts = [(None, 0.0), (str(source), 0.0)]
        starts += [(None, args.mix), (str(source), args.mix)] if args.mix else []
        for start_from, mix in starts:
            results = []
            for seed in seeds:
                tag = (f"{recipe.name}-{'pretrained' if start_from else 'fresh'}"
                       f"{f'-mix{mix:g}' if mix else ''}-seed{seed}")
                cfg = TrainConfig(recipe, seed=seed, init_from=start_from,
                                  eval_every=max(recipe.steps // 4, 1), replay=mix,
                                  replay_data=str(synthetic) if mix else None)
                t = time.perf_counter()
                run = train_or_reuse(adapt.with_replay(target, cfg), cfg,
                                     root / target_name / tag)
                seconds = time.perf_counter() - t
                with maist.restore(run.run_dir) as r:
                    touch = report.touch_accuracy(r, args.touch)
                val = [h for h in run.history if h["split"] == "val"]
                results.append(dict(seed=seed, test=run.test_accuracy, seconds=seconds,
                                    first_val=val[0]["accuracy"], first_val_step=val[0]["step"],
                                    **touch))
                print(json.dumps({"row": tag, **results[-1]}), flush=True)
            rows.append((recipe, start_from, mix, results))
    print(f"\ntarget: {where}; seeds {args.seeds}; touch: {rows[0][3][0]['n']} drawings\n")
    print(table_head("recipe", "start", "steps x batch", "validation at the first check", "test",
                     "touch top-1", "train s (first seed)"))
    for recipe, start_from, mix, res in rows:
        what = ("synthetic model" if start_from else "fresh") + (
            f", {mix:.0%} of each batch synthetic" if mix else "")
        print(f"| {recipe.name} | {what} | "
              f"{recipe.steps} x {recipe.batch_size} | "
              f"{spread([r['first_val'] for r in res])} (step {res[0]['first_val_step']}) | "
              f"{spread([r['test'] for r in res])} | {spread([r['accuracy'] for r in res])} | "
              f"{res[0]['seconds']:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
