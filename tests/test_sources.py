"""Every script from AIST's real formats, and sources merged with their writers kept apart.

Records are built byte by byte (tests/etl_bytes.py). The character codes come from Python's
own codecs, not from maist's tables: JIS X 0208 is EUC-JP with the high bits cleared, and
JIS X 0201's katakana are Shift_JIS's single bytes 0xA6-0xDD (half-width, made full-width).
"""

import unicodedata
import warnings

import numpy as np
import pytest
from conftest import make_etl_folder
from etl_bytes import b_record, m_record

from maist.data import dataset, etl
from maist.data.classes import get_class_set
from maist.errors import DatasetError

KANA = get_class_set("hiragana71+katakana46")


def jis0208(ch: str) -> int:
    hi, lo = ch.encode("euc_jp")
    return ((hi & 0x7F) << 8) | (lo & 0x7F)


def jis0201(ch: str) -> int:
    """The JIS X 0201 byte of a full-width katakana, from Shift_JIS's half-width ones."""
    for code in range(0xA6, 0xDE):
        if unicodedata.normalize("NFKC", bytes([code]).decode("shift_jis")) == ch:
            return code
    raise KeyError(ch)


def katakana_file(path, sheets, chars, salt=0):
    """An M-type file (ETL1 or ETL6): each sheet (the writer) writes every character."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(m_record(jis0201(c), sheet=s, salt=salt + i)
                              for s in sheets for i, c in enumerate(chars)))
    return path


def build(sources, classes, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", etl.EtlCountWarning)  # AIST's counts: files are tiny
        return dataset.build(sources, classes, cache=False, **kw)


def all_of(data):
    """(labels, writers) of every image, over the three splits."""
    return (np.concatenate([data.split(s).y for s in dataset.SPLITS]),
            np.concatenate([data.split(s).writers for s in dataset.SPLITS]))


@pytest.mark.parametrize("m_type", ["ETL1C_07", "ETL6C_01"])
def test_hiragana_and_katakana_from_two_databases_keep_their_writers_apart(tmp_path, m_type):
    katakana = get_class_set("katakana46").chars
    katakana_file(tmp_path / "ETL1" / m_type, sheets=[1, 2, 3], chars=katakana)
    make_etl_folder(tmp_path / "ETL9G", writers=4, per_file=4, kanji=False)
    data = build([tmp_path / "ETL1", tmp_path / "ETL9G"], KANA.name)
    labels, writers = all_of(data)
    assert data.classes == KANA.chars and len(labels) == 4 * 71 + 3 * 46
    counts = np.bincount(labels, minlength=len(KANA))
    assert (counts[:71] == 4).all() and (counts[71:] == 3).all()
    # ETL1's sheets 1-3 and ETL9G's writers 0-3 are 7 people, whatever their numbers say
    kata_writers = set(writers[labels >= 71])
    hira_writers = set(writers[labels < 71])
    assert len(kata_writers) == 3 and len(hira_writers) == 4 and not kata_writers & hira_writers
    sets = [set(data.split(s).writers) for s in dataset.SPLITS]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])


def test_two_databases_in_one_folder_are_two_sources(tmp_path):
    """ETL1's sheet numbers and ETL9G's positions both start near 0: one folder holding
    both must not make ETL1's sheet 1 and ETL9G's writer 1 one person."""
    folder = make_etl_folder(tmp_path / "ETL", writers=4, per_file=4, kanji=False)
    (folder / etl.MANIFEST).unlink()  # a manifest would claim ETL1's file as MAIST's
    katakana_file(folder / "ETL1C_07", sheets=[0, 1, 2], chars=get_class_set("katakana46").chars)
    files = etl.find_etl_files(folder)
    assert sorted({(f.format.name, f.source) for f in files}) == [("ETL1", 0), ("ETL9G", 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", etl.EtlCountWarning)
        sel = etl.select(files, KANA, lambda images, max_level: images[:, :1, :1])  # sizes differ
    assert not set(sel.writers[sel.labels >= 71]) & set(sel.writers[sel.labels < 71])


def test_the_label_is_the_character_the_code_names(tmp_path):
    """Each katakana record lands in its own class: カ is カ, not its neighbour."""
    chars = "アカサタナハマヤラワヲン"
    path = katakana_file(tmp_path / "ETL6C_01", sheets=[5], chars=chars)
    sel = etl.select(etl.find_etl_files(path), KANA)
    assert "".join(KANA.chars[i] for i in sel.labels) == chars


def test_voiced_katakana_are_in_no_etl_file_and_the_error_says_what_to_do(tmp_path):
    katakana_file(tmp_path / "ETL1" / "ETL1C_07", sheets=[1, 2, 3],
                  chars=get_class_set("katakana46").chars)
    make_etl_folder(tmp_path / "ETL9G", writers=4, per_file=4, kanji=False)
    with pytest.raises(DatasetError, match=r"25 of the 142 classes of kana142.*ガ.*JIS X 0201"
                                           r".*hiragana71\+katakana46"):
        build([tmp_path / "ETL1", tmp_path / "ETL9G"], "kana142")


@pytest.mark.parametrize("kind,name", [("ETL8B2", "ETL8B2C1"), ("ETL9B", "ETL9B_1")])
def test_kanji_and_hiragana_from_the_binary_formats(tmp_path, kind, name):
    chars = "あ一右雨円王"
    classes = tmp_path / "mine.txt"
    classes.write_text("\n".join(chars) + "\n", encoding="utf-8")
    ink = [[1 if 20 <= r < 40 and 28 <= c < 34 else 0 for c in range(64)] for r in range(63)]
    records = [b_record(kind, 0, sheet=0)]  # the dummy record both formats start with
    records += [b_record(kind, jis0208(c), sheet=s, image=ink) for s in (1, 2, 3) for c in chars]
    (tmp_path / name).write_bytes(b"".join(records))
    data = build(tmp_path / name, str(classes), split="random")
    labels, _ = all_of(data)
    assert data.classes == tuple(chars) and np.bincount(labels).tolist() == [3] * 6
    x = data.train.x.reshape(-1, 28, 28)
    assert (x.max(axis=(1, 2)) == 1.0).all()  # 1-bit ink arrives as full ink
    cols = np.flatnonzero(x[0].max(axis=0))
    assert cols.min() >= 10 and cols.max() <= 17  # a bar in the middle, as drawn


def test_etl9g_kanji_through_the_reader_you_have(tmp_path):
    (tmp_path / "kanji.txt").write_text("一\n右\n雨\n", encoding="utf-8")
    classes = f"hiragana71+{tmp_path / 'kanji.txt'}"
    folder = make_etl_folder(tmp_path / "ETL9G", writers=6, per_file=4,
                             classes=get_class_set(classes), kanji=False)
    data = build(folder, classes)
    labels, writers = all_of(data)
    assert data.classes[-3:] == ("一", "右", "雨")
    assert np.bincount(labels).tolist() == [6] * 74 and len(set(writers)) == 6
    with pytest.raises(DatasetError, match=r"2962 of the 2965 classes of jis1"):
        build(folder, "jis1")


def test_build_maist_merges_the_sources_it_is_given(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    katakana_file(tmp_path / "ETL1" / "ETL1C_07", sheets=[1, 2, 3],
                  chars=get_class_set("katakana46").chars)
    make_etl_folder(tmp_path / "ETL9G", writers=4, per_file=4, kanji=False)
    out = subprocess.run([sys.executable, str(root / "scripts" / "build_maist.py"), "--classes",
                          KANA.name, "--etl", "ETL1", "ETL9G", "--out", "kana.npz", "--no-cache"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    data = dataset.MaistData.load(tmp_path / "kana.npz")
    labels, writers = all_of(data)
    assert data.num_classes == 117 and len(labels) == 4 * 71 + 3 * 46
    assert len(set(writers)) == 7
    assert "wrote kana.npz" in out.stdout


# --- the default data of a class set, and recipes made for one -----------------------------


def test_each_class_set_has_its_own_synthetic_folder(tmp_path, monkeypatch):
    from maist.training import defaults

    monkeypatch.setenv("MAIST_DATA", str(tmp_path))
    assert defaults.synthetic_dir("hiragana71") == tmp_path / "synthetic"
    assert defaults.synthetic_dir("kana142") == tmp_path / "synthetic-kana142"
    assert defaults.synthetic_dir("kana142+kyoiku1026") == tmp_path / "synthetic-kana142+kyoiku1026"
    mine = tmp_path / "my chars.txt"
    mine.write_text("あ\nい\n", encoding="utf-8")
    other = tmp_path / "other" / "my chars.txt"
    other.parent.mkdir()
    other.write_text("う\nえ\n", encoding="utf-8")
    a, b = defaults.synthetic_dir(str(mine)), defaults.synthetic_dir(str(other))
    assert a.name.startswith("synthetic-my_chars-") and a != b  # the characters decide


def test_default_data_is_aists_where_its_files_hold_the_classes(tmp_path, monkeypatch, caplog):
    from maist import synth
    from maist.training import defaults

    monkeypatch.setenv("MAIST_DATA", str(tmp_path))
    make_etl_folder(tmp_path / "ETL9G", writers=4, per_file=4, kanji=False)
    made = []
    monkeypatch.setattr(synth, "generate", lambda out, cfg, overwrite: made.append((out, cfg)))
    assert defaults.default_data("hiragana71") == tmp_path / "ETL9G"
    assert defaults.default_data("kyoiku1026") == tmp_path / "ETL9G"
    assert made == []
    # ETL9G has no katakana: kana142's default is its own synthetic set, made with the
    # default generator setting for kana142
    caplog.clear()
    with caplog.at_level("INFO", logger="maist"):
        assert defaults.default_data("kana142") == tmp_path / "synthetic-kana142"
    said = [r.getMessage() for r in caplog.records if r.name.startswith("maist")]
    (out, cfg), = made
    assert out == tmp_path / "synthetic-kana142" and cfg.classes == "kana142"
    assert cfg.stroke_jitter == synth.DEFAULT["stroke_jitter"]
    assert "synthetic-kana142" in said[0]


def test_a_synthetic_folder_reads_as_the_class_set_it_was_made_for(tmp_path):
    from maist import synth
    from maist.data import sources

    folder = tmp_path / "kana"
    synth.generate(folder, synth.SynthConfig(writers=3, classes="kana142", workers=1))
    data = sources.load(folder)
    assert data.classes == get_class_set("kana142").chars
    assert sources.load(folder, classes="katakana71").num_classes == 71


def test_a_recipe_for_a_class_set_chooses_the_default_data_only(tmp_path):
    from maist.training import config, recipes

    kana = recipes.get_recipe("kana")
    assert kana.classes == "kana142" and recipes.get_recipe("kanji").classes == "kana142+kyoiku1026"
    plan = config.plan(config.Request(recipe="kana"))
    assert plan.data is None and plan.data_options["classes"] == "kana142"
    # data named on the command line keeps its own classes; --classes wins over the recipe
    assert "classes" not in config.plan(config.Request(recipe="kana", data="x.npz")).data_options
    assert config.plan(config.Request(recipe="kana", classes="katakana71")).data_options[
        "classes"] == "katakana71"
    with pytest.raises(Exception, match="unknown class set 'kana999'"):
        recipes.Recipe.from_dict({**kana.to_dict(), "classes": "kana999"})


def test_one_database_grey_and_binary_is_refused_as_the_same_writers_twice(tmp_path):
    """ETL9B is ETL9G made binary: merged, one writer would be two people in the split."""
    folder = make_etl_folder(tmp_path / "ETL9G", writers=4, per_file=4, kanji=False)
    (folder / etl.MANIFEST).unlink()  # AIST's files, not MAIST's synthetic ones
    records = [b_record("ETL9B", 0, sheet=0)]
    records += [b_record("ETL9B", jis0208(c), sheet=s) for s in (1, 2) for c in "あい"]
    (tmp_path / "ETL9B" / "ETL9B_1").parent.mkdir()
    (tmp_path / "ETL9B" / "ETL9B_1").write_bytes(b"".join(records))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", etl.EtlCountWarning)
        with pytest.raises(etl.EtlFormatError, match="ETL9B is ETL9G made binary.*give one of"):
            etl.find_etl_files([folder, tmp_path / "ETL9B"])
        # The synthetic ETL9G-format set is other writers: it merges with real ETL9B.
        make_etl_folder(tmp_path / "synthetic", writers=4, per_file=4, kanji=False)
        files = etl.find_etl_files([tmp_path / "synthetic", tmp_path / "ETL9B"])
    assert {f.format.name for f in files} == {"ETL9G", "ETL9B"}


def test_the_held_out_touch_drawers_are_the_same_four_everywhere():
    """The protocol behind README's "held out" figures lives in the package: four drawers
    chosen by a fixed seed, never more or fewer, whatever the preprocessing."""
    from conftest import TOUCH, touch_or_skip

    from maist.analysis import report

    touch_or_skip()
    x, y, held, who = report.touch_split(TOUCH, "centered24")
    _, _, again, who_again = report.touch_split(TOUCH, "blog")
    assert len(who) == report.HELD_OUT_DRAWERS and who == who_again
    assert len(x) == len(y) == len(held) and 0 < held.sum() < len(held)
    assert (held == again).all()


def test_an_empty_folder_is_said_to_hold_no_files(tmp_path):
    from maist.data import sources
    from maist.errors import DatasetError

    (tmp_path / "pictures" / "あ").mkdir(parents=True)
    with pytest.raises(DatasetError, match="the folder holds no files"):
        sources.load(tmp_path / "pictures")
