"""One row per class set: what a model of more scripts costs, and what it does to hiragana.

A row is CLASSES:RECIPE (hiragana71:demo, kana142:kana, kana142+kyoiku1026:kanji). For
each class set, its synthetic set (maist.training.defaults.default_data: data/synthetic[-SET], made
once) is built to 28x28 in a fresh process, whose time and peak memory are reported, and
the recipe is trained on it with each seed. Columns:

  synthetic test   accuracy on the 20 writers of the writer split that no run saw
  train s          wall time of the first seed's training, evaluations included
  build s, GB      ETL9G-format records to the 28x28 set, uncached; peak memory
  touch            the 745 touch drawings' hiragana (../shared/data/touch-hiragana):
                   top-1, top-5, and top-1 with the model told the drawings are hiragana
                   (restore.within_scripts: look-alikes across scripts kept apart)

Mean ± sd over the seeds: 2-3 points on a few hundred drawings is noise. Finished runs
under --root are reused (their training time as first recorded).

    python benchmarks/class_sets.py --rows hiragana71:demo,kana142:kana --seeds 0,1,2
"""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

from common import parser, spread, table_head

import maist
from maist import cli
from maist.analysis import report
from maist.analysis.compare import train_or_reuse
from maist.data import dataset
from maist.data.classes import get_class_set
from maist.training import defaults, recipes
from maist.training.config import TrainConfig


def _build(source: str, classes: str, out: str, q) -> None:
    start = time.perf_counter()
    data = dataset.build(source, classes, cache=False)
    seconds = time.perf_counter() - start
    data.save(out)
    q.put({"seconds": seconds, "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20})


def built(classes: str, root: Path) -> tuple[Path, dict]:
    """The class set's synthetic set as an .npz under root, with how its build went."""
    out = root / "data" / f"{defaults.synthetic_dir(classes).name}.npz"
    facts = out.with_suffix(".json")
    source = defaults.default_data(classes)
    if out.exists() and facts.exists():
        return out, json.loads(facts.read_text())
    out.parent.mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_build, args=(str(source), classes, str(out), q))
    p.start()
    result = q.get()
    p.join()
    facts.write_text(json.dumps(result))
    return out, result


def trained(data, recipe, seed: int, run_dir: Path) -> dict:
    """Train (or reuse) one seed; its wall time as first recorded."""
    stamp = run_dir / "bench_seconds.json"
    start = time.perf_counter()
    run = train_or_reuse(data, TrainConfig(recipe, seed=seed, eval_every=max(recipe.steps // 4, 1),
                                           checkpoint_every=max(recipe.steps // 4, 1)),
                         run_dir)
    if not stamp.exists():
        stamp.write_text(json.dumps({"seconds": time.perf_counter() - start}))
    return {"test": run.test_accuracy, "seconds": json.loads(stamp.read_text())["seconds"],
            "run_dir": str(run.run_dir)}


def touch(values: list) -> str:
    """The spread, or '-' for a run that reads none of the touch drawings' classes."""
    return "-" if None in values else spread(values)


def build_parser():
    p = parser(__doc__, touch=True)
    p.add_argument("--rows", default="hiragana71:demo,kana142:kana",
                   help="CLASSES:RECIPE, comma-separated (default: %(default)s)")
    p.add_argument("--seeds", default="0,1,2", help="(default: %(default)s)")
    p.add_argument("--root", default="runs/class_sets", help="(default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    root = Path(args.root)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for row in args.rows.split(","):
        classes, _, recipe_name = row.partition(":")
        class_set = get_class_set(classes)
        recipe = recipes.get_recipe(recipe_name)
        npz, build = built(class_set.name, root)
        data = maist.load_data(npz)
        results = []
        for seed in seeds:
            run_dir = root / f"{defaults.synthetic_dir(class_set.name).name}-{recipe.name}-seed{seed}"
            res = trained(data, recipe, seed, run_dir)
            with maist.restore(res["run_dir"]) as r:
                res.update(report.touch_accuracy(r, args.touch))
            results.append(res)
            print(json.dumps({"row": row, "seed": seed, **res}), flush=True)
        rows.append((row, class_set, recipe, build, results))
    print(f"\nseeds {args.seeds}; touch: the {max(r[4][0]['n'] for r in rows)} touch drawings "
          f"of hiragana\n")
    print(table_head("class set", "classes", "recipe (model, steps x batch)", "synthetic test",
                     "train s", "build s", "build peak GB", "touch top-1", "touch top-5",
                     "touch top-1, told hiragana"))
    for _row, class_set, recipe, build, res in rows:
        print(f"| {class_set.name} | {len(class_set)} | {recipe.name} ({recipe.model}, "
              f"{recipe.steps} x {recipe.batch_size}) | {spread([r['test'] for r in res])} | "
              f"{res[0]['seconds']:.0f} | {build['seconds']:.0f} | {build['peak_gb']:.2f} | "
              f"{touch([r['accuracy'] for r in res])} | {touch([r['top5'] for r in res])} | "
              f"{touch([r['told'] for r in res])} |")


if __name__ == "__main__":
    sys.exit(main())
