"""What a trained model gets right and wrong: confusion, per-class accuracy, prediction.

    confusion(y, pred, C)           -> (C, C) counts, rows true, columns predicted
    most_confused(cm, classes, k)   -> [(a, b, count)] the pairs mixed up most, both ways
    per_class_accuracy(cm)          -> (C,)
    read_picture(path)              -> greyscale array of any PNG or JPEG
    top_k(probabilities, classes)   -> [(char, p)] best first
    load_touch_hiragana(path)       -> (images, chars) the real touch-screen drawings

Pure numpy; nothing here imports TensorFlow.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .dataset import REPO_ROOT

TOUCH_HIRAGANA = REPO_ROOT.parent / "shared" / "data" / "touch-hiragana" / "touch_hiragana_300.npz"


class PictureError(ValueError):
    """An image file that cannot be read as a picture of a character."""


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    totals = cm.sum(axis=1)
    return np.divide(np.diag(cm), totals, out=np.full(len(cm), np.nan), where=totals > 0)


def most_confused(cm: np.ndarray, classes, k: int = 10) -> list[tuple[str, str, int]]:
    """The k unordered pairs (a, b) with the most a-for-b plus b-for-a mistakes."""
    sym = cm + cm.T
    np.fill_diagonal(sym, 0)
    iu = np.triu_indices(len(cm), 1)
    order = np.argsort(-sym[iu], kind="stable")[:k]
    return [(classes[iu[0][i]], classes[iu[1][i]], int(sym[iu][i])) for i in order if sym[iu][i] > 0]


def top_k(probabilities: np.ndarray, classes, k: int = 5) -> list[tuple[str, float]]:
    order = np.argsort(-probabilities)[:k]
    return [(classes[i], float(probabilities[i])) for i in order]


def read_picture(path: str | os.PathLike) -> np.ndarray:
    """A PNG or JPEG, any size or mode, as a greyscale float array (0..255)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.mode in ("RGBA", "LA") or "transparency" in im.info:
                # Transparent pixels are paper: composite on white.
                rgba = im.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                im = Image.alpha_composite(white, rgba)
            return np.asarray(im.convert("L"), dtype=np.float32)
    except FileNotFoundError:
        raise PictureError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError) as e:
        raise PictureError(f"{path}: not a readable image ({e}); give a PNG or JPEG") from None


def load_touch_hiragana(path: str | os.PathLike | None = None) -> tuple[np.ndarray, list[str]]:
    """The 745 touch-screen drawings (CC BY 4.0, Mediotaku/Kanji-Recognition)."""
    path = Path(path) if path else TOUCH_HIRAGANA
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: the touch-hiragana set is not here (it sits in ../shared beside a "
            f"MAIST checkout in CI); pass its path"
        )
    with np.load(path, allow_pickle=False) as z:
        return z["images"], [str(c) for c in z["chars"]]
