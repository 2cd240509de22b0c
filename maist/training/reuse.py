"""Runs trained once: a finished run with the same settings is read back, not trained again.

    finished_result(run_dir)             -> RunResult or None   a run that ran to its end
    differences_from(run_dir, cfg, data) -> [] alike, ['recipe.steps: ...'], None unfinished
    train_or_reuse(data, cfg, run_dir)   -> RunResult           trains, resumes or reuses

What the benchmarks, the beginner-vs-expert comparison and synthetic pretraining share:
each asks for a run by its settings, and pays for its training once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..data.dataset import MaistData
from ..errors import RunError
from ..signals import Terminated
from . import checkpoints, rundir
from .config import SAME_RUN, TrainConfig, differences, record
from .loop import CUT_SHORT, RunResult, train

# A reused run read the same files, and where they are synthetic, the same generator's
# (data.generated: a set made again by a newer generator keeps its files' names).
SAME_AND_SOURCES = SAME_RUN + ("data.sources", "data.generated")


def finished_result(run_dir: str | os.PathLike) -> RunResult | None:
    """The result of a run that finished (result.json, ran to its end or stopped early on
    validation), or None: no result, or one that Ctrl-C or SIGTERM cut short."""
    r = rundir.read_result(run_dir)
    if r is None or r.get("stopped") in CUT_SHORT:
        return None
    return RunResult(Path(run_dir), r["step"], r["test_accuracy"], r["stopped"],
                     rundir.read_metrics(run_dir))


def _sources_resolved(config: dict) -> dict:
    """config with its data sources as real paths: the same files named from another
    working directory, or once absolute and now relative, are the same sources."""
    data = config.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        return config
    resolved = [os.path.realpath(s) if isinstance(s, str) else s for s in data["sources"]]
    return {**config, "data": {**data, "sources": resolved}}


def differences_from(run_dir: str | os.PathLike, cfg: TrainConfig, data: MaistData
                     ) -> list[str] | None:
    """How the finished run in run_dir trained otherwise than `cfg` on `data` would
    (config.differences, steps and data sources included): [] if alike, None if there is
    no finished run there."""
    if finished_result(run_dir) is None:
        return None
    return differences(_sources_resolved(rundir.read_config(run_dir)),
                       _sources_resolved(record(cfg, data)), keys=SAME_AND_SOURCES, steps=True)


def train_or_reuse(
    data: MaistData, cfg: TrainConfig, run_dir: str | os.PathLike,
    log: Callable[[str], None] = print, quiet: bool = True,
) -> RunResult:
    """Train into run_dir, or return the finished run already there if it trained alike
    (config.differences, steps and data sources included); an unfinished one (no
    result.json, or one cut short) is resumed.

    Ctrl-C or SIGTERM during the training raises again once the loop has saved the run
    (KeyboardInterrupt or signals.Terminated): whoever asked for the run stops, not goes
    on to the next seed with a half-trained one's figures, and the same call resumes it.
    """
    run_dir = Path(run_dir)
    diff = differences_from(run_dir, cfg, data)
    if diff is not None:
        done = finished_result(run_dir)
        if diff:
            why = (", made before its synthetic set was made again by another generator "
                   "version or setting" if any(d.startswith("data.generated") for d in diff)
                   else "")
            raise RunError(f"{run_dir}: holds a finished run with other options "
                           f"({'; '.join(diff)}){why}; remove it or pick another directory",
                           params=("root",))
        log(f"reusing {run_dir} (test accuracy {done.test_accuracy:.4f})")
        return done
    resume = bool(checkpoints.steps(run_dir))
    result = train(data, cfg, run_dir, resume=resume, log=log, quiet=quiet)
    if result.stopped in CUT_SHORT:
        raise Terminated() if result.stopped == "terminated" else KeyboardInterrupt()
    return result
