"""What the data is when none is given: AIST's files where you put them, else a synthetic set.

    default_data(classes)    data/ETL9G if it holds AIST's files and they hold the classes,
                             else the class set's synthetic set, generated on first use
    synthetic_data(classes)  the class set's synthetic set, made (again) where needed
    synthetic_dir(classes)   where it lives: data/synthetic[-SET]

The data layer only reads; this choice, and the call to the generator, live here, above
both.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

from ..data.classes import CLASS_SETS, DEFAULT_CLASSES, get_class_set
from ..data.etl import is_etl_source
from ..fileio import locked
from ..paths import data_dir

log = logging.getLogger(__name__)


def synthetic_dir(classes: str) -> Path:
    """Where the synthetic set of a class set lives: data/synthetic for hiragana71, the
    blog's; data/synthetic-kana142, data/synthetic-kana142+kyoiku1026 for others; a set
    from a file by its name and a hash of its characters."""
    class_set = get_class_set(classes)
    if class_set.name == DEFAULT_CLASSES:
        return data_dir() / "synthetic"
    if re.fullmatch(r"[A-Za-z0-9_+-]+", class_set.name):
        return data_dir() / f"synthetic-{class_set.name}"
    digest = hashlib.sha256("".join(class_set.chars).encode()).hexdigest()[:8]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(class_set.name).stem)[:40]
    return data_dir() / f"synthetic-{stem}-{digest}"


def default_data(classes: str | None = None) -> Path:
    """What the data means when it is not given, for a class set (None: hiragana71):
    data/ETL9G if it holds AIST's files and they hold every class (ETL9G has the hiragana
    and the JIS level-1 kanji, no katakana); else the class set's synthetic set."""
    class_set = get_class_set(classes or DEFAULT_CLASSES)
    real = data_dir() / "ETL9G"
    if is_etl_source(real) and set(class_set.chars) <= set(CLASS_SETS["etl9g3036"].chars):
        return real
    return synthetic_data(class_set.name, f"No ETL files in {real} for {class_set.name}")


def synthetic_data(classes: str, why: str = "") -> Path:
    """The class set's synthetic set (synthetic_dir), generated on first use, or again when
    the generator has changed since."""
    from .. import synth

    out = synthetic_dir(classes)
    cfg = synth.SynthConfig(**{**synth.DEFAULT, "classes": classes})
    # Two commands at once (or two test workers) make it once: the second waits, then
    # finds it current.
    with locked(out.with_name(f".{out.name}.lock")):
        if not synth.is_current(out, cfg):
            ours = bool(synth.written_by_us(out))
            log.info(f"{why + ': g' if why else 'G'}enerating the synthetic ETL9G-format set "
                     f"of {classes} in {out}"
                     f"{' (the generator changed since it was made)' if ours else ' (once)'}.")
            synth.generate(out, cfg, overwrite=ours)
    return out
