"""Pictures of what the networks learned. Every function returns a matplotlib Figure.

    filter_grid(W_conv1)                        the 32 learned 5x5 filters (w_step0, w_step10000)
    activation_grid(maps, title)                one image's maps after conv, relu or pool
    weight_images(W, titles)                    beginner / MLP weights as 28x28 images
    learning_curves(history, recipe)            accuracy and loss against step, tables beneath
    prediction_grid(images, pred, true, classes) mistakes as predicted(true) on red
    confusion_figure(cm, classes)               71x71 confusion matrix; at 1000+ classes,
                                                the commonest mistakes (top_confusions_figure)
    contact_sheet(images, row_labels, col_labels)  a grid of characters, e.g. writers x classes
    writer_sheet / touch_sheet                  the contact sheets of docs/ (data from dataset)
    accuracy_vs_step(curves)                    one line per model

Japanese labels use IPAex Gothic from the matplotlib-fontja package, so they render as
glyphs on a machine with no Japanese system font. Nothing here trains.
"""

from __future__ import annotations

import math

import matplotlib_fontja  # noqa: F401  (sets the Japanese font family)
import numpy as np
from matplotlib import font_manager
from matplotlib.figure import Figure  # pyplot-free: no global state, any backend

from ..geometry import IMAGE_SIZE
from . import metrics

JAPANESE_FONT = "IPAexGothic"
WRONG = "#d62728"


def font_path() -> str:
    return font_manager.findfont(JAPANESE_FONT, fallback_to_default=False)


def missing_glyphs(chars) -> list[str]:
    """Characters the Japanese font has no glyph for (empty when all render)."""
    from fontTools.ttLib import TTFont

    cmap = TTFont(font_path()).getBestCmap()
    return [c for c in chars if ord(c) not in cmap]


def _grid(n: int, cols: int | None = None, size: float = 1.0, title: str | None = None):
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(cols * size, rows * size + (0.4 if title else 0)))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.remove()
    if title:
        fig.suptitle(title)
    return fig, axes[:n]


def filter_grid(w: np.ndarray, title: str = "W_conv1") -> Figure:
    """(5, 5, 1, N) first-layer filters, one panel each, on a shared grey scale."""
    filters = np.asarray(w)[:, :, 0, :]
    lim = np.abs(filters).max() or 1.0
    fig, axes = _grid(filters.shape[-1], cols=8, size=0.9, title=title)
    for i, ax in enumerate(axes):
        ax.imshow(filters[:, :, i], cmap="gray", vmin=-lim, vmax=lim)
    return fig


def activation_grid(maps: np.ndarray, title: str, cols: int = 8) -> Figure:
    """(H, W, N) maps of one image, one panel per channel, each on its own scale."""
    maps = np.asarray(maps)
    fig, axes = _grid(maps.shape[-1], cols=cols, size=0.9, title=title)
    for i, ax in enumerate(axes):
        ax.imshow(maps[:, :, i], cmap="gray")
    return fig


def weight_images(w: np.ndarray, titles, cols: int = 12, title: str | None = None) -> Figure:
    """(784, K) weights -> K 28x28 images, red positive and blue negative."""
    w = np.asarray(w)
    lim = np.abs(w).max() or 1.0
    fig, axes = _grid(w.shape[1], cols=min(cols, w.shape[1]), size=0.9, title=title)
    for i, ax in enumerate(axes):
        ax.imshow(w[:, i].reshape(IMAGE_SIZE, IMAGE_SIZE), cmap="bwr", vmin=-lim, vmax=lim)
        ax.set_title(str(titles[i]), fontsize=9)
    return fig


def learning_curves(history: list[dict], recipe=None, title: str | None = None) -> Figure:
    """Accuracy and loss against step for train (batch) and val, the tables beneath."""
    fig = Figure(figsize=(8, 7.5))
    ax_acc, ax_loss, ax_tab = fig.subplots(3, 1, sharex=True,
                                           gridspec_kw={"height_ratios": [3, 3, 2]})
    for split, style in (("train", "-"), ("val", "o-")):
        rows = [r for r in history if r["split"] == split]
        if rows:
            steps = [r["step"] for r in rows]
            ax_acc.plot(steps, [r["accuracy"] for r in rows], style, label=split, markersize=3)
            ax_loss.plot(steps, [r["loss"] for r in rows], style, label=split, markersize=3)
    ax_acc.set_ylabel("accuracy")
    ax_acc.legend()
    ax_loss.set_ylabel("loss")
    ax_loss.set_yscale("log")
    last = max((r["step"] for r in history), default=1)
    steps = np.arange(0, max(last, 1) + 1, max(1, last // 400))
    if recipe is not None:
        lr = [recipe.learning_rate(s) for s in steps]
        keep = [recipe.keep_prob(s) for s in steps]
    else:  # from the logged rows
        rows = [r for r in history if r["split"] == "train"]
        steps = [r["step"] for r in rows]
        lr, keep = [r["learning_rate"] for r in rows], [r["keep_prob"] for r in rows]
    ax_tab.step(steps, lr, where="post", color="tab:purple", label="learning rate")
    if min(lr, default=0) > 0:
        ax_tab.set_yscale("log")
    ax_tab.set_ylabel("learning rate", color="tab:purple")
    ax_keep = ax_tab.twinx()
    ax_keep.step(steps, keep, where="post", color="tab:green")
    ax_keep.set_ylim(0, 1.05)
    ax_keep.set_ylabel("keep_prob", color="tab:green")
    ax_tab.set_xlabel("step")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def prediction_grid(images, pred, true, classes, cols: int = 10, title: str | None = None) -> Figure:
    """Images titled with the predicted character; mistakes as predicted(true) on red."""
    images = np.asarray(images).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    fig, axes = _grid(len(images), cols=cols, size=1.0, title=title)
    for ax, img, p, t in zip(axes, images, pred, true):
        wrong = p != t
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        label = f"{classes[p]}({classes[t]})" if wrong else classes[p]
        ax.set_title(label, fontsize=10, color="white" if wrong else "black",
                     backgroundcolor=WRONG if wrong else "none")
        if wrong:
            for side in ax.spines.values():
                side.set_edgecolor(WRONG)
                side.set_linewidth(3)
    return fig


FULL_MATRIX_UP_TO = 80  # classes: beyond, a matrix's labels cannot be read


def confusion_figure(cm: np.ndarray, classes, title: str = "confusion (rows: true)",
                     top: int = 30) -> Figure:
    """The whole confusion matrix up to FULL_MATRIX_UP_TO classes (71x71 for hiragana);
    beyond, the `top` commonest mistakes and the matrix of the classes they involve."""
    if len(classes) > FULL_MATRIX_UP_TO:
        return top_confusions_figure(cm, classes, top, title)
    fig = Figure(figsize=(11, 10))
    ax = fig.subplots()
    _matrix(fig, ax, cm, classes, fontsize=7)
    ax.set_title(title)
    return fig


def _matrix(fig: Figure, ax, cm: np.ndarray, classes, fontsize: float) -> None:
    im = ax.imshow(np.log1p(cm), cmap="viridis")
    ticks = np.arange(len(classes))
    ax.set_xticks(ticks, labels=list(classes), fontsize=fontsize)
    ax.set_yticks(ticks, labels=list(classes), fontsize=fontsize)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, label="log(1 + count)", shrink=0.8)


def top_confusions_figure(cm: np.ndarray, classes, top: int = 30,
                          title: str = "confusion (rows: true)") -> Figure:
    """Left: the `top` commonest mistakes as bars, 'true → read as'. Right: the confusion
    matrix cut down to the classes those mistakes involve (at most 2 x top of them)."""
    pairs = metrics.top_confusions(cm, classes, top)
    fig = Figure(figsize=(14, max(5.0, 0.28 * len(pairs) + 1.5)))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    if not pairs:
        left.text(0.5, 0.5, "no mistakes", ha="center", va="center")
        left.set_axis_off()
        right.set_axis_off()
    else:
        counts = [n for _, _, n in pairs]
        y = np.arange(len(pairs))
        left.barh(y, counts, color=WRONG)
        left.set_yticks(y, labels=[f"{a} → {b}" for a, b, _ in pairs], fontsize=9)
        left.invert_yaxis()
        left.set_xlabel("test images read as the second")
        involved = list(dict.fromkeys(c for a, b, _ in pairs for c in (a, b)))
        index = {c: i for i, c in enumerate(classes)}
        idx = np.array([index[c] for c in involved])
        _matrix(fig, right, np.asarray(cm)[np.ix_(idx, idx)], involved,
                fontsize=max(5.0, 9 - len(involved) / 12))
    total = int(np.asarray(cm).sum() - np.trace(cm))
    shown = sum(n for _, _, n in pairs)
    fig.suptitle(f"{title}: the {len(pairs)} commonest kinds of mistake, {shown} of the "
                 f"{total} mistakes among {len(classes)} classes")
    return fig


def contact_sheet(images: np.ndarray, row_labels=None, col_labels=None, title: str | None = None,
                  size: float = 0.45) -> Figure:
    """(rows, cols, H, W) images as one grid."""
    images = np.asarray(images)
    rows, cols = images.shape[:2]
    fig = Figure(figsize=(cols * size + 0.6, rows * size + (0.6 if title else 0.3)))
    axes = fig.subplots(rows, cols, squeeze=False, gridspec_kw={"wspace": 0.02, "hspace": 0.02})
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(images[r, c], cmap="gray", vmin=0, vmax=max(1.0, float(images.max())))
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0 and col_labels is not None:
                ax.set_title(str(col_labels[c]), fontsize=7)
            if c == 0 and row_labels is not None:
                ax.set_ylabel(str(row_labels[r]), fontsize=7, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    return fig


def version_sheet(grid: np.ndarray, chars, version: int) -> Figure:
    """A synthetic set's writers at 28x28 (sheets.synthetic_grid), a character a row."""
    writers = grid.shape[0]
    return contact_sheet(grid.transpose(1, 0, 2, 3), list(chars),
                         [f"w{w}" for w in range(writers)], size=0.6,
                         title=f"generator version {version}: writers 0-{writers - 1} at 28x28")


def writer_sheet(grid: np.ndarray, writer_ids, chars, source: str, max_level: int) -> Figure:
    """Raw ETL fields, writers x classes (dataset.writer_grid), as they are on disk."""
    h, w = grid.shape[-2:]
    return contact_sheet(grid / float(max_level), [f"writer {i}" for i in writer_ids], chars,
                         title=f"{source}: raw {w}x{h} fields, {len(writer_ids)} writers")


def touch_sheet(grid: np.ndarray, chars) -> Figure:
    """The touch-screen drawings (dataset.touch_grid), ink inverted to match ETL's."""
    return contact_sheet(grid, [f"#{r}" for r in range(len(grid))], chars,
                         title="touch-hiragana (CC BY 4.0): real drawings, ink inverted")


def accuracy_vs_step(curves: dict[str, list[tuple[int, float]]], blog: dict | None = None,
                     title: str = "test accuracy against step") -> Figure:
    """One line per model; the blog's figures as crosses where given."""
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for name, points in curves.items():
        if points:
            s, a = zip(*sorted(points))
            ax.plot(s, a, "o-", label=f"MAIST {name}")
    for name, points in (blog or {}).items():
        if points:
            s, a = zip(*sorted(points.items()))
            ax.plot(s, a, "x", markersize=10, mew=2, label=f"blog {name}")
    ax.set_xlabel("step")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title)
    return fig


def embedding_figure(points: np.ndarray, labels: np.ndarray, classes, title: str = "",
                     size: float = 9.0) -> Figure:
    """2-D points (PCA of a hidden layer), each drawn as its class's character in a colour
    of its own, so that clusters read as characters."""
    from matplotlib import colormaps

    fig = Figure(figsize=(size, size))
    ax = fig.subplots()
    colours = colormaps["hsv"](np.linspace(0, 0.9, max(len(classes), 1)))
    for (x, y), k in zip(points, labels):
        ax.text(x, y, classes[k], color=colours[k], fontsize=8, ha="center", va="center",
                family=JAPANESE_FONT)
    pad = 0.05 * (points.max(axis=0) - points.min(axis=0) + 1e-9)
    ax.set_xlim(points[:, 0].min() - pad[0], points[:, 0].max() + pad[0])
    ax.set_ylim(points[:, 1].min() - pad[1], points[:, 1].max() + pad[1])
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return fig
