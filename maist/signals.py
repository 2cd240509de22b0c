"""Stopping cleanly: SIGTERM handled as Ctrl-C is, and worker processes that never outlive
their parent.

    with stop_on_sigterm(): ...     SIGTERM raises Terminated (a KeyboardInterrupt) here
    worker_init()                   for pool workers: Ctrl-C is the parent's to handle, and
                                    a worker ends when its parent does

`kill`, systemd and batch schedulers send SIGTERM; by default it ends Python at once,
losing what a Ctrl-C would have saved. Exit codes follow the shell's 128 + signal: 130
for SIGINT, 143 for SIGTERM.
"""

from __future__ import annotations

import contextlib
import signal
import threading


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program was, so that it stops as it would on Ctrl-C."""

    exit_code = 143


@contextlib.contextmanager
def stop_on_sigterm():
    """While inside, SIGTERM raises Terminated in the main thread (elsewhere: no change)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum, frame):
        raise Terminated()

    old = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def worker_init() -> None:
    """In a pool worker: ignore Ctrl-C (the terminal sends it to the whole process group;
    the parent stops the pool), and ask Linux for SIGTERM when the parent dies, even by
    SIGKILL, so that no worker is left running orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent's terminate() still ends them
        pass
