import dataclasses
import unicodedata
from dataclasses import replace

import numpy as np
import pytest

from maist import synth
from maist.data import etl
from maist.data.classes import base_char, get_class_set
from maist.synth import strokes

H71 = get_class_set("hiragana71")


def test_every_hiragana_in_kanjivg_parses():
    for cp in range(0x3041, 0x3097):
        got = strokes.character_strokes(chr(cp))
        assert got and all(s.ndim == 3 and s.shape[1:] == (4, 2) for s in got)
        pts = np.concatenate(got).reshape(-1, 2)
        assert pts.min() > -5 and pts.max() < strokes.KANJIVG_BOX + 5


def test_path_commands_absolute_and_relative():
    segs = strokes.parse_path("M10,10 L20,10 l0,10 H0 v-10 Z")
    ends = [tuple(s[3]) for s in segs]
    assert ends == [(20, 10), (20, 20), (0, 20), (0, 10), (10, 10)]
    c = strokes.parse_path("M0,0c1,2,3,4,5,6s5,6,7,8")
    np.testing.assert_allclose(c[0], [[0, 0], [1, 2], [3, 4], [5, 6]])
    np.testing.assert_allclose(c[1], [[5, 6], [7, 8], [10, 12], [12, 14]])  # reflected control
    q = strokes.parse_path("M0,0Q3,3,6,0T12,0")
    np.testing.assert_allclose(strokes.sample_cubic(q[0], np.array([0.5])), [[3, 1.5]])
    np.testing.assert_allclose(q[1][3], [12, 0])
    implicit = strokes.parse_path("M0,0 5,5 10,0")  # pairs after M are line-tos
    assert len(implicit) == 2
    compact = strokes.parse_path("M1.5.5c-1-2.5.5,1e1,10,0")  # "1.5.5" is 1.5 then .5
    np.testing.assert_allclose(compact[0][0], [1.5, 0.5])
    np.testing.assert_allclose(compact[0][3], [11.5, 0.5])


@pytest.mark.parametrize("bad,msg", [("L1,2", "must start with a move-to"),
                                     ("M1,2 C1,2,3", "C needs 6 numbers"),
                                     ("M1,2 X3,4", "cannot read"), ("M1,2", "draws nothing")])
def test_malformed_paths(bad, msg):
    with pytest.raises(strokes.StrokeError, match=msg):
        strokes.parse_path(bad)


def test_unknown_character():
    with pytest.raises(strokes.StrokeError, match="no strokes"):
        strokes.character_strokes("\ue000")


def test_all_71_render_with_ink_and_writers_differ():
    cfg = synth.SynthConfig()
    a, b = synth.render_writer(0, cfg), synth.render_writer(1, cfg)
    assert a.shape == (71, 127, 128) and a.dtype == np.uint8 and a.max() <= 15
    assert all((img >= 8).sum() > 40 for img in a)  # every character has real strokes
    assert all(np.abs(x.astype(int) - y).sum() > 1000 for x, y in zip(a, b))


def test_same_seed_same_bytes_and_files_read_back(tmp_path):
    cfg = synth.SynthConfig(writers=5, seed=3, workers=1)
    paths = synth.generate(tmp_path / "a", cfg)
    again = synth.generate(tmp_path / "b", cfg)
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]
    assert [p.name for p in paths] == ["ETL9G_01", "ETL9G_02"]
    files = etl.find_etl_files(tmp_path / "a")  # the manifest says 71 records per writer
    sel = etl.select(files, H71)
    assert len(sel.labels) == 5 * 71
    assert sorted(np.unique(sel.writers)) == [0, 1, 2, 3, 4]
    for w in range(5):
        assert sorted(sel.labels[sel.writers == w]) == list(range(71))
    _, recs = next(etl.iter_chunks(files[0]))
    assert set(recs["jis"]) == set(int(c) for c in H71.jis_codes)
    assert recs["reading"][recs["jis"] == 0x242B][0] == b"KA.HIRA "
    other = synth.generate(tmp_path / "c", synth.SynthConfig(writers=5, seed=4, workers=1))
    assert other[0].read_bytes() != paths[0].read_bytes()


def test_generate_refuses_to_replace_files(tmp_path):
    cfg = synth.SynthConfig(writers=1, workers=1)
    synth.generate(tmp_path, cfg)
    with pytest.raises(synth.SynthError, match="already holds a synthetic set of 1 ETL9G files; "
                       "replace it") as e:
        synth.generate(tmp_path, cfg)
    assert e.value.params == ("overwrite", "out")  # the script says --force, --out
    assert synth.is_complete(tmp_path)


# --- version 2: where real writers vary -----------------------------------------------------

# sha256 of version 1's files for SynthConfig(writers=3, seed=11): with every version-2
# feature at 0 the generator must write them byte for byte (a regression anchor, taken
# from version 1's code before version 2 was written).
VERSION_1_BYTES = "fe50d95c86db0499eebd64f0af3abc85017e707f1705a5c38cad20bb284d8fb3"
FEATURES = ("stroke_jitter", "bend", "connect_rate", "pen_range", "mark_jitter", "variant_rate",
            "proportion", "marks", "reshape_rate", "neighbour_rate")


def test_every_feature_off_is_version_1_byte_for_byte(tmp_path):
    import hashlib

    paths = synth.generate(tmp_path, synth.SynthConfig(writers=3, seed=11, workers=1))
    assert hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest() == VERSION_1_BYTES


@pytest.mark.parametrize("feature", FEATURES)
def test_each_feature_changes_the_writing_and_switches_off(feature):
    base = synth.SynthConfig(writers=1)
    on = synth.SynthConfig(writers=1, **{feature: synth.FEATURES[feature] * 2})
    a, b = synth.render_writer(0, base), synth.render_writer(0, on)
    changed = [i for i in range(71) if not np.array_equal(a[i], b[i])]
    assert changed, feature
    if feature in ("mark_jitter", "marks"):  # only the voiced and semi-voiced kana have marks
        marked = {i for i, c in enumerate(H71.chars) if synth.voicing_strokes(c)}
        assert set(changed) <= marked and len(changed) >= 20
    if feature in ("variant_rate", "reshape_rate"):  # only the kana with such a form, and
        forms = synth.variant_forms() if feature == "variant_rate" else synth.reshaped_forms()
        varied = {i for i, c in enumerate(H71.chars) if base_char(c) in forms}  # their voiced
        assert set(changed) <= varied
    off = synth.SynthConfig(writers=1, **{feature: 0.0})
    np.testing.assert_array_equal(synth.render_writer(0, off), a)


def test_zero_jitter_leaves_kanjivg_strokes_as_drawn():
    rng = np.random.default_rng(0)
    habit = synth.writer_habit(rng)
    for ch in "あがぱ":
        kvg = strokes.character_strokes(ch)
        same = synth.vary_strokes(kvg, ch, rng, synth.SynthConfig(), habit)
        assert all(np.array_equal(a, b) for a, b in zip(kvg, same))
        moved = synth.vary_strokes(kvg, ch, rng, synth.SynthConfig(stroke_jitter=1.0), habit)
        assert not all(np.allclose(a, b) for a, b in zip(kvg, moved))


def test_realistic_sets_are_deterministic_and_pass_the_readers_checks(tmp_path):
    cfg = synth.SynthConfig(writers=4, seed=2, workers=2, **synth.FEATURES)
    a = synth.generate(tmp_path / "a", cfg)
    b = synth.generate(tmp_path / "b", synth.SynthConfig(writers=4, seed=2, workers=1,
                                                          **synth.FEATURES))
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]  # workers do not matter
    files = etl.find_etl_files(tmp_path / "a")
    sel = etl.select(files, H71)
    assert len(sel.labels) == 4 * 71 and sorted(np.unique(sel.writers)) == [0, 1, 2, 3]
    assert synth.is_current(tmp_path / "a", cfg)
    assert not synth.is_current(tmp_path / "a", synth.SynthConfig(writers=4, seed=2))


# sha256 of version 5's files for SynthConfig(writers=3, seed=11, **DEFAULT): version 6's
# DEFAULT without the reshaped forms must write them byte for byte, since the reshaped forms
# draw from a stream of their own (taken from version 5's code before version 6 was written).
VERSION_5_DEFAULT_BYTES = "6a143d12f1036d2f1b1877a4b182aa2acb8c518e1dd8d6fafea452f0d25ab00a"


def test_version_5s_default_is_written_byte_for_byte(tmp_path):
    import hashlib

    settings = dict(synth.DEFAULT, reshape_rate=0.0, marks=0.0, neighbour_rate=0.0)
    paths = synth.generate(tmp_path, synth.SynthConfig(writers=3, seed=11, workers=1, **settings))
    assert hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest() == \
        VERSION_5_DEFAULT_BYTES


# sha256 of version 6's DEFAULT files for SynthConfig(writers=3, seed=11): version 7 adds the
# hands' marks, which draw from a stream of their own, so without them the files are these
# (taken from version 6's code before version 7 was written).
VERSION_6_DEFAULT_BYTES = "246f5dabb27d426290f8f9fc2ab157ef3f2feee936feb62188b1d435c3fd1947"


def test_version_6s_default_is_written_byte_for_byte_and_the_marks_change_only_voiced_kana(
        tmp_path):
    import hashlib

    without = synth.generate(tmp_path / "v6", synth.SynthConfig(
        writers=3, seed=11, workers=1, **dict(synth.DEFAULT, marks=0.0, neighbour_rate=0.0)))
    assert hashlib.sha256(b"".join(p.read_bytes() for p in without)).hexdigest() == \
        VERSION_6_DEFAULT_BYTES
    assert synth.DEFAULT["marks"] > 0
    synth.generate(tmp_path / "v7", synth.SynthConfig(
        writers=3, seed=11, workers=1, **dict(synth.DEFAULT, neighbour_rate=0.0)))
    a, b = (etl.select(etl.find_etl_files(d), H71) for d in (tmp_path / "v6", tmp_path / "v7"))
    differs = (a.images != b.images).reshape(len(a.images), -1).any(axis=1)
    voiced = np.array([synth.voicing_strokes(H71.chars[k]) > 0 for k in a.labels])
    assert differs[voiced].mean() > 0.9 and not differs[~voiced].any()


def test_sheet_neighbours_follow_etl9gs_sheets():
    """Cells run in JIS order, 10 a row, 50 a sheet: pa's left neighbour is ba, and the
    records' positions are the same cells."""
    from maist.synth import sheet

    near = sheet.sheet_neighbours(H71.chars)
    assert near["ぱ"]["left"] == "ば" and near["ば"]["right"] == "ぱ"
    order = [H71.chars[i] for i in sheet.sheet_order(H71.chars)]
    assert order[0] == "あ" and "left" not in near["あ"] and "above" not in near["あ"]
    assert near[order[10]]["above"] == "あ" and "left" not in near[order[10]]
    assert "above" not in near[order[50]]  # a new sheet
    recs = synth.writer_records(range(1), [synth.render_writer(0, synth.SynthConfig(
        writers=1, fragment_rate=0.0))], H71.chars)
    j = order.index("ぱ")
    assert (recs["pos_x"][j], recs["pos_y"][j]) == sheet.cell(j)


def test_a_neighbours_piece_lies_near_an_edge_apart_from_it():
    """Version 8's pieces: inside the field, off the edge by PIECE_GAP, within the band."""
    import importlib

    R = importlib.import_module("maist.synth.render")  # the module; synth.render is the function

    style = synth.writer_style(np.random.default_rng(0), synth.SynthConfig())
    for k, side in enumerate(("left", "right", "above", "below")):
        for seed in range(10):
            rng = np.random.default_rng([seed, k])
            pts = R.neighbour_piece(strokes.character_strokes("ば"), 2, side, style, rng)
            axis, sign = R.FACING[side]
            size = (synth.FIELD_W, synth.FIELD_H)[axis]
            near = pts[:, axis] if sign > 0 else size - 1 - pts[:, axis]
            assert R.PIECE_GAP[0] - 1e-9 <= near.min() <= R.PIECE_GAP[1] + 1e-9
            assert near.max() <= R.PIECE_GAP[1] + R.PIECE_REACH[1] + 1e-9


def test_voicing_marks_are_the_last_strokes():
    assert synth.voicing_strokes("が") == 2 and synth.voicing_strokes("ぱ") == 1
    assert synth.voicing_strokes("あ") == 0
    base, voiced = strokes.character_strokes("か"), strokes.character_strokes("が")
    assert len(voiced) == len(base) + 2


# --- version 3: variant forms ----------------------------------------------------------------


def _ink_points(stroke_list, n=50):
    return [np.concatenate([strokes.sample_cubic(seg, np.linspace(0, 1, n)) for seg in s])
            for s in stroke_list]


def test_split_cubic_traces_the_same_curve():
    seg = np.array([[0.0, 0.0], [10.0, 30.0], [40.0, -5.0], [50.0, 20.0]])
    left, right = strokes.split_cubic(seg, 0.3)
    t = np.linspace(0, 1, 11)
    np.testing.assert_allclose(strokes.sample_cubic(left, t), strokes.sample_cubic(seg, 0.3 * t))
    np.testing.assert_allclose(strokes.sample_cubic(right, t),
                               strokes.sample_cubic(seg, 0.3 + 0.7 * t), atol=1e-12)


def test_merge_joins_two_strokes_into_one_continuous_stroke():
    kvg = strokes.character_strokes("り")
    (one,) = strokes.merge_strokes(kvg, 0)
    assert len(one) == len(kvg[0]) + 1 + len(kvg[1])  # both strokes and a bridge between
    np.testing.assert_array_equal(one[: len(kvg[0])], kvg[0])  # KanjiVG's strokes kept
    np.testing.assert_array_equal(one[-len(kvg[1]):], kvg[1])
    assert all(np.array_equal(a[3], b[0]) for a, b in zip(one[:-1], one[1:]))  # no pen lift
    bridge = one[len(kvg[0])]
    out = bridge[1] - bridge[0]  # leaves along the first stroke's last direction
    last = kvg[0][-1][3] - kvg[0][-1][2]
    assert out @ last / np.linalg.norm(out) / np.linalg.norm(last) > 0.999


def test_split_lifts_the_pen_and_leaves_a_gap():
    kvg = strokes.character_strokes("そ")
    first, second = strokes.split_stroke(kvg, 0, end=2, start=3, trim=0.15)
    np.testing.assert_array_equal(first, kvg[0][:2])
    np.testing.assert_array_equal(second[1:], kvg[0][4:])
    assert np.linalg.norm(second[0][0] - first[-1][3]) > 8  # KanjiVG units: a visible gap
    with pytest.raises(strokes.StrokeError, match="cannot split"):
        strokes.split_stroke(kvg, 0, end=3, start=2)


@pytest.mark.parametrize("ch", sorted(synth.variant_forms()))
def test_variant_forms_change_only_how_the_strokes_run(ch):
    """A variant keeps the character where KanjiVG puts it: its ink lies near KanjiVG's,
    and its stroke count changes by one (joined or split)."""
    kvg = strokes.character_strokes(ch)
    var = synth.variant_form(kvg, ch, frozenset(synth.variant_forms()))
    assert abs(len(var) - len(kvg)) == 1
    before = np.concatenate(_ink_points(kvg))
    after = np.concatenate(_ink_points(var))
    # Every KanjiVG point is still drawn (within a pen's width), apart from the split's gap.
    nearest = np.min(np.linalg.norm(before[:, None] - after[None], axis=-1), axis=1)
    assert np.mean(nearest < 3.0) > 0.9
    assert synth.variant_form(kvg, ch, frozenset()) is kvg  # not this writer's form


def test_voiced_kana_follow_their_base_form():
    forms = frozenset({"さ"})
    plain, voiced = strokes.character_strokes("さ"), strokes.character_strokes("ざ")
    a = synth.variant_form(plain, "さ", forms)
    b = synth.variant_form(voiced, "ざ", forms)
    assert len(b) == len(a) + 2  # the same joined base, then the two marks
    # KanjiVG's voiced files draw the base within half a unit of the plain one's.
    assert all(x.shape == y.shape and np.allclose(x, y, atol=1.0) for x, y in zip(a, b))


def test_a_writer_keeps_a_variant_choice():
    rng = lambda: np.random.default_rng([0, 5, 3])  # noqa: E731
    assert synth.writer_variants(rng(), 0.5) == synth.writer_variants(rng(), 0.5)
    assert synth.writer_variants(rng(), 0.0) == frozenset()
    assert synth.writer_variants(rng(), 1.0) == frozenset(synth.variant_forms())
    shares = [len(synth.writer_variants(np.random.default_rng([0, w, 3]), 0.4))
              for w in range(300)]
    assert 0.35 < np.mean(shares) / len(synth.variant_forms()) < 0.45


# --- version 6: reshaped forms -----------------------------------------------------------------


def test_reshape_scales_a_part_and_keeps_the_stroke_joined():
    kvg = strokes.character_strokes("ろ")
    (ro,) = strokes.reshape_stroke(kvg, 0, 3, 5, scale=(0.75, 0.6))
    (old,) = kvg
    assert ro.shape == old.shape  # as many segments: the same pen path, other proportions
    assert all(np.array_equal(a[3], b[0]) for a, b in zip(ro[:-1], ro[1:]))  # no pen lift
    np.testing.assert_array_equal(ro[:3], old[:3])  # before the part: as KanjiVG has it
    np.testing.assert_array_equal(ro[6:], old[6:])  # after the part and its neighbour too
    # The turn at the part's end rises by 40% of its drop from where the part begins.
    drop = old[4][3] - old[3][0]
    np.testing.assert_allclose(ro[4][3] - ro[3][0], drop * [0.75, 0.6])
    # The neighbour after it leaves along the same direction as before.
    np.testing.assert_allclose(ro[5][1] - ro[5][0], old[5][1] - old[5][0])
    moved = strokes.reshape_stroke(kvg, 0, 1, 3, shift=(2.0, -3.0))[0]
    np.testing.assert_allclose(moved[0][3], old[0][3] + [2, -3])  # the one before follows
    np.testing.assert_allclose(moved[0][2] - moved[0][3], old[0][2] - old[0][3])
    np.testing.assert_array_equal(moved[0][:2], old[0][:2])
    with pytest.raises(strokes.StrokeError, match="cannot reshape 5..9"):
        strokes.reshape_stroke(kvg, 0, 5, 9)


@pytest.mark.parametrize("ch", sorted(synth.reshaped_forms()))
def test_reshaped_forms_keep_the_strokes_and_change_the_shape(ch):
    kvg = strokes.character_strokes(ch)
    form = synth.variant_form(kvg, ch, frozenset(), frozenset(synth.reshaped_forms()))
    assert [s.shape for s in form] == [s.shape for s in kvg]
    assert any(not np.allclose(a, b) for a, b in zip(form, kvg))
    pts = np.concatenate([s.reshape(-1, 2) for s in form])
    assert pts.min() > 0 and pts.max() < strokes.KANJIVG_BOX  # still in KanjiVG's box
    # Ink still where the character is: the centre moves by less than 10 units.
    centre = lambda s: np.concatenate(_ink_points(s)).mean(axis=0)  # noqa: E731
    assert np.linalg.norm(centre(form) - centre(kvg)) < 10
    assert synth.variant_form(kvg, ch, frozenset(), frozenset()) is kvg


def test_a_reshaped_form_and_a_variant_form_combine_and_voiced_kana_follow():
    both = frozenset({"そ"})
    plain = synth.variant_form(strokes.character_strokes("そ"), "そ", both, both)
    voiced = synth.variant_form(strokes.character_strokes("ぞ"), "ぞ", both, both)
    split = synth.variant_form(strokes.character_strokes("そ"), "そ", both)
    assert len(plain) == len(split) == 2  # split, as version 3's form is
    assert not np.allclose(plain[0], split[0])  # and reshaped first
    assert len(voiced) == len(plain) + 2
    assert all(x.shape == y.shape and np.allclose(x, y, atol=1.0) for x, y in zip(plain, voiced))


def test_reshaped_forms_are_chosen_from_a_stream_of_their_own():
    cfg = dict(synth.DEFAULT, writers=1, seed=4)
    off = synth.render_writer(0, synth.SynthConfig(**dict(cfg, reshape_rate=0.0)))
    on = synth.render_writer(0, synth.SynthConfig(**dict(cfg, reshape_rate=1.0)))
    changed = {H71.chars[i] for i in range(71) if not np.array_equal(off[i], on[i])}
    assert changed == {c for c in H71.chars if base_char(c) in synth.reshaped_forms()}
    shares = [len(synth.writer_variants(np.random.default_rng([0, w, 6]), 0.4,
                                        synth.reshaped_forms())) for w in range(300)]
    assert 0.35 < np.mean(shares) / len(synth.reshaped_forms()) < 0.45


def test_variant_examples_show_each_form_beside_kanjivgs():
    images, chars = synth.variant_examples()  # hiragana71: only its own characters' forms
    hiragana = [c for c in synth.variant_forms() if unicodedata.name(c).startswith("HIRAGANA")]
    assert images.shape == (2, len(hiragana), synth.FIELD_H, synth.FIELD_W)
    assert chars == sorted(hiragana)
    _, kana = synth.variant_examples(classes="kana142")
    assert "\u30cd" in kana and "\u30e9" in kana and len(kana) == len(synth.variant_forms())
    assert all(not np.array_equal(images[0, i], images[1, i]) for i in range(len(chars)))
    images, chars = synth.variant_examples(kind="reshaped")
    assert chars == sorted(synth.reshaped_forms()) and images.shape[:2] == (2, len(chars))
    assert all(not np.array_equal(images[0, i], images[1, i]) for i in range(len(chars)))


def _ink_box(field: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(field > 0.3)
    return int(np.ptp(ys)) + 1, int(np.ptp(xs)) + 1


def test_proportioned_strokes_change_width_to_height_and_keep_the_area():
    kvg = strokes.character_strokes("ら")
    assert synth.proportioned(kvg, 0.0) is kvg
    pts = np.concatenate([s.reshape(-1, 2) for s in kvg])
    wide = np.concatenate([s.reshape(-1, 2) for s in synth.proportioned(kvg, 0.4)])
    w0, h0 = np.ptp(pts, axis=0)
    w1, h1 = np.ptp(wide, axis=0)
    assert np.isclose((w1 / h1) / (w0 / h0), np.exp(0.4))
    assert np.isclose(w1 * h1, w0 * h0)


def test_a_writer_keeps_each_kanas_proportion_and_voiced_kana_follow():
    rng = lambda: np.random.default_rng([0, 7, 4])  # noqa: E731
    props = synth.writer_proportions(rng(), 1.0, H71.chars)
    assert props == synth.writer_proportions(rng(), 1.0, H71.chars)
    assert synth.writer_proportions(rng(), 0, H71.chars) == {}
    assert set(props) == {base_char(c) for c in H71.chars}
    assert max(abs(v) for v in props.values()) <= 0.6
    spread = np.std([v for w in range(100)
                     for v in synth.writer_proportions(np.random.default_rng([0, w, 4]), 1.0,
                                                       H71.chars).values()])
    assert 0.2 < spread < 0.3
    # Drawn with a proportion of +0.5 the kana is wider for its height than with -0.5; the
    # voiced kana takes its base's entry.
    style = synth.writer_style(np.random.default_rng(1), synth.SynthConfig(variation=0))
    habit = synth.writer_habit(np.random.default_rng(2))
    cfg = synth.SynthConfig(fragment_rate=0.0, variation=0.0)
    for ch in "らが":
        h_w = {}
        for r in (-0.5, 0.5):
            field = synth.render(ch, style, np.random.default_rng(3), cfg,
                                 habit=replace(habit, proportions={base_char(ch): r}))
            h, w = _ink_box(field)
            h_w[r] = h / w
        assert h_w[-0.5] > 1.5 * h_w[0.5], (ch, h_w)


@pytest.mark.parametrize("bad, msg", [(dict(variant_rate=2.0), "variant_rate is a share"),
                                      (dict(connect_rate=-0.1), "connect_rate is a share"),
                                      (dict(proportion=-1.0), "proportion is a strength"),
                                      (dict(reshape_rate=1.5), "reshape_rate is a share")])
def test_out_of_range_settings_are_refused(bad, msg):
    with pytest.raises(synth.SynthError, match=msg) as e:
        synth.SynthConfig(**bad)
    assert e.value.params == tuple(bad)


def test_generator_settings_read_from_words():
    assert synth.parse_features("v1") == {}
    assert synth.parse_features("default") == synth.DEFAULT
    assert synth.parse_features("v2") == synth.REALISTIC
    assert synth.parse_features("v1+variant_rate+stroke_jitter") == dict(
        variant_rate=synth.FEATURES["variant_rate"], stroke_jitter=synth.FEATURES["stroke_jitter"])
    assert synth.parse_features("v2-bend+proportion=0.5") == dict(synth.REALISTIC, bend=0.0,
                                                                  proportion=0.5)
    assert synth.parse_features("default-variant_rate")["variant_rate"] == 0.0
    synth.SynthConfig(**synth.parse_features("v2+variant_rate"))  # every name is a field


@pytest.mark.parametrize("bad, msg", [("v3", "starts with v1, v2, default"),
                                      ("v1+ink", "cannot read '\\+ink'"),
                                      ("v1-bend=2", "cannot read '-bend=2'"),
                                      ("v1+bend=lots", "'lots' is not a number")])
def test_unreadable_generator_settings_say_what_is_wrong(bad, msg):
    with pytest.raises(synth.SynthError, match=msg):
        synth.parse_features(bad)


# --- version 5: voicing marks as hands write them ------------------------------------------


def test_a_hands_marks_keep_the_base_whole_and_stay_in_the_box():
    """The base's strokes are KanjiVG's own; the mark has as many strokes as KanjiVG's (two
    ticks, or one ring), a pen's width from the base at least, inside the 109 box."""
    from maist.synth import marks

    for w in range(40):
        rng = np.random.default_rng([0, w, 5])
        habit = marks.writer_marks(rng, 1.0)
        for ch in "がでぼぽぞぺ":
            plain = synth.character_strokes(ch)
            n = synth.voicing_strokes(ch)
            got = marks.written_marks(plain, n, habit, rng)
            assert len(got) == len(plain)
            assert all(a is b for a, b in zip(got[:-n], plain[:-n]))
            m, b = marks._points(got[-n:]), marks._points(got[:-n])
            gap = np.min(np.linalg.norm(m[:, None] - b[None], axis=-1))
            assert gap >= 0.8, (w, ch, gap)  # never across the base's strokes
            assert m.min() >= 2.9 and m.max() <= strokes.KANJIVG_BOX - 2.9


def test_de_has_its_marks_above_the_bar_end_outside_the_bowl():
    """KanjiVG draws de's marks under te's bar, beside the bowl; hands put them above the
    bar's right end. Every hand's marks end up there, and no voiced kana's mark goes
    further into its base's box than KanjiVG's does."""
    from maist.synth import marks

    plain = synth.character_strokes("で")
    bar = marks._points(plain[:1])
    top, right = bar[:, 1].min(), bar[:, 0].max()
    for w in range(40):
        rng = np.random.default_rng([0, w, 5])
        habit = marks.writer_marks(rng, 1.0)
        m = marks._points(marks.written_marks(plain, 2, habit, rng, 0.5)[-2:]).mean(axis=0)
        assert m[1] < top + 4 and m[0] > right - 8, (w, m)  # up at the bar's end, not under it
    for ch in "がぎぐげござじずぜぞだぢづでどばぱびぴぶぷべぺぼぽ":
        n = synth.voicing_strokes(ch)
        plain = synth.character_strokes(ch)
        base = marks._points(plain[:-n])
        low, high = base.min(axis=0), base.max(axis=0)

        def depth(c, low=low, high=high):
            return min(np.min(c - low), np.min(high - c))

        start = max(depth(marks.clear_of_base(marks._points(plain[-n:]).mean(axis=0), base)), 0)
        for w in range(10):
            rng = np.random.default_rng([1, w, 5])
            habit = marks.writer_marks(rng, 1.0)
            habit = dataclasses.replace(habit, offset=(0.0, 0.0))
            got = marks.written_marks(plain, n, habit, rng, 0.0)[-n:]
            # inside() may move a mark at the box's edge by its 3-unit margin
            assert depth(marks._points(got).mean(axis=0)) <= start + 3.0, (ch, w)


def test_a_ring_keeps_its_hole_and_ticks_their_gap_at_28x28():
    """No filled blot, no ring under MIN_RING, no ticks closer than MIN_SPACING: at 28x28
    those are what a ring and two dots have in common."""
    from maist.synth import marks

    for w in range(200):
        habit = marks.writer_marks(np.random.default_rng([0, w, 5]), 1.0)
        assert habit.ring >= marks.MIN_RING and habit.spacing >= marks.MIN_SPACING
        (ring,) = marks.handakuten(np.array([50.0, 50.0]), habit, np.random.default_rng(w))
        radius = np.linalg.norm(marks._points((ring,)) - 50.0, axis=1)
        assert radius.min() >= marks.MIN_RING * 0.99


def test_ring_and_ticks_have_the_writers_shape():
    from maist.synth import marks

    habit = marks.MarkHabit("joined", 10.0, 0.8, 8.0, 0.6, 6.0, 1.0, 1.0, (0.0, 0.0))
    first, second = marks.dakuten(np.array([50.0, 50.0]), habit, np.random.default_rng(0), 0.0)
    assert len(first) == 2 and len(second) == 1  # down the first tick, up to the second's top
    np.testing.assert_allclose(first[-1][3], second[0][0])
    assert second[0][3][1] > second[0][0][1]  # a tick runs down the page
    (ring,) = marks.handakuten(np.array([50.0, 50.0]), habit, np.random.default_rng(0), 0.0)
    pts = marks._points((ring,))
    np.testing.assert_allclose(np.linalg.norm(pts - 50.0, axis=1), 6.0, rtol=0.01)
    opening = np.linalg.norm(ring[0][0] - ring[-1][3])
    assert opening == pytest.approx(2 * 6.0 * np.sin(0.5), rel=0.02)  # a 1-radian gap
