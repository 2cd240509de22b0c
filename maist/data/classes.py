"""Class sets as data: which characters a model tells apart, in which order, and the codes
that ETL files file them under.

    CLASS_SETS[name], get_class_set(name)   the registry; DEFAULT_CLASSES is MAIST's default
    ClassSet(name, chars)                    any ordered list of JIS X 0208 characters
    jis_to_char / char_to_jis                JIS X 0208 <-> Unicode, one character at a time
    jis0208_table() / jis0201_table()        the same facts as lookup arrays, for ETL columns
    voicing(ch), base_char(ch)               a kana's voicing mark, and the kana under it

The registered sets:
    hiragana71  the blog's (MAIST's default): JIS X 0208's row 4 (U+3041..U+3093) less its
                10 small kana and the obsolete wi and we
    hiragana75  ETL8G's: hiragana71 plus the small tsu, ya, yu and yo
    hiragana46  the basic syllabary: hiragana71 less its 20 voiced and 5 semi-voiced kana
    katakana71  hiragana71's mirror in row 5 (U+30A1..U+30F3); katakana46 the basic ones
    kana142     hiragana71 then katakana71
    kyoiku1026  the 1,026 kanji Japanese children learn at school (the 2020 list, grade by
                grade, from the kanji-lists package), each grade in JIS order
    joyo2136    the 2,136 kanji of the jōyō list (2010, from the kanji-lists package), in
                JIS order; 剝 and 塡, outside JIS X 0208, by the forms JIS codes (剥, 填).
                2,106 of them are ETL9G's; the 30 JIS level-2 ones are in no ETL file, so
                they come from the synthetic set alone (joyo_without_etl)
    jis1        the 2,965 JIS level-1 kanji (rows 16-47), as ETL9G holds them
    etl9g3036   every class of ETL9G: hiragana71 and jis1, in JIS order
Names join with "+" into a union ("kana142+kyoiku1026": 1,168 classes, in that order), and
a text file of characters, one a line, is a class set too (get_class_set("mine.txt")).

This module is the one place that knows which characters are hiragana. Everything else
takes a class set (or its name) as a parameter: the reader, the data set, the generator,
the models (whose size is len(class set)) and the run directory, which records the
characters themselves, so a model's class list travels with its weights.

JIS X 0208 puts hiragana in row 4, in Unicode order; other rows (kanji, katakana,
symbols) are read through Python's EUC-JP codec, which is JIS X 0208 with 0x80 set on
both bytes.
"""

from __future__ import annotations

import os
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

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
    if len(b) == 2 and b[0] == 0x8E:  # EUC-JP's single shift 2: JIS X 0201's kana
        full = unicodedata.normalize("NFKC", ch)
        raise ClassSetError(f"{ch!r} (U+{ord(ch):04X}) is half-width katakana, JIS X 0201's, "
                            f"not JIS X 0208's; write its full-width form {full!r} "
                            f"(U+{ord(full[0]):04X})")
    if len(b) != 2 or not (0xA1 <= b[0] <= 0xFE and 0xA1 <= b[1] <= 0xFE):
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
        bad, why = [], ""
        for ch in chars:
            try:
                char_to_jis(ch)
            except ClassSetError as e:
                bad.append(ch)
                why = why or str(e)  # the first one's reason (half-width kana: its fix)
        if bad:
            raise ClassSetError(
                f"class set {self.name}: {len(bad)} characters are not in JIS X 0208, which "
                f"ETL files use: {' '.join(repr(c) for c in bad[:10])}"
                f"{' ...' if len(bad) > 10 else ''}; leave them out ({why})",
                params=("classes",))
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
    """A registered set, a union of them ("kana142+kyoiku1026"), or a text file of
    characters, one a line (its name is the file's path)."""
    if isinstance(name, ClassSet):
        return name
    if not isinstance(name, str) or not name:
        raise ClassSetError(f"a class set is a name, not {name!r}", params=("classes",))
    if name in CLASS_SETS:
        return CLASS_SETS[name]
    if Path(name).is_file():
        return from_file(name)
    if "+" in name:  # a union: each part a name or a file
        if not all(p.strip() for p in name.split("+")):
            raise ClassSetError(f"{name!r}: + joins class-set names or files "
                                f"(kana142+kyoiku1026), and a name is missing beside a +",
                                params=("classes",))
        parts = [get_class_set(p.strip()) for p in name.split("+")]
        return ClassSet(name, tuple(dict.fromkeys(c for part in parts for c in part.chars)))
    if name.endswith(".txt"):
        return from_file(name)  # a file that is not there: its error names it
    raise ClassSetError(f"unknown class set {name!r}; choose one of {', '.join(CLASS_SETS)}, "
                        f"join them with + (kana142+kyoiku1026), or give a .txt file of "
                        f"characters, one a line", params=("classes",))


def from_file(path: str | os.PathLike) -> ClassSet:
    """A class set from a text file: one character a line, in class order; blank lines
    and lines starting with # are passed over."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # an editor's byte-order mark is no class
    except FileNotFoundError:
        raise ClassSetError(f"{path}: no such file of classes", params=("classes",)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ClassSetError(f"{path}: cannot be read as UTF-8 text ({type(e).__name__})",
                            params=("classes",)) from None
    lines = [(i, line.strip()) for i, line in enumerate(text.splitlines(), 1)]
    lines = [(i, line) for i, line in lines if line and not line.startswith("#")]
    long = [f"line {i} ({line[:10]!r})" for i, line in lines if len(line) != 1]
    if long:
        verb = "holds" if len(long) == 1 else "hold"
        raise ClassSetError(f"{path}: one character a line; {', '.join(long[:3])} {verb} more",
                            params=("classes",))
    try:
        return ClassSet(str(path), tuple(line for _, line in lines))
    except ClassSetError as e:
        raise ClassSetError(f"{path}: {e}", params=("classes",)) from None


SCRIPTS = ("hiragana", "katakana", "kanji", "other")


def script_of(ch: str) -> str:
    """'hiragana', 'katakana', 'kanji' or 'other', from the character's Unicode name."""
    name = unicodedata.name(ch, "")
    return ("hiragana" if name.startswith("HIRAGANA") else "katakana"
            if name.startswith("KATAKANA") else "kanji" if name.startswith("CJK") else "other")


def scripts(chars) -> list[str]:
    """The scripts a list of characters is written in, in the order they first appear: a
    page's title names them."""
    return list(dict.fromkeys(script_of(ch) for ch in chars))


def script_mask(chars, wanted: str | Sequence[str]) -> np.ndarray:
    """(C,) True for the classes written in the `wanted` scripts ('hiragana' or
    'hiragana,katakana'): a model of several scripts asked to read one of them."""
    if isinstance(wanted, str):
        wanted = [w.strip() for w in wanted.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in SCRIPTS]
    if unknown or not wanted:
        raise ClassSetError(f"unknown script {', '.join(map(repr, unknown)) or 'none'}; "
                            f"choose from {', '.join(SCRIPTS)}", params=("scripts",))
    mask = np.array([script_of(c) in wanted for c in chars])
    if not mask.any():
        raise ClassSetError(f"none of the {len(chars)} classes is written in "
                            f"{' or '.join(wanted)}; the model reads {', '.join(scripts(chars))}",
                            params=("scripts",))
    return mask


def scripts_text(chars) -> str:
    """The scripts in words, for a title: 'hiragana', 'hiragana and katakana',
    'hiragana, katakana and kanji'."""
    names = ["characters" if s == "other" else s for s in scripts(chars)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _hiragana_without(exclude: str) -> tuple[str, ...]:
    return tuple(chr(c) for c in range(HIRAGANA_FIRST, HIRAGANA_LAST + 1) if chr(c) not in exclude)


_VOICED_HIRAGANA = "".join(c for c in _hiragana_without("") if voicing(c))
KATAKANA_FIRST = 0x30A1  # the small a; katakana mirror hiragana 0x60 code points up

register(ClassSet("hiragana71", _hiragana_without(SMALL_KANA + OBSOLETE_KANA), example="ず"))
register(ClassSet("hiragana75", _hiragana_without("ぁぃぅぇぉゎ" + OBSOLETE_KANA), example="ず"))
register(ClassSet("hiragana46", _hiragana_without(SMALL_KANA + OBSOLETE_KANA + _VOICED_HIRAGANA),
                  example="す"))


def _katakana(hiragana: ClassSet, name: str) -> ClassSet:
    """The katakana of each hiragana (U+30A1 is U+3041 + 0x60, kana by kana)."""
    return ClassSet(name, tuple(chr(ord(c) + KATAKANA_FIRST - HIRAGANA_FIRST) for c in hiragana.chars),
                    example=chr(ord(hiragana.example) + KATAKANA_FIRST - HIRAGANA_FIRST))


def _jis_rows(first: int, last: int) -> tuple[str, ...]:
    """Every character of JIS X 0208 rows first..last, in code order."""
    table = jis0208_table()
    return tuple(chr(table[(row << 8) | cell]) for row in range(first + 0x20, last + 0x21)
                 for cell in range(0x21, 0x7F) if table[(row << 8) | cell])


def _kyoiku() -> tuple[str, ...]:
    """The 2020 school list, grade 1 to 6, each grade in JIS order."""
    from kanji_lists import KYOIKU

    grades = [getattr(KYOIKU.REIWA2, f"GRADE{g}") for g in range(1, 7)]
    return tuple(c for grade in grades for c in sorted(grade, key=char_to_jis))


register(_katakana(CLASS_SETS["hiragana71"], "katakana71"))
register(_katakana(CLASS_SETS["hiragana46"], "katakana46"))
register(ClassSet("kana142", CLASS_SETS["hiragana71"].chars + CLASS_SETS["katakana71"].chars,
                  example="ず"))
# The jōyō list's two characters outside JIS X 0208, by the forms JIS X 0208 codes (the
# list's accepted forms): ETL files and MAIST's synthetic ones carry JIS codes.
JOYO_IN_JIS = {"剝": "剥", "塡": "填"}


def _joyo() -> tuple[str, ...]:
    """The 2010 jōyō list, in JIS order."""
    from kanji_lists import JOYO

    return tuple(sorted((JOYO_IN_JIS.get(c, c) for c in JOYO.HEISEI22), key=char_to_jis))


register(ClassSet("kyoiku1026", _kyoiku(), example="字"))
register(ClassSet("jis1", _jis_rows(16, 47), example="字"))
register(ClassSet("etl9g3036", CLASS_SETS["hiragana71"].chars + CLASS_SETS["jis1"].chars,
                  example="ず"))
register(ClassSet("joyo2136", _joyo(), example="字"))


def joyo_without_etl() -> tuple[str, ...]:
    """The jōyō kanji that no ETL9G file holds (JIS level 2): a run on real ETL files
    has no real image of them."""
    etl9g = set(CLASS_SETS["etl9g3036"].chars)
    return tuple(c for c in CLASS_SETS["joyo2136"].chars if c not in etl9g)

