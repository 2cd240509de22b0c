"""Class sets as data: the registry, JIS X 0208 both ways, and sets made from any characters."""

import numpy as np
import pytest

from maist.data import classes
from maist.data.classes import ClassSet, char_to_jis, get_class_set
from maist.errors import ClassSetError

H71, H75, H46 = (get_class_set(n) for n in ("hiragana71", "hiragana75", "hiragana46"))


def test_class_sets():
    assert classes.DEFAULT_CLASSES == "hiragana71"
    assert len(H71) == 71 and len(H75) == 75 and len(H46) == 46
    assert not set("ぁぃぅぇぉっゃゅょゎゐゑ") & set(H71.chars)
    assert set(H75.chars) - set(H71.chars) == set("っゃゅょ")
    voiced = set("がぎぐげござじずぜぞだぢづでどばびぶべぼぱぴぷぺぽ")
    assert voiced <= set(H71.chars) and not voiced & set(H46.chars)
    assert H71.chars[0] == "あ" and H71.chars[-1] == "ん" and H71.example == "ず"


def test_jis_unicode_and_index_both_ways():
    for ch in H71.chars:
        code = classes.char_to_jis(ch)
        assert code == 0x2421 + ord(ch) - 0x3041  # row 4, in Unicode order
        assert classes.jis_to_char(code) == ch
        assert H71.chars[H71.index(ch)] == ch
    assert classes.jis_to_char(0x3021) == "亜"
    table = H71.label_table(H71.jis_codes)
    assert table[0x2422] == 0 and table[0x2421] == -1 and table[0x2473] == 70


@pytest.mark.parametrize("bad", [0x2F21, 0x0000, 0x7F7F])
def test_codes_without_a_character(bad):
    with pytest.raises(ClassSetError, match=f"0x{bad:04X}"):
        classes.jis_to_char(bad)


def test_unknown_character_and_set():
    with pytest.raises(ClassSetError):
        H71.index("ゐ")
    with pytest.raises(ClassSetError, match="hiragana71") as e:
        get_class_set("hiragana99")
    assert e.value.params == ("classes",)
    assert isinstance(H71.jis_codes, np.ndarray)


def test_a_class_set_from_any_jis_characters():
    """Kanji, katakana and kana mixed: anything ETL files can hold; nothing to register."""
    mine = ClassSet("mine", "一二三アイあ")
    assert len(mine) == 6 and "ア" in mine and mine.index("あ") == 5
    assert list(mine.label_table(mine.jis_codes)[mine.jis_codes]) == list(range(6))
    with pytest.raises(ClassSetError, match="'€'"):
        ClassSet("bad", "一€")  # not in JIS X 0208: no ETL file holds it
    with pytest.raises(ClassSetError, match="more than once"):
        ClassSet("twice", "一一")
    with pytest.raises(ClassSetError, match="no characters"):
        ClassSet("empty", "")


def test_voicing_and_readings_come_from_unicode():
    assert classes.voicing("が") == "voiced" and classes.voicing("ぱ") == "semi-voiced"
    assert classes.voicing("ガ") == "voiced" and classes.voicing("あ") is None
    assert classes.base_char("ざ") == "さ" and classes.base_char("ぷ") == "ふ"
    assert classes.base_char("一") == "一"
    # ETL's own romanisation: SI, TI, TU, HU, WO, N
    assert [classes.reading(c) for c in "かしちつふをん"] == [
        "KA.HIRA", "SI.HIRA", "TI.HIRA", "TU.HIRA", "HU.HIRA", "WO.HIRA", "N.HIRA"]
    assert classes.reading("カ") == "KA.KATA" and classes.reading("一") == ""


def test_a_class_file_saved_with_a_byte_order_mark_reads_as_its_characters(tmp_path):
    """Windows editors start UTF-8 files with U+FEFF: it is no class."""
    from maist.data.classes import from_file

    path = tmp_path / "mine.txt"
    path.write_text("\ufeffあ\nい\n", encoding="utf-8")
    assert from_file(path).chars == ("あ", "い")


def test_the_joyo_set_has_its_2136_kanji_in_jis_and_says_which_etl_lacks():
    from maist.data.classes import JOYO_IN_JIS, joyo_without_etl
    from maist.synth import character_strokes

    joyo = get_class_set("joyo2136")
    assert len(joyo) == len(set(joyo.chars)) == 2136
    codes = [char_to_jis(c) for c in joyo.chars]  # every one has a JIS X 0208 code
    assert codes == sorted(codes)
    assert set(get_class_set("kyoiku1026").chars) <= set(joyo.chars)
    assert set(JOYO_IN_JIS.values()) <= set(joyo.chars) and not set(JOYO_IN_JIS) & set(joyo.chars)
    missing = joyo_without_etl()
    assert len(missing) == 30 and all(char_to_jis(c) >= 0x5000 for c in missing)  # level 2
    for c in missing:  # the synthetic set alone has them: KanjiVG draws each
        assert character_strokes(c)


@pytest.mark.parametrize("name, msg", [
    ("+", r"\+ joins class-set names or files .*a name is missing beside a \+"),
    ("hiragana71+", "a name is missing beside a"),
])
def test_a_union_with_a_missing_name_says_so(name, msg):
    with pytest.raises(ClassSetError, match=msg):
        get_class_set(name)


def test_half_width_katakana_are_refused_with_their_full_width_form(tmp_path):
    f = tmp_path / "half.txt"
    f.write_text("ｱ\nイ\n", encoding="utf-8")
    with pytest.raises(ClassSetError, match="half-width katakana.*write its full-width form 'ア'"):
        get_class_set(str(f))
    with pytest.raises(ClassSetError, match="half-width"):
        char_to_jis("ｶ")
