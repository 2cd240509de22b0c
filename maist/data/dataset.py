"""The MAIST data set: ETL records -> 28x28 images, split by writer, cached, batched.

    build(sources, ...)      -> MaistData   reads ETL files through maist.etl, or the cache
    MaistData.save / load    <-> .npz       x_train (n, 784) float32, y_train (n,) int, ...
    Split.batch_indices(step, n, sampling)  the batch of a step: per-epoch shuffles ('epoch',
                             the tutorial's next_batch) or with replacement ('random', the blog's)
    resolve_data(path)       None -> data/ETL9G if a user put AIST's files there, else synthetic
    from_images / load_touch_hiragana       pictures from elsewhere, e.g. the touch drawings
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
from . import classes as kana
from . import etl
from .preprocess import DEFAULT_PREPROCESS, get_preprocessor

FORMAT_VERSION = 1  # bump when preprocessing or the .npz layout changes: old caches rebuild
SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # 200 writers -> 160 / 20 / 20
REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "data"


@dataclass
class Split:
    """One split: images as rows of 784 floats, integer labels, and writer ids."""

    x: np.ndarray  # (n, 784) float32 in [0, 1]
    y: np.ndarray  # (n,) int64 class index
    writers: np.ndarray  # (n,) int64; -1 where unknown
    seed: int = 0

    def __len__(self) -> int:
        return len(self.y)

    def images(self) -> np.ndarray:
        return self.x.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)

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
            arrays[f"x_{name}"] = s.x
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
            if x.dtype.kind != "f" or y.dtype.kind not in "iu" or w.dtype.kind not in "iu":
                raise bad(f"{name}: dtypes {x.dtype}/{y.dtype}/{w.dtype}, not float/int/int")
            if x.ndim not in (2, 3) or x.size != len(x) * IMAGE_PIXELS or y.ndim != 1:
                raise bad(f"{name}: images of shape {x.shape}, not (n, {IMAGE_PIXELS})")
            if not (len(x) == len(y) == len(w)):
                raise bad(f"{name}: {len(x)} images, {len(y)} labels, {len(w)} writers")
            if len(y) and (y.min() < 0 or y.max() >= len(classes)):
                raise bad(f"{name}: labels outside 0..{len(classes) - 1}")
            x = np.asarray(x, dtype=np.float32).reshape(-1, IMAGE_PIXELS)
            if not np.isfinite(x).all():
                raise bad(f"{name}: non-finite pixels")
            splits[name] = Split(x, y.astype(np.int64), w.astype(np.int64), seed=seed + i)
        return cls(splits["train"], splits["val"], splits["test"],
                   tuple(str(c) for c in classes), meta)


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


def find_files(
    sources: str | os.PathLike | Sequence[str | os.PathLike], fmt: str | None = None
) -> list[etl.EtlFile]:
    """ETL files of each source, with the records per writer of a synthetic set (from its
    manifest) passed to the reader, which knows nothing of the generator."""
    from ..synth import generator as synth

    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    files: list[etl.EtlFile] = []
    for source in map(Path, sources):
        folder = source if source.is_dir() else source.parent
        files += etl.find_etl_files(source, fmt, synth.records_per_writer(folder))
    return files


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
    preprocess: str = DEFAULT_PREPROCESS,
    split: str = "writer",
    seed: int = 0,
    fmt: str | None = None,
    cache_dir: str | os.PathLike | None = DATA_DIR / "cache",
    progress: Callable[[int, int], None] | None = None,
) -> MaistData:
    """Read ETL files (a folder, or files) into a MaistData, through the cache if allowed.

    `progress(done_bytes, total_bytes)` is called as chunks are read.
    """
    files = find_files(sources, fmt)
    class_set = kana.get_class_set(classes)
    prep = get_preprocessor(preprocess)
    options = {"classes": classes, "preprocess": preprocess, "split": split, "seed": seed}
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"maist-{cache_key(files, options)}.npz"
        remove_stale_parts(cache_dir)  # a build killed mid-write left its temp file
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

    sel = etl.select(files, class_set, prep.fields, progress=tick, packed=prep.packed)
    train, val, test = make_splits(sel.images, sel.labels, sel.writers, split, seed)
    meta = dict(options, sources=[str(p) for p in sel.files], formats=sorted(
        {f.format.name for f in files}))
    data = MaistData(train, val, test, class_set.chars, meta)
    if cache is not None:
        data.save(cache)
    return data


def check_output_path(
    out: str | os.PathLike, inputs: Sequence[str | os.PathLike] = (), overwrite: bool = False
) -> Path:
    """`out` as a safe place for a new .npz: never one of the inputs, nor inside an input
    folder or a folder MAIST manages (the cache, the synthetic set), nor a folder; an
    existing file only with `overwrite`. Its folder is created if need be."""
    out = Path(out)
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    managed = [DATA_DIR / "cache", DATA_DIR / "synthetic", DATA_DIR / "ETL9G"]
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

    if len(images) != len(chars):
        raise DatasetError(f"{len(images)} pictures but {len(chars)} labels")
    kept = np.array([i for i, c in enumerate(chars) if c in class_set.chars], dtype=np.int64)
    if not len(kept):
        raise DatasetError(
            f"none of the {len(chars)} pictures is of a class of {class_set.name}"
        )
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
    from ..synth import generator as synth

    out = DATA_DIR / "synthetic"
    cfg = synth.SynthConfig(**synth.DEFAULT)
    if not synth.is_current(out, cfg):
        # An older generator's set (its manifest says so) is ours to replace; files with
        # no manifest are not, and generate() refuses them.
        ours = (out / synth.MANIFEST).is_file()
        log(f"No ETL files in {real}: generating the synthetic ETL9G-format set in {out}"
            f"{' (the generator changed since it was made)' if ours else ' (once)'}.")
        synth.generate(out, cfg, overwrite=ours)
    return out


PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")


def picture_label(path: Path, root: Path, class_set: kana.ClassSet) -> str | None:
    """The class a user's picture is labelled with: its folder's name (mine/あ/0001.png)
    or, for a picture directly in `root`, the first character of its name (あ_01.png)."""
    if path.parent != root and path.parent.name in class_set.chars:
        return path.parent.name
    if path.parent == root and path.stem[:1] in class_set.chars:
        return path.stem[:1]
    return None


def from_picture_folder(
    folder: str | os.PathLike, classes: str = "hiragana71", preprocess: str = DEFAULT_PREPROCESS,
    split: str = "random", seed: int = 0,
) -> MaistData:
    """A folder of a user's own pictures (PNG/JPEG), labelled by sub-folder or file name,
    as a data set: each picture preprocessed as `preprocess` does, split at random per
    picture (a folder is one writer). For fine-tuning a model on one's own hand."""
    from .preprocess import from_picture

    root = Path(folder)
    class_set = kana.get_class_set(classes)
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in PICTURE_SUFFIXES)
    if not paths:
        raise DatasetError(f"{root}: no PNG or JPEG pictures in it; put them in sub-folders "
                           f"named by their character (mine/あ/0001.png)", params=("data",))
    labels = [picture_label(p, root, class_set) for p in paths]
    unknown = sorted({str(p.relative_to(root)) for p, c in zip(paths, labels) if c is None})
    if unknown:
        raise DatasetError(
            f"{root}: {len(unknown)} pictures have no {class_set.name} label "
            f"({', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}); name their "
            f"folder (or their file's first character) after a class", params=("data",))
    if len(paths) < 3:
        raise DatasetError(f"{root}: {len(paths)} pictures; a train/val/test split needs 3 "
                           f"or more", params=("data",))
    x = np.stack([from_picture(p, preprocess) for p in paths]).reshape(-1, IMAGE_PIXELS)
    y = np.array([class_set.index(c) for c in labels], dtype=np.int64)
    writers = np.zeros(len(y), np.int64)
    parts = split_at_random(len(y), seed)
    splits = [Split(x[i], y[i], writers[i], seed=seed + k) for k, i in enumerate(parts)]
    meta = {"classes": classes, "preprocess": preprocess, "split": "random", "seed": seed,
            "sources": [str(root)], "formats": ["pictures"]}
    return MaistData(*splits, class_set.chars, meta)


def from_touch(
    path: str | os.PathLike, classes: str = "hiragana71", preprocess: str = DEFAULT_PREPROCESS,
    split: str = "writer", seed: int = 0, drawers: Sequence[Sequence[int]] | None = None,
) -> MaistData:
    """The touch-hiragana drawings as a data set, split by drawer (the sample index: one
    drawer's row of the set) or at random. `drawers`, if given, is the (train, val, test)
    drawer ids, for an exact split."""
    images, chars = load_touch_hiragana(path)
    with np.load(Path(path) / TOUCH_FILE if Path(path).is_dir() else path) as z:
        drawer = np.asarray(z["sample_idx"], dtype=np.int64)
    class_set = kana.get_class_set(classes)
    x, y, kept = from_images(images, chars, class_set, preprocess)
    drawer = drawer[kept]
    if drawers is not None:
        parts = [np.flatnonzero(np.isin(drawer, list(d))) for d in drawers]
    elif split == "writer":
        parts = split_by_writer(drawer, seed)
    else:
        parts = split_at_random(len(y), seed)
    splits = [Split(x[i], y[i], drawer[i], seed=seed + k) for k, i in enumerate(parts)]
    meta = {"classes": classes, "preprocess": preprocess, "split": split, "seed": seed,
            "sources": [str(path)], "formats": ["touch-hiragana"]}
    return MaistData(*splits, class_set.chars, meta)


def is_touch_npz(path: Path) -> bool:
    if path.is_dir():
        return (path / TOUCH_FILE).is_file()
    if path.suffix != ".npz":
        return False
    try:
        with np.load(path, allow_pickle=False) as z:
            return {"images", "chars"} <= set(z.files)
    except Exception:  # any damage: not this kind; MaistData.load reports it properly
        return False


def load(
    path: str | os.PathLike | None = None,
    log: Callable[[str], None] = print,
    **options,
) -> MaistData:
    """A .npz as it is, ETL files (a folder or file) built with `options`, a folder of
    one's own pictures (mine/あ/0001.png), or the touch-hiragana set (split by drawer)."""
    p = resolve_data(path, log)
    if is_touch_npz(p):
        data = from_touch(p, **options)
    elif p.suffix == ".npz":
        data = MaistData.load(p, seed=options.get("seed", 0))
    elif p.is_dir() and not has_etl_files(p) and any(
            q.suffix.lower() in PICTURE_SUFFIXES for q in p.rglob("*")):
        data = from_picture_folder(p, **options)
    else:
        data = build(p, **options)
    data.meta["path"] = str(p)  # so a run can find its data again (scripts/evaluate.py)
    return data


TOUCH_FILE = "touch_hiragana_300.npz"  # the touch-hiragana set's file name


def load_touch_hiragana(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """The 745 touch-screen drawings (CC BY 4.0, Mediotaku/Kanji-Recognition):
    (images (n, 300, 300) uint8, dark ink on white, chars). `path`: the .npz or its folder."""
    path = Path(path)
    if path.is_dir():
        path = path / TOUCH_FILE
    if not path.is_file():
        raise DatasetError(
            f"{path}: the touch-hiragana set is not here; give the path of "
            f"{TOUCH_FILE} or of its folder"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            images, chars = z["images"], [str(c) for c in z["chars"]]
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise DatasetError(f"{path}: not the touch-hiragana .npz ({e})") from None
    if images.ndim != 3 or len(images) != len(chars):
        raise DatasetError(f"{path}: images {images.shape} do not match {len(chars)} labels")
    return images, chars


def writer_grid(source: str | os.PathLike, writers: int = 6,
                class_set: kana.ClassSet = kana.hiragana71) -> tuple[np.ndarray, np.ndarray, int]:
    """Raw fields of the first `writers` writers x every class, for a contact sheet:
    (grid (writers, C, H, W) uint8, writer ids, max_level). A missing sample stays blank."""
    files = find_files(source)
    sel = etl.select(files[: max(1, -(-writers // 4))], class_set)
    ids = np.unique(sel.writers)[:writers]
    grid = np.zeros((len(ids), len(class_set), *sel.images.shape[1:]), np.uint8)
    for r, w in enumerate(ids):
        mine = sel.writers == w
        grid[r, sel.labels[mine]] = sel.images[mine]
    return grid, ids, files[0].format.max_level


def side_by_side(synthetic: Split, x: np.ndarray, y: np.ndarray, classes: Sequence[str],
                 per_source: int = 4) -> tuple[np.ndarray, list[str]]:
    """Rows of `per_source` synthetic images then `per_source` others (x, y), for each
    class the others have: ((2 * per_source, C', 28, 28), row labels)."""
    present = sorted(set(np.asarray(y).tolist()))
    grid = np.zeros((2 * per_source, len(present), IMAGE_SIZE, IMAGE_SIZE), np.float32)
    for col, c in enumerate(present):
        for offset, (images, labels) in enumerate(((synthetic.x, synthetic.y), (x, y))):
            idx = np.flatnonzero(labels == c)[:per_source]
            for r, i in enumerate(idx):
                grid[offset * per_source + r, col] = images[i].reshape(IMAGE_SIZE, IMAGE_SIZE)
    rows = [f"synthetic {r + 1}" for r in range(per_source)]
    return grid, rows + [f"touch {r + 1}" for r in range(per_source)]


def touch_grid(images: np.ndarray, chars: Sequence[str], class_set: kana.ClassSet = kana.hiragana71,
               per_class: int = 6) -> tuple[np.ndarray, list[str]]:
    """The first `per_class` drawings of each class present, as (per_class, C', H, W) ink in
    [0, 1] (bright on dark, as ETL's), and the classes C' that have any."""
    present = [c for c in class_set.chars if c in chars]
    grid = np.zeros((per_class, len(present), *images.shape[1:]), np.float32)
    for col, c in enumerate(present):
        idx = [i for i, ch in enumerate(chars) if ch == c][:per_class]
        for row, i in enumerate(idx):
            grid[row, col] = 1.0 - images[i] / 255.0
    return grid, present
