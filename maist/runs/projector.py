"""A run's embedding as TensorBoard's projector reads it, beside the run's events.

    write(run_dir, Embedding) -> Path    RUN/events/ with the projector's files (what an
                                         earlier write left replaced): the embedding as a
                                         checkpoint, sprite.png, metadata.tsv and
                                         projector_config.pbtxt
    sprite(images) -> uint8 picture      the images tiled row by row, as the projector cuts it

As the TF1 projector tutorial had it, the embedding sits in the folder of the run's events,
so that the PROJECTOR tab of `tensorboard --logdir runs` opens on it under the run's own
name (a folder of its own would be listed after the run's events, whose parent's training
checkpoint the projector would show instead). Colour by `true`. Training writes it at the
end of every run; analysis.projector writes it again from a restored run for more images.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..fileio import current_umask
from ..geometry import IMAGE_SIZE
from ..nets.backend import tf, tf1
from .metrics import EVENTS

SPRITE, METADATA, CONFIG = "sprite.png", "metadata.tsv", "projector_config.pbtxt"
# Found by the projector through the folder's "checkpoint" state file (a path in the config
# would have to be absolute, and the run could no longer move).
CHECKPOINT = "embedding.ckpt"


@dataclass(frozen=True)
class Embedding:
    """n test images as one layer of a model sees them."""

    features: np.ndarray  # (n, D): the layer's activations
    images: np.ndarray  # (n, 784) ink in [0, 1]: the sprite's tiles
    true: np.ndarray  # (n,) class indices
    predicted: np.ndarray  # (n,) class indices
    writers: np.ndarray  # (n,)
    classes: tuple[str, ...]  # the characters of the indices
    layer: str  # the tensor's name, e.g. h_fc1
    step: int


def sprite(images: np.ndarray) -> np.ndarray:
    """(n, 784) ink in [0, 1] -> one (s*28, s*28) uint8 picture, s = ceil(sqrt(n)), dark ink
    on white, row by row, as the projector cuts it."""
    n = len(images)
    side = math.ceil(math.sqrt(n))
    tiles = np.zeros((side * side, IMAGE_SIZE, IMAGE_SIZE), np.float32)
    tiles[:n] = np.asarray(images, np.float32).reshape(n, IMAGE_SIZE, IMAGE_SIZE)
    grid = tiles.reshape(side, side, IMAGE_SIZE, IMAGE_SIZE).transpose(0, 2, 1, 3)
    return (255 - np.clip(grid.reshape(side * IMAGE_SIZE, side * IMAGE_SIZE), 0, 1) * 255).astype(np.uint8)


def metadata(e: Embedding) -> str:
    """metadata.tsv: a header, then each point's true and predicted character and writer."""
    rows = ["true\tpredicted\tcorrect\twriter"] + [
        f"{e.classes[t]}\t{e.classes[p]}\t{'yes' if t == p else 'no'}\t{w}"
        for t, p, w in zip(e.true, e.predicted, e.writers)]
    return "\n".join(rows) + "\n"


def write(run_dir: str | os.PathLike, e: Embedding) -> Path:
    """The projector's files in RUN/events/, made in a temporary folder beside them and
    moved in once whole; an earlier embedding's checkpoint files are removed."""
    from google.protobuf import text_format
    from PIL import Image
    from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

    out = Path(run_dir) / EVENTS
    out.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".embedding.", suffix=".part", dir=run_dir))
    try:
        Image.fromarray(sprite(e.images)).save(tmp / SPRITE)
        (tmp / METADATA).write_text(metadata(e), encoding="utf-8")
        graph = tf.Graph()
        with graph.as_default():
            var = tf1.Variable(e.features.astype(np.float32), name=e.layer)
            saver = tf1.train.Saver([var], save_relative_paths=True)
            with tf1.Session(graph=graph) as sess:
                sess.run(var.initializer)
                saver.save(sess, str(tmp / CHECKPOINT), global_step=e.step,
                           write_meta_graph=False)
        config = ProjectorConfig()
        entry = config.embeddings.add(tensor_name=e.layer, metadata_path=METADATA)
        entry.sprite.image_path = SPRITE
        entry.sprite.single_image_dim.extend([IMAGE_SIZE, IMAGE_SIZE])
        (tmp / CONFIG).write_text(text_format.MessageToString(config), encoding="utf-8")
        mask = current_umask()
        for old in out.glob(f"{CHECKPOINT}-*"):
            old.unlink()
        for f in sorted(tmp.iterdir(), key=lambda f: f.name == CONFIG):  # the config last
            os.chmod(f, 0o666 & ~mask)
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
