"""A run's settings: what config.json records, what a resumed run takes from it, and when
two runs count as the same.

    TrainConfig(recipe, seed, ...)      how to train, checked before anything runs
    Request(...) -> plan(request, previous) -> RunPlan   what was asked, merged with a run's own
    record(cfg, data) -> RunRecord      what config.json records (runs.records)
    resumable(run_dir) -> RunRecord     the record of a run that can be continued
    check_resume(run_dir, new, previous, override)   the same settings, or refused
    differences(old, new)               'recipe.keep_prob: 0.5 -> 1' for each setting that differs

On resume, what the request leaves unsaid comes from the run's own record (read once, by
the caller): its recipe, seed, model options, data and data options, evaluation and
checkpoint intervals, early stopping and fine-tuning source. A setting that is said and
differs from the run's is refused by check_resume unless overridden.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..data.dataset import MAX_SEED
from ..errors import MaistError, RunError, TrainingError
from ..nets.devices import parse_devices
from ..nets.models import get_model
from ..runs import checkpoints
from ..runs.records import FILE, RunRecord, read
from ..runs.rundir import DAMAGED, check_is_dir
from .recipes import DESCRIPTIVE_FIELDS, Recipe, get_recipe, with_overrides

# What a resumed run must share with the run it continues (the recipe's steps may grow).
SAME_RUN = ("recipe", "model_options", "classes", "seed", "data.preprocess", "data.split",
            "data.classes", "replay", "replay_data")
DEFAULT_RECIPE = "demo"
# Adapting a model to a folder of one's own drawings (--init-from RUN --data mine): a few
# dozen pictures, so few steps at a low rate, every layer but the readout kept (the
# model's ModelSpec.body), and at least half of each batch the source run's own data
# (benchmarks/finetune_touch.py measures why).
ADAPT_RECIPE = "adapt"
ADAPT_REPLAY = 0.5
EVAL_EVERY = 1000  # the blog's advice: check validation often to catch over-fitting
LOG_EVERY = 100  # the blog's "i 100, training accuracy ..." lines
CHECKPOINT_EVERY = 1000
EVAL_BATCH = 1000  # images per evaluation run: bounded memory for any split
DRY_RUN_STEPS, DRY_RUN_EVAL = 20, 10  # end to end in seconds, evaluated twice


def whole(value, name: str, low: int = 1, high: int | None = None, what: str = "steps") -> int:
    """value as an int in [low, high], or a TrainingError that names the setting."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (
            high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f"at least {low}"
        raise TrainingError(f"{name} must be a whole number of {what}, {bound}, not {value!r}",
                            params=(name,))
    return int(value)


@dataclass
class TrainConfig:
    recipe: Recipe
    seed: int = 0
    eval_every: int = EVAL_EVERY
    log_every: int = LOG_EVERY
    checkpoint_every: int = CHECKPOINT_EVERY
    early_stopping: int | None = None  # evaluations without a better validation loss
    test_at: tuple[int, ...] = ()  # steps at which to record test accuracy too
    eval_batch: int = EVAL_BATCH
    model_options: dict = field(default_factory=dict)  # e.g. mlp's hidden, activation
    init_from: str | None = None  # "RUN_DIR" or "RUN_DIR:STEP": start from its weights
    freeze: tuple[str, ...] = ()  # variables whose names hold these stay as initialised
    new_head: bool = False  # with init_from: a fresh readout where the classes differ
    # With init_from: this share of each training batch replays the source run's own
    # training data (or replay_data's), so that adapting to a few drawings of one hand
    # does not forget everyone else's.
    replay: float = 0.0
    replay_data: str | None = None
    # Towers, one a device (nets.devices: "/device:CPU:0", ...); (): one device. Not a
    # setting of the run's: a run trained on towers resumes, restores and exports anywhere.
    devices: tuple[str, ...] = ()

    def __post_init__(self):
        if not isinstance(self.recipe, Recipe):
            raise TrainingError(f"recipe must be a Recipe (get_recipe('demo')), not "
                                f"{self.recipe!r:.40}", params=("recipe",))
        for name in ("eval_every", "log_every", "checkpoint_every", "eval_batch"):
            whole(getattr(self, name), name)
        if self.early_stopping is not None:
            whole(self.early_stopping, "early_stopping", what="evaluations (patience)")
        self.seed = whole(self.seed, "seed", 0, MAX_SEED, what="a seed")
        if not isinstance(self.model_options, dict):
            raise TrainingError(f"model_options is a mapping of option to value, not "
                                f"{self.model_options!r:.40}", params=("model_options",))
        # The recipe's options (the expert's init for MAIST's recipes), then the run's own.
        self.model_options = get_model(self.recipe.model).check_options(
            {**self.recipe.model_options, **self.model_options})
        self.freeze = tuple(self.freeze)
        self.test_at = tuple(self.test_at)
        self.devices = parse_devices(self.devices)
        if not isinstance(self.replay, (int, float)) or not 0 <= self.replay < 1:
            raise TrainingError(f"replay is the share of each batch replayed, from 0 (none) "
                                f"up to but not 1, not {self.replay!r:.40}", params=("replay",))
        if (self.replay and not self.init_from and not self.replay_data) or (
                self.replay_data and not self.replay):
            raise TrainingError("replay mixes another data set into the batches: it needs "
                                "a share (--replay) and init_from (the run whose training "
                                "data replays) or replay_data", params=("replay", "init_from"))
        if (self.freeze or self.new_head) and not self.init_from:
            said = "freeze" if self.freeze else "new_head"
            raise TrainingError(f"{said} is for fine-tuning: it needs init_from, the run whose "
                                f"weights to start from", params=(said, "init_from"))


def build_graph(cfg: TrainConfig, num_classes: int, replicas=None):
    """The training graph cfg describes (nets.graph.build), for `num_classes`; with
    `replicas`, one cluster task's (the chief's loop and every other worker build the same)."""
    from ..nets import graph as G

    r = cfg.recipe
    return G.build(r.model, num_classes, r.loss, r.optimizer, cfg.seed,
                   label_smoothing=r.label_smoothing, freeze=cfg.freeze, average=r.average,
                   devices=cfg.devices, replicas=replicas, **cfg.model_options)


def record(cfg: TrainConfig, data) -> RunRecord:
    """What config.json records: the options as given, the classes and the data's origin."""
    d = asdict(cfg)
    d["recipe"] = cfg.recipe.to_dict()
    d["classes"] = list(data.classes)
    d["data"] = data.meta
    return RunRecord.from_dict(json_ready(d))


def resumable(run_dir) -> RunRecord:
    """The record of a run that can be continued: one with a checkpoint, whose recipe and
    settings make a TrainConfig again (resuming trains with them). A bad value in it is
    config.json's, named so, not a flag the user never gave."""
    run_dir = Path(run_dir)
    check_is_dir(run_dir)
    checkpoints.resume_point(run_dir)  # none, or a damaged state file: said before all else
    previous = read(run_dir)
    try:
        plan(Request(), previous)  # the run's own settings alone, as a resume without flags
    except MaistError as e:
        raise RunError(f"{run_dir / FILE}: {e}: {DAMAGED}") from None
    return previous


def check_resume(run_dir, new: RunRecord, previous: RunRecord, override: bool = False) -> None:
    """A resumed run needs a checkpoint and the same settings (SAME_RUN), unless
    `override`; nothing is written."""
    checkpoints.resume_point(run_dir)  # none, or a damaged state file: said before all else
    diff = differences(previous, new)
    if diff and not override:
        raise RunError(
            f"{run_dir} was trained with other settings: {'; '.join(diff)}. Resume with "
            f"the run's own settings, or override them knowingly", params=("override",))


def json_ready(d: dict) -> dict:
    """As it reads back from disk (tuples become lists), so configs compare equal."""
    return json.loads(json.dumps(d))


# --- the command line, merged with a run's own settings -----------------------------------


@dataclass
class Request:
    """What was asked for (None: not said), before it is merged with a run's own record:
    the command line's words, or maist.train's arguments."""

    recipe: str | None = None  # a name or a .json file
    changes: dict = field(default_factory=dict)  # RECIPE_FIELDS -> value (tables as text)
    model_options: tuple[str, ...] | dict = ()  # "NAME=VALUE" each, or NAME -> value
    seed: int | None = None
    eval_every: int | None = None
    checkpoint_every: int | None = None
    early_stopping: int | None = None
    init_from: str | None = None
    freeze: str | tuple[str, ...] | None = None  # parts of variable names, or "a,b"; "none"
    new_head: bool = False
    replay: float | None = None
    replay_data: str | None = None
    data: str | None = None
    data_kind: str | None = None  # sources.kind(data): "pictures" adapts with its own defaults
    init_config: RunRecord | None = None  # the init_from run's record: its model and options
    preprocess: str | None = None
    split: str | None = None
    classes: str | None = None
    dry_run: bool = False  # DRY_RUN_STEPS steps, evaluating every DRY_RUN_EVAL
    run_dir: str | None = None  # None: a new runs/RECIPE-MODEL[-N]
    resume: bool = False  # continue run_dir from its last checkpoint
    override: bool = False  # with resume: even where the settings given differ
    pretrain: str = "auto"  # training.pretrain.MODES, or a recipe to pretrain with
    devices: str | tuple[str, ...] | None = None  # "cpu:0,cpu:1": towers; None: one device
    cluster: object = None  # training.cluster.ClusterTask: this process's task of a cluster


@dataclass
class RunPlan:
    config: TrainConfig
    data: str | None  # the data's path; None: the default data set
    data_options: dict  # preprocess, split, classes: those given, else the run's own


def plan(request: Request, previous: RunRecord | None = None) -> RunPlan:
    """The run to make (or continue, with `previous`, the run's own record)."""
    prev = previous
    own_data = prev.data if prev else {}
    # A few of one's own drawings and a model to start from: the adapt recipe, all but the
    # readout frozen, and at least half of each batch replaying the source's data, unless
    # said otherwise.
    adapting = (not prev and request.recipe is None and request.init_from is not None
                and request.data_kind == "pictures")
    if request.recipe is not None:
        recipe = get_recipe(request.recipe)
    elif prev:
        recipe = Recipe.from_dict(prev.recipe)
    else:
        recipe = get_recipe(ADAPT_RECIPE if adapting else DEFAULT_RECIPE)
    source = request.init_config
    if adapting and source:
        recipe = with_overrides(recipe, model=source.model)  # the source's own
    changes = {k: v for k, v in request.changes.items() if v is not None}
    if request.dry_run:
        changes["steps"] = DRY_RUN_STEPS
    # A recipe named again is built again as its first run built it (a cosine follows new
    # steps); a resumed run's stored schedule is kept as it was, and runs on at its floor.
    recipe = with_overrides(recipe, follow_steps=request.recipe is not None or not prev,
                            **changes)
    spec = get_model(recipe.model)
    keep_options = prev and "model" not in changes and prev.model == recipe.model
    options = dict(prev.model_options) if keep_options else {}
    if not prev and source and source.model == recipe.model:
        options = dict(source.model_options)  # a start from a run has its sizes
    asked = request.model_options
    if isinstance(asked, dict):
        spec.check_options(dict(asked))  # an unknown or mistyped option is named now
        options.update(asked)
    else:
        options.update(spec.parse_option(o) for o in asked)

    def said(name, default):
        value = getattr(request, name)
        if value is not None:
            return value
        recorded = getattr(prev, name) if prev else None
        return recorded if recorded is not None else default

    if request.freeze is not None:
        parts = request.freeze.split(",") if isinstance(request.freeze, str) else request.freeze
        freeze = tuple(f.strip() for f in parts if f.strip() and f.strip() != "none")
    else:
        freeze = tuple(prev.freeze if prev else (spec.body if adapting else ()))
    replay = said("replay", ADAPT_REPLAY if adapting else 0.0)
    cfg = TrainConfig(
        recipe, seed=said("seed", 0),
        eval_every=DRY_RUN_EVAL if request.dry_run else said("eval_every", EVAL_EVERY),
        checkpoint_every=said("checkpoint_every", CHECKPOINT_EVERY),
        early_stopping=said("early_stopping", None), test_at=tuple(sorted(recipe.blog)),
        model_options=options, init_from=said("init_from", None), freeze=freeze,
        new_head=request.new_head or bool(prev and prev.new_head), replay=replay,
        replay_data=said("replay_data", None), devices=request.devices or ())
    data_options = {k: getattr(request, k) or own_data.get(k)
                    for k in ("preprocess", "split", "classes")}
    source_data = source.data if source else {}
    if not prev and (request.data is None or request.data_kind in ("pictures", "etl")):
        # A start from a run reads data as that run did (a built .npz has its own fixed).
        for k in ("preprocess",) + (() if request.new_head else ("classes",)):
            data_options[k] = data_options[k] or source_data.get(k)
    if not data_options["classes"] and not request.data:
        data_options["classes"] = recipe.classes  # the default data: the recipe's class set
    return RunPlan(cfg, request.data or own_data.get("path"),
                   {k: v for k, v in data_options.items() if v})


# --- when two runs are the same -----------------------------------------------------------


def _lookup(config: dict, dotted: str):
    value = config
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _shown(v) -> str:
    return f"{len(v)} items" if isinstance(v, list) and len(v) > 5 else repr(v)


def _records(v) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _difference(key: str, a, b) -> str:
    """'key: a -> b'; for two long lists, the first place they differ; for two lists of
    records (data.generated), the fields that differ in the first record that does."""
    if (_records(a) or a is None) and (_records(b) or b is None) and not (a is b is None):
        if a is None or b is None or len(a) != len(b):
            count = lambda v: "none" if v is None else f"{len(v)} record{'s' * (len(v) != 1)}"  # noqa: E731
            return f"{key}: {count(a)} -> {count(b)}"
        i = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
        changed = ", ".join(f"{k} {a[i].get(k)!r} -> {b[i].get(k)!r}"
                            for k in sorted(set(a[i]) | set(b[i])) if a[i].get(k) != b[i].get(k))
        return f"{key}[{i}]: {changed}"
    if isinstance(a, list) and isinstance(b, list) and max(len(a), len(b)) > 5:
        if len(a) != len(b):
            return f"{key}: {len(a)} items -> {len(b)} items"
        i = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
        return f"{key}[{i}]: {a[i]!r} -> {b[i]!r}"
    return f"{key}: {_shown(a)} -> {_shown(b)}"


def full_recipe(d) -> dict | None:
    """A recorded recipe with every field, defaults filled in: a run recorded before a
    field existed (augment, label_smoothing) compares equal to one that states it."""
    if not isinstance(d, dict):
        return d
    try:
        return json_ready(Recipe.from_dict(d).to_dict())
    except MaistError:
        return d


def _with_option_defaults(config: dict) -> dict:
    """config with its model's options filled in with their defaults, as TrainConfig
    records them (a config.json written by hand, or before a field existed, may leave
    them out)."""
    config = {"replay": 0.0, "replay_data": None, **config}
    try:
        spec = get_model(config["recipe"]["model"])
        options = spec.check_options(dict(config.get("model_options") or {}))
    except (MaistError, KeyError, TypeError, AttributeError):
        return config
    return {**config, "model_options": options}


def differences(old: RunRecord | dict, new: RunRecord | dict, keys=SAME_RUN,
                steps: bool = False) -> list[str]:
    """'recipe.keep_prob: 0.5 -> 1' for each setting that differs. A recipe's descriptive
    fields never count; its steps count only with `steps` (a resumed run may grow)."""
    ignored = DESCRIPTIVE_FIELDS + (() if steps else ("steps",))
    old, new = (r.to_dict() if isinstance(r, RunRecord) else r for r in (old, new))
    old, new = _with_option_defaults(old), _with_option_defaults(new)
    out = []
    for key in keys:
        a, b = _lookup(old, key), _lookup(new, key)
        if key == "recipe":
            a, b = full_recipe(a), full_recipe(b)
        if key == "recipe" and isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                if k not in ignored and a.get(k) != b.get(k):
                    out.append(f"recipe.{k}: {a.get(k)!r} -> {b.get(k)!r}")
        elif a != b:
            out.append(_difference(key, a, b))
    return out
