"""The session loop: feed a batch and that step's learning rate and keep_prob, every step.

    train(data, TrainConfig(recipe), run_dir)   -> RunResult    runs/NAME/ holds everything

The loop is flat, in the manner of TensorFlow's fully_connected_feed.py: `feed_dict` makes
a step's batch, `train_step` runs it (and stops on a diverging loss), `evaluate_split`
scores a split with dropout off. The run directory's files are the runs layer's: the
record (config.json), the metrics, the checkpoints and the result.

Batches and dropout masks are pure functions of (seed, step), and Adam's moments are in
the checkpoint, so a resumed run continues with the very losses an uninterrupted one has.
Everything that can be checked is checked before the run directory is made (the model,
its options, a fine-tuning source's weights); a start that fails after it leaves no
directory behind. Ctrl-C and SIGTERM stop at the end of a step with a checkpoint.
"""

from __future__ import annotations

import logging
import math
import os
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..data.dataset import MaistData
from ..errors import RunError, TrainingError
from ..nets import graph as G
from ..nets.backend import tf, tf1
from ..nets.devices import VARIABLES, check_present, session_config
from ..nets.models import get_model
from ..nets.replicas import FAILED, FINISHED
from ..runs import checkpoints, projector, records, result, rundir
from ..runs.metrics import RunLog
from ..runs.records import RunRecord
from ..runs.result import RunResult
from ..signals import Terminated, stop_on_sigterm
from . import cluster
from .batches import feed_dict, one_hot
from .cluster import ClusterTask
from .config import TrainConfig, build_graph, check_resume, record, resumable
from .recipes import Recipe
from .summaries import Summaries

log = logging.getLogger(__name__)


@dataclass
class Evaluation:
    loss: float  # mean per-example cross-entropy
    accuracy: float
    predictions: np.ndarray  # (n,) top class


@contextmanager
def averaged(sess, g: G.Graph):
    """Within it, the graph's weights are their moving averages (when the recipe keeps
    them): what validation, test and a restored run see. The trained values come back
    after, whatever happens inside."""
    if g.average is None:
        yield
        return
    sess.run(g.average.use)
    try:
        yield
    finally:
        sess.run(g.average.unuse)


def evaluate_split(sess, g: G.Graph, x: np.ndarray, y: np.ndarray, batch: int = 1000) -> Evaluation:
    """Whole-split figures, computed in batches with dropout off (keep_prob's default),
    of the averaged weights if the run keeps an average."""
    with averaged(sess, g):
        return _evaluate(sess, g, x, y, batch)


def _evaluate(sess, g: G.Graph, x: np.ndarray, y: np.ndarray, batch: int) -> Evaluation:
    if len(x) == 0:
        raise TrainingError("cannot evaluate an empty split; give data with images in every "
                            "split (a writer split needs 3 writers or more)", params=("data",))
    c = g.inputs.y_.shape[1]
    losses, preds = [], []
    for i in range(0, len(x), batch):
        xent, p = sess.run([g.xent, g.probabilities],
                           {g.inputs.x: x[i : i + batch], g.inputs.y_: one_hot(y[i : i + batch], c)})
        losses.append(xent)
        preds.append(p.argmax(1))
    pred = np.concatenate(preds)
    return Evaluation(float(np.concatenate(losses).mean()), float((pred == y).mean()), pred)


def divergence_message(step: int, loss: float, recipe: Recipe, lr: float, ckpt: str | None) -> str:
    keep = f"the last good checkpoint is {ckpt}" if ckpt else "no checkpoint was written yet"
    why = (
        "The 'tutorial' loss takes log.info(softmax): a softmax output that underflows to 0 "
        "gives 0 x log 0 = NaN. Use the stable loss, or a lower learning rate."
        if recipe.loss == "tutorial"
        else "Try a lower learning rate (for example a table of '1e-4')."
    )
    return (
        f"step {step}: the loss is {loss} under recipe {recipe.name} ({recipe.optimizer}, "
        f"{recipe.loss} loss, learning rate {lr:g}); training stopped and {keep}. {why}"
    )


# --- one step -----------------------------------------------------------------------------


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


def batch_figures(sess, g: G.Graph, feed: dict, n: int) -> tuple[float, float]:
    """(accuracy, loss) on the batch about to be trained on, dropout off, as the blog did."""
    correct, loss = sess.run([g.correct, g.loss if g.batch_loss is None else g.batch_loss], feed)
    return float(correct) / n, float(loss)


def train_step(sess, g: G.Graph, feed: dict, step: int, lr: float, keep: float, recipe: Recipe,
               ckpt: str | None) -> float:
    """One optimiser step at the step's table values; a non-finite loss stops the run."""
    _, loss = sess.run([g.train_op, g.loss],
                       {**feed, g.inputs.learning_rate: lr, g.inputs.keep_prob: keep})
    if not np.isfinite(loss):
        raise TrainingError(divergence_message(step, loss, recipe, lr, ckpt),
                            params=("loss", "lr") if recipe.loss == "tutorial" else ("lr",))
    return float(loss)


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


def resumed_stopper(patience: int | None, rows: list[dict], start: int) -> EarlyStopping:
    """Early stopping's count as an uninterrupted run has it after `start` steps, replayed
    from the validation rows the run already wrote: a resumed run stops where it would
    have."""
    stopper = EarlyStopping(patience)
    for r in rows:
        if r["split"] == "val" and r["step"] <= start:
            stopper.update(r["loss"], r["step"])
    return stopper


# --- where a fine-tuned run starts --------------------------------------------------------


def init_source(source: str, classes, model: str, new_head: bool) -> tuple[str, bool]:
    """The checkpoint that fine-tuning starts from, checked before anything is made: the
    same model, and the same classes unless `new_head` (a fresh readout layer); and
    whether it holds averaged weights (which are then the ones taken)."""
    path, step = rundir.parse_init_from(source)
    try:
        src = records.read(path)
    except RunError as e:
        raise TrainingError(f"init_from {source}: {e}", params=("init_from",)) from None
    if src.model != model:
        raise TrainingError(f"{path} holds a {src.model} model; fine-tuning "
                            f"{model} needs a {model} run", params=("init_from",))
    if list(src.classes) != list(classes) and not new_head:
        raise TrainingError(
            f"{path} was trained on {len(src.classes)} classes ({''.join(src.classes)}); "
            f"this data has {len(classes)} ({''.join(classes)}). Fine-tune on data of the "
            f"same classes, or train a new readout layer", params=("init_from", "new_head"))
    return checkpoints.find(path, step, param="init_from"), src.averaged


def load_weights(sess, g: G.Graph, ckpt: str, averaged_source: bool = False) -> None:
    """A checkpoint's weights (their averages, from a run that kept them) into the fresh
    graph, where names and shapes agree: a new readout layer (other classes) keeps its
    initial values; Adam's moments stay fresh, and this run's averages start at the
    weights loaded."""
    saved = checkpoints.saved_shapes(ckpt, "init_from")
    with g.graph.as_default():
        take = [v for v in tf1.trainable_variables()
                if saved.get(checkpoints.saved_name(v, averaged_source)) == v.shape.as_list()]
    checkpoints.load(sess, take, ckpt, param="init_from", averaged=averaged_source)
    if g.average is not None:
        sess.run(g.average.reset)


# --- the loop -----------------------------------------------------------------------------


@dataclass
class _Loop:
    """What the steps share: the session and graph, the data and settings, where the run
    is written, and the last checkpoint (named when a loss diverges)."""

    sess: object
    g: G.Graph
    data: MaistData
    cfg: TrainConfig
    run_dir: Path
    saver: checkpoints.Checkpoints
    metrics: RunLog
    summaries: Summaries  # the evaluation steps' pictures and histograms, the end's embedding
    ckpt: str | None


def train(
    data: MaistData,
    cfg: TrainConfig,
    run_dir: str | os.PathLike,
    previous: RunRecord | None = None,
    quiet: bool = False,
    override: bool = False,
    resume: bool = False,
    task: ClusterTask | None = None,
) -> RunResult:
    """Train cfg.recipe on data, logging, evaluating and checkpointing into run_dir.

    `resume` (or `previous`, the run's record as the caller read it) continues run_dir
    from its last checkpoint; it must have been trained with the same settings unless
    `override`. `task`: the chief of a cluster (training.cluster), whose variables are
    on the ps tasks and whose every step waits for the workers' gradients.
    """
    recipe, run_dir = cfg.recipe, Path(run_dir)
    spec = get_model(recipe.model)
    if resume and previous is None:
        previous = resumable(run_dir)
    resuming = previous is not None
    if len(data.train) == 0:
        raise TrainingError("the training split is empty; give data with training images",
                            params=("data",))
    if data.num_classes < 2:
        raise TrainingError(f"the data has {data.num_classes} class ({''.join(data.classes)}): "
                            f"a model that tells characters apart needs two or more; give a "
                            f"class set of several characters", params=("classes",))
    for name in ("val", "test"):
        if len(data.split(name)) == 0:
            raise TrainingError(f"the {name} split is empty, so the run could not be scored; "
                                f"give more data (a writer split needs 3 writers or more)",
                                params=("data",))
    absent = sorted(set(range(data.num_classes)) - set(np.unique(data.train.y).tolist()))
    if absent and not quiet:
        log.info(f"note: {len(absent)} of {data.num_classes} classes have no training images "
                 f"({''.join(data.classes[i] for i in absent[:20])}); the model cannot learn them")
    rec = record(cfg, data)
    source = None
    if cfg.init_from and not resuming:  # checked before the run directory is made
        source = init_source(cfg.init_from, data.classes, recipe.model, cfg.new_head)
    # The graph is built (its options and freeze checked) before anything is written.
    g = build_graph(cfg, data.num_classes, task.replicas if task else None)
    saver = checkpoints.Checkpoints(run_dir, g.graph)
    summaries = Summaries(g, spec)
    if task:  # its port, and the ps tasks up: checked before anything is written
        server = cluster.start_server(task)
        sess = cluster.chief_session(task, server, g.graph)
    else:
        sess = tf1.Session(graph=g.graph, config=session_config(cfg.devices))
    metrics, ended, held = None, FAILED, None
    try:
        if cfg.devices:  # a device that is not there: said before anything is written
            check_present(sess, cfg.devices)
            if not quiet:
                log.info(f"towers on {', '.join(d[len('/device:'):].lower() for d in cfg.devices)}"
                         f" ({recipe.batch_size} a step, split evenly); the variables on "
                         f"{VARIABLES[len('/device:'):].lower()}")
        # --- start: a fresh graph (checkpoint 0) or the last checkpoint
        if resuming:
            held = rundir.Held(run_dir)  # a second --resume of this run is refused
            check_resume(run_dir, rec, previous, override)
            ckpt, note = checkpoints.resume_point(run_dir)
            if note:
                log.info(note)
            saver.restore(sess, ckpt)
            start = int(sess.run(g.global_step))
            metrics = RunLog(run_dir, None, start)  # a damaged metrics.csv fails here
            records.write(run_dir, rec)  # the steps may have grown; all else is read
            log.info(f"resumed {run_dir} at step {start}")
        else:
            sess.run(g.init)
            start = 0
            if source:  # a corrupt source fails before the directory is made
                load_weights(sess, g, *source)
            made = rundir.claim(run_dir)
            try:
                held = rundir.Held(run_dir)
                records.write(run_dir, rec)
                ckpt = saver.save(sess, 0)
                metrics = RunLog(run_dir, g.graph)
            except BaseException:
                rundir.discard(run_dir, made)
                raise
            if source:
                log.info(f"starting from the {'averaged ' if source[1] else ''}weights of "
                         f"{source[0]}")
        if task:
            cluster.started(sess, g)
            log.info(f"{task.name()}: {'synchronous' if task.sync else 'asynchronous'} run "
                     f"of {task.workers} worker(s), the variables on {len(task.cluster['ps'])} "
                     f"ps task(s)")
        loop = _Loop(sess, g, data, cfg, run_dir, saver, metrics, summaries, ckpt)
        with cluster.Watch(sess, g, task) if task else nullcontext():
            out = _steps(loop, start, quiet)
        ended = FINISHED
        return out
    except TrainingError:
        if metrics is not None:
            metrics.flush()
        raise
    except tf.errors.OpError as e:
        if metrics is not None:
            metrics.flush()
        if task:  # a task that did not answer, named
            raise cluster.explained(e, sess, g, task) from None
        raise
    finally:
        if metrics is not None:
            metrics.close()
        if task:
            cluster.ended(sess, g, ended)
        sess.close()
        if held is not None:
            held.release()


def _steps(loop: _Loop, start: int, quiet: bool) -> RunResult:
    """The steps from `start`, evaluation and checkpoints on the way, and the end."""
    from tqdm import tqdm

    sess, g, data, cfg, metrics = loop.sess, loop.g, loop.data, loop.cfg, loop.metrics
    recipe = cfg.recipe
    bar = tqdm(total=recipe.steps, initial=start, unit="step", disable=None, leave=False,
               dynamic_ncols=True)  # None: a bar on a terminal, none in a log file
    say = (lambda s: None) if quiet else bar.write
    stopper, stopped = resumed_stopper(cfg.early_stopping, metrics.rows, start), "completed"
    if start and start % cfg.eval_every == 0 and not any(
            r["step"] == start and r["split"] == "val" for r in metrics.rows):
        _validate(loop, start, stopper, say)  # a Ctrl-C that landed on this evaluation
    first = recipe.steps if stopper.stop else start
    if stopper.stop:
        stopped = "early stopping"
    aug = recipe.augmentation
    batches = Prefetch(lambda s: feed_dict(g, data.train, s, recipe, cfg.seed, aug),
                       recipe.steps)
    try:
        with stop_on_sigterm():
            for step in range(first, recipe.steps):
                lr, keep = recipe.learning_rate(step), recipe.keep_prob(step)
                feed, n = batches.get(step)
                if step % cfg.log_every == 0:
                    acc, batch_loss = batch_figures(sess, g, feed, n)
                    say(f"i {step}, training accuracy {acc:g} cross_entropy {batch_loss:g}"
                        f"  (learning_rate {lr:g}, keep_prob {keep:g})")
                    metrics.add(step, "train", batch_loss, acc, lr, keep)
                train_step(sess, g, feed, step, lr, keep, recipe, loop.ckpt)
                bar.update(1)
                done = step + 1
                if done % cfg.eval_every == 0 or done == recipe.steps:
                    _validate(loop, done, stopper, say)
                if done in cfg.test_at:
                    ev = evaluate_split(sess, g, data.test.x, data.test.y, cfg.eval_batch)
                    metrics.add(done, "test", ev.loss, ev.accuracy, lr, keep)
                if done % cfg.checkpoint_every == 0 or done == recipe.steps:
                    loop.ckpt = loop.saver.save(sess, done)
                    metrics.flush()
                if stopper.stop:
                    stopped = "early stopping"
                    say(f"early stopping at step {done}: validation loss has not improved for "
                        f"{stopper.since} evaluations (best {stopper.best:.4f} at step "
                        f"{stopper.best_step})")
                    break
    except KeyboardInterrupt as e:
        done = int(sess.run(g.global_step))
        stopped = "terminated" if isinstance(e, Terminated) else "interrupted"
        loop.ckpt = loop.saver.save(sess, done)
        log.info(f"{stopped} at step {done}; saved {loop.ckpt}; resume the run to continue")
    finally:
        batches.close()
        bar.close()
    return _finish(loop, stopped)


def _validate(loop: _Loop, done: int, stopper: EarlyStopping, say) -> None:
    """Validation after `done` steps: the metrics row (with the table values step done-1
    trained at), its summaries to TensorBoard, and early stopping's count."""
    sess, g, data, cfg = loop.sess, loop.g, loop.data, loop.cfg
    lr, keep = cfg.recipe.learning_rate(done - 1), cfg.recipe.keep_prob(done - 1)
    with averaged(sess, g):
        ev = _evaluate(sess, g, data.val.x, data.val.y, cfg.eval_batch)
        seen = data.val.x if len(data.val) else data.train.x
        loop.metrics.add_summary(loop.summaries.at_evaluation(sess, seen), done)
    loop.metrics.add(done, "val", ev.loss, ev.accuracy, lr, keep)
    say(f"step {done}: validation accuracy {ev.accuracy:.4f}, loss {ev.loss:.4f}")
    stopper.update(ev.loss, done)


def _finish(loop: _Loop, stopped: str) -> RunResult:
    """The end: a last checkpoint, the test split scored, result.json."""
    sess, g, data, cfg, metrics = loop.sess, loop.g, loop.data, loop.cfg, loop.metrics
    recipe = cfg.recipe
    done = int(sess.run(g.global_step))
    if done and checkpoints.steps(loop.run_dir)[-1:] != [done]:
        loop.saver.save(sess, done)
    ev = evaluate_split(sess, g, data.test.x, data.test.y, cfg.eval_batch)
    last = metrics.rows[-1] if metrics.rows else None
    if not last or last["split"] != "test" or last["step"] != done:
        before = max(done - 1, 0)
        metrics.add(done, "test", ev.loss, ev.accuracy, recipe.learning_rate(before),
                    recipe.keep_prob(before))
    metrics.flush()
    log.info(f"test accuracy {ev.accuracy:g}")
    with averaged(sess, g):  # as a restored run reads
        embedding = loop.summaries.embedding(sess, data, done)
    if embedding is not None:
        projector.write(loop.run_dir, embedding)
    out = RunResult(loop.run_dir, done, ev.accuracy, stopped, metrics.rows, ev.loss)
    result.write(loop.run_dir, out)
    return out
