"""The MAIST data set: 28x28 images in train, val and test splits, cached and batched.

    build(sources, classes, ...)  -> MaistData   ETL files through data.etl, or the cache
    MaistData.save / load         <-> .npz       x_train (n, 784) float32, y_train (n,) int, ...
    Split.batch_indices(step, n, sampling)      the batch of a step: per-epoch shuffles
                                  ('epoch', the tutorial's next_batch) or with replacement
                                  ('random', the blog's)
    split_by_writer / split_at_random           who goes where: never one writer in two splits
    data.replay                                 a replay of others' handwriting mixed in

Where a data set comes from (ETL files, a built .npz, pictures, the touch drawings) is
data.sources' business; this module holds the set itself and the ETL build.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import DatasetError
from ..fileio import atomic_path, overlaps, remove_stale_parts
from ..geometry import IMAGE_PIXELS, IMAGE_SIZE
from ..paths import data_dir
from . import etl
from .classes import DEFAULT_CLASSES, get_class_set, voicing
from .preprocess import ALIASES, DEFAULT_PREPROCESS, get_preprocessor

FORMAT_VERSION = 4  # bump when preprocessing or the .npz layout changes: old caches rebuild
# 2: centered's centre of mass summed in float64 (a half-pixel centre no longer rounds by
# float32 summation order); 3: pixels stored as uint8
SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # 200 writers -> 160 / 20 / 20


@dataclass
class Split:
    """One split: images as rows of 784 bytes, integer labels, and writer ids.

    Pixels are kept as uint8 (0..255, as MNIST's), a quarter of float32's memory: ETL9G's
    607,200 images of all 3,036 classes are 476 MB. A network gets float32 in [0, 1], made
    a batch at a time (take) or for a whole split (x). Float images given to the
    constructor are quantised to the nearest 1/255.
    """

    pixels: np.ndarray  # (n, 784) uint8, ink 0..255
    y: np.ndarray  # (n,) int64 class index
    writers: np.ndarray  # (n,) int64; -1 where unknown
    seed: int = 0

    def __post_init__(self):
        self.pixels = to_pixels(self.pixels)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def x(self) -> np.ndarray:
        """(n, 784) float32 in [0, 1]: a new array, of the whole split."""
        return self.take(slice(None))

    def take(self, idx) -> np.ndarray:
        """The rows `idx` as float32 in [0, 1]: what a batch feeds."""
        return self.pixels[idx].astype(np.float32) * np.float32(1 / 255)

    def images(self) -> np.ndarray:
        return self.x.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)

    # Batches as a pure function of the step, so a resumed run draws the same batches.
    def own_rows(self) -> "Split":
        """The rows that are the data's own (a replayed split: the user's, not the replay)."""
        return self

    def batch_indices(self, step: int, batch_size: int, sampling: str = "epoch") -> np.ndarray:
        """Indices of the batch for `step`: 'epoch' shuffles once per pass, 'random'
        draws with replacement as the blog's random_index did."""
        return draw(len(self), self.seed, step, batch_size, sampling)


def draw(n: int, seed: int, step: int, batch_size: int, sampling: str = "epoch") -> np.ndarray:
    """Step `step`'s batch of indices into n rows, a pure function of (seed, step)."""
    if n == 0:
        raise DatasetError("cannot draw a batch from an empty split")
    if sampling == "random":
        return np.random.default_rng([seed, step]).integers(0, n, batch_size)
    if sampling != "epoch":
        raise DatasetError(f"unknown sampling {sampling!r}; use 'epoch' or 'random'")
    start = step * batch_size
    out = np.empty(batch_size, dtype=np.int64)
    filled = 0
    while filled < batch_size:
        epoch, pos = divmod(start + filled, n)
        perm = np.random.default_rng([seed, 1_000_003, epoch]).permutation(n)
        take = min(batch_size - filled, n - pos)
        out[filled : filled + take] = perm[pos : pos + take]
        filled += take
    return out


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
        remove_stale_parts(path.parent)
        arrays = {"classes": np.array(self.classes), "meta": np.array(json.dumps(self.meta))}
        for name in SPLITS:
            s = self.split(name)
            arrays[f"x_{name}"] = s.pixels
            arrays[f"y_{name}"] = s.y
            arrays[f"writers_{name}"] = s.writers
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, seed: int = 0) -> "MaistData":
        """Read an .npz written by save(), checking what comes back: any damage (a
        truncated or corrupt file, a missing key, a wrong shape or dtype, labels out of
        range, non-finite pixels) is a DatasetError, never a wrong result."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except FileNotFoundError:
            raise DatasetError(
                f"{path}: no such file; build it with scripts/build_maist.py"
            ) from None
        except IsADirectoryError:
            raise DatasetError(f"{path}: is a folder, not an .npz") from None
        except PermissionError:
            raise DatasetError(f"{path}: not readable (permission denied)") from None
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise DatasetError(
                f"{path}: not a MAIST .npz ({type(e).__name__}: {e}); rebuild it with "
                f"scripts/build_maist.py"
            ) from None
        return cls.from_arrays(arrays, path, seed)

    @classmethod
    def from_arrays(cls, z: dict, path: Path, seed: int = 0) -> "MaistData":
        def bad(why: str) -> DatasetError:
            return DatasetError(f"{path}: not a MAIST .npz ({why}); rebuild it with "
                                f"scripts/build_maist.py")

        needed = ["classes"] + [f"{k}_{s}" for s in SPLITS for k in ("x", "y")]
        missing = [k for k in needed if k not in z]
        if missing:
            raise bad(f"missing {', '.join(missing)}")
        classes = z["classes"]
        if classes.ndim != 1 or classes.dtype.kind != "U" or not len(classes):
            raise bad("classes is not a list of characters")
        try:
            meta = json.loads(str(z["meta"])) if "meta" in z else {}
        except ValueError:
            raise bad("its meta is not JSON") from None
        splits = {}
        for i, name in enumerate(SPLITS):
            x, y = z[f"x_{name}"], z[f"y_{name}"]
            w = z.get(f"writers_{name}", np.full(len(y), -1, np.int64))
            if (x.dtype != np.uint8 and x.dtype.kind != "f") or y.dtype.kind not in "iu" \
                    or w.dtype.kind not in "iu":
                raise bad(f"{name}: dtypes {x.dtype}/{y.dtype}/{w.dtype}, not uint8 (or float)"
                          f"/int/int")
            if x.ndim not in (2, 3) or x.size != len(x) * IMAGE_PIXELS or y.ndim != 1:
                raise bad(f"{name}: images of shape {x.shape}, not (n, {IMAGE_PIXELS})")
            if not (len(x) == len(y) == len(w)):
                raise bad(f"{name}: {len(x)} images, {len(y)} labels, {len(w)} writers")
            if len(y) and (y.min() < 0 or y.max() >= len(classes)):
                raise bad(f"{name}: labels outside 0..{len(classes) - 1}")
            x = x.reshape(-1, IMAGE_PIXELS)
            if x.dtype.kind == "f" and not np.isfinite(x).all():  # an .npz from before uint8
                raise bad(f"{name}: non-finite pixels")
            splits[name] = Split(x, y.astype(np.int64), w.astype(np.int64), seed=seed + i)
        return cls(splits["train"], splits["val"], splits["test"],
                   tuple(str(c) for c in classes), meta)


# --- splitting ----------------------------------------------------------------------------


MAX_SEED = 2**31 - 1  # numpy, TensorFlow's graph and its ops all take a seed this size


def check_seed(seed, name: str = "seed") -> int:
    """`seed` as an int in 0..MAX_SEED, or a DatasetError that names it."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise DatasetError(f"{name} must be a whole number from 0 to {MAX_SEED}, not {seed!r}",
                           params=(name,))
    return int(seed)


def to_pixels(images: np.ndarray) -> np.ndarray:
    """Images as (n, 784) uint8: floats in [0, 1] rounded to the nearest 1/255."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.reshape(len(images), IMAGE_PIXELS)
    scaled = np.clip(images.reshape(len(images), IMAGE_PIXELS), 0.0, 1.0) * 255.0
    return np.rint(scaled).astype(np.uint8)


def split_by_writer(writers: np.ndarray, seed: int) -> list[np.ndarray]:
    """Indices of train, val and test such that no writer is in two of them."""
    seed = check_seed(seed)
    unique = np.unique(writers)
    if len(unique) < 3:
        raise DatasetError(
            f"a writer split needs at least 3 writers and the data has {len(unique)}; "
            f"split it at random instead", params=("split",)
        )
    order = np.random.default_rng(seed).permutation(unique)
    n_val = max(1, round(len(unique) * SPLIT_FRACTIONS[1]))
    n_test = max(1, round(len(unique) * SPLIT_FRACTIONS[2]))
    groups = [order[n_val + n_test :], order[:n_val], order[n_val : n_val + n_test]]
    return [np.flatnonzero(np.isin(writers, g)) for g in groups]


def split_at_random(n: int, seed: int) -> list[np.ndarray]:
    """Per-image split, 80/10/10, as the blog and public ETL results do; from 3 images on,
    every split has at least one (a run is validated and scored on something)."""
    seed = check_seed(seed)
    perm = np.random.default_rng(seed).permutation(n)
    n_val, n_test = round(n * SPLIT_FRACTIONS[1]), round(n * SPLIT_FRACTIONS[2])
    if n >= 3:
        n_val, n_test = max(1, n_val), max(1, n_test)
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
    x = to_pixels(images)
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


# A synthetic set's manifest, less what does not change the images: what a run's config
# records of it (data.generated), so that a run is reused only on the same generator's set.
_NOT_IDENTITY = ("workers", "complete", "files", "file_names", "seconds", "note")


def generated_by(files: Sequence[etl.EtlFile]) -> list[dict]:
    """For each folder of `files` that MAIST's generator made, in order, its generator
    version and settings; [] for AIST's files. Two sets at one path with different entries
    hold different images (the generator changed, or its settings did), though their file
    names are the same."""
    out = []
    for folder in dict.fromkeys(f.path.parent for f in files):
        manifest = etl.read_manifest(folder)
        if manifest is not None and "generator_version" in manifest:
            out.append({k: v for k, v in manifest.items() if k not in _NOT_IDENTITY})
    return out


def default_cache() -> Path:
    return data_dir() / "cache"


def build(
    sources: str | os.PathLike | Sequence[str | os.PathLike],
    classes: str = DEFAULT_CLASSES,
    preprocess: str = DEFAULT_PREPROCESS,
    split: str = "writer",
    seed: int = 0,
    fmt: str | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MaistData:
    """Read ETL files (a folder, or files) into a MaistData, through the cache unless
    `cache` is False; `cache_dir` defaults to data/cache.

    `progress(done_bytes, total_bytes)` is called as chunks are read.
    """
    seed = check_seed(seed)
    files = etl.find_etl_files(sources, fmt)
    class_set = get_class_set(classes)
    preprocess = ALIASES.get(preprocess, preprocess)
    prep = get_preprocessor(preprocess)
    options = {"classes": class_set.name, "preprocess": preprocess, "split": split, "seed": seed,
               # a class set from a file changes with the file: its characters count
               "chars": hashlib.sha256("".join(class_set.chars).encode()).hexdigest()[:16]}
    path = None
    if cache:
        cache_dir = Path(cache_dir) if cache_dir is not None else default_cache()
        path = cache_dir / f"maist-{cache_key(files, options)}.npz"
        remove_stale_parts(cache_dir)  # a build killed mid-write left its temp file
        if path.exists():
            try:
                return _with_generated(MaistData.load(path, seed=seed), files)
            except DatasetError as e:
                warnings.warn(f"cache {path} is unreadable ({e}); rebuilding it", stacklevel=2)
    total, done = etl.total_bytes(files), 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    # Each chunk's images become bytes as they are made: the set is never whole in float32.
    fields = lambda images, max_level: to_pixels(prep.fields(images, max_level))  # noqa: E731
    packed = None if prep.packed is None else (
        lambda recs, h, w, max_level: to_pixels(prep.packed(recs, h, w, max_level)))
    sel = etl.select(files, class_set, fields, progress=tick, packed=packed)
    absent = [c for c, n in zip(class_set.chars, np.bincount(sel.labels, minlength=len(class_set)))
              if n == 0]
    if absent:
        raise DatasetError(
            f"{len(absent)} of the {len(class_set)} classes of {class_set.name} have no image "
            f"in these files ({' '.join(absent[:12])}{' ...' if len(absent) > 12 else ''}): a "
            f"model could never learn them. Pick a class set the files hold, or add files "
            f"that hold them{absent_hint(absent)}", params=("classes",))
    train, val, test = make_splits(sel.images, sel.labels, sel.writers, split, seed)
    meta = dict(options, sources=[str(p) for p in sel.files], formats=sorted(
        {f.format.name for f in files}))
    data = _with_generated(MaistData(train, val, test, class_set.chars, meta), files)
    if path is not None:
        data.save(path)
    return data


def _with_generated(data: MaistData, files: Sequence[etl.EtlFile]) -> MaistData:
    """data with meta["generated"] (generated_by) where any of `files` is synthetic, and
    meta["real_etl"]: whether any folder of them is not the generator's (AIST's files). Read
    from the manifests now, not from the cache: a set cached before it was recorded gets
    it too, and the cache key changes with the files. A .npz saved from it keeps both, so
    what it was built from is known after the files have moved."""
    generated = generated_by(files)
    if generated:
        data.meta["generated"] = generated
    data.meta["real_etl"] = any(etl.not_generated(f) for f in {f.path.parent for f in files})
    return data


def absent_hint(absent: Sequence[str]) -> str:
    """What AIST's files can and cannot hold, where that explains a class with no image."""
    voiced_katakana = [c for c in absent if "\u30a1" <= c <= "\u30fa" and voicing(c)]
    if not voiced_katakana:
        return ""
    return (f". No ETL file holds a voiced katakana ({''.join(voiced_katakana[:5])}...): "
            f"ETL1 and ETL6 code katakana in JIS X 0201, which has none. Use katakana46 "
            f"(hiragana71+katakana46 for both scripts), or add a synthetic set "
            f"(make_synthetic.py --classes katakana71) to the sources")


def check_output_path(
    out: str | os.PathLike, inputs: Sequence[str | os.PathLike] = (), overwrite: bool = False
) -> Path:
    """`out` as a safe place for a new .npz: never one of the inputs, nor inside an input
    folder or a folder MAIST manages (the cache, the synthetic set), nor a folder; an
    existing file only with `overwrite`. Its folder is created if need be."""
    out = Path(out)
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    managed = [data_dir() / "cache", data_dir() / "synthetic", data_dir() / "ETL9G"]
    hit = overlaps(out, [Path(p) for p in inputs] + managed)
    if hit is not None:
        raise DatasetError(f"{out}: would write over or into {hit}, which MAIST reads; "
                           f"write the output elsewhere", params=("out",))
    if out.is_dir():
        raise DatasetError(f"{out}: is a folder; give a file name such as {out / 'maist.npz'}",
                           params=("out",))
    if out.exists() and not overwrite:
        raise DatasetError(f"{out}: exists; replace it knowingly, or write elsewhere "
                           f"(nothing was changed)", params=("force", "out"))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatasetError(f"{out.parent}: cannot be created ({e.strerror}); write elsewhere",
                           params=("out",)) from None
    if not os.access(out.parent, os.W_OK):
        raise DatasetError(f"{out.parent}: cannot be written to; write elsewhere",
                           params=("out",))
    return out


def summary(data: MaistData) -> list[str]:
    """One line per split: images, classes, writers (a replayed training split: the
    user's own, then what is replayed)."""
    lines = []
    for name in SPLITS:
        s = data.split(name)
        s = s.own_rows()
        writers = len(np.unique(s.writers[s.writers >= 0]))
        lines.append(
            f"{name:5s} {len(s):6d} images  {len(np.unique(s.y)):3d} classes  {writers:4d} writers"
        )
    replay = data.meta.get("replay")
    if replay:
        lines.append(f"replay {replay['images']} training images of {replay['path']}, "
                     f"{replay['share']:.0%} of each batch, filling the classes evenly")
    return lines


