"""Few-shot adaptation to real handwriting: fine-tune a synthetic-trained model on some
touch-hiragana drawers, test on the others.

For each drawer split (drawers are the set's sample index: one person's row of drawings),
the drawings of a few drawers adapt the model and the rest test it, against
  * the same model without fine-tuning,
  * fine-tuning with the convolutional layers frozen,
  * training from scratch on the same drawings.
Prints a Markdown table: mean and spread over the splits.

    python benchmarks/finetune_touch.py runs/demo-expert --splits 4 --adapt 7
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from common import TOUCH_DEFAULT, spread

import maist
from maist.analysis.metrics import top_k_accuracy
from maist.data import sources
from maist.training import recipes, rundir
from maist.training.config import TrainConfig
from maist.training.loop import train
from maist.training.schedule import Cosine, StepTable


def drawer_splits(drawers: np.ndarray, n_splits: int, adapt: int, seed: int = 0):
    """(train, val, test) drawer ids: `adapt` drawers adapt (one of them validates)."""
    unique = np.unique(drawers)
    for k in range(n_splits):
        order = np.random.default_rng([seed, k]).permutation(unique)
        yield order[: adapt - 1], order[adapt - 1 : adapt], order[adapt:]




def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", help="the run to adapt, e.g. runs/demo-expert")
    p.add_argument("--touch", default=str(TOUCH_DEFAULT), help="touch-hiragana folder")
    p.add_argument("--splits", type=int, default=4, help="drawer splits (default: %(default)s)")
    p.add_argument("--adapt", type=int, default=7, help="drawers that adapt the model, one of "
                   "them for validation (default: %(default)s)")
    p.add_argument("--steps", type=int, default=300, help="fine-tuning steps (default: %(default)s)")
    p.add_argument("--scratch-steps", type=int, default=1500, help="(default: %(default)s)")
    p.add_argument("--root", default="runs/finetune", help="(default: %(default)s)")
    args = p.parse_args()
    config = rundir.read_config(args.source)
    meta = config.get("data", {})
    preprocess = meta.get("preprocess", "centered")
    drawers = sources.load_touch(args.touch).drawers
    tune = recipes.Recipe("finetune", config["recipe"]["model"], "adam", "stable", args.steps, 32,
                          Cosine(3e-4, 30, 1e-6, args.steps), StepTable.constant(0.5),
                          sampling="epoch", augment="full")
    scratch = recipes.with_overrides(recipes.RECIPES["demo"], steps=args.scratch_steps,
                                     batch_size=32, augment="full")
    arms = {"no fine-tuning": [], "fine-tuned": [], "fine-tuned, conv frozen": [],
            "from scratch": []}
    root = Path(args.root)
    for k, (tr, va, te) in enumerate(drawer_splits(drawers, args.splits, args.adapt)):
        data = sources.touch_data(args.touch, preprocess=preprocess, drawers=(tr, va, te))
        with maist.restore(args.source) as src:
            arms["no fine-tuning"].append(top_k_accuracy(src.probabilities(data.test.x),
                                                         data.test.y, 1))
        for arm, recipe, cfg in (
            ("fine-tuned", tune, dict(init_from=str(args.source))),
            ("fine-tuned, conv frozen", tune, dict(init_from=str(args.source), freeze=("conv",))),
            ("from scratch", scratch, {}),
        ):
            run_dir = rundir.free_name(root, f"split{k}-{arm.replace(' ', '').replace(',', '-')}")
            result = train(data, TrainConfig(recipe, seed=k, eval_every=recipe.steps, **cfg),
                           run_dir, log=lambda s: None, quiet=True)
            arms[arm].append(result.test_accuracy)
        print(f"split {k}: adapt on drawers {sorted(tr.tolist()) + sorted(va.tolist())} "
              f"({len(data.train) + len(data.val)} drawings), test on {sorted(te.tolist())} "
              f"({len(data.test)}): " + ", ".join(f"{a} {v[-1]:.3f}" for a, v in arms.items()),
              flush=True)
    print(f"\n{args.source} on touch-hiragana, {args.splits} drawer splits, {args.adapt} drawers "
          f"adapt ({args.steps} fine-tuning steps, {args.scratch_steps} from scratch)\n")
    print("| arm | test accuracy on the other drawers |")
    print("|---|---|")
    for arm, values in arms.items():
        print(f"| {arm} | {spread(values)} |")


if __name__ == "__main__":
    main()
