"""Writing files so that a crash never leaves half of one: a temp file beside it, then a rename.

    atomic_path(path)            -> a temp path in the same folder, renamed onto `path` on success
    write_text_atomic(path, s)   config.json, result.json, manifests
    remove_stale_parts(folder)   the leftovers of a writer that was killed mid-write
    overlaps(path, protected)    the input or managed folder that an output path would hit

os.replace is atomic within one file system, which a temp file in the same folder is on:
a reader sees the old file or the new one, never a prefix of the new one.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable, Iterator


@functools.lru_cache(maxsize=1)
def current_umask() -> int:
    """The process's umask, read once (by setting it and putting it back, which must not
    race with threads that create files)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a fresh temp path beside `path`; on a clean exit it replaces `path`.

    On an error the temp file is removed and `path` is left as it was. `suffix` keeps an
    extension a writer insists on (np.savez appends ".npz" to names without it). The file
    gets the permissions any new file gets (0666 less the umask), not the temp file's
    0600, so a shared run or data set stays readable to others. An OSError that names no
    file (a full disk) is raised again naming `path`.
    """
    path = Path(path)
    # The writer's pid in the name: remove_stale_parts knows a dead writer's leftovers.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=f".part{suffix}",
                               dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if e.filename is None:
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


_PART = re.compile(r"^\..+\.(\d+)-[^.]+\.part(\.\w+)?$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def remove_stale_parts(folder: str | os.PathLike) -> list[Path]:
    """Delete temp files of atomic_path whose writer died (killed mid-write): a partial
    file is never trusted, and never left to pile up. Live writers' files stay."""
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = _PART.match(p.name)
        if m and not _alive(int(m.group(1))):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


@contextlib.contextmanager
def locked(path: str | os.PathLike) -> Iterator[None]:
    """Inside, no other process holds the lock file `path` (made if missing): a second
    process that wants the same thing waits for the first, then finds it done. The lock
    goes with the process, however it ends (flock)."""
    import fcntl

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def is_inside(path: Path, folder: Path) -> bool:
    """True when `path` is `folder` or lies under it (both resolved)."""
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def overlaps(path: Path, protected: Iterable[Path]) -> Path | None:
    """The first protected path that `path` is, or lies inside; None if it touches none."""
    for p in map(Path, protected):
        if (p.is_dir() and is_inside(path, p)) or path.resolve() == p.resolve():
            return p
    return None
