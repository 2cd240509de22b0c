"""Stopping cleanly: SIGTERM handled as Ctrl-C is, and worker processes that never outlive
their parent.

    with stop_on_sigterm(): ...     SIGTERM raises Terminated (a KeyboardInterrupt) here
    exit_code(stopped)              130 for "interrupted", 143 for "terminated", else 0
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

INTERRUPTED, TERMINATED = 128 + signal.SIGINT, 128 + signal.SIGTERM  # 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program was, so that it stops as it would on Ctrl-C."""

    exit_code = TERMINATED


def exit_code(stopped: str) -> int:
    """A command's exit code for how its run stopped: a run cut short is not a finished
    one, so `train && next` must not go on."""
    return {"interrupted": INTERRUPTED, "terminated": TERMINATED}.get(stopped, 0)


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


STOPS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def held_signals():
    """Ctrl-C and SIGTERM held back while inside (a pool being started: one landing
    half-way through would leave workers no one stops), then delivered at its end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def worker_init() -> None:
    """In a pool worker: ignore Ctrl-C (the terminal sends it to the whole process group;
    the parent stops the pool), and ask Linux for SIGTERM when the parent dies, even by
    SIGKILL, so that no worker is left running orphaned. A worker started inside
    held_signals inherits the held mask: it is lifted here."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent's terminate() still ends them
        pass
