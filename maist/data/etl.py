"""Read and write AIST's ETL Character Database binary files, strictly and in chunks.

    find_etl_files(dir_or_files) -> [EtlFile]     name, format and record count, nothing decoded
    is_etl_source(path)          -> bool          a file named like ETL data, or a folder of them
    read_manifest(folder)        -> dict | None   the note MAIST leaves beside files it generated
    iter_chunks(etl_file)        -> (first, recs)  structured records, a chunk at a time
    select(files, class_set, transform) -> Selection   only the wanted classes are decoded
    decode_images(recs, fmt)     -> (n, H, W) uint8    0..15 (4 bit) or 0/1 (1 bit), ink high
    write_etl(path, recs, fmt)   <- new_records(fmt, n) + pack_images(images, fmt)

Every record is a fixed-length big-endian struct (AIST's "G", "B" and "M" type pages);
its fields are named by a numpy structured dtype, so `recs["jis"]` is the JIS column of a
whole chunk. Pixels are packed left to right, the high nibble (or the high bit) first.
A pixel value is ink density: 0 is blank paper, 15 (or 1) the darkest ink, so strokes
come out bright on dark, as MNIST's do. Callers scale by `fmt.max_level` to get [0, 1].

Every failure raises `EtlFormatError`, naming the file, and where it applies the record and
its byte offset, and saying what to do.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from ..errors import EtlFormatError
from ..fileio import atomic_path
from .classes import ClassSet, jis0201_table, jis0208_table


class EtlCountWarning(UserWarning):
    """A file holds a different number of records than AIST publishes for it."""


# --- record layouts -----------------------------------------------------------------------
# Field names follow AIST's pages; "_undefined" and "_uncertain" are bytes AIST leaves open.

_G_HEAD = [
    ("sheet", ">u2"),  # serial sheet number
    ("jis", ">u2"),  # JIS X 0208 code: the label comes from here, never from `reading`
    ("reading", "S8"),  # ASCII "typical reading", e.g. b"A.HIRA  "; ambiguous, see README
    ("serial", ">u4"),  # serial data number
    ("quality", "u1"),  # evaluation of the individual character image
    ("group_quality", "u1"),  # evaluation of the character group
    ("sex", "u1"),  # 1 = male, 2 = female (JIS X 0303)
    ("age", "u1"),
    ("industry", ">u2"),  # JIS X 0403
    ("occupation", ">u2"),  # JIS X 0404
    ("gathered", ">u2"),  # sheet gathering date, (19)YYMM
    ("scanned", ">u2"),  # scanning date, (19)YYMM
]

# ETL8G: bytes 61-8188 are the image; 30 undefined bytes before it, 11 after.
ETL8G_DTYPE = np.dtype(
    _G_HEAD
    + [("pos_y", "u1"), ("pos_x", "u1"), ("_undefined", "V30"), ("image", "u1", (8128,)),
       ("_uncertain", "V11")]
)
# ETL9G: bytes 65-8192 are the image; 34 undefined bytes before it, 7 after. Reading ETL9G
# with ETL8G's offsets shifts every image 8 pixels (4 bytes) to the left.
ETL9G_DTYPE = np.dtype(
    _G_HEAD
    + [("pos_x", "u1"), ("pos_y", "u1"), ("_undefined", "V34"), ("image", "u1", (8128,)),
       ("_uncertain", "V7")]
)
# ETL8B2: 512 bytes, a 64x63 1-bit image from byte 9; ETL9B adds 64 uncertain bytes.
_B_HEAD = [("sheet", ">u2"), ("jis", ">u2"), ("reading", "S4"), ("image", "u1", (504,))]
ETL8B_DTYPE = np.dtype(_B_HEAD)
ETL9B_DTYPE = np.dtype(_B_HEAD + [("_uncertain", "V64")])
# M type (ETL1, ETL6, ETL7): 2052 bytes, JIS X 0201 codes, a 64x63 4-bit image from byte 33.
ETLM_DTYPE = np.dtype(
    [
        ("data_number", ">u2"),
        ("char_code", "S2"),  # ASCII, e.g. b"KA"
        ("sheet", ">u2"),
        ("jis", "u1"),  # JIS X 0201 (ETL7 files hiragana under the katakana codes)
        ("ebcdic", "u1"),
        ("quality", "u1"),
        ("group_quality", "u1"),
        ("sex", "u1"),
        ("age", "u1"),
        ("serial", ">u4"),
        ("industry", ">u2"),
        ("occupation", ">u2"),
        ("gathered", ">u2"),
        ("scanned", ">u2"),
        ("pos_y", "u1"),
        ("pos_x", "u1"),
        ("min_level", "u1"),
        ("max_level", "u1"),
        ("_undefined", "V4"),
        ("image", "u1", (2016,)),
        ("_uncertain", "V4"),
    ]
)


@dataclass(frozen=True)
class EtlFormat:
    """One of AIST's record layouts, and what the files of that data set look like."""

    name: str
    dtype: np.dtype
    width: int
    height: int
    bits: int  # 4 (16 grey levels) or 1 (black and white)
    code_space: str  # "jis0208" or "jis0201"
    dummy_first: bool = False  # the first record of every file is not a sample
    records_per_writer: int | None = None  # one writer's (data set's) run of records
    writers_per_file: int | None = None  # with a numbered file name: a global writer id
    hiragana_as_katakana: bool = False  # ETL7 stores hiragana under half-width katakana

    @property
    def record_size(self) -> int:
        return self.dtype.itemsize

    @property
    def max_level(self) -> int:
        return (1 << self.bits) - 1


FORMATS: dict[str, EtlFormat] = {
    f.name: f
    for f in (
        EtlFormat("ETL8G", ETL8G_DTYPE, 128, 127, 4, "jis0208", False, 956, 5),
        EtlFormat("ETL9G", ETL9G_DTYPE, 128, 127, 4, "jis0208", False, 3036, 4),
        EtlFormat("ETL8B2", ETL8B_DTYPE, 64, 63, 1, "jis0208", True, 956, None),
        EtlFormat("ETL9B", ETL9B_DTYPE, 64, 63, 1, "jis0208", True, 3036, 40),
        EtlFormat("ETL1", ETLM_DTYPE, 64, 63, 4, "jis0201"),
        EtlFormat("ETL6", ETLM_DTYPE, 64, 63, 4, "jis0201"),
        EtlFormat("ETL7", ETLM_DTYPE, 64, 63, 4, "jis0201", hiragana_as_katakana=True),
    )
}

# Names as AIST ships them: ETL9G_01, ETL8G_33, ETL9B_1, ETL8B2C1, ETL1C_07, ETL7LC_1.
_NAME_PATTERNS = [
    (re.compile(r"^ETL9G(?:_(\d+))?$"), "ETL9G"),
    (re.compile(r"^ETL8G(?:_(\d+))?$"), "ETL8G"),
    (re.compile(r"^ETL9B(?:_(\d+))?$"), "ETL9B"),
    (re.compile(r"^ETL8B2?C?(\d+)?$"), "ETL8B2"),
    (re.compile(r"^ETL1C?(?:_(\d+))?$"), "ETL1"),
    (re.compile(r"^ETL6C?(?:_(\d+))?$"), "ETL6"),
    (re.compile(r"^ETL7[LS]?C?(?:_(\d+))?$"), "ETL7"),
]


def expected_records(fmt: EtlFormat, number: int | None) -> int | None:
    """AIST's published record count for file `number` of a data set (dummy included)."""
    if fmt.name == "ETL9G" and number is not None and 1 <= number <= 50:
        return 12144  # 4 writers x 3036 classes
    if fmt.name == "ETL8G" and number is not None and 1 <= number <= 33:
        return 956 if number == 33 else 4780  # 5 writers x 956 classes; the last has 1
    if fmt.name == "ETL9B" and number is not None and 1 <= number <= 5:
        return 1 + 121440  # dummy + 40 writers x 3036 classes
    return None


def format_from_name(path: str | os.PathLike) -> tuple[EtlFormat | None, int | None]:
    """('ETL9G_07' -> ETL9G, 7); (None, None) for a name that is no ETL data file."""
    name = Path(path).name.upper()
    if name.endswith((".BIN", ".DAT")):
        name = name[:-4]
    for pattern, fmt_name in _NAME_PATTERNS:
        m = pattern.match(name)
        if m:
            return FORMATS[fmt_name], (int(m.group(1)) if m.group(1) else None)
    return None, None


def get_format(name: str) -> EtlFormat:
    try:
        return FORMATS[name.upper()]
    except KeyError:
        raise EtlFormatError(
            f"unknown ETL format {name!r}; MAIST reads {', '.join(FORMATS)}"
        ) from None


# --- files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EtlFile:
    """An ETL file whose size has been checked against its format; nothing is read yet."""

    path: Path
    format: EtlFormat
    n_records: int  # whole records in the file, the dummy included
    number: int | None  # 7 for ETL9G_07
    records_per_writer: int | None = None  # None: the format's (3036 for ETL9G)
    source: int = 0  # which source (an argument's files of one ETL database): writers are kept apart by it

    @property
    def first_sample(self) -> int:
        return 1 if self.format.dummy_first else 0

    @property
    def n_samples(self) -> int:
        return self.n_records - self.first_sample


def open_etl(
    path: str | os.PathLike,
    fmt: str | EtlFormat | None = None,
    records_per_writer: int | None = None,
    expect_counts: bool = True,
) -> EtlFile:
    """Check a file's name, format and size. `fmt` overrides detection from the name.

    Files that MAIST generated hold fewer classes per writer than AIST's: their reader
    passes `records_per_writer` and skips AIST's record counts (`expect_counts=False`).
    """
    path = Path(path)
    named, number = format_from_name(path)
    if fmt is not None:
        fmt = fmt if isinstance(fmt, EtlFormat) else get_format(fmt)
        if named is not None and named.name != fmt.name:
            raise EtlFormatError(
                f"{path}: the name says {named.name} but format {fmt.name} was asked for; "
                f"drop the format option, or rename the file if it really is {fmt.name}"
            )
    elif named is None:
        raise EtlFormatError(
            f"{path}: cannot tell the ETL format from the name; name it as AIST does "
            f"(ETL9G_01, ETL8G_01, ETL8B2C1, ETL9B_1, ETL1C_01, ETL7LC_1) or pass the format"
        )
    else:
        fmt = named
    if not path.exists():
        raise EtlFormatError(f"{path}: no such file" + (
            f" (a link to {os.readlink(path)}, which is not there)" if path.is_symlink() else ""))
    if not path.is_file():
        raise EtlFormatError(f"{path}: not a regular file (a folder, a pipe or a device); give "
                             f"AIST's data files")
    if not os.access(path, os.R_OK):
        raise EtlFormatError(f"{path}: not readable (permission denied); check its permissions")
    size = path.stat().st_size
    if size == 0:
        raise EtlFormatError(f"{path}: the file is empty; download and unzip it again")
    n, extra = divmod(size, fmt.record_size)
    if extra:
        fits = [f.name for f in FORMATS.values() if size % f.record_size == 0]
        hint = (
            f"; its size fits {'/'.join(fits)} records: is it really {fmt.name}?"
            if fits
            else ": the file is truncated or not ETL data; download it again"
        )
        raise EtlFormatError(
            f"{path}: {extra} bytes past the last whole {fmt.record_size}-byte {fmt.name} "
            f"record ({n} whole records){hint}"
        )
    if fmt.dummy_first and n < 2:
        raise EtlFormatError(f"{path}: only the dummy record, no samples; download it again")
    expected = expected_records(fmt, number) if expect_counts else None
    if expected is not None and n != expected:
        warnings.warn(
            f"{path}: {n} records where AIST publishes {expected} for this file: "
            f"a partial download? Reading what is there.",
            EtlCountWarning,
            stacklevel=2,
        )
    return EtlFile(path, fmt, n, number, records_per_writer)


MANIFEST = "MAIST_SYNTHETIC.json"  # beside ETL-format files that MAIST itself generated
AGAIN = "generate the set again (scripts/make_synthetic.py --force)"  # a damaged set's remedy


def read_manifest(folder: str | os.PathLike) -> dict | None:
    """The manifest MAIST's generator writes beside the files it makes, checked; None in a
    folder without one (AIST's own files).

    It says how many records each writer has (the generator writes fewer classes than
    AIST's 3036), whether the generation finished, and which files it wrote. The reader
    needs those facts and nothing else of the generator, which it never imports.
    """
    path = Path(folder) / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise EtlFormatError(f"{path}: is a folder, not a manifest; remove it") from None
    except OSError as e:
        raise EtlFormatError(f"{path}: cannot be read ({e.strerror}); check its permissions") from None
    try:
        manifest = json.loads(text)
        rpw = manifest["records_per_writer"]
    except (ValueError, KeyError, TypeError) as e:
        raise EtlFormatError(f"{path}: damaged ({type(e).__name__}); {AGAIN}") from None
    names = manifest.get("file_names")
    if (isinstance(rpw, bool) or not isinstance(rpw, int) or rpw < 1
            or not (names is None or isinstance(names, list) and all(isinstance(n, str) for n in names))):
        raise EtlFormatError(f"{path}: damaged (records_per_writer {rpw!r}); {AGAIN}")
    return manifest


def is_etl_source(path: str | os.PathLike) -> bool:
    """A file named like ETL data (ETL9G_01, ETL8B2C1, ...), or a folder holding one."""
    path = Path(path)
    if path.is_file():
        return format_from_name(path)[0] is not None
    return path.is_dir() and any(format_from_name(p)[0] is not None
                                 for _, _, names in os.walk(path) for p in map(Path, names))


def check_finished(folder: Path, manifest: dict | None) -> None:
    """An EtlFormatError for a synthetic set whose generation was stopped (its manifest says
    so), whether or not it got as far as its first file."""
    if manifest is not None and not manifest.get("complete", True):
        raise EtlFormatError(f"{folder}: an unfinished synthetic set (its generation was "
                             f"stopped before the end); {AGAIN}")


def _generated(paths: list[Path]) -> dict[Path, int]:
    """records_per_writer of each file that MAIST generated (its folder's manifest lists it),
    after checking that every generated set is whole and holds nothing of AIST's."""
    out: dict[Path, int] = {}
    for folder in sorted({p.parent for p in paths}):
        manifest = read_manifest(folder)
        if manifest is None:
            continue
        check_finished(folder, manifest)
        here = [p for p in paths if p.parent == folder]
        names = manifest.get("file_names")
        if names is None:  # sets made before the manifest named its files: all are ours
            out.update((p, manifest["records_per_writer"]) for p in here)
            continue
        missing = sorted(set(names) - {p.name for p in here})
        if missing:
            raise EtlFormatError(f"{folder}: {len(missing)} files of the synthetic set are "
                                 f"missing or unreadable ({', '.join(missing[:3])}"
                                 f"{' ...' if len(missing) > 3 else ''}); {AGAIN}")
        foreign = sorted(p.name for p in here if p.name not in names)
        if foreign:
            raise EtlFormatError(
                f"{folder}: {', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''} "
                f"sit among MAIST's synthetic files but were not made with them; move AIST's "
                f"files to a folder of their own (data/ETL9G), so that writers stay apart")
        out.update((p, manifest["records_per_writer"]) for p in here)
    return out


def files_in(folder: Path) -> list[Path]:
    """Every file under `folder`, sorted. What cannot be looked into is an error, never
    passed over: a sub-folder that cannot be read, or a link to nothing in a data file's
    name (a file left out would shrink the data set without a word)."""

    def fail(e: OSError):
        raise EtlFormatError(f"{e.filename}: cannot be read ({e.strerror}); check its "
                             f"permissions, or move it out of {folder}")

    out = []
    for root, _, names in os.walk(folder, onerror=fail):
        for name in names:
            p = Path(root) / name
            if p.is_symlink() and not p.exists():
                if format_from_name(p)[0] is not None:
                    raise EtlFormatError(f"{p}: a link to {os.readlink(p)}, which is not there; "
                                         f"mend or remove the link")
                continue
            out.append(p)
    return sorted(out)


# Databases that are one set of scans twice, grey and binary (AIST's descriptions):
# merging them would put every writer in the data twice, under two ids.
SAME_WRITERS = (("ETL9G", "ETL9B"), ("ETL8G", "ETL8B2"))


def find_etl_files(
    sources: str | os.PathLike | Sequence[str | os.PathLike],
    fmt: str | None = None,
) -> list[EtlFile]:
    """ETL data files in a folder (searched recursively) or a list of files and folders.

    AIST's *INFO text files and anything not named like ETL data are passed over in a
    folder; a file named explicitly must be ETL data. Files that MAIST generated hold fewer
    classes per writer than AIST's: their folder's manifest says how many, and AIST's
    published record counts are not checked for them. A file reached twice (a folder and
    one of its files, or a folder given twice) is read once.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    paths: list[Path] = []
    origin: dict[Path, int] = {}  # a file's first source, by its resolved path
    for k, source in enumerate(map(Path, sources)):
        before = len(paths)
        if source.is_dir():
            entries = files_in(source)
            if not entries:
                raise EtlFormatError(
                    f"{source}: the folder is empty; unzip AIST's ETL files into it "
                    f"(see data/README.md)"
                )
            data = [p for p in entries if format_from_name(p)[0] is not None]
            if not data:  # stopped before its first file: its manifest says more than this
                check_finished(source, read_manifest(source))
            if fmt is None and not data:
                raise EtlFormatError(
                    f"{source}: {len(entries)} files but none named like ETL data "
                    f"(ETL9G_01, ETL8G_01, ETL8B2C1, ...); see data/README.md"
                )
            paths.extend(data or entries)
        elif source.exists():
            paths.append(source)
        else:
            raise EtlFormatError(f"{source}: no such file or folder")
        for p in paths[before:]:
            origin.setdefault(p.resolve(), k)
    unique = list({p.resolve(): p for p in paths}.values())
    if not unique:
        raise EtlFormatError("no ETL files were given")
    generated = _generated(unique)
    opened = [open_etl(p, fmt, generated.get(p), expect_counts=p not in generated) for p in unique]
    # A source is one argument's files of one ETL database: each database numbers its own
    # writers (ETL1 by sheet, ETL9G by position), so ETL1 and ETL9G in one folder are two.
    real = {f.format.name for p, f in zip(unique, opened) if p not in generated}
    for grey, binary in SAME_WRITERS:
        if {grey, binary} <= real:
            raise EtlFormatError(
                f"{binary} is {grey} made binary, the same writers' characters: merged, each "
                f"writer would count as two people and the writer split would test on hands "
                f"it trained on; give one of {grey} and {binary}")
    keys: dict[tuple[int, str], int] = {}
    for p, f in zip(unique, opened):
        keys.setdefault((origin[p.resolve()], f.format.name), len(keys))
    files = [replace(f, source=keys[origin[p.resolve()], f.format.name])
             for p, f in zip(unique, opened)]
    return sorted(files, key=lambda f: f.source)  # stable: each source's files together


def iter_chunks(etl: EtlFile, chunk_records: int = 2048) -> Iterator[tuple[int, np.ndarray]]:
    """(index of the chunk's first record, structured records), the dummy skipped.

    The file is memory-mapped: a chunk is a view, and only the pages a caller touches
    are read. Selecting by class reads each record's code field, not its 8 KB image, so
    the kanji of ETL9G are passed over without being copied. Memory is bounded by one
    file's mapping, which the kernel can drop at will, not by the data set.
    """
    start = etl.first_sample
    if start >= etl.n_records:
        return
    try:
        mapped = np.memmap(etl.path, dtype=etl.format.dtype, mode="r",
                           offset=start * etl.format.record_size, shape=(etl.n_records - start,))
    except OSError as e:
        raise EtlFormatError(f"{etl.path}: cannot be read ({e.strerror or e}); check that the "
                             f"file is there and readable") from None
    try:
        for i in range(0, len(mapped), chunk_records):
            yield start + i, mapped[i : i + chunk_records]
    finally:
        del mapped


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


# --- selection ----------------------------------------------------------------------------


@dataclass
class Selection:
    """The records of the wanted classes, images already transformed."""

    images: np.ndarray  # (n, ...) whatever `transform` returned; uint8 HxW by default
    labels: np.ndarray  # (n,) class index
    writers: np.ndarray  # (n,) global writer (data set) id
    codes: np.ndarray  # (n,) raw code field
    files: list[Path]


def writer_ids(etl: EtlFile, positions: np.ndarray, recs: np.ndarray, base: int) -> np.ndarray:
    """Global writer id of each record from its position in the file.

    ETL9G holds 4 writers x 3036 records per file, ETL8G 5 x 956: position // 3036 is the
    writer within the file, and file ETL9G_07 starts at writer 24. Files without a number
    take the ids after those of the files before them (`base`). The M type carries the
    writer's sheet number in each record.
    """
    fmt = etl.format
    rpw = etl.records_per_writer or fmt.records_per_writer
    if rpw is None:
        return recs["sheet"].astype(np.int64)
    local = (positions - etl.first_sample) // rpw
    if fmt.writers_per_file and etl.number is not None:
        base = (etl.number - 1) * fmt.writers_per_file
    return base + local


Transform = Callable[[np.ndarray, int], np.ndarray]  # (images (k, H, W), max_level) -> any
# (packed (k, H*W/2) uint8, height, width, max_level) -> the same as Transform's output
PackedTransform = Callable[[np.ndarray, int, int, int], np.ndarray]


def apply_transform(
    transform: Transform | None, recs: np.ndarray, fmt: EtlFormat,
    packed: PackedTransform | None = None,
) -> np.ndarray:
    """Decode records' images and transform them. `packed`, where given, does the same
    work straight from 4-bit records (preprocess.seed_packed), skipping the decoded copy."""
    if packed is not None and fmt.bits == 4:
        return packed(recs["image"], fmt.height, fmt.width, fmt.max_level)
    images = decode_images(recs, fmt)
    return transform(images, fmt.max_level) if transform is not None else images


def _pipeline(
    files: Sequence[EtlFile],
    work: Callable[[EtlFile, int, np.ndarray], object],
    chunk_records: int,
    workers: int,
) -> Iterator[tuple[EtlFile, int, np.ndarray, object]]:
    """(file, first, records, work(file, first, records)) for every chunk, in file order.

    With workers > 1, `work` runs on a thread pool (numpy, BLAS and maist._box release
    the GIL) while the next chunk is read; at most 2 x workers chunks are in flight, so
    memory stays bounded by a few chunks.
    """
    chunks = ((etl, first, recs) for etl in files for first, recs in iter_chunks(etl, chunk_records))
    if workers <= 1:
        for etl, first, recs in chunks:
            yield etl, first, recs, work(etl, first, recs)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    # One BLAS thread per worker: BLAS's own threads on top of ours oversubscribe the cores.
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        for etl, first, recs in chunks:
            pending.append((etl, first, recs, pool.submit(work, etl, first, recs)))
            if len(pending) >= 2 * workers:
                etl_, first_, recs_, fut = pending.popleft()
                yield etl_, first_, recs_, fut.result()
        while pending:
            etl_, first_, recs_, fut = pending.popleft()
            yield etl_, first_, recs_, fut.result()


def default_workers() -> int:
    """Decoding threads: every core (numpy, BLAS and maist._box release the GIL)."""
    return os.cpu_count() or 1


def iter_decoded(
    files: Sequence[EtlFile],
    transform: Transform | None = None,
    chunk_records: int = 2048,  # 6 MB of 28x28 output a chunk: few thread hand-offs
    workers: int | None = None,
    packed: PackedTransform | None = None,
) -> Iterator[tuple[EtlFile, int, np.ndarray, np.ndarray]]:
    """Every record, decoded (and transformed), a chunk at a time: (file, first, codes, images).

    For converting a whole data set: memory is a few chunks, whatever the input's size.
    """

    def work(etl: EtlFile, first: int, recs: np.ndarray) -> np.ndarray:
        check_codes(etl, first, recs)
        return apply_transform(transform, recs, etl.format, packed)

    workers = default_workers() if workers is None else workers
    for etl, first, recs, images in _pipeline(files, work, chunk_records, workers):
        yield etl, first, recs["jis"].astype(np.int64), images


def select(
    files: Sequence[EtlFile],
    class_set: ClassSet,
    transform: Transform | None = None,
    chunk_records: int = 2048,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    packed: PackedTransform | None = None,
) -> Selection:
    """Read the records of `class_set` from `files`; decode and transform only those.

    `transform(images uint8 (k, H, W), max_level)` runs on each chunk's selected images,
    so memory is bounded by the selection, not by the input (ETL9G is 5 GB). Records of
    other classes (ETL9G's 2965 kanji) are read past. `progress(n_bytes)` is called per chunk.
    `packed` is the transform's fast path from packed 4-bit records (see apply_transform).
    `workers` threads decode (default: every core).
    """
    tables = {}
    for etl in files:
        if etl.format.name not in tables:
            codes = class_codes(class_set, etl.format)
            table = class_set.label_table(np.where(codes >= 0, codes, 0xFFFF))
            if (codes < 0).any():
                table[0xFFFF] = -1
            tables[etl.format.name] = table

    def work(etl: EtlFile, first: int, recs: np.ndarray):
        check_codes(etl, first, recs)
        labels = tables[etl.format.name][recs["jis"].astype(np.int64)]
        keep = np.flatnonzero(labels >= 0)
        if not len(keep):
            return keep, labels[keep], None
        return keep, labels[keep], apply_transform(transform, recs[keep], etl.format, packed)

    workers = default_workers() if workers is None else workers
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("images", "labels", "writers", "codes")}
    # Writer ids: as each source numbers them (writer_ids), after every id of the sources
    # before it, so that two sources' writers never share an id (AIST's ETL9G_01 and a
    # synthetic ETL9G_01 both start at writer 0).
    base, max_writer, current = 0, -1, None
    offset, max_global, source = 0, -1, None
    for etl, first, recs, (keep, labels, images) in _pipeline(files, work, chunk_records, workers):
        if etl.source != source:  # a new source: its writers follow every one so far
            offset, source, base, max_writer = max_global + 1, etl.source, 0, -1
        if etl is not current:  # a new file: its writers follow the last file's
            base, current = max_writer + 1, etl
        local = writer_ids(etl, first + np.arange(len(recs)), recs, base)
        max_writer = max(max_writer, int(local.max()))
        writers = offset + local
        max_global = max(max_global, int(writers.max()))
        if len(keep):
            parts["images"].append(images)
            parts["labels"].append(labels)
            parts["writers"].append(writers[keep])
            parts["codes"].append(recs["jis"][keep].astype(np.int64))
        if progress is not None:
            progress(len(recs) * etl.format.record_size)
    if not parts["labels"]:
        names = ", ".join(str(f.path) for f in files[:3]) + (" ..." if len(files) > 3 else "")
        raise EtlFormatError(
            f"{names}: no records of the {len(class_set)} classes of {class_set.name}; "
            f"these files hold other characters (ETL1/ETL6 hold katakana, digits and "
            f"letters): pick a class set or files that have them"
        )
    return Selection(
        images=np.concatenate(parts["images"]),
        labels=np.concatenate(parts["labels"]).astype(np.int64),
        writers=np.concatenate(parts["writers"]),
        codes=np.concatenate(parts["codes"]),
        files=[f.path for f in files],
    )


def total_bytes(files: Iterable[EtlFile]) -> int:
    return sum(f.n_records * f.format.record_size for f in files)


__all__ = [
    "EtlFormatError",
    "EtlCountWarning",
    "EtlFormat",
    "EtlFile",
    "FORMATS",
    "Selection",
    "open_etl",
    "find_etl_files",
    "iter_chunks",
    "decode_images",
    "unpack_4bit",
    "pack_images",
    "new_records",
    "write_etl",
    "select",
    "iter_decoded",
    "record_chars",
    "class_codes",
    "is_etl_source",
    "read_manifest",
    "MANIFEST",
]
