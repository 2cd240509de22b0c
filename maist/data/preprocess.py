"""From a scanned field (ETL's 128x127, or any picture's ink) to 28x28 like MNIST.

    blog(images, max_level)      the whole field resized to 28x28, antialiased (the blog's way)
    centered(images, max_level)  MNIST's recipe: clean, crop, 20 px longest side, centre of mass
                                 (box=24: centered24, the default)
    PREPROCESSORS[name]          the registry: centered24, centered, blog (fields, user
                                 pictures, packed)

All return float32 in [0, 1], ink bright on dark, resized by data.resample. `blog` on
packed 4-bit ETL records skips the decoding: BOX shrinking is whole-number sums over
bins, which a compiled kernel (maist.data._box, numba) adds straight from the nibbles.
A user's picture comes in through data.pictures.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from ..errors import PictureError
from ..geometry import IMAGE_SIZE
from .resample import box_bins, resize

SIZE = IMAGE_SIZE  # every preprocessor's output side
BOX = 20  # MNIST fits the ink's longer side into 20 px, leaving a 4 px margin
# centered24's: 1.2x the side, 1.44x the pixels, for what 20 px leaves at 1-2 px (a voicing
# mark's ring or ticks, ho's top bar); a 2 px margin is still left for the 5x5 kernels.
LARGE_BOX = 24
INK_THRESHOLD = 0.2  # of full ink; ETL's scanner noise sits at 1-2 of 15 levels
FIELD_FILL = 0.55  # how much of a 128-px ETL field a writer's character spans, roughly
# Line weight: a stroke's width as a share of the character's longer side (a size-free
# measure, unlike augmentation's pen width in pixels). 0.052 is the median of the synthetic
# set (0.038-0.074 for 80% of it); pen-drawn ETL scans are as bold. Thin-lined pictures (a
# drawing app's 0.031) are thickened to it before they meet a model trained on either.
LINE_WEIGHT = 0.05


BLOG_FILTER = "box"  # area averaging: antialiased, and 128 -> 28 splits into 4 blocks


def blog(images: np.ndarray, max_level: int) -> np.ndarray:
    """The blog's preprocessing: the whole field (128x127 in ETL9G) resized to 28x28.

    PIL's BOX filter (what `Image.resize(..., Image.BOX)` gives), antialiased.
    """
    return resize(images, SIZE, SIZE, BLOG_FILTER, scale=1.0 / max_level)


def blog_packed(packed: np.ndarray, height: int, width: int, max_level: int) -> np.ndarray:
    """`blog` straight from packed 4-bit records, (n, H*W/2) uint8 -> (n, 28, 28).

    `packed` may be a strided view into whole records (recs["image"] of a memory-mapped
    file): its bytes are read in place, once. Shrinking with BOX is whole-number bin sums,
    which maist._box adds up straight from the nibbles (compiled; see there). Equal to
    blog(decode_images(...)) up to float32 rounding.
    """
    packed = np.asarray(packed)
    n, row_bytes = packed.shape
    rows, cols = box_bins(height, SIZE), box_bins(width, SIZE)
    # maist._box keeps a row bin's column sums in bytes: up to 17 rows of 15 (ETL: 5)
    fits = rows is not None and rows[1].max() * max_level <= 255
    if not fits or cols is None or width % 2 or row_bytes != height * width // 2:
        from .etl import unpack_4bit

        return blog(unpack_4bit(packed, height, width), max_level)
    out = np.empty((n, SIZE, SIZE), dtype=np.float32)
    if n == 0:
        return out
    if packed.strides[1] != 1 or packed.strides[0] < row_bytes:  # not rows in memory order
        packed = np.ascontiguousarray(packed)
    from . import _box  # numba: imported (and compiled, once) only when used

    # All n images as one flat byte run, image i at i * stride: a view, no copy.
    stride = packed.strides[0]
    flat = np.lib.stride_tricks.as_strided(packed, shape=((n - 1) * stride + row_bytes,),
                                           strides=(1,), writeable=False)
    row_bin, row_count = rows
    col_end = np.cumsum(cols[1])
    inv = (1.0 / (row_count[:, None] * cols[1][None, :] * float(max_level))).astype(np.float32)
    high = np.empty((SIZE, width // 2), dtype=np.uint8)
    low = np.empty_like(high)
    _box.box_sum_packed(flat, n, stride, row_bin, col_end, inv, high, low, out)
    return out


# A sheet neighbour's stray piece (ETL fields only): small, in an edge's outer fifth, and
# apart from the character, as no stroke of it is.
STRAY_SHARE = 0.1  # of the field's ink at most: a tick, a stroke's end (a thin ha: 5-7%)
STRAY_APART = 6  # pixels of field from the character's ink at least: two pens' widths
# A piece where a voicing mark goes (up and to the right of the body's centre) is the
# character's own unless it is further off than a writer puts a mark.
STRAY_FAR = 16


def clean_ink(field: np.ndarray, neighbours: bool = False) -> np.ndarray:
    """Boolean mask of a field's character ink, scanner noise and neighbours removed.

    Real ETL scans carry speckle, and their tight cells let strokes of the characters
    written in the neighbouring cells reach in at the edges. A connected piece of ink is
    dropped when it is tiny (under 1% of the ink), or when it touches an edge and stays in
    the outer fifth of the field along that edge.

    `neighbours` (an ETL field, cut from a sheet written box by box) also drops a
    neighbour's ink that does not reach the edge: a small piece in an edge's outer fifth,
    apart from the character's other ink (stray_pieces).
    """
    h, w = field.shape
    ink = field > INK_THRESHOLD
    if not ink.any():
        return ink
    # The mask lies within the ink's box grown by the pixel that kept strokes grow by: the
    # work is done there alone (a drawing's box is a fraction of its canvas).
    y0, y1, x0, x1 = ink_box(ink)
    y0, y1, x0, x1 = max(y0 - 1, 0), min(y1 + 1, h), max(x0 - 1, 0), min(x1 + 1, w)
    mask = np.zeros((h, w), dtype=bool)
    mask[y0:y1, x0:x1] = _clean_window(field[y0:y1, x0:x1], ink[y0:y1, x0:x1], (y0, x0),
                                       (h, w), neighbours)
    return mask


def _clean_window(field: np.ndarray, ink: np.ndarray, origin: tuple[int, int],
                  shape: tuple[int, int], neighbours: bool) -> np.ndarray:
    """clean_ink on a window of a field (h, w = `shape`) at `origin` holding all its ink:
    its pieces are the field's, and the edge rules are the field's edges'."""
    from . import _ink  # numba, compiled once

    h, w = shape
    # The window's 8-connected pieces, and each one's bounding box in the window, (n, 4) as
    # y0, y1, x0, x1 (end exclusive)
    labels, areas, in_window = _ink.pieces(ink)
    min_area = max(3, 0.01 * areas.sum())
    oy, ox = origin
    y0, y1, x0, x1 = (in_window + [oy, oy, ox, ox]).T  # the boxes in the field
    fragment = (((y0 == 0) & (y1 <= h // 5)) | ((y1 == h) & (y0 >= h - h // 5))
                | ((x0 == 0) & (x1 <= w // 5)) | ((x1 == w) & (x0 >= w - w // 5)))
    kept = (areas >= min_area) & ~fragment
    if neighbours and kept.sum() > 1:
        kept &= ~stray_pieces(labels, in_window, areas, kept, (h, w), origin)
    keep = np.concatenate([[False], kept])
    if not keep.any():  # everything looked like noise: trust the largest piece
        keep[1 + int(np.argmax(areas))] = True
    # Grow by one pixel so the faint antialiased edge of each kept stroke stays.
    mask = np.empty(ink.shape, dtype=bool)
    _ink.kept_grown(labels, keep, np.asarray(field, np.float32), mask)
    return mask


def stray_pieces(labels: np.ndarray, boxes: np.ndarray, areas: np.ndarray, kept: np.ndarray,
                 shape: tuple[int, int], origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Which of a field's pieces (labels 1..n; boxes (n, 4) as y0, y1, x0, x1) are a sheet
    neighbour's stray ink: (n,) bool, among the `kept` ones. `labels` and `boxes` may be of
    a window of the field at `origin` that holds all its ink; `shape` is the field's.

    A stray piece is small (STRAY_SHARE of the kept ink), lies in the outer fifth along an
    edge, and is apart from the character's body by STRAY_APART pixels at least, and by
    more than its own distance from that edge: it belongs with the next box. The body is
    the other kept ink, grown by every small piece found near it (a dakuten's far tick is
    near its first). Where a character's own voicing mark sits, up and to the right of
    its body's centre, only a piece STRAY_FAR off is taken for a neighbour's.
    """
    from scipy import ndimage

    h, w = shape
    y0, y1, x0, x1 = boxes.T
    fy0, fy1, fx0, fx1 = (boxes + [origin[0], origin[0], origin[1], origin[1]]).T  # the field's
    total = areas[kept].sum()
    in_band = (fy1 <= h // 5) | (fy0 >= h - h // 5) | (fx1 <= w // 5) | (fx0 >= w - w // 5)
    pending = kept & in_band & (areas <= STRAY_SHARE * total)
    body_ids = kept & ~pending
    if not pending.any() or not body_ids.any():
        return np.zeros(len(areas), dtype=bool)
    def body() -> np.ndarray:  # the body's pixels, bool, shaped as labels
        return np.concatenate([[False], body_ids])[labels]

    by, bx = np.nonzero(body())
    centre_y, centre_x = by.mean(), bx.mean()
    pieces = {int(i): np.nonzero(labels[y0[i]:y1[i], x0[i]:x1[i]] == i + 1)
              for i in np.flatnonzero(pending)}
    while True:
        apart = ndimage.distance_transform_edt(~body())
        joined = []
        for i in np.flatnonzero(pending):
            ys, xs = pieces[int(i)][0] + y0[i], pieces[int(i)][1] + x0[i]
            to_edge = float(min(fy0[i], h - fy1[i], fx0[i], w - fx1[i]))
            mark_place = xs.mean() > centre_x and ys.mean() < centre_y
            need = STRAY_FAR if mark_place else max(STRAY_APART, to_edge)
            if float(apart[ys, xs].min()) <= need:
                joined.append(i)
        if not joined:
            return pending
        body_ids[joined], pending[joined] = True, False


def ink_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of a mask's True pixels, end exclusive; the mask must hold some."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


TIE = 1e-4  # of a pixel: far above float32 resizing noise in the centre (about 1e-6 px), far below a real shift


def center_one(field: np.ndarray, box: int = BOX, size: int = SIZE,
               neighbours: bool = False) -> np.ndarray:
    """One field in [0, 1] -> (size, size): crop, fit into box, centre of mass to centre.
    `neighbours`: an ETL field, whose sheet neighbours' stray ink is dropped (clean_ink)."""
    mask = clean_ink(field, neighbours)
    out = np.zeros((size, size), dtype=np.float32)
    if not mask.any():
        return out
    y0, y1, x0, x1 = ink_box(mask)
    crop = np.where(mask[y0:y1, x0:x1], field[y0:y1, x0:x1], 0.0)
    scale = box / max(y1 - y0, x1 - x0)  # the longer side becomes `box` px, aspect kept
    nh, nw = max(1, round((y1 - y0) * scale)), max(1, round((x1 - x0) * scale))
    small = resize(crop[None], nh, nw)[0]
    peak = small.max()
    if peak > 0:
        small /= peak  # thin or faint strokes lose contrast in the reduction: restore it
    # Sums in float64, which hold these float32 values exactly: a symmetric character's
    # centre falls on a half pixel, and float32 sums in another order (the exported
    # model's) would round it the other way.
    rows, cols = small.sum(axis=1, dtype=np.float64), small.sum(axis=0, dtype=np.float64)
    total = rows.sum()
    cy = (rows @ (np.arange(nh) + 0.5)) / total
    cx = (cols @ (np.arange(nw) + 0.5)) / total
    # Rounded half up, past a hair: a symmetric character's centre lies on a half pixel,
    # where the last bit of float32 resizing (which differs in the exported model's ops)
    # would otherwise decide the side.
    top = int(np.clip(np.floor(size / 2 - cy + 0.5 + TIE), 0, size - nh))
    left = int(np.clip(np.floor(size / 2 - cx + 0.5 + TIE), 0, size - nw))
    out[top : top + nh, left : left + nw] = small
    return out


def centered(images: np.ndarray, max_level: int, box: int = BOX) -> np.ndarray:
    """MNIST's recipe on a chunk of ETL fields, (n, H, W) ints -> (n, 28, 28) float32. The
    fields were cut from sheets, so their neighbours' stray ink is dropped; a user's picture
    holds one character (center_one on its own, as the exported model does in TF ops)."""
    fields = images.astype(np.float32) * (1.0 / max_level)
    return np.stack([center_one(f, box, neighbours=True) for f in fields]) if len(fields) else np.zeros(
        (0, SIZE, SIZE), np.float32
    )


@dataclass(frozen=True)
class Preprocessor:
    """A way from ETL fields to 28x28, and its place in `from_picture` for user pictures."""

    name: str
    fields: Callable[[np.ndarray, int], np.ndarray]  # (n, H, W) ints, max_level -> (n, 28, 28)
    from_ink: Callable[[np.ndarray], np.ndarray]  # one picture's ink (h, w) -> (28, 28)
    packed: Callable[..., np.ndarray] | None = None  # the same from packed 4-bit records
    note: str = ""
    box: int | None = None  # centred ones: the side the ink's longer side is fitted into


def as_field(ink: np.ndarray, height: int = 127, width: int = 128) -> np.ndarray:
    """Place a picture's character in an ETL-sized field as a writer would fill it.

    Used before `blog`, whose models learned characters spanning about FIELD_FILL of the field.
    """
    mask = clean_ink(ink)
    field = np.zeros((height, width), dtype=np.float32)
    if not mask.any():
        return field
    ys, xs = np.nonzero(mask)
    crop = np.where(mask, ink, 0.0)[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = FIELD_FILL * width / max(crop.shape)
    nh = max(1, min(height, round(crop.shape[0] * scale)))
    nw = max(1, min(width, round(crop.shape[1] * scale)))
    small = resize(crop[None], nh, nw)[0]
    small /= max(small.max(), 1e-6)
    top, left = (height - nh) // 2, (width - nw) // 2
    field[top : top + nh, left : left + nw] = small
    return field


def _blog_from_ink(ink: np.ndarray) -> np.ndarray:
    return blog(as_field(ink)[None], 1)[0]


def _centred(name: str, box: int, note: str) -> Preprocessor:
    """MNIST's recipe fitting the ink into `box` px, for fields and pictures alike."""
    return Preprocessor(name, partial(centered, box=box), partial(center_one, box=box),
                        note=note, box=box)


PREPROCESSORS: dict[str, Preprocessor] = {
    p.name: p
    for p in (
        _centred("centered", BOX, "MNIST's recipe: crop, 20 px longest side, centre of mass"),
        _centred("centered24", LARGE_BOX,
                 "the same with the longer side 24 px: small strokes, more pixels"),
        Preprocessor("blog", blog, _blog_from_ink, packed=blog_packed,
                     note="the blog's: the whole field resized"),
    )
}
# MNIST's recipe at 24 px: voicing marks and small strokes read better than at MNIST's
# 20 (docs/README.md, "Version 7: a larger box, ..."); "centered" is MNIST's own, "blog"
# the blog's.
DEFAULT_PREPROCESS = "centered24"
# Earlier names, still read from old run directories and caches' options.
ALIASES = {"seed": "blog"}


def get_preprocessor(name: str) -> Preprocessor:
    try:
        return PREPROCESSORS[ALIASES.get(name, name)]
    except (KeyError, TypeError):
        raise PictureError(
            f"unknown preprocessing {name!r}; choose one of {', '.join(PREPROCESSORS)}"
        ) from None


# The most pixels a side that a picture is worked on at. The network sees 28x28; 512 keeps
# every drawing app's canvas (the touch set's 300, the draw page's 280) as it is, and bounds
# the work of a huge picture (a 4096x4096 scan would otherwise dilate 16 million pixels).
