"""Train a MAIST model from the shell: the blog's beginner and expert, and the seeds' mlp and deep.

    python scripts/train_maist.py --recipe demo
    python scripts/train_maist.py --data data/ETL9G --recipe blog-95
    python scripts/train_maist.py --run-dir runs/demo-expert --resume
    python scripts/train_maist.py --data data/mine --init-from runs/demo-expert --freeze conv
"""

from __future__ import annotations

import time

from .. import cli


def build_parser():
    from ..data import augment, classes, preprocess
    from ..nets import graph, models
    from ..training import config, recipes

    p = cli.parser(__doc__)
    p.add_argument("--data", default=None, help="an ETL folder or file, or a built .npz (default: "
                   "data/ETL9G if it holds AIST's files, else the synthetic set, generated once; "
                   "on --resume, the run's own)")
    p.add_argument("--recipe", default=None, help=f"one of {', '.join(recipes.RECIPES)}, or a "
                   ".json recipe file (default: demo; on --resume, the run's own)")
    p.add_argument("--model", choices=list(models.MODELS), default=None,
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
    p.add_argument("--loss", choices=list(graph.LOSSES), default=None,
                   help="(default: the recipe's)")
    p.add_argument("--optimizer", choices=list(graph.OPTIMIZERS), default=None,
                   help="(default: the recipe's)")
    p.add_argument("--sampling", choices=list(recipes.SAMPLING), default=None,
                   help="random: with replacement, as the blog; epoch: shuffled passes "
                   "(default: the recipe's)")
    p.add_argument("--augment", default=None, help="augment training batches: none, affine, "
                   f"elastic, full, or a list of {', '.join(augment.KINDS)} "
                   "(default: the recipe's)")
    p.add_argument("--label-smoothing", type=float, default=None,
                   help="smooth one-hot targets by this share (default: the recipe's)")
    p.add_argument("--average", type=float, default=None, metavar="DECAY",
                   help="keep a moving average of the weights with this decay (0.999: about "
                   "the last 1,000 steps) and evaluate, restore and export it in their "
                   "place; 0: none (default: the recipe's)")
    p.add_argument("--init-from", default=None, metavar="RUN_DIR[:STEP]",
                   help="start from another run's weights (same model and classes), e.g. a "
                   "synthetic model adapted to your own pictures; with a folder of pictures "
                   "as --data, the adapt recipe, every layer but the readout frozen and "
                   "--replay 0.5 are the defaults (default: fresh weights)")
    p.add_argument("--pretrain", default="auto", metavar="MODE",
                   help="start from a model of MAIST's synthetic writers, made first if there "
                   "is none (runs/demo-expert, from `make demo`, counts): auto for the maist "
                   "recipe on real ETL files; none never; or the recipe to make it with, "
                   "always (default: %(default)s)")
    p.add_argument("--freeze", default=None, metavar="NAMES",
                   help="comma-separated parts of variable names to keep fixed, e.g. 'conv' "
                   "(the convolutional layers), or none (default: train everything; all "
                   "but the readout when adapting to a folder of pictures)")
    p.add_argument("--replay", type=float, default=None, metavar="SHARE",
                   help="with --init-from: at least this share of each training batch replays the "
                   "source run's own training data, so that others' handwriting is kept; "
                   "more when your pictures cover few of the classes, so that each class "
                   "keeps its part of a batch (default: 0.5 when adapting to a folder of "
                   "pictures, else 0). With --replay-data, any run: --replay 0.3 "
                   "--replay-data data/synthetic mixes synthetic writers into the training "
                   "batches, validation and test staying --data's")
    p.add_argument("--replay-data", default=None, metavar="PATH",
                   help="what --replay replays (default: the data the --init-from run "
                   "trained on)")
    p.add_argument("--new-head", action="store_true", help="with --init-from: a new readout "
                   "layer where the classes differ (default: the classes must match)")
    p.add_argument("--preprocess", choices=list(preprocess.PREPROCESSORS), default=None,
                   help=f"for ETL input (default: {preprocess.DEFAULT_PREPROCESS}; on --resume, "
                   f"the run's own)")
    p.add_argument("--split", choices=["writer", "random"], default=None,
                   help="for ETL input (default: writer; on --resume, the run's own)")
    p.add_argument("--classes", default=None, metavar="SET",
                   help=f"the class set: {', '.join(classes.CLASS_SETS)} (default: "
                   f"{classes.DEFAULT_CLASSES}; on --resume, the run's own)")
    p.add_argument("--run-dir", default=None, help="where the run goes (default: a new "
                   "runs/RECIPE-MODEL[-N])")
    p.add_argument("--seed", type=int, default=None, help="graph, batch and split seed "
                   "(default: 0; on --resume, the run's own)")
    p.add_argument("--eval-every", type=int, default=None, help="validation every N steps "
                   f"(default: {config.EVAL_EVERY}; on --resume, the run's own)")
    p.add_argument("--checkpoint-every", type=int, default=None,
                   help=f"(default: {config.CHECKPOINT_EVERY}; on --resume, the run's own)")
    p.add_argument("--early-stopping", type=int, default=None, metavar="PATIENCE",
                   help="stop after PATIENCE evaluations without a better validation loss "
                   "(default: off; on --resume, the run's own)")
    p.add_argument("--resume", action="store_true", help="continue --run-dir from its last "
                   "checkpoint, with its own settings (default: start afresh)")
    p.add_argument("--override", action="store_true", help="with --resume: continue even where "
                   "the settings given differ from the run's (default: refuse)")
    p.add_argument("--devices", default=None, metavar="DEV,DEV",
                   help="train on towers, one a device, each a slice of every batch: "
                   "cpu:0,cpu:1 (that many CPU devices) or gpu:0,gpu:1 (default: one device, "
                   "TensorFlow's choice; a run resumes, restores and exports on any)")
    p.add_argument("--cluster", default=None, metavar="FILE",
                   help='a cluster of ps and worker tasks: a JSON file such as {"ps": '
                   '["host:2222"], "worker": ["host:2223", "host:2224"]}, with --job and --task '
                   "(default: TF_CONFIG's, if it is set; else one process)")
    p.add_argument("--job", choices=["ps", "worker"], default=None,
                   help="with --cluster: this task's job (worker 0 is the chief)")
    p.add_argument("--task", type=int, default=None, help="with --cluster: this task's index")
    p.add_argument("--async", dest="async_", action="store_true", help="in a cluster: each "
                   "worker applies its own gradients (default: synchronous, one step of all)")
    p.add_argument("--task-timeout", type=float, default=None, metavar="SECONDS",
                   help="in a cluster: how long a task waits for another before it names it "
                   "as gone (default: 60)")
    p.add_argument("--dry-run", action="store_true", help=f"run {config.DRY_RUN_STEPS} steps "
                   f"end to end, evaluating every {config.DRY_RUN_EVAL} (default: off)")
    p.add_argument("--quiet", action="store_true", help="a progress bar instead of log lines "
                   "(default: off)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    from ..signals import exit_code
    from ..training import config, recipes
    from ..training.cluster import requested_task
    from ..training.run import run, run_task

    request = config.Request(
        recipe=args.recipe, model_options=tuple(args.model_option), seed=args.seed,
        changes={k: getattr(args, "lr" if k == "learning_rate" else k)
                 for k in recipes.RECIPE_FIELDS},
        eval_every=args.eval_every, checkpoint_every=args.checkpoint_every,
        early_stopping=args.early_stopping, init_from=args.init_from, freeze=args.freeze,
        new_head=args.new_head, replay=args.replay, replay_data=args.replay_data,
        data=args.data, preprocess=args.preprocess, split=args.split, classes=args.classes,
        dry_run=args.dry_run, run_dir=args.run_dir, resume=args.resume,
        override=args.override, pretrain=args.pretrain, devices=args.devices,
        cluster=requested_task(args.cluster, args.job, args.task, not args.async_,
                               args.task_timeout))
    if request.cluster is not None and not request.cluster.chief:
        return run_task(request)
    start = time.perf_counter()
    result = run(request, quiet=args.quiet)
    print(f"{result.stopped} after {result.step} steps in {time.perf_counter() - start:.0f} s: "
          f"test accuracy {result.test_accuracy:.4f}; run directory {result.run_dir}")
    return exit_code(result.stopped)

