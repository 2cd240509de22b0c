"""maist.etl against records built byte by byte from AIST's layouts (tests/etl_bytes.py)."""

import warnings

import numpy as np
import pytest
from etl_bytes import b_record, g_record, m_record, pattern
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maist.data import etl
from maist.data.classes import char_to_jis, get_class_set

A, I_, KA = 0x2422, 0x2424, 0x242B  # あ い か in JIS X 0208
KANJI_ICHI = 0x306C  # 一

H71 = get_class_set("hiragana71")


def write(path, records: list[bytes], extra: bytes = b"") -> str:
    path.write_bytes(b"".join(records) + extra)
    return path


def quiet_open(path, fmt=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", etl.EtlCountWarning)
        return etl.open_etl(path, fmt)


@pytest.mark.parametrize("kind", ["ETL8G", "ETL9G"])
def test_g_type_every_field_and_pixel(tmp_path, kind):
    path = write(tmp_path / f"{kind}_01", [g_record(kind, A, salt=0), g_record(kind, KA, salt=1)])
    f = quiet_open(path)
    assert f.format.name == kind and f.n_records == 2 and f.number == 1
    _, recs = next(etl.iter_chunks(f))
    r = recs[0]
    assert (r["sheet"], r["jis"], r["reading"], r["serial"]) == (7, A, b"A.HIRA  ", 123456)
    assert (r["quality"], r["group_quality"], r["sex"], r["age"]) == (1, 2, 2, 34)
    assert (r["industry"], r["occupation"], r["gathered"], r["scanned"]) == (301, 402, 7402, 7405)
    # Bytes 29 and 30: AIST's ETL8G page has Y then X, its ETL9G page X then Y.
    first, second = (r["pos_y"], r["pos_x"]) if kind == "ETL8G" else (r["pos_x"], r["pos_y"])
    assert (first, second) == (11, 22)
    images = etl.decode_images(recs, f.format)
    assert images.shape == (2, 127, 128) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[0], np.array(pattern(127, 128, 16, 0)))
    np.testing.assert_array_equal(images[1], np.array(pattern(127, 128, 16, 1)))
    assert etl.record_chars(recs, f.format) == ["あ", "か"]


def test_nibble_order_left_pixel_is_high(tmp_path):
    img = [[0] * 128 for _ in range(127)]
    img[0][0], img[0][1] = 15, 1  # first byte 0xF1
    path = write(tmp_path / "ETL9G_01", [g_record("ETL9G", A, image=img)])
    _, recs = next(etl.iter_chunks(quiet_open(path)))
    assert recs["image"][0][0] == 0xF1
    decoded = etl.decode_images(recs, etl.FORMATS["ETL9G"])[0]
    assert decoded[0, 0] == 15 and decoded[0, 1] == 1 and decoded.sum() == 16


def test_etl9g_read_with_etl8g_offsets_is_shifted(tmp_path):
    """The known bug of public readers: ETL8G's layout on ETL9G moves the image 8 pixels."""
    img = np.zeros((127, 128), dtype=int)
    img[60, 64] = 15
    rec = g_record("ETL9G", A, image=img.tolist())
    wrong = np.frombuffer(rec, dtype=etl.ETL8G_DTYPE)
    right = np.frombuffer(rec, dtype=etl.ETL9G_DTYPE)
    ys, xs = np.nonzero(etl.decode_images(right, etl.FORMATS["ETL9G"])[0])
    assert (ys[0], xs[0]) == (60, 64)
    shifted = etl.decode_images(wrong, etl.FORMATS["ETL8G"])[0]
    assert shifted[60, 72] == 15 and shifted[60, 64] == 0
    assert (shifted[0, :8] == 0xE).all()  # the undefined bytes leak in as "ink"


@pytest.mark.parametrize("kind", ["ETL8B2", "ETL9B"])
def test_b_type_fields_bits_and_dummy(tmp_path, kind):
    name = "ETL8B2C1" if kind == "ETL8B2" else "ETL9B_1"
    dummy = b_record(kind, 0, sheet=0)
    path = write(tmp_path / name, [dummy, b_record(kind, A, salt=0), b_record(kind, I_, salt=1)])
    f = quiet_open(path)
    assert f.format.name == kind and f.n_samples == 2
    first, recs = next(etl.iter_chunks(f))
    assert first == 1 and len(recs) == 2  # the dummy is skipped
    assert list(recs["jis"]) == [A, I_] and recs["sheet"][0] == 3 and recs["reading"][0] == b"A.HI"
    images = etl.decode_images(recs, f.format)
    assert images.shape == (2, 63, 64) and set(np.unique(images)) <= {0, 1}
    np.testing.assert_array_equal(images[1], np.array(pattern(63, 64, 2, 1)))
    img = [[0] * 64 for _ in range(63)]
    img[0][0] = 1  # leftmost pixel -> the high bit of the first byte
    rec = b_record(kind, A, image=img)
    assert rec[8] == 0x80


@pytest.mark.parametrize("name,expected", [("ETL1C_01", "カ"), ("ETL6C_01", "カ"), ("ETL7LC_1", "か")])
def test_m_type_fields_and_codes(tmp_path, name, expected):
    path = write(tmp_path / name, [m_record(0xB6, salt=2)])  # 0xB6: half-width KA
    f = quiet_open(path)
    _, recs = next(etl.iter_chunks(f))
    r = recs[0]
    assert (r["data_number"], r["char_code"], r["sheet"], r["jis"], r["ebcdic"]) == (99, b"KA", 5, 0xB6, 0x82)
    assert (r["serial"], r["pos_y"], r["pos_x"], r["min_level"], r["max_level"]) == (4242, 3, 4, 10, 200)
    np.testing.assert_array_equal(etl.decode_images(recs, f.format)[0], np.array(pattern(63, 64, 16, 2)))
    assert etl.record_chars(recs, f.format) == [expected]


def test_etl7_hiragana_selected_through_katakana_codes(tmp_path):
    path = write(tmp_path / "ETL7LC_1", [m_record(0xB1), m_record(0xB6), m_record(0xDD)])  # ア カ ン
    sel = etl.select(etl.find_etl_files(path), H71)
    assert [H71.chars[i] for i in sel.labels] == ["あ", "か", "ん"]


@pytest.mark.parametrize("kind", ["ETL8G", "ETL9G", "ETL8B2", "ETL9B", "ETL1", "ETL6", "ETL7"])
def test_writer_round_trip(tmp_path, kind):
    fmt = etl.FORMATS[kind]
    rng = np.random.default_rng(0)
    recs = etl.new_records(fmt, 3)
    recs["jis"] = [A, KA, I_] if fmt.code_space == "jis0208" else [0xB1, 0xB6, 0xB2]
    recs["sheet"] = [1, 2, 3]
    images = rng.integers(0, fmt.max_level + 1, size=(3, fmt.height, fmt.width))
    recs["image"] = etl.pack_images(images, fmt)
    path = etl.write_etl(tmp_path / f"{kind}_FILE", recs, fmt)
    f = quiet_open(path, kind)
    _, back = next(etl.iter_chunks(f))
    np.testing.assert_array_equal(back["jis"], recs["jis"])
    np.testing.assert_array_equal(back["sheet"], recs["sheet"])
    np.testing.assert_array_equal(etl.decode_images(back, fmt), images)
    assert path.stat().st_size == (3 + fmt.dummy_first) * fmt.record_size


def test_writer_never_overwrites(tmp_path):
    recs = etl.new_records("ETL9G", 1)
    recs["jis"] = A
    path = etl.write_etl(tmp_path / "ETL9G_01", recs, "ETL9G")
    with pytest.raises(etl.EtlFormatError, match="exists"):
        etl.write_etl(path, recs, "ETL9G")


def test_writer_matches_hand_built_bytes(tmp_path):
    """MAIST's writer puts every field where AIST's page says."""
    recs = etl.new_records("ETL9G", 1)
    r = recs[0]
    r["sheet"], r["jis"], r["reading"], r["serial"] = 7, A, b"A.HIRA  ", 123456
    r["quality"], r["group_quality"], r["sex"], r["age"] = 1, 2, 2, 34
    r["industry"], r["occupation"], r["gathered"], r["scanned"] = 301, 402, 7402, 7405
    r["pos_x"], r["pos_y"] = 11, 22
    recs["image"] = etl.pack_images(np.array([pattern(127, 128, 16)]), "ETL9G" and etl.FORMATS["ETL9G"])
    mine = etl.write_etl(tmp_path / "ETL9G_01", recs, "ETL9G").read_bytes()
    ref = g_record("ETL9G", A)
    assert mine[:30] == ref[:30] and mine[64:8192] == ref[64:8192]


# --- errors -------------------------------------------------------------------------------


def test_truncated_file_names_the_leftover(tmp_path):
    path = write(tmp_path / "ETL9G_07", [g_record("ETL9G", A)], extra=b"\0" * 12)
    with pytest.raises(etl.EtlFormatError) as e:
        etl.open_etl(path)
    assert "ETL9G_07" in str(e.value) and "12 bytes past the last whole 8199-byte" in str(e.value)
    assert "download it again" in str(e.value)


def test_empty_file(tmp_path):
    (tmp_path / "ETL9G_01").write_bytes(b"")
    with pytest.raises(etl.EtlFormatError, match="empty"):
        etl.open_etl(tmp_path / "ETL9G_01")


def test_unknown_name_needs_a_format(tmp_path):
    path = write(tmp_path / "scan.bin", [g_record("ETL9G", A)])
    with pytest.raises(etl.EtlFormatError, match="cannot tell the ETL format"):
        etl.open_etl(path)
    assert quiet_open(path, "ETL9G").n_records == 1
    with pytest.raises(etl.EtlFormatError, match="unknown ETL format"):
        etl.open_etl(path, "ETL99")


def test_mismatched_format(tmp_path):
    path = write(tmp_path / "ETL9G_01", [g_record("ETL9G", A)])
    with pytest.raises(etl.EtlFormatError, match="name says ETL9G but format ETL8B2"):
        etl.open_etl(path, "ETL8B2")
    wrong_size = write(tmp_path / "ETL9B_1", [g_record("ETL9G", A)])
    with pytest.raises(etl.EtlFormatError, match="is it really ETL9B"):
        etl.open_etl(wrong_size)


def test_empty_folder_and_folder_without_etl_files(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(etl.EtlFormatError, match="folder is empty"):
        etl.find_etl_files(tmp_path / "empty")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("hello")
    (tmp_path / "other" / "ETL9INFO").write_text("info")
    with pytest.raises(etl.EtlFormatError, match="none named like ETL data"):
        etl.find_etl_files(tmp_path / "other")
    with pytest.raises(etl.EtlFormatError, match="no such file"):
        etl.find_etl_files(tmp_path / "missing")


def test_no_records_of_requested_classes(tmp_path):
    path = write(tmp_path / "ETL9G_01", [g_record("ETL9G", KANJI_ICHI)])
    with pytest.raises(etl.EtlFormatError, match="no records of the 71 classes"):
        etl.select(etl.find_etl_files(path), H71)


def test_code_that_maps_to_no_character(tmp_path):
    path = write(tmp_path / "ETL9G_01", [g_record("ETL9G", A), g_record("ETL9G", 0x2F21)])
    with pytest.raises(etl.EtlFormatError) as e:
        etl.select(etl.find_etl_files(path), H71)
    assert "record 1 (byte offset 8201)" in str(e.value) and "0x2F21" in str(e.value)


def test_record_count_differing_from_aist_warns(tmp_path):
    path = write(tmp_path / "ETL9G_01", [g_record("ETL9G", A)] * 3)
    with pytest.warns(etl.EtlCountWarning, match="3 records where AIST publishes 12144"):
        etl.open_etl(path)


def test_labels_come_from_jis_not_the_reading(tmp_path):
    """A reading of '.HIRA' also matches kanji such as 平 and 開 in public readers."""
    hei = char_to_jis("平")
    rec = bytearray(g_record("ETL9G", hei))
    rec[4:12] = b"HEI.HIRA"
    path = write(tmp_path / "ETL9G_01", [bytes(rec), g_record("ETL9G", A)])
    sel = etl.select(etl.find_etl_files(path), H71)
    assert list(sel.labels) == [H71.index("あ")]


def test_writer_ids_from_positions_across_files(tmp_path):
    fmt = etl.FORMATS["ETL9G"]
    f = etl.EtlFile(tmp_path / "ETL9G_07", fmt, 12144, 7)
    positions = np.array([0, 3035, 3036, 12143])
    assert list(etl.writer_ids(f, positions, None, 0)) == [24, 24, 25, 27]
    f8 = etl.EtlFile(tmp_path / "ETL8G_02", etl.FORMATS["ETL8G"], 4780, 2)
    assert list(etl.writer_ids(f8, np.array([0, 955, 956, 4779]), None, 0)) == [5, 5, 6, 9]


def test_selection_decodes_only_the_wanted_classes(tmp_path):
    records = [g_record("ETL9G", KANJI_ICHI)] * 5 + [g_record("ETL9G", A)] * 2
    path = write(tmp_path / "ETL9G_01", records)
    seen = []

    def transform(images, max_level):
        seen.append(len(images))
        return images[:, :2, :2]

    sel = etl.select(etl.find_etl_files(path), H71, transform, chunk_records=3)
    assert sum(seen) == 2 and sel.images.shape == (2, 2, 2)


# --- fuzz ---------------------------------------------------------------------------------

NAMES = {"ETL9G": "ETL9G_01", "ETL8G": "ETL8G_01", "ETL9B": "ETL9B_1", "ETL8B2": "ETL8B2C1",
         "ETL1": "ETL1C_01", "ETL7": "ETL7LC_1"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(NAMES)), n=st.integers(0, 3), extra=st.integers(0, 3),
       seed=st.integers(0, 2**32 - 1), plant=st.booleans())
def test_arbitrary_bytes_give_records_or_format_error(tmp_path, kind, n, extra, seed, plant):
    fmt = etl.FORMATS[kind]
    rng = np.random.default_rng(seed)
    data = bytearray(rng.integers(0, 256, n * fmt.record_size + extra, dtype=np.uint8).tobytes())
    if plant:  # give some records a real hiragana code, so selection can succeed
        off = fmt.dtype.fields["jis"][1]
        code = b"\x24\x22" if fmt.code_space == "jis0208" else b"\xb1"
        for i in range(n):
            data[i * fmt.record_size + off : i * fmt.record_size + off + len(code)] = code
    path = tmp_path / NAMES[kind]
    path.write_bytes(bytes(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", etl.EtlCountWarning)
            sel = etl.select(etl.find_etl_files(path), H71)
        assert len(sel.labels) == len(sel.images) > 0
    except etl.EtlFormatError as e:
        assert str(path) in str(e) or "no ETL files" in str(e)


def test_threads_give_the_same_selection_and_decoding(tmp_path):
    from maist.data import preprocess

    records = [g_record("ETL9G", c, salt=i) for i, c in enumerate([A, KANJI_ICHI, KA, I_] * 40)]
    files = etl.find_etl_files(write(tmp_path / "ETL9G_01", records))
    one = etl.select(files, H71, preprocess.blog, chunk_records=7, workers=1,
                     packed=preprocess.blog_packed)
    two = etl.select(files, H71, preprocess.blog, chunk_records=7, workers=2,
                     packed=preprocess.blog_packed)
    np.testing.assert_allclose(one.images, two.images, atol=1e-6)  # BLAS threads: rounding
    np.testing.assert_array_equal(one.labels, two.labels)
    decoded = [im for *_, im in etl.iter_decoded(files, None, chunk_records=9, workers=2)]
    np.testing.assert_array_equal(np.concatenate(decoded)[2], np.array(pattern(127, 128, 16, 2)))
    # seed straight from packed records equals seed of the decoded images
    np.testing.assert_allclose(one.images[:3], preprocess.blog(np.stack(
        [np.array(pattern(127, 128, 16, s)) for s in (0, 2, 3)]), 15), atol=1e-6)


def test_the_published_record_counts_follow_from_the_format_table():
    """AIST's counts are writers per file x classes (+ the dummy): ETL9G_07 holds 4 x 3036,
    ETL8G_33 one writer of 956, ETL9B_1 40 x 3036 after its dummy; nothing for a file the
    table does not number."""
    F = etl.FORMATS
    assert etl.expected_records(F["ETL9G"], 7) == 12144
    assert etl.expected_records(F["ETL8G"], 2) == 4780 and etl.expected_records(F["ETL8G"], 33) == 956
    assert etl.expected_records(F["ETL9B"], 1) == 1 + 121440
    assert etl.expected_records(F["ETL9G"], 51) is None
    assert etl.expected_records(F["ETL9G"], None) is None
    assert etl.expected_records(F["ETL8B2"], 1) is None
