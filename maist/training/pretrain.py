"""Synthetic pretraining: a model for real ETL starts from one of MAIST's own writers.

    check_mode(mode, resume, init_from)     a pretraining that cannot be, refused early
    wanted(mode, recipe, real)              -> bool    whether a run starts pretrained
    recipe_for(mode, classes, model)        -> Recipe  what the synthetic model trains with
    pretrained(synthetic, recipe, options, root) -> Path   trained once, reused after

On real ETL9G's writer split, the `maist` recipe does better started from the `make demo`
model than from fresh weights, nothing else changed (docs/README.md has the figures,
measured on AIST's files). So a `maist` run on real ETL files starts from a synthetic
model of its class set, made with
the class set's recipe (demo for hiragana71) the first time and reused after: a finished
run with the same settings, first where train_maist.py would have put it
(runs/demo-expert, what `make demo` makes), else runs/pretrained-SET-RECIPE-MODEL. Its
synthetic writers stay in the mix: AUTO_MIX of each real batch replays them (training.run
asks it of the automatic start, unless the request says its own replay).
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..data.dataset import MaistData
from ..errors import MaistError, TrainingError
from ..nets.models import get_model
from ..signals import Terminated
from .config import TrainConfig
from .recipes import RECIPES, Recipe, get_recipe, with_overrides
from .reuse import differences_from, train_or_reuse

log = logging.getLogger(__name__)

AUTO_RECIPES = ("maist",)  # the recipes that start pretrained on real ETL unless told not to
# ... and mix this share of synthetic writers into each real batch, unless told otherwise
# (--replay): better than the start alone at the same steps (benchmarks/maist_start.py).
AUTO_MIX = 0.3
MODES = ("auto", "none")  # or a recipe's name (or .json file): pretrain with it, always
SEED = 0  # one synthetic model per class set and recipe, whatever the real run's seed


def check_mode(mode: str, resume: bool = False, init_from: str | None = None) -> None:
    """A TrainingError for a pretraining recipe that does not exist, or for a pretraining
    asked for beside a start of the run's own (resume, init_from)."""
    if mode in MODES:
        return
    try:
        get_recipe(mode)
    except MaistError as e:
        raise TrainingError(f"pretraining: {e}", params=("pretrain",)) from None
    if resume or init_from:
        other = "resuming continues a run" if resume else "init_from names another start"
        raise TrainingError(f"pretraining with {mode} starts a run from a synthetic model; "
                            f"{other}: ask for one of them",
                            params=("pretrain", "resume" if resume else "init_from"))


def wanted(mode: str, recipe: Recipe, real: bool) -> bool:
    """'auto': a recipe of AUTO_RECIPES on real ETL files; 'none': never; a recipe: always."""
    if mode == "none":
        return False
    if mode == "auto":
        return real and recipe.name in AUTO_RECIPES
    return True


def recipe_for(mode: str, classes: str, model: str) -> Recipe:
    """The synthetic model's recipe: the one named, or the class set's own (kana142:
    kana, kana142+kyoiku1026: kanji), else demo; with the real run's model, whose
    weights it must hand over."""
    if mode == "auto":
        own = [r for r in RECIPES.values() if r.classes == classes and r.model == "expert"]
        recipe = own[0] if own else RECIPES["demo"]
    else:
        recipe = get_recipe(mode)
    return recipe if recipe.model == model else with_overrides(recipe, model=model)


def run_names(recipe: Recipe, classes: str, options: dict) -> list[str]:
    """Where a finished synthetic model is looked for: train_maist.py's own name for the
    recipe (runs/demo-expert), then pretraining's own (with the model's options that are
    not its defaults: -conv164 for conv1=64)."""
    defaults = get_model(recipe.model).check_options(recipe.model_options)
    sizes = "".join(f"-{k}{v}" for k, v in sorted(options.items()) if defaults.get(k) != v)
    safe = "".join(c if c.isalnum() or c in "+-_" else "_" for c in classes)
    return [f"{recipe.name}-{recipe.model}", f"pretrained-{safe}-{recipe.name}-{recipe.model}{sizes}"]


def pretrained(synthetic: MaistData, recipe: Recipe, model_options: dict, root: Path,
               devices: tuple[str, ...] = ()) -> Path:
    """The run directory of a synthetic model trained with `recipe` on `synthetic`: a
    finished one with the same settings if there is one, else trained now (an unfinished
    one is resumed). It takes the real run's sizes (`model_options`), not its start
    (the expert's init): the real run starts from this model's weights, which the synthetic
    recipe's own start made. `devices`: the real run's towers, which train it too."""
    start = get_model(recipe.model).start
    sizes = {k: v for k, v in model_options.items() if k not in start}
    cfg = TrainConfig(recipe, seed=SEED, model_options=sizes, devices=devices)
    first, own = (Path(root) / name for name in run_names(recipe, synthetic.meta.get(
        "classes") or "", cfg.model_options))
    for found in (first, own):
        if differences_from(found, cfg, synthetic) == []:
            log.info(f"pretrained: {found}, a finished synthetic model of these settings")
            return found
    log.info(f"pretraining on synthetic writers first: recipe {recipe.name}, {recipe.steps} steps "
             f"-> {own} (once; a later run reuses it)")
    try:
        train_or_reuse(synthetic, cfg, own, quiet=True)
    except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM, saved: the real run is not started
        said = "terminated" if isinstance(e, Terminated) else "interrupted"
        log.info(f"pretraining {own} {said}; the same command continues it (or pretraining none "
                 f"starts from fresh weights)")
        raise
    return own
