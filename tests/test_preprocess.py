import numpy as np
import pytest
from PIL import Image

from maist.data import pictures, resample
from maist.data import preprocess as P


def test_resize_matches_pil_antialiased_bilinear():
    img = np.random.default_rng(0).random((127, 128)).astype(np.float32)
    ref = np.asarray(Image.fromarray(img, "F").resize((28, 28), Image.BILINEAR))
    np.testing.assert_allclose(resample.resize(img[None], 28, 28)[0], ref, atol=1e-5)


def test_seed_keeps_the_whole_field():
    field = np.zeros((1, 127, 128), np.uint8)
    field[0, :, :64] = 15  # left half inked
    out = P.blog(field, 15)[0]
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out[:, :13].min() > 0.99 and out[:, 15:].max() < 0.01


def _pil_box(packed_row: bytes, height: int, width: int) -> np.ndarray:
    """AIST's sample decoding: PIL reads the 4-bit field, then shrinks it with BOX."""
    img = Image.frombytes("F", (width, height), packed_row, "bit", 4)
    return np.asarray(img.resize((28, 28), Image.BOX), dtype=np.float32) / 15.0


@pytest.mark.parametrize("height, width", [(127, 128), (63, 64)])  # ETL8G/9G, M type
def test_seed_from_packed_records_matches_pil_box(height, width):
    rng = np.random.default_rng(height)
    n, half = 5, height * width // 2
    # Records as they lie in a file: 40 header bytes, the image, 9 trailing bytes.
    records = rng.integers(0, 256, (n, 40 + half + 9), dtype=np.uint8)
    packed = records[:, 40 : 40 + half]  # a strided view, as recs["image"] is
    assert packed.strides == (40 + half + 9, 1)
    out = P.blog_packed(packed, height, width, 15)
    for i in range(n):
        np.testing.assert_allclose(out[i], _pil_box(packed[i].tobytes(), height, width), atol=1e-6)
    decoded = np.stack([packed >> 4, packed & 15], axis=-1).reshape(n, height, width)
    np.testing.assert_allclose(out, P.blog(decoded, 15), atol=1e-6)
    # A contiguous copy and a reversed (negative-stride) view give the same images
    np.testing.assert_array_equal(P.blog_packed(packed.copy(), height, width, 15), out)
    np.testing.assert_array_equal(P.blog_packed(packed[::-1], height, width, 15), out[::-1])


def test_seed_from_packed_extremes_and_empty():
    full = np.full((2, 127 * 64), 0xFF, np.uint8)
    np.testing.assert_allclose(P.blog_packed(full, 127, 128, 15), 1.0, atol=1e-6)
    left = np.full((1, 127 * 64), 0xF0, np.uint8)  # only the left pixel of each byte inked
    np.testing.assert_allclose(P.blog_packed(left, 127, 128, 15).mean(), 0.5, atol=0.02)
    assert P.blog_packed(full[:0], 127, 128, 15).shape == (0, 28, 28)


def test_box_bins_partition_a_reduction_and_refuse_an_enlargement():
    owner, count = resample.box_bins(128, 28)
    assert count.sum() == 128 and set(count) == {4, 5} and (np.diff(owner) >= 0).all()
    assert resample.box_bins(20, 28) is None  # enlarging repeats pixels: no partition
    small = np.random.default_rng(1).integers(0, 256, (3, 10 * 10), dtype=np.uint8)
    decoded = np.stack([small >> 4, small & 15], axis=-1).reshape(3, 10, 20)
    np.testing.assert_allclose(P.blog_packed(small, 10, 20, 15), P.blog(decoded, 15), atol=1e-6)
    # 1000 rows -> 28: 35-36 rows a bin overflow the kernel's byte sums; numpy takes over
    tall = np.random.default_rng(2).integers(0, 256, (2, 1000 * 32), dtype=np.uint8)
    decoded = np.stack([tall >> 4, tall & 15], axis=-1).reshape(2, 1000, 64)
    np.testing.assert_allclose(P.blog_packed(tall, 1000, 64, 15), P.blog(decoded, 15), atol=1e-6)


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


def test_centered24_fits_the_same_square_into_24_px_from_fields_and_pictures():
    field = np.zeros((127, 128))
    field[10:50, 70:110] = 1.0
    prep = P.get_preprocessor("centered24")
    out = prep.fields((field * 15).astype(np.uint8)[None], 15)[0]
    ys, xs = np.nonzero(out > 0.5)
    assert ys.max() - ys.min() + 1 == 24 and xs.max() - xs.min() + 1 == 24
    assert ys.min() == 2 and xs.min() == 2  # centred: a 2 px margin each side
    pic = np.full((300, 300), 255, np.uint8)
    pic[60:240, 100:130] = 0  # a bar 180 x 30: its height becomes 24, not 20
    ys, _ = np.nonzero(pictures.from_picture(pic, "centered24") > 0.5)
    assert ys.max() - ys.min() + 1 == 24


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
    a = pictures.from_picture(pic, "centered")
    b = pictures.from_picture(255 - pic, "centered")
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert a.max() == pytest.approx(1.0) and a[0].max() == 0
    assert pictures.from_picture(pic, "blog").shape == (28, 28)


def test_thin_pictures_are_thickened_to_the_training_width():
    pic = np.zeros((300, 300), np.float32)
    pic[50:250, 148:151] = 1.0  # a 3-px line, 200 px long: relative width 0.015
    assert pictures.line_weight(pic) < 0.02
    thick = pictures.thicken(pic)
    assert 0.8 * P.LINE_WEIGHT <= pictures.line_weight(thick) <= 1.3 * P.LINE_WEIGHT
    bold = np.zeros((300, 300), np.float32)
    bold[50:250, 140:160] = 1.0
    np.testing.assert_array_equal(pictures.thicken(bold), bold)  # already bold: left alone


def test_a_picture_over_the_pixel_limit_is_said_to_be_too_large(tmp_path):
    """Refused from its header as PictureTooLarge (the page's 413), not taken for an
    unreadable file ("give a PNG or JPEG")."""
    from PIL import Image

    from maist.errors import PictureTooLarge

    Image.new("L", (300, 300)).save(tmp_path / "big.png")
    with pytest.raises(PictureTooLarge, match="300x300 pixels is over the limit") as e:
        pictures.read_picture(tmp_path / "big.png", max_pixels=200 * 200)
    assert "PNG or JPEG" not in str(e.value)


# --- a sheet neighbour's stray ink, on ETL9G fields built byte by byte ------------------


def _etl9g_fields(tmp_path, fields: list[np.ndarray]) -> np.ndarray:
    """Fields (127, 128) of 0..15 through an ETL9G file built byte by byte, as read back."""
    import sys
    import warnings
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from etl_bytes import g_record

    from maist.data import etl

    path = tmp_path / "ETL9G_01"
    path.write_bytes(b"".join(g_record("ETL9G", 0x2451, image=f.tolist()) for f in fields))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", etl.EtlCountWarning)
        _, recs = next(etl.iter_chunks(etl.open_etl(path)))
    return etl.decode_images(recs, etl.FORMATS["ETL9G"])


def _pa_like() -> np.ndarray:
    """A ha-like body (a bar on the left, a frame on the right) and its own ring to the
    upper right, as 16 levels."""
    f = np.zeros((127, 128), np.int64)
    f[30:96, 28:33] = 15  # the left stroke
    f[40:44, 50:84] = 15  # the bar
    f[30:92, 66:71] = 15  # the right stroke
    ring = np.hypot(*np.mgrid[-6:7, -6:7])
    f[22:35, 80:93][(ring >= 3.5) & (ring <= 5.6)] = 15  # the ring, 4 px off the right stroke
    return f


def test_a_neighbours_stray_tick_off_the_edge_is_dropped_from_an_etl_field(tmp_path):
    """The neighbour ba's tick near pa's top-left corner, apart from the edge and from pa:
    dropped from the field, so pa is not shrunk into the corner. The old rule (edge-touching
    pieces only) kept it."""
    clean = _pa_like()
    stray = clean.copy()
    stray[8:16, 5:8] = 15  # a tick, 5 px from the left edge
    got_clean, got_stray = _etl9g_fields(tmp_path, [clean, stray])
    assert (got_stray != got_clean).any()
    np.testing.assert_array_equal(P.centered(got_stray[None], 15), P.centered(got_clean[None], 15))
    mask = P.clean_ink(got_stray / 15.0, neighbours=False)
    assert mask[10, 6]  # a picture's rule keeps it: one character, no neighbours
    assert not P.clean_ink(got_stray / 15.0, neighbours=True)[10, 6]


def test_a_characters_own_marks_near_an_edge_are_kept(tmp_path):
    """pu's ring near the right edge and ba's ticks at the top right, close to the body:
    the character's own, kept, though they are small and in an edge's outer fifth."""
    pu = np.zeros((127, 128), np.int64)
    pu[40:100, 40:45] = 15
    pu[60:64, 40:106] = 15  # the body reaches x = 105
    ring = np.hypot(*np.mgrid[-6:7, -6:7])
    pu[46:59, 110:123][(ring >= 3.5) & (ring <= 5.6)] = 15  # beside the bar end, 5 px from the edge
    ba = _pa_like()
    ba[22:35, 80:93] = 0
    ba[14:24, 80:83] = 15  # two ticks, up and to the right
    ba[14:24, 87:90] = 15
    for field in _etl9g_fields(tmp_path, [pu, ba]):
        f = field / 15.0
        np.testing.assert_array_equal(P.clean_ink(f, neighbours=True), P.clean_ink(f))
        assert P.clean_ink(f, neighbours=True)[field > 0].all()


def test_the_disc_dilation_is_grey_dilation_by_a_disc_wherever_the_ink_lies():
    """disc_dilation works on the ink's box grown by the radius only: the same values as
    scipy's grey dilation over the whole picture (its edges mirrored), whether the ink
    lies inside, at an edge, or in a corner."""
    from scipy import ndimage

    from maist.data.pictures import disc_dilation

    rng = np.random.default_rng(0)
    for k in range(120):
        h, w = rng.integers(5, 50, 2)
        ink = np.zeros((h, w), np.float32)
        y, x = rng.integers(0, h), rng.integers(0, w)
        hh, ww = rng.integers(1, h - y + 1), rng.integers(1, w - x + 1)
        ink[y : y + hh, x : x + ww] = rng.random((hh, ww)) * (rng.random((hh, ww)) > 0.6)
        r = int(rng.integers(1, 6))
        disc = np.array([[abs(dx) <= int(np.sqrt(r * r - dy * dy)) for dx in range(-r, r + 1)]
                         for dy in range(-r, r + 1)])
        np.testing.assert_array_equal(disc_dilation(ink, r),
                                      ndimage.grey_dilation(ink, footprint=disc, mode="reflect"),
                                      err_msg=f"case {k}: {h}x{w}, radius {r}")


def test_the_pieces_are_ndimages_labels_areas_and_boxes():
    """maist.data._ink.pieces numbers a mask's 8-connected pieces as ndimage.label does (the
    raster order of their first pixels), with their areas and bounding boxes."""
    from scipy import ndimage

    from maist.data import _ink

    rng = np.random.default_rng(0)
    for k in range(200):
        h, w = rng.integers(1, 60, 2)
        mask = rng.random((h, w)) > rng.uniform(0.3, 0.95)
        labels, areas, boxes = _ink.pieces(mask)
        want, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
        np.testing.assert_array_equal(labels, want, err_msg=f"case {k}")
        np.testing.assert_array_equal(areas, np.bincount(want.ravel(), minlength=n + 1)[1:])
        np.testing.assert_array_equal(boxes, np.array(
            [(s[0].start, s[0].stop, s[1].start, s[1].stop) for s in ndimage.find_objects(want)]
        ).reshape(n, 4))


def test_the_kept_pieces_grow_by_a_plus_within_the_fields_ink():
    from scipy import ndimage

    from maist.data import _ink

    rng = np.random.default_rng(1)
    for k in range(100):
        h, w = rng.integers(1, 40, 2)
        field = (rng.random((h, w)) * (rng.random((h, w)) > 0.3)).astype(np.float32)
        labels, areas, _ = _ink.pieces(field > 0.5)
        keep = np.concatenate([[False], rng.random(len(areas)) > 0.5])
        out = np.empty((h, w), bool)
        _ink.kept_grown(labels, keep, field, out)
        np.testing.assert_array_equal(out, ndimage.binary_dilation(keep[labels]) & (field > 0),
                                      err_msg=f"case {k}")


def test_the_line_weight_counts_the_pixels_an_erosion_takes():
    """strokes (a compiled pass) against its definition in whole-array steps: 2 x area /
    perimeter / the box's longer side, the perimeter what a plus erosion removes."""
    from scipy import ndimage

    rng = np.random.default_rng(2)
    for _ in range(100):
        h, w = rng.integers(1, 50, 2)
        ink = (rng.random((h, w)) * (rng.random((h, w)) > 0.4)).astype(np.float32)
        mask = ink > 0.5
        if not mask.any():
            assert pictures.strokes(ink) == (0.0, 0)
            continue
        y0, y1, x0, x1 = P.ink_box(mask)
        side = max(y1 - y0, x1 - x0)
        perimeter = int((mask & ~ndimage.binary_erosion(mask)).sum())
        assert pictures.strokes(ink) == (2.0 * int(mask.sum()) / max(perimeter, 1) / side, side)


@pytest.mark.parametrize("dark_on_light", [False, True])
def test_8_bit_greys_become_the_ink_their_arithmetic_gives(dark_on_light):
    """to_ink looks 8-bit greys up in a table of the 256 values' ink: the same ink, to the
    bit, as the arithmetic on the picture's values (which wider integers take)."""
    rng = np.random.default_rng(3)
    for k in range(50):
        h, w = rng.integers(2, 80, 2)
        pic = rng.integers(0, 256, (h, w)).astype(np.uint8)
        border = rng.integers(200, 256) if dark_on_light else rng.integers(0, 60)
        pic[0], pic[-1], pic[:, 0], pic[:, -1] = border, max(border - 1, 0), border, border
        got = pictures.to_ink(pic)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, pictures.to_ink(pic.astype(np.int16)),
                                      err_msg=f"case {k}")
