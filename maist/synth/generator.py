"""Synthetic handwriting, written as real ETL9G files: MAIST's default data set.

    SynthConfig(writers=200, seed=0, classes=..., variation=1.0, ...)  what to generate
    writer_style(rng, cfg) -> Style        one writer's habits, kept across every character
    render(ch, style, rng, cfg) -> (127, 128) float ink in [0, 1], like an ETL9G field
    generate(out_dir, cfg) -> [paths]      ETL9G_01 ... (4 writers a file), read by data.etl

Any class set can be drawn whose characters KanjiVG has; the default is the blog's 71
hiragana. Shapes come from KanjiVG's stroke paths (synth.strokes). Each stroke is sampled
along its length and drawn with a round pen whose width and ink vary; a writer's size,
aspect, slant, rotation, place in the field, pen, ink, tremor, stroke-end overshoot and
control point wander are drawn once, and every sample varies a little around them. The
field then gets what ETL9G scans have: 16 grey levels, faint scanner noise, and now and
then a piece of the neighbouring cell's character reaching in at an edge.

Version 2 adds variation where real writers vary (each stroke on its own, joins, pens,
voicing marks), version 3 the handwritten variant forms KanjiVG does not draw (forms.json:
strokes joined or lifted apart, as people write them), version 4 each writer's own width
for each character, version 5 each writer's own voicing marks (synth.marks), version 6
the forms in which a quick hand changes a part's proportions (forms.json's "reshaped": ro's
turn high, mu's loop tight, so's zigzag small, no and me narrow). Each is a switch; all
off, the files are version 1's byte for byte.
DEFAULT, what data/synthetic is made with, is the setting that read real drawings best
(docs/README.md): the variant forms, stroke jitter, the reshaped forms and (version 7) the
hands' voicing marks at half strength.

The files carry the characters' JIS X 0208 codes, so the real reader reads them; the
manifest beside them (data.etl.MANIFEST) says what the reader needs to know. The same seed
gives byte-identical files: writer w draws from default_rng([seed, w]).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import multiprocessing
import os
import re
import time
import unicodedata
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache, partial
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

import numpy as np

from ..data import etl
from ..data.classes import DEFAULT_CLASSES, base_char, char_to_jis, get_class_set, reading, voicing
from ..data.dataset import MAX_SEED
from ..errors import EtlFormatError, SynthError
from ..fileio import write_text_atomic
from ..signals import stop_on_sigterm, worker_init
from .marks import MarkHabit, writer_marks, written_marks
from .strokes import (
    KANJIVG_BOX,
    character_strokes,
    merge_strokes,
    reshape_stroke,
    sample_cubic,
    split_stroke,
)

ETL9G = etl.FORMATS["ETL9G"]
FIELD_H, FIELD_W = ETL9G.height, ETL9G.width  # 127 rows of 128 pixels
WRITERS_PER_FILE = ETL9G.writers_per_file  # 4, as in AIST's ETL9G_01 .. ETL9G_50
FORMS_FILE = "forms.json"  # the handwritten variant forms, as data
MAX_WRITERS = 100_000  # 25,000 files, about 50 GB for the 71 hiragana: beyond any use here
# 2: per-stroke variation, joins, pen range, voicing marks; 3: variant forms; 4: proportion,
# and stroke jitter in DEFAULT; 5: voicing marks as hands write them (synth.marks); 6: the
# reshaped forms (forms.json "reshaped", reshape_rate); 7: the hands' marks (version 5's) at
# half strength in DEFAULT
GENERATOR_VERSION = 7


@dataclass(frozen=True)
class SynthConfig:
    writers: int = 200  # 200 writers x 71 classes = ETL9G's 14,200 hiragana
    seed: int = 0
    classes: str = DEFAULT_CLASSES
    variation: float = 1.0  # scales every writer and sample variation (0 = KanjiVG as drawn)
    sample_variation: float = 0.35  # a sample's own wobble, as a fraction of the writer's
    fragment_rate: float = 0.15  # share of fields where a neighbour's stroke reaches in
    noise: float = 0.25  # sd of scanner noise, in grey levels (0-15)
    workers: int = 2  # processes; results do not depend on it
    # Where real writers vary (version 2). 0 switches a feature off; all 0 draw exactly
    # as version 1 did (their randomness comes from a stream of its own).
    stroke_jitter: float = 0.0  # each stroke turned, scaled and moved on its own
    bend: float = 0.0  # a stroke's control points pulled off KanjiVG's curve
    connect_rate: float = 0.0  # share of stroke ends joined to the next (pen not lifted)
    pen_range: float = 0.0  # writers' pens from hair-thin to blotted, beyond version 1's
    mark_jitter: float = 0.0  # voicing marks (dakuten, handakuten) placed and sized freely
    # Version 3: share of writers who write each character of forms.json that way.
    variant_rate: float = 0.0
    # Each writer's own width-to-height for each kana, beyond the writer-wide aspect: real
    # hands write one kana narrow and another wide (KanjiVG draws one proportion of each).
    proportion: float = 0.0
    # Version 5: each writer's own voicing marks (synth.marks): ticks, dots or one stroke,
    # rings open, closed or filled, placed close to the base without crossing it.
    marks: float = 0.0
    # Version 6: share of writers who write each of forms.json's reshaped forms that way.
    reshape_rate: float = 0.0

    def __post_init__(self):
        if not isinstance(self.writers, int) or not 1 <= self.writers <= MAX_WRITERS:
            raise SynthError(f"writers must be 1 to {MAX_WRITERS:,} (ETL9G has 4,000), not "
                             f"{self.writers}", params=("writers",))
        if not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise SynthError(f"seed must be a whole number from 0 to {MAX_SEED}, not "
                             f"{self.seed}", params=("seed",))
        get_class_set(self.classes)  # an unknown class set is an error now, not in a worker
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise SynthError(f"{f.name} must be a finite number, not {value}",
                                 params=(f.name,))
        # A share outside 0..1 would act as 0 or 1 without a word; a negative strength
        # would draw the same as its positive.
        for name in ("connect_rate", "variant_rate", "fragment_rate", "reshape_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise SynthError(f"{name} is a share of writers or strokes, 0..1, not "
                                 f"{getattr(self, name)}", params=(name,))
        for name in ("variation", "sample_variation", "noise", "stroke_jitter", "bend",
                     "pen_range", "mark_jitter", "proportion", "marks"):
            if getattr(self, name) < 0:
                raise SynthError(f"{name} is a strength, 0 (off) or more, not "
                                 f"{getattr(self, name)}", params=(name,))

    @property
    def class_count(self) -> int:
        return len(get_class_set(self.classes))

    @property
    def stroke_variation(self) -> bool:
        return any((self.stroke_jitter, self.bend, self.connect_rate, self.pen_range,
                    self.mark_jitter, self.variant_rate))


REALISTIC = dict(stroke_jitter=1.0, bend=1.0, connect_rate=0.15, pen_range=1.0,
                 mark_jitter=1.0)  # version 2's features at full strength
FEATURES = dict(REALISTIC, variant_rate=0.4, proportion=1.0,
                marks=1.0, reshape_rate=0.4)  # every switch, at table strength
# What data/synthetic is made with: version 1's writing, the variant forms, each stroke
# jittered on its own, the reshaped forms, and the hands' voicing marks at half strength.
# With the demo recipe the first two lift the real touch drawings from 90% to 93%, the
# reshaped forms lift the touch drawings of their kana from 90% to 96%, and the marks (with
# the centered24 preprocessing) lift unseen writers' hand-written marks from 89% to 93%,
# the touch drawings level (docs/README.md); the other features stay off, as none lifted
# them.
DEFAULT: dict = dict(variant_rate=FEATURES["variant_rate"],
                     stroke_jitter=FEATURES["stroke_jitter"],
                     reshape_rate=FEATURES["reshape_rate"], marks=0.5)
BASES = {"v1": {}, "v2": REALISTIC, "default": DEFAULT}


def parse_features(text: str) -> dict:
    """A generator setting in words -> SynthConfig's feature fields.

    'v1', 'v2' or 'default', then +FEATURE (on, at FEATURES' strength), +FEATURE=VALUE, or
    -FEATURE (off): 'v1+variant_rate+stroke_jitter', 'default-variant_rate',
    'v1+proportion=0.5'.
    """
    parts = text.replace("-", " -").replace("+", " +").split()
    if not parts or parts[0] not in BASES:
        raise SynthError(f"{text!r}: a generator setting starts with {', '.join(BASES)}",
                         params=("features",))
    out = dict(BASES[parts[0]])
    for part in parts[1:]:
        name, _, value = part[1:].partition("=")
        if name not in FEATURES or (part[0] == "-" and value):
            raise SynthError(f"{text!r}: cannot read {part!r}; +FEATURE, +FEATURE=VALUE or "
                             f"-FEATURE, where FEATURE is one of {', '.join(FEATURES)}",
                             params=("features",))
        try:
            out[name] = 0.0 if part[0] == "-" else float(value) if value else FEATURES[name]
        except ValueError:
            raise SynthError(f"{text!r}: {value!r} is not a number", params=("features",)) from None
    return out


@dataclass(frozen=True)
class Style:
    """A writer's habits; every length is in field pixels unless it says otherwise."""

    size: float  # span of KanjiVG's 109 box, in pixels (real characters fill 1/3..2/3)
    aspect: float  # width / height multiplier
    shear: float  # slant: x += shear * (y - centre)
    rotation: float  # radians
    dx: float  # offset of the character's centre from the field's
    dy: float
    pen: float  # pen radius
    ink: float  # darkness of the ink, 0..1
    tremor: float  # amplitude of the fast wobble along a stroke
    overshoot: float  # stroke ends run on (>0) or stop short (<0), fraction of the stroke
    wander: float  # how far a stroke's shape drifts, in KanjiVG units
    placement: float  # how far a stroke as a whole lands off its place, KanjiVG units


def writer_style(rng: np.random.Generator, cfg: SynthConfig) -> Style:
    v = cfg.variation
    return Style(
        size=FIELD_W * rng.uniform(0.45, 0.75) if v > 0 else FIELD_W * 0.6,
        aspect=float(np.exp(rng.normal(0, 0.08 * v))),
        shear=rng.normal(0, 0.12 * v),
        rotation=rng.normal(0, 0.05 * v),
        dx=rng.normal(0, 7 * v),
        dy=rng.normal(0, 7 * v),
        pen=rng.uniform(1.3, 2.6),
        ink=rng.uniform(0.55, 1.0),
        tremor=rng.uniform(0.0, 0.6) * v,
        overshoot=rng.normal(0, 0.05 * v),
        wander=rng.uniform(0.8, 3.0) * v,
        placement=rng.uniform(0.5, 2.5) * v,
    )


def sample_style(style: Style, rng: np.random.Generator, cfg: SynthConfig) -> Style:
    """One sample's style: the writer's, with a small variation of its own."""
    s = cfg.sample_variation * cfg.variation
    return replace(
        style,
        size=style.size * float(np.exp(rng.normal(0, 0.06 * s))),
        aspect=style.aspect * float(np.exp(rng.normal(0, 0.05 * s))),
        shear=style.shear + rng.normal(0, 0.06 * s),
        rotation=style.rotation + rng.normal(0, 0.03 * s),
        dx=style.dx + rng.normal(0, 4 * s),
        dy=style.dy + rng.normal(0, 4 * s),
        pen=max(0.8, style.pen * float(np.exp(rng.normal(0, 0.08 * s)))),
        ink=float(np.clip(style.ink + rng.normal(0, 0.05 * s), 0.35, 1.0)),
    )


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


@dataclass(frozen=True)
class Habit:
    """A writer's own way with strokes, kept across every character: how much each of
    version 2's variations shows in this hand, and a consistent turn of every stroke."""

    jitter: float  # multiplies the stroke jitter
    bend: float  # multiplies the bend
    connect: float  # multiplies the join rate
    turn: float  # radians every stroke turns by, on top of the random part
    variants: frozenset[str] = frozenset()  # base kana in a variant form
    reshaped: frozenset[str] = frozenset()  # base kana in a reshaped form (version 6)
    # base kana -> log(width / height) change this writer gives it (absent: none)
    proportions: Mapping[str, float] = field(default_factory=dict, compare=False)
    # Version 5: the writer's voicing marks, and the stream each sample's mark draws from
    marks: MarkHabit | None = None
    mark_rng: np.random.Generator | None = field(default=None, compare=False)


def writer_habit(rng: np.random.Generator) -> Habit:
    return Habit(jitter=rng.uniform(0.4, 1.6), bend=rng.uniform(0.4, 1.6),
                 connect=rng.uniform(0.0, 2.0), turn=rng.normal(0, 0.06))


Form = Callable[[tuple[np.ndarray, ...]], tuple[np.ndarray, ...]]


@lru_cache(maxsize=None)
def _forms_file() -> dict:
    return json.loads(resources.files(__package__).joinpath(FORMS_FILE).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def variant_forms() -> dict[str, Form]:
    """The handwritten forms KanjiVG does not draw, by character: forms.json beside this
    module says which strokes join (merge) or come apart (split), as data keyed by the
    character's Unicode name, so that a form for another character is a line of JSON."""
    forms = {}
    for name, form in _forms_file()["forms"].items():
        ch = unicodedata.lookup(name)
        if "merge" in form:
            forms[ch] = partial(merge_strokes, i=form["merge"])
        else:
            forms[ch] = partial(split_stroke, i=form["split"], end=form["end"],
                                start=form["start"], trim=form.get("trim", 0.0))
    return forms


def _reshaped(strokes: tuple[np.ndarray, ...], steps: tuple[dict, ...]) -> tuple[np.ndarray, ...]:
    for step in steps:
        first, stop = step["segments"]
        strokes = reshape_stroke(strokes, step["stroke"], first, stop,
                                 scale=tuple(step.get("scale", (1.0, 1.0))),
                                 shift=tuple(step.get("shift", (0.0, 0.0))),
                                 about=step.get("about"))
    return strokes


@lru_cache(maxsize=None)
def reshaped_forms() -> dict[str, Form]:
    """Version 6's forms, by character: forms.json's "reshaped", where a quick hand writes
    a part of the character in other proportions (the strokes and their order as KanjiVG
    has them). Each keeps the stroke and segment counts, so a variant form of version 3
    applies on top of it."""
    return {unicodedata.lookup(name): partial(_reshaped, steps=tuple(form["reshape"]))
            for name, form in _forms_file()["reshaped"].items()}


def writer_variants(rng: np.random.Generator, rate: float,
                    forms: Iterable[str] | None = None) -> frozenset[str]:
    """Which of `forms` (default: the variant forms) one writer uses: each, independently,
    with probability `rate`. A writer keeps the choice for every sample, and for the voiced
    kana of the same base."""
    if not rate:
        return frozenset()
    return frozenset(ch for ch in sorted(variant_forms() if forms is None else forms)
                     if rng.random() < rate)


def writer_proportions(rng: np.random.Generator, strength: float,
                       chars: tuple[str, ...]) -> dict[str, float]:
    """log(width / height) changes a writer keeps for each base kana (the voiced ones
    follow their base): normal, sd 0.25 x strength, bounded at +-0.6 (x1.8 either way)."""
    if not strength:
        return {}
    bases = sorted({base_char(c) for c in chars})
    logs = np.clip(rng.normal(0, 0.25 * strength, len(bases)), -0.6, 0.6)
    return dict(zip(bases, logs.tolist()))


def proportioned(strokes: tuple[np.ndarray, ...], log_ratio: float) -> tuple[np.ndarray, ...]:
    """Strokes widened (log_ratio > 0) or narrowed about KanjiVG's centre, keeping the area:
    x scales by exp(r / 2) and y by exp(-r / 2). 0 returns the strokes themselves."""
    if not log_ratio:
        return strokes
    centre = KANJIVG_BOX / 2
    scale = np.exp(np.array([log_ratio / 2, -log_ratio / 2]))
    return tuple((segs - centre) * scale + centre for segs in strokes)


def variant_form(strokes: tuple[np.ndarray, ...], ch: str, variants: frozenset[str],
                 reshaped: frozenset[str] = frozenset()) -> tuple[np.ndarray, ...]:
    """`ch`'s strokes in the writer's form: reshaped (version 6) where the writer reshapes
    it, then in a variant form where the writer uses one. KanjiVG draws a voiced kana's
    base strokes first and the mark after, so one change serves both."""
    base = base_char(ch)
    if base in reshaped:
        strokes = reshaped_forms()[base](strokes)
    return variant_forms()[base](strokes) if base in variants else strokes


def voicing_strokes(ch: str) -> int:
    """How many of a kana's last strokes are its voicing mark: 2 (voiced), 1 (semi-voiced), else 0.
    (KanjiVG draws the mark last, after the base kana's strokes.)"""
    return {"voiced": 2, "semi-voiced": 1, None: 0}[voicing(ch)]


def _about(seg: np.ndarray, centre: np.ndarray, turn: float, scale: float,
           shift: np.ndarray) -> np.ndarray:
    cos, sin = np.cos(turn), np.sin(turn)
    rot = np.array([[cos, -sin], [sin, cos]])
    return (seg - centre) @ rot.T * scale + centre + shift


def vary_strokes(strokes: tuple[np.ndarray, ...], ch: str, rng: np.random.Generator,
                 cfg: SynthConfig, habit: Habit) -> list[np.ndarray]:
    """A character's KanjiVG strokes as one writer draws them this time, in KanjiVG units:
    each stroke turned, scaled and moved about its own centre, its control points bent,
    and the voicing mark placed and sized on its own. All zero: KanjiVG's strokes."""
    out = []
    n_mark = voicing_strokes(ch)
    # Bounded: a mark moved onto the kana's strokes, or shrunk away, changes its class.
    mark_shift = np.clip(rng.normal(0, 3.5 * cfg.mark_jitter, 2), -7.0, 7.0)
    mark_scale = float(np.clip(np.exp(rng.normal(0, 0.15 * cfg.mark_jitter)), 0.75, 1.35))
    for i, segs in enumerate(strokes):
        segs = segs.copy()
        pts = segs.reshape(-1, 2)
        centre = pts.mean(axis=0)
        length = np.linalg.norm(np.diff(segs[:, [0, 3]], axis=1), axis=-1).sum() + 1e-6
        j = cfg.stroke_jitter * habit.jitter
        if j:
            turn = rng.normal(habit.turn, 0.12 * j)
            scale = float(np.exp(rng.normal(0, 0.1 * j)))
            shift = rng.normal(0, 2.5 * j, 2)
            # A hand's own mark (version 5) is placed as a whole, a pen's width from the
            # base: moving its ticks one by one would put them back on the base's strokes.
            if not (habit.marks is not None and n_mark and i >= len(strokes) - n_mark):
                segs = _about(segs, centre, turn, scale, shift)
        b = cfg.bend * habit.bend
        if b:  # pull the inner control points, more on long strokes
            segs[:, 1:3] += rng.normal(0, 0.06 * b * min(length, 60.0), (len(segs), 2, 2))
        if n_mark and i >= len(strokes) - n_mark and cfg.mark_jitter:
            mark_centre = np.concatenate([s.reshape(-1, 2) for s in strokes[-n_mark:]]).mean(0)
            segs = _about(segs, mark_centre, 0.0, mark_scale, mark_shift)
        out.append(segs)
    return out


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
) -> np.ndarray:
    """One field (127, 128), float ink in [0, 1] before quantisation.

    `extra` and `habit` drive version 2's and 3's variations (cfg.stroke_variation); they
    draw from their own stream, so `rng`'s draws are version 1's whatever they do.
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
    out = np.empty((len(chars), FIELD_H, FIELD_W), dtype=np.uint8)
    for i, ch in enumerate(chars):
        field = render(ch, sample_style(style, rng, cfg), rng, cfg, chars, extra, habit)
        out[i] = quantize(field, rng, cfg.noise)
    return out


def etl_reading(ch: str) -> bytes:
    """ETL's 8-byte ASCII reading field, e.g. b'KA.HIRA ' (blank where a character has none
    that ETL writes, as for kanji)."""
    return reading(ch).ljust(8)[:8].encode("ascii")


def writer_records(writers: range, images: list[np.ndarray], chars: tuple[str, ...]) -> np.ndarray:
    """ETL9G records for consecutive writers, each writing `chars` in JIS order."""
    fmt = etl.FORMATS["ETL9G"]
    recs = etl.new_records(fmt, len(writers) * len(chars))
    codes = [char_to_jis(c) for c in chars]
    order = np.argsort(codes)  # ETL9G runs in JIS order
    for k, (w, imgs) in enumerate(zip(writers, images)):
        rng = np.random.default_rng([10_007, w])  # the writer's sex and age
        sex, age = rng.integers(1, 3), rng.integers(16, 60)
        for j, ci in enumerate(order):
            r = recs[k * len(chars) + j]
            r["sheet"] = 1 + w * 60 + j // 50  # a sheet holds 50 characters
            r["jis"] = codes[ci]
            r["reading"] = etl_reading(chars[ci])
            r["serial"] = 1 + w * len(chars) + j
            r["sex"], r["age"] = sex, age
            r["gathered"], r["scanned"] = 7402, 7405
            r["pos_x"], r["pos_y"] = j % 10, (j % 50) // 10
        recs["image"][k * len(chars) : (k + 1) * len(chars)] = etl.pack_images(imgs[order], fmt)
    return recs


_OURS = re.compile(r"^ETL9G_\d{2,}$")  # the names generate() gives its files


def file_name(number: int) -> str:
    return f"ETL9G_{number:02d}"


def written_by_us(out: Path) -> list[Path]:
    """The files in `out` that an earlier generate() wrote there, by its manifest: the only
    files that overwriting may remove. Files of AIST's, or anyone's, are never touched;
    where the folder holds ETL9G files that no manifest of ours names, a SynthError
    says so and nothing is removed."""
    if not out.is_dir():
        return []
    candidates = sorted(p for p in out.iterdir() if _OURS.match(p.name))
    try:
        manifest = etl.read_manifest(out)
    except EtlFormatError:
        manifest = None  # damaged: nothing can be vouched for
    if manifest is None:
        names: set[str] = set()
    elif manifest.get("file_names") is not None:
        names = set(manifest["file_names"])
    else:  # an older manifest: its files were ETL9G_01 .. ETL9G_NN
        names = {file_name(k) for k in range(1, int(manifest.get("files") or 0) + 1)}
        if not manifest.get("complete"):  # interrupted before it counted: all of the pattern
            names = {p.name for p in candidates}
    foreign = [p for p in candidates if p.name not in names or not p.is_file()]
    if foreign:
        raise SynthError(
            f"{out}: holds {len(foreign)} ETL9G files that MAIST's manifest does not name "
            f"({', '.join(p.name for p in foreign[:3])}{' ...' if len(foreign) > 3 else ''}); "
            f"they may be AIST's, so nothing was removed. Generate into another folder",
            params=("out",))
    return [p for p in candidates if p.name in names]


def generate(
    out_dir: str | os.PathLike,
    cfg: SynthConfig = SynthConfig(),
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write cfg.writers writers as ETL9G_01, ETL9G_02, ... (4 a file) and a manifest.

    `overwrite` replaces a set that generate() wrote there before (and only its files);
    an unfinished one is replaced without asking.
    """
    out = Path(out_dir)
    class_set = get_class_set(cfg.classes)
    chars = class_set.chars
    for ch in chars:  # every character drawable before anything is written or removed
        character_strokes(ch)
    ours = written_by_us(out)
    if ours and not overwrite and is_complete(out):
        raise SynthError(
            f"{out}: already holds a synthetic set of {len(ours)} ETL9G files; replace it "
            f"(overwrite) or generate into another folder", params=("overwrite", "out"))
    for p in ours:
        p.unlink()
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    paths: list[Path] = []
    manifest = dict(asdict(cfg), generator_version=GENERATOR_VERSION,
                    records_per_writer=len(chars), complete=False,
                    file_names=[file_name(k + 1) for k in range(-(-cfg.writers // WRITERS_PER_FILE))],
                    note="Synthetic ETL9G-format data from KanjiVG strokes (CC BY-SA 3.0).")
    write_text_atomic(out / etl.MANIFEST, json.dumps(manifest, indent=2))  # before any file
    workers = max(1, min(cfg.workers, os.cpu_count() or 1))
    with stop_on_sigterm(), rendered_writers(cfg, workers) as writer_images:
        batch: list[np.ndarray] = []
        for w, imgs in enumerate(writer_images):
            batch.append(imgs)
            if progress is not None:
                progress(1)
            if len(batch) == WRITERS_PER_FILE or w == cfg.writers - 1:
                first = w + 1 - len(batch)
                number = first // WRITERS_PER_FILE + 1
                recs = writer_records(range(first, w + 1), batch, chars)
                paths.append(etl.write_etl(out / file_name(number), recs, "ETL9G", overwrite=True))
                batch = []
    manifest.update(complete=True, files=len(paths),
                    seconds=round(time.perf_counter() - start, 1))
    write_text_atomic(out / etl.MANIFEST, json.dumps(manifest, indent=2))
    return paths


def manifest_of(folder: str | os.PathLike) -> dict | None:
    """The folder's manifest through the reader's own check; None where there is none."""
    try:
        return etl.read_manifest(folder)
    except EtlFormatError as e:
        raise SynthError(str(e)) from None


def is_current(folder: str | os.PathLike, cfg: SynthConfig) -> bool:
    """True when `folder` holds a finished set of this generator version and settings."""
    manifest = manifest_of(folder)
    if manifest is None:
        return False
    wanted = dict(asdict(cfg), generator_version=GENERATOR_VERSION)
    wanted.pop("workers")  # results do not depend on it
    return bool(manifest.get("complete")) and all(manifest.get(k) == v for k, v in wanted.items())


def is_complete(folder: str | os.PathLike) -> bool:
    """True when `folder` holds a synthetic set whose generation finished."""
    manifest = manifest_of(folder)
    return bool(manifest and manifest.get("complete"))


@contextlib.contextmanager
def rendered_writers(cfg: SynthConfig, workers: int) -> Iterator[Iterable[np.ndarray]]:
    """render_writer for every writer, in order, on `workers` processes. On Ctrl-C,
    SIGTERM or any error the workers are stopped at once (a pool left to finish its queue
    would render every writer first), and none outlives this process."""
    render = partial(render_writer, cfg=cfg)
    if workers <= 1:
        yield map(render, range(cfg.writers))
        return
    pool = multiprocessing.Pool(workers, initializer=worker_init)
    try:
        yield pool.imap(render, range(cfg.writers))
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
