"""A trained run, ready to read pictures: the inference graph at one checkpoint.

    restore(run_dir, step=None, tta="none") -> Restored  (maist.restore)
    Restored.probabilities(x) / .logits(x)   (n, 784) -> (n, C), in batches; with a
                                             test-time augmentation, over its views
    Restored.run(["h_relu1", "W_conv1"], x)  named tensors of the model for inputs x
    Restored.read(x, names)                  probabilities and named tensors in one pass
    Restored.prepare(picture) / .predict(pictures, k)   a picture -> 28x28 -> top-k
    top_k(probabilities, classes, k)         [(character, p)] best first

The graph is nets.graph.build_inference's: placeholders -> inference -> probabilities,
with no loss, optimiser, gradients, global step or dropout, and only the model's own
variables, loaded from the checkpoint. The class list and the preprocessing come from the
run's record (runs.records): they travel with the weights. Session.run is thread-safe, so one
Restored serves many threads (the draw page's requests) at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..data.classes import script_mask
from ..data.pictures import from_picture
from ..errors import PictureError, RunError
from ..geometry import IMAGE_PIXELS
from ..nets.backend import tf1
from ..nets.graph import InferenceGraph, build_inference
from ..nets.models import ModelSpec, get_model
from ..runs import checkpoints
from ..runs.records import RunRecord
from ..runs.records import read as read_record
from . import tta as tta_

BATCH = 1000  # images per Session.run: bounded memory for any number of images


def read_pictures(probabilities: Callable[[np.ndarray], np.ndarray], classes,
                     preprocess: str, pictures, k: int = 5, scripts=None
                     ) -> tuple[list[list[tuple[str, float]]], np.ndarray]:
    """Top-k (character, probability) for each picture, and the (n, 784) inputs, through
    any model's `probabilities`; `scripts` ('hiragana', ['hiragana', 'kanji']) keeps to the
    classes written in them. A run and each exported form read pictures this way."""
    if k < 1:
        raise PictureError(f"top-k needs k of at least 1, not {k}", params=("top",))
    x = np.stack([from_picture(p, preprocess) for p in pictures]).reshape(-1, IMAGE_PIXELS)
    probs = within_scripts(probabilities(x), classes, scripts)
    return [top_k(p, classes, k) for p in probs], x


def top_k(probabilities: np.ndarray, classes, k: int = 5) -> list[tuple[str, float]]:
    """The k most probable classes of one row, [(character, probability)], best first."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(classes[i], float(probabilities[i])) for i in order]


def within_scripts(probabilities: np.ndarray, classes, scripts=None) -> np.ndarray:
    """Probabilities given that the character is in `scripts` (None: as they are): the
    other classes at 0, the rest scaled to sum to 1. What a reader who knows the script
    asks of a model of several: a hiragana ri is not to be read as the katakana RI."""
    if not scripts:
        return probabilities
    kept = np.where(script_mask(classes, scripts), probabilities, 0.0)
    return kept / np.maximum(kept.sum(axis=-1, keepdims=True), np.finfo(np.float32).tiny)


@dataclass
class Restored:
    """A trained model, ready to use: its inference graph, a session at one checkpoint,
    and its record (classes, preprocessing, model)."""

    run_dir: Path
    record: RunRecord
    graph: InferenceGraph
    session: object
    step: int
    checkpoint: str
    tta: str = "none"  # inference.tta's name: the views probabilities are averaged over

    @property
    def classes(self) -> list[str]:
        return list(self.record.classes)

    @property
    def preprocess(self) -> str:
        return self.record.preprocess

    @property
    def spec(self) -> ModelSpec:
        return get_model(self.record.model)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "Restored":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _batched(self, tensor, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32).reshape(-1, IMAGE_PIXELS)
        if not len(x):
            return np.zeros((0, len(self.classes)), np.float32)
        return np.concatenate([self.session.run(tensor, {self.graph.x: x[i : i + BATCH]})
                               for i in range(0, len(x), BATCH)])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """(n, 784) or (n, 28, 28) inputs -> (n, C) softmax (the mean over the views, with
        a test-time augmentation)."""
        return tta_.reading(lambda v: self._batched(self.graph.probabilities, v), self.tta)(x)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """(n, C) logits; with a test-time augmentation, the log of the averaged
        probabilities (logits of the same softmax)."""
        if self.tta == "none":
            return self._batched(self.graph.logits, x)
        return np.log(np.maximum(self.probabilities(x), np.finfo(np.float32).tiny))

    def run(self, names: list[str], x: np.ndarray) -> list[np.ndarray]:
        """Named tensors (e.g. 'h_relu1', 'W_conv1') for inputs x."""
        return self.session.run([self.graph.tensor(n) for n in names],
                                {self.graph.x: np.asarray(x).reshape(-1, IMAGE_PIXELS)})

    def read(self, x: np.ndarray, names: list[str] = ()) -> tuple[np.ndarray, list[np.ndarray]]:
        """Probabilities and the named tensors for inputs x, in one Session.run."""
        probs, *maps = self.session.run(
            [self.graph.probabilities] + [self.graph.tensor(n) for n in names],
            {self.graph.x: np.asarray(x).reshape(-1, IMAGE_PIXELS)})
        return probs, maps

    def prepare(self, picture) -> np.ndarray:
        """A picture (array or PNG/JPEG path) -> the (28, 28) this run's network sees."""
        return from_picture(picture, self.preprocess)

    def top_k(self, probabilities: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
        if k < 1:
            raise PictureError(f"top-k needs k of at least 1, not {k}", params=("top",))
        return top_k(probabilities, self.classes, k)

    def predict(self, pictures, k: int = 5, scripts=None
                ) -> tuple[list[list[tuple[str, float]]], np.ndarray]:
        """Top-k (character, probability) for each picture, and the (n, 784) inputs
        (read_pictures)."""
        return read_pictures(self.probabilities, self.classes, self.preprocess, pictures,
                                k, scripts)


def restore(run_dir: str | os.PathLike, step: int | None = None, tta: str = "none",
            threads: int | None = None) -> Restored:
    """A run's model for inference, at checkpoint `step` (default: the last), reading
    through the test-time augmentation `tta` (inference.tta.TTA). `threads`: TensorFlow's
    intra- and inter-op threads for its session (None: TensorFlow's choice, all cores for
    one large batch); the draw page takes 1, its requests already running side by side."""
    tta_.check(tta)
    run_dir = Path(run_dir)
    record = read_record(run_dir)
    ckpt = checkpoints.find(run_dir, step)
    try:
        g = build_inference(record.model, len(record.classes), record.seed,
                            **record.model_options)
    except RunError:
        raise
    except Exception as e:  # an unknown model or option recorded in a damaged config.json
        raise RunError(f"{run_dir / 'config.json'}: its model cannot be built ({e}); the run "
                       f"directory is damaged") from None
    config = None if threads is None else tf1.ConfigProto(
        intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)
    sess = tf1.Session(graph=g.graph, config=config)
    try:
        checkpoints.load(sess, g.variables, ckpt, averaged=record.averaged)
    except RunError:
        sess.close()
        raise
    return Restored(run_dir, record, g, sess, checkpoints.step_of(ckpt) or 0, ckpt, tta)
