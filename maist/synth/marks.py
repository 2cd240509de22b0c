"""Voicing marks as people write them (generator version 5).

KanjiVG draws one dakuten (two parallel ticks, up and to the right of the kana) and one
handakuten (a closed ring of about a sixth of the character) at one place. Hands differ,
and a model that has only seen KanjiVG's marks misreads real ones: a mark missed, the two
marks taken for one, ho under a mark read as ha because the mark crowds its top bar. What
varies, from handwriting guides and from looking at how people write:

- the ticks: their length (dots for some hands), their slant, how far apart they are,
  the line they stand on (rising to the right), and whether the pen lifts between them
  (or runs from the first tick up to the second, one stroke);
- the ring: its size, and whether it is closed, left open, or small and filled;
- where the mark sits: close to the base kana, often crowding the stroke nearest it
  (ho's top bar, te's end), but not over it: writers keep it apart, so the base's stroke
  stays whole, as it does in real writing. A mark is moved toward the base until it is a
  writer's chosen distance from its nearest stroke (a share of KanjiVG's distance, and
  a pen's width at least), never through it.

A writer's way with marks is kept for every voiced kana (`MarkHabit`); each sample varies
around it. Everything is in KanjiVG units (its 109 box), before the writer's own
placement, size and slant apply to the whole character. All draws come from the
generator the caller passes, a stream of its own, so the rest of the writing is as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .strokes import KANJIVG_BOX, sample_cubic

STYLES = ("ticks", "dots", "joined")  # how a hand writes the two ticks of a dakuten
STYLE_SHARES = (0.7, 0.15, 0.15)
MIN_GAP = 6.0  # KanjiVG units between a mark's centre line and the base's: about a pen's width


@dataclass(frozen=True)
class MarkHabit:
    """One writer's marks."""

    style: str  # one of STYLES
    tick: float  # a tick's length
    slope: float  # a tick's angle below the horizontal, radians (KanjiVG: about 0.84)
    spacing: float  # from one tick's centre to the next's
    rise: float  # the ticks' line, radians above the horizontal (KanjiVG: about 0.64)
    ring: float  # the handakuten's radius
    gap: float  # the ring's opening, radians (0: closed)
    filled: bool  # a small ring gone over until it is a blot
    crowd: float  # the distance kept from the base's nearest stroke, as a share of KanjiVG's
    offset: tuple[float, float]  # the mark's own place, beside KanjiVG's


def writer_marks(rng: np.random.Generator, strength: float = 1.0) -> MarkHabit:
    """A writer's way with voicing marks; strength 0 is KanjiVG's own."""
    s = strength
    style = str(rng.choice(STYLES, p=STYLE_SHARES))
    tick = float(rng.uniform(4.0, 6.5) if style == "dots" else rng.uniform(7.0, 13.0))
    return MarkHabit(
        style=style, tick=11.5 + (tick - 11.5) * min(s, 1.0),
        slope=float(np.clip(0.84 + s * rng.normal(0.0, 0.22), 0.45, 1.35)),
        spacing=float(8.0 + s * rng.uniform(-3.0, 2.0)),
        rise=float(0.64 + s * rng.normal(0.0, 0.2)),
        ring=float(7.5 + s * rng.uniform(-2.5, 2.5)),
        gap=float(rng.uniform(0.3, 1.8) * s if rng.random() < 0.45 else 0.0),
        filled=bool(rng.random() < 0.12 * s),
        crowd=float(1.0 + (rng.uniform(0.55, 1.15) - 1.0) * min(s, 1.0)),
        offset=(float(rng.normal(0, 2.0 * s)), float(rng.normal(0, 2.0 * s))))


def line(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """A straight piece as a cubic: (1, 4, 2)."""
    return np.stack([p, p + (q - p) / 3, p + 2 * (q - p) / 3, q])[None]


def arc(centre: np.ndarray, r0: float, r1: float, a0: float, sweep: float) -> np.ndarray:
    """An arc (a spiral where r0 != r1) from angle a0 through `sweep` radians, as cubics of
    at most a quarter turn each: (k, 4, 2). y points down, as in KanjiVG."""
    k = max(1, int(np.ceil(abs(sweep) / (np.pi / 2))))
    out = []
    for i in range(k):
        a, b = a0 + sweep * i / k, a0 + sweep * (i + 1) / k
        ra, rb = r0 + (r1 - r0) * i / k, r0 + (r1 - r0) * (i + 1) / k
        h = 4 / 3 * np.tan((b - a) / 4)  # the handle of a circular arc's cubic, per radius
        p0 = centre + ra * np.array([np.cos(a), np.sin(a)])
        p3 = centre + rb * np.array([np.cos(b), np.sin(b)])
        p1 = p0 + h * ra * np.array([-np.sin(a), np.cos(a)])
        p2 = p3 - h * rb * np.array([-np.sin(b), np.cos(b)])
        out.append(np.stack([p0, p1, p2, p3]))
    return np.stack(out)


def dakuten(centre: np.ndarray, habit: MarkHabit, rng: np.random.Generator,
            strength: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Two ticks about `centre`: two strokes (the first running on to the second's start
    when the hand does not lift the pen)."""
    rise = habit.rise + rng.normal(0, 0.1 * strength)
    slope = habit.slope + rng.normal(0, 0.1 * strength)
    spacing = habit.spacing * np.exp(rng.normal(0, 0.1 * strength))
    along = np.array([np.cos(rise), -np.sin(rise)])  # the ticks' line, rising to the right
    down = np.array([np.cos(slope), np.sin(slope)])  # a tick, from its top down
    length = habit.tick * np.exp(rng.normal(0, 0.12 * strength))
    second = length * rng.uniform(0.75, 1.05)
    c1, c2 = centre - along * spacing / 2, centre + along * spacing / 2
    a0, a1 = c1 - down * length / 2, c1 + down * length / 2
    b0, b1 = c2 - down * second / 2, c2 + down * second / 2
    first = line(a0, a1)
    if habit.style == "joined":  # down, then up to the second tick's top without lifting
        first = np.concatenate([first, line(a1, b0)])
    return first, line(b0, b1)


def handakuten(centre: np.ndarray, habit: MarkHabit, rng: np.random.Generator,
               strength: float = 1.0) -> tuple[np.ndarray]:
    """A ring about `centre`, begun near its top and drawn anticlockwise on the page:
    closed, open by the writer's gap, or a small one gone round until filled."""
    r = habit.ring * np.exp(rng.normal(0, 0.12 * strength))
    start = -np.pi / 2 + rng.normal(0, 0.5 * strength) - 0.3  # a little left of the top
    if habit.filled:
        return (arc(centre, min(r, 4.0), 0.8, start, -2 * np.pi * 1.8),)
    gap = max(habit.gap + rng.normal(0, 0.2 * strength), 0.0) if habit.gap else 0.0
    return (arc(centre, r, r, start, -(2 * np.pi - gap)),)


T = np.linspace(0.0, 1.0, 6)


def _points(strokes) -> np.ndarray:
    """Points along strokes (each (k, 4, 2) cubics): (m, 2)."""
    return np.concatenate([sample_cubic(seg, T) for s in strokes for seg in s])


def placed(mark: tuple[np.ndarray, ...], base: tuple[np.ndarray, ...],
           distance: float) -> tuple[np.ndarray, ...]:
    """The mark moved along the line from its centre to the base's nearest stroke, to the
    place where its nearest point is `distance` from that stroke (as near as 0.5 units
    allow): closer in, or further out, never across."""
    m, b = _points(mark), _points(base)
    centre = m.mean(axis=0)
    toward = b[np.argmin(np.linalg.norm(b - centre, axis=1))] - centre
    u = toward / (np.linalg.norm(toward) + 1e-9)
    steps = np.arange(-8.0, 16.01, 0.5)
    gaps = np.array([np.min(np.linalg.norm((m + s * u)[:, None] - b[None], axis=-1))
                     for s in steps])
    # Moving along u, the gap shrinks until the mark touches the base: steps past the
    # first touch would cross it, so only free steps before it are candidates.
    free = gaps >= 0.8
    ahead = steps[~free & (steps > 0)]
    ok = free & (steps < (ahead.min() if len(ahead) else np.inf))
    if not ok.any():
        return mark
    s = steps[ok][np.argmin(np.abs(gaps[ok] - distance))]
    return tuple(seg + s * u for seg in mark)


def written_marks(strokes: tuple[np.ndarray, ...], n_mark: int, habit: MarkHabit,
                  rng: np.random.Generator, strength: float = 1.0) -> tuple[np.ndarray, ...]:
    """A voiced kana's KanjiVG strokes with its mark (the last n_mark strokes: 2 ticks,
    or 1 ring) written by this hand instead; the base strokes as they were."""
    base, kanjivg = strokes[:-n_mark], strokes[-n_mark:]
    centre = _points(kanjivg).mean(axis=0) + np.array(habit.offset)
    centre = centre + rng.normal(0, 1.5 * strength, 2)
    mark = (dakuten(centre, habit, rng, strength) if n_mark == 2
            else handakuten(centre, habit, rng, strength))
    # Closer than KanjiVG's or further, as the hand has it, but a pen's width apart at
    # least (MIN_GAP, between the strokes' centre lines), so that the base stays whole.
    kanjivg_gap = np.min(np.linalg.norm(_points(kanjivg)[:, None] - _points(base)[None], axis=-1))
    distance = max(kanjivg_gap * habit.crowd + rng.normal(0, 0.8 * strength), MIN_GAP)
    return tuple(base) + inside(placed(mark, base, distance))


def inside(mark: tuple[np.ndarray, ...], margin: float = 3.0) -> tuple[np.ndarray, ...]:
    """The mark moved, if need be, into KanjiVG's box: a writer keeps the mark in the
    character's cell, where KanjiVG's own marks reach its edge."""
    p = _points(mark)
    low, high = p.min(axis=0), p.max(axis=0)
    shift = np.maximum(margin - low, 0) - np.maximum(high - (KANJIVG_BOX - margin), 0)
    return tuple(seg + shift for seg in mark)
