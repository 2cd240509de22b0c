"""Synthetic handwriting from KanjiVG's strokes, written as real ETL9G files: MAIST's default data.

The rooms, each using only those before it:

    strokes     KanjiVG's SVG paths -> cubic segments; strokes joined or split
    marks       voicing marks as a writer writes them (generator version 5)
    config      SynthConfig, the generator's version, the presets (DEFAULT: data/synthetic)
    style       a writer's habits, drawn once and kept across every character
    forms       the forms a hand gives a character beyond KanjiVG's (forms.json, as data)
    render      strokes -> ink on a 127x128 field, with a scanner's grey levels and noise
    generator   writers -> ETL9G_01 ... (4 writers a file) and the manifest beside them

The API, for callers outside the package:

    SynthConfig(writers=200, seed=0, classes=..., variation=1.0, ...)  what to generate
    render(ch, style, rng, cfg) -> (127, 128) float ink in [0, 1], like an ETL9G field
    generate(out_dir, cfg) -> [paths]      ETL9G_01 ... (4 writers a file), read by data.etl
"""

from ..errors import SynthError  # noqa: F401
from .config import (  # noqa: F401
    BASES,
    DEFAULT,
    ETL9G,
    FEATURES,
    FIELD_H,
    FIELD_W,
    FORMS_FILE,
    GENERATOR_VERSION,
    MAX_WRITERS,
    REALISTIC,
    WRITERS_PER_FILE,
    SynthConfig,
    parse_features,
)
from .forms import (  # noqa: F401
    Form,
    proportioned,
    reshaped_forms,
    variant_form,
    variant_forms,
    vary_strokes,
    voicing_strokes,
    writer_proportions,
    writer_variants,
)
from .generator import (  # noqa: F401
    etl_reading,
    file_name,
    generate,
    is_complete,
    is_current,
    manifest_of,
    rendered_writers,
    writer_records,
    written_by_us,
)
from .render import (  # noqa: F401
    add_fragment,
    draw_join,
    draw_stroke,
    draw_strokes,
    quantize,
    render,
    render_writer,
    stamp,
    stroke_points,
    to_field,
    variant_examples,
    with_mark_inside,
)
from .strokes import character_strokes  # noqa: F401
from .style import (  # noqa: F401
    Habit,
    Style,
    sample_style,
    writer_habit,
    writer_style,
)
