"""The session loop: feed a batch and that step's learning rate and keep_prob, every step.

    train(data, TrainConfig(...), run_dir)  -> RunResult    runs/NAME/ holds everything
    restore(run_dir)                        -> Restored     graph + session at a checkpoint
    evaluate(sess, graph, x, y)             -> Evaluation   in batches, dropout off

A run directory holds config.json (the options as given), metrics.csv (one row per
evaluation: step, split, loss, accuracy, learning_rate, keep_prob), checkpoints ckpt-STEP
(step 0 included, so the untrained filters can be shown), TensorBoard events under
events/, and result.json at the end.

Batches and dropout masks are pure functions of (seed, step), and Adam's moments are in
the checkpoint, so a resumed run continues with the very losses an uninterrupted one has.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import model as M
from ._tf import tf, tf1
from .dataset import MaistData
from .schedule import Recipe

METRIC_FIELDS = ["step", "split", "loss", "accuracy", "learning_rate", "keep_prob"]


class TrainingError(RuntimeError):
    """A run that cannot start, continue or finish: the message says what to do."""


@dataclass
class TrainConfig:
    recipe: Recipe
    seed: int = 0
    eval_every: int = 1000  # the blog's advice: check validation often to catch over-fitting
    log_every: int = 100  # the blog's "i 100, training accuracy ..." lines
    checkpoint_every: int = 1000
    early_stopping: int | None = None  # evaluations without a better validation loss
    test_at: tuple[int, ...] = ()  # steps at which to record test accuracy too
    eval_batch: int = 1000
    model_options: dict = field(default_factory=dict)  # e.g. mlp's hidden, activation


@dataclass
class Evaluation:
    loss: float  # mean per-example cross-entropy
    accuracy: float
    predictions: np.ndarray  # (n,) top class
    probabilities: np.ndarray  # (n, C)


@dataclass
class RunResult:
    run_dir: Path
    step: int  # steps trained
    test_accuracy: float
    stopped: str  # "completed", "early stopping", "interrupted"
    history: list[dict]


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[labels]


def evaluate(sess, g: M.Graph, x: np.ndarray, y: np.ndarray, batch: int = 1000) -> Evaluation:
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


# --- run directories ----------------------------------------------------------------------


def free_run_dir(root: Path, name: str) -> Path:
    """runs/NAME, or runs/NAME-2, -3, ... : a new run never writes into an old one."""
    path, k = root / name, 2
    while path.exists():
        path, k = root / f"{name}-{k}", k + 1
    return path


def latest_checkpoint(run_dir: Path) -> str | None:
    return tf1.train.latest_checkpoint(str(run_dir))


def checkpoint_steps(run_dir: Path) -> list[int]:
    """Steps with a checkpoint in the run, ascending."""
    state = tf1.train.get_checkpoint_state(str(run_dir))
    paths = list(state.all_model_checkpoint_paths) if state else []
    return sorted(int(p.rsplit("-", 1)[1]) for p in paths)


def read_metrics(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "metrics.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["step"] = int(r["step"])
        for k in ("loss", "accuracy", "learning_rate", "keep_prob"):
            r[k] = float(r[k])
    return rows


def _write_metrics(run_dir: Path, rows: list[dict]) -> None:
    tmp = run_dir / "metrics.csv.part"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, METRIC_FIELDS)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, run_dir / "metrics.csv")


def _config_dict(cfg: TrainConfig, data: MaistData) -> dict:
    d = asdict(cfg)
    d["recipe"] = cfg.recipe.to_dict()
    d["test_at"] = list(cfg.test_at)
    d["classes"] = list(data.classes)
    d["data"] = data.meta
    return d


def _prepare_run_dir(run_dir: Path, resume: bool, config: dict) -> None:
    has_ckpt = latest_checkpoint(run_dir) is not None if run_dir.exists() else False
    if resume:
        if not has_ckpt:
            raise TrainingError(f"{run_dir}: no checkpoint to resume from; drop --resume")
        old = json.loads((run_dir / "config.json").read_text())
        if old.get("classes") != config.get("classes"):
            raise TrainingError(f"{run_dir}: was trained with other classes; cannot resume")
        if old["recipe"]["model"] != config["recipe"]["model"]:
            raise TrainingError(
                f"{run_dir}: holds a {old['recipe']['model']} model, not "
                f"{config['recipe']['model']}; resume with the same --model"
            )
    elif run_dir.exists() and any(run_dir.iterdir()):
        raise TrainingError(
            f"{run_dir}: already holds a run; pass --resume to continue it, or choose "
            f"another --run-dir (nothing was overwritten)"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False))


def _summary(values: dict[str, float]):
    return tf1.Summary(value=[tf1.Summary.Value(tag=k, simple_value=v) for k, v in values.items()])


def _filter_summary(g: M.Graph):
    """First-layer filters as TensorBoard images, where the model has W_conv1 (5x5x1xN)."""
    try:
        w = g.tensor("W_conv1")
    except KeyError:
        return None
    with g.graph.as_default():
        lo, hi = tf.reduce_min(w), tf.reduce_max(w)
        imgs = tf.transpose((w - lo) / (hi - lo + 1e-8), [3, 0, 1, 2])  # [N, 5, 5, 1]
        return tf1.summary.image("W_conv1", imgs, max_outputs=32)


def divergence_message(step: int, loss: float, recipe: Recipe, lr: float, ckpt: str | None) -> str:
    keep = f"the last good checkpoint is {ckpt}" if ckpt else "no checkpoint was written yet"
    why = (
        "The 'tutorial' loss takes log(softmax): a softmax output that underflows to 0 "
        "gives 0 x log 0 = NaN. Use --loss stable, or a lower learning rate."
        if recipe.loss == "tutorial"
        else "Try a lower learning rate (for example --lr '1e-4')."
    )
    return (
        f"step {step}: the loss is {loss} under recipe {recipe.name} ({recipe.optimizer}, "
        f"{recipe.loss} loss, learning rate {lr:g}); training stopped and {keep}. {why}"
    )


# --- the loop -----------------------------------------------------------------------------


def train(
    data: MaistData,
    cfg: TrainConfig,
    run_dir: str | os.PathLike,
    resume: bool = False,
    log: Callable[[str], None] = print,
    quiet: bool = False,
) -> RunResult:
    """Train cfg.recipe on data, logging, evaluating and checkpointing into run_dir."""
    from tqdm import tqdm

    recipe, run_dir = cfg.recipe, Path(run_dir)
    c = data.num_classes
    _prepare_run_dir(run_dir, resume, _config_dict(cfg, data))
    g = M.build(recipe.model, c, recipe.loss, recipe.optimizer, cfg.seed, **cfg.model_options)
    with g.graph.as_default():
        saver = tf1.train.Saver(max_to_keep=5)
        filters = _filter_summary(g)
    writer = tf1.summary.FileWriter(str(run_dir / "events"), graph=g.graph if not resume else None)
    history = read_metrics(run_dir) if resume else []
    sess = tf1.Session(graph=g.graph)
    stopped, best, since_best = "completed", (math.inf, 0), 0
    try:
        if resume:
            ckpt = latest_checkpoint(run_dir)
            _restore_into(sess, saver, ckpt)
            start = int(sess.run(g.global_step))
            # Rows after the checkpoint are replayed; an evaluation at `start` was made
            # after step start-1 and stays, the training line at `start` comes again.
            history = [r for r in history
                       if r["step"] < start or (r["step"] == start and r["split"] != "train")]
            log(f"resumed {run_dir} at step {start}")
        else:
            sess.run(g.init)
            start = 0
            ckpt = saver.save(sess, str(run_dir / "ckpt"), global_step=0)
        x_tr, y_tr = data.train.x, data.train.y
        bar = tqdm(total=recipe.steps, initial=start, unit="step", disable=None, leave=False,
                   dynamic_ncols=True)  # None: a bar on a terminal, none in a log file
        say = (lambda s: None) if quiet else bar.write
        step = start
        try:
            for step in range(start, recipe.steps):
                lr, keep = recipe.learning_rate(step), recipe.keep_prob(step)
                idx = data.train.batch_indices(step, recipe.batch_size, recipe.sampling)
                feed = {g.inputs.x: x_tr[idx], g.inputs.y_: one_hot(y_tr[idx], c)}
                if step % cfg.log_every == 0:
                    # As the blog did: the batch about to be trained on, dropout off.
                    correct, batch_loss = sess.run([g.correct, g.loss], feed)
                    acc = correct / len(idx)
                    say(f"i {step}, training accuracy {acc:g} cross_entropy {batch_loss:g}"
                        f"  (learning_rate {lr:g}, keep_prob {keep:g})")
                    history.append(dict(step=step, split="train", loss=float(batch_loss),
                                        accuracy=float(acc), learning_rate=lr, keep_prob=keep))
                    writer.add_summary(_summary({"train/loss": float(batch_loss),
                                                 "train/accuracy": float(acc),
                                                 "learning_rate": lr, "keep_prob": keep}), step)
                feed[g.inputs.learning_rate] = lr
                feed[g.inputs.keep_prob] = keep
                _, loss_value = sess.run([g.train_op, g.loss], feed)
                if not np.isfinite(loss_value):
                    raise TrainingError(divergence_message(step, loss_value, recipe, lr, ckpt))
                bar.update(1)
                done = step + 1
                if done % cfg.eval_every == 0 or done == recipe.steps:
                    ev = evaluate(sess, g, data.val.x, data.val.y, cfg.eval_batch)
                    history.append(dict(step=done, split="val", loss=ev.loss, accuracy=ev.accuracy,
                                        learning_rate=lr, keep_prob=keep))
                    writer.add_summary(_summary({"val/loss": ev.loss, "val/accuracy": ev.accuracy}), done)
                    if filters is not None:
                        writer.add_summary(sess.run(filters), done)
                    say(f"step {done}: validation accuracy {ev.accuracy:.4f}, loss {ev.loss:.4f}")
                    if ev.loss < best[0]:
                        best, since_best = (ev.loss, done), 0
                    else:
                        since_best += 1
                if done in cfg.test_at:
                    ev = evaluate(sess, g, data.test.x, data.test.y, cfg.eval_batch)
                    history.append(dict(step=done, split="test", loss=ev.loss, accuracy=ev.accuracy,
                                        learning_rate=lr, keep_prob=keep))
                if done % cfg.checkpoint_every == 0 or done == recipe.steps:
                    ckpt = saver.save(sess, str(run_dir / "ckpt"), global_step=done)
                    _write_metrics(run_dir, history)
                if cfg.early_stopping and since_best >= cfg.early_stopping:
                    stopped = "early stopping"
                    say(f"early stopping at step {done}: validation loss has not improved for "
                        f"{since_best} evaluations (best {best[0]:.4f} at step {best[1]})")
                    break
        except KeyboardInterrupt:
            done = int(sess.run(g.global_step))
            stopped = "interrupted"
            ckpt = saver.save(sess, str(run_dir / "ckpt"), global_step=done)
            log(f"interrupted at step {done}; saved {ckpt}; continue with --resume")
        finally:
            bar.close()
        done = int(sess.run(g.global_step))
        if done and (latest_checkpoint(run_dir) or "").rsplit("-", 1)[-1] != str(done):
            saver.save(sess, str(run_dir / "ckpt"), global_step=done)
        ev = evaluate(sess, g, data.test.x, data.test.y, cfg.eval_batch)
        if not history or history[-1]["split"] != "test" or history[-1]["step"] != done:
            history.append(dict(step=done, split="test", loss=ev.loss, accuracy=ev.accuracy,
                                learning_rate=recipe.learning_rate(max(done - 1, 0)),
                                keep_prob=recipe.keep_prob(max(done - 1, 0))))
        _write_metrics(run_dir, history)
        writer.add_summary(_summary({"test/accuracy": ev.accuracy}), done)
        log(f"test accuracy {ev.accuracy:g}")
        result = RunResult(run_dir, done, ev.accuracy, stopped, history)
        (run_dir / "result.json").write_text(json.dumps(
            {"step": done, "test_accuracy": ev.accuracy, "test_loss": ev.loss,
             "stopped": stopped}, indent=2))
        return result
    except TrainingError:
        _write_metrics(run_dir, history)
        raise
    finally:
        writer.close()
        sess.close()


def finished_result(run_dir: str | os.PathLike) -> RunResult | None:
    """The result of a run that finished (result.json), or None."""
    run_dir = Path(run_dir)
    path = run_dir / "result.json"
    if not path.is_file():
        return None
    r = json.loads(path.read_text())
    return RunResult(run_dir, r["step"], r["test_accuracy"], r["stopped"], read_metrics(run_dir))


def train_or_reuse(
    data: MaistData, cfg: TrainConfig, run_dir: str | os.PathLike,
    log: Callable[[str], None] = print, quiet: bool = True,
) -> RunResult:
    """Train into run_dir, or return the finished run already there if it used the same
    recipe, seed and data; an unfinished one (no result.json) is resumed."""
    run_dir = Path(run_dir)
    done = finished_result(run_dir)
    if done is not None:
        old = json.loads((run_dir / "config.json").read_text())
        new = json.loads(json.dumps(_config_dict(cfg, data)))  # as it reads back from disk
        same = all(old.get(k) == new.get(k) for k in ("recipe", "seed", "classes", "model_options"))
        same = same and old.get("data", {}).get("sources") == new["data"].get("sources")
        if not same:
            raise TrainingError(
                f"{run_dir}: holds a finished run with other options; remove it or pick "
                f"another directory"
            )
        log(f"reusing {run_dir} (test accuracy {done.test_accuracy:.4f})")
        return done
    resume = run_dir.exists() and latest_checkpoint(run_dir) is not None
    return train(data, cfg, run_dir, resume=resume, log=log, quiet=quiet)


# --- restoring ----------------------------------------------------------------------------


def _restore_into(sess, saver, ckpt: str) -> None:
    try:
        saver.restore(sess, ckpt)
    except (tf.errors.DataLossError, tf.errors.NotFoundError, tf.errors.InvalidArgumentError,
            tf.errors.OutOfRangeError, ValueError) as e:
        first = str(e).strip().splitlines()[0][:200]
        raise TrainingError(
            f"checkpoint {ckpt} cannot be read ({first}); it is corrupt or from another "
            f"model. Delete its files to fall back on an earlier checkpoint, or start a new run."
        ) from None


@dataclass
class Restored:
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
        return self.config.get("data", {}).get("preprocess", "centered")

    def close(self) -> None:
        self.session.close()

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> Evaluation:
        return evaluate(self.session, self.graph, x, y)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(self.graph.probabilities, {self.graph.inputs.x: x})

    def run(self, names: list[str], x: np.ndarray) -> list[np.ndarray]:
        """Named tensors (e.g. 'h_relu1', 'W_conv1') for inputs x, dropout off."""
        return self.session.run([self.graph.tensor(n) for n in names], {self.graph.inputs.x: x})


def restore(run_dir: str | os.PathLike, step: int | None = None) -> Restored:
    """Rebuild a run's graph from config.json and load a checkpoint (default: the last)."""
    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.json"
    if not cfg_path.is_file():
        raise TrainingError(f"{run_dir}: no config.json; is this a MAIST run directory?")
    config = json.loads(cfg_path.read_text())
    r = config["recipe"]
    g = M.build(r["model"], len(config["classes"]), r["loss"], r["optimizer"], config["seed"],
                **config.get("model_options", {}))
    if step is None:
        ckpt = latest_checkpoint(run_dir)
    else:
        ckpt = str(run_dir / f"ckpt-{step}") if step in checkpoint_steps(run_dir) else None
    if ckpt is None:
        raise TrainingError(
            f"{run_dir}: no checkpoint{'' if step is None else f' at step {step}'}; "
            f"available: {checkpoint_steps(run_dir) or 'none'}"
        )
    with g.graph.as_default():
        saver = tf1.train.Saver()
    sess = tf1.Session(graph=g.graph)
    _restore_into(sess, saver, ckpt)
    return Restored(run_dir, config, g, sess, int(sess.run(g.global_step)))


__all__ = ["TrainConfig", "TrainingError", "RunResult", "Evaluation", "train", "restore",
           "train_or_reuse", "finished_result",
           "evaluate", "free_run_dir", "read_metrics", "checkpoint_steps"]
