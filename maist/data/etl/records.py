"""Records -> characters and pictures, and back: the codes, the packed pixels, writing.

    record_chars(recs, fmt)     -> [str]            each record's character
    decode_images(recs, fmt)    -> (n, H, W) uint8  0..15 (4 bit) or 0/1 (1 bit), ink high
    write_etl(path, recs, fmt)  <- new_records(fmt, n) + pack_images(images, fmt)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...errors import EtlFormatError
from ...fileio import atomic_path
from ..classes import ClassSet, jis0201_table, jis0208_table
from .files import EtlFile
from .formats import EtlFormat, get_format

# --- codes -> characters ------------------------------------------------------------------


def code_table(fmt: EtlFormat) -> np.ndarray:
    """table[raw code] = Unicode code point (0: no character) for a format's code field."""
    if fmt.code_space == "jis0208":
        return jis0208_table()
    return jis0201_table(fmt.hiragana_as_katakana)


def class_codes(class_set: ClassSet, fmt: EtlFormat) -> np.ndarray:
    """Each class's raw code in `fmt`'s code space, or -1 where the format cannot hold it."""
    inverse: dict[int, int] = {}
    table = code_table(fmt)
    for code in np.flatnonzero(table):
        inverse.setdefault(int(table[code]), int(code))
    return np.array([inverse.get(ord(c), -1) for c in class_set.chars], dtype=np.int64)


def record_chars(recs: np.ndarray, fmt: EtlFormat) -> list[str]:
    """The character of each record, from its code (never from the reading field)."""
    points = code_table(fmt)[recs["jis"].astype(np.int64)]
    return [chr(p) if p else "\ufffd" for p in points]


def check_codes(etl: EtlFile, first: int, recs: np.ndarray) -> None:
    """Raise on the first record whose code maps to no character."""
    bad = np.flatnonzero(code_table(etl.format)[recs["jis"].astype(np.int64)] == 0)
    if len(bad):
        i = first + int(bad[0])
        offset = i * etl.format.record_size + etl.format.dtype.fields["jis"][1]
        raise EtlFormatError(
            f"{etl.path}: record {i} (byte offset {offset}): code 0x{int(recs['jis'][bad[0]]):04X} "
            f"maps to no character in {etl.format.code_space.upper()}; the file is corrupt or "
            f"not {etl.format.name}: check the format and download it again"
        )


# --- images -------------------------------------------------------------------------------


def unpack_4bit(packed: np.ndarray, height: int, width: int) -> np.ndarray:
    """(n, height*width/2) packed bytes -> (n, height, width) uint8 0..15, left pixel high."""
    packed = np.asarray(packed)
    n = len(packed)
    out = np.empty((n, packed.shape[1] * 2), dtype=np.uint8)
    np.right_shift(packed, 4, out=out[:, 0::2])
    np.bitwise_and(packed, 0x0F, out=out[:, 1::2])
    return out.reshape(n, height, width)


def decode_images(recs: np.ndarray, fmt: EtlFormat) -> np.ndarray:
    """Packed image bytes -> (n, height, width) uint8, 0..max_level, left pixel high."""
    packed = recs["image"]
    if fmt.bits == 4:
        return unpack_4bit(packed, fmt.height, fmt.width)
    out = np.unpackbits(packed, axis=1)  # MSB first: the left pixel
    return out.reshape(len(packed), fmt.height, fmt.width)


def pack_images(images: np.ndarray, fmt: EtlFormat) -> np.ndarray:
    """(n, height, width) integers 0..max_level -> packed bytes, (n, image bytes)."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (fmt.height, fmt.width):
        raise EtlFormatError(
            f"{fmt.name} images are {fmt.height}x{fmt.width}; got shape {images.shape}"
        )
    if images.size and (images.min() < 0 or images.max() > fmt.max_level):
        raise EtlFormatError(f"{fmt.name} pixels are 0..{fmt.max_level}")
    flat = images.reshape(len(images), -1).astype(np.uint8)
    if fmt.bits == 4:
        return (flat[:, 0::2] << 4) | flat[:, 1::2]
    return np.packbits(flat, axis=1)


def new_records(fmt: str | EtlFormat, n: int) -> np.ndarray:
    """n zeroed records of a format, to fill field by field and pass to write_etl."""
    fmt = fmt if isinstance(fmt, EtlFormat) else get_format(fmt)
    return np.zeros(n, dtype=fmt.dtype)


def write_etl(
    path: str | os.PathLike,
    recs: np.ndarray,
    fmt: str | EtlFormat,
    overwrite: bool = False,
) -> Path:
    """Write records as an ETL file that AIST's format readers accept.

    For formats whose files open with a dummy record (ETL8B2, ETL9B), a zeroed dummy is
    written first. An existing file is kept unless `overwrite`.
    """
    fmt = fmt if isinstance(fmt, EtlFormat) else get_format(fmt)
    path = Path(path)
    if recs.dtype != fmt.dtype:
        raise EtlFormatError(f"{path}: records are not {fmt.name} records (use new_records)")
    if path.exists() and not overwrite:
        raise EtlFormatError(f"{path}: exists; remove it or pass overwrite=True")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        if fmt.dummy_first:
            new_records(fmt, 1).tofile(f)
        recs.tofile(f)
    return path


