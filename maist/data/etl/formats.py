"""AIST's record layouts: a structured dtype per format, and what its files look like.

    FORMATS["ETL9G"]          -> EtlFormat   dtype, image size, bits, code space, writers
    format_from_name(path)    -> (EtlFormat, number) from AIST's file names (ETL9G_07)
    expected_records(fmt, n)  -> the record count AIST publishes for file n, from the table
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import EtlFormatError


class EtlCountWarning(UserWarning):
    """A file holds a different number of records than AIST publishes for it."""


# --- record layouts -----------------------------------------------------------------------
# Field names follow AIST's pages; "_undefined" and "_uncertain" are bytes AIST leaves open.

_G_HEAD = [
    ("sheet", ">u2"),  # serial sheet number
    ("jis", ">u2"),  # JIS X 0208 code: the label comes from here, never from `reading`
    ("reading", "S8"),  # ASCII "typical reading", e.g. b"A.HIRA  "; ambiguous, see README
    ("serial", ">u4"),  # serial data number
    ("quality", "u1"),  # evaluation of the individual character image
    ("group_quality", "u1"),  # evaluation of the character group
    ("sex", "u1"),  # 1 = male, 2 = female (JIS X 0303)
    ("age", "u1"),
    ("industry", ">u2"),  # JIS X 0403
    ("occupation", ">u2"),  # JIS X 0404
    ("gathered", ">u2"),  # sheet gathering date, (19)YYMM
    ("scanned", ">u2"),  # scanning date, (19)YYMM
]

# ETL8G: bytes 61-8188 are the image; 30 undefined bytes before it, 11 after.
ETL8G_DTYPE = np.dtype(
    _G_HEAD
    + [("pos_y", "u1"), ("pos_x", "u1"), ("_undefined", "V30"), ("image", "u1", (8128,)),
       ("_uncertain", "V11")]
)
# ETL9G: bytes 65-8192 are the image; 34 undefined bytes before it, 7 after. Reading ETL9G
# with ETL8G's offsets shifts every image 8 pixels (4 bytes) to the left.
ETL9G_DTYPE = np.dtype(
    _G_HEAD
    + [("pos_x", "u1"), ("pos_y", "u1"), ("_undefined", "V34"), ("image", "u1", (8128,)),
       ("_uncertain", "V7")]
)
# ETL8B2: 512 bytes, a 64x63 1-bit image from byte 9; ETL9B adds 64 uncertain bytes.
_B_HEAD = [("sheet", ">u2"), ("jis", ">u2"), ("reading", "S4"), ("image", "u1", (504,))]
ETL8B_DTYPE = np.dtype(_B_HEAD)
ETL9B_DTYPE = np.dtype(_B_HEAD + [("_uncertain", "V64")])
# M type (ETL1, ETL6, ETL7): 2052 bytes, JIS X 0201 codes, a 64x63 4-bit image from byte 33.
ETLM_DTYPE = np.dtype(
    [
        ("data_number", ">u2"),
        ("char_code", "S2"),  # ASCII, e.g. b"KA"
        ("sheet", ">u2"),
        ("jis", "u1"),  # JIS X 0201 (ETL7 files hiragana under the katakana codes)
        ("ebcdic", "u1"),
        ("quality", "u1"),
        ("group_quality", "u1"),
        ("sex", "u1"),
        ("age", "u1"),
        ("serial", ">u4"),
        ("industry", ">u2"),
        ("occupation", ">u2"),
        ("gathered", ">u2"),
        ("scanned", ">u2"),
        ("pos_y", "u1"),
        ("pos_x", "u1"),
        ("min_level", "u1"),
        ("max_level", "u1"),
        ("_undefined", "V4"),
        ("image", "u1", (2016,)),
        ("_uncertain", "V4"),
    ]
)


@dataclass(frozen=True)
class EtlFormat:
    """One of AIST's record layouts, and what the files of that data set look like."""

    name: str
    dtype: np.dtype
    width: int
    height: int
    bits: int  # 4 (16 grey levels) or 1 (black and white)
    code_space: str  # "jis0208" or "jis0201"
    dummy_first: bool = False  # the first record of every file is not a sample
    records_per_writer: int | None = None  # one writer's (data set's) run of records
    writers_per_file: int | None = None  # with a numbered file name: a global writer id
    hiragana_as_katakana: bool = False  # ETL7 stores hiragana under half-width katakana
    files: int | None = None  # AIST's numbered files of the set (ETL9G_01 .. ETL9G_50)
    last_file_writers: int | None = None  # where the last file holds fewer writers

    @property
    def record_size(self) -> int:
        return self.dtype.itemsize

    @property
    def max_level(self) -> int:
        return (1 << self.bits) - 1


FORMATS: dict[str, EtlFormat] = {
    f.name: f
    for f in (
        EtlFormat("ETL8G", ETL8G_DTYPE, 128, 127, 4, "jis0208", False, 956, 5, files=33,
                  last_file_writers=1),
        EtlFormat("ETL9G", ETL9G_DTYPE, 128, 127, 4, "jis0208", False, 3036, 4, files=50),
        EtlFormat("ETL8B2", ETL8B_DTYPE, 64, 63, 1, "jis0208", True, 956, None),
        EtlFormat("ETL9B", ETL9B_DTYPE, 64, 63, 1, "jis0208", True, 3036, 40, files=5),
        EtlFormat("ETL1", ETLM_DTYPE, 64, 63, 4, "jis0201"),
        EtlFormat("ETL6", ETLM_DTYPE, 64, 63, 4, "jis0201"),
        EtlFormat("ETL7", ETLM_DTYPE, 64, 63, 4, "jis0201", hiragana_as_katakana=True),
    )
}

# Names as AIST ships them: ETL9G_01, ETL8G_33, ETL9B_1, ETL8B2C1, ETL1C_07, ETL7LC_1.
_NAME_PATTERNS = [
    (re.compile(r"^ETL9G(?:_(\d+))?$"), "ETL9G"),
    (re.compile(r"^ETL8G(?:_(\d+))?$"), "ETL8G"),
    (re.compile(r"^ETL9B(?:_(\d+))?$"), "ETL9B"),
    (re.compile(r"^ETL8B2?C?(\d+)?$"), "ETL8B2"),
    (re.compile(r"^ETL1C?(?:_(\d+))?$"), "ETL1"),
    (re.compile(r"^ETL6C?(?:_(\d+))?$"), "ETL6"),
    (re.compile(r"^ETL7[LS]?C?(?:_(\d+))?$"), "ETL7"),
]


def expected_records(fmt: EtlFormat, number: int | None) -> int | None:
    """AIST's published record count for file `number` of a data set (dummy included), as
    the format's table implies it: ETL9G_07 holds 4 writers x 3036 classes; None where
    the table does not say (an unnumbered file, a set of no fixed writers per file)."""
    if (number is None or fmt.files is None or fmt.writers_per_file is None
            or fmt.records_per_writer is None or not 1 <= number <= fmt.files):
        return None
    writers = (fmt.last_file_writers if number == fmt.files and fmt.last_file_writers
               else fmt.writers_per_file)
    return int(fmt.dummy_first) + writers * fmt.records_per_writer


def format_from_name(path: str | os.PathLike) -> tuple[EtlFormat | None, int | None]:
    """('ETL9G_07' -> ETL9G, 7); (None, None) for a name that is no ETL data file."""
    name = Path(path).name.upper()
    if name.endswith((".BIN", ".DAT")):
        name = name[:-4]
    for pattern, fmt_name in _NAME_PATTERNS:
        m = pattern.match(name)
        if m:
            return FORMATS[fmt_name], (int(m.group(1)) if m.group(1) else None)
    return None, None


def get_format(name: str) -> EtlFormat:
    try:
        return FORMATS[name.upper()]
    except KeyError:
        raise EtlFormatError(
            f"unknown ETL format {name!r}; MAIST reads {', '.join(FORMATS)}"
        ) from None


