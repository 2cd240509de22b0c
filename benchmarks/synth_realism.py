"""How realistic is the synthetic default? Train on it, test on real touch-screen drawings.

For each generator setting: generate an ETL9G-format set, build it, train the expert CNN
with one recipe, and report its accuracy on its own test writers and on the 714 real
touch-hiragana drawings of the classes MAIST shares with them. Prints a Markdown table.

    python benchmarks/synth_realism.py --vary variation=0,0.5,1,1.5 --writers 100 --steps 1500
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from maist import dataset, report, schedule, synth
from maist.compare import train_or_reuse
from maist.runs import restore
from maist.train import TrainConfig

TOUCH_DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "touch-hiragana"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vary", default="variation=0,0.5,1,1.5",
                   help="FIELD=V1,V2,... of SynthConfig (default: %(default)s)")
    p.add_argument("--writers", type=int, default=100, help="(default: %(default)s)")
    p.add_argument("--steps", type=int, default=1500, help="(default: %(default)s)")
    p.add_argument("--recipe", default="demo", help="(default: %(default)s)")
    p.add_argument("--preprocess", default="centered", help="(default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    p.add_argument("--touch", default=str(TOUCH_DEFAULT), help="touch-hiragana folder "
                   "(default: ../shared/data/touch-hiragana beside the checkout)")
    p.add_argument("--root", default="runs/realism", help="runs and data go here "
                   "(default: %(default)s)")
    args = p.parse_args()
    field, values = args.vary.split("=")
    recipe = replace(schedule.get_recipe(args.recipe), steps=args.steps)
    root = Path(args.root)
    rows = []
    for raw in values.split(","):
        value = type(getattr(synth.SynthConfig(), field))(float(raw))
        cfg = replace(synth.SynthConfig(writers=args.writers, seed=args.seed), **{field: value})
        tag = f"{field}-{value}-w{args.writers}-s{args.seed}"
        data_dir = root / "data" / tag
        start = time.perf_counter()
        if not synth.is_complete(data_dir):
            synth.generate(data_dir, cfg, overwrite=True)
        data = dataset.load(data_dir, log=lambda s: None, preprocess=args.preprocess,
                            seed=args.seed)
        run = train_or_reuse(data, TrainConfig(recipe, seed=args.seed, eval_every=args.steps),
                             root / f"{tag}-{recipe.name}-{args.steps}", log=lambda s: None)
        restored = restore(run.run_dir)
        try:
            touch = report.touch_accuracy(restored, args.touch)
        finally:
            restored.close()
        rows.append({field: value, "synthetic_test": run.test_accuracy, **touch,
                     "seconds": round(time.perf_counter() - start)})
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n{recipe.name} recipe, {args.steps} steps, {args.writers} writers, "
          f"preprocess {args.preprocess}, seed {args.seed}\n")
    print(f"| {field} | synthetic test acc | touch acc (n) | touch top-5 |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r[field]} | {r['synthetic_test']:.3f} | {r['accuracy']:.3f} ({r['n']}) | "
              f"{r['top5']:.3f} |")


if __name__ == "__main__":
    main()
