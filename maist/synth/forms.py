"""The forms a hand gives a character beyond KanjiVG's: variants, reshapings, proportions.

    variant_forms() / reshaped_forms()     forms.json's handwritten forms, as functions
    writer_variants / writer_proportions   which forms and proportions a writer uses
    vary_strokes(strokes, ch, rng, ...)    each stroke turned, bent and moved a little
"""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache, partial
from importlib import resources
from typing import Callable, Iterable

import numpy as np

from ..data.classes import base_char, voicing
from .config import FORMS_FILE, SynthConfig
from .strokes import (
    KANJIVG_BOX,
    merge_strokes,
    reshape_stroke,
    split_stroke,
)
from .style import Habit

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
