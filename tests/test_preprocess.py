import numpy as np
import pytest
from PIL import Image

from maist import preprocess as P


def test_resize_matches_pil_antialiased_bilinear():
    img = np.random.default_rng(0).random((127, 128)).astype(np.float32)
    ref = np.asarray(Image.fromarray(img, "F").resize((28, 28), Image.BILINEAR))
    np.testing.assert_allclose(P.resize(img[None], 28, 28)[0], ref, atol=1e-5)


def test_seed_keeps_the_whole_field():
    field = np.zeros((1, 127, 128), np.uint8)
    field[0, :, :64] = 15  # left half inked
    out = P.seed(field, 15)[0]
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out[:, :13].min() > 0.99 and out[:, 15:].max() < 0.01


def test_centered_square_lands_as_mnist_says():
    """A 40x40 square off in a corner: 20 px wide, centre of mass at the centre."""
    field = np.zeros((127, 128))
    field[10:50, 70:110] = 1.0
    out = P.center_one(field)
    ys, xs = np.nonzero(out > 0.5)
    assert ys.max() - ys.min() + 1 == 20 and xs.max() - xs.min() + 1 == 20
    total = out.sum()
    cy = (out.sum(1) @ (np.arange(28) + 0.5)) / total
    cx = (out.sum(0) @ (np.arange(28) + 0.5)) / total
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_centered_keeps_aspect_of_a_stroke():
    field = np.zeros((127, 128))
    field[20:100, 60:66] = 1.0  # a vertical stroke, 80 x 6
    out = P.center_one(field)
    ys, xs = np.nonzero(out > 0.3)
    assert ys.max() - ys.min() + 1 == 20 and xs.max() - xs.min() + 1 <= 3


def test_centered_drops_noise_and_edge_fragments():
    field = np.zeros((127, 128))
    field[40:80, 40:80] = 1.0  # the character
    field[0:10, 100:120] = 1.0  # a neighbour's stroke at the top edge
    field[5, 5] = 1.0  # a speck
    mask = P.clean_ink(field)
    assert mask[60, 60] and not mask[5, 110] and not mask[5, 5]
    clean = np.zeros_like(field)
    clean[40:80, 40:80] = 1.0
    np.testing.assert_allclose(P.center_one(field), P.center_one(clean), atol=1e-6)


def test_pictures_dark_on_light_and_light_on_dark_agree():
    pic = np.full((300, 300), 255, np.uint8)
    pic[80:220, 140:160] = 0  # a dark bar on white paper
    a = P.from_picture(pic, "centered")
    b = P.from_picture(255 - pic, "centered")
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert a.max() == pytest.approx(1.0) and a[0].max() == 0
    assert P.from_picture(pic, "seed").shape == (28, 28)


def test_thin_pictures_are_thickened_to_the_training_width():
    pic = np.zeros((300, 300), np.float32)
    pic[50:250, 148:151] = 1.0  # a 3-px line, 200 px long: relative width 0.015
    assert P.stroke_width(pic) < 0.02
    thick = P.thicken(pic)
    assert 0.8 * P.STROKE_WIDTH <= P.stroke_width(thick) <= 1.3 * P.STROKE_WIDTH
    bold = np.zeros((300, 300), np.float32)
    bold[50:250, 140:160] = 1.0
    np.testing.assert_array_equal(P.thicken(bold), bold)  # already bold: left alone
