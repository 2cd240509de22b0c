"""Class sets as data: which characters a model tells apart, in which order, and the codes
that ETL files file them under.

    CLASS_SETS[name], get_class_set(name)   the registry; DEFAULT_CLASSES is MAIST's default
    ClassSet(name, chars)                    any ordered list of JIS X 0208 characters
    jis_to_char / char_to_jis                JIS X 0208 <-> Unicode, one character at a time
    jis0208_table() / jis0201_table()        the same facts as lookup arrays, for ETL columns
    voicing(ch), base_char(ch)               a kana's voicing mark, and the kana under it

The registered sets are hiragana, cut from U+3041..U+3093 (JIS X 0208's row 4):
    hiragana71  the blog's (MAIST's default): the row less its 10 small kana and the
                obsolete wi and we
    hiragana75  ETL8G's: hiragana71 plus the small tsu, ya, yu and yo
    hiragana46  the basic syllabary: hiragana71 less its 20 voiced and 5 semi-voiced kana

This module is the one place that knows which characters are hiragana. Everything else
takes a class set (or its name) as a parameter: the reader, the data set, the generator,
the models (whose size is len(class set)) and the run directory, which records the
characters themselves, so a model's class list travels with its weights.

JIS X 0208 puts hiragana in row 4, in Unicode order; other rows (kanji, katakana,
symbols) are read through Python's EUC-JP codec, which is JIS X 0208 with 0x80 set on
both bytes.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import ClassSetError

DEFAULT_CLASSES = "hiragana71"  # the blog's 71 classes

HIRAGANA_FIRST, HIRAGANA_LAST = 0x3041, 0x3093  # the small a .. n: JIS X 0208's row 4
SMALL_KANA = "ぁぃぅぇぉっゃゅょゎ"
OBSOLETE_KANA = "ゐゑ"
VOICED_MARK, SEMI_VOICED_MARK = "\u3099", "\u309a"  # combining ゛ and ゜ (NFD)


def jis_to_char(code: int) -> str:
    """JIS X 0208 code (e.g. 0x2422) -> the Unicode character (e.g. 'あ')."""
    code = int(code)
    hi, lo = code >> 8, code & 0xFF
    if not (0x21 <= hi <= 0x7E and 0x21 <= lo <= 0x7E):
        raise ClassSetError(f"JIS X 0208 code 0x{code:04X} is outside rows and cells 0x21..0x7E")
    try:
        return bytes([hi | 0x80, lo | 0x80]).decode("euc_jp")
    except UnicodeDecodeError:
        raise ClassSetError(f"JIS X 0208 code 0x{code:04X} maps to no character") from None


def char_to_jis(ch: str) -> int:
    """Unicode character -> JIS X 0208 code."""
    try:
        b = ch.encode("euc_jp")
    except UnicodeEncodeError:
        raise ClassSetError(f"{ch!r} (U+{ord(ch):04X}) is not in JIS X 0208") from None
    if len(b) != 2:
        raise ClassSetError(f"{ch!r} is not a two-byte JIS X 0208 character")
    return ((b[0] & 0x7F) << 8) | (b[1] & 0x7F)


@lru_cache(maxsize=None)
def jis0208_table() -> np.ndarray:
    """table[code] = Unicode code point of a JIS X 0208 code, or 0 where there is none."""
    table = np.zeros(1 << 16, dtype=np.int32)
    for hi in range(0x21, 0x7F):
        for lo in range(0x21, 0x7F):
            try:
                ch = jis_to_char((hi << 8) | lo)
            except ClassSetError:
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


def voicing(ch: str) -> str | None:
    """'voiced' (a ゛), 'semi-voiced' (a ゜) or None: read from Unicode's decomposition,
    so it holds for hiragana and katakana alike."""
    nfd = unicodedata.normalize("NFD", ch)
    if len(nfd) == 2 and nfd[1] == VOICED_MARK:
        return "voiced"
    if len(nfd) == 2 and nfd[1] == SEMI_VOICED_MARK:
        return "semi-voiced"
    return None


def base_char(ch: str) -> str:
    """The character under a voicing mark (the voiced za gives sa); others are their own."""
    return unicodedata.normalize("NFD", ch)[0]


def reading(ch: str) -> str:
    """ETL's 'typical reading' of a kana in ASCII ('KA.HIRA'), from its Unicode name, whose
    romanisation is ETL's own (SI, TI, TU, HU, WO, N); '' for other characters."""
    name = unicodedata.name(ch, "")
    for script, tag in (("HIRAGANA LETTER ", "HIRA"), ("KATAKANA LETTER ", "KATA")):
        if name.startswith(script) and " " not in name[len(script):]:
            return f"{name[len(script):]}.{tag}"
    return ""


@dataclass(frozen=True)
class ClassSet:
    """An ordered set of characters; a character's position is its class index.

    Any JIS X 0208 characters make a class set (the codes ETL files hold); a character
    outside it, or one given twice, is a ClassSetError that names it.
    """

    name: str
    chars: tuple[str, ...]
    example: str | None = None  # the character figures show by default (the blog showed one)

    def __post_init__(self):
        chars = tuple(self.chars)
        object.__setattr__(self, "chars", chars)
        if not chars:
            raise ClassSetError(f"class set {self.name} holds no characters",
                                params=("classes",))
        bad = []
        for ch in chars:
            try:
                char_to_jis(ch)
            except ClassSetError:
                bad.append(ch)
        if bad:
            raise ClassSetError(
                f"class set {self.name}: {len(bad)} characters are not in JIS X 0208, which "
                f"ETL files use: {' '.join(repr(c) for c in bad[:10])}"
                f"{' ...' if len(bad) > 10 else ''}; leave them out", params=("classes",))
        twice = [c for c, n in Counter(chars).items() if n > 1]
        if twice:
            raise ClassSetError(f"class set {self.name} lists {' '.join(twice)} "
                                f"more than once; give each character once",
                                params=("classes",))
        if self.example is not None and self.example not in chars:
            raise ClassSetError(f"class set {self.name}: its example {self.example!r} is not "
                                f"one of its characters")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(chars)})

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, ch: object) -> bool:
        return ch in self._index

    def index(self, ch: str) -> int:
        try:
            return self._index[ch]
        except KeyError:
            raise ClassSetError(f"{ch!r} is not in class set {self.name}") from None

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


CLASS_SETS: dict[str, ClassSet] = {}


def register(class_set: ClassSet) -> ClassSet:
    """Make a class set known by name to every script (--classes NAME) and to the reader."""
    CLASS_SETS[class_set.name] = class_set
    return class_set


def get_class_set(name: str | ClassSet) -> ClassSet:
    if isinstance(name, ClassSet):
        return name
    try:
        return CLASS_SETS[name]
    except (KeyError, TypeError):
        raise ClassSetError(f"unknown class set {name!r}; choose one of {', '.join(CLASS_SETS)}",
                            params=("classes",)) from None


def _hiragana_without(exclude: str) -> tuple[str, ...]:
    return tuple(chr(c) for c in range(HIRAGANA_FIRST, HIRAGANA_LAST + 1) if chr(c) not in exclude)


_VOICED_HIRAGANA = "".join(c for c in _hiragana_without("") if voicing(c))

register(ClassSet("hiragana71", _hiragana_without(SMALL_KANA + OBSOLETE_KANA), example="ず"))
register(ClassSet("hiragana75", _hiragana_without("ぁぃぅぇぉゎ" + OBSOLETE_KANA), example="ず"))
register(ClassSet("hiragana46", _hiragana_without(SMALL_KANA + OBSOLETE_KANA + _VOICED_HIRAGANA),
                  example="す"))
