"""A user's picture of one character -> the field a preprocessor reads -> 28x28.

    read_picture(path)           a PNG/JPEG -> greyscale array, size checked before decoding
    from_picture(img, how)       a user's picture (array or path) -> the 28x28 `how` trained on
    to_ink / as_field / thicken  the steps between: ink bright on dark, a 128x127 field, and
                                 thin lines thickened to the training data's weight
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import PictureError, PictureTooLarge
from .preprocess import (
    DEFAULT_PREPROCESS,
    INK_THRESHOLD,
    LINE_WEIGHT,
    get_preprocessor,
)

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
    if pic.dtype == np.uint8:  # 256 greys: each one's ink worked out once, then looked up
        from . import _ink  # numba, compiled once

        table = _ink_of(np.arange(256, dtype=np.uint8), scale, background, dark_on_light)
        out = np.empty(pic.shape, np.float32)
        _ink.lookup(pic, table, out)
        return out
    return _ink_of(pic, scale, background, dark_on_light)


def _ink_of(values: np.ndarray, scale: float, background, dark_on_light: bool) -> np.ndarray:
    """A picture's values -> float32 ink in [0, 1], bright on dark, `background` (in [0, 1],
    the border's median) at 0."""
    ink = values.astype(np.float32) / scale
    if dark_on_light:
        ink = 1.0 - ink
    lo = 1.0 - background if dark_on_light else background
    return np.clip((ink - lo) / max(1e-6, 1.0 - lo), 0.0, 1.0)


def strokes(ink: np.ndarray) -> tuple[float, int]:
    """(line weight, side): the mean stroke width relative to the ink's longer side (2 x
    area / perimeter / side) of the mask ink > 0.5, and that side in pixels; (0.0, 0)
    without ink. The perimeter is the mask's pixels that an erosion by a plus removes."""
    from . import _ink

    area, perimeter, y0, y1, x0, x1 = _ink.stroke_sums(np.asarray(ink, np.float32),
                                                       np.float32(0.5))
    if area == 0:
        return 0.0, 0
    side = max(y1 - y0, x1 - x0)
    return 2.0 * area / max(perimeter, 1) / side, side


def line_weight(ink: np.ndarray) -> float:
    """Mean stroke width relative to the ink's longer side: 2 x area / perimeter / side."""
    return strokes(ink)[0]


def thickening_radius(ink: np.ndarray, target: float = LINE_WEIGHT) -> int:
    """How many pixels thin strokes grow by to reach line weight `target` (0: none)."""
    width, side = strokes(ink)
    if width == 0.0 or width >= 0.8 * target:
        return 0
    return max(0, int(round((target - width) * side / 2)))


def disc_dilation(ink: np.ndarray, radius: int) -> np.ndarray:
    """Grey dilation of float32 ink by a disc of `radius` pixels, the picture's edges
    mirrored: equal to ndimage.grey_dilation with a disc footprint, as running maxima along
    the rows (each row of the disc is a segment; maist.data._ink.disc_max) instead of
    (2r+1)^2 comparisons a pixel."""
    r = int(radius)
    if r < 1:
        return ink
    # Only the ink's box grown by r can change: elsewhere every disc holds zeros alone. Its
    # mirrored edges are the picture's where the box reaches them, zeros where it does not.
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        return ink
    y0, y1 = max(rows[0] - r, 0), min(rows[-1] + r + 1, ink.shape[0])
    x0, x1 = max(cols[0] - r, 0), min(cols[-1] + r + 1, ink.shape[1])
    if (y0, y1, x0, x1) != (0, ink.shape[0], 0, ink.shape[1]) and (ink >= 0).all():
        out = np.zeros_like(ink)
        out[y0:y1, x0:x1] = disc_dilation(ink[y0:y1, x0:x1], r)
        return out
    from . import _ink

    half = np.array([int(np.sqrt(r * r - dy * dy)) for dy in range(r + 1)], np.int64)
    out = np.empty(ink.shape, np.float32)
    _ink.disc_max(np.asarray(ink, np.float32), r, half, out)
    return out


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
                raise PictureTooLarge(
                    f"{path}: {w}x{h} pixels is over the limit of {max_pixels:,}; scale the "
                    f"picture down (a character needs a few hundred pixels a side)"
                )
            ImageOps.exif_transpose(im, in_place=True)  # upright; no copy when it is already
            return _grey(im)
    except PictureError:
        raise
    except FileNotFoundError:
        raise PictureError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PictureError(f"{path}: is a folder, not a picture") from None
    except PermissionError:
        raise PictureError(f"{path}: not readable (permission denied)") from None
    except Image.DecompressionBombError:  # PIL's own limit, far above ours, checked at open
        raise PictureTooLarge(
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
    return np.asarray(im if im.mode == "L" else im.convert("L"), dtype=np.uint8)


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
