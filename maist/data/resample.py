"""Resizing as matrix products: PIL's antialiased weights, over a whole chunk at once.

    resize(images, out_h, out_w, kind)   (n, H, W) -> (n, out_h, out_w), bilinear or box
    resize_matrix(n_in, n_out, kind)     the (n_out, n_in) weights, rows summing to 1
    box_bins(n_in, n_out)                whole-pixel bins where a box shrink is sums

out = A @ img @ B.T with A (out_h, H) and B (out_w, W); both matrices are bands, applied
block by block.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.clip(1.0 - np.abs(x), 0.0, None)


def _box(x: np.ndarray) -> np.ndarray:
    return ((x > -0.5) & (x <= 0.5)).astype(np.float64)


_FILTERS = {"bilinear": (_triangle, 1.0), "box": (_box, 0.5)}  # filter, support in pixels


@lru_cache(maxsize=4096)  # crop sizes x output sizes: bounded, a server reads any picture
def resize_matrix(n_in: int, n_out: int, kind: str = "bilinear") -> np.ndarray:
    """(n_out, n_in) weights of PIL's antialiased resize along one axis.

    PIL's recipe: reducing widens the filter by the scale, so every input pixel
    contributes (the antialiasing); rows are normalised to sum to 1. "bilinear" is a
    triangle, "box" averages the pixels whose centres fall in an output pixel's span.
    """
    filt, support = _FILTERS[kind]
    scale = n_in / n_out
    filterscale = max(scale, 1.0)
    support = support * filterscale
    m = np.zeros((n_out, n_in), dtype=np.float64)
    for i in range(n_out):
        center = (i + 0.5) * scale
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        w = filt((np.arange(lo, hi) - center + 0.5) / filterscale)
        m[i, lo:hi] = w / w.sum()
    return m.astype(np.float32)


@lru_cache(maxsize=None)
def _periodic_block(n_in: int, n_out: int, kind: str):
    """(block (p_in, p_out), k) when resize_matrix is k copies of one block on its
    diagonal, else None. 128 -> 28 under "box" is 4 blocks of 32 -> 7 (28/128 = 7/32):
    the product then costs a quarter of the dense one."""
    m = resize_matrix(n_in, n_out, kind)
    g = np.gcd(n_in, n_out)
    for k in sorted((d for d in range(2, g + 1) if g % d == 0), reverse=True):
        p_in, p_out = n_in // k, n_out // k
        block = m[:p_out, :p_in]
        tiled = np.kron(np.eye(k, dtype=np.float32), block)
        if np.array_equal(tiled, m):
            return np.ascontiguousarray(block.T), k
    return None


def _resize_last(x: np.ndarray, n_out: int, kind: str, scale: float = 1.0) -> np.ndarray:
    """(N, n_in) float32 -> (N, n_out): each row resized, as one or two matrix products."""
    n, n_in = x.shape
    periodic = _periodic_block(n_in, n_out, kind)
    if periodic is not None:
        block, k = periodic
        return (x.reshape(n * k, n_in // k) @ (block * np.float32(scale))).reshape(n, n_out)
    return x @ (resize_matrix(n_in, n_out, kind).T * np.float32(scale))


def _resize_rows_of(cols: np.ndarray, n: int, h: int, out_h: int, kind: str) -> np.ndarray:
    """(n*h, w') column-resized rows -> (n, out_h, w'): the second axis, by one product."""
    w2 = cols.shape[1]
    stacked = cols.reshape(n, h, w2).transpose(1, 0, 2).reshape(h, n * w2)  # (h, n*w')
    rows = resize_matrix(h, out_h, kind) @ stacked  # (out_h, n*w')
    return np.ascontiguousarray(rows.reshape(out_h, n, w2).transpose(1, 0, 2))


def resize(images: np.ndarray, out_h: int, out_w: int, kind: str = "bilinear",
           scale: float = 1.0) -> np.ndarray:
    """(n, H, W) -> (n, out_h, out_w) float32, antialiased, times `scale`.

    Columns first, over the whole chunk as one (n*H, W) matrix, then rows: a couple of
    large matrix products instead of 2n small ones.
    """
    n, h, w = images.shape
    x = np.asarray(images).reshape(n * h, w).astype(np.float32, copy=False)
    return _resize_rows_of(_resize_last(x, out_w, kind, scale), n, h, out_h, kind)


@lru_cache(maxsize=None)
def box_bins(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(owner (n_in,), count (n_out,)) when PIL's BOX reduction from n_in to n_out gives
    every input pixel to one output pixel, in order: owner[x] is the output that pixel x
    belongs to, count[j] how many pixels output j averages. None otherwise (enlarging)."""
    m = resize_matrix(n_in, n_out, "box")
    nonzero = m != 0
    owner = nonzero.argmax(axis=0)
    count = nonzero.sum(axis=1)
    if (nonzero.sum(axis=0) != 1).any() or (np.diff(owner) < 0).any() or (count == 0).any():
        return None
    return owner.astype(np.int64), count.astype(np.int64)


