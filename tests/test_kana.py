import numpy as np
import pytest

from maist.data import classes as kana


def test_class_sets():
    assert len(kana.hiragana71) == 71 and len(kana.hiragana75) == 75 and len(kana.hiragana46) == 46
    assert not set("ぁぃぅぇぉっゃゅょゎゐゑ") & set(kana.hiragana71.chars)
    assert set(kana.hiragana75.chars) - set(kana.hiragana71.chars) == set("っゃゅょ")
    assert not set(kana.VOICED_KANA + kana.SEMI_VOICED_KANA) & set(kana.hiragana46.chars)
    assert kana.hiragana71.chars[0] == "あ" and kana.hiragana71.chars[-1] == "ん"


def test_jis_unicode_and_index_both_ways():
    for ch in kana.hiragana71.chars:
        code = kana.char_to_jis(ch)
        assert code == 0x2421 + ord(ch) - 0x3041  # row 4, in Unicode order
        assert kana.jis_to_char(code) == ch
        assert kana.hiragana71.chars[kana.hiragana71.index(ch)] == ch
    assert kana.jis_to_char(0x3021) == "亜"
    table = kana.hiragana71.label_table(kana.hiragana71.jis_codes)
    assert table[0x2422] == 0 and table[0x2421] == -1 and table[0x2473] == 70


@pytest.mark.parametrize("bad", [0x2F21, 0x0000, 0x7F7F])
def test_codes_without_a_character(bad):
    with pytest.raises(kana.KanaError, match=f"0x{bad:04X}"):
        kana.jis_to_char(bad)


def test_unknown_character_and_set():
    with pytest.raises(kana.KanaError):
        kana.hiragana71.index("ゐ")
    with pytest.raises(kana.KanaError, match="hiragana71"):
        kana.get_class_set("hiragana99")
    assert isinstance(kana.hiragana71.jis_codes, np.ndarray)
