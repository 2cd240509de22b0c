"""ETL records built byte by byte from AIST's format pages, independently of maist.etl.

Positions below are AIST's 1-based byte positions; `put(rec, first, last, value)` writes
bytes first..last inclusive, big-endian, exactly as the tables on AIST's pages read.
"""

from __future__ import annotations


def put(rec: bytearray, first: int, last: int, value) -> None:
    n = last - first + 1
    data = value if isinstance(value, (bytes, bytearray)) else int(value).to_bytes(n, "big")
    assert len(data) == n, (first, last, len(data))
    rec[first - 1 : last] = data


def pack4(pixels: list[list[int]]) -> bytes:
    """Rows of 4-bit pixels -> bytes, the left pixel in the high nibble."""
    flat = [p for row in pixels for p in row]
    return bytes((flat[i] << 4) | flat[i + 1] for i in range(0, len(flat), 2))


def pack1(pixels: list[list[int]]) -> bytes:
    """Rows of 1-bit pixels -> bytes, the left pixel in the highest bit."""
    flat = [p for row in pixels for p in row]
    out = bytearray()
    for i in range(0, len(flat), 8):
        byte = 0
        for bit in flat[i : i + 8]:
            byte = (byte << 1) | bit
        out.append(byte)
    return bytes(out)


def pattern(height: int, width: int, levels: int, salt: int = 0) -> list[list[int]]:
    """An asymmetric test image: swapping nibbles or shifting rows changes it."""
    return [[(r * 3 + c * 5 + salt + (c // 7)) % levels for c in range(width)] for r in range(height)]


def g_record(kind: str, jis: int, sheet: int = 7, serial: int = 123456, image=None,
             salt: int = 0) -> bytes:
    """An ETL8G or ETL9G record (8199 bytes)."""
    rec = bytearray(8199)
    put(rec, 1, 2, sheet)
    put(rec, 3, 4, jis)
    put(rec, 5, 12, b"A.HIRA  ")
    put(rec, 13, 16, serial)
    put(rec, 17, 17, 1)  # evaluation of individual character image
    put(rec, 18, 18, 2)  # evaluation of character group
    put(rec, 19, 19, 2)  # female
    put(rec, 20, 20, 34)  # age
    put(rec, 21, 22, 301)  # industry
    put(rec, 23, 24, 402)  # occupation
    put(rec, 25, 26, 7402)  # gathered
    put(rec, 27, 28, 7405)  # scanned
    put(rec, 29, 29, 11)
    put(rec, 30, 30, 22)
    img = pack4(image if image is not None else pattern(127, 128, 16, salt))
    if kind == "ETL8G":
        put(rec, 31, 60, b"\xee" * 30)  # undefined: must not leak into the image
        put(rec, 61, 8188, img)
        put(rec, 8189, 8199, b"\xdd" * 11)
    else:
        put(rec, 31, 64, b"\xee" * 34)
        put(rec, 65, 8192, img)
        put(rec, 8193, 8199, b"\xdd" * 7)
    return bytes(rec)


def b_record(kind: str, jis: int, sheet: int = 3, image=None, salt: int = 0) -> bytes:
    """An ETL8B2 (512 bytes) or ETL9B (576 bytes) record."""
    rec = bytearray(512 if kind == "ETL8B2" else 576)
    put(rec, 1, 2, sheet)
    put(rec, 3, 4, jis)
    put(rec, 5, 8, b"A.HI")
    put(rec, 9, 512, pack1(image if image is not None else pattern(63, 64, 2, salt)))
    if kind == "ETL9B":
        put(rec, 513, 576, b"\xcc" * 64)
    return bytes(rec)


def m_record(code: int, sheet: int = 5, image=None, salt: int = 0) -> bytes:
    """An M-type (ETL1, ETL6, ETL7) record (2052 bytes)."""
    rec = bytearray(2052)
    put(rec, 1, 2, 99)  # data number
    put(rec, 3, 4, b"KA")
    put(rec, 5, 6, sheet)
    put(rec, 7, 7, code)  # JIS X 0201
    put(rec, 8, 8, 0x82)  # EBCDIC
    put(rec, 9, 9, 1)
    put(rec, 10, 10, 0)
    put(rec, 11, 11, 1)
    put(rec, 12, 12, 20)
    put(rec, 13, 16, 4242)
    put(rec, 17, 18, 301)
    put(rec, 19, 20, 402)
    put(rec, 21, 22, 7402)
    put(rec, 23, 24, 7405)
    put(rec, 25, 25, 3)
    put(rec, 26, 26, 4)
    put(rec, 27, 27, 10)
    put(rec, 28, 28, 200)
    put(rec, 29, 32, b"\xee" * 4)
    put(rec, 33, 2048, pack4(image if image is not None else pattern(63, 64, 16, salt)))
    put(rec, 2049, 2052, b"\xdd" * 4)
    return bytes(rec)
