"""One's own drawings, saved from the page for adapting a run to one's hand.

    save_drawing(raw, label, classes, mine_dir) -> mine_dir/LABEL/NNNN.png, never overwriting
    mine_summary(mine_dir, classes, run_dir)    -> the counts per character, and the command
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from ..errors import BadRequest


def save_drawing(raw: bytes, label: str, classes, mine_dir: Path) -> Path:
    """The drawing as it was sent, to mine_dir/LABEL/NNNN.png (the next free number).
    The label as typed: half-width katakana, or a kana followed by a voicing mark typed
    on its own (U+309B, U+309C), are made the class's own character: the spacing marks
    become combining ones, then NFKC composes."""
    label = unicodedata.normalize("NFKC", label.replace("\u309b", "\u3099")
                                  .replace("\u309c", "\u309a")).strip()
    if label not in classes:
        raise BadRequest(f"{label!r} is not one of this run's classes")
    folder = Path(mine_dir) / label
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # a file where the folder belongs, a read-only disk
        raise BadRequest(f"cannot save into {folder} ({e.strerror or type(e).__name__}); "
                         f"move what is in the way, or serve with another --mine folder", 409) from None
    numbers = [int(p.stem) for p in folder.glob("*.png") if p.stem.isdigit()]
    k = max(numbers, default=0) + 1
    while True:  # never overwrite: exclusive creation, next number on a race
        path = folder / f"{k:04d}.png"
        try:
            with open(path, "xb") as f:
                f.write(raw)
            return path
        except FileExistsError:
            k += 1
        except OSError as e:  # a full disk: no half-written picture is left to be counted
            path.unlink(missing_ok=True)
            raise BadRequest(f"cannot save {path} ({e.strerror}); free some space or serve "
                             f"with another --mine folder", 507) from None


def mine_summary(mine_dir: Path, classes, run_dir) -> dict:
    """What the page says about the saved drawings: how many per character of the run's
    classes, and the command that adapts the run to them."""
    folder = Path(mine_dir)
    counts = {}
    if folder.is_dir():
        for sub in sorted(folder.iterdir()):
            if sub.is_dir() and sub.name in classes:
                n = sum(1 for p in sub.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
                if n:
                    counts[sub.name] = n
    total = sum(counts.values())
    return {"folder": str(folder), "total": total, "per_class": counts,
            "command": (f"python scripts/train_maist.py --data {folder} --init-from {run_dir}"
                        if total >= 3 else None)}
