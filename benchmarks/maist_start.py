"""The `maist` recipe's ways to use the synthetic writers, at one budget of steps.

`maist` on real ETL files starts from a synthetic model (training.pretrain): the demo
recipe's steps on MAIST's synthetic writers, then maist's own on the real ones. Each row
here spends the same number of steps of 128 in all (--budget, pretraining included) and
changes one thing:

    pretrained   today's default: demo's 2,000 synthetic steps, then maist's 6,000
    average      the same, with a moving average of the weights (recipe average 0.999)
    mix          the same, with --mix of each real batch from the synthetic training writers
    longer       a longer synthetic start (--longer steps of demo), maist the rest

Every run is read twice: at its last checkpoint, and at the checkpoint of its best
validation accuracy (an evaluation every 1,000 steps, with a checkpoint beside it).

The target is the harder synthetic set of benchmarks/pretrain.py (variation 1.5, other
writers) unless --data names ETL files; the touch drawings are read by every run.

    python benchmarks/maist_start.py --seeds 0,1,2 --synth-seed 1
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
from maist.runs import checkpoints
from maist.training import adapt, pretrain, recipes
from maist.training.config import TrainConfig
from maist.training.defaults import synthetic_data
from maist.training.reuse import train_or_reuse

ROWS = ("pretrained", "average", "mix", "longer")
CHECK_EVERY = 1_000  # evaluation and checkpoint: the best-validation reading's choices


def build_parser():
    p = parser(__doc__, touch=True)
    p.add_argument("--rows", default=",".join(ROWS), help="(default: %(default)s)")
    p.add_argument("--seeds", default="0,1,2", help="(default: %(default)s)")
    p.add_argument("--data", default=None, help="the target: ETL files (default: a synthetic "
                   "set of --variation and --writers)")
    p.add_argument("--variation", type=float, default=1.5, help="(default: %(default)s)")
    p.add_argument("--writers", type=int, default=200, help="(default: %(default)s)")
    p.add_argument("--synth-seed", type=int, default=1, help="the harder set's generator "
                   "seed (default: %(default)s, writers of streams of their own)")
    p.add_argument("--budget", type=int, default=8_000, help="steps in all, the synthetic "
                   "start's included (default: %(default)s)")
    p.add_argument("--average", type=float, default=0.999, help="(default: %(default)s)")
    p.add_argument("--mix", type=float, default=0.3, metavar="SHARE",
                   help="(default: %(default)s)")
    p.add_argument("--longer", type=int, default=4_000, help="the longer start's steps "
                   "(default: %(default)s)")
    p.add_argument("--root", default="runs/maist-start", help="(default: %(default)s)")
    return p


def start_recipe(classes: str, steps: int | None) -> recipes.Recipe:
    """The synthetic start's recipe (the class set's, demo for hiragana71), at `steps`."""
    recipe = pretrain.recipe_for("auto", classes, "expert")
    return recipe if steps in (None, recipe.steps) else recipes.with_overrides(recipe, steps=steps)


def readings(run_dir: Path, history: list[dict], target, touch: str) -> dict:
    """Test and touch accuracy at the last checkpoint and at the best validation one."""
    val = [h for h in history if h["split"] == "val"]
    kept = set(checkpoints.steps(run_dir))
    best = max((h for h in val if h["step"] in kept), key=lambda h: h["accuracy"])
    out = {"best_step": best["step"]}
    for name, step in (("last", None), ("best", best["step"])):
        with maist.restore(run_dir, step=step) as r:
            out[f"{name}_test"] = report.evaluate_run(r, target).accuracy
            t = report.touch_accuracy(r, touch)
            out[f"{name}_touch"], out[f"{name}_held"] = t["accuracy"], t["held_out"]
    return out


@cli.command(build_parser)
def main(args) -> int:
    root = Path(args.root)
    target = (sources.load(args.data) if args.data
              else data_for("default", args.variation, args.writers, root, args.synth_seed))
    classes = target.meta.get("classes") or DEFAULT_CLASSES
    synthetic = synthetic_data(classes)
    base = recipes.get_recipe("maist")
    seeds = [int(s) for s in args.seeds.split(",")]
    table = []
    for row in args.rows.split(","):
        if row not in ROWS:
            raise SystemExit(f"--rows: {row!r} is none of {', '.join(ROWS)}")
        start = start_recipe(classes, args.longer if row == "longer" else None)
        t = time.perf_counter()
        # The default start where train_maist.py keeps it; a longer one apart (a start's
        # folder is named by its recipe, not its steps).
        source = pretrain.pretrained(sources.load(synthetic, seed=pretrain.SEED), start, {},
                                     root / "longer-start" if row == "longer" else Path("runs"))
        print(f"{row}: synthetic start {source} ({start.name}, {start.steps} steps; "
              f"{time.perf_counter() - t:.0f} s)", flush=True)
        recipe = recipes.with_overrides(base, steps=args.budget - start.steps,
                                        average=args.average if row == "average" else None)
        mix = args.mix if row == "mix" else 0.0
        results = []
        for seed in seeds:
            cfg = TrainConfig(recipe, seed=seed, init_from=str(source), eval_every=CHECK_EVERY,
                              checkpoint_every=CHECK_EVERY, replay=mix,
                              replay_data=str(synthetic) if mix else None)
            t = time.perf_counter()
            run = train_or_reuse(adapt.with_replay(target, cfg), cfg, root / f"{row}-seed{seed}")
            seconds = time.perf_counter() - t
            results.append(dict(seed=seed, seconds=seconds,
                                **readings(run.run_dir, run.history, target, args.touch)))
            print(json.dumps({"row": row, **results[-1]}), flush=True)
        table.append((row, start, recipe, results))
    print(f"\ntarget: {args.data or f'synthetic, variation {args.variation:g}, {args.writers} writers, generator seed {args.synth_seed}'}; "
          f"seeds {args.seeds}; {args.budget} steps of 128 in all\n")
    print(table_head("row", "steps (start + maist)", "test, last", "test, best val (step)",
                     "touch, last", "touch, best val", "touch held out, last",
                     "train s (first seed)"))
    for row, start, recipe, res in table:
        steps = sorted({r["best_step"] for r in res})
        print(f"| {row} | {start.steps} + {recipe.steps} | {spread([r['last_test'] for r in res])} | "
              f"{spread([r['best_test'] for r in res])} ({', '.join(map(str, steps))}) | "
              f"{spread([r['last_touch'] for r in res])} | {spread([r['best_touch'] for r in res])} | "
              f"{spread([r['last_held'] for r in res])} | {res[0]['seconds']:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
