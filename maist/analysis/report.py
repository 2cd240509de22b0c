"""A trained run, examined: its data, its scores and its figures (scripts and notebooks).

    data_for_run(run_dir, path=None)        -> MaistData the run was trained on
    evaluate_run(restored, data)            -> RunReport  test accuracy, confusion, pairs
    touch_accuracy(restored, touch_path)    -> {n, accuracy, top5} on real touch drawings
    run_figures(run_dir, data)              -> {name: Figure}  filters, activations, curves ...
    save_figures(figures, out_dir)          -> [paths]

What to draw comes from the model's registry entry (maist.model.MODELS): its filters, its
activation layers, its weight images. Restoring is maist.runs'; nothing here trains.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import classes as kana
from ..data import dataset
from ..errors import RunError
from ..training import rundir as runs
from ..training.rundir import Restored
from ..training.schedule import Recipe
from . import metrics as evaluate
from . import visualize


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


def data_for_run(run_dir: str | os.PathLike, path: str | os.PathLike | None = None,
                 log=print) -> dataset.MaistData:
    """The data a run was trained on (through the cache), or `path` built the same way."""
    config = runs.read_config(run_dir)
    meta = config.get("data", {})
    source = path or meta.get("path")
    options = {k: meta[k] for k in ("preprocess", "split", "classes", "seed") if k in meta}
    return dataset.load(source, log=log, **options)


def evaluate_run(restored: Restored, data: dataset.MaistData, split: str = "test") -> RunReport:
    s = data.split(split)
    if tuple(restored.classes) != tuple(data.classes):
        raise RunError(
            f"{restored.run_dir} was trained on {len(restored.classes)} classes "
            f"({''.join(restored.classes[:5])}...), the data has {len(data.classes)} "
            f"({''.join(data.classes[:5])}...); evaluate it on data of its own classes"
        )
    ev = restored.evaluate(s.x, s.y)
    cm = evaluate.confusion(s.y, ev.predictions, data.num_classes)
    per_class = dict(zip(data.classes, evaluate.per_class_accuracy(cm).tolist()))
    return RunReport(restored.step, ev.accuracy, ev.loss, per_class, cm,
                     evaluate.most_confused(cm, data.classes, 10), ev.predictions)


def pick_example(data: dataset.MaistData, char: str = "ず") -> int:
    """Index in the test split of the blog's example character (or the first image)."""
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


def run_figures(run_dir: str | os.PathLike, data: dataset.MaistData, n_grid: int = 40,
                seed: int = 0) -> dict:
    """Every figure of a run: at step 0 beside the last checkpoint where the model allows."""
    run_dir = Path(run_dir)
    figs = {}
    steps = runs.checkpoint_steps(run_dir)
    last = runs.restore(run_dir)
    first = None
    try:
        first = runs.restore(run_dir, steps[0]) if steps and steps[0] != last.step else None
        recipe = Recipe.from_dict(last.config["recipe"])
        figs["curves"] = visualize.learning_curves(runs.read_metrics(run_dir), recipe,
                                                   f"{recipe.name} ({recipe.model})")
        i = pick_example(data)
        label = data.classes[data.test.y[i]] if len(data.test) else "?"
        for tag, r in (("step0", first), (f"step{last.step}", last)):
            if r is not None:
                figs.update(model_figures(r, data.test.x[i : i + 1], label, tag))
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


def touch_accuracy(restored: Restored, path: str | os.PathLike) -> dict:
    """Accuracy on the real touch-screen drawings whose class the run knows."""
    images, chars = dataset.load_touch_hiragana(path)
    class_set = kana.ClassSet("run", tuple(restored.classes))
    x, y, kept = dataset.from_images(images, chars, class_set, restored.preprocess)
    probs = restored.probabilities(x)
    return {"n": int(len(y)), "accuracy": evaluate.top_k_accuracy(probs, y, 1),
            "top5": evaluate.top_k_accuracy(probs, y, 5)}
