"""Beginner against expert (and the seeds' mlp and deep) on the same data and split.

    plans(models, quick)            -> [Plan]  recipe, steps and the steps to test at
    run(data, plans, root)          -> [Outcome]  trains, or reuses finished runs
    train_or_reuse(data, cfg, dir)  -> RunResult  a finished run with the same options is reused
    markdown(outcomes)              -> the table with the blog's figures beside MAIST's

The blog tested the beginner at 10k, 50k and 100k steps and the expert at 10k and 20k.
`quick` keeps the same recipes on a budget of a few minutes on 2 CPU cores. A model that
is only registered (nets.models.register) is compared with its own recipe, tested at half
and all of its steps (a tenth of those with `quick`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from ..data.dataset import MaistData
from ..errors import RunError
from ..nets.models import get_model
from ..training import checkpoints, recipes, rundir
from ..training.config import SAME_RUN, TrainConfig, differences, record
from ..training.loop import RunResult, train

# The blog's (and the seeds') test steps where they differ from the default: full, quick.
TEST_STEPS = {
    "beginner": ((10_000, 50_000, 100_000), (2_000, 5_000, 10_000)),
    "expert": ((10_000, 20_000), (500, 1_000)),
    "mlp": ((5_000, 10_000), (1_000, 2_000)),
    "deep": ((5_000, 10_000), (250, 500)),
}


SAME_AND_SOURCES = SAME_RUN + ("data.sources",)  # a reused run read the same files


@dataclass
class Plan:
    model: str
    recipe: recipes.Recipe
    test_at: tuple[int, ...]


@dataclass
class Outcome:
    plan: Plan
    run_dir: Path
    accuracy_at: dict[int, float]  # step -> test accuracy


def plans(models: list[str], quick: bool = False) -> list[Plan]:
    out = []
    for m in models:
        spec = get_model(m)
        base = recipes.get_recipe(spec.recipe) if spec.recipe else replace(
            recipes.RECIPES["tutorial"], name=m)
        base = replace(base, model=m)
        full = (base.steps // 2, base.steps)
        fast = tuple(max(1, s // 10) for s in full)
        full, fast = TEST_STEPS.get(m, (full, fast))
        test_at = fast if quick else full
        out.append(Plan(m, replace(base, steps=max(test_at)), test_at))
    return out


def finished_result(run_dir: str | os.PathLike) -> RunResult | None:
    """The result of a run that finished (result.json), or None."""
    r = rundir.read_result(run_dir)
    if r is None:
        return None
    return RunResult(Path(run_dir), r["step"], r["test_accuracy"], r["stopped"],
                     rundir.read_metrics(run_dir))


def _sources_resolved(config: dict) -> dict:
    """config with its data sources as real paths: the same files named from another
    working directory, or once absolute and now relative, are the same sources."""
    data = config.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        return config
    resolved = [os.path.realpath(s) if isinstance(s, str) else s for s in data["sources"]]
    return {**config, "data": {**data, "sources": resolved}}


def train_or_reuse(
    data: MaistData, cfg: TrainConfig, run_dir: str | os.PathLike,
    log: Callable[[str], None] = print, quiet: bool = True,
) -> RunResult:
    """Train into run_dir, or return the finished run already there if it trained alike
    (config.differences, steps and data sources included); an unfinished one (no
    result.json) is resumed."""
    run_dir = Path(run_dir)
    done = finished_result(run_dir)
    if done is not None:
        diff = differences(_sources_resolved(rundir.read_config(run_dir)),
                           _sources_resolved(record(cfg, data)), keys=SAME_AND_SOURCES, steps=True)
        if diff:
            raise RunError(f"{run_dir}: holds a finished run with other options "
                           f"({'; '.join(diff)}); remove it or pick another directory",
                           params=("root",))
        log(f"reusing {run_dir} (test accuracy {done.test_accuracy:.4f})")
        return done
    resume = bool(checkpoints.steps(run_dir))
    return train(data, cfg, run_dir, resume=resume, log=log, quiet=quiet)


def run(data: MaistData, todo: list[Plan], root: str | Path, seed: int = 0, log=print) -> list[Outcome]:
    outcomes = []
    for p in todo:
        cfg = TrainConfig(p.recipe, seed=seed, eval_every=max(p.test_at), test_at=p.test_at,
                          checkpoint_every=max(p.test_at))
        run_dir = Path(root) / f"{p.model}-{p.recipe.name}-{p.recipe.steps}-seed{seed}"
        log(f"{p.model}: recipe {p.recipe.name}, {p.recipe.steps} steps -> {run_dir}")
        result = train_or_reuse(data, cfg, run_dir, log=log)
        acc = {r["step"]: r["accuracy"] for r in result.history if r["split"] == "test"}
        outcomes.append(Outcome(p, run_dir, {s: acc[s] for s in p.test_at if s in acc}))
    return outcomes


def markdown(outcomes: list[Outcome]) -> str:
    lines = ["| model | recipe | step | blog (real ETL) | MAIST |", "|---|---|---|---|---|"]
    for o in outcomes:
        for step in o.plan.test_at:
            blog = o.plan.recipe.blog.get(step)
            mine = o.accuracy_at.get(step)
            lines.append(f"| {o.plan.model} | {o.plan.recipe.name} | {step:,} | "
                         f"{'' if blog is None else f'{blog:.2%}'} | "
                         f"{'' if mine is None else f'{mine:.2%}'} |")
    return "\n".join(lines)


def to_json(outcomes: list[Outcome], data: MaistData) -> dict:
    return {"data": data.meta, "runs": [
        {"model": o.plan.model, "recipe": o.plan.recipe.name, "run_dir": str(o.run_dir),
         "test_accuracy": {str(k): v for k, v in o.accuracy_at.items()},
         "blog": {str(k): v for k, v in o.plan.recipe.blog.items()}} for o in outcomes]}
