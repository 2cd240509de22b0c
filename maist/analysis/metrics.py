"""What a trained model gets right and wrong: pure metrics on labels and probabilities.

    confusion(y, pred, C)           -> (C, C) counts, rows true, columns predicted
    top_confusions(cm, classes, k)  -> [(true, read as, count)], the commonest mistakes
    most_confused(cm, classes, k)   -> [(a, b, count)] the pairs mixed up most, both ways
    per_class_accuracy(cm)          -> (C,)
    top_k_accuracy(probs, y, k)     -> share of rows whose label is among the k best
    cross_entropy(logits, y)        -> mean loss of the true classes

Pure numpy: nothing here reads files or imports TensorFlow.
"""

from __future__ import annotations

import numpy as np


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


def top_confusions(cm: np.ndarray, classes, k: int = 30) -> list[tuple[str, str, int]]:
    """The k commonest mistakes, one direction each: (true, read as, count), most first.
    What a confusion matrix shows, in a form that stays legible at a thousand classes."""
    off = np.array(cm, dtype=np.int64, copy=True)
    np.fill_diagonal(off, 0)
    flat = np.argsort(-off, axis=None, kind="stable")[:k]
    rows, cols = np.unravel_index(flat, off.shape)
    return [(classes[r], classes[c], int(off[r, c])) for r, c in zip(rows, cols) if off[r, c] > 0]


def top_k_accuracy(probabilities: np.ndarray, y: np.ndarray, k: int = 5) -> float:
    """Share of rows whose true class is among the k most probable (k=1: accuracy)."""
    if len(y) == 0:
        return float("nan")
    top = np.argsort(-probabilities, axis=1)[:, :k]
    return float((top == np.asarray(y)[:, None]).any(axis=1).mean())


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of the true classes, from logits (log-sum-exp, in float64: no
    underflow where a probability rounds to 0)."""
    if len(y) == 0:
        return float("nan")
    z = np.asarray(logits, np.float64)
    top = z.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(z - top).sum(axis=1))
    return float((log_norm - z[np.arange(len(y)), np.asarray(y)]).mean())
