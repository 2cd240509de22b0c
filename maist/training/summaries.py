"""What a run shows in TensorBoard beside its scalars, as TF1's tutorials had it.

    Summaries(g, spec)              built in the training graph, after the model
      .at_evaluation(sess, x)       -> the step's summary: the first layer's filters as one
                                       mosaic picture, and histograms of every trainable
                                       variable and of the model's activations on x
      .embedding(sess, data, step)  -> runs.projector.Embedding of PROJECTED test images
    filter_mosaic(w, cols)          TF ops: [k, k, 1, N] filters -> one [1, H, W, 1] picture

mnist_with_summaries.py wrote histograms of each layer's weights, biases, pre-activations
and activations; here they are written at the evaluation steps only, on one validation
batch, so that the training steps in between cost nothing more (benchmarks/bench_train.py
--summaries measures it). The filters are one picture a step, tiled as the notebooks draw
them, not one card per filter.
"""

from __future__ import annotations

import math

import numpy as np

from ..data.dataset import MaistData
from ..nets import graph as G
from ..nets.backend import tf, tf1
from ..nets.models import ModelSpec
from ..runs.projector import Embedding

MOSAIC_COLS = 8  # filters a row, as visualize.filter_grid lays them out
MOSAIC_SCALE = 8  # screen pixels a filter pixel: a 5x5 filter is 40 px wide
MOSAIC_GAP = 2  # white pixels between filters
ACTIVATION_ROWS = 64  # validation images the activation histograms are taken on
PROJECTED = 500  # test images in the projector written at the end of every run
# TF1's histogram op costs about 50 ns a value (W_fc1 alone, 3.2 million weights, 160 ms on
# 2 cores): each histogram is of an evenly strided sample of at most this many values,
# which draws the same distribution at a small share of the cost.
SAMPLED = 1 << 16


def strided_sample(t, limit: int = SAMPLED):
    """t's values, flattened, every ceil(n / limit)-th of them: at most `limit` values."""
    flat = tf.reshape(t, [-1])
    n = t.shape.num_elements()  # None where the batch is unknown (activations)
    if n is not None and n <= limit:
        return flat
    size = tf.size(flat)
    return tf.strided_slice(flat, [0], [size], [(size + limit - 1) // limit])


def filter_mosaic(w, cols: int = MOSAIC_COLS, scale: int = MOSAIC_SCALE,
                  gap: int = MOSAIC_GAP):
    """[k, k, C, N] filters (their first input channel) -> [1, H, W, 1] in [0, 1]: each
    filter stretched to the layer's own range (dark low, light high), enlarged `scale`
    times, in rows of `cols` with white gaps; missing places in the last row are white."""
    k, n = int(w.shape[0]), int(w.shape[3])
    rows = math.ceil(n / cols)
    lo, hi = tf.reduce_min(w), tf.reduce_max(w)
    tiles = tf.transpose((w[:, :, 0, :] - lo) / (hi - lo + 1e-8), [2, 0, 1])  # [N, k, k]
    tiles = tf.repeat(tf.repeat(tiles, scale, axis=1), scale, axis=2)
    tiles = tf.pad(tiles, [[0, rows * cols - n], [0, gap], [0, gap]], constant_values=1.0)
    side = k * scale + gap
    grid = tf.reshape(tiles, [rows, cols, side, side])
    grid = tf.reshape(tf.transpose(grid, [0, 2, 1, 3]), [1, rows * side, cols * side, 1])
    return tf.pad(grid, [[0, 0], [gap, 0], [gap, 0], [0, 0]], constant_values=1.0)


class Summaries:
    """The evaluation steps' summaries and the end's embedding, built once in `g`."""

    def __init__(self, g: G.Graph, spec: ModelSpec):
        self.g, self.spec = g, spec
        with g.graph.as_default():  # tags: filters/W_conv1/image, weights/..., activations/...
            parts = []
            if spec.filters is not None:
                parts.append(tf1.summary.image(f"filters/{spec.filters}",
                                               filter_mosaic(g.tensor(spec.filters)),
                                               max_outputs=1))
            for v in tf1.trainable_variables():
                parts.append(tf1.summary.histogram(f"weights/{v.op.name}", strided_sample(v)))
            layers = dict.fromkeys([*spec.activations, spec.features, "logits"])
            self.layers = [name for name in layers if name]
            for name in self.layers:
                parts.append(tf1.summary.histogram(f"activations/{name}",
                                                   strided_sample(g.tensor(name))))
            self.op = tf1.summary.merge(parts)

    def at_evaluation(self, sess, x: np.ndarray) -> bytes:
        """The serialised summary of one evaluation step, dropout off, on x's first rows."""
        return sess.run(self.op, {self.g.inputs.x: x[:ACTIVATION_ROWS]})

    def embedding(self, sess, data: MaistData, step: int, batch: int = 500) -> Embedding | None:
        """PROJECTED test images (a fixed draw) through the model's last hidden layer,
        dropout off; None for an empty test split."""
        test = data.test
        if len(test) == 0:
            return None
        pick = np.sort(np.random.default_rng(0).choice(len(test), min(PROJECTED, len(test)),
                                                       replace=False))
        x = test.x[pick]
        layer = self.spec.features or "logits"
        feats, logits = [], []
        for i in range(0, len(x), batch):
            f, lg = sess.run([self.g.tensor(layer), self.g.logits],
                             {self.g.inputs.x: x[i : i + batch]})
            feats.append(f.reshape(len(f), -1))
            logits.append(lg)
        return Embedding(np.concatenate(feats), x, test.y[pick],
                         np.concatenate(logits).argmax(axis=1), test.writers[pick],
                         tuple(data.classes), layer, step)
