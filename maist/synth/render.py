"""Strokes -> ink on a field like an ETL9G scan: the pen, the joins, the scanner.

    render(ch, style, rng, cfg) -> (127, 128) float ink in [0, 1], like an ETL9G field
    render_writer(writer, cfg)  -> every character of one writer, as 16 grey levels

Each stroke is sampled along its length and drawn with a round pen whose width and ink
vary; the field then gets what ETL9G scans have: 16 grey levels, faint scanner noise, now
and then a stroke of a neighbouring cell's character reaching in at an edge, and (version
8) a separate piece of a sheet neighbour's ink near an edge: its voicing mark or a stroke's
end.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from functools import lru_cache

import numpy as np

from ..data.classes import DEFAULT_CLASSES, base_char, get_class_set
from .config import FIELD_H, FIELD_W, SynthConfig
from .forms import (
    proportioned,
    reshaped_forms,
    variant_form,
    variant_forms,
    vary_strokes,
    voicing_strokes,
    writer_proportions,
    writer_variants,
)
from .marks import writer_marks, written_marks
from .sheet import sheet_neighbours
from .strokes import (
    KANJIVG_BOX,
    character_strokes,
    sample_cubic,
)
from .style import Habit, Style, sample_style, writer_habit, writer_style


@lru_cache(maxsize=4096)
def _steps(n: int, endpoint: bool = True) -> np.ndarray:
    """np.linspace(0, 1, n, endpoint), computed once per n (read-only): a stroke's many
    small arrays cost more in linspace's own checks than in arithmetic."""
    out = np.linspace(0.0, 1.0, n, endpoint=endpoint)
    out.flags.writeable = False
    return out


def _smooth_noise(rng: np.random.Generator, n: int, cycles: float, amp: float) -> np.ndarray:
    """(n, 2) displacement that wanders `cycles` times along a stroke, amplitude `amp`."""
    if amp <= 0:
        return np.zeros((n, 2))
    t = _steps(n)[:, None]
    k = rng.integers(1, 4)
    out = np.zeros((n, 2))
    for j in range(1, k + 1):
        phase = rng.uniform(0, 2 * np.pi, size=2)
        out += rng.normal(0, amp / np.sqrt(k), size=2) * np.sin(2 * np.pi * cycles * j * t + phase)
    return out


def stroke_points(
    segments: np.ndarray, style: Style, rng: np.random.Generator, spacing: float
) -> np.ndarray:
    """One stroke's pen centres in KanjiVG units, (m, 2): wandered, trembling, run on."""
    unit = style.size / KANJIVG_BOX  # pixels per KanjiVG unit
    # Sample densely enough that consecutive pen centres are `spacing` pixels apart.
    lengths = np.linalg.norm(np.diff(segments, axis=1), axis=2).sum(axis=1)  # (k,) chords
    pts = np.concatenate(
        [
            sample_cubic(seg, _steps(max(4, int(ln * unit / spacing)), endpoint=False))
            for seg, ln in zip(segments, lengths)
        ]
        + [segments[-1][3:4]]
    )
    n = len(pts)
    pts = pts + _smooth_noise(rng, n, 0.5, style.wander)
    pts = pts + _smooth_noise(rng, n, 6.0, style.tremor / max(unit, 1e-6))
    pts = pts + rng.normal(0, style.placement, size=2)
    # Overshoot or stop short at each end, along the end's tangent.
    total = max(sum(lengths.tolist()), 1e-6)  # Python's sum, in order, as before
    for end in (0, -1):
        e = (style.overshoot + rng.normal(0, 0.03)) * total
        if e > 0:
            d = pts[end] - pts[1 if end == 0 else -2]
            d = d / max(np.linalg.norm(d), 1e-6)
            extra = pts[end] + d * np.linspace(0, e, max(2, int(e * unit / spacing)))[1:, None]
            pts = np.concatenate([extra[::-1], pts]) if end == 0 else np.concatenate([pts, extra])
        elif e < 0:
            cut = min(int(-e / total * len(pts)), len(pts) // 3)
            if cut:
                pts = pts[cut:] if end == 0 else pts[:-cut]
    return pts


def to_field(points: np.ndarray, style: Style) -> np.ndarray:
    """KanjiVG units -> field pixels (x, y): aspect, shear, rotation, scale, placement."""
    c = points - KANJIVG_BOX / 2
    unit = style.size / KANJIVG_BOX
    x = c[:, 0] * style.aspect
    y = c[:, 1] / style.aspect
    x = x + style.shear * y
    cos, sin = np.cos(style.rotation), np.sin(style.rotation)
    xr, yr = cos * x - sin * y, sin * x + cos * y
    return np.stack([xr * unit + FIELD_W / 2 + style.dx, yr * unit + FIELD_H / 2 + style.dy], 1)


def with_mark_inside(style: Style, mark: tuple[np.ndarray, ...], margin: float = 4.0) -> Style:
    """The style with the character moved so that its voicing mark lies `margin` pixels
    inside the field: a writer keeps the mark in the cell, and a mark cut by the field's
    edge, or touching it, is lost (data.preprocess drops ink at the edge as a neighbour's)."""
    p = to_field(np.concatenate([s.reshape(-1, 2) for s in mark]), style)
    low, high = p.min(axis=0), p.max(axis=0)
    size = np.array([FIELD_W, FIELD_H])
    shift = np.maximum(margin - low, 0) - np.maximum(high - (size - 1 - margin), 0)
    if not shift.any():
        return style
    return replace(style, dx=style.dx + float(shift[0]), dy=style.dy + float(shift[1]))


def stamp(canvas: np.ndarray, xy: np.ndarray, radius: np.ndarray, ink: np.ndarray) -> None:
    """Draw round pen marks at (x, y) with soft 1-pixel edges, keeping the darkest ink."""
    h, w = canvas.shape
    reach = int(np.ceil(radius.max())) + 1
    off = np.arange(-reach, reach + 1)
    ox, oy = np.meshgrid(off, off)
    px = np.rint(xy[:, 0]).astype(np.int64)[:, None] + ox.ravel()  # (m, window)
    py = np.rint(xy[:, 1]).astype(np.int64)[:, None] + oy.ravel()
    dist = np.hypot(px - xy[:, :1], py - xy[:, 1:])
    val = ink[:, None] * np.clip(radius[:, None] + 0.5 - dist, 0.0, 1.0)
    keep = (val > 0) & (px >= 0) & (px < w) & (py >= 0) & (py < h)
    np.maximum.at(canvas.ravel(), py[keep] * w + px[keep], val[keep])


def draw_stroke(
    canvas: np.ndarray, segments: np.ndarray, style: Style, rng: np.random.Generator
) -> None:
    pts = to_field(stroke_points(segments, style, rng, spacing=0.5), style)
    m = len(pts)
    t = _steps(m)
    # Pressure: the pen lands, presses through the middle and lifts at the end.
    radius = style.pen * (0.75 + 0.35 * np.sin(np.pi * np.clip(t * 1.2, 0, 1)))
    radius *= np.exp(_smooth_noise(rng, m, 1.0, 0.08)[:, 0])
    ink = np.clip(style.ink * (1.0 + rng.normal(0, 0.05)) * (0.85 + 0.15 * radius / style.pen), 0, 1)
    stamp(canvas, pts, radius, np.broadcast_to(ink, (m,)).astype(float))


def add_fragment(
    canvas: np.ndarray, chars: tuple[str, ...], style: Style, rng: np.random.Generator
) -> None:
    """A stroke of a neighbouring cell's character reaching in at one edge of the field."""
    other = character_strokes(chars[rng.integers(len(chars))])
    segs = other[rng.integers(len(other))]
    side = rng.integers(4)
    depth = rng.uniform(3, 14)  # how far into the field it reaches, in pixels
    shifted = replace(style, dx=0.0, dy=0.0, rotation=style.rotation + rng.normal(0, 0.2))
    pts = to_field(stroke_points(segs, shifted, rng, 0.5), shifted)
    if side == 0:  # reaching down from the top edge
        pts[:, 1] += depth - pts[:, 1].max()
    elif side == 1:  # up from the bottom
        pts[:, 1] += FIELD_H - depth - pts[:, 1].min()
    elif side == 2:  # from the left
        pts[:, 0] += depth - pts[:, 0].max()
    else:
        pts[:, 0] += FIELD_W - depth - pts[:, 0].min()
    radius = np.full(len(pts), style.pen)
    stamp(canvas, pts, radius, np.full(len(pts), style.ink))


PIECE_REACH = (4.0, 12.0)  # how much of a neighbour's stroke shows, in field pixels
PIECE_GAP = (1.5, 7.0)  # from the field's edge to the piece: it does not touch the edge
# Which way a side's neighbour lies: (axis, sign), the neighbour's ink that faces this
# field being its largest sign * coordinate along the axis (the left one's right side).
FACING = {"left": (0, 1), "right": (0, -1), "above": (1, 1), "below": (1, -1)}


def neighbour_piece(strokes: tuple[np.ndarray, ...], n_mark: int, side: str, style: Style,
                    rng: np.random.Generator) -> np.ndarray:
    """The end of a neighbouring cell's character that faces this field, as pen centres in
    this field's pixels, (m, 2), lying apart from the edge on `side`: the neighbour's
    voicing mark (a left neighbour's marks are on its right), or the end of its stroke
    that reaches furthest toward this field. The neighbour is written by this field's
    writer, so the piece has the writer's pen; it sits where the neighbour's own writing
    puts it along the edge."""
    axis, sign = FACING[side]
    if side == "left" and n_mark:
        chosen = strokes[-n_mark:][rng.integers(n_mark)]
    else:
        chosen = max(strokes, key=lambda segs: float(np.max(sign * segs[..., axis])))
    pts = to_field(stroke_points(chosen, style, rng, 0.5), style)
    reach = rng.uniform(*PIECE_REACH)
    facing = sign * pts[:, axis]
    pts = pts[facing >= facing.max() - reach]  # the part that faces this field
    gap = rng.uniform(*PIECE_GAP)
    size = FIELD_W if axis == 0 else FIELD_H
    if sign > 0:  # the neighbour's far side comes in at this field's low edge
        pts[:, axis] += gap - pts[:, axis].min()
    else:
        pts[:, axis] += size - 1 - gap - pts[:, axis].max()
    other = 1 - axis  # along the edge: where the neighbour's writing puts it, kept inside
    span = (FIELD_H if other == 1 else FIELD_W) - 1 - gap
    pts[:, other] += np.clip(pts[:, other], gap, span) - pts[:, other]
    return pts


def add_neighbour_piece(canvas: np.ndarray, neighbours: dict[str, str], style: Style,
                        rng: np.random.Generator) -> None:
    """A separate piece of a neighbouring cell's character, near one edge of the field and
    apart from it: ETL9G's sheets were written box by box, in code order, and a writer's
    ink reached across into the next box (synth.sheet.sheet_neighbours)."""
    if not neighbours:
        return
    side = sorted(neighbours)[rng.integers(len(neighbours))]
    ch = neighbours[side]
    shifted = replace(style, dx=0.0, dy=0.0)
    pts = neighbour_piece(character_strokes(ch), voicing_strokes(ch), side, shifted, rng)
    stamp(canvas, pts, np.full(len(pts), style.pen), np.full(len(pts), style.ink))


def draw_join(canvas: np.ndarray, a: np.ndarray, b: np.ndarray, style: Style) -> None:
    """A thin line from one stroke's end to the next one's start: the pen not lifted."""
    pts = to_field(np.stack([a, b]), style)
    n = max(2, int(np.linalg.norm(pts[1] - pts[0]) / 0.5))
    line = pts[0] + (pts[1] - pts[0]) * np.linspace(0, 1, n)[:, None]
    stamp(canvas, line, np.full(n, max(0.6, 0.45 * style.pen)), np.full(n, 0.85 * style.ink))


def draw_strokes(canvas: np.ndarray, strokes: tuple[np.ndarray, ...], ch: str, style: Style,
                 rng: np.random.Generator, cfg: SynthConfig,
                 extra: np.random.Generator | None, habit: Habit | None) -> None:
    """A character's strokes onto `canvas`, varied by version 2's features when `extra`
    and `habit` are given."""
    varied = cfg.stroke_variation and extra is not None
    if varied:
        strokes = vary_strokes(strokes, ch, extra, cfg, habit)
    rate = cfg.connect_rate * habit.connect if varied else 0.0
    for i, segs in enumerate(strokes):
        draw_stroke(canvas, segs, style, rng)
        if rate and i + 1 < len(strokes) - voicing_strokes(ch) and extra.random() < rate:
            draw_join(canvas, segs[-1][3], strokes[i + 1][0][0], style)


def render(
    ch: str, style: Style, rng: np.random.Generator, cfg: SynthConfig,
    neighbours: tuple[str, ...] | None = None,
    extra: np.random.Generator | None = None, habit: Habit | None = None,
    piece_rng: np.random.Generator | None = None,
) -> np.ndarray:
    """One field (127, 128), float ink in [0, 1] before quantisation.

    `extra` and `habit` drive version 2's and 3's variations (cfg.stroke_variation); they
    draw from their own stream, so `rng`'s draws are version 1's whatever they do.
    `neighbours` is the writer's whole class set: the sheet's cells around `ch` give the
    neighbours' pieces (version 8, cfg.neighbour_rate), drawn from `piece_rng`.
    """
    canvas = np.zeros((FIELD_H, FIELD_W))
    plain = character_strokes(ch)
    if habit is not None:  # a geometric change: it takes no draws, so the streams stay put
        plain = proportioned(plain, habit.proportions.get(base_char(ch), 0.0))
    form = variant_form(plain, ch, habit.variants, habit.reshaped) if habit is not None else plain
    if habit is not None and habit.marks is not None and voicing_strokes(ch):
        form = written_marks(form, voicing_strokes(ch), habit.marks, habit.mark_rng, cfg.marks)
        style = with_mark_inside(style, form[-voicing_strokes(ch):])
    if form is plain:
        draw_strokes(canvas, plain, ch, style, rng, cfg, extra, habit)
    else:
        # A variant (or a hand's own voicing mark) has a stroke more or fewer, and so
        # takes more or fewer draws. It is drawn from copies of the generators; the plain
        # form, drawn where nobody sees it, then moves the generators on as far as it would
        # have, so that every other character comes out exactly as it would without them.
        draw_strokes(canvas, form, ch, style, copy.deepcopy(rng), cfg, copy.deepcopy(extra),
                     habit)
        draw_strokes(np.zeros_like(canvas), plain, ch, style, rng, cfg, extra, habit)
    if rng.random() < cfg.fragment_rate:
        add_fragment(canvas, neighbours or (ch,), style, rng)
    if cfg.neighbour_rate and piece_rng is not None and piece_rng.random() < cfg.neighbour_rate:
        add_neighbour_piece(canvas, sheet_neighbours(neighbours or (ch,)).get(ch, {}), style,
                            piece_rng)
    return canvas


def variant_examples(seed: int = 0, variation: float = 0.5, classes: str = DEFAULT_CLASSES,
                     kind: str = "variant") -> tuple[np.ndarray, list[str]]:
    """Each character of the class set that has a variant form (kind "variant") or a
    reshaped one (kind "reshaped"), as KanjiVG draws it (row 0) and in that form (row 1),
    by one writer: (2, n, 127, 128) uint8 levels, and the n characters."""
    forms, rate = {"variant": (variant_forms, "variant_rate"),
                   "reshaped": (reshaped_forms, "reshape_rate")}[kind]
    class_set = get_class_set(classes)
    chars = [c for c in class_set.chars if c in forms()]
    idx = [class_set.index(c) for c in chars]
    rows = [render_writer(0, SynthConfig(writers=1, seed=seed, variation=variation,
                                         fragment_rate=0.0, classes=class_set.name,
                                         **{rate: share}))[idx]
            for share in (0.0, 1.0)]
    return np.stack(rows), chars


def quantize(field: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Float ink -> ETL's 16 grey levels, with faint scanner noise."""
    levels = field * 15 + rng.normal(0, noise, size=field.shape)
    return np.clip(np.rint(levels), 0, 15).astype(np.uint8)


def render_writer(writer: int, cfg: SynthConfig) -> np.ndarray:
    """All of one writer's characters, (C, 127, 128) uint8 levels, from its own RNG."""
    rng = np.random.default_rng([cfg.seed, writer])
    extra = np.random.default_rng([cfg.seed, writer, 2])  # version 2's stream
    chars = get_class_set(cfg.classes).chars
    style = writer_style(rng, cfg)
    # Variant forms draw from a stream of their own, so switching them on leaves every
    # other feature's draws, and so its writing, as it was.
    habit = replace(writer_habit(extra), variants=writer_variants(
        np.random.default_rng([cfg.seed, writer, 3]), cfg.variant_rate),
        proportions=writer_proportions(np.random.default_rng([cfg.seed, writer, 4]),
                                       cfg.proportion, chars),
        reshaped=writer_variants(np.random.default_rng([cfg.seed, writer, 6]), cfg.reshape_rate,
                                 reshaped_forms()))
    if cfg.marks:  # a stream of its own, as the variants and proportions have
        mark_rng = np.random.default_rng([cfg.seed, writer, 5])
        habit = replace(habit, marks=writer_marks(mark_rng, cfg.marks), mark_rng=mark_rng)
    if cfg.pen_range:  # hair-thin to blotted: the writer's pen, widened or narrowed
        style = replace(style, pen=float(np.clip(
            style.pen * np.exp(extra.normal(0, 0.45 * cfg.pen_range)), 0.7, 5.0)))
    # Version 8's neighbours' pieces: a stream of their own as well.
    pieces = np.random.default_rng([cfg.seed, writer, 7]) if cfg.neighbour_rate else None
    out = np.empty((len(chars), FIELD_H, FIELD_W), dtype=np.uint8)
    for i, ch in enumerate(chars):
        field = render(ch, sample_style(style, rng, cfg), rng, cfg, chars, extra, habit,
                       pieces)
        out[i] = quantize(field, rng, cfg.noise)
    return out
