"""Test-time augmentation: each image read as it is and as a few moved copies, the
class probabilities averaged over the copies.

    TTA["shift"]                  itself, and moved one pixel up, down, left and right
    views(x, name)                (n, 784) -> (k, n, 784), the k copies of every image
    reading(probabilities, name)  a model's x -> probabilities, read through the views

benchmarks/tta.py compares them on the touch drawings and the synthetic test writers;
docs/README.md has its table and why 'shift' is the one offered first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import PictureError
from ..geometry import IMAGE_PIXELS, IMAGE_SIZE


@dataclass(frozen=True)
class View:
    """One copy of an image: scaled about its centre, turned, moved (pixels)."""

    scale: float = 1.0
    degrees: float = 0.0
    down: float = 0.0
    right: float = 0.0


ITSELF = View()
TTA: dict[str, tuple[View, ...]] = {
    "none": (ITSELF,),
    "shift": (ITSELF, View(down=1), View(down=-1), View(right=1), View(right=-1)),
    "scale": (ITSELF, View(scale=0.9), View(scale=1.1)),
    "rotate": (ITSELF, View(degrees=-8), View(degrees=8)),
}


def check(name: str) -> str:
    if name not in TTA:
        raise PictureError(f"unknown test-time augmentation {name!r}; choose one of "
                           f"{', '.join(TTA)}", params=("tta",))
    return name


def views(x: np.ndarray, name: str = "shift") -> np.ndarray:
    """(n, 784) or (n, 28, 28) -> (k, n, 784): the copies TTA[name] reads."""
    from ..data.augment import moved  # numba's bilinear loop: loaded when a view is made

    images = np.asarray(x, np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    return np.stack([(images if v == ITSELF else
                      moved(images, v.scale, v.degrees, v.down, v.right)).reshape(-1, IMAGE_PIXELS)
                     for v in TTA[check(name)]])


def reading(probabilities: Callable[[np.ndarray], np.ndarray], name: str = "none"
            ) -> Callable[[np.ndarray], np.ndarray]:
    """`probabilities` (n, 784) -> (n, C), read as the mean over TTA[name]'s views; 'none'
    is `probabilities` itself."""
    if check(name) == "none":
        return probabilities

    def averaged(x: np.ndarray) -> np.ndarray:
        v = views(x, name)  # (k, n, 784): one call of k*n rows, in the model's batches
        k, n = v.shape[:2]
        return probabilities(v.reshape(k * n, IMAGE_PIXELS)).reshape(k, n, -1).mean(axis=0)

    return averaged
