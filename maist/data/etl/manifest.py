"""The note MAIST's generator leaves beside the ETL-format files it makes.

    read_manifest(folder)   -> dict | None    checked; None beside AIST's own files
    not_generated(folder)   -> bool           no manifest of MAIST's vouches for the files
    generated_writers(paths) -> {path: records_per_writer}  for the files MAIST made

The reader needs these facts of a synthetic set and nothing else of the generator, which
it never imports.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ...errors import EtlFormatError

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


def not_generated(folder: str | os.PathLike) -> bool:
    """Whether the ETL files in `folder` are someone else's (AIST's): no manifest of
    MAIST's generator beside them, or a damaged one, which vouches for nothing."""
    try:
        return read_manifest(folder) is None
    except EtlFormatError:
        return True


def check_finished(folder: Path, manifest: dict | None) -> None:
    """An EtlFormatError for a synthetic set whose generation was stopped (its manifest says
    so), whether or not it got as far as its first file."""
    if manifest is not None and not manifest.get("complete", True):
        raise EtlFormatError(f"{folder}: an unfinished synthetic set (its generation was "
                             f"stopped before the end); {AGAIN}")


def generated_writers(paths: list[Path]) -> dict[Path, int]:
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


