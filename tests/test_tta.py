"""Test-time augmentation: the views are what they say, and a model reads their mean."""

import numpy as np
import pytest
from conftest import tiny_data

from maist.errors import PictureError
from maist.inference import tta


def dot(y, x):
    img = np.zeros((28, 28), np.float32)
    img[y, x] = 1.0
    return img


def test_shift_views_move_each_image_one_pixel_and_keep_the_first_as_it_is():
    x = np.stack([dot(10, 12), dot(0, 27)])
    v = tta.views(x.reshape(2, 784), "shift").reshape(5, 2, 28, 28)
    np.testing.assert_array_equal(v[0], x)
    where = [tuple(np.argwhere(v[k, 0])[0]) for k in range(1, 5)]
    assert where == [(11, 12), (9, 12), (10, 13), (10, 11)]
    assert v[1:, 1].sum(axis=(1, 2)).tolist() == [1.0, 0.0, 0.0, 1.0]  # off the edge: gone


def test_reading_is_the_mean_over_the_views():
    """A 'model' that scores class 0 by ink in the top half and class 1 by ink below."""
    def probabilities(x):
        images = x.reshape(-1, 28, 28)
        top = images[:, :14].sum(axis=(1, 2))
        return np.stack([top, images.sum(axis=(1, 2)) - top], axis=1)

    x = dot(13, 5).reshape(1, 784)  # on the line: moved down, it crosses into class 1
    assert probabilities(x).tolist() == [[1.0, 0.0]]
    np.testing.assert_allclose(tta.reading(probabilities, "shift")(x), [[0.8, 0.2]])
    assert tta.reading(probabilities, "none") is probabilities


def test_an_unknown_view_set_is_refused_by_name():
    with pytest.raises(PictureError, match="'flip'.*none, shift"):
        tta.views(np.zeros((1, 784), np.float32), "flip")


def test_a_restored_run_reads_through_its_views(tmp_path):
    from conftest import tiny_recipe

    from maist.inference.restore import restore
    from maist.training.config import TrainConfig
    from maist.training.loop import train

    data = tiny_data()
    train(data, TrainConfig(tiny_recipe(steps=30), eval_every=30), tmp_path / "run", quiet=True)
    x = data.test.x[:12]
    with restore(tmp_path / "run") as plain, restore(tmp_path / "run", tta="shift") as r:
        expected = np.mean([plain.probabilities(v) for v in tta.views(x, "shift")], axis=0)
        np.testing.assert_allclose(r.probabilities(x), expected, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(np.exp(r.logits(x)), expected, rtol=1e-5, atol=1e-7)
    with pytest.raises(PictureError, match="test-time augmentation .flip."):
        restore(tmp_path / "run", tta="flip")
