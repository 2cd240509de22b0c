"""The session loop: feed a batch and that step's learning rate and keep_prob, every step.

    train(data, TrainConfig(recipe), run_dir)   -> RunResult    runs/NAME/ holds everything

The loop is flat, in the manner of TensorFlow's fully_connected_feed.py: `feed_dict` makes
a step's batch, `train_step` runs it (and stops on a diverging loss), `evaluate_split`
scores a split with dropout off. maist.runs owns the run directory and restoring.

Batches and dropout masks are pure functions of (seed, step), and Adam's moments are in
the checkpoint, so a resumed run continues with the very losses an uninterrupted one has.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..data.augment import Augment, augment, rng_for
from ..data.dataset import MaistData, Split
from ..errors import TrainingError
from ..nets import models as M
from ..nets.backend import tf, tf1
from . import rundir as runs
from .rundir import evaluate_split, one_hot
from .schedule import Recipe


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
    init_from: str | None = None  # "RUN_DIR" or "RUN_DIR:STEP": start from its weights
    freeze: tuple[str, ...] = ()  # variables whose names hold these stay as initialised
    new_head: bool = False  # with init_from: a fresh readout where the classes differ

    def __post_init__(self):
        for name in ("eval_every", "log_every", "checkpoint_every", "eval_batch"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise TrainingError(f"{name} must be a whole number of steps of at least 1, "
                                    f"not {value!r}", params=(name,))
        if self.early_stopping is not None and self.early_stopping < 1:
            raise TrainingError(f"early_stopping (patience) must be at least 1 evaluation, "
                                f"not {self.early_stopping}", params=("early_stopping",))
        if self.seed < 0:
            raise TrainingError(f"seed must be 0 or more, not {self.seed}", params=("seed",))
        self.freeze = tuple(self.freeze)


@dataclass
class RunResult:
    run_dir: Path
    step: int  # steps trained
    test_accuracy: float
    stopped: str  # "completed", "early stopping", "interrupted"
    history: list[dict]


def run_config(cfg: TrainConfig, data: MaistData) -> dict:
    """What config.json records: the options as given, the classes and the data's origin."""
    d = asdict(cfg)
    d["recipe"] = cfg.recipe.to_dict()
    d["test_at"] = list(cfg.test_at)
    d["freeze"] = list(cfg.freeze)
    d["classes"] = list(data.classes)
    d["data"] = data.meta
    return json_ready(d)


def json_ready(d: dict) -> dict:
    """As it reads back from disk (tuples become lists), so configs compare equal."""
    return json.loads(json.dumps(d))


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


# --- one step -----------------------------------------------------------------------------


def feed_dict(g: M.Graph, split: Split, step: int, recipe: Recipe, seed: int = 0,
              aug: Augment | None = None) -> tuple[dict, int]:
    """The batch of `step` as a feed (images and one-hot labels), and its size. With
    `aug`, the images are augmented by a generator of (seed, step) alone."""
    idx = split.batch_indices(step, recipe.batch_size, recipe.sampling)
    c = g.inputs.y_.shape[1]
    x = split.x[idx]
    if aug:
        x = augment(x, rng_for(seed, step), aug)
    return {g.inputs.x: x, g.inputs.y_: one_hot(split.y[idx], c)}, len(idx)


class Prefetch:
    """make(step) for the next step on a thread while the session runs this one: numpy
    and scipy release the GIL, so augmenting a batch overlaps with training on the last."""

    def __init__(self, make: Callable[[int], object], stop: int):
        from concurrent.futures import ThreadPoolExecutor

        self.make, self.stop = make, stop
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="maist-batches")
        self.pending: dict = {}

    def get(self, step: int):
        future = self.pending.pop(step, None) or self.pool.submit(self.make, step)
        if step + 1 < self.stop:
            self.pending[step + 1] = self.pool.submit(self.make, step + 1)
        return future.result()  # an error (or Ctrl-C) in make() surfaces here, at its step

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def batch_figures(sess, g: M.Graph, feed: dict, n: int) -> tuple[float, float]:
    """(accuracy, loss) on the batch about to be trained on, dropout off, as the blog did."""
    correct, loss = sess.run([g.correct, g.loss], feed)
    return float(correct) / n, float(loss)


def train_step(sess, g: M.Graph, feed: dict, step: int, recipe: Recipe,
               ckpt: str | None) -> float:
    """One optimiser step at the step's table values; a non-finite loss stops the run."""
    lr, keep = recipe.learning_rate(step), recipe.keep_prob(step)
    _, loss = sess.run([g.train_op, g.loss],
                       {**feed, g.inputs.learning_rate: lr, g.inputs.keep_prob: keep})
    if not np.isfinite(loss):
        raise TrainingError(divergence_message(step, loss, recipe, lr, ckpt))
    return float(loss)


def filter_summary(g: M.Graph, spec: M.ModelSpec):
    """The model's first-layer filters (k x k x 1 x N) as TensorBoard images, if it has them."""
    if spec.filters is None:
        return None
    w = g.tensor(spec.filters)
    with g.graph.as_default():
        lo, hi = tf.reduce_min(w), tf.reduce_max(w)
        imgs = tf.transpose((w - lo) / (hi - lo + 1e-8), [3, 0, 1, 2])  # [N, k, k, 1]
        return tf1.summary.image(spec.filters, imgs, max_outputs=32)


class EarlyStopping:
    """Counts evaluations since the best validation loss."""

    def __init__(self, patience: int | None):
        self.patience, self.best, self.best_step, self.since = patience, math.inf, 0, 0

    def update(self, loss: float, step: int) -> None:
        if loss < self.best:
            self.best, self.best_step, self.since = loss, step, 0
        else:
            self.since += 1

    @property
    def stop(self) -> bool:
        return bool(self.patience) and self.since >= self.patience


def parse_init_from(text: str) -> tuple[Path, int | None]:
    """'runs/demo-expert' -> (path, None); 'runs/demo-expert:1000' -> (path, 1000)."""
    head, sep, tail = str(text).rpartition(":")
    if sep and tail.isdigit():
        return Path(head), int(tail)
    return Path(text), None


def init_source(source: str, classes, model: str, new_head: bool) -> str:
    """The checkpoint that fine-tuning starts from, checked before anything is made: the
    same model, and the same classes unless `new_head` (a fresh readout layer)."""
    path, step = parse_init_from(source)
    src = runs.read_config(path)
    if src["recipe"]["model"] != model:
        raise TrainingError(f"{path} holds a {src['recipe']['model']} model; fine-tuning "
                            f"{model} needs a {model} run", params=("init_from",))
    if list(src["classes"]) != list(classes) and not new_head:
        raise TrainingError(
            f"{path} was trained on {len(src['classes'])} classes ({''.join(src['classes'])}); "
            f"this data has {len(classes)} ({''.join(classes)}). Fine-tune on data of the "
            f"same classes, or train a new readout layer", params=("init_from", "new_head"))
    if step is None:
        ckpt = runs.latest_checkpoint(path)
    elif step in runs.checkpoint_steps(path):
        ckpt = runs.checkpoint_path(path, step)
    else:
        ckpt = None
    if ckpt is None:
        raise TrainingError(f"{path}: no checkpoint{'' if step is None else f' at step {step}'}; "
                            f"available: {runs.checkpoint_steps(path) or 'none'}",
                            params=("init_from",))
    return ckpt


def load_weights(sess, g: M.Graph, ckpt: str) -> None:
    """A checkpoint's weights into the fresh graph, where names and shapes agree: a new
    readout layer (other classes) keeps its initial values; Adam's moments stay fresh."""
    saved = dict(tf1.train.list_variables(ckpt))
    with g.graph.as_default():
        take = [v for v in tf1.trainable_variables()
                if saved.get(v.op.name) == v.shape.as_list()]
        saver = tf1.train.Saver(var_list=take)
    runs.restore_into(sess, saver, ckpt)


# --- the loop -----------------------------------------------------------------------------


def train(
    data: MaistData,
    cfg: TrainConfig,
    run_dir: str | os.PathLike,
    resume: bool = False,
    log: Callable[[str], None] = print,
    quiet: bool = False,
    override: bool = False,
) -> RunResult:
    """Train cfg.recipe on data, logging, evaluating and checkpointing into run_dir.

    `resume` continues run_dir from its last checkpoint; it must have been trained with
    the same settings unless `override`.
    """
    from tqdm import tqdm

    recipe, run_dir = cfg.recipe, Path(run_dir)
    spec = M.get_model(recipe.model)
    if len(data.train) == 0:
        raise TrainingError("the training split is empty; give data with training images",
                            params=("data",))
    config = run_config(cfg, data)
    source = None
    if cfg.init_from and not resume:  # checked before the run directory is made
        source = init_source(cfg.init_from, data.classes, recipe.model, cfg.new_head)
    runs.prepare(run_dir, config, resume, override)
    g = M.build(recipe.model, data.num_classes, recipe.loss, recipe.optimizer, cfg.seed,
                label_smoothing=recipe.label_smoothing, freeze=cfg.freeze, **cfg.model_options)
    with g.graph.as_default():
        # Relative paths in the state file: a run directory can be moved or copied.
        saver = tf1.train.Saver(max_to_keep=5, save_relative_paths=True)
        filters = filter_summary(g, spec)
    sess = tf1.Session(graph=g.graph)
    metrics = None
    try:
        # --- start: a fresh graph (checkpoint 0) or the last checkpoint
        if resume:
            ckpt = runs.latest_checkpoint(run_dir)
            runs.restore_into(sess, saver, ckpt)
            runs.write_config(run_dir, config)  # the steps may have grown
            start = int(sess.run(g.global_step))
            log(f"resumed {run_dir} at step {start}")
        else:
            sess.run(g.init)
            start = 0
            if source:
                load_weights(sess, g, source)
                log(f"starting from the weights of {source}")
            ckpt = saver.save(sess, runs.checkpoint_path(run_dir, 0))
        metrics = runs.Metrics(run_dir, None if resume else g.graph, start if resume else None)
        save = lambda step: saver.save(sess, runs.checkpoint_path(run_dir, step))  # noqa: E731

        # --- the steps
        bar = tqdm(total=recipe.steps, initial=start, unit="step", disable=None, leave=False,
                   dynamic_ncols=True)  # None: a bar on a terminal, none in a log file
        say = (lambda s: None) if quiet else bar.write
        stopper, stopped = EarlyStopping(cfg.early_stopping), "completed"
        aug = Augment.parse(recipe.augment)
        batches = Prefetch(lambda s: feed_dict(g, data.train, s, recipe, cfg.seed, aug),
                           recipe.steps)
        try:
            for step in range(start, recipe.steps):
                lr, keep = recipe.learning_rate(step), recipe.keep_prob(step)
                feed, n = batches.get(step)
                if step % cfg.log_every == 0:
                    acc, batch_loss = batch_figures(sess, g, feed, n)
                    say(f"i {step}, training accuracy {acc:g} cross_entropy {batch_loss:g}"
                        f"  (learning_rate {lr:g}, keep_prob {keep:g})")
                    metrics.add(step, "train", batch_loss, acc, lr, keep)
                train_step(sess, g, feed, step, recipe, ckpt)
                bar.update(1)
                done = step + 1
                if done % cfg.eval_every == 0 or done == recipe.steps:
                    ev = evaluate_split(sess, g, data.val.x, data.val.y, cfg.eval_batch)
                    metrics.add(done, "val", ev.loss, ev.accuracy, lr, keep)
                    if filters is not None:
                        metrics.add_summary(sess.run(filters), done)
                    say(f"step {done}: validation accuracy {ev.accuracy:.4f}, loss {ev.loss:.4f}")
                    stopper.update(ev.loss, done)
                if done in cfg.test_at:
                    ev = evaluate_split(sess, g, data.test.x, data.test.y, cfg.eval_batch)
                    metrics.add(done, "test", ev.loss, ev.accuracy, lr, keep)
                if done % cfg.checkpoint_every == 0 or done == recipe.steps:
                    ckpt = save(done)
                    metrics.flush()
                if stopper.stop:
                    stopped = "early stopping"
                    say(f"early stopping at step {done}: validation loss has not improved for "
                        f"{stopper.since} evaluations (best {stopper.best:.4f} at step "
                        f"{stopper.best_step})")
                    break
        except KeyboardInterrupt:
            done = int(sess.run(g.global_step))
            stopped = "interrupted"
            ckpt = save(done)
            log(f"interrupted at step {done}; saved {ckpt}; resume the run to continue")
        finally:
            batches.close()
            bar.close()

        # --- the end: a last checkpoint, the test split, result.json
        done = int(sess.run(g.global_step))
        if done and runs.checkpoint_steps(run_dir)[-1:] != [done]:
            save(done)
        ev = evaluate_split(sess, g, data.test.x, data.test.y, cfg.eval_batch)
        last = metrics.rows[-1] if metrics.rows else None
        if not last or last["split"] != "test" or last["step"] != done:
            before = max(done - 1, 0)
            metrics.add(done, "test", ev.loss, ev.accuracy, recipe.learning_rate(before),
                        recipe.keep_prob(before))
        metrics.flush()
        log(f"test accuracy {ev.accuracy:g}")
        runs.write_result(run_dir, {"step": done, "test_accuracy": ev.accuracy,
                                    "test_loss": ev.loss, "stopped": stopped})
        return RunResult(run_dir, done, ev.accuracy, stopped, metrics.rows)
    except TrainingError:
        if metrics is not None:
            metrics.flush()
        raise
    finally:
        if metrics is not None:
            metrics.close()
        sess.close()


__all__ = ["TrainConfig", "RunResult", "train", "feed_dict", "train_step", "evaluate_split"]
