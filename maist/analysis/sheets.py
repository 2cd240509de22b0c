"""The grids behind the contact sheets of docs/: raw ETL fields by writer, the touch
drawings by class, and synthetic beside real at 28x28. Arrays only; visualize draws them.

    writer_grid(source, class_set, writers)        (writers, C, H, W) raw fields
    touch_grid(images, chars, class_set)           (per_class, C', H, W) ink in [0, 1]
    side_by_side(split, x, y)                      synthetic rows, then the others' rows
    synthetic_grid(cfg, chars, writers)            a synthetic set's writers at 28x28
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ..data import etl
from ..data.classes import ClassSet
from ..data.dataset import Split
from ..geometry import IMAGE_SIZE


def writer_grid(source: str | os.PathLike, class_set: ClassSet,
                writers: int = 6) -> tuple[np.ndarray, np.ndarray, int]:
    """Raw fields of the first `writers` writers x every class, for a contact sheet:
    (grid (writers, C, H, W) uint8, writer ids, max_level). A missing sample stays blank."""
    files = etl.find_etl_files(source)
    per_file = files[0].format.writers_per_file or 1
    sel = etl.select(files[: max(1, -(-writers // per_file))], class_set)
    ids = np.unique(sel.writers)[:writers]
    grid = np.zeros((len(ids), len(class_set), *sel.images.shape[1:]), np.uint8)
    for r, w in enumerate(ids):
        mine = sel.writers == w
        grid[r, sel.labels[mine]] = sel.images[mine]
    return grid, ids, files[0].format.max_level


def side_by_side(synthetic: Split, x: np.ndarray, y: np.ndarray,
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


def touch_grid(images: np.ndarray, chars: Sequence[str], class_set: ClassSet,
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


def preprocessing_rows(fields: np.ndarray, max_level: int) -> tuple[np.ndarray, list[str]]:
    """Raw ETL fields beside what each preprocessing makes of them, for one contact sheet:
    ((1 + P, n, H, W) in [0, 1], row labels). The 28x28 images sit in the top-left corner
    of a field-sized panel, so that their size against the field shows."""
    from ..data.preprocess import PREPROCESSORS

    n, h, w = fields.shape
    rows, labels = [fields / max_level], ["raw"]
    for name, prep in PREPROCESSORS.items():
        small = prep.fields(fields, max_level)
        panel = np.zeros((n, h, w), np.float32)
        panel[:, : small.shape[1], : small.shape[2]] = small
        rows.append(panel)
        labels.append(name)
    return np.stack(rows), labels


def version_changed(class_set: ClassSet) -> list[str]:
    """The characters the generator's current version (8) changed, for its contact sheet:
    every voiced and semi-voiced kana, whose marks it moved and reshaped."""
    from ..data.classes import voicing

    return [c for c in class_set.chars if voicing(c)]


def synthetic_grid(cfg, chars: Sequence[str], writers: int = 12,
                   preprocess: str | None = None) -> np.ndarray:
    """`chars` as the first `writers` synthetic writers of `cfg` write them, at 28x28 as the
    network sees them: (writers, len(chars), 28, 28) in [0, 1]. The writers are drawn as
    the generator draws them for its files (render_writer), so the sheet is the training
    split's writing."""
    from ..data.classes import get_class_set
    from ..data.preprocess import DEFAULT_PREPROCESS, get_preprocessor
    from ..synth import render_writer

    class_set = get_class_set(cfg.classes)
    idx = [class_set.index(c) for c in chars]
    prep = get_preprocessor(preprocess or DEFAULT_PREPROCESS)
    rows = [prep.fields(render_writer(w, cfg)[idx], 15) for w in range(writers)]
    return np.stack(rows)
