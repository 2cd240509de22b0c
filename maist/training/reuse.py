"""Runs trained once: a finished run with the same settings is read back, not trained again.

    finished_result(run_dir)             -> RunResult or None   a run that ran to its end
    differences_from(run_dir, cfg, data) -> [] alike, ['recipe.steps: ...'], None unfinished
    train_or_reuse(data, cfg, run_dir)   -> RunResult           trains, resumes or reuses

What the benchmarks, the beginner-vs-expert comparison and synthetic pretraining share:
each asks for a run by its settings, and pays for its training once.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..data.dataset import MaistData
from ..errors import RunError
from ..runs import checkpoints, result
from ..runs.records import read as read_record
from ..runs.result import RunResult
from ..signals import Terminated
from .config import SAME_RUN, TrainConfig, differences, record
from .loop import train

log = logging.getLogger(__name__)

# A reused run read the same files, and where they are synthetic, the same generator's
# (data.generated: a set made again by a newer generator keeps its files' names).
SAME_AND_SOURCES = SAME_RUN + ("data.sources", "data.generated")


def finished_result(run_dir: str | os.PathLike) -> RunResult | None:
    """The result of a run that finished (result.json, ran to its end or stopped early on
    validation), or None: no result, or one that Ctrl-C or SIGTERM cut short."""
    done = result.read(run_dir)
    return done if done is not None and done.finished else None


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
    return differences(_sources_resolved(read_record(run_dir).to_dict()),
                       _sources_resolved(record(cfg, data).to_dict()), keys=SAME_AND_SOURCES,
                       steps=True)


def train_or_reuse(
    data: MaistData, cfg: TrainConfig, run_dir: str | os.PathLike, quiet: bool = True,
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
        log.info(f"reusing {run_dir} (test accuracy {done.test_accuracy:.4f})")
        return done
    resume = bool(checkpoints.steps(run_dir))
    out = train(data, cfg, run_dir, resume=resume, quiet=quiet)
    if not out.finished:
        raise Terminated() if out.stopped == "terminated" else KeyboardInterrupt()
    return out
