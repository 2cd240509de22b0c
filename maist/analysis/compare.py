"""Beginner against expert (and the seeds' mlp and deep) on the same data and split.

    plans(models, quick)            -> [Plan]  recipe, steps and the steps to test at
    run(data, plans, root)          -> [Outcome]  trains, or reuses finished runs
    train_or_reuse(data, cfg, dir)  -> RunResult  (training.reuse) a finished run is reused
    markdown(outcomes)              -> the table with the blog's figures beside MAIST's

The blog tested the beginner at 10k, 50k and 100k steps and the expert at 10k and 20k.
`quick` keeps the same recipes on a budget of a few minutes on 2 CPU cores. A model that
is only registered (nets.models.register) is compared with its own recipe, tested at half
and all of its steps (a tenth of those with `quick`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from ..data.dataset import MaistData
from ..nets.models import get_model
from ..training import recipes
from ..training.config import TrainConfig
from ..training.reuse import train_or_reuse

log = logging.getLogger(__name__)

__all__ = ["Plan", "Outcome", "plans", "run", "markdown", "train_or_reuse"]

# The quick comparison's test steps, a few minutes on 2 CPU cores; the full one tests where
# the blog did (blog_steps), else at half and all of the recipe's steps.
QUICK_STEPS = {"beginner": (2_000, 5_000, 10_000), "expert": (500, 1_000),
               "mlp": (1_000, 2_000), "deep": (250, 500)}


def blog_steps(model: str) -> tuple[int, ...]:
    """The steps the blog tested `model` at: those of its recipes' figures (Recipe.blog)."""
    return tuple(sorted({step for r in recipes.RECIPES.values() if r.model == model
                         for step in r.blog}))


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
        base = recipes.with_overrides(base, model=m)
        full = blog_steps(m) or (base.steps // 2, base.steps)
        fast = QUICK_STEPS.get(m) or tuple(max(1, s // 10) for s in full)
        test_at = fast if quick else full
        out.append(Plan(m, replace(base, steps=max(test_at)), test_at))
    return out


def run(data: MaistData, todo: list[Plan], root: str | Path, seed: int = 0) -> list[Outcome]:
    outcomes = []
    for p in todo:
        cfg = TrainConfig(p.recipe, seed=seed, eval_every=max(p.test_at), test_at=p.test_at,
                          checkpoint_every=max(p.test_at))
        run_dir = Path(root) / f"{p.model}-{p.recipe.name}-{p.recipe.steps}-seed{seed}"
        log.info(f"{p.model}: recipe {p.recipe.name}, {p.recipe.steps} steps -> {run_dir}")
        result = train_or_reuse(data, cfg, run_dir)
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
