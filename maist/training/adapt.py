"""Adapting a trained model to one's own hand without forgetting everyone else's.

A few dozen drawings of one person, trained on alone, pull the readout toward the
characters drawn and away from the rest: others' drawings are read worse, and the
drawer's own undrawn characters not at all (benchmarks/finetune_touch.py measures it).
So each batch mixes the user's
drawings with a replay of the source run's own training data: at least
`TrainConfig.replay` of it, and as much as keeps every class's part of a batch equal
(a user who drew 4 of 71 characters gets 4/71 of each batch, the replay the rest, drawn
to fill the other classes).
"""

from __future__ import annotations

from pathlib import Path

from ..data import replay, sources
from ..data.dataset import MaistData
from ..errors import DatasetError, TrainingError
from ..runs import records, rundir
from .config import TrainConfig


def replay_origin(cfg: TrainConfig, like: dict | None = None) -> tuple[str, dict, int]:
    """(path, data options, seed) of the data to replay: replay_data of the class set the
    run's data `like` (its meta) has, else what the init_from run trained on, read as it
    read it."""
    if cfg.replay_data:
        classes = (like or {}).get("classes")
        return cfg.replay_data, {"classes": classes} if isinstance(classes, str) else {}, cfg.seed
    run, _ = rundir.parse_init_from(cfg.init_from)
    source = records.read(run)
    path = source.data_path
    if not path:
        raise TrainingError(f"replay: {run}/config.json does not say where its data is; "
                            f"give the replay data (data of the same classes), or replay none",
                            params=("replay_data", "replay"))
    return path, source.data_options(), source.seed


def with_replay(data: MaistData, cfg: TrainConfig) -> MaistData:
    """data with cfg.replay of each training batch replayed (data itself when none)."""
    if not cfg.replay:
        return data
    path, options, seed = replay_origin(cfg, data.meta)
    if not Path(path).exists():
        what = "given as replay data" if cfg.replay_data else f"the data {cfg.init_from} trained on"
        raise TrainingError(f"replay: {path}, {what}, is not there; give the replay data "
                            f"(data of the same classes), or replay none (no replay: others' "
                            f"handwriting may be forgotten)", params=("replay_data", "replay"))
    try:
        others = sources.load(path, seed=seed, **options)
    except DatasetError as e:
        raise TrainingError(f"replay: {e}", params=("replay_data",)) from None
    if others.classes != data.classes:
        raise TrainingError(f"replay: {path} holds {len(others.classes)} classes "
                            f"({others.meta.get('classes')}), the drawings "
                            f"{len(data.classes)} ({data.meta.get('classes')}); replay data "
                            f"of the same classes, or replay none",
                            params=("replay_data", "replay"))
    mine, theirs = data.meta.get("preprocess"), others.meta.get("preprocess")
    if mine and theirs and mine != theirs:
        raise TrainingError(f"replay: {path} is preprocessed {theirs}, the drawings {mine}; "
                            f"preprocess the drawings {theirs} too", params=("preprocess",))
    # At least cfg.replay; more when the drawings cover few classes, so that every class
    # keeps an equal part of each batch (data.replay.MixedSplit).
    share = replay.prior_share(data.train.y, len(data.classes), cfg.replay)
    return replay.with_replay(data, others.train, share,
                               {"path": str(Path(path).resolve()), "least": cfg.replay, **options})
