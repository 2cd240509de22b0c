"""Beginner against expert (and the seeds' mlp and deep) on the same data and split.

    plans(models, quick)            -> [Plan]  recipe, steps and the steps to test at
    run(data, plans, root)          -> [Outcome]  trains, or reuses finished runs
    markdown(outcomes)              -> the table with the blog's figures beside MAIST's

The blog tested the beginner at 10k, 50k and 100k steps and the expert at 10k and 20k.
`quick` keeps the same recipes on a budget of a few minutes on 2 CPU cores.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from . import schedule
from .dataset import MaistData
from .train import TrainConfig, train_or_reuse

# model -> (recipe, full test steps, quick test steps)
PLANS = {
    "beginner": ("beginner", (10_000, 50_000, 100_000), (2_000, 5_000, 10_000)),
    "expert": ("tutorial", (10_000, 20_000), (500, 1_000)),
    "mlp": ("mlp", (5_000, 10_000), (1_000, 2_000)),
    "deep": ("deep", (5_000, 10_000), (250, 500)),
}


@dataclass
class Plan:
    model: str
    recipe: schedule.Recipe
    test_at: tuple[int, ...]


@dataclass
class Outcome:
    plan: Plan
    run_dir: Path
    accuracy_at: dict[int, float]  # step -> test accuracy


def plans(models: list[str], quick: bool = False) -> list[Plan]:
    out = []
    for m in models:
        if m not in PLANS:
            raise ValueError(f"unknown model {m!r}; choose from {', '.join(PLANS)}")
        name, full, fast = PLANS[m]
        test_at = fast if quick else full
        recipe = replace(schedule.RECIPES[name], steps=max(test_at))
        out.append(Plan(m, recipe, test_at))
    return out


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
