"""A trained run, examined: its data, its scores and its figures (scripts and notebooks).

    data_for_run(run_dir, path=None)        -> MaistData the run was trained on
    evaluate_run(restored, data)            -> RunReport  test accuracy, confusion, pairs
    touch_accuracy(restored, touch_path)    -> {n, accuracy, top5, told} on real touch drawings
    run_figures(run_dir, data)              -> {name: Figure}  filters, activations, curves ...
    save_figures(figures, out_dir)          -> [paths]

What to draw comes from the model's registry entry (nets.models.MODELS): its filters, its
activation layers, its weight images. Models come through inference.restore, the
inference graph; nothing here trains.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import sources
from ..data.classes import CLASS_SETS, DEFAULT_CLASSES, ClassSet
from ..data.dataset import MaistData
from ..errors import DatasetError, RunError
from ..inference.restore import Restored, restore, within_scripts
from ..runs import checkpoints
from ..runs.metrics import read_metrics
from ..runs.records import read as read_record
from ..training.recipes import Recipe
from . import metrics, visualize


@dataclass
class RunReport:
    step: int
    accuracy: float
    loss: float
    per_class: dict[str, float]
    confusion: np.ndarray
    most_confused: list[tuple[str, str, int]]
    predictions: np.ndarray

    def lines(self) -> list[str]:
        worst = sorted(self.per_class.items(), key=lambda kv: kv[1])[:5]
        return [
            f"test accuracy {self.accuracy:.4f} (loss {self.loss:.4f}) at step {self.step}",
            "hardest classes: " + ", ".join(f"{c} {a:.2f}" for c, a in worst),
            "most confused pairs: " + ", ".join(f"{a}/{b} {n}" for a, b, n in self.most_confused),
        ]


def data_for_run(run_dir: str | os.PathLike, path: str | os.PathLike | None = None) -> MaistData:
    """The data a run was trained on (through the cache), or `path` built the same way."""
    record = read_record(run_dir)
    source = path or record.data_path
    if source is None:
        raise DatasetError(f"{run_dir}: its config.json does not say where its data is; give "
                           f"the data", params=("data",))
    # Other data is read as the run reads pictures (its classes and preprocessing); its
    # split is its own.
    options = record.data_options()
    if path is not None:
        options.pop("split", None)
    return sources.load(source, seed=record.data_seed, **options)


def evaluate_run(restored: Restored, data: MaistData, split: str = "test") -> RunReport:
    s = data.split(split)
    if tuple(restored.classes) != tuple(data.classes):
        raise RunError(
            f"{restored.run_dir} was trained on {len(restored.classes)} classes "
            f"({''.join(restored.classes[:5])}...), the data has {len(data.classes)} "
            f"({''.join(data.classes[:5])}...); evaluate it on data of its own classes")
    if len(s) == 0:
        raise DatasetError(f"the {split} split of this data is empty: there is nothing to "
                           f"score; give data with a {split} split", params=("data",))
    logits = restored.logits(s.x)
    predictions = logits.argmax(axis=1)
    cm = metrics.confusion(s.y, predictions, data.num_classes)
    per_class = dict(zip(data.classes, metrics.per_class_accuracy(cm).tolist()))
    return RunReport(restored.step, float((predictions == s.y).mean()),
                     metrics.cross_entropy(logits, s.y), per_class, cm,
                     metrics.most_confused(cm, data.classes, 10), predictions)


def pick_example(data: MaistData, char: str | None = None) -> int:
    """Index in the test split of a character to show (the class set's example, as the
    blog showed one), or of the first test image."""
    if char is None:
        known = CLASS_SETS.get(data.meta.get("classes", ""))
        char = known.example if known is not None and known.chars == data.classes else None
    if char in data.classes:
        hits = np.flatnonzero(data.test.y == data.classes.index(char))
        if len(hits):
            return int(hits[0])
    return 0


def model_figures(r: Restored, x: np.ndarray, label: str, tag: str) -> dict:
    """The figures the run's model offers (its ModelSpec) for one image x (1, 784)."""
    spec, figs = r.spec, {}
    names = [n for n in (spec.filters, spec.weights) if n] + list(spec.activations)
    values = dict(zip(names, r.run(names, x)))
    if spec.filters:
        figs[f"filters_{tag}"] = visualize.filter_grid(values[spec.filters],
                                                       f"{spec.filters} at {tag}")
    if spec.weights:
        w = values[spec.weights]
        titles = r.classes if spec.weights_per_class else range(w.shape[1])
        figs[f"weights_{tag}"] = visualize.weight_images(w, titles, title=f"{spec.weights} at {tag}")
    for name in spec.activations:
        figs[f"{name}_{tag}"] = visualize.activation_grid(values[name][0],
                                                          f"{name} of {label} at {tag}")
    return figs


def run_figures(run_dir: str | os.PathLike, data: MaistData, n_grid: int = 40,
                seed: int = 0) -> dict:
    """Every figure of a run: at its first checkpoint beside the last where the model
    allows. A figure is labelled with the step it really shows."""
    run_dir = Path(run_dir)
    if len(data.test) == 0:
        raise DatasetError("the data's test split is empty: there is nothing to draw the "
                           "predictions of; give data with a test split", params=("data",))
    figs = {}
    steps = checkpoints.steps(run_dir)
    last = restore(run_dir)
    first = None
    try:
        first = restore(run_dir, steps[0]) if steps and steps[0] != last.step else None
        recipe = Recipe.from_dict(last.record.recipe)
        figs["curves"] = visualize.learning_curves(read_metrics(run_dir), recipe,
                                                   f"{recipe.name} ({recipe.model})")
        i = pick_example(data)
        label = data.classes[data.test.y[i]]
        for r in (first, last):
            if r is not None:
                figs.update(model_figures(r, data.test.x[i : i + 1], label, f"step{r.step}"))
        rep = evaluate_run(last, data)
        pick = np.random.default_rng(seed).choice(len(data.test), min(n_grid, len(data.test)),
                                                  replace=False)
        figs["predictions"] = visualize.prediction_grid(
            data.test.x[pick], rep.predictions[pick], data.test.y[pick], data.classes,
            title=f"test images: wrong ones as predicted(true); accuracy {rep.accuracy:.3f}")
        figs["confusion"] = visualize.confusion_figure(rep.confusion, data.classes)
    finally:
        last.close()
        if first is not None:
            first.close()
    return figs


def save_figures(figures: dict, out_dir: str | os.PathLike, dpi: int = 100) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in figures.items():
        path = out / f"{name}.png"
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        paths.append(path)
    return paths


# The touch drawers held out from every design choice (docs/README.md, "held out"):
# chosen once among the set's drawers by a fixed seed, so that every figure of them,
# README's and each benchmark's, is of the same four people.
HELD_OUT_SEED, HELD_OUT_DRAWERS = 2026, 4


def held_out(drawers: np.ndarray) -> np.ndarray:
    """(n,) bool: which drawings are by the held-out drawers, of each drawing's drawer."""
    held = np.random.default_rng(HELD_OUT_SEED).choice(np.unique(drawers), HELD_OUT_DRAWERS,
                                                       replace=False)
    return np.isin(drawers, held)


def touch_split(path: str | os.PathLike, preprocess: str, classes=None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """(x, y, held, held drawers) of the touch drawings of `classes` (a ClassSet; None:
    hiragana71): the inputs, labels, the held-out mask (held_out) and who was held out."""
    touch = sources.load_touch(path)
    class_set = classes or CLASS_SETS[DEFAULT_CLASSES]
    x, y, kept = sources.from_images(touch.images, touch.chars, class_set, preprocess)
    held = held_out(touch.drawers)[kept]
    return x, y, held, sorted(np.unique(touch.drawers[kept][held]).tolist())


def touch_accuracy(restored: Restored, path: str | os.PathLike) -> dict:
    """Accuracy on the real touch-screen drawings whose class the run knows: all of them,
    the tuning drawers' and the held-out drawers' (held_out). `told` is top-1 when the
    model is told the drawings are hiragana (restore.within_scripts): for a model of
    several scripts, what is left once look-alikes across scripts (a hiragana ri, a
    katakana RI) are out of the question. A run that reads no hiragana: n is 0 and the
    figures None."""
    touch = sources.load_touch(path)
    class_set = ClassSet("run", tuple(restored.classes))
    if not any(c in class_set for c in touch.chars):
        return {"n": 0, "accuracy": None, "top5": None, "told": None, "tuning": None,
                "held_out": None}
    x, y, held, _ = touch_split(path, restored.preprocess, class_set)
    probs = restored.probabilities(x)
    told = within_scripts(probs, restored.classes, "hiragana")
    return {"n": int(len(y)), "accuracy": metrics.top_k_accuracy(probs, y, 1),
            "top5": metrics.top_k_accuracy(probs, y, 5),
            "told": metrics.top_k_accuracy(told, y, 1),
            "tuning": metrics.top_k_accuracy(probs[~held], y[~held], 1),
            "held_out": metrics.top_k_accuracy(probs[held], y[held], 1)}
