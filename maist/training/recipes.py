"""Recipes: everything that says how a model is trained, by name; the blog's among them.

    RECIPES["blog-95"]             the blog's tables, with its figures on real ETL
    get_recipe(name_or_json)       a named recipe, or a JSON file of recipe fields
    with_overrides(recipe, ...)    the command line's changes, checked

A recipe is data: a frozen dataclass whose schedules are pure functions of the step
(training.schedule) and whose augmentation is a data.augment spec, each checked once,
when the recipe is made.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path

from ..data.augment import Augment
from ..data.classes import get_class_set
from ..errors import ModelError, ScheduleError
from ..nets.models import get_model
from .schedule import Cosine, StepTable, parse_schedule

SAMPLING = ("epoch", "random")
MAX_BATCH = 1_000_000  # 3 GB of float32 images: anything larger cannot be held
# Earlier names of recipes (the blog was once called "seed", as in the seed post).
OLD_NAMES = {"seed-lr": "blog-lr", "seed-95": "blog-95", "seed-95-as-run": "blog-95-as-run"}


@dataclass(frozen=True)
class Recipe:
    name: str
    model: str
    optimizer: str  # "adam" or "gd"
    loss: str  # "stable" or "tutorial"
    steps: int
    batch_size: int
    learning_rate: StepTable
    keep_prob: StepTable
    sampling: str = "random"  # the blog drew batches with replacement (random_index)
    blog: dict = field(default_factory=dict)  # step -> the blog's test accuracy
    note: str = ""
    augment: str = "none"  # training batches only: none, affine, elastic, full, or a list
    label_smoothing: float = 0.0  # of the one-hot targets, for the stable loss
    classes: str = ""  # the class set it is made for, its default data's; "": hiragana71
    # The decay of an exponential moving average of the weights (0: none). Validation,
    # test, the restored run and its exports all use the average, not the last weights.
    average: float = 0.0
    # The model's options it trains with, beyond the model's own defaults (MAIST's recipes:
    # the expert started at He's scale, {"init": "he"}); --model-option wins over them.
    model_options: dict = field(default_factory=dict)

    def __post_init__(self):
        # The name goes into every message below, and into run directories' names.
        if not isinstance(self.name, str) or not self.name.strip() or not self.name.isprintable():
            raise ScheduleError(f"a recipe's name is a printable word, not {self.name!r:.40}",
                                params=("name",))

        def whole(name: str, value) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ScheduleError(f"recipe {self.name}: {name} must be a whole number of at "
                                    f"least 1, not {value!r}", params=(name,))

        for name in ("name", "model", "optimizer", "loss", "sampling", "note", "augment",
                     "classes"):
            if not isinstance(getattr(self, name), str):
                raise ScheduleError(f"recipe {self.name}: {name} is a word, not "
                                    f"{getattr(self, name)!r}", params=(name,))
        if not isinstance(self.blog, dict) or not all(
                isinstance(k, int) and isinstance(v, (int, float)) for k, v in self.blog.items()):
            raise ScheduleError(f"recipe {self.name}: blog maps steps to the blog's accuracies "
                                f"({{\"10000\": 0.8715}}), not {self.blog!r}", params=("blog",))
        if not self.name.isprintable() or not self.name.strip():
            raise ScheduleError(f"a recipe's name is a line of printable text, not "
                                f"{self.name!r:.40}", params=("recipe",))
        whole("steps", self.steps)
        whole("batch_size", self.batch_size)
        if self.batch_size > MAX_BATCH:
            raise ScheduleError(f"recipe {self.name}: batch_size {self.batch_size:,} is beyond "
                                f"any machine's memory; 50 to 512 is usual",
                                params=("batch_size",))
        for name in ("learning_rate", "keep_prob"):
            if not isinstance(getattr(self, name), (StepTable, Cosine)):
                raise ScheduleError(f"recipe {self.name}: {name} must be a StepTable or Cosine "
                                    f"(parse_schedule('1e-3, 1000:1e-4'))", params=(name,))
        bad = [v for v in self.learning_rate.values if not (math.isfinite(v) and v >= 0)]
        if bad:
            raise ScheduleError(f"recipe {self.name}: a learning rate must be 0 or more and "
                                f"finite, not {bad[0]:g}", params=("learning_rate",))
        bad = [v for v in self.keep_prob.values if not (0 < v <= 1)]
        if bad:
            raise ScheduleError(
                f"recipe {self.name}: keep_prob is the share of units kept by dropout, above 0 "
                f"and at most 1 (1 = no dropout), not {bad[0]:g}", params=("keep_prob",))
        if (isinstance(self.label_smoothing, bool) or not isinstance(self.label_smoothing, (int, float))
                or not 0 <= self.label_smoothing < 1):
            raise ScheduleError(f"recipe {self.name}: label_smoothing is a share, 0 to below 1, "
                                f"not {self.label_smoothing}", params=("label_smoothing",))
        if (isinstance(self.average, bool) or not isinstance(self.average, (int, float))
                or not 0 <= self.average < 1):
            raise ScheduleError(f"recipe {self.name}: average is the decay of a moving average "
                                f"of the weights, 0 (none) to below 1 (0.999 is usual), not "
                                f"{self.average!r}", params=("average",))
        if not isinstance(self.model_options, dict):
            raise ScheduleError(f"recipe {self.name}: model_options maps the model's options "
                                f"to values ({{\"init\": \"he\"}}), not {self.model_options!r:.40}",
                                params=("model_options",))
        if self.model_options:
            try:
                get_model(self.model).check_options(self.model_options)
            except ModelError as e:
                raise ScheduleError(f"recipe {self.name}: {e}", params=("model_options",)) from None
        if self.classes:
            get_class_set(self.classes)  # an unknown class set is an error now
        # Parsed once, here: an unknown transform is an error now, not mid-run.
        object.__setattr__(self, "_augmentation", Augment.parse(self.augment))
        if self.sampling not in SAMPLING:
            raise ScheduleError(f"recipe {self.name}: sampling {self.sampling!r} is not one of "
                                f"{', '.join(SAMPLING)}", params=("sampling",))

    @property
    def augmentation(self) -> Augment:
        """The training batches' augmentation, as parsed when the recipe was made."""
        return self._augmentation

    def to_dict(self) -> dict:
        d = asdict(self)
        d["learning_rate"], d["keep_prob"] = str(self.learning_rate), str(self.keep_prob)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Recipe":
        """A recipe from its recorded fields (config.json, a recipe file); tables as text."""
        if not isinstance(d, dict):
            raise ScheduleError(f"a recipe is an object of recipe fields, not {d!r:.60}")
        d = dict(d)
        for key in ("learning_rate", "keep_prob"):
            value = d.get(key)
            if isinstance(value, (int, float, str)) and not isinstance(value, bool):
                d[key] = parse_schedule(value)
        blog = d.get("blog", {})
        if isinstance(blog, dict):
            try:
                d["blog"] = {int(k): v for k, v in blog.items()}
            except (TypeError, ValueError):
                raise ScheduleError(f"recipe blog: steps are whole numbers, not "
                                    f"{list(blog)!r:.60}", params=("blog",)) from None
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(d) - set(known))
        missing = [k for k in REQUIRED_FIELDS if k not in d]
        if unknown or missing:
            raise ScheduleError(
                f"recipe fields: {'unknown ' + ', '.join(map(repr, unknown)) if unknown else ''}"
                f"{'; ' if unknown and missing else ''}"
                f"{'missing ' + ', '.join(missing) if missing else ''}; a recipe has "
                f"{', '.join(known)}")
        return cls(**d)


# A recipe file or record must state these; the rest have defaults.
REQUIRED_FIELDS = tuple(f.name for f in fields(Recipe)
                        if f.default is MISSING and f.default_factory is MISSING)
# Fields that say what a recipe is, not how it trains: runs that differ only in them
# trained alike (a recipe renamed, or its note reworded, is the same recipe).
DESCRIPTIVE_FIELDS = ("name", "note", "blog")
# What a request may change of a recipe (the command line's --steps, --lr, ...): all but
# what it is, its class set (the data's) and its model options (said one by one).
RECIPE_FIELDS = tuple(f.name for f in fields(Recipe)
                      if f.name not in DESCRIPTIVE_FIELDS + ("classes", "model_options"))


_BLOG_95_LR = StepTable((1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9),
                        (1000, 3000, 7000, 10000, 14000, 19000))
_BLOG_95_KEEP = StepTable((1.0, 0.3, 0.1, 0.05, 0.8), (3000, 10000, 15000, 19000))

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("beginner", "beginner", "gd", "tutorial", 10_000, 50,
               StepTable.constant(1e-4), StepTable.constant(1.0),
               blog={10_000: 0.2879, 50_000: 0.4086, 100_000: 0.4563},
               note="The blog's softmax regression: GD at 1e-4 on the summed loss."),
        Recipe("tutorial", "expert", "adam", "stable", 20_000, 50,
               StepTable.constant(1e-4), StepTable.constant(0.5),
               blog={10_000: 0.8715},
               note="Deep MNIST for Experts as published: Adam 1e-4, keep 0.5."),
        Recipe("blog-lr", "expert", "adam", "stable", 20_000, 50,
               StepTable((1e-3, 1e-4, 1e-5, 1e-6), (1000, 5000, 10000)),
               StepTable.constant(0.5), blog={20_000: 0.9199},
               note="The blog's learning-rate table against divergence."),
        Recipe("blog-95", "expert", "adam", "stable", 20_000, 50, _BLOG_95_LR, _BLOG_95_KEEP,
               blog={20_000: 0.9504},
               note="The blog's learning-rate and keep_prob tables, as it meant them."),
        Recipe("blog-95-as-run", "expert", "adam", "stable", 20_000, 50,
               StepTable.constant(1e-3), _BLOG_95_KEEP, blog={20_000: 0.9504},
               note="What the blog's code did: AdamOptimizer(L) took L once, so the "
                    "rate stayed 1e-3; only the fed keep_prob table applied."),
        Recipe("demo", "expert", "adam", "stable", 2_000, 128,
               Cosine(2e-3, 100, 1e-5, 2_000), StepTable.constant(0.5), sampling="epoch",
               augment="elastic", label_smoothing=0.1, model_options={"init": "he"},
               note="A few minutes on 2 CPU cores, and a model that reads real drawings: "
                    "elastic distortion, label smoothing, a warm-up + cosine schedule and "
                    "He's start (docs/README.md measures each)."),
        Recipe("fast", "expert", "adam", "stable", 700, 64,
               Cosine(2e-3, 50, 2e-5, 700), StepTable.constant(0.75), sampling="epoch",
               model_options={"init": "he"},
               note="The quickest way to a useful model: under a minute on 2 CPU cores. A "
                    "short warm-up, a high peak rate and a cosine decay, He's start; no "
                    "augmentation, which pays off only later."),
        Recipe("maist", "expert", "adam", "stable", 6_000, 128,
               Cosine(2e-3, 300, 1e-5, 6_000), StepTable.constant(0.5), sampling="epoch",
               augment="full", label_smoothing=0.1,
               note="MAIST's best: the expert CNN, augmented (affine, elastic, stroke width) "
                    "against over-fitting to the training writers, warm-up and cosine decay, "
                    "label smoothing; about 20 minutes on 2 CPU cores."),
        Recipe("kana", "expert", "adam", "stable", 4_000, 128,
               Cosine(2e-3, 200, 1e-5, 4_000), StepTable.constant(0.5), sampling="epoch",
               augment="elastic", label_smoothing=0.1, classes="kana142",
               model_options={"init": "he"},
               note="Both kana scripts, 142 classes: the demo recipe for twice the classes "
                    "and twice the steps (the same passes over the data); a few minutes on "
                    "2 CPU cores (README's class-set table)."),
        Recipe("kanji", "expert", "adam", "stable", 20_000, 128,
               Cosine(2e-3, 500, 1e-5, 20_000), StepTable.constant(0.5), sampling="epoch",
               augment="elastic", label_smoothing=0.1, classes="kana142+kyoiku1026",
               note="Both kana scripts and the 1,026 kanji of the school list, 1,168 classes: "
                    "about half an hour on 2 CPU cores (README's class-set table, and why "
                    "the expert CNN, not a wider one)."),
        Recipe("etl9g3036", "expert", "adam", "stable", 50_000, 128,
               Cosine(2e-3, 1_000, 1e-5, 50_000), StepTable.constant(0.5), sampling="epoch",
               augment="elastic", label_smoothing=0.1, classes="etl9g3036",
               note="All of ETL9G: its 71 hiragana and 2,965 JIS level-1 kanji, 3,036 classes "
                    "(607,200 images in the real files; its synthetic set by the generator). "
                    "Hours on one machine: the run for towers or a cluster (README, 'More "
                    "than one device or machine')."),
        Recipe("adapt", "expert", "adam", "stable", 80, 32,
               Cosine(3e-4, 8, 1e-6, 80), StepTable.constant(0.5), sampling="epoch",
               augment="full", label_smoothing=0.1,
               note="Adapting a trained model to a few dozen of one's own drawings "
                    "(init_from a run, data a folder of pictures): few steps at a low rate, "
                    "augmented; the plan adds every layer but the readout frozen and at "
                    "least half of each batch replaying the source run's data."),
        Recipe("mlp", "mlp", "adam", "stable", 10_000, 128,
               StepTable.constant(1e-3), StepTable.constant(1.0), sampling="epoch",
               note="The MLP seed: 16 sigmoid units, Adam, batch 128."),
        Recipe("deep", "deep", "adam", "stable", 10_000, 128,
               StepTable.constant(1e-3), StepTable.constant(0.5), sampling="epoch",
               note="The Keras CIFAR-10 seed's CNN, with its dropout."),
    )
}


def options_for(recipe: Recipe, model) -> dict:
    """The recipe's model options, kept where it trains `model`, its own: they were that
    model's, and another takes other options (demo's init is not deep's)."""
    return dict(recipe.model_options) if model == recipe.model else {}


def get_recipe(name_or_path: str) -> Recipe:
    """A named recipe, or a JSON file holding one (missing fields come from its "base",
    'tutorial' unless it says)."""
    name = OLD_NAMES.get(name_or_path, name_or_path)
    if name in RECIPES:
        return RECIPES[name]
    path = Path(name_or_path)
    if path.suffix != ".json" or not path.is_file():
        raise ScheduleError(f"unknown recipe {name_or_path!r}; choose one of "
                            f"{', '.join(RECIPES)} or give a .json file", params=("recipe",))
    try:
        fields_ = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ScheduleError(f"{path}: cannot be read ({e.strerror})", params=("recipe",)) from None
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ScheduleError(f"{path}: not a JSON recipe ({type(e).__name__}); write an object "
                            f'such as {{"base": "demo", "steps": 500}}', params=("recipe",)) from None
    if not isinstance(fields_, dict):
        raise ScheduleError(f"{path}: a recipe file holds a JSON object of recipe fields, such "
                            f'as {{"base": "demo", "steps": 500}}', params=("recipe",))
    base_name = fields_.pop("base", "tutorial")
    if not isinstance(base_name, str) or OLD_NAMES.get(base_name, base_name) not in RECIPES:
        raise ScheduleError(f"{path}: base {base_name!r:.40} is not one of {', '.join(RECIPES)}",
                            params=("recipe",))
    base_recipe = RECIPES[OLD_NAMES.get(base_name, base_name)]
    base = base_recipe.to_dict()
    base["model_options"] = options_for(base_recipe, fields_.get("model", base_recipe.model))
    base.update(fields_, name=fields_.get("name", path.stem))
    try:
        return Recipe.from_dict(base)
    except ScheduleError as e:
        raise ScheduleError(f"{path}: {e}", params=e.params or ("recipe",)) from None


def with_overrides(recipe: Recipe, follow_steps: bool = True, **changes) -> Recipe:
    """The recipe with the given non-None fields replaced; tables may be strings.

    A cosine schedule over the recipe's steps follows new steps (`follow_steps`); a
    resumed run keeps its schedule as it was, and runs on at the floor past its end.
    """
    changes = {k: v for k, v in changes.items() if v is not None}
    if "model_options" not in changes:
        changes["model_options"] = options_for(recipe, changes.get("model", recipe.model))
    for key in ("learning_rate", "keep_prob"):
        if isinstance(changes.get(key), (int, float, str)):
            changes[key] = parse_schedule(changes[key])
    lr = changes.get("learning_rate", recipe.learning_rate)
    if (follow_steps and "steps" in changes and isinstance(lr, Cosine)
            and lr.steps == recipe.steps and changes["steps"] >= 1):
        changes["learning_rate"] = lr.stretched(changes["steps"])  # the cosine follows
    try:
        return replace(recipe, **changes)
    except TypeError as e:
        raise ScheduleError(f"recipe fields: {e}") from None
