"""inference.batching: concurrent reads merged into one call, each caller its own rows."""

import gc
import threading
import time

import numpy as np
import pytest

from maist.geometry import IMAGE_PIXELS
from maist.inference.batching import Batcher

W = np.random.default_rng(0).normal(size=(IMAGE_PIXELS, 5)).astype(np.float32)


class Model:
    """A read(x, names) of plain numpy: probabilities and two named 'layers'; records the
    batch sizes it was called with, and can be made slow to let asks queue."""

    def __init__(self, delay=0.0, fail_on=None):
        self.sizes, self.delay, self.fail_on = [], delay, fail_on
        self.gate = threading.Event()
        self.gate.set()

    def read(self, x, names=()):
        self.gate.wait(10)
        self.sizes.append(len(x))
        time.sleep(self.delay)
        if self.fail_on is not None and np.any(x[:, 0] == self.fail_on):
            raise ValueError("a bad row")
        logits = x @ W
        p = np.exp(logits - logits.max(1, keepdims=True))
        layers = {"sum": x.sum(1, keepdims=True), "first": x[:, :3]}
        return p / p.sum(1, keepdims=True), [layers[n] for n in names]


def inputs(i, n=1):
    x = np.random.default_rng(i).random((n, IMAGE_PIXELS), dtype=np.float32)
    x[:, 0] = i
    return x


def test_one_caller_gets_the_direct_answer():
    model = Model()
    probs, maps = Batcher(model.read).read(inputs(1, 3), ["first"])
    want, (first,) = model.read(inputs(1, 3), ["first"])
    np.testing.assert_array_equal(probs, want)
    np.testing.assert_array_equal(maps[0], first)
    assert model.sizes == [3, 3]


def test_concurrent_callers_are_batched_and_each_gets_its_own_rows():
    model = Model(delay=0.01)
    batcher = Batcher(model.read)
    model.gate.clear()  # the first ask holds the thread, so the others queue behind it
    answers, names = {}, [[], ["sum"], ["first", "sum"], ["first"]] * 3

    def ask(i):
        answers[i] = batcher.read(inputs(i, 1 + i % 3), names[i])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(names))]
    for t in threads:
        t.start()
    time.sleep(0.2)
    model.gate.set()
    for t in threads:
        t.join(10)
    assert len(answers) == len(names)
    assert sum(model.sizes) == sum(1 + i % 3 for i in range(len(names)))
    assert max(model.sizes) > 3, f"no batch merged two asks: {model.sizes}"
    for i, (probs, maps) in answers.items():
        want, want_maps = Model().read(inputs(i, 1 + i % 3), names[i])
        np.testing.assert_allclose(probs, want, rtol=1e-5, atol=1e-7)
        assert len(maps) == len(names[i])
        for got, exp in zip(maps, want_maps):
            np.testing.assert_allclose(got, exp, rtol=1e-5, atol=1e-6)


def test_a_batch_is_at_most_max_rows_unless_one_ask_is_larger():
    model = Model()
    batcher = Batcher(model.read, max_rows=4)
    model.gate.clear()
    threads = [threading.Thread(target=batcher.read, args=(inputs(i, 2),)) for i in range(6)]
    big = threading.Thread(target=batcher.read, args=(inputs(9, 7),))
    for t in threads + [big]:
        t.start()
    time.sleep(0.2)
    model.gate.set()
    for t in threads + [big]:
        t.join(10)
    assert sum(model.sizes) == 6 * 2 + 7
    assert all(s <= 4 or s == 7 for s in model.sizes), model.sizes


def test_an_error_reaches_every_caller_of_its_batch_and_the_thread_goes_on():
    model = Model(fail_on=13)
    batcher = Batcher(model.read)
    with pytest.raises(ValueError, match="a bad row"):
        batcher.read(inputs(13))
    probs, _ = batcher.read(inputs(2))
    assert probs.shape == (1, 5)


def test_the_thread_ends_once_no_one_holds_the_batcher():
    batcher = Batcher(Model().read)
    batcher.read(inputs(1))
    thread = batcher._thread
    assert thread.is_alive()
    del batcher
    gc.collect()
    thread.join(10)
    assert not thread.is_alive()
