"""Train a MAIST model from the shell: the blog's beginner and expert, and the seeds' mlp and deep.

    python scripts/train_maist.py --recipe demo
    python scripts/train_maist.py --data data/ETL9G --recipe seed-95
    python scripts/train_maist.py --run-dir runs/demo-expert --resume
    python scripts/train_maist.py --data data/mine --init-from runs/demo-expert --freeze conv
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from maist import cli


def build_parser():
    from maist.data import augment, preprocess
    from maist.data import classes as kana
    from maist.nets import models as model
    from maist.training import schedule

    p = cli.parser(__doc__)
    p.add_argument("--data", default=None, help="an ETL folder or file, or a built .npz (default: "
                   "data/ETL9G if it holds AIST's files, else the synthetic set, generated once; "
                   "on --resume, the run's own)")
    p.add_argument("--recipe", default=None, help=f"one of {', '.join(schedule.RECIPES)}, or a "
                   ".json recipe file (default: demo; on --resume, the run's own)")
    p.add_argument("--model", choices=list(model.MODELS), default=None,
                   help="the network (default: the recipe's)")
    p.add_argument("--model-option", action="append", default=[], metavar="NAME=VALUE",
                   help="an option of the model, e.g. hidden=64 for mlp; repeat for more "
                   "(default: the model's)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the recipe's)")
    p.add_argument("--batch-size", type=int, default=None, help="(default: the recipe's)")
    p.add_argument("--lr", default=None, help="learning-rate table, e.g. '1e-3, 1000:1e-4' "
                   "(default: the recipe's)")
    p.add_argument("--keep-prob", default=None, help="keep_prob table, e.g. '1, 3000:0.3'; "
                   "each value above 0 and at most 1 (default: the recipe's)")
    p.add_argument("--loss", choices=list(model.LOSSES), default=None,
                   help="(default: the recipe's)")
    p.add_argument("--optimizer", choices=list(model.OPTIMIZERS), default=None,
                   help="(default: the recipe's)")
    p.add_argument("--sampling", choices=list(schedule.SAMPLING), default=None,
                   help="random: with replacement, as the blog; epoch: shuffled passes "
                   "(default: the recipe's)")
    p.add_argument("--augment", default=None, help="augment training batches: none, affine, "
                   f"elastic, full, or a list of {', '.join(augment.KINDS)} "
                   "(default: the recipe's)")
    p.add_argument("--label-smoothing", type=float, default=None,
                   help="smooth one-hot targets by this share (default: the recipe's)")
    p.add_argument("--init-from", default=None, metavar="RUN_DIR[:STEP]",
                   help="start from another run's weights (same model and classes), e.g. a "
                   "synthetic model adapted to your own pictures (default: fresh weights)")
    p.add_argument("--freeze", default=None, metavar="NAMES",
                   help="comma-separated parts of variable names to keep fixed, e.g. 'conv' "
                   "(the convolutional layers) (default: train everything)")
    p.add_argument("--new-head", action="store_true", help="with --init-from: a new readout "
                   "layer where the classes differ (default: the classes must match)")
    p.add_argument("--preprocess", choices=list(preprocess.PREPROCESSORS), default=None,
                   help=f"for ETL input (default: {preprocess.DEFAULT_PREPROCESS})")
    p.add_argument("--split", choices=["writer", "random"], default=None,
                   help="for ETL input (default: writer)")
    p.add_argument("--classes", choices=list(kana.CLASS_SETS), default=None,
                   help="for ETL input (default: hiragana71)")
    p.add_argument("--run-dir", default=None, help="where the run goes (default: a new "
                   "runs/RECIPE-MODEL[-N])")
    p.add_argument("--seed", type=int, default=None, help="graph, batch and split seed "
                   "(default: 0)")
    p.add_argument("--eval-every", type=int, default=1000, help="validation every N steps "
                   "(default: %(default)s)")
    p.add_argument("--checkpoint-every", type=int, default=1000, help="(default: %(default)s)")
    p.add_argument("--early-stopping", type=int, default=None, metavar="PATIENCE",
                   help="stop after PATIENCE evaluations without a better validation loss "
                   "(default: off)")
    p.add_argument("--resume", action="store_true", help="continue --run-dir from its last "
                   "checkpoint, with its own settings (default: start afresh)")
    p.add_argument("--override", action="store_true", help="with --resume: continue even where "
                   "the settings given differ from the run's (default: refuse)")
    p.add_argument("--dry-run", action="store_true", help="run 20 steps end to end, evaluating "
                   "every 10 (default: off)")
    p.add_argument("--quiet", action="store_true", help="a progress bar instead of log lines "
                   "(default: off)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    from maist.data import dataset
    from maist.errors import RunError
    from maist.nets import models as model
    from maist.training import rundir as runs
    from maist.training import schedule
    from maist.training.loop import TrainConfig, train

    if args.resume and not args.run_dir:
        raise RunError("--resume needs --run-dir, the run to continue")
    # On --resume, what is not given on the command line comes from the run itself.
    own = runs.read_config(args.run_dir) if args.resume else {}
    own_data = own.get("data", {})
    recipe = (schedule.get_recipe(args.recipe) if args.recipe
              else schedule.Recipe.from_dict(own["recipe"]) if own
              else schedule.get_recipe("demo"))
    recipe = schedule.with_overrides(
        recipe, follow_steps=not args.resume, model=args.model, steps=20 if args.dry_run else args.steps,
        batch_size=args.batch_size, learning_rate=args.lr, keep_prob=args.keep_prob,
        loss=args.loss, optimizer=args.optimizer, sampling=args.sampling, augment=args.augment,
        label_smoothing=args.label_smoothing)
    spec = model.get_model(recipe.model)
    options = dict(own.get("model_options", {})) if own and not args.model else {}
    options.update(spec.parse_option(o) for o in args.model_option)
    seed = args.seed if args.seed is not None else own.get("seed", 0)
    # Every option is checked before the data is read: a typo costs nothing.
    cfg = TrainConfig(recipe, seed=seed, eval_every=10 if args.dry_run else args.eval_every,
                      checkpoint_every=args.checkpoint_every, early_stopping=args.early_stopping,
                      test_at=tuple(sorted(recipe.blog)),
                      model_options=spec.check_options(options),
                      init_from=args.init_from or own.get("init_from"),
                      freeze=tuple(f.strip() for f in (args.freeze or "").split(",") if f.strip())
                      or tuple(own.get("freeze", ())), new_head=args.new_head)
    given = {k: getattr(args, k) or own_data.get(k) for k in ("preprocess", "split", "classes")}
    data = dataset.load(args.data or own_data.get("path"), seed=seed,
                        **{k: v for k, v in given.items() if v})  # else dataset's defaults
    run_dir = (Path(args.run_dir) if args.run_dir
               else runs.free_run_dir(Path("runs"), f"{recipe.name}-{recipe.model}"))
    for line in dataset.summary(data):
        print(line)
    print(f"training {recipe.model} with recipe {recipe.name}: {recipe.steps} steps, batch "
          f"{recipe.batch_size}, {recipe.optimizer} lr [{recipe.learning_rate}], keep_prob "
          f"[{recipe.keep_prob}], {recipe.loss} loss -> {run_dir}")
    start = time.perf_counter()
    result = train(data, cfg, run_dir, resume=args.resume, quiet=args.quiet,
                   override=args.override)
    print(f"{result.stopped} after {result.step} steps in {time.perf_counter() - start:.0f} s: "
          f"test accuracy {result.test_accuracy:.4f}; run directory {result.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
