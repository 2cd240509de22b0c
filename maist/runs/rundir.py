"""A run directory as a place: its name, its making, and its undoing.

    free_name(root, name)        runs/NAME, or NAME-2, -3, ... : never an old run's
    claim(run_dir)     -> bool   a new run's directory made (or an empty one taken)
    discard(run_dir, made)       a failed start undone: the directory as it was found
    parse_init_from(text)        'runs/demo-expert:1000' -> (path, 1000)

A run directory holds config.json (runs.records), metrics.csv and TensorBoard events
under events/ (runs.metrics), the checkpoints (runs.checkpoints) and result.json at the
end (runs.result). A new run never writes into a directory that holds anything.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import RunError

DAMAGED = "the run directory is damaged; restore the file from a backup or train again"


def free_name(root: str | os.PathLike, name: str) -> Path:
    """runs/NAME, or runs/NAME-2, -3, ... : a new run never writes into an old one."""
    path, k = Path(root) / name, 2
    while path.exists():
        path, k = Path(root) / f"{name}-{k}", k + 1
    return path


def check_is_dir(run_dir: Path) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir}: is a file, not a run directory; give a run directory",
                       params=("run_dir",))


def parse_init_from(text: str) -> tuple[Path, int | None]:
    """'runs/demo-expert' -> (path, None); 'runs/demo-expert:1000' -> (path, 1000)."""
    head, sep, tail = str(text).rpartition(":")
    if sep and tail.isdigit():
        return Path(head), int(tail)
    return Path(text), None


def claim(run_dir: str | os.PathLike) -> bool:
    """Make a new run's directory, or take an empty one; True when it made it. One that
    holds anything is refused: nothing is overwritten."""
    run_dir = Path(run_dir)
    check_is_dir(run_dir)
    if run_dir.exists() and any(run_dir.iterdir()):
        raise RunError(
            f"{run_dir}: already holds a run; resume it, or train into another run "
            f"directory (nothing was overwritten)", params=("resume", "run_dir"))
    made = not run_dir.exists()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunError(f"{run_dir}: cannot be created ({e.strerror})", params=("run_dir",)) from None
    return made


class Held:
    """A run directory held by this process while it trains (flock on the directory
    itself, so no file is added to it): a second process that would train the same run,
    a second --resume, is refused at once. The hold goes with the process, however it
    ends."""

    def __init__(self, run_dir: str | os.PathLike):
        import fcntl

        self.run_dir = Path(run_dir)
        self.fd = os.open(self.run_dir, os.O_RDONLY)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise RunError(f"{self.run_dir}: another process is training this run now; a "
                           f"second one would write into the same checkpoints. Wait for it "
                           f"to end (or stop it), then resume", params=("run_dir",)) from None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the lock
            self.fd = None


def discard(run_dir: str | os.PathLike, made: bool) -> None:
    """Undo a new run's start that failed: the directory is left as it was found (removed
    if this run made it, else emptied of what this run wrote into it, which is all it
    holds: claim() accepts only an empty directory)."""
    run_dir = Path(run_dir)
    if made:
        shutil.rmtree(run_dir, ignore_errors=True)
    elif run_dir.is_dir():
        for p in run_dir.iterdir():
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
