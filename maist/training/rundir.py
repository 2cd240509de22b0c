"""A run directory, and the inference API on what it holds. Nothing here trains.

    prepare(run_dir, config, resume)   -> the directory made (or checked, to resume)
    read_config(run_dir)               -> dict    config.json, checked
    Metrics(run_dir)                   each row once to metrics.csv and TensorBoard
    write_result / read_result         result.json at the end
    checkpoint_steps / latest_checkpoint
    restore(run_dir, step=None)        -> Restored  graph + session at a checkpoint
    Restored.probabilities(x) / .predict(pictures) / .run(["h_relu1"], x) / .evaluate(x, y)

A run directory holds config.json (the options as given), metrics.csv (one row per
evaluation: step, split, loss, accuracy, learning_rate, keep_prob), checkpoints ckpt-STEP
(step 0 included, so the untrained filters can be shown), TensorBoard events under
events/, and result.json at the end. Every file MAIST writes here is replaced atomically;
checkpoints are TensorFlow's own.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..analysis import metrics as metrics_
from ..data.preprocess import DEFAULT_PREPROCESS, from_picture
from ..errors import MaistError, PictureError, RunError
from ..fileio import atomic_path, write_text_atomic
from ..geometry import IMAGE_PIXELS
from ..nets import models as M
from ..nets.backend import tf, tf1

METRIC_FIELDS = ["step", "split", "loss", "accuracy", "learning_rate", "keep_prob"]
CHECKPOINT_PREFIX = "ckpt"
# What a resumed run must share with the run it continues (the recipe's steps may grow).
RESUME_KEYS = ("recipe", "model_options", "classes", "seed", "data.preprocess", "data.split",
               "data.classes")


# --- evaluation ---------------------------------------------------------------------------


@dataclass
class Evaluation:
    loss: float  # mean per-example cross-entropy
    accuracy: float
    predictions: np.ndarray  # (n,) top class
    probabilities: np.ndarray  # (n, C)


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[labels]


def evaluate_split(sess, g: M.Graph, x: np.ndarray, y: np.ndarray, batch: int = 1000) -> Evaluation:
    """Whole-split figures, computed in batches with dropout off (keep_prob's default)."""
    c = g.inputs.y_.shape[1]
    losses, probs = [], []
    for i in range(0, len(x), batch):
        xent, p = sess.run([g.xent, g.probabilities],
                           {g.inputs.x: x[i : i + batch], g.inputs.y_: one_hot(y[i : i + batch], c)})
        losses.append(xent)
        probs.append(p)
    if not probs:
        return Evaluation(float("nan"), float("nan"), np.zeros(0, int), np.zeros((0, c)))
    p = np.concatenate(probs)
    pred = p.argmax(1)
    return Evaluation(float(np.concatenate(losses).mean()), float((pred == y).mean()), pred, p)


# --- the directory ------------------------------------------------------------------------


def free_run_dir(root: Path, name: str) -> Path:
    """runs/NAME, or runs/NAME-2, -3, ... : a new run never writes into an old one."""
    path, k = Path(root) / name, 2
    while path.exists():
        path, k = Path(root) / f"{name}-{k}", k + 1
    return path


def _check_is_dir(run_dir: Path) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir}: is a file, not a run directory; give a run directory",
                       params=("run_dir",))


def read_config(run_dir: str | os.PathLike) -> dict:
    """config.json of a run, checked for what restoring and resuming need."""
    run_dir = Path(run_dir)
    _check_is_dir(run_dir)
    path = run_dir / "config.json"
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run directory", params=("run_dir",))
    damaged = "the run directory is damaged; restore the file from a backup or train again"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: missing; is {run_dir} a MAIST run directory? If it is, "
                       f"{damaged}") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise RunError(f"{path} is not valid JSON ({e}): {damaged}") from None
    except OSError as e:
        raise RunError(f"{path}: cannot be read ({e.strerror}); check its permissions") from None
    recipe = config.get("recipe") if isinstance(config, dict) else None
    missing = [k for k in ("recipe", "classes", "seed") if not isinstance(config, dict) or k not in config]
    missing += [f"recipe.{k}" for k in ("model", "loss", "optimizer")
                if isinstance(recipe, dict) and k not in recipe]
    if missing or not isinstance(recipe, dict) or not isinstance(config.get("classes"), list):
        raise RunError(f"{path} lacks {', '.join(missing) or 'a valid recipe or classes'}: {damaged}")
    return config


def _lookup(config: dict, dotted: str):
    value = config
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _shown(v) -> str:
    return f"{len(v)} classes" if isinstance(v, list) and len(v) > 5 else repr(v)


def full_recipe(d) -> dict | None:
    """A recorded recipe with every field, defaults filled in: a run recorded before a
    field existed (augment, label_smoothing) compares equal to one that states it."""
    from .schedule import Recipe

    if not isinstance(d, dict):
        return d
    try:
        return json.loads(json.dumps(Recipe.from_dict(d).to_dict()))
    except MaistError:
        return d


# A recipe's fields that say what it is, not how it trains: runs that differ only in them
# trained alike (a recipe renamed, or its note reworded, is the same recipe).
DESCRIPTIVE_FIELDS = ("name", "note", "blog")


def training_recipe(d) -> dict | None:
    """full_recipe(d) without its descriptive fields: equal for runs that trained alike."""
    full = full_recipe(d)
    if not isinstance(full, dict):
        return full
    return {k: v for k, v in full.items() if k not in DESCRIPTIVE_FIELDS}


def config_differences(old: dict, new: dict, keys=RESUME_KEYS) -> list[str]:
    """'recipe.keep_prob: 0.5 -> 1' for each setting that differs (recipe steps excepted)."""
    out = []
    for key in keys:
        a, b = _lookup(old, key), _lookup(new, key)
        if key == "recipe":
            a, b = full_recipe(a), full_recipe(b)
        if key == "recipe" and isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                if k not in ("steps", *DESCRIPTIVE_FIELDS) and a.get(k) != b.get(k):
                    out.append(f"recipe.{k}: {a.get(k)!r} -> {b.get(k)!r}")
        elif a != b:
            out.append(f"{key}: {_shown(a)} -> {_shown(b)}")
    return out


def prepare(run_dir: str | os.PathLike, config: dict, resume: bool = False,
            override: bool = False) -> None:
    """Make a new run directory, or check that an existing one can be resumed as asked.

    A new run never writes into a directory that holds anything; its config.json is
    written here. Resuming needs a checkpoint and the same settings (RESUME_KEYS), unless
    `override`; nothing is written then, until the checkpoint has loaded (the caller's).
    """
    run_dir = Path(run_dir)
    _check_is_dir(run_dir)
    if resume:
        if not run_dir.is_dir() or not checkpoint_steps(run_dir):
            raise RunError(f"{run_dir}: no checkpoint to resume from; start a new run instead",
                           params=("resume",))
        latest_checkpoint(run_dir)  # a damaged state file is an error before anything runs
        old = read_config(run_dir)
        diff = config_differences(old, config)
        if diff and not override:
            raise RunError(
                f"{run_dir} was trained with other settings: {'; '.join(diff)}. Resume with "
                f"the run's own settings, or override them knowingly", params=("override",))
        return
    if run_dir.exists() and any(run_dir.iterdir()):
        raise RunError(
            f"{run_dir}: already holds a run; resume it, or train into another run "
            f"directory (nothing was overwritten)", params=("resume", "run_dir"))
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunError(f"{run_dir}: cannot be created ({e.strerror})", params=("run_dir",)) from None
    write_config(run_dir, config)


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
    return rows


class Metrics:
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
        self.writer = tf1.summary.FileWriter(str(self.run_dir / "events"), graph=graph)

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


# --- checkpoints --------------------------------------------------------------------------

_CKPT_INDEX = re.compile(rf"^{CHECKPOINT_PREFIX}-(\d+)\.index$")


def checkpoint_steps(run_dir: str | os.PathLike) -> list[int]:
    """Steps with a checkpoint on disk (ckpt-STEP.index), ascending. Read from the folder,
    not TensorFlow's state file, so that a damaged state file still leaves them usable."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    steps = (_CKPT_INDEX.match(p.name) for p in run_dir.iterdir())
    return sorted(int(m.group(1)) for m in steps if m)


def checkpoint_path(run_dir: Path, step: int) -> str:
    return str(Path(run_dir) / f"{CHECKPOINT_PREFIX}-{step}")


def latest_checkpoint(run_dir: str | os.PathLike) -> str | None:
    """The checkpoint TensorFlow's state file names, inside run_dir; None if it has none.

    Only the file name is taken from the state file: older runs recorded absolute paths,
    and a run directory that was copied or moved must load its own checkpoint, never the
    one at the old place.
    """
    run_dir = Path(run_dir)
    state_file = run_dir / "checkpoint"
    if not state_file.exists():
        return None
    steps = checkpoint_steps(run_dir)
    offer = (f"checkpoints on disk are at steps {', '.join(map(str, steps))}: pick one by "
             f"its step" if steps else "no checkpoint files are left; train again")
    try:
        state = tf1.train.get_checkpoint_state(str(run_dir))
    except Exception as e:  # ValueError, UnicodeDecodeError, protobuf's ParseError, OpError
        raise RunError(f"{state_file} is damaged ({type(e).__name__}); {offer}",
                       params=("step",)) from None
    name = Path(state.model_checkpoint_path).name if state else ""
    path = run_dir / name
    if not name or not Path(f"{path}.index").is_file():
        raise RunError(f"{state_file} is damaged (it names no checkpoint that exists); {offer}",
                       params=("step",))
    return str(path)


def restore_into(sess, saver, ckpt: str) -> None:
    """Load a checkpoint into a session; a corrupt or foreign one is a RunError."""
    try:
        saver.restore(sess, ckpt)
    except (tf.errors.OpError, ValueError) as e:
        first = str(e).strip().splitlines()[0][:200]
        run_dir = Path(ckpt).parent
        this = int(ckpt.rsplit("-", 1)[1]) if ckpt.rsplit("-", 1)[-1].isdigit() else None
        others = [s for s in checkpoint_steps(run_dir) if s != this]
        offer = (f"Delete its files to fall back on an earlier checkpoint, or pick one by its "
                 f"step ({', '.join(map(str, others))})" if others
                 else "Delete its files and start a new run")
        raise RunError(f"checkpoint {ckpt} cannot be read ({first}); it is corrupt or from "
                       f"another model. {offer}.", params=("step",)) from None


# --- inference ----------------------------------------------------------------------------


@dataclass
class Restored:
    """A trained model, ready to use: its graph, a session at one checkpoint, its config."""

    run_dir: Path
    config: dict
    graph: M.Graph
    session: object
    step: int

    @property
    def classes(self) -> list[str]:
        return self.config["classes"]

    @property
    def preprocess(self) -> str:
        return self.config.get("data", {}).get("preprocess", DEFAULT_PREPROCESS)

    @property
    def spec(self) -> M.ModelSpec:
        return M.get_model(self.config["recipe"]["model"])

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "Restored":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> Evaluation:
        return evaluate_split(self.session, self.graph, x, y)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(self.graph.probabilities,
                                {self.graph.inputs.x: np.asarray(x).reshape(-1, IMAGE_PIXELS)})

    def run(self, names: list[str], x: np.ndarray) -> list[np.ndarray]:
        """Named tensors (e.g. 'h_relu1', 'W_conv1') for inputs x, dropout off."""
        return self.session.run([self.graph.tensor(n) for n in names],
                                {self.graph.inputs.x: np.asarray(x).reshape(-1, IMAGE_PIXELS)})

    def prepare(self, picture) -> np.ndarray:
        """A picture (array or PNG/JPEG path) -> the (28, 28) this run's network sees."""
        return from_picture(picture, self.preprocess)

    def predict(self, pictures, k: int = 5) -> tuple[list[list[tuple[str, float]]], np.ndarray]:
        """Top-k (character, probability) for each picture, and the (n, 784) inputs."""
        if k < 1:
            raise PictureError(f"top-k needs k of at least 1, not {k}", params=("top",))
        x = np.stack([self.prepare(p) for p in pictures]).reshape(-1, IMAGE_PIXELS)
        probs = self.probabilities(x)
        return [metrics_.top_k(p, self.classes, k) for p in probs], x


def restore(run_dir: str | os.PathLike, step: int | None = None) -> Restored:
    """Rebuild a run's graph from config.json and load a checkpoint (default: the last)."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    r = config["recipe"]
    g = M.build(r["model"], len(config["classes"]), r["loss"], r["optimizer"], config["seed"],
                **config.get("model_options", {}))
    if step is None:
        ckpt = latest_checkpoint(run_dir)
    else:
        ckpt = checkpoint_path(run_dir, step) if step in checkpoint_steps(run_dir) else None
    if ckpt is None:
        steps = checkpoint_steps(run_dir)
        raise RunError(
            f"{run_dir}: no checkpoint{'' if step is None else f' at step {step}'}; "
            f"available: {', '.join(map(str, steps)) or 'none (train it first)'}",
            params=("step",))
    with g.graph.as_default():
        # The model and its step, not the optimiser's moments: inference needs no more,
        # and a fine-tuned run's frozen layers have none.
        saver = tf1.train.Saver(var_list=tf1.trainable_variables() + [g.global_step])
    sess = tf1.Session(graph=g.graph)
    try:
        restore_into(sess, saver, ckpt)
    except RunError:
        sess.close()
        raise
    return Restored(run_dir, config, g, sess, int(sess.run(g.global_step)))
