"""One recipe and its neighbours: each setting moved on its own, over seeds.

How a recipe's settings were chosen, shown: every variant changes one thing (or two that
go together, such as steps and batch at the same number of images) and is trained with
the same seeds on the same data; the table gives the synthetic test split, the touch
drawings and the training time, mean ± sd.

    python benchmarks/sweep.py --recipe fast --variants "peak=1e-3;peak=4e-3;keep=0.5;\\
        keep=1;steps=350,batch=128;steps=1400,batch=32;augment=elastic;steps=1000"

A variant is comma-separated NAME=VALUE: peak (the cosine's peak rate), keep (keep_prob),
steps, batch, augment, smoothing (label smoothing), average; model (another registered
model, e.g. deep), or one of the model's options (the expert's conv1, conv2, hidden, init);
or preprocess (another way to 28x28, e.g. centered24: the data and the touch drawings
both read so):

    python benchmarks/sweep.py --recipe demo --variants "init=he;\\
        conv1=64,conv2=128,hidden=2048,init=he;model=deep"

The target is the harder synthetic set of benchmarks/recipes.py (--variation 1.5) unless
--data names ETL files.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from common import data_for, parser, spread, table_head

import maist
from maist import cli
from maist.analysis import report
from maist.data import preprocess, sources
from maist.nets.models import get_model
from maist.training import recipes
from maist.training.config import TrainConfig
from maist.training.reuse import train_or_reuse
from maist.training.schedule import Cosine


def variant(base: recipes.Recipe, text: str) -> tuple[recipes.Recipe, dict, str | None]:
    """The recipe with the variant's settings, its model's options, and its preprocessing
    (None: the data's own); '' is the recipe itself with its model's defaults."""
    changes: dict = {}
    how = None
    items = [item.partition("=") for item in filter(None, text.split(","))]
    model = next((value for name, _, value in items if name == "model"), base.model)
    spec = get_model(model)
    options: dict = {}
    for name, _, value in items:
        if name == "model":
            changes["model"] = value
        elif name == "preprocess":
            how = preprocess.get_preprocessor(value).name
        elif name in spec.options:
            options.update([spec.parse_option(f"{name}={value}")])
        elif name == "peak":
            if not isinstance(base.learning_rate, Cosine):
                raise SystemExit(f"peak= needs a cosine schedule; {base.name} has a table")
            changes["learning_rate"] = replace(base.learning_rate, peak=float(value))
        elif name in ("keep", "steps", "batch", "augment", "smoothing", "average"):
            key = {"keep": "keep_prob", "batch": "batch_size",
                   "smoothing": "label_smoothing"}.get(name, name)
            changes[key] = value if name == "augment" else (
                int(value) if name in ("steps", "batch") else float(value))
        else:
            raise SystemExit(f"unknown setting {name!r} in variant {text!r}")
    return recipes.with_overrides(base, **changes), options, how


def train_seconds(results: list[dict]) -> str:
    """The mean training time of the runs trained now; a finished run read back took none."""
    trained = [r["seconds"] for r in results if r["seconds"] >= 1]
    return f"{sum(trained) / len(trained):.0f}" if trained else "(reused)"


def build_parser():
    p = parser(__doc__, touch=True)
    p.add_argument("--recipe", default="fast", help="(default: %(default)s)")
    p.add_argument("--variants", default="", help="';'-separated variants (the recipe itself "
                   "comes first)")
    p.add_argument("--seeds", default="0,1,2", help="(default: %(default)s)")
    p.add_argument("--data", default=None, help="ETL files (default: a synthetic set)")
    p.add_argument("--variation", type=float, default=1.5, help="(default: %(default)s)")
    p.add_argument("--writers", type=int, default=200, help="(default: %(default)s)")
    p.add_argument("--root", default="runs/sweep", help="(default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    root = Path(args.root)
    data = (sources.load(args.data) if args.data
            else data_for("default", args.variation, args.writers, Path("runs/recipes")))
    read_as = {None: data}  # preprocess -> the same files read so, loaded once
    base = recipes.get_recipe(args.recipe)
    rows = []
    for text in [""] + [v for v in args.variants.split(";") if v]:
        recipe, options, how = variant(base, text)
        if how not in read_as:
            read_as[how] = sources.load(data.meta["path"], preprocess=how)
        results = []
        for seed in (int(s) for s in args.seeds.split(",")):
            tag = f"{base.name}-{text.replace('=', '').replace(',', '-') or 'as-is'}-seed{seed}"
            start = time.perf_counter()
            run = train_or_reuse(read_as[how], TrainConfig(recipe, seed=seed, model_options=options,
                                                   eval_every=max(recipe.steps // 2, 1)),
                                 root / tag)
            seconds = time.perf_counter() - start
            with maist.restore(run.run_dir) as r:
                touch = report.touch_accuracy(r, args.touch)
            results.append(dict(test=run.test_accuracy, seconds=seconds, touch=touch["accuracy"]))
            print(json.dumps({"variant": text or "as is", "seed": seed, **results[-1]}),
                  flush=True)
        rows.append((text or "as is", recipe, results))
    print(f"\n{base.name} and its neighbours; seeds {args.seeds}\n")
    print(table_head("variant", "steps x batch", "synthetic test", "touch top-1",
                     "train s (mean)"))
    for text, recipe, res in rows:
        print(f"| {text} | {recipe.steps} x {recipe.batch_size} | "
              f"{spread([r['test'] for r in res])} | {spread([r['touch'] for r in res])} | "
              f"{train_seconds(res)} |")


if __name__ == "__main__":
    sys.exit(main())
