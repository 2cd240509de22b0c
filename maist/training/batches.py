"""A step's batch as a feed: what every process that trains a step makes, from (seed, step).

    feed_dict(g, split, step, recipe, seed, aug) -> ({x, y_}, n)
    one_hot(labels, C)

The one-device loop, the towers and every worker of a cluster make the same batch of a
step, so that they train the same run.
"""

from __future__ import annotations

import numpy as np

from ..data.augment import Augment, augment, rng_for
from ..data.dataset import Split
from ..nets import graph as G
from .recipes import Recipe


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[labels]



def feed_dict(g: G.Graph, split: Split, step: int, recipe: Recipe, seed: int = 0,
              aug: Augment | None = None) -> tuple[dict, int]:
    """The batch of `step` as a feed (images and one-hot labels), and its size. With
    `aug`, the images are augmented by a generator of (seed, step) alone."""
    idx = split.batch_indices(step, recipe.batch_size, recipe.sampling)
    c = g.inputs.y_.shape[1]
    x = split.take(idx)
    if aug:
        x = augment(x, rng_for(seed, step), aug)
    return {g.inputs.x: x, g.inputs.y_: one_hot(split.y[idx], c)}, len(idx)
