"""What a run shows in TensorBoard: the filters as one mosaic a step, histograms of the
weights and activations at the evaluation steps, and the projector at the end of every run."""

import numpy as np
import pytest
from conftest import tiny_recipe

from maist.nets.backend import tf, tf1
from maist.runs import projector
from maist.training import summaries
from maist.training.config import TrainConfig
from maist.training.loop import train


def run_ops(*tensors):
    with tf1.Session() as sess:
        return sess.run(list(tensors))


def test_the_mosaic_lays_the_filters_out_in_rows_with_white_gaps():
    with tf.Graph().as_default():
        w = tf.constant(np.broadcast_to(np.arange(10, dtype=np.float32), (2, 2, 1, 10)))
        (m,) = run_ops(summaries.filter_mosaic(w, cols=4, scale=3, gap=1))
    side = 2 * 3 + 1
    assert m.shape == (1, 3 * side + 1, 4 * side + 1, 1)
    m = m[0, :, :, 0]
    for i in range(12):
        r, c = divmod(i, 4)
        tile = m[1 + r * side : 1 + r * side + 6, 1 + c * side : 1 + c * side + 6]
        want = i / 9 if i < 10 else 1.0  # the layer's range; missing places are white
        np.testing.assert_allclose(tile, want, atol=1e-6)
    assert (m[0] == 1).all() and (m[:, 0] == 1).all() and (m[side] == 1).all()


def test_a_histogram_takes_an_even_sample_of_a_large_tensor():
    with tf.Graph().as_default():
        x = tf1.placeholder(tf.float32, [None, 5])  # a batch not known when it is built
        small = tf.reshape(tf.range(8, dtype=tf.float32), [2, 4])
        big, few = run_ops(summaries.strided_sample(tf.range(25, dtype=tf.float32), limit=10),
                           summaries.strided_sample(small, limit=10))
        with tf1.Session() as sess:
            fed = sess.run(summaries.strided_sample(x, limit=10),
                           {x: np.arange(25, dtype=np.float32).reshape(5, 5)})
    assert big.tolist() == list(range(0, 25, 3)) == fed.tolist()
    assert few.tolist() == list(range(8))


def test_a_run_shows_tensorboard_its_filters_histograms_and_projector(tiny, tmp_path):
    from google.protobuf import text_format
    from PIL import Image
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

    run = tmp_path / "run"
    train(tiny, TrainConfig(tiny_recipe(steps=40), eval_every=20), run, quiet=True)
    events = EventAccumulator(str(run / "events"), size_guidance={"images": 0, "histograms": 0})
    events.Reload()
    tags = events.Tags()
    assert tags["images"] == ["filters/W_conv1/image"]  # one picture a step, not 32 cards
    assert [e.step for e in events.Images("filters/W_conv1/image")] == [20, 40]
    mosaic = events.Images("filters/W_conv1/image")[0]
    assert (mosaic.width, mosaic.height) == (8 * 42 + 2, 4 * 42 + 2)  # 32 filters, 8 a row
    weights = {f"weights/{n}" for n in ("W_conv1", "b_conv1", "W_conv2", "b_conv2", "W_fc1",
                                        "b_fc1", "W_fc2", "b_fc2")}
    activations = {f"activations/{n}" for n in ("h_conv1", "h_relu1", "h_pool1", "h_fc1",
                                                "logits")}
    assert weights | activations <= set(tags["histograms"])
    assert set(tags["distributions"]) == set(tags["histograms"])
    for tag in ("weights/W_fc1", "activations/h_relu1"):
        steps = [e.step for e in events.Histograms(tag)]
        assert steps == [20, 40]
        assert events.Histograms(tag)[-1].histogram_value.num > 0
    # The projector, written at the end: the run's own test images, their labels and sprite.
    folder = run / "events"
    config = text_format.Parse((folder / projector.CONFIG).read_text(), ProjectorConfig())
    (embedding,) = config.embeddings
    assert embedding.tensor_name == "h_fc1" and embedding.sprite.image_path == projector.SPRITE
    n = min(summaries.PROJECTED, len(tiny.test))
    rows = (folder / projector.METADATA).read_text(encoding="utf-8").splitlines()
    assert rows[0] == "true\tpredicted\tcorrect\twriter" and len(rows) == n + 1
    assert {r.split("\t")[0] for r in rows[1:]} <= set(tiny.classes)
    side = int(np.ceil(np.sqrt(n))) * 28
    assert Image.open(folder / projector.SPRITE).size == (side, side)
    assert (folder / "checkpoint").is_file()  # how the projector finds the embedding


def test_tensorboard_shows_the_mosaic_histograms_and_projector_in_chromium(tiny, tmp_path):
    """TensorBoard over a run, in headless Chromium as a user opens it: the images tab shows
    the filter mosaic, the histograms and distributions tabs the weights and activations,
    and the projector tab opens on the run's embedding (its points loaded)."""
    pytest.importorskip("selenium", reason="the app extra (selenium) is not installed")
    from maist.app import board, browser

    try:
        browser.find_chromium()
    except browser.BrowserError as e:
        pytest.skip(f"no Chromium here: {e}")
    train(tiny, TrainConfig(tiny_recipe(steps=20), eval_every=10), tmp_path / "runs" / "tiny",
          quiet=True)
    url, stop = board.started(tmp_path / "runs")
    try:
        shots = board.screenshots(url, tmp_path / "shots", width=1000, height=800)
    finally:
        stop()
    assert [p.name for p in shots] == [f"tensorboard_{tab}.png" for tab in board.TABS]
    assert all(p.stat().st_size > 10_000 for p in shots)
