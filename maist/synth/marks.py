"""Voicing marks as people write them (generator version 5; placed outside the body, 8).

KanjiVG draws one dakuten (two parallel ticks, up and to the right of the kana) and one
handakuten (a closed ring of about a sixth of the character) at one place. Hands differ,
and a model that has only seen KanjiVG's marks misreads real ones: a mark missed, the two
marks taken for one, ho under a mark read as ha because the mark crowds its top bar. What
varies, from handwriting guides and from looking at how people write:

- the ticks: their length (dots for some hands), their slant, how far apart they are,
  the line they stand on (rising to the right), and whether the pen lifts between them
  (or runs from the first tick up to the second, one stroke);
- the ring: its size, and whether it is closed or left open. Never a filled blot: at
  28x28, where the network sees it, a blot is what two close dots of a dakuten become, and
  a ring must keep its hole to differ from them (so the ring has a least size, and the
  ticks a least spacing);
- where the mark sits: close to the base kana, often crowding the stroke nearest it
  (ho's top bar, te's end), but not over it: writers keep it apart, so the base's stroke
  stays whole, as it does in real writing. A mark is moved toward the base until it first
  is a writer's chosen distance from its nearest stroke (a share of KanjiVG's distance,
  and a pen's width at least), never through it and never into the base's body;
- and outside the body, up and to the right: where KanjiVG draws a mark under a stroke
  (de's, under te's bar), hands put it above that stroke's end.

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
# At 28x28 a KanjiVG unit is about a third of a pixel and a stroke over a pixel wide: ticks
# closer than this run together, and a smaller ring fills in.
MIN_SPACING = 7.0
MIN_RING = 6.0
OPEN_SHARE = 0.6  # of hands that leave the ring open


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
        spacing=float(max(8.0 + s * rng.uniform(-3.0, 2.0), MIN_SPACING)),
        rise=float(0.64 + s * rng.normal(0.0, 0.2)),
        ring=float(max(7.5 + s * rng.uniform(-2.5, 2.5), MIN_RING)),
        gap=float(rng.uniform(0.3, 1.8) * s if rng.random() < OPEN_SHARE else 0.0),
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
    spacing = max(habit.spacing * np.exp(rng.normal(0, 0.1 * strength)), MIN_SPACING)
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
    closed, or open by the writer's gap."""
    r = max(habit.ring * np.exp(rng.normal(0, 0.12 * strength)), MIN_RING)
    start = -np.pi / 2 + rng.normal(0, 0.5 * strength) - 0.3  # a little left of the top
    gap = max(habit.gap + rng.normal(0, 0.2 * strength), 0.0) if habit.gap else 0.0
    return (arc(centre, r, r, start, -(2 * np.pi - gap)),)


T = np.linspace(0.0, 1.0, 6)


def _points(strokes) -> np.ndarray:
    """Points along strokes (each (k, 4, 2) cubics): (m, 2)."""
    return np.concatenate([sample_cubic(seg, T) for s in strokes for seg in s])


def placed(mark: tuple[np.ndarray, ...], base: tuple[np.ndarray, ...],
           distance: float) -> tuple[np.ndarray, ...]:
    """The mark moved along the line from its centre to the base's nearest stroke until its
    nearest point is `distance` from the base (as near as 0.5 units allow): in, or out,
    never across a stroke, and never into the base's body.

    The mark stops where it first reaches that distance. A mark that slid on past a
    stroke's end would find the distance again under it, inside the character (de's marks
    in te's bowl); hands put the mark outside, above and to the right, so its centre may
    not go further into the base's box than it started."""
    m, b = _points(mark), _points(base)
    centre = m.mean(axis=0)
    toward = b[np.argmin(np.linalg.norm(b - centre, axis=1))] - centre
    u = toward / (np.linalg.norm(toward) + 1e-9)
    low, high = b.min(axis=0), b.max(axis=0)

    def depth(c: np.ndarray) -> float:  # how far inside the base's box: < 0 outside
        return float(np.min(np.concatenate([c - low, high - c])))

    start_depth = max(depth(centre), 0.0)
    gap = lambda s: float(np.min(np.linalg.norm((m + s * u)[:, None] - b[None], axis=-1)))  # noqa: E731
    here = gap(0.0)
    direction = 1.0 if here > distance else -1.0  # in toward the base, or out from it
    best, best_err = 0.0, abs(here - distance)
    for s in direction * np.arange(0.5, 16.01, 0.5):
        g = gap(s)
        if g < 0.8 or depth(centre + s * u) > start_depth + 1e-9:
            break  # touching the base, or inside its body: no further
        if abs(g - distance) < best_err:
            best, best_err = s, abs(g - distance)
        if (g - distance) * direction <= 0:
            break  # reached the distance: the first place, not one further on
    return tuple(seg + best * u for seg in mark)


def written_marks(strokes: tuple[np.ndarray, ...], n_mark: int, habit: MarkHabit,
                  rng: np.random.Generator, strength: float = 1.0) -> tuple[np.ndarray, ...]:
    """A voiced kana's KanjiVG strokes with its mark (the last n_mark strokes: 2 ticks,
    or 1 ring) written by this hand instead; the base strokes as they were."""
    base, kanjivg = strokes[:-n_mark], strokes[-n_mark:]
    centre = clear_of_base(_points(kanjivg).mean(axis=0), _points(base)) + np.array(habit.offset)
    centre = centre + rng.normal(0, 1.5 * strength, 2)
    mark = (dakuten(centre, habit, rng, strength) if n_mark == 2
            else handakuten(centre, habit, rng, strength))
    # Closer than KanjiVG's or further, as the hand has it, but a pen's width apart at
    # least (MIN_GAP, between the strokes' centre lines), so that the base stays whole.
    kanjivg_gap = np.min(np.linalg.norm(_points(kanjivg)[:, None] - _points(base)[None], axis=-1))
    distance = max(kanjivg_gap * habit.crowd + rng.normal(0, 0.8 * strength), MIN_GAP)
    return tuple(base) + inside(placed(mark, base, distance))


MARK_REACH = 5.0  # half a mark's width, in KanjiVG units: the span a stroke above it covers
ABOVE_END = np.array([4.0, -10.0])  # where hands put a mark over a stroke's end: right, up


def clear_of_base(centre: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Where a hand puts a voicing mark that KanjiVG draws under a stroke of its base (de's,
    under te's bar, beside its bowl): above that stroke's right end and to its right,
    outside the character's body. Any other mark's centre is returned as it is.
    `base`: points along the base's strokes, (m, 2)."""
    over = base[(np.abs(base[:, 0] - centre[0]) < MARK_REACH) & (base[:, 1] < centre[1])]
    if not len(over):
        return centre
    # The covering stroke's right end: the rightmost base point as high as it runs there.
    level = base[base[:, 1] <= over[:, 1].max() + 2.0]
    end = level[np.argmax(level[:, 0])]
    return end + ABOVE_END


def inside(mark: tuple[np.ndarray, ...], margin: float = 3.0) -> tuple[np.ndarray, ...]:
    """The mark moved, if need be, into KanjiVG's box: a writer keeps the mark in the
    character's cell, where KanjiVG's own marks reach its edge."""
    p = _points(mark)
    low, high = p.min(axis=0), p.max(axis=0)
    shift = np.maximum(margin - low, 0) - np.maximum(high - (KANJIVG_BOX - margin), 0)
    return tuple(seg + shift for seg in mark)
