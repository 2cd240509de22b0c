"""The Keras side of bench_train.py, importable without MAIST (which turns eager off)."""

import numpy as np

NUM_CLASSES = 71


def fake_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, NUM_CLASSES, n)


def keras_expert():
    """The same network in Keras (its own graph, run by model.fit)."""
    import tensorflow as tf  # here, so that importing this file does not start TensorFlow

    k = tf.keras
    inputs = k.Input((784,))
    h = k.layers.Reshape((28, 28, 1))(inputs)
    h = k.layers.Conv2D(32, 5, padding="same", activation="relu")(h)
    h = k.layers.MaxPool2D(2, padding="same")(h)
    h = k.layers.Conv2D(64, 5, padding="same", activation="relu")(h)
    h = k.layers.MaxPool2D(2, padding="same")(h)
    h = k.layers.Flatten()(h)
    h = k.layers.Dense(1024, activation="relu")(h)
    h = k.layers.Dropout(0.5)(h)
    out = k.layers.Dense(NUM_CLASSES)(h)
    m = k.Model(inputs, out)
    m.compile(k.optimizers.Adam(1e-4),
              k.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m
