"""ETL files found and opened: sizes checked against the format, nothing decoded yet.

    find_etl_files(dir_or_files) -> [EtlFile]   name, format and record count
    is_etl_source(path)          -> bool        a file named like ETL data, or a folder of them
    iter_chunks(etl_file)        -> (first, recs)  structured records, a chunk at a time
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ...errors import EtlFormatError
from .formats import (
    FORMATS,
    EtlCountWarning,
    EtlFormat,
    expected_records,
    format_from_name,
    get_format,
)
from .manifest import check_finished, generated_writers, read_manifest

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


def is_etl_source(path: str | os.PathLike) -> bool:
    """A file named like ETL data (ETL9G_01, ETL8B2C1, ...), or a folder holding one."""
    path = Path(path)
    if path.is_file():
        return format_from_name(path)[0] is not None
    return path.is_dir() and any(format_from_name(p)[0] is not None
                                 for _, _, names in os.walk(path) for p in map(Path, names))


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
    generated = generated_writers(unique)
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


