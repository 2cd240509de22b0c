"""Synthetic writers written as real ETL9G files, four writers a file, with a manifest.

    generate(out_dir, cfg) -> [paths]      ETL9G_01 ... read by data.etl as AIST's are
    is_current(folder, cfg)                the set there was made by this generator and cfg
    written_by_us(folder)                  the files a generate() wrote, and nothing else

The files carry the characters' JIS X 0208 codes, so the real reader reads them; the
manifest beside them (data.etl.MANIFEST) says what the reader needs to know: records per
writer, whether the generation finished, the files it wrote, the generator's version and
settings. The same seed gives byte-identical files: writer w draws from
default_rng([seed, w]), and writers are rendered by a pool of processes in any order.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from ..data import etl
from ..data.classes import char_to_jis, get_class_set, reading
from ..errors import EtlFormatError, SynthError
from ..fileio import write_text_atomic
from ..signals import held_signals, stop_on_sigterm, worker_init
from .config import GENERATOR_VERSION, WRITERS_PER_FILE, SynthConfig
from .render import render_writer
from .sheet import CELLS, cell, sheet_order
from .strokes import (
    character_strokes,
)


def etl_reading(ch: str) -> bytes:
    """ETL's 8-byte ASCII reading field, e.g. b'KA.HIRA ' (blank where a character has none
    that ETL writes, as for kanji)."""
    return reading(ch).ljust(8)[:8].encode("ascii")


def writer_records(writers: range, images: list[np.ndarray], chars: tuple[str, ...]) -> np.ndarray:
    """ETL9G records for consecutive writers, each writing `chars` in JIS order."""
    fmt = etl.FORMATS["ETL9G"]
    recs = etl.new_records(fmt, len(writers) * len(chars))
    codes = [char_to_jis(c) for c in chars]
    order = np.array(sheet_order(chars))  # ETL9G runs in JIS order
    for k, (w, imgs) in enumerate(zip(writers, images)):
        rng = np.random.default_rng([10_007, w])  # the writer's sex and age
        sex, age = rng.integers(1, 3), rng.integers(16, 60)
        for j, ci in enumerate(order):
            r = recs[k * len(chars) + j]
            r["sheet"] = 1 + w * 60 + j // CELLS
            r["jis"] = codes[ci]
            r["reading"] = etl_reading(chars[ci])
            r["serial"] = 1 + w * len(chars) + j
            r["sex"], r["age"] = sex, age
            r["gathered"], r["scanned"] = 7402, 7405
            r["pos_x"], r["pos_y"] = cell(j)
        recs["image"][k * len(chars) : (k + 1) * len(chars)] = etl.pack_images(imgs[order], fmt)
    return recs


_OURS = re.compile(r"^ETL9G_\d{2,}$")  # the names generate() gives its files


def file_name(number: int) -> str:
    return f"ETL9G_{number:02d}"


def written_by_us(out: Path) -> list[Path]:
    """The files in `out` that an earlier generate() wrote there, by its manifest: the only
    files that overwriting may remove. Files of AIST's, or anyone's, are never touched;
    where the folder holds ETL9G files that no manifest of ours names, a SynthError
    says so and nothing is removed."""
    if not out.is_dir():
        return []
    candidates = sorted(p for p in out.iterdir() if _OURS.match(p.name))
    try:
        manifest = etl.read_manifest(out)
    except EtlFormatError:
        manifest = None  # damaged: nothing can be vouched for
    if manifest is None:
        names: set[str] = set()
    elif manifest.get("file_names") is not None:
        names = set(manifest["file_names"])
    else:  # an older manifest: its files were ETL9G_01 .. ETL9G_NN
        names = {file_name(k) for k in range(1, int(manifest.get("files") or 0) + 1)}
        if not manifest.get("complete"):  # interrupted before it counted: all of the pattern
            names = {p.name for p in candidates}
    foreign = [p for p in candidates if p.name not in names or not p.is_file()]
    if foreign:
        raise SynthError(
            f"{out}: holds {len(foreign)} ETL9G files that MAIST's manifest does not name "
            f"({', '.join(p.name for p in foreign[:3])}{' ...' if len(foreign) > 3 else ''}); "
            f"they may be AIST's, so nothing was removed. Generate into another folder",
            params=("out",))
    return [p for p in candidates if p.name in names]


def generate(
    out_dir: str | os.PathLike,
    cfg: SynthConfig = SynthConfig(),
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write cfg.writers writers as ETL9G_01, ETL9G_02, ... (4 a file) and a manifest.

    `overwrite` replaces a set that generate() wrote there before (and only its files);
    an unfinished one is replaced without asking.
    """
    out = Path(out_dir)
    class_set = get_class_set(cfg.classes)
    chars = class_set.chars
    for ch in chars:  # every character drawable before anything is written or removed
        character_strokes(ch)
    ours = written_by_us(out)
    if ours and not overwrite and is_complete(out):
        raise SynthError(
            f"{out}: already holds a synthetic set of {len(ours)} ETL9G files; replace it "
            f"(overwrite) or generate into another folder", params=("overwrite", "out"))
    for p in ours:
        p.unlink()
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    paths: list[Path] = []
    manifest = dict(asdict(cfg), generator_version=GENERATOR_VERSION,
                    records_per_writer=len(chars), complete=False,
                    file_names=[file_name(k + 1) for k in range(-(-cfg.writers // WRITERS_PER_FILE))],
                    note="Synthetic ETL9G-format data from KanjiVG strokes (CC BY-SA 3.0).")
    write_text_atomic(out / etl.MANIFEST, json.dumps(manifest, indent=2))  # before any file
    workers = max(1, min(cfg.workers, os.cpu_count() or 1))
    with stop_on_sigterm(), rendered_writers(cfg, workers) as writer_images:
        batch: list[np.ndarray] = []
        for w, imgs in enumerate(writer_images):
            batch.append(imgs)
            if progress is not None:
                progress(1)
            if len(batch) == WRITERS_PER_FILE or w == cfg.writers - 1:
                first = w + 1 - len(batch)
                number = first // WRITERS_PER_FILE + 1
                recs = writer_records(range(first, w + 1), batch, chars)
                paths.append(etl.write_etl(out / file_name(number), recs, "ETL9G", overwrite=True))
                batch = []
    manifest.update(complete=True, files=len(paths),
                    seconds=round(time.perf_counter() - start, 1))
    write_text_atomic(out / etl.MANIFEST, json.dumps(manifest, indent=2))
    return paths


def manifest_of(folder: str | os.PathLike) -> dict | None:
    """The folder's manifest through the reader's own check; None where there is none."""
    try:
        return etl.read_manifest(folder)
    except EtlFormatError as e:
        raise SynthError(str(e)) from None


def is_current(folder: str | os.PathLike, cfg: SynthConfig) -> bool:
    """True when `folder` holds a finished set of this generator version and settings."""
    manifest = manifest_of(folder)
    if manifest is None:
        return False
    wanted = dict(asdict(cfg), generator_version=GENERATOR_VERSION)
    wanted.pop("workers")  # results do not depend on it
    return bool(manifest.get("complete")) and all(manifest.get(k) == v for k, v in wanted.items())


def is_complete(folder: str | os.PathLike) -> bool:
    """True when `folder` holds a synthetic set whose generation finished."""
    manifest = manifest_of(folder)
    return bool(manifest and manifest.get("complete"))


@contextlib.contextmanager
def rendered_writers(cfg: SynthConfig, workers: int) -> Iterator[Iterable[np.ndarray]]:
    """render_writer for every writer, in order, on `workers` processes. On Ctrl-C,
    SIGTERM or any error the workers are stopped at once (a pool left to finish its queue
    would render every writer first), and none outlives this process."""
    render = partial(render_writer, cfg=cfg)
    if workers <= 1:
        yield map(render, range(cfg.writers))
        return
    pool = None
    try:
        with held_signals():  # a signal landing while it starts is raised once it has
            pool = multiprocessing.Pool(workers, initializer=worker_init)
        yield pool.imap(render, range(cfg.writers))
        pool.close()
    except BaseException:
        if pool is not None:
            pool.terminate()
        raise
    finally:
        if pool is not None:
            pool.join()
