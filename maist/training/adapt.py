"""Adapting a trained model to one's own hand without forgetting everyone else's.

A few dozen drawings of one person, trained on alone, pull the readout toward the
characters drawn and away from the rest: the issue that asked for this measured a
model falling from 94% to 91% on others' drawings after ten drawings, and to 0% on the
drawer's own undrawn characters with a full recipe. So each batch mixes the user's
drawings with a replay of the source run's own training data: at least
`TrainConfig.replay` of it, and as much as keeps every class's part of a batch equal
(a user who drew 4 of 71 characters gets 4/71 of each batch, the replay the rest, drawn
to fill the other classes).
"""

from __future__ import annotations

from pathlib import Path

from ..data import dataset, sources
from ..data.dataset import MaistData
from ..errors import DatasetError, TrainingError
from . import rundir
from .config import TrainConfig


def replay_origin(cfg: TrainConfig) -> tuple[str, dict, int]:
    """(path, data options, seed) of the data to replay: replay_data as it is, else what
    the init_from run trained on, read as it read it."""
    if cfg.replay_data:
        return cfg.replay_data, {}, cfg.seed
    run, _ = rundir.parse_init_from(cfg.init_from)
    source = rundir.read_config(run)
    meta = source.get("data") if isinstance(source.get("data"), dict) else {}
    path = meta.get("path")
    if not path:
        raise TrainingError(f"replay: {run}/config.json does not say where its data is; "
                            f"give --replay-data PATH (data of the same classes) or --replay 0",
                            params=("replay_data",))
    options = {k: meta[k] for k in ("classes", "preprocess", "split") if meta.get(k)}
    return path, options, int(source.get("seed") or 0)


def with_replay(data: MaistData, cfg: TrainConfig) -> MaistData:
    """data with cfg.replay of each training batch replayed (data itself when none)."""
    if not cfg.replay:
        return data
    path, options, seed = replay_origin(cfg)
    if not Path(path).exists():
        what = "given as replay data" if cfg.replay_data else f"the data {cfg.init_from} trained on"
        raise TrainingError(f"replay: {path}, {what}, is not there; give --replay-data PATH "
                            f"(data of the same classes) or --replay 0 (no replay: others' "
                            f"handwriting may be forgotten)", params=("replay_data",))
    try:
        replay = sources.load(path, seed=seed, **options)
    except DatasetError as e:
        raise TrainingError(f"replay: {e}", params=("replay_data",)) from None
    if replay.classes != data.classes:
        raise TrainingError(f"replay: {path} holds {len(replay.classes)} classes "
                            f"({replay.meta.get('classes')}), the drawings "
                            f"{len(data.classes)} ({data.meta.get('classes')}); replay data "
                            f"of the same classes (--replay-data) or --replay 0",
                            params=("replay_data",))
    mine, theirs = data.meta.get("preprocess"), replay.meta.get("preprocess")
    if mine and theirs and mine != theirs:
        raise TrainingError(f"replay: {path} is preprocessed {theirs}, the drawings {mine}; "
                            f"give --preprocess {theirs}", params=("preprocess",))
    # At least cfg.replay; more when the drawings cover few classes, so that every class
    # keeps an equal part of each batch (dataset.MixedSplit).
    share = dataset.prior_share(data.train.y, len(data.classes), cfg.replay)
    return dataset.with_replay(data, replay.train, share,
                               {"path": str(Path(path).resolve()), "least": cfg.replay, **options})
