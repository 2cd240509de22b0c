"""Train a MAIST model from the shell: the blog's beginner and expert, and the seeds' mlp and deep.

    python scripts/train_maist.py --recipe demo
    python scripts/train_maist.py --data data/ETL9G --recipe seed-95
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

RECIPE_NAMES = "beginner, tutorial, seed-lr, seed-95, seed-95-as-run, demo, mlp, deep"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="an ETL folder or file, or a built .npz (default: "
                   "data/ETL9G if it holds AIST's files, else the synthetic set, generated once)")
    p.add_argument("--recipe", default="demo", help=f"one of {RECIPE_NAMES}, or a .json recipe "
                   "file (default: %(default)s)")
    p.add_argument("--model", choices=["beginner", "expert", "mlp", "deep"], default=None,
                   help="the network (default: the recipe's)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the recipe's)")
    p.add_argument("--batch-size", type=int, default=None, help="(default: the recipe's)")
    p.add_argument("--lr", default=None, help="learning-rate table, e.g. '1e-3, 1000:1e-4' "
                   "(default: the recipe's)")
    p.add_argument("--keep-prob", default=None, help="keep_prob table, e.g. '1, 3000:0.3' "
                   "(default: the recipe's)")
    p.add_argument("--loss", choices=["stable", "tutorial"], default=None,
                   help="(default: the recipe's)")
    p.add_argument("--optimizer", choices=["adam", "gd"], default=None,
                   help="(default: the recipe's)")
    p.add_argument("--sampling", choices=["random", "epoch"], default=None, help="random: with "
                   "replacement, as the blog; epoch: shuffled passes (default: the recipe's)")
    p.add_argument("--hidden", type=int, default=16, help="mlp hidden units (default: %(default)s)")
    p.add_argument("--activation", choices=["sigmoid", "relu"], default="sigmoid",
                   help="mlp activation (default: %(default)s)")
    p.add_argument("--preprocess", choices=["seed", "centered"], default="centered",
                   help="for ETL input (default: %(default)s)")
    p.add_argument("--split", choices=["writer", "random"], default="writer",
                   help="for ETL input (default: %(default)s)")
    p.add_argument("--classes", default="hiragana71", help="for ETL input (default: %(default)s)")
    p.add_argument("--run-dir", default=None, help="where the run goes (default: a new "
                   "runs/RECIPE-MODEL[-N])")
    p.add_argument("--seed", type=int, default=0, help="graph, batch and split seed "
                   "(default: %(default)s)")
    p.add_argument("--eval-every", type=int, default=1000, help="validation every N steps "
                   "(default: %(default)s)")
    p.add_argument("--checkpoint-every", type=int, default=1000, help="(default: %(default)s)")
    p.add_argument("--early-stopping", type=int, default=None, metavar="PATIENCE",
                   help="stop after PATIENCE evaluations without a better validation loss "
                   "(default: off)")
    p.add_argument("--resume", action="store_true", help="continue --run-dir from its last "
                   "checkpoint (default: start afresh)")
    p.add_argument("--dry-run", action="store_true", help="run 20 steps end to end, evaluating "
                   "every 10 (default: off)")
    p.add_argument("--quiet", action="store_true", help="a progress bar instead of log lines "
                   "(default: off)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from maist import dataset, etl, kana, schedule
    from maist.train import TrainConfig, TrainingError, free_run_dir, train

    try:
        recipe = schedule.get_recipe(args.recipe)
        steps = 20 if args.dry_run else args.steps
        recipe = schedule.with_overrides(
            recipe, model=args.model, steps=steps, batch_size=args.batch_size,
            learning_rate=args.lr, keep_prob=args.keep_prob, loss=args.loss,
            optimizer=args.optimizer, sampling=args.sampling)
        eval_every = 10 if args.dry_run else args.eval_every
        data = dataset.load(args.data, preprocess=args.preprocess, split=args.split,
                            classes=args.classes, seed=args.seed)
        options = ({"hidden": args.hidden, "activation": args.activation}
                   if recipe.model == "mlp" else {})
        cfg = TrainConfig(recipe, seed=args.seed, eval_every=eval_every,
                          checkpoint_every=args.checkpoint_every,
                          early_stopping=args.early_stopping,
                          test_at=tuple(sorted(recipe.blog)), model_options=options)
        if args.run_dir:
            run_dir = Path(args.run_dir)
        elif args.resume:
            raise TrainingError("--resume needs --run-dir, the run to continue")
        else:
            run_dir = free_run_dir(Path("runs"), f"{recipe.name}-{recipe.model}")
        for line in dataset.summary(data):
            print(line)
        print(f"training {recipe.model} with recipe {recipe.name}: {recipe.steps} steps, batch "
              f"{recipe.batch_size}, {recipe.optimizer} lr [{recipe.learning_rate}], keep_prob "
              f"[{recipe.keep_prob}], {recipe.loss} loss -> {run_dir}")
        start = time.perf_counter()
        result = train(data, cfg, run_dir, resume=args.resume, quiet=args.quiet)
    except (etl.EtlFormatError, dataset.DatasetError, kana.KanaError, schedule.ScheduleError,
            TrainingError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{result.stopped} after {result.step} steps in {time.perf_counter() - start:.0f} s: "
          f"test accuracy {result.test_accuracy:.4f}; run directory {result.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
