"""A run's checkpoints: the one module that owns the Saver and every checkpoint path.

    steps(run_dir)                      -> [0, 1000, 2000]   what is on disk, ascending
    latest(run_dir)                     -> path or None      what TensorFlow's state file names
    resume_point(run_dir)               -> (path, note)      where a resumed run continues
    find(run_dir, step=None, param=...) -> path              a step, or the latest; else the
                                                             error lists the steps there are
    load(sess, variables, path)         the named variables from a checkpoint (inference,
                                        fine-tuning: a model's weights, nothing else);
                                        averaged=True: their moving averages instead
    Checkpoints(run_dir, graph)         a training run's saver: save(sess, step), restore()

Checkpoints are TensorFlow's own files, ckpt-STEP.{index,data-*,meta}, beside a state file
`checkpoint` that records their paths relative to the run directory, so a run can be
moved or copied. Step 0 is kept whatever the rotation, so the untrained filters can
always be shown.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import RunError
from ..nets.backend import reason, tf, tf1
from ..nets.graph import AVERAGE_SUFFIX

PREFIX = "ckpt"
KEEP = 5  # checkpoints kept besides step 0
_INDEX = re.compile(rf"^{PREFIX}-(\d+)\.index$")


def steps(run_dir: str | os.PathLike) -> list[int]:
    """Steps with a checkpoint on disk (ckpt-STEP.index), ascending. Read from the folder,
    not TensorFlow's state file, so that a damaged state file still leaves them usable."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = (_INDEX.match(p.name) for p in run_dir.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def path(run_dir: str | os.PathLike, step: int) -> str:
    return str(Path(run_dir) / f"{PREFIX}-{step}")


def step_of(ckpt: str) -> int | None:
    tail = str(ckpt).rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def latest(run_dir: str | os.PathLike) -> str | None:
    """The checkpoint TensorFlow's state file names, inside run_dir; None if it has none.

    Only the file name is taken from the state file: older runs recorded absolute paths,
    and a run directory that was copied or moved must load its own checkpoint, never the
    one at the old place.
    """
    run_dir = Path(run_dir)
    state_file = run_dir / "checkpoint"
    if not state_file.exists():
        return None
    on_disk = steps(run_dir)
    offer = (f"checkpoints on disk are at steps {', '.join(map(str, on_disk))}: pick one by "
             f"its step" if on_disk else "no checkpoint files are left; train again")
    try:
        state = tf1.train.get_checkpoint_state(str(run_dir))
    except Exception as e:  # ValueError, UnicodeDecodeError, protobuf's ParseError, OpError
        raise RunError(f"{state_file} is damaged ({type(e).__name__}); {offer}",
                       params=("step",)) from None
    name = Path(state.model_checkpoint_path).name if state else ""
    found = run_dir / name
    if not name or not Path(f"{found}.index").is_file():
        raise RunError(f"{state_file} is damaged (it names no checkpoint that exists); {offer}",
                       params=("step",))
    return str(found)


def resume_point(run_dir: str | os.PathLike) -> tuple[str, str | None]:
    """(the checkpoint a resumed run continues from, a note or None): the one TensorFlow's
    state file names; where that file is gone, or names a checkpoint whose files were
    removed (the remedy for a damaged one), the newest checkpoint on disk, and a note
    that says so. A RunError where there is none."""
    run_dir = Path(run_dir)
    on_disk = steps(run_dir)
    if not on_disk:
        raise RunError(f"{run_dir}: no checkpoint to resume from; start a new run instead",
                       params=("resume",))
    try:
        found = latest(run_dir)
    except RunError:
        found = None
        if (run_dir / "checkpoint").exists() and not _names_a_missing_checkpoint(run_dir):
            raise  # unreadable, not merely out of date: say so
    if found is not None:
        return found, None
    newest = path(run_dir, on_disk[-1])
    return newest, (f"{run_dir / 'checkpoint'} names no checkpoint on disk; continuing "
                    f"from the newest there is, step {on_disk[-1]}")


def _names_a_missing_checkpoint(run_dir: Path) -> bool:
    """Whether the state file reads, and names a checkpoint that is not there."""
    try:
        state = tf1.train.get_checkpoint_state(str(run_dir))
    except Exception:  # damaged: not this case
        return False
    return bool(state) and not Path(f"{run_dir / Path(state.model_checkpoint_path).name}.index").is_file()


def find(run_dir: str | os.PathLike, step: int | None = None, param: str = "step") -> str:
    """The checkpoint at `step`, or the latest; otherwise a RunError that lists the steps
    there are, naming `param` (the flag that picks one) as the fix."""
    run_dir = Path(run_dir)
    if step is None:
        found = latest(run_dir)
    else:
        found = path(run_dir, step) if step in steps(run_dir) else None
    if found is None:
        there = steps(run_dir)
        raise RunError(
            f"{run_dir}: no checkpoint{'' if step is None else f' at step {step}'}; "
            f"available: {', '.join(map(str, there)) or 'none (train it first)'}",
            params=(param,))
    return found


def saved_shapes(ckpt: str, param: str = "step") -> dict[str, list[int]]:
    """Variable name -> shape, as saved in a checkpoint."""
    try:
        return dict(tf1.train.list_variables(ckpt))
    except (tf.errors.OpError, ValueError) as e:
        raise _unreadable(ckpt, e, param) from None


def _unreadable(ckpt: str, e: Exception, param: str) -> RunError:
    first = reason(e)
    run_dir = Path(ckpt).parent
    this = step_of(ckpt)
    others = [s for s in steps(run_dir) if s != this]
    offer = (f"Pick another checkpoint by its step ({', '.join(map(str, others))}), or "
             f"delete this one's files to fall back on the one before" if others
             else "Its files are damaged; train the run again")
    return RunError(f"checkpoint {ckpt} cannot be read ({first}); it is corrupt or from "
                    f"another model. {offer}.", params=(param,))


def saved_name(variable, averaged: bool = False) -> str:
    """The name a variable's value has in a checkpoint: its own, or its moving average's."""
    return variable.op.name + (AVERAGE_SUFFIX if averaged else "")


def misfits(saved: dict[str, list[int]], variables: list, averaged: bool = False) -> list[str]:
    """'W_hidden: [784, 16] saved, [784, 64] here' for each variable the checkpoint lacks
    or holds in another shape."""
    out = []
    for v in variables:
        name, shape = saved_name(v, averaged), v.shape.as_list()
        if name not in saved:
            out.append(f"{name}: not saved")
        elif saved[name] != shape:
            out.append(f"{name}: {saved[name]} saved, {shape} here")
    return out


def load(sess, variables: list, ckpt: str, param: str = "step", averaged: bool = False) -> None:
    """Load `variables` (by name) from a checkpoint into a session; `averaged`: each from
    its moving average (a run whose recipe kept one). A checkpoint that does not fit the
    model (config.json changed, or another run's files) and one that is corrupt are
    RunErrors, told apart, naming `param`."""
    wrong = misfits(saved_shapes(ckpt, param), variables, averaged)
    if wrong:
        config = Path(ckpt).parent / "config.json"
        raise RunError(f"checkpoint {ckpt} does not fit the model that {config} describes "
                       f"({'; '.join(wrong[:3])}): config.json was changed after training, or "
                       f"the checkpoint is another run's. Restore that run's own config.json",
                       params=(param,))
    with sess.graph.as_default():
        saver = tf1.train.Saver(var_list={saved_name(v, averaged): v for v in variables})
    try:
        saver.restore(sess, ckpt)
    except (tf.errors.OpError, ValueError) as e:
        raise _unreadable(ckpt, e, param) from None


class Checkpoints:
    """A training run's saver: every variable (Adam's moments and the step included), so
    that a resumed run continues exactly. Built in the training graph, after the model."""

    def __init__(self, run_dir: str | os.PathLike, graph: tf.Graph):
        self.run_dir = Path(run_dir)
        with graph.as_default():
            # Relative paths in the state file: a run directory can be moved or copied.
            self.saver = tf1.train.Saver(max_to_keep=KEEP, save_relative_paths=True)
            # Step 0 has a saver of its own, outside the rotation, so it is never deleted.
            self.first = tf1.train.Saver(max_to_keep=None, save_relative_paths=True)

    def save(self, sess, step: int) -> str:
        """Write ckpt-STEP; a failure (a full disk) is a RunError that names the step and
        keeps the checkpoints already there, with no partial file left behind."""
        saver = self.first if step == 0 else self.saver
        try:
            return saver.save(sess, path(self.run_dir, step))
        except (tf.errors.OpError, OSError) as e:
            for p in self.run_dir.glob(f"{PREFIX}-{step}.*"):
                p.unlink(missing_ok=True)
            for p in self.run_dir.glob("*.tempstate*"):
                p.unlink(missing_ok=True)
            before = [s for s in steps(self.run_dir) if s < step]
            kept = f"the last checkpoint is step {before[-1]}" if before else "none was kept"
            first = reason(e, 160)
            raise RunError(f"{self.run_dir}: the checkpoint at step {step} could not be written "
                           f"({first}); {kept}. Free some disk space, then resume the run",
                           params=("resume",)) from None

    def restore(self, sess, ckpt: str) -> None:
        """Continue from `ckpt`; the rotation then counts the checkpoints already there."""
        with sess.graph.as_default():
            variables = tf1.global_variables()
        load(sess, variables, ckpt)
        self.saver.recover_last_checkpoints([path(self.run_dir, s) for s in steps(self.run_dir)
                                             if s != 0])
