"""A writer's habits, drawn once and kept across every character they write.

    writer_style(rng, cfg) -> Style    size, slant, place, pen, ink, tremor, ...
    sample_style(style, rng, cfg)      one sample's small variation around it
    writer_habit(rng) -> Habit         how much of each stroke variation shows in this hand
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np

from .config import FIELD_W, SynthConfig
from .marks import MarkHabit


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
