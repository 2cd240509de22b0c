"""A trained run, examined: its data, its scores and its figures (scripts and notebooks).

    data_for_run(run_dir, path=None)        -> MaistData the run was trained on
    evaluate_run(restored, data)            -> RunReport  test accuracy, confusion, pairs
    predict_pictures(restored, pictures)    -> [[(char, p)] * 5]
    run_figures(run_dir, data)              -> {name: Figure}  filters, activations, curves ...
    save_figures(figures, out_dir)          -> [paths]
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import dataset, evaluate, visualize
from .preprocess import from_picture
from .schedule import Recipe
from .train import Restored, checkpoint_steps, read_metrics, restore

ACTIVATION_LAYERS = ("h_conv1", "h_relu1", "h_pool1", "h_conv2", "h_relu2", "h_pool2")


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
    config = json.loads((Path(run_dir) / "config.json").read_text())
    meta = config.get("data", {})
    source = path or meta.get("path")
    options = {k: meta[k] for k in ("preprocess", "split", "classes", "seed") if k in meta}
    return dataset.load(source, log=log, **options)


def evaluate_run(restored: Restored, data: dataset.MaistData, split: str = "test") -> RunReport:
    s = data.split(split)
    if tuple(restored.classes) != tuple(data.classes):
        raise dataset.DatasetError(
            f"{restored.run_dir} was trained on {len(restored.classes)} classes "
            f"({''.join(restored.classes[:5])}...), the data has {len(data.classes)}"
        )
    ev = restored.evaluate(s.x, s.y)
    cm = evaluate.confusion(s.y, ev.predictions, data.num_classes)
    per_class = dict(zip(data.classes, evaluate.per_class_accuracy(cm).tolist()))
    return RunReport(restored.step, ev.accuracy, ev.loss, per_class, cm,
                     evaluate.most_confused(cm, data.classes, 10), ev.predictions)


def predict_pictures(restored: Restored, pictures: list[np.ndarray], k: int = 5):
    """Top-k (character, probability) for each picture, preprocessed as the run's data."""
    x = np.stack([from_picture(p, restored.preprocess) for p in pictures]).reshape(-1, 784)
    probs = restored.probabilities(x)
    return [evaluate.top_k(p, restored.classes, k) for p in probs], x


def pick_example(data: dataset.MaistData, char: str = "ず") -> int:
    """Index in the test split of the blog's example character (or the first image)."""
    if char in data.classes:
        hits = np.flatnonzero(data.test.y == data.classes.index(char))
        if len(hits):
            return int(hits[0])
    return 0


def _recipe(config: dict) -> Recipe:
    return Recipe.from_dict(config["recipe"])


def run_figures(run_dir: str | os.PathLike, data: dataset.MaistData, n_grid: int = 40,
                seed: int = 0) -> dict:
    """Every figure of a run: at step 0 beside the last checkpoint where the model allows."""
    run_dir = Path(run_dir)
    figs = {}
    steps = checkpoint_steps(run_dir)
    last = restore(run_dir)
    first = restore(run_dir, steps[0]) if steps and steps[0] != last.step else None
    try:
        config = last.config
        recipe = _recipe(config)
        figs["curves"] = visualize.learning_curves(read_metrics(run_dir), recipe,
                                                   f"{recipe.name} ({recipe.model})")
        i = pick_example(data)
        x = data.test.x[i : i + 1]
        for tag, r in (("step0", first), (f"step{last.step}", last)):
            if r is None:
                continue
            if recipe.model == "expert":
                w, *maps = r.run(["W_conv1", *ACTIVATION_LAYERS], x)
                figs[f"filters_{tag}"] = visualize.filter_grid(w, f"W_conv1 at {tag}")
                for name, m in zip(ACTIVATION_LAYERS, maps):
                    figs[f"{name}_{tag}"] = visualize.activation_grid(
                        m[0], f"{name} of {data.classes[data.test.y[i]]} at {tag}")
            elif recipe.model in ("beginner", "mlp"):
                name = "W" if recipe.model == "beginner" else "W_hidden"
                (w,) = r.run([name], x)
                titles = data.classes if recipe.model == "beginner" else range(w.shape[1])
                figs[f"weights_{tag}"] = visualize.weight_images(w, titles, title=f"{name} at {tag}")
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


def etl_sheet(source: str | os.PathLike, writers: int = 6, classes=None):
    """Contact sheet of the first `writers` writers x all classes, decoded by maist.etl."""
    from . import etl, kana

    class_set = classes or kana.hiragana71
    files = etl.find_etl_files(source)
    sel = etl.select(files[: max(1, -(-writers // 4))], class_set)
    ids = np.unique(sel.writers)[:writers]
    grid = np.zeros((len(ids), len(class_set), 127, 128), np.uint8)
    for r, w in enumerate(ids):
        for img, label in zip(sel.images[sel.writers == w], sel.labels[sel.writers == w]):
            grid[r, label] = img
    return visualize.contact_sheet(grid / 15.0, [f"writer {w}" for w in ids], class_set.chars,
                                   title=f"{Path(source).name}: raw 128x127 fields, {len(ids)} writers")


def touch_sheet(path=None, per_class: int = 6, classes=None):
    """The touch-screen drawings on the same kind of sheet (their classes only)."""
    from . import kana

    class_set = classes or kana.hiragana71
    images, chars = evaluate.load_touch_hiragana(path)
    present = [c for c in class_set.chars if c in chars]
    grid = np.zeros((per_class, len(present), *images.shape[1:]), np.float32)
    for col, c in enumerate(present):
        idx = [i for i, ch in enumerate(chars) if ch == c][:per_class]
        for row, i in enumerate(idx):
            grid[row, col] = 1.0 - images[i] / 255.0  # ink bright, as ETL's
    return visualize.contact_sheet(grid, [f"#{r}" for r in range(per_class)], present,
                                   title="touch-hiragana (CC BY 4.0): real drawings, ink inverted")


def touch_accuracy(restored: Restored, path=None) -> dict:
    """Accuracy on the real touch-screen drawings whose class the run knows."""
    from . import kana

    images, chars = evaluate.load_touch_hiragana(path)
    class_set = kana.ClassSet("run", tuple(restored.classes))
    x, y, kept = dataset.from_images(images, chars, class_set, restored.preprocess)
    probs = restored.probabilities(x)
    top5 = np.argsort(-probs, axis=1)[:, :5]
    return {"n": int(len(y)), "accuracy": float((probs.argmax(1) == y).mean()),
            "top5": float(np.mean([t in row for t, row in zip(y, top5)]))}
