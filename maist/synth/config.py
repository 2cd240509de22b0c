"""What a synthetic set is made with: SynthConfig, the generator's version, and the presets.

    SynthConfig(writers=200, seed=0, classes=..., variation=1.0, ...)  what to generate
    DEFAULT, REALISTIC, FEATURES, BASES      the settings data/synthetic and the studies use
    parse_features("default,marks=0.5")      a preset and changes, as the command line gives them
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from ..data import etl
from ..data.classes import DEFAULT_CLASSES, get_class_set
from ..data.dataset import MAX_SEED
from ..errors import SynthError

ETL9G = etl.FORMATS["ETL9G"]
FIELD_H, FIELD_W = ETL9G.height, ETL9G.width  # 127 rows of 128 pixels
WRITERS_PER_FILE = ETL9G.writers_per_file  # 4, as in AIST's ETL9G_01 .. ETL9G_50
FORMS_FILE = "forms.json"  # the handwritten variant forms, as data
MAX_WRITERS = 100_000  # 25,000 files, about 50 GB for the 71 hiragana: beyond any use here
# 2: per-stroke variation, joins, pen range, voicing marks; 3: variant forms; 4: proportion,
# and stroke jitter in DEFAULT; 5: voicing marks as hands write them (synth.marks); 6: the
# reshaped forms (forms.json "reshaped", reshape_rate); 7: the hands' marks (version 5's) at
# half strength in DEFAULT; 8: marks outside the body (de's above te's bar), rings that keep
# their hole and ticks their gap at 28x28, and sheet neighbours' separate pieces
GENERATOR_VERSION = 8


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
    # Version 8: share of fields with a separate piece of a sheet neighbour's ink near an
    # edge (its voicing mark, a stroke's end), apart from the edge (synth.sheet).
    neighbour_rate: float = 0.0

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
        for name in ("connect_rate", "variant_rate", "fragment_rate", "reshape_rate",
                     "neighbour_rate"):
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
                marks=1.0, reshape_rate=0.4, neighbour_rate=0.2)  # every switch, at table strength
# What data/synthetic is made with: version 1's writing, the variant forms, each stroke
# jittered on its own, the reshaped forms, the hands' voicing marks at half strength, and
# the sheet neighbours' pieces.
# Each was kept because it lifted what the make demo model reads of real drawings, or of
# unseen writers' hand-written marks (docs/README.md measures each, with its command); the
# other features stay off, as none lifted them.
DEFAULT: dict = dict(variant_rate=FEATURES["variant_rate"],
                     stroke_jitter=FEATURES["stroke_jitter"],
                     reshape_rate=FEATURES["reshape_rate"], marks=0.5,
                     neighbour_rate=FEATURES["neighbour_rate"])
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
