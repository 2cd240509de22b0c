"""Augmentation: shapes and ranges kept, identities are identities, known moves land where
they should, and the same (seed, step) gives the same batch."""

import numpy as np
import pytest
from conftest import shape

from maist.data import augment as A
from maist.errors import ScheduleError


def batch(n=6):
    return np.stack([shape(k % 5) for k in range(n)]).reshape(n, 784).astype(np.float32)


@pytest.mark.parametrize("kinds", [(k,) for k in A.KINDS] + [A.PRESETS["full"]])
def test_each_transform_keeps_shape_dtype_and_range(kinds):
    x = batch()
    out = A.augment(x, A.rng_for(0, 3), A.Augment(kinds))
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert not np.array_equal(out, x)  # it did something
    img = A.augment(x.reshape(-1, 28, 28), A.rng_for(0, 3), A.Augment(kinds))
    assert img.shape == (6, 28, 28)


def test_identity_settings_return_the_input():
    x = batch()
    ident = A.Augment(("affine", "elastic", "pen", "mobius"), rotation=0, shear=0,
                      scale=(1, 1), shift=0, alpha=0, pen=0, mobius=0)
    np.testing.assert_allclose(A.augment(x, A.rng_for(1, 1), ident), x, atol=1e-5)
    assert A.augment(x, A.rng_for(1, 1), A.Augment()) is x  # none: untouched
    assert A.augment(x, A.rng_for(1, 1), A.Augment(("affine",), p=0.0)).tolist() == x.tolist()


def test_a_known_shift_moves_a_known_pixel():
    img = np.zeros((1, 28, 28), np.float32)
    img[0, 10, 12] = 1.0
    cfg = A.Augment(("affine",), rotation=0, shear=0, scale=(1, 1), shift=2)
    out = A.augment(img, A.rng_for(5, 0), cfg)
    # Replay the generator's draws (angle, shear, scales, then the shift) to know the shift.
    r = A.rng_for(5, 0)
    r.uniform(0, 0, 1), r.uniform(0, 0, 1), r.uniform(1, 1, (2, 1))
    ty, tx = r.uniform(-2, 2, (2, 1))[:, 0]
    # Bilinear resampling moves the pixel's mass by exactly the shift, fractions included.
    total = out[0].sum()
    assert total == pytest.approx(1.0, abs=1e-5)
    assert (out[0].sum(1) * np.arange(28)).sum() / total == pytest.approx(10 + ty, abs=1e-4)
    assert (out[0].sum(0) * np.arange(28)).sum() / total == pytest.approx(12 + tx, abs=1e-4)


def test_a_quarter_turn_moves_a_pixel_round_the_centre():
    img = np.zeros((1, 28, 28), np.float32)
    img[0, 5, 13:15] = 1.0  # above the centre (13.5, 13.5)
    cfg = A.Augment(("affine",), rotation=90, shear=0, scale=(1, 1), shift=0)
    # Find a seed whose angle is +90 degrees within a hair: draws are uniform(-90, 90).
    for seed in range(2000):
        r = A.rng_for(seed, 0)
        if abs(r.uniform(-90, 90, 1)[0] - 90) < 0.5:
            break
    out = A.augment(img, A.rng_for(seed, 0), cfg)[0]
    total = out.sum()
    com_y = (out.sum(1) * np.arange(28)).sum() / total
    com_x = (out.sum(0) * np.arange(28)).sum() / total
    # 8.5 px above the centre, turned a quarter: 8.5 px to one side, on the centre row.
    assert com_y == pytest.approx(13.5, abs=0.2)
    assert abs(com_x - 13.5) == pytest.approx(8.5, abs=0.2)


def test_pen_width_thickens_and_thins():
    x = batch(40).reshape(-1, 28, 28)
    cfg = A.Augment(("pen",), pen=1.0)
    out = A.pen_width(x, A.rng_for(0, 0), cfg)
    amount = A.rng_for(0, 0).uniform(-1, 1, 40)
    ink_in, ink_out = x.sum((1, 2)), out.sum((1, 2))
    assert (ink_out[amount > 0.2] > ink_in[amount > 0.2]).all()
    assert (ink_out[amount < -0.2] < ink_in[amount < -0.2]).all()


def test_the_same_seed_and_step_give_the_same_batch():
    x = batch()
    full = A.Augment.parse("full")
    a = A.augment(x, A.rng_for(3, 17), full)
    np.testing.assert_array_equal(a, A.augment(x, A.rng_for(3, 17), full))
    assert not np.array_equal(a, A.augment(x, A.rng_for(3, 18), full))
    assert not np.array_equal(a, A.augment(x, A.rng_for(4, 17), full))


def test_parse_presets_lists_and_errors():
    assert A.Augment.parse("full").kinds == ("affine", "elastic", "pen")
    assert A.Augment.parse("affine,stroke").kinds == ("affine", "pen")  # the name runs recorded
    assert A.Augment.parse(None).kinds == () and not A.Augment.parse("none")
    assert A.Augment.parse("affine,erase").kinds == ("affine", "erase")
    assert str(A.Augment.parse("full")) == "full"
    cfg = A.Augment.parse("full,mobius", rotation=5)
    assert A.Augment.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ScheduleError, match="unknown augmentation 'blur'"):
        A.Augment.parse("affine,blur")


def test_examples_grid_has_the_original_first():
    x = batch(3)
    grid = A.examples(x, A.Augment.parse("full"), per_image=8)
    assert grid.shape == (3, 9, 28, 28)
    np.testing.assert_array_equal(grid[:, 0], x.reshape(3, 28, 28))
