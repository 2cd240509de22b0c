"""Class sets of hiragana and conversions between JIS X 0208, Unicode and class index.

    hiragana71  MAIST's default: U+3041..U+3093 less the 10 small kana and obsolete ゐ ゑ
    hiragana75  ETL8G's hiragana: hiragana71 plus small っ ゃ ゅ ょ
    hiragana46  the basic syllabary: hiragana71 less the 20 voiced and 5 semi-voiced kana

JIS X 0208 puts hiragana in row 4, in Unicode order: code 0x2421 is ぁ (U+3041), so
Unicode = U+3041 + (code - 0x2421). Other rows (kanji, katakana, symbols) go through
Python's EUC-JP codec, which is JIS X 0208 with 0x80 set on both bytes.
`jis0208_table()` and `jis0201_table()` are the same facts as lookup arrays, for reading
a whole column of ETL codes at once.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import KanaError

HIRAGANA_FIRST, HIRAGANA_LAST = 0x3041, 0x3093  # ぁ .. ん
JIS_HIRAGANA_FIRST = 0x2421  # row 4, cell 1

SMALL_KANA = "ぁぃぅぇぉっゃゅょゎ"
OBSOLETE_KANA = "ゐゑ"
VOICED_KANA = "がぎぐげござじずぜぞだぢづでどばびぶべぼ"
SEMI_VOICED_KANA = "ぱぴぷぺぽ"

_ALL_HIRAGANA = "".join(chr(c) for c in range(HIRAGANA_FIRST, HIRAGANA_LAST + 1))


def jis_to_char(code: int) -> str:
    """JIS X 0208 code (e.g. 0x2422) -> the Unicode character (e.g. 'あ')."""
    code = int(code)
    hi, lo = code >> 8, code & 0xFF
    if not (0x21 <= hi <= 0x7E and 0x21 <= lo <= 0x7E):
        raise KanaError(f"JIS X 0208 code 0x{code:04X} is outside rows and cells 0x21..0x7E")
    try:
        return bytes([hi | 0x80, lo | 0x80]).decode("euc_jp")
    except UnicodeDecodeError:
        raise KanaError(f"JIS X 0208 code 0x{code:04X} maps to no character") from None


def char_to_jis(ch: str) -> int:
    """Unicode character -> JIS X 0208 code."""
    try:
        b = ch.encode("euc_jp")
    except UnicodeEncodeError:
        raise KanaError(f"{ch!r} (U+{ord(ch):04X}) is not in JIS X 0208") from None
    if len(b) != 2:
        raise KanaError(f"{ch!r} is not a two-byte JIS X 0208 character")
    return ((b[0] & 0x7F) << 8) | (b[1] & 0x7F)


@lru_cache(maxsize=None)
def jis0208_table() -> np.ndarray:
    """table[code] = Unicode code point of a JIS X 0208 code, or 0 where there is none."""
    table = np.zeros(1 << 16, dtype=np.int32)
    for hi in range(0x21, 0x7F):
        for lo in range(0x21, 0x7F):
            try:
                ch = jis_to_char((hi << 8) | lo)
            except KanaError:
                continue
            if len(ch) == 1:
                table[(hi << 8) | lo] = ord(ch)
    table.flags.writeable = False
    return table


@lru_cache(maxsize=None)
def jis0201_table(hiragana: bool = False) -> np.ndarray:
    """JIS X 0201 (8 bit) -> code point; half-width katakana become full-width.

    ETL7 files its hiragana under the katakana codes: with `hiragana`, those become
    hiragana. The prolonged sound mark and the punctuation stay as they are.
    """
    table = np.zeros(1 << 16, dtype=np.int32)
    for code in range(0x20, 0x7F):
        table[code] = {0x5C: 0xA5, 0x7E: 0x203E}.get(code, code)  # yen sign, overline
    for code in range(0xA1, 0xE0):
        ch = unicodedata.normalize("NFKC", bytes([code]).decode("shift_jis"))
        if hiragana and "\u30a1" <= ch <= "\u30f6":
            ch = chr(ord(ch) - 0x60)
        table[code] = ord(ch)
    table.flags.writeable = False
    return table


@dataclass(frozen=True)
class ClassSet:
    """An ordered set of characters; a character's position is its class index."""

    name: str
    chars: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.chars)

    def index(self, ch: str) -> int:
        try:
            return self.chars.index(ch)
        except ValueError:
            raise KanaError(f"{ch!r} is not in class set {self.name}") from None

    @property
    def jis_codes(self) -> np.ndarray:
        """JIS X 0208 code of each class, shape (C,)."""
        return np.array([char_to_jis(c) for c in self.chars], dtype=np.uint16)

    def label_table(self, codes: np.ndarray) -> np.ndarray:
        """A lookup table over 16-bit codes: table[code] = class index, or -1.

        `codes[i]` is the code of class i in whatever code space the caller reads
        (JIS X 0208 for ETL8G/9G/8B/9B, JIS X 0201 for the M type).
        """
        table = np.full(1 << 16, -1, dtype=np.int32)
        table[np.asarray(codes, dtype=np.int64)] = np.arange(len(codes), dtype=np.int32)
        return table


def _without(exclude: str) -> tuple[str, ...]:
    return tuple(c for c in _ALL_HIRAGANA if c not in exclude)


hiragana71 = ClassSet("hiragana71", _without(SMALL_KANA + OBSOLETE_KANA))
hiragana75 = ClassSet("hiragana75", _without("ぁぃぅぇぉゎ" + OBSOLETE_KANA))
hiragana46 = ClassSet(
    "hiragana46", _without(SMALL_KANA + OBSOLETE_KANA + VOICED_KANA + SEMI_VOICED_KANA)
)

CLASS_SETS = {cs.name: cs for cs in (hiragana71, hiragana75, hiragana46)}


def get_class_set(name: str) -> ClassSet:
    try:
        return CLASS_SETS[name]
    except KeyError:
        raise KanaError(
            f"unknown class set {name!r}; choose one of {', '.join(CLASS_SETS)}"
        ) from None
