"""A run's hidden layer for TensorBoard's embedding projector, and a still picture of it.

    write(run_dir, data, n=2000) -> Path     RUN/events/ again (runs.projector), of n
                                             test images of a restored run
    tsne(features) -> (n, 2)                 the still picture's coordinates (exact t-SNE
                                             in numpy: no scikit-learn to install)

As TF1's tutorials showed an MNIST network's hidden layer: the test images' activations of
the model's last hidden layer (its ModelSpec's `features`: h_fc1 for the expert, 1024-d),
each with its picture in the sprite and its true and predicted character in the metadata.
Training writes the folder at the end of every run, of a few hundred test images; this
writes it again of more.
"""

from __future__ import annotations

import os

import numpy as np

from ..data.dataset import MaistData
from ..errors import DatasetError
from ..inference.restore import restore
from ..runs import projector as runs_projector
from ..runs.projector import Embedding

STILL = 1000  # points in the still picture (exact t-SNE is quadratic in them)


def pca(features: np.ndarray, dims: int = 2) -> np.ndarray:
    centred = features - features.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:dims].T


def _affinities(d2: np.ndarray, perplexity: float, tol: float = 1e-5) -> np.ndarray:
    """Row-wise Gaussian affinities whose entropy gives `perplexity` (binary search)."""
    n = len(d2)
    target = np.log(perplexity)
    p = np.zeros((n, n))
    for i in range(n):
        lo, hi, beta = 0.0, np.inf, 1.0
        row = np.delete(d2[i], i)
        for _ in range(64):
            e = np.exp(-(row - row.min()) * beta)
            s = e.sum()
            h = np.log(s) + beta * np.sum((row - row.min()) * e) / s
            if abs(h - target) < tol:
                break
            if h > target:
                lo, beta = beta, beta * 2 if hi == np.inf else (beta + hi) / 2
            else:
                hi, beta = beta, (beta + lo) / 2
        p[i, np.arange(n) != i] = e / s
    return p


def tsne(features: np.ndarray, perplexity: float = 30.0, iterations: int = 500,
         seed: int = 0) -> np.ndarray:
    """t-SNE (van der Maaten and Hinton, 2008) to 2-D, exact: for the still picture of a
    few hundred to a couple of thousand points, in numpy, after PCA to 50 dimensions."""
    x = pca(features.astype(np.float64), min(50, features.shape[1], len(features)))
    n = len(x)
    sq = (x * x).sum(axis=1)
    p = _affinities(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0), min(perplexity, (n - 1) / 3))
    p = np.maximum((p + p.T) / (2 * n), 1e-12)
    rng = np.random.default_rng(seed)
    y = rng.normal(0, 1e-4, (n, 2))
    velocity, gains = np.zeros_like(y), np.ones_like(y)
    for it in range(iterations):
        exaggeration = 12.0 if it < 100 else 1.0
        sy = (y * y).sum(axis=1)
        num = 1.0 / (1.0 + np.maximum(sy[:, None] + sy[None, :] - 2 * y @ y.T, 0))
        np.fill_diagonal(num, 0.0)
        q = np.maximum(num / num.sum(), 1e-12)
        w = (exaggeration * p - q) * num
        grad = 4.0 * (np.diag(w.sum(axis=1)) - w) @ y
        gains = np.where(np.sign(grad) != np.sign(velocity), gains + 0.2, gains * 0.8).clip(0.01)
        velocity = (0.5 if it < 250 else 0.8) * velocity - 200.0 * gains * grad
        y = y + velocity
        y -= y.mean(axis=0)
    return y


def embedding(run_dir: str | os.PathLike, data: MaistData, n: int = 2000,
              seed: int = 0) -> Embedding:
    """n test images of `data` as the restored run's last hidden layer sees them."""
    test = data.test
    if len(test) == 0:
        raise DatasetError("the data's test split is empty: there is nothing to project",
                           params=("data",))
    pick = np.sort(np.random.default_rng(seed).choice(len(test), min(n, len(test)), replace=False))
    with restore(run_dir) as r:
        if tuple(r.classes) != tuple(data.classes):
            raise DatasetError(f"{run_dir} reads {len(r.classes)} classes, the data has "
                               f"{len(data.classes)}; project it on its own data", params=("data",))
        layer = r.spec.features or "logits"
        x = test.x[pick]
        features = np.concatenate([r.run([layer], x[i : i + 500])[0].reshape(len(x[i : i + 500]), -1)
                                   for i in range(0, len(x), 500)])
        predicted = r.probabilities(x).argmax(axis=1)
        step = r.step
    return Embedding(features, x, test.y[pick], predicted, test.writers[pick],
                     tuple(data.classes), layer, step)


def write(run_dir: str | os.PathLike, data: MaistData, n: int = 2000, seed: int = 0):
    """The projector's files of n test images in RUN/events/, made anew; returns the folder, the still
    picture's 2-D t-SNE points, their true classes and the layer's name."""
    e = embedding(run_dir, data, n, seed)
    out = runs_projector.write(run_dir, e)
    keep = np.sort(np.random.default_rng(seed).choice(len(e.true), min(STILL, len(e.true)),
                                                      replace=False))
    return out, tsne(e.features[keep], seed=seed), e.true[keep], e.layer
