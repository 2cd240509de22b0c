"""Only the wanted classes decoded: records chosen by code, across files and processes.

    select(files, class_set, transform) -> Selection   images, labels, writers, sources
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from ...errors import EtlFormatError
from ..classes import ClassSet
from .files import EtlFile, find_etl_files, is_etl_source, iter_chunks, open_etl
from .formats import FORMATS, EtlCountWarning, EtlFormat
from .manifest import MANIFEST, read_manifest
from .records import (
    check_codes,
    class_codes,
    decode_images,
    new_records,
    pack_images,
    record_chars,
    unpack_4bit,
    write_etl,
)

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
    work straight from 4-bit records (a preprocessor's `packed`: preprocess.blog_packed),
    skipping the decoded copy."""
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
