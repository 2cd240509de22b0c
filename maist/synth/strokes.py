"""KanjiVG stroke data: SVG path commands -> cubic Bézier segments, one list per stroke.

    parse_path("M31,33c0.88,0.88,...")  -> (k, 4, 2) array: k cubic segments, 4 control points
    character_strokes(ch)              -> [ (k, 4, 2), ... ] in writing order, 109x109 box

Only the strokes are read from the `kanjivg` package (CC BY-SA 3.0, Ulrich Apel,
https://kanjivg.tagaini.net): one <path> per stroke. Lines and quadratic curves become
cubics, so a renderer needs one kind of segment.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import metadata

import numpy as np

from ..errors import StrokeError

KANJIVG_BOX = 109  # KanjiVG draws every character in a 109x109 box

_TOKEN = re.compile(r"([MmLlHhVvCcSsQqTtZz])|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|([\s,]+)")
_ARITY = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "Z": 0}


def _tokens(d: str) -> list[str | float]:
    out: list[str | float] = []
    pos = 0
    while pos < len(d):
        m = _TOKEN.match(d, pos)
        if not m or m.end() == pos:
            raise StrokeError(f"path {d[:40]!r}: cannot read {d[pos:pos + 10]!r} at character {pos}")
        if m.group(1):
            out.append(m.group(1))
        elif m.group(2):
            out.append(float(m.group(2)))
        pos = m.end()
    return out


def _line(p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
    return np.array([p0, p0 + (p1 - p0) / 3, p0 + 2 * (p1 - p0) / 3, p1])


def parse_path(d: str) -> np.ndarray:
    """An SVG path's `d` -> (k, 4, 2) cubic segments in absolute coordinates.

    Handles M/m, L/l, H/h, V/v, C/c, S/s, Q/q, T/t and Z/z, with repeated argument groups
    (after M, repeats are line-tos) and reflected control points for S and T.
    """
    tokens = _tokens(d)
    if not tokens or tokens[0] not in ("M", "m"):
        raise StrokeError(f"path {d[:40]!r}: must start with a move-to (M or m)")
    segs: list[np.ndarray] = []
    cur = start = np.zeros(2)
    last_ctrl = None  # the previous segment's last control point, for S/T reflection
    last_cmd = ""
    i = 0
    while i < len(tokens):
        cmd = tokens[i]
        if not isinstance(cmd, str):
            raise StrokeError(f"path {d[:40]!r}: number {cmd} where a command was expected")
        i += 1
        upper, rel = cmd.upper(), cmd.islower()
        arity = _ARITY[upper]
        first = True
        while first or (arity and i < len(tokens) and not isinstance(tokens[i], str)):
            args = tokens[i : i + arity]
            if len(args) < arity or any(isinstance(a, str) for a in args):
                raise StrokeError(
                    f"path {d[:40]!r}: {cmd} needs {arity} numbers, got {len([a for a in args if not isinstance(a, str)])}"
                )
            i += arity
            a = np.array(args, dtype=float)
            base = cur if rel else np.zeros(2)
            if upper == "M" and first:
                cur = start = base + a
                last_ctrl = None
            elif upper in ("M", "L"):
                segs.append(_line(cur, base + a))
                cur, last_ctrl = base + a, None
            elif upper == "H":
                nxt = np.array([a[0] + (cur[0] if rel else 0.0), cur[1]])
                segs.append(_line(cur, nxt))
                cur, last_ctrl = nxt, None
            elif upper == "V":
                nxt = np.array([cur[0], a[0] + (cur[1] if rel else 0.0)])
                segs.append(_line(cur, nxt))
                cur, last_ctrl = nxt, None
            elif upper == "C":
                c1, c2, end = base + a[0:2], base + a[2:4], base + a[4:6]
                segs.append(np.array([cur, c1, c2, end]))
                cur, last_ctrl = end, c2
            elif upper == "S":
                c1 = 2 * cur - last_ctrl if last_cmd in "CS" and last_ctrl is not None else cur
                c2, end = base + a[0:2], base + a[2:4]
                segs.append(np.array([cur, c1, c2, end]))
                cur, last_ctrl = end, c2
            elif upper in ("Q", "T"):
                if upper == "Q":
                    q, end = base + a[0:2], base + a[2:4]
                else:
                    q = 2 * cur - last_ctrl if last_cmd in "QT" and last_ctrl is not None else cur
                    end = base + a[0:2]
                segs.append(np.array([cur, cur + 2 / 3 * (q - cur), end + 2 / 3 * (q - end), end]))
                cur, last_ctrl = end, q
            elif upper == "Z":
                if not np.allclose(cur, start):
                    segs.append(_line(cur, start))
                cur, last_ctrl = start, None
            last_cmd = upper if upper != "M" or not first else "M"
            first = False
    if not segs:
        raise StrokeError(f"path {d[:40]!r}: draws nothing")
    return np.stack(segs)


def kanjivg_file(ch: str):
    """Path of a character's SVG inside the installed kanjivg package."""
    try:
        dist = metadata.distribution("kanjivg")
    except metadata.PackageNotFoundError:
        raise StrokeError("the kanjivg package is not installed: pip install kanjivg") from None
    path = dist.locate_file(f"kanji/{ord(ch):05x}.svg")
    if not path.exists():
        raise StrokeError(f"KanjiVG has no strokes for {ch!r} (U+{ord(ch):04X})")
    return path


_PATH_D = re.compile(r"<path\b[^>]*?\sd=\"([^\"]*)\"")


@lru_cache(maxsize=None)
def character_strokes(ch: str) -> tuple[np.ndarray, ...]:
    """A character's strokes in writing order, each (k, 4, 2) in the 109x109 box."""
    text = kanjivg_file(ch).read_text(encoding="utf-8")
    paths = _PATH_D.findall(text)
    if not paths:
        raise StrokeError(f"KanjiVG's file for {ch!r} has no stroke paths")
    try:
        return tuple(parse_path(d) for d in paths)
    except StrokeError as e:
        raise StrokeError(f"{ch!r}: {e}") from None


def sample_cubic(seg: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points of one cubic segment (4, 2) at parameters t (m,) -> (m, 2)."""
    t = t[:, None]
    u = 1.0 - t
    return u**3 * seg[0] + 3 * u**2 * t * seg[1] + 3 * u * t**2 * seg[2] + t**3 * seg[3]


def split_cubic(seg: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """One cubic (4, 2) cut at parameter t into two that trace it exactly (de Casteljau)."""
    a = seg[:-1] + t * (seg[1:] - seg[:-1])  # (3, 2)
    b = a[:-1] + t * (a[1:] - a[:-1])  # (2, 2)
    c = b[0] + t * (b[1] - b[0])
    return np.array([seg[0], a[0], b[0], c]), np.array([c, b[1], a[2], seg[3]])


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 1e-9 else np.zeros(2)


def merge_strokes(strokes: tuple[np.ndarray, ...], i: int, handle: float = 0.25
                  ) -> tuple[np.ndarray, ...]:
    """Strokes i and i+1 written as one, the pen not lifted: a cubic carries it from i's
    end to i+1's start, leaving along i's last direction and arriving along i+1's first.
    `handle` is the tangent length as a fraction of the gap: short handles turn the pen
    at the corners (the joined forms of forms.json), long ones swing it through a loop."""
    a, b = strokes[i], strokes[i + 1]
    p0, p1 = a[-1][3], b[0][0]
    reach = handle * np.linalg.norm(p1 - p0)
    out_dir = _unit(a[-1][3] - a[-1][2])
    in_dir = _unit(b[0][1] - b[0][0])
    bridge = np.array([p0, p0 + reach * out_dir, p1 - reach * in_dir, p1])[None]
    return strokes[:i] + (np.concatenate([a, bridge, b]),) + strokes[i + 2:]


def split_stroke(strokes: tuple[np.ndarray, ...], i: int, end: int, start: int,
                 trim: float = 0.0) -> tuple[np.ndarray, ...]:
    """Stroke i written as two, the pen lifted: its segments [:end] and then [start:],
    the ones between left out (a corner's hairpin) and the first `trim` of segment
    `start` cut off, so that a gap shows where the pen left the paper."""
    segs = strokes[i]
    if not 0 < end <= start < len(segs):
        raise StrokeError(f"stroke {i} has {len(segs)} segments: cannot split at {end}..{start}")
    second = segs[start:].copy()
    if trim:
        second[0] = split_cubic(second[0], trim)[1]
    return strokes[:i] + (segs[:end], second) + strokes[i + 1:]


def reshape_stroke(strokes: tuple[np.ndarray, ...], i: int, first: int, stop: int,
                   scale: tuple[float, float] = (1.0, 1.0), shift: tuple[float, float] = (0.0, 0.0),
                   about: tuple[float, float] | None = None) -> tuple[np.ndarray, ...]:
    """Part of stroke i written in other proportions, the pen never lifted: its segments
    [first:stop] scaled (x, y) about `about` (default: the point where segment `first`
    begins), then shifted, in KanjiVG units. The segments on either side stretch to stay
    joined: each end point moves with its neighbouring control point, so the stroke leaves
    and enters the part along the same directions (a corner stays a corner, a curve stays
    smooth). The segment and stroke counts are kept."""
    segs = strokes[i]
    if not 0 <= first < stop <= len(segs):
        raise StrokeError(f"stroke {i} has {len(segs)} segments: cannot reshape {first}..{stop}")
    out = segs.copy()
    anchor = segs[first][0] if about is None else np.asarray(about, dtype=float)
    out[first:stop] = anchor + (segs[first:stop] - anchor) * np.asarray(scale) + np.asarray(shift)
    if first > 0:  # the segment before ends where the part now begins
        out[first - 1, 2:] += out[first][0] - segs[first][0]
    if stop < len(segs):  # the segment after begins where the part now ends
        out[stop, :2] += out[stop - 1][3] - segs[stop - 1][3]
    return strokes[:i] + (out,) + strokes[i + 1:]
