"""Where a data set comes from: each known kind of source, asked in turn.

    load(path, classes=..., preprocess=..., split=..., seed=...)  -> MaistData
    SOURCES                         the registry, asked in order; register(Source(...)) adds one
    load_touch(path) -> TouchSet    the 745 touch-screen drawings, with their drawers
    from_images(images, chars, class_set, how)    pictures from elsewhere -> (x, y, kept)

The kinds: the touch-hiragana .npz (or its folder), a MAIST .npz (scripts/build_maist.py),
a folder or file of ETL records (data.etl), and a folder of one's own pictures labelled by
sub-folder (`mine/<character>/0001.png`) or by the file name's first character. Each
kind has a `recognises(path)` that looks without reading much, and a `load`; the first
kind that recognises a path loads it, so a new kind is one `register(Source(...))`.

Choosing a default when no path is given (AIST's files if you have them, else the
synthetic set, generated once) is not done here: the data layer never calls the
generator. That decision is maist.training.defaults.default_data's.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import DatasetError, MaistError
from ..geometry import IMAGE_PIXELS
from . import etl
from .classes import DEFAULT_CLASSES, ClassSet, get_class_set
from .dataset import MaistData, Split, build, split_at_random, split_by_writer
from .pictures import from_picture
from .preprocess import ALIASES, DEFAULT_PREPROCESS

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")
TOUCH_FILE = "touch_hiragana_300.npz"  # the touch-hiragana set's file name


@dataclass(frozen=True)
class Source:
    """One kind of data source: how to tell it, and how to load it as a MaistData."""

    name: str
    recognises: Callable[[Path], bool]
    # (path, classes, preprocess, split, seed) -> MaistData
    load: Callable[..., MaistData]
    note: str = ""


SOURCES: list[Source] = []


def register(source: Source) -> Source:
    """Add a kind of source; it is asked after the ones already known."""
    SOURCES.append(source)
    return source


def load(
    path: str | os.PathLike,
    classes: str | None = None,
    preprocess: str | None = None,
    split: str | None = None,
    seed: int = 0,
) -> MaistData:
    """The data set at `path`, by the first kind of source that recognises it.

    `classes`, `preprocess` and `split` left as None take the source's own (for ETL files:
    hiragana71, centered24, writer); a built .npz has its own fixed, and refuses others.
    The data set's meta records the path, absolute, so a run can find its data again
    from any working directory.
    """
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: no such file or folder", params=("data",))
    if preprocess is not None:
        preprocess = ALIASES.get(preprocess, preprocess)
    given = {k: v for k, v in dict(classes=classes, preprocess=preprocess, split=split).items()
             if v is not None}
    for source in SOURCES:
        if source.recognises(p):
            data = source.load(p, seed=seed, **given)
            data.meta["path"] = str(p.resolve())
            data.meta.setdefault("source", source.name)
            return data
    kinds = "; ".join(f"{s.name} ({s.note})" for s in SOURCES)
    if p.is_dir() and not any(f.is_file() for f in p.rglob("*")):
        raise DatasetError(f"{p}: the folder holds no files. Give it what MAIST reads: "
                           f"{kinds}", params=("data",))
    raise DatasetError(f"{p}: not a data set MAIST knows. It reads: {kinds}", params=("data",))


def kind(path: str | os.PathLike) -> str | None:
    """The name of the kind of source that would load `path` ("etl", "pictures", ...), or
    None: what a plan decides by before the data is read."""
    p = Path(path)
    return next((s.name for s in SOURCES if p.exists() and s.recognises(p)), None)


# --- pictures from elsewhere --------------------------------------------------------------


def from_images(
    images: np.ndarray, chars: Sequence[str], class_set: ClassSet, how: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pictures of characters from another source -> (x (n, 784), y, kept index).

    Pictures whose character is not in `class_set` are left out; `kept` says which stayed.
    """
    if len(images) != len(chars):
        raise DatasetError(f"{len(images)} pictures but {len(chars)} labels")
    kept = np.array([i for i, c in enumerate(chars) if c in class_set], dtype=np.int64)
    if not len(kept):
        raise DatasetError(f"none of the {len(chars)} pictures is of a class of {class_set.name}",
                           params=("classes",))
    x = np.stack([from_picture(images[i], how) for i in kept]).reshape(-1, IMAGE_PIXELS)
    y = np.array([class_set.index(chars[i]) for i in kept], dtype=np.int64)
    return x, y, kept


# --- the touch drawings -------------------------------------------------------------------


@dataclass(frozen=True)
class TouchSet:
    """The touch-hiragana drawings (CC BY 4.0, Mediotaku/Kanji-Recognition), read once."""

    images: np.ndarray  # (n, 300, 300) uint8, dark ink on white
    chars: list[str]  # (n,) the character drawn
    drawers: np.ndarray  # (n,) the source's sample index: one drawer's row of the set
    path: Path


def touch_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path / TOUCH_FILE if path.is_dir() else path


def load_touch(path: str | os.PathLike) -> TouchSet:
    """The touch drawings from their .npz or its folder, opened once and checked."""
    path = touch_file(path)
    if not path.is_file():
        raise DatasetError(f"{path}: the touch-hiragana set is not here; give the path of "
                           f"{TOUCH_FILE} or of its folder", params=("data",))
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = {"images", "chars", "sample_idx"} - set(z.files)
            if missing:
                raise DatasetError(f"{path}: not the touch-hiragana .npz (it lacks "
                                   f"{', '.join(sorted(missing))})", params=("data",))
            images, chars, drawers = z["images"], z["chars"], z["sample_idx"]
    except MaistError:
        raise
    except Exception as e:  # OSError, ValueError, zipfile and zlib errors: a damaged file
        raise DatasetError(f"{path}: not the touch-hiragana .npz ({type(e).__name__}: {e})",
                           params=("data",)) from None
    if (images.ndim != 3 or images.dtype != np.uint8 or chars.ndim != 1
            or len(chars) != len(images) or drawers.shape != chars.shape
            or drawers.dtype.kind not in "iu"):
        raise DatasetError(f"{path}: images {images.shape} {images.dtype}, {chars.shape} labels "
                           f"and {drawers.shape} drawers do not match", params=("data",))
    return TouchSet(images, [str(c) for c in chars], drawers.astype(np.int64), path)


def touch_data(
    path: str | os.PathLike, classes: str = DEFAULT_CLASSES, preprocess: str = DEFAULT_PREPROCESS,
    split: str = "writer", seed: int = 0, drawers: Sequence[Sequence[int]] | None = None,
) -> MaistData:
    """The touch drawings as a data set, split by drawer or at random. `drawers`, if
    given, is the (train, val, test) drawer ids, for an exact split."""
    touch = load_touch(path)
    class_set = get_class_set(classes)
    x, y, kept = from_images(touch.images, touch.chars, class_set, preprocess)
    drawer = touch.drawers[kept]
    if drawers is not None:
        parts = [np.flatnonzero(np.isin(drawer, list(d))) for d in drawers]
    elif split == "writer":
        parts = split_by_writer(drawer, seed)
    else:
        parts = split_at_random(len(y), seed)
    splits = [Split(x[i], y[i], drawer[i], seed=seed + k) for k, i in enumerate(parts)]
    meta = {"classes": class_set.name, "preprocess": preprocess, "split": split, "seed": seed,
            "sources": [str(touch.path)], "formats": ["touch-hiragana"]}
    return MaistData(*splits, class_set.chars, meta)


def is_touch(path: Path) -> bool:
    """The touch set's folder, or an .npz with drawings and their characters."""
    if path.is_dir():
        return (path / TOUCH_FILE).is_file()
    if path.suffix != ".npz":
        return False
    try:
        with np.load(path, allow_pickle=False) as z:
            return {"images", "chars"} <= set(z.files)
    except Exception:  # any damage: not this kind; the MAIST .npz kind reports it properly
        return False


# --- a MAIST .npz -------------------------------------------------------------------------


def npz_data(path: Path, classes: str | None = None, preprocess: str | None = None,
             split: str | None = None, seed: int = 0) -> MaistData:
    """A built .npz as it is: its classes, preprocessing and split were fixed when it was
    built, so only the seed (of the batches) applies; any other option that differs from
    the file's is refused rather than ignored."""
    data = MaistData.load(path, seed=seed)
    differ = []
    if classes is not None and get_class_set(classes).chars != data.classes:
        differ.append(f"its {len(data.classes)} classes are not {classes}")
    for key, value in (("preprocess", preprocess), ("split", split)):
        if value is not None and data.meta.get(key) != value:
            differ.append(f"its {key} is {data.meta.get(key, 'not recorded')}, not {value}")
    if differ:
        raise DatasetError(f"{path}: a built .npz keeps what it was built with ({'; '.join(differ)}); "
                           f"leave those options out, or build another .npz with them "
                           f"(scripts/build_maist.py)", params=("classes", "preprocess", "split"))
    return data


# --- a folder of one's own pictures -------------------------------------------------------


def picture_paths(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in PICTURE_SUFFIXES)


def picture_label(path: Path, root: Path, class_set: ClassSet) -> str | None:
    """The class a user's picture is labelled with: its folder's name (mine/<char>/0001.png)
    or, for a picture directly in `root`, the first character of its name (<char>_01.png)."""
    if path.parent != root and path.parent.name in class_set:
        return path.parent.name
    if path.parent == root and path.stem[:1] in class_set:
        return path.stem[:1]
    return None


def picture_folder_data(
    folder: str | os.PathLike, classes: str = DEFAULT_CLASSES, preprocess: str = DEFAULT_PREPROCESS,
    split: str = "random", seed: int = 0,
) -> MaistData:
    """A folder of a user's own pictures (PNG/JPEG), labelled by sub-folder or file name,
    as a data set: each picture preprocessed as `preprocess` does, split at random per
    picture (a folder is one writer). For fine-tuning a model on one's own hand."""
    root = Path(folder)
    if split != "random":
        raise DatasetError(f"{root}: a folder of pictures is one writer's, so it is split at "
                           f"random, not by {split}; leave the split option out",
                           params=("split",))
    class_set = get_class_set(classes)
    paths = picture_paths(root)
    if not paths:
        raise DatasetError(f"{root}: no PNG or JPEG pictures in it; put them in sub-folders "
                           f"named by their character (mine/<character>/0001.png)",
                           params=("data",))
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
    meta = {"classes": class_set.name, "preprocess": preprocess, "split": "random", "seed": seed,
            "sources": [str(root)], "formats": ["pictures"]}
    return MaistData(*splits, class_set.chars, meta)


def is_picture_folder(path: Path) -> bool:
    return path.is_dir() and bool(picture_paths(path))


def is_real_etl(path: str | os.PathLike) -> bool:
    """ETL files, some of which MAIST's generator did not write (no manifest of ours in
    their folder): AIST's, or anyone's; or a .npz built from such files, where they are
    still where it says. What synthetic pretraining is for."""
    p = Path(path)
    if kind(p) == "npz":
        recorded = npz_meta(p).get("real_etl")
        if isinstance(recorded, bool):
            return recorded
        return any(is_real_etl(source) for source in built_from(p))
    if kind(p) != "etl":
        return False
    files = [p] if p.is_file() else etl.files_in(p)
    folders = {f.parent for f in files if etl.format_from_name(f)[0] is not None}
    return any(etl.not_generated(folder) for folder in folders)


def npz_meta(npz: Path) -> dict:
    """A MAIST .npz's meta; {} for one that has none or cannot be read (loading it says
    why)."""
    try:
        with np.load(npz, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"])) if "meta" in z else {}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return {}
    return meta if isinstance(meta, dict) else {}


def built_from(npz: Path) -> list[Path]:
    """The source files a MAIST .npz records (its meta's "sources") that still exist, for
    an .npz from before it recorded "real_etl"; one whose files have all moved is said."""
    sources = [s for s in npz_meta(npz).get("sources") or [] if isinstance(s, str)]
    there = [Path(s) for s in sources if Path(s).exists()]
    if sources and not there:
        warnings.warn(f"{npz}: the ETL files it was built from are no longer where it says "
                    f"({sources[0]} ...), so whether they are AIST's is unknown: it is taken "
                    f"for synthetic (no pretraining). Build it again to record it, or say "
                    f"--pretrain demo", stacklevel=2)
    return there


def etl_data(path: Path, classes: str | None = None, **options) -> MaistData:
    """ETL files through dataset.build: the class set asked for, else a synthetic set's own
    (its manifest says which it was made for), else hiragana71."""
    if classes is None:
        manifest = etl.read_manifest(path) if path.is_dir() else None
        classes = (manifest or {}).get("classes") or DEFAULT_CLASSES
    return build(path, classes, **options)


# --- the registry, in the order the kinds are asked ----------------------------------------

register(Source("touch", is_touch, touch_data,
                "the touch-hiragana .npz or its folder, split by drawer"))
register(Source("npz", lambda p: p.is_file() and p.suffix == ".npz", npz_data,
                "a MAIST .npz from scripts/build_maist.py"))
register(Source("etl", etl.is_etl_source, etl_data,
                "ETL files named as AIST names them (ETL9G_01, ETL8B2C1, ...), or their folder"))
register(Source("pictures", is_picture_folder, picture_folder_data,
                "a folder of PNG or JPEG pictures in sub-folders named by their character"))
