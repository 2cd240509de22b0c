"""From a scanned field (ETL's 128x127, or any picture of a character) to 28x28 like MNIST.

    blog(images, max_level)      the whole field resized to 28x28, antialiased (the blog's way)
    centered(images, max_level)  MNIST's recipe: clean, crop, 20 px longest side, centre of mass
                                 (box=24: centered24, the default)
    PREPROCESSORS[name]          the registry: centered24, centered, blog (fields, user
                                 pictures, packed)
    read_picture(path)           a PNG/JPEG -> greyscale array, size checked before decoding
    from_picture(img, how)       a user's picture (array or path) -> the same 28x28

All return float32 in [0, 1], ink bright on dark. Resizing applies PIL's antialiased
bilinear weights as matrix products, out = A @ img @ B.T with A (28, H) and B (28, W),
over a whole chunk of images at once; both matrices are bands, applied block by block.
`blog` on packed 4-bit ETL records skips all that: BOX shrinking is whole-number sums
over bins, which a compiled kernel (maist._box, numba) adds straight from the nibbles.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Callable

import numpy as np

from ..errors import PictureError
from ..geometry import IMAGE_SIZE

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


BLOG_FILTER = "box"  # area averaging: antialiased, and 128 -> 28 splits into 4 blocks


def blog(images: np.ndarray, max_level: int) -> np.ndarray:
    """The blog's preprocessing: the whole field (128x127 in ETL9G) resized to 28x28.

    PIL's BOX filter (what `Image.resize(..., Image.BOX)` gives), antialiased.
    """
    return resize(images, SIZE, SIZE, BLOG_FILTER, scale=1.0 / max_level)


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


def clean_ink(field: np.ndarray) -> np.ndarray:
    """Boolean mask of a field's character ink, scanner noise and neighbours removed.

    Real ETL scans carry speckle, and their tight cells let strokes of the characters
    written in the neighbouring cells reach in at the edges. A connected piece of ink is
    dropped when it is tiny (under 1% of the ink), or when it touches an edge and stays in
    the outer fifth of the field along that edge.
    """
    from scipy import ndimage  # here, not at import: the blog's path never needs scipy

    h, w = field.shape
    ink = field > INK_THRESHOLD
    labels, n = ndimage.label(ink, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return ink
    areas = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    min_area = max(3, 0.01 * areas.sum())
    # Each piece's bounding box, (n, 4) as y0, y1, x0, x1 (end exclusive), in one go.
    boxes = np.array([(s[0].start, s[0].stop, s[1].start, s[1].stop)
                      for s in ndimage.find_objects(labels)]).reshape(n, 4)
    y0, y1, x0, x1 = boxes.T
    fragment = (((y0 == 0) & (y1 <= h // 5)) | ((y1 == h) & (y0 >= h - h // 5))
                | ((x0 == 0) & (x1 <= w // 5)) | ((x1 == w) & (x0 >= w - w // 5)))
    keep = np.concatenate([[False], (areas >= min_area) & ~fragment])
    if not keep.any():  # everything looked like noise: trust the largest piece
        keep[1 + int(np.argmax(areas))] = True
    mask = keep[labels]
    # Grow by one pixel so the faint antialiased edge of each kept stroke stays.
    return grow_cross(mask) & (field > 0)


def _shifted_cross(mask: np.ndarray, op) -> np.ndarray:
    """op over each pixel and its 4 neighbours (outside the picture: False): the binary
    erosion (np.logical_and) or dilation (np.logical_or) by a plus, as ndimage's defaults,
    in five whole-array operations instead of a generic filter."""
    p = np.pad(mask, 1)
    out = op(p[1:-1, 1:-1], p[:-2, 1:-1])
    for part in (p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]):
        op(out, part, out=out)
    return out


def grow_cross(mask: np.ndarray) -> np.ndarray:
    """ndimage.binary_dilation(mask) (a plus, once), faster."""
    return _shifted_cross(mask, np.logical_or)


def shrink_cross(mask: np.ndarray) -> np.ndarray:
    """ndimage.binary_erosion(mask) (a plus, once, the outside counted as empty), faster."""
    return _shifted_cross(mask, np.logical_and)


def ink_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of a mask's True pixels, end exclusive; the mask must hold some."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


TIE = 1e-4  # of a pixel: far above float32 resizing noise in the centre (about 1e-6 px), far below a real shift


def center_one(field: np.ndarray, box: int = BOX, size: int = SIZE) -> np.ndarray:
    """One field in [0, 1] -> (size, size): crop, fit into box, centre of mass to centre."""
    mask = clean_ink(field)
    out = np.zeros((size, size), dtype=np.float32)
    if not mask.any():
        return out
    y0, y1, x0, x1 = ink_box(mask)
    crop = np.where(mask, field, 0.0)[y0:y1, x0:x1]
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
    """MNIST's recipe on a chunk of fields, (n, H, W) ints -> (n, 28, 28) float32."""
    fields = images.astype(np.float32) * (1.0 / max_level)
    return np.stack([center_one(f, box) for f in fields]) if len(fields) else np.zeros(
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
WORK_SIDE = 512


def reduce_ink(ink: np.ndarray, side: int = WORK_SIDE, keep=np.max) -> np.ndarray:
    """Ink at most `side` pixels on its longer side: the maximum of each k x k block, k the
    smallest whole factor that fits, so a hairline survives the reduction at full strength
    (an average would fade it into the background). `keep=np.min` keeps dark ink instead.
    Smaller pictures are returned as they are."""
    h, w = ink.shape
    k = -(-max(h, w) // side)
    if k <= 1:
        return ink
    padded = np.pad(ink, ((0, -h % k), (0, -w % k)), mode="edge")  # neutral for max and min
    return keep(padded.reshape(padded.shape[0] // k, k, padded.shape[1] // k, k), axis=(1, 3))


LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # RGB -> grey, as PIL's "L" mode


def to_ink(picture: np.ndarray, side: int | None = WORK_SIDE) -> np.ndarray:
    """A greyscale or RGB(A) picture (any size, 0..255 or 0..1) -> ink in [0, 1], bright on
    dark, at most `side` pixels a side (reduce_ink's block maxima; None: as it is).

    Dark-on-light pictures (pen on paper, a drawing app) are detected from the border,
    which is background in any picture of one character, and inverted. The reduction runs
    on the picture's own values (block minima of dark ink), which gives the ink that
    reducing the ink would, without making full-size float copies of a huge picture.
    """
    pic = np.asarray(picture)
    if pic.ndim == 3:  # RGB(A) -> luminance
        pic = pic[..., :3].astype(np.float32) @ LUMA
    scale = 255.0 if pic.max() > 1.0 else 1.0
    border = np.concatenate([pic[0], pic[-1], pic[:, 0], pic[:, -1]]).astype(np.float32) / scale
    background = np.median(border)
    dark_on_light = background > 0.5
    if side is not None:
        pic = reduce_ink(pic, side, np.min if dark_on_light else np.max)
    pic = pic.astype(np.float32) / scale
    if dark_on_light:
        pic = 1.0 - pic
    lo = 1.0 - background if dark_on_light else background
    return np.clip((pic - lo) / max(1e-6, 1.0 - lo), 0.0, 1.0)


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


def line_weight(ink: np.ndarray) -> float:
    """Mean stroke width relative to the ink's longer side: 2 x area / perimeter / side."""
    mask = ink > 0.5
    area = int(mask.sum())
    if area == 0:
        return 0.0
    perimeter = int((mask & ~shrink_cross(mask)).sum())
    y0, y1, x0, x1 = ink_box(mask)
    side = max(y1 - y0, x1 - x0)
    return 2.0 * area / max(perimeter, 1) / side


def thickening_radius(ink: np.ndarray, target: float = LINE_WEIGHT) -> int:
    """How many pixels thin strokes grow by to reach line weight `target` (0: none)."""
    width = line_weight(ink)
    if width == 0.0 or width >= 0.8 * target:
        return 0
    y0, y1, x0, x1 = ink_box(ink > 0.5)
    side = max(y1 - y0, x1 - x0)
    return max(0, int(round((target - width) * side / 2)))


def disc_dilation(ink: np.ndarray, radius: int) -> np.ndarray:
    """Grey dilation by a disc of `radius` pixels, the picture's edges mirrored: equal to
    ndimage.grey_dilation with a disc footprint, in 2r+1 running maxima along the rows
    (each row of the disc is a segment) instead of (2r+1)^2 comparisons a pixel."""
    from scipy.ndimage import maximum_filter1d

    r = int(radius)
    if r < 1:
        return ink
    h, w = ink.shape
    padded = np.pad(ink, r, mode="symmetric")
    out = np.full_like(padded, -np.inf)
    for dy in range(-r, r + 1):
        half = int(np.sqrt(r * r - dy * dy))  # the disc's half-width in row dy
        rows = maximum_filter1d(padded, 2 * half + 1, axis=1, mode="nearest")
        np.maximum(out, np.roll(rows, dy, axis=0), out=out)
    return out[r : r + h, r : r + w]


def thicken(ink: np.ndarray, target: float = LINE_WEIGHT) -> np.ndarray:
    """Grow thin strokes (grey dilation with a disc) to about line weight `target`."""
    return disc_dilation(ink, thickening_radius(ink, target))


MAX_PICTURE_PIXELS = 4096 * 4096  # a photo of one character needs far fewer


def read_picture(path, max_pixels: int = MAX_PICTURE_PIXELS, name: str | None = None) -> np.ndarray:
    """A PNG or JPEG, any size or mode, as a greyscale array (uint8, 0..255), upright.

    `path` may also be a file-like object (the bytes of an upload), with `name` for the
    messages. The size is checked from the header before any pixel is decoded, so a
    huge picture (a decompression bomb) is refused cheaply. A phone photo stored turned
    (its EXIF orientation) is turned upright; 16-bit greys keep their range; a drawing on
    a transparent background is laid on a background its ink stands out from.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(path, (str, os.PathLike)):
        regular_file(path)
    path = path if name is None else _Named(path, name)
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > max_pixels:
                raise PictureError(
                    f"{path}: {w}x{h} pixels is over the limit of {max_pixels:,}; scale the "
                    f"picture down (a character needs a few hundred pixels a side)"
                )
            im = ImageOps.exif_transpose(im)
            return _grey(im)
    except FileNotFoundError:
        raise PictureError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PictureError(f"{path}: is a folder, not a picture") from None
    except PermissionError:
        raise PictureError(f"{path}: not readable (permission denied)") from None
    except Image.DecompressionBombError:  # PIL's own limit, far above ours, checked at open
        raise PictureError(
            f"{path}: over the limit of {max_pixels:,} pixels; scale the picture down (a "
            f"character needs a few hundred pixels a side)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise PictureError(f"{path}: not a readable image ({e}); give a PNG or JPEG") from None


def regular_file(path: str | os.PathLike) -> None:
    """A PictureError unless `path` is a regular file: a FIFO would block the reader, and a
    device (/dev/zero) never ends; a missing file is said as such."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise PictureError(f"{path}: no such file") from None
    except OSError as e:
        raise PictureError(f"{path}: cannot be read ({e.strerror})") from None
    if stat.S_ISDIR(mode):
        raise PictureError(f"{path}: is a folder, not a picture")
    if not stat.S_ISREG(mode):
        raise PictureError(f"{path}: not a regular file (a pipe or a device); give a PNG or "
                           f"JPEG file")


def _grey(im) -> np.ndarray:
    """A PIL image of any mode -> (H, W) uint8 greys, 0..255."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):  # 16-bit and wider greys
        values = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") else max(float(values.max()), 1.0)
        return np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)
    if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
        # Transparent pixels are background. Lay the picture on white, unless its ink is
        # light (white strokes on transparency), which is laid on black instead.
        rgba = im.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"))
        opaque = alpha > 127
        ink = np.asarray(rgba.convert("L"))[opaque]
        light = ink.size and ink.mean() > 127 and not opaque.all()
        back = Image.new("RGBA", rgba.size, (0, 0, 0, 255) if light else (255, 255, 255, 255))
        im = Image.alpha_composite(back, rgba)
    return np.asarray(im.convert("L"), dtype=np.uint8)


class _Named:
    """A file-like object that prints as a name in messages (an upload has no path)."""

    def __init__(self, f, name: str):
        self._f, self._name = f, name

    def __getattr__(self, attr):
        return getattr(self._f, attr)

    def __str__(self) -> str:
        return self._name

    __repr__ = __str__


def from_picture(picture: np.ndarray | str | os.PathLike, how: str = DEFAULT_PREPROCESS,
                 thicken_to: float | None = LINE_WEIGHT) -> np.ndarray:
    """A user's picture of one character (an array, a PNG/JPEG path or file object) -> (28, 28)
    float32 the way `how` trained: the one path from a picture to the network's input.

    `thicken_to`: thicken thin lines to this line weight first (None: leave them).
    """
    prep = get_preprocessor(how)
    name = f"{picture}: " if isinstance(picture, (str, os.PathLike)) else ""
    if isinstance(picture, (str, os.PathLike)) or hasattr(picture, "read"):
        picture = read_picture(picture)  # a path, or the bytes of one as a file object
    picture = np.asarray(picture)
    if picture.ndim not in (2, 3) or picture.size == 0:
        raise PictureError(f"{name}a picture is a 2-D greyscale or RGB(A) array, not of "
                           f"shape {picture.shape}")
    ink = to_ink(picture)
    # clean_ink keeps some ink wherever any pixel passes the threshold: the same test, cheaper
    if not (ink > INK_THRESHOLD).any():
        raise PictureError(f"{name}no ink found: the picture is blank (or all one shade); "
                           f"draw a character")
    if thicken_to:
        ink = thicken(ink, thicken_to)
    return prep.from_ink(ink)
