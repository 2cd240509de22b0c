"""Reads asked by many threads at once, run as one batch: the draw page's requests.

    Batcher(read, max_rows=32)    read(x (n, 784), names) -> (probabilities, [maps]),
                                  e.g. Restored.read
    .read(x, names=())            the same answer for this caller's rows alone

A forward pass of one drawing costs little arithmetic; most of its time goes to reading
the weights (the expert's fc1 alone is 3136 x 1024 float32, 12.8 MB), which a batch of
four reads once. One thread runs the batches. It takes what queued while the last batch
ran, and never waits for more: a lone request goes straight through, and the batch grows
with the load. A batch fetches every map that any of its requests asked for; each caller
gets its own rows of what it asked.

The thread holds the Batcher only while it runs a batch: once the last caller lets go of
it (the page switched runs), the thread ends, and the model it read is released.
"""

from __future__ import annotations

import queue
import threading
import weakref
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..geometry import IMAGE_PIXELS

MAX_ROWS = 32  # rows a batch at most: the page has a few requests at once, not hundreds
IDLE = 5.0  # s between looks at whether anyone still holds the Batcher


@dataclass
class _Ask:
    """One caller's rows and the maps it wants; its answer (or error) once the batch ran."""

    x: np.ndarray  # (n, 784) float32
    names: tuple[str, ...]
    done: threading.Event = field(default_factory=threading.Event)
    answer: tuple | None = None
    error: BaseException | None = None


class Batcher:
    """`read` for many threads, their asks merged into one call while it is busy."""

    def __init__(self, read: Callable, max_rows: int = MAX_ROWS):
        self._read, self.max_rows = read, max_rows
        self._asks: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=_serve, args=(weakref.ref(self), self._asks),
                                        name="maist-batcher", daemon=True)
        weakref.finalize(self, self._asks.put, None)  # wakes the thread to end it
        self._thread.start()

    def read(self, x: np.ndarray, names=()) -> tuple[np.ndarray, list[np.ndarray]]:
        """Probabilities (n, C) and the named tensors, each (n, ...), for inputs x."""
        ask = _Ask(np.asarray(x, np.float32).reshape(-1, IMAGE_PIXELS), tuple(names))
        self._asks.put(ask)
        ask.done.wait()
        if ask.error is not None:
            raise ask.error
        return ask.answer

    def _take(self, first: _Ask) -> tuple[list[_Ask], _Ask | None]:
        """first and what else has queued, up to max_rows rows (first always, whatever its
        size); and the ask that would have gone over, which starts the next batch."""
        batch, rows = [first], len(first.x)
        while rows < self.max_rows:
            try:
                ask = self._asks.get_nowait()
            except queue.Empty:
                break
            if ask is None:  # the end: the others are answered first
                self._asks.put(None)
                break
            if rows + len(ask.x) > self.max_rows:
                return batch, ask
            batch.append(ask)
            rows += len(ask.x)
        return batch, None

    def _run(self, batch: list[_Ask]) -> None:
        names = list(dict.fromkeys(n for ask in batch for n in ask.names))
        try:
            probs, maps = self._read(np.concatenate([ask.x for ask in batch]), names)
        except BaseException as e:  # noqa: BLE001  (each caller raises it; the thread goes on)
            for ask in batch:
                ask.error = e
                ask.done.set()
            return
        start = 0
        for ask in batch:
            end = start + len(ask.x)
            ask.answer = (probs[start:end], [maps[names.index(n)][start:end] for n in ask.names])
            ask.done.set()
            start = end


def _serve(owner: weakref.ref, asks: queue.SimpleQueue) -> None:
    """The batches, until the Batcher is gone (a None in the queue, or no one holds it)."""
    held = None  # an ask that did not fit in the last batch
    while True:
        if held is not None:
            first, held = held, None
        else:
            try:
                first = asks.get(timeout=IDLE)
            except queue.Empty:
                if owner() is None:
                    return
                continue
        batcher = owner() if first is not None else None
        if batcher is None:
            return
        batch, held = batcher._take(first)
        batcher._run(batch)
        del batcher  # between batches the thread holds no reference to it
