"""The compiled kernels behind a user's picture on its way to ink (data.pictures).

    lookup(pic, table, out)               out[y, x] = table[pic[y, x]]: 8-bit greys -> ink
    stroke_sums(ink, level) -> (area, edge, y0, y1, x0, x1)
                                          a mask's pixels, its edge pixels, and its box
    disc_max(ink, r, half, out)           grey dilation by a disc, the edges mirrored

Each is a loop over a few hundred pixels a side, which numpy spells as a dozen whole-array
steps, each a full-size temporary; here each pixel is read once or a few times, and the
loops run without the GIL (nogil), so the draw page's requests preprocess side by side on
every core. Compiled eagerly for their signatures, and cached beside this file, as
maist.data._box is.
"""

from __future__ import annotations

import numba
import numpy as np

_GREYS = numba.types.Array(numba.uint8, 2, "A", readonly=True)  # read_picture's (read-only)
_INK = numba.types.Array(numba.float32, 2, "A", readonly=True)
_TABLE = numba.types.Array(numba.float32, 1, "C", readonly=True)
_OUT = numba.float32[:, ::1]
_HALF = numba.types.Array(numba.int64, 1, "C", readonly=True)


@numba.njit(numba.void(_GREYS, _TABLE, _OUT), nogil=True, cache=True)
def lookup(pic, table, out):
    """out = table[pic]: each 8-bit grey's value, (H, W)."""
    h, w = pic.shape
    for y in range(h):
        for x in range(w):
            out[y, x] = table[pic[y, x]]


@numba.njit(numba.types.UniTuple(numba.int64, 6)(_INK, numba.float32), nogil=True, cache=True)
def stroke_sums(ink, level):
    """Of the mask ink > level: (its pixels, its edge pixels, y0, y1, x0, x1 of its box, end
    exclusive). An edge pixel is one with a 4-neighbour outside the mask, the outside of
    the picture counting as outside (a binary erosion by a plus, the edge what it takes
    away). No pixel over `level`: all six are 0."""
    h, w = ink.shape
    area = edge = 0
    y0, y1, x0, x1 = h, 0, w, 0
    for y in range(h):
        for x in range(w):
            if not ink[y, x] > level:
                continue
            area += 1
            y0, y1, x0, x1 = min(y0, y), max(y1, y + 1), min(x0, x), max(x1, x + 1)
            inner = (y > 0 and ink[y - 1, x] > level and y < h - 1 and ink[y + 1, x] > level
                     and x > 0 and ink[y, x - 1] > level and x < w - 1
                     and ink[y, x + 1] > level)
            if not inner:
                edge += 1
    if area == 0:
        return 0, 0, 0, 0, 0, 0
    return area, edge, y0, y1, x0, x1


@numba.njit(nogil=True)
def _mirror(i, n):
    """Index i of a line of n pixels mirrored at its ends (d c b a | a b c d | d c b a), as
    np.pad's "symmetric" and ndimage's "reflect" modes, as often as it takes."""
    while i < 0 or i >= n:
        i = -i - 1 if i < 0 else 2 * n - i - 1
    return i


@numba.njit(numba.void(_INK, numba.int64, _HALF, _OUT), nogil=True, cache=True)
def disc_max(ink, r, half, out):
    """out = the maximum of ink over a disc of radius r around each pixel, (H, W), the
    picture mirrored at its edges. half[d] (d = 0..r): the disc's half-width d rows from
    its centre. The disc is a stack of row segments: the running maxima along each row,
    one per half-width, widened a pixel at a time (2 comparisons a pixel each); then
    each output pixel takes the maximum of its 2r+1 rows' segments."""
    h, w = ink.shape
    widths = r + 1  # half-widths 0..r
    # rows[k, j, x]: the maximum of padded row j (picture row j - r, mirrored) over
    # columns x - k .. x + k (mirrored), for k = 0..r
    rows = np.empty((widths, h + 2 * r, w), np.float32)
    line = np.empty(w + 2 * r, np.float32)
    for j in range(h + 2 * r):
        src = _mirror(j - r, h)
        for x in range(w + 2 * r):
            line[x] = ink[src, _mirror(x - r, w)]
        for x in range(w):
            rows[0, j, x] = line[x + r]
        for k in range(1, widths):
            for x in range(w):
                rows[k, j, x] = max(rows[k - 1, j, x], line[x + r - k], line[x + r + k])
    for y in range(h):
        for x in range(w):
            out[y, x] = rows[half[0], y + r, x]
        for d in range(1, r + 1):
            k = half[d]
            for x in range(w):
                out[y, x] = max(out[y, x], rows[k, y + r - d, x], rows[k, y + r + d, x])


_MASK = numba.types.Array(numba.boolean, 2, "A", readonly=True)
_LABELS = numba.types.Array(numba.int32, 2, "C", readonly=True)
_KEEP = numba.types.Array(numba.boolean, 1, "C", readonly=True)


@numba.njit(numba.types.Tuple((numba.int32[:, ::1], numba.int64[::1], numba.int64[:, ::1]))(_MASK),
            nogil=True, cache=True)
def pieces(mask):
    """The 8-connected pieces of a mask: (labels (H, W) int32, 0 outside and 1..n in the
    raster order of each piece's first pixel, as ndimage.label numbers them; areas (n,);
    boxes (n, 4) as y0, y1, x0, x1, end exclusive). One pass joins each pixel to the
    pieces of its four neighbours already seen (union-find), a second names the roots."""
    h, w = mask.shape
    parent = np.empty(h * w, np.int64)  # pixel index -> a pixel of its piece, -1 no ink

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]  # halve the path as it is walked
            i = parent[i]
        return i

    for y in range(h):
        for x in range(w):
            i = y * w + x
            if not mask[y, x]:
                parent[i] = -1
                continue
            parent[i] = i
            for dy, dx in ((-1, -1), (-1, 0), (-1, 1), (0, -1)):
                yy, xx = y + dy, x + dx
                if 0 <= yy and 0 <= xx < w and mask[yy, xx]:
                    a, b = root(i), root(yy * w + xx)
                    if a != b:
                        parent[max(a, b)] = min(a, b)  # the earlier pixel stays the root
    labels = np.zeros((h, w), np.int32)
    name = np.zeros(h * w, np.int32)  # a root's label, 0 until its first pixel is met
    n = 0
    for i in range(h * w):
        if parent[i] >= 0:
            r = root(i)
            if name[r] == 0:
                n += 1
                name[r] = n
            labels[i // w, i % w] = name[r]
    areas = np.zeros(n, np.int64)
    boxes = np.empty((n, 4), np.int64)
    boxes[:, 0] = h
    boxes[:, 1] = 0
    boxes[:, 2] = w
    boxes[:, 3] = 0
    for y in range(h):
        for x in range(w):
            k = labels[y, x] - 1
            if k >= 0:
                areas[k] += 1
                boxes[k, 0] = min(boxes[k, 0], y)
                boxes[k, 1] = max(boxes[k, 1], y + 1)
                boxes[k, 2] = min(boxes[k, 2], x)
                boxes[k, 3] = max(boxes[k, 3], x + 1)
    return labels, areas, boxes


@numba.njit(numba.void(_LABELS, _KEEP, _INK, numba.boolean[:, ::1]), nogil=True, cache=True)
def kept_grown(labels, keep, field, out):
    """out = the pixels of the kept pieces (keep[label]), grown by a plus once, where the
    field has any ink (field > 0): a kept stroke with its faint antialiased edge."""
    h, w = labels.shape
    for y in range(h):
        for x in range(w):
            out[y, x] = field[y, x] > 0 and (
                keep[labels[y, x]] or (y > 0 and keep[labels[y - 1, x]])
                or (y < h - 1 and keep[labels[y + 1, x]])
                or (x > 0 and keep[labels[y, x - 1]]) or (x < w - 1 and keep[labels[y, x + 1]]))
