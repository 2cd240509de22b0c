"""config.json as one typed record: what a run needs to be read again, parsed and checked once.

    RunRecord(recipe, classes, seed, ...)   the record; .model, .preprocess, .averaged
    read(run_dir)          -> RunRecord     config.json, checked, older schemas upgraded
    write(run_dir, record)                  replaced atomically
    RunRecord.to_dict() / from_dict(d)      config.json's content, both ways

nanoGPT keeps `model_args` and `config` beside the weights and rebuilds the model from
them; torchvision keeps `meta` with the weights. A MAIST run keeps this record beside its
checkpoints: the model and its options, the classes in readout order and the data's
preprocessing travel with the weights. The recipe is kept as the recipe's own dict
(training.recipes.Recipe.to_dict), which the trainer reads back; everything that restores,
exports or serves a run reads the fields here and nothing else.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..data.preprocess import ALIASES, DEFAULT_PREPROCESS, PREPROCESSORS
from ..errors import RunError
from ..fileio import write_text_atomic
from .rundir import DAMAGED, check_is_dir

# 1: the records written before the schema was numbered (replay and replay_data came
# late, so they may be missing); 2: "schema" recorded, every field present.
SCHEMA = 2
FILE = "config.json"
RECIPE_KEYS = ("model", "loss", "optimizer")  # what restoring a recipe's graph needs


@dataclass(frozen=True)
class RunRecord:
    recipe: dict  # Recipe.to_dict(): tables as text
    classes: tuple[str, ...]  # readout order: logit i is classes[i]
    seed: int
    data: dict = field(default_factory=dict)  # MaistData.meta: path, preprocess, split, ...
    model_options: dict = field(default_factory=dict)  # every option, defaults filled in
    freeze: tuple[str, ...] = ()
    init_from: str | None = None  # "RUN_DIR" or "RUN_DIR:STEP"
    new_head: bool = False
    replay: float = 0.0
    replay_data: str | None = None
    # The intervals as trained; None in a record written by hand: the trainer's defaults.
    eval_every: int | None = None
    log_every: int | None = None
    checkpoint_every: int | None = None
    early_stopping: int | None = None
    test_at: tuple[int, ...] = ()
    eval_batch: int | None = None
    devices: tuple[str, ...] = ()  # the towers it was trained on, as information
    schema: int = SCHEMA

    @property
    def model(self) -> str:
        return self.recipe["model"]

    @property
    def preprocess(self) -> str:
        """How the run's pictures were read: what a picture given to it must go through."""
        return self.data.get("preprocess") or DEFAULT_PREPROCESS

    @property
    def averaged(self) -> bool:
        """Whether the checkpoints hold moving averages of the weights, which are then
        what the run is read with (a recipe's `average`; runs from before it have none)."""
        return bool(self.recipe.get("average"))

    @property
    def data_path(self) -> str | None:
        return self.data.get("path")

    @property
    def data_seed(self) -> int:
        """The seed the data was split with (the run's own, unless the data was built)."""
        seed = self.data.get("seed")
        return seed if isinstance(seed, int) and not isinstance(seed, bool) else 0

    def data_options(self) -> dict:
        """The options the data was read with (classes, preprocess, split), as given."""
        return {k: self.data[k] for k in ("classes", "preprocess", "split") if self.data.get(k)}

    def to_dict(self) -> dict:
        """config.json's content, as it reads back from disk (tuples become lists)."""
        return json.loads(json.dumps(asdict(self), ensure_ascii=False))

    @classmethod
    def from_dict(cls, d: dict, where: str = FILE) -> "RunRecord":
        """A record from config.json's content, upgraded and checked; a RunError naming
        `where` and each field that is missing or of the wrong kind."""
        if not isinstance(d, dict):
            raise RunError(f"{where} holds no settings: {DAMAGED}")
        d = upgrade(d, where)
        problems = [k for k in ("recipe", "classes", "seed") if k not in d]
        problems += [f"{k} is not {what}" for k, (kinds, what) in _KINDS.items()
                     if k in d and not _is(d[k], kinds)]
        recipe = d.get("recipe")
        if isinstance(recipe, dict):
            problems += [f"recipe.{k}" for k in RECIPE_KEYS if not isinstance(recipe.get(k), str)]
        classes = d.get("classes")
        if isinstance(classes, list) and not (
                classes and all(isinstance(c, str) and len(c) == 1 for c in classes)):
            problems.append("classes are not characters")
        if problems:
            raise RunError(f"{where}: {', '.join(problems)} (missing or of the wrong kind): "
                           f"{DAMAGED}")
        how = d.get("data", {}).get("preprocess")
        if how is not None and not (isinstance(how, str)
                                    and ALIASES.get(how, how) in PREPROCESSORS):
            # every reading of a picture would fail on it: said once, here
            raise RunError(f"{where}: unknown preprocessing {how!r:.40} (this MAIST has "
                           f"{', '.join(PREPROCESSORS)}): a newer MAIST's run, or {DAMAGED}")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        for k in ("classes", "freeze", "test_at", "devices"):
            if k in values:
                values[k] = tuple(values[k])
        return cls(**values)


# config.json's fields and what each must be (bool is no int here; a float may be an int).
_KINDS = {
    "recipe": ((dict,), "an object"), "classes": ((list,), "a list"),
    "seed": ((int,), "a whole number"), "data": ((dict,), "an object"),
    "model_options": ((dict,), "an object"), "freeze": ((list,), "a list"),
    "init_from": ((str, type(None)), "a path or null"), "new_head": ((bool,), "true or false"),
    "replay": ((int, float), "a number"), "replay_data": ((str, type(None)), "a path or null"),
    "eval_every": ((int, type(None)), "a whole number"),
    "log_every": ((int, type(None)), "a whole number"),
    "checkpoint_every": ((int, type(None)), "a whole number"),
    "early_stopping": ((int, type(None)), "a whole number or null"),
    "test_at": ((list,), "a list"), "eval_batch": ((int, type(None)), "a whole number"),
    "devices": ((list,), "a list"),
    "schema": ((int,), "a whole number"),
}


def _is(value, kinds: tuple) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds)


def upgrade(d: dict, where: str = FILE) -> dict:
    """An older record in today's schema: schema 1 may lack replay and replay_data."""
    schema = d.get("schema", 1)
    if isinstance(schema, int) and not isinstance(schema, bool) and schema > SCHEMA:
        raise RunError(f"{where} is of schema {schema}, written by a newer MAIST than this "
                       f"one (schema {SCHEMA}); upgrade MAIST to read it")
    if schema == 1:
        d = {"replay": 0.0, "replay_data": None, "data": {}, **d, "schema": SCHEMA}
    return d


def read(run_dir: str | os.PathLike) -> RunRecord:
    """The run's config.json as a RunRecord; a RunError that says what to do where the
    directory or file is missing, unreadable or damaged."""
    run_dir = Path(run_dir)
    check_is_dir(run_dir)
    path = run_dir / FILE
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run directory", params=("run_dir",))
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: missing; is {run_dir} a MAIST run directory? If it is, "
                       f"{DAMAGED}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise RunError(f"{path} is not valid JSON ({type(e).__name__}): {DAMAGED}") from None
    except OSError as e:
        raise RunError(f"{path}: cannot be read ({e.strerror}); check its permissions") from None
    return RunRecord.from_dict(d, str(path))


def write(run_dir: str | os.PathLike, record: RunRecord) -> None:
    write_text_atomic(Path(run_dir) / FILE,
                      json.dumps(record.to_dict(), indent=2, ensure_ascii=False))
