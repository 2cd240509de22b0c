"""A run directory's files: config.json, metrics.csv with the TensorBoard events, result.json.

    free_name(root, name)              runs/NAME, or NAME-2, -3, ... : never an old run's
    read_config(run_dir)               -> dict    config.json, checked
    read_resumable(run_dir)            -> dict    the same, of a run with a checkpoint
    prepare(run_dir, config, previous) -> bool    a new directory made, or a resume checked
    write_config / write_result / read_result
    read_metrics(run_dir) / RunLog     each evaluation once to metrics.csv and TensorBoard

A run directory holds config.json (the options as given), metrics.csv (one row per
evaluation: step, split, loss, accuracy, learning_rate, keep_prob), the checkpoints
(training.checkpoints), TensorBoard events under events/, and result.json at the end.
Every file MAIST writes here is replaced atomically. Nothing here trains or restores.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
from pathlib import Path

from ..errors import MaistError, RunError
from ..fileio import atomic_path, write_text_atomic
from ..nets.backend import tf1
from . import checkpoints
from .config import differences
from .recipes import Recipe

METRIC_FIELDS = ["step", "split", "loss", "accuracy", "learning_rate", "keep_prob"]
DAMAGED = "the run directory is damaged; restore the file from a backup or train again"


def free_name(root: str | os.PathLike, name: str) -> Path:
    """runs/NAME, or runs/NAME-2, -3, ... : a new run never writes into an old one."""
    path, k = Path(root) / name, 2
    while path.exists():
        path, k = Path(root) / f"{name}-{k}", k + 1
    return path


def check_is_dir(run_dir: Path) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir}: is a file, not a run directory; give a run directory",
                       params=("run_dir",))


# What restoring and resuming read from config.json, and the type each must have.
_CONFIG_TYPES = {"recipe": dict, "classes": list, "seed": int, "model_options": dict,
                 "data": dict, "freeze": list}
_RECIPE_KEYS = ("model", "loss", "optimizer")


def parse_init_from(text: str) -> tuple[Path, int | None]:
    """'runs/demo-expert' -> (path, None); 'runs/demo-expert:1000' -> (path, 1000)."""
    head, sep, tail = str(text).rpartition(":")
    if sep and tail.isdigit():
        return Path(head), int(tail)
    return Path(text), None


def keeps_average(config: dict) -> bool:
    """Whether a run's checkpoints hold moving averages of its weights, which are then
    what it is read with (a recipe's `average`; runs from before it have none)."""
    return bool(config.get("recipe", {}).get("average"))


def read_config(run_dir: str | os.PathLike) -> dict:
    """config.json of a run, checked for what restoring and resuming need."""
    run_dir = Path(run_dir)
    check_is_dir(run_dir)
    path = run_dir / "config.json"
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run directory", params=("run_dir",))
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: missing; is {run_dir} a MAIST run directory? If it is, "
                       f"{DAMAGED}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise RunError(f"{path} is not valid JSON ({type(e).__name__}): {DAMAGED}") from None
    except OSError as e:
        raise RunError(f"{path}: cannot be read ({e.strerror}); check its permissions") from None
    if not isinstance(config, dict):
        raise RunError(f"{path} holds no settings: {DAMAGED}")
    problems = [k for k in ("recipe", "classes", "seed") if k not in config]
    problems += [f"{k} is not a {t.__name__}" for k, t in _CONFIG_TYPES.items()
                 if k in config and (not isinstance(config[k], t) or isinstance(config[k], bool))]
    recipe = config.get("recipe")
    if isinstance(recipe, dict):
        problems += [f"recipe.{k}" for k in _RECIPE_KEYS if not isinstance(recipe.get(k), str)]
    if isinstance(config.get("classes"), list) and not (
            config["classes"] and all(isinstance(c, str) and len(c) == 1 for c in config["classes"])):
        problems.append("classes are not characters")
    if problems:
        raise RunError(f"{path}: {', '.join(problems)} (missing or of the wrong kind): {DAMAGED}")
    return config


def read_resumable(run_dir: str | os.PathLike) -> dict:
    """The config.json of a run that can be resumed: one with a checkpoint."""
    run_dir = Path(run_dir)
    check_is_dir(run_dir)
    if not checkpoints.steps(run_dir):
        raise RunError(f"{run_dir}: no checkpoint to resume from; start a new run instead",
                       params=("resume",))
    config = read_config(run_dir)
    try:  # resuming trains with the recorded recipe: one that cannot be made is named here
        Recipe.from_dict(config["recipe"])
    except MaistError as e:
        raise RunError(f"{run_dir / 'config.json'}: {e}: {DAMAGED}") from None
    return config


def prepare(run_dir: str | os.PathLike, config: dict, previous: dict | None = None,
            override: bool = False) -> bool:
    """Make a new run directory, or check that an existing one can be resumed as asked.

    With `previous` (the run's own config.json, read by the caller), the run is resumed: it
    needs a checkpoint and the same settings (config.SAME_RUN), unless `override`, and
    nothing is written. Otherwise a new directory is made, empty: a new run never writes
    into a directory that holds anything. Returns True when it made the directory.
    """
    run_dir = Path(run_dir)
    check_is_dir(run_dir)
    if previous is not None:
        if not run_dir.is_dir() or not checkpoints.steps(run_dir):
            raise RunError(f"{run_dir}: no checkpoint to resume from; start a new run instead",
                           params=("resume",))
        checkpoints.latest(run_dir)  # a damaged state file is an error before anything runs
        diff = differences(previous, config)
        if diff and not override:
            raise RunError(
                f"{run_dir} was trained with other settings: {'; '.join(diff)}. Resume with "
                f"the run's own settings, or override them knowingly", params=("override",))
        return False
    if run_dir.exists() and any(run_dir.iterdir()):
        raise RunError(
            f"{run_dir}: already holds a run; resume it, or train into another run "
            f"directory (nothing was overwritten)", params=("resume", "run_dir"))
    made = not run_dir.exists()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunError(f"{run_dir}: cannot be created ({e.strerror})", params=("run_dir",)) from None
    return made


def discard(run_dir: str | os.PathLike, made: bool) -> None:
    """Undo a new run's start that failed: the directory is left as it was found (removed
    if this run made it, else emptied of what this run wrote into it, which is all it
    holds: prepare() accepts only an empty directory)."""
    run_dir = Path(run_dir)
    if made:
        shutil.rmtree(run_dir, ignore_errors=True)
    elif run_dir.is_dir():
        for p in run_dir.iterdir():
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def write_config(run_dir: Path, config: dict) -> None:
    write_text_atomic(Path(run_dir) / "config.json",
                      json.dumps(config, indent=2, ensure_ascii=False))


def write_result(run_dir: Path, result: dict) -> None:
    write_text_atomic(Path(run_dir) / "result.json", json.dumps(result, indent=2))


def read_result(run_dir: str | os.PathLike) -> dict | None:
    """result.json of a finished run, or None (unfinished, or the file unreadable)."""
    path = Path(run_dir) / "result.json"
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    keys = ("step", "test_accuracy", "stopped")
    return result if isinstance(result, dict) and all(k in result for k in keys) else None


# --- metrics ------------------------------------------------------------------------------


def read_metrics(run_dir: str | os.PathLike) -> list[dict]:
    """The rows of metrics.csv; [] where there is none. A damaged file is an error."""
    path = Path(run_dir) / "metrics.csv"
    if not path.exists():
        return []
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        for r in rows:
            r["step"] = int(r["step"])
            for k in ("loss", "accuracy", "learning_rate", "keep_prob"):
                r[k] = float(r[k])
    except (ValueError, TypeError, KeyError, UnicodeDecodeError, csv.Error) as e:
        raise RunError(f"{path}: damaged ({e}); delete it to start the metrics afresh") from None
    except OSError as e:
        raise RunError(f"{path}: cannot be read ({e.strerror}); check its permissions") from None
    return rows


class RunLog:
    """The run's evaluations: each row is kept for metrics.csv and sent to TensorBoard once.

    On resume, rows after the checkpoint's step are dropped, since they will come again:
    an evaluation at `start` was made after step start-1 and stays; the training line at
    `start` comes again.
    """

    def __init__(self, run_dir: Path, graph=None, resume_at: int | None = None):
        self.run_dir = Path(run_dir)
        self.rows: list[dict] = []
        if resume_at is not None:
            self.rows = [r for r in read_metrics(run_dir) if r["step"] < resume_at
                         or (r["step"] == resume_at and r["split"] != "train")]
        events = self.run_dir / "events"
        if events.exists() and not events.is_dir():
            raise RunError(f"{events}: a file where the TensorBoard events folder belongs; "
                           f"move it away", params=("run_dir",))
        self.writer = tf1.summary.FileWriter(str(events), graph=graph)

    def add(self, step: int, split: str, loss: float, accuracy: float, learning_rate: float,
            keep_prob: float) -> dict:
        row = dict(step=step, split=split, loss=float(loss), accuracy=float(accuracy),
                   learning_rate=float(learning_rate), keep_prob=float(keep_prob))
        self.rows.append(row)
        values = {f"{split}/loss": row["loss"], f"{split}/accuracy": row["accuracy"]}
        if split == "train":
            values.update(learning_rate=row["learning_rate"], keep_prob=row["keep_prob"])
        summary = tf1.Summary(value=[tf1.Summary.Value(tag=k, simple_value=v)
                                     for k, v in values.items() if math.isfinite(v)])
        self.writer.add_summary(summary, step)
        return row

    def add_summary(self, summary, step: int) -> None:
        """A serialised summary (e.g. the filters as images) to TensorBoard only."""
        self.writer.add_summary(summary, step)

    def flush(self) -> None:
        with atomic_path(self.run_dir / "metrics.csv") as tmp:
            with open(tmp, "w", newline="") as f:
                w = csv.DictWriter(f, METRIC_FIELDS)
                w.writeheader()
                w.writerows(self.rows)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
