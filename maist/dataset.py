"""The MAIST data set: ETL records -> 28x28 images, split by writer, cached, batched.

    build(sources, ...)      -> MaistData   reads ETL files through maist.etl, or the cache
    MaistData.save / load    <-> .npz       x_train (n, 784) float32, y_train (n,) int, ...
    Split.next_batch(n)      per-epoch shuffled batches (the tutorial's mnist.train.next_batch)
    Split.random_index(n)    n indices drawn with replacement (the blog's random_index)
    resolve_data(path)       None -> data/ETL9G if a user put AIST's files there, else synthetic
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import etl, kana
from .preprocess import SIZE, get_preprocessor

FORMAT_VERSION = 1  # bump when preprocessing or the .npz layout changes: old caches rebuild
IMAGE_PIXELS = SIZE * SIZE
SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # 200 writers -> 160 / 20 / 20
REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"


class DatasetError(ValueError):
    """A data set that cannot be built or loaded as asked."""


@dataclass
class Split:
    """One split: images as rows of 784 floats, integer labels, and writer ids."""

    x: np.ndarray  # (n, 784) float32 in [0, 1]
    y: np.ndarray  # (n,) int64 class index
    writers: np.ndarray  # (n,) int64; -1 where unknown
    seed: int = 0
    _epoch_pos: int = field(default=0, repr=False)
    _rng: np.random.Generator | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.y)

    def images(self) -> np.ndarray:
        return self.x.reshape(-1, SIZE, SIZE)

    # Batches as a pure function of the step, so a resumed run draws the same batches.
    def batch_indices(self, step: int, batch_size: int, sampling: str = "epoch") -> np.ndarray:
        """Indices of the batch for `step`: 'epoch' shuffles once per pass, 'random'
        draws with replacement as the blog's random_index did."""
        n = len(self)
        if n == 0:
            raise DatasetError("cannot draw a batch from an empty split")
        if sampling == "random":
            return np.random.default_rng([self.seed, step]).integers(0, n, batch_size)
        if sampling != "epoch":
            raise DatasetError(f"unknown sampling {sampling!r}; use 'epoch' or 'random'")
        start = step * batch_size
        out = np.empty(batch_size, dtype=np.int64)
        filled = 0
        while filled < batch_size:
            epoch, pos = divmod(start + filled, n)
            perm = np.random.default_rng([self.seed, 1_000_003, epoch]).permutation(n)
            take = min(batch_size - filled, n - pos)
            out[filled : filled + take] = perm[pos : pos + take]
            filled += take
        return out

    def next_batch(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the next batch; the order is reshuffled at the start of every epoch."""
        idx = self.batch_indices(self._epoch_pos, batch_size, "epoch")
        self._epoch_pos += 1
        return self.x[idx], self.y[idx]

    def random_index(self, batch_size: int) -> np.ndarray:
        """The blog's sampler: `batch_size` indices drawn uniformly with replacement."""
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        return self._rng.integers(0, len(self), batch_size)


@dataclass
class MaistData:
    train: Split
    val: Split
    test: Split
    classes: tuple[str, ...]
    meta: dict

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def split(self, name: str) -> Split:
        if name not in SPLITS:
            raise DatasetError(f"unknown split {name!r}; use one of {SPLITS}")
        return getattr(self, name)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the .npz that scripts/build_maist.py documents (atomically)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"classes": np.array(self.classes), "meta": np.array(json.dumps(self.meta))}
        for name in SPLITS:
            s = self.split(name)
            arrays[f"x_{name}"] = s.x
            arrays[f"y_{name}"] = s.y
            arrays[f"writers_{name}"] = s.writers
        tmp = path.with_name(path.name + ".part.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, seed: int = 0) -> "MaistData":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                splits = {
                    name: Split(
                        np.asarray(z[f"x_{name}"], dtype=np.float32).reshape(-1, IMAGE_PIXELS),
                        np.asarray(z[f"y_{name}"], dtype=np.int64),
                        np.asarray(z[f"writers_{name}"], dtype=np.int64)
                        if f"writers_{name}" in z
                        else np.full(len(z[f"y_{name}"]), -1, np.int64),
                        seed=seed + i,
                    )
                    for i, name in enumerate(SPLITS)
                }
                classes = tuple(str(c) for c in z["classes"])
                meta = json.loads(str(z["meta"])) if "meta" in z else {}
        except FileNotFoundError:
            raise DatasetError(
                f"{path}: no such file; build it with scripts/build_maist.py"
            ) from None
        except (KeyError, ValueError, OSError, EOFError) as e:
            raise DatasetError(
                f"{path}: not a MAIST .npz ({e}); rebuild it with scripts/build_maist.py"
            ) from None
        for name, s in splits.items():
            if len(s.x) != len(s.y) or (len(s.y) and (s.y.min() < 0 or s.y.max() >= len(classes))):
                raise DatasetError(f"{path}: {name} images and labels disagree; rebuild it")
        return cls(splits["train"], splits["val"], splits["test"], classes, meta)


# --- splitting ----------------------------------------------------------------------------


def split_by_writer(writers: np.ndarray, seed: int) -> list[np.ndarray]:
    """Indices of train, val and test such that no writer is in two of them."""
    unique = np.unique(writers)
    if len(unique) < 3:
        raise DatasetError(
            f"a writer split needs at least 3 writers and the data has {len(unique)}; "
            f"use --split random"
        )
    order = np.random.default_rng(seed).permutation(unique)
    n_val = max(1, round(len(unique) * SPLIT_FRACTIONS[1]))
    n_test = max(1, round(len(unique) * SPLIT_FRACTIONS[2]))
    groups = [order[n_val + n_test :], order[:n_val], order[n_val : n_val + n_test]]
    return [np.flatnonzero(np.isin(writers, g)) for g in groups]


def split_at_random(n: int, seed: int) -> list[np.ndarray]:
    """Per-image split, 80/10/10, as the blog and public ETL results do."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val, n_test = round(n * SPLIT_FRACTIONS[1]), round(n * SPLIT_FRACTIONS[2])
    return [np.sort(perm[n_val + n_test :]), np.sort(perm[:n_val]), np.sort(perm[n_val : n_val + n_test])]


def make_splits(
    images: np.ndarray, labels: np.ndarray, writers: np.ndarray, split: str, seed: int
) -> tuple[Split, Split, Split]:
    if split == "writer":
        parts = split_by_writer(writers, seed)
    elif split == "random":
        parts = split_at_random(len(labels), seed)
    else:
        raise DatasetError(f"unknown split {split!r}; use 'writer' or 'random'")
    x = images.reshape(len(images), IMAGE_PIXELS).astype(np.float32, copy=False)
    return tuple(
        Split(x[idx], labels[idx].astype(np.int64), writers[idx].astype(np.int64), seed=seed + i)
        for i, idx in enumerate(parts)
    )


# --- building and caching -----------------------------------------------------------------


def cache_key(files: Sequence[etl.EtlFile], options: dict) -> str:
    """Changes when any input file's name, size or mtime, an option, or the format does."""
    stats = []
    for f in files:
        st = f.path.stat()
        stats.append([f.path.name, st.st_size, st.st_mtime_ns, f.format.name])
    blob = json.dumps({"files": stats, "options": options, "version": FORMAT_VERSION},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def build(
    sources: str | os.PathLike | Sequence[str | os.PathLike],
    classes: str = "hiragana71",
    preprocess: str = "centered",
    split: str = "writer",
    seed: int = 0,
    fmt: str | None = None,
    cache_dir: str | os.PathLike | None = DATA_DIR / "cache",
    progress: Callable[[int, int], None] | None = None,
) -> MaistData:
    """Read ETL files (a folder, or files) into a MaistData, through the cache if allowed.

    `progress(done_bytes, total_bytes)` is called as chunks are read.
    """
    files = etl.find_etl_files(sources, fmt)
    class_set = kana.get_class_set(classes)
    transform = get_preprocessor(preprocess)
    options = {"classes": classes, "preprocess": preprocess, "split": split, "seed": seed}
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"maist-{cache_key(files, options)}.npz"
        if cache.exists():
            try:
                return MaistData.load(cache, seed=seed)
            except DatasetError as e:
                warnings.warn(f"cache {cache} is unreadable ({e}); rebuilding it", stacklevel=2)
    total, done = etl.total_bytes(files), 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    sel = etl.select(files, class_set, transform, progress=tick)
    train, val, test = make_splits(sel.images, sel.labels, sel.writers, split, seed)
    meta = dict(options, sources=[str(p) for p in sel.files], formats=sorted(
        {f.format.name for f in files}))
    data = MaistData(train, val, test, class_set.chars, meta)
    if cache is not None:
        data.save(cache)
    return data


def summary(data: MaistData) -> list[str]:
    """One line per split: images, classes, writers."""
    lines = []
    for name in SPLITS:
        s = data.split(name)
        writers = len(np.unique(s.writers[s.writers >= 0]))
        lines.append(
            f"{name:5s} {len(s):6d} images  {len(np.unique(s.y)):3d} classes  {writers:4d} writers"
        )
    return lines


def from_images(
    images: np.ndarray, chars: Sequence[str], class_set: kana.ClassSet, how: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pictures of characters from another source -> (x (n, 784), y, kept index).

    Pictures whose character is not in `class_set` are left out; `kept` says which stayed.
    """
    from .preprocess import from_picture

    kept = np.array([i for i, c in enumerate(chars) if c in class_set.chars], dtype=np.int64)
    x = np.stack([from_picture(images[i], how) for i in kept]).reshape(-1, IMAGE_PIXELS)
    y = np.array([class_set.index(chars[i]) for i in kept], dtype=np.int64)
    return x, y, kept


def has_etl_files(folder: Path) -> bool:
    return folder.is_dir() and any(
        etl.format_from_name(p)[0] is not None for p in folder.rglob("*") if p.is_file()
    )


def resolve_data(
    path: str | os.PathLike | None, log: Callable[[str], None] = print
) -> Path:
    """What --data means: a given path as it is; else data/ETL9G if it has AIST's files;
    else the synthetic default, generated on first use."""
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise DatasetError(f"{p}: no such file or folder")
        return p
    real = DATA_DIR / "ETL9G"
    if has_etl_files(real):
        return real
    from . import synth

    out = DATA_DIR / "synthetic"
    if not synth.is_complete(out):
        log(f"No ETL files in {real}: generating the synthetic ETL9G-format set in {out} (once).")
        synth.generate(out, synth.SynthConfig())
    return out


def load(
    path: str | os.PathLike | None = None,
    log: Callable[[str], None] = print,
    **options,
) -> MaistData:
    """A .npz as it is, or ETL files (a folder or file) built with `options`."""
    p = resolve_data(path, log)
    if p.suffix == ".npz":
        data = MaistData.load(p, seed=options.get("seed", 0))
    else:
        data = build(p, **options)
    data.meta["path"] = str(p)  # so a run can find its data again (scripts/evaluate.py)
    return data
