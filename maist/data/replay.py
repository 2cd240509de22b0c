"""A replay of others' handwriting mixed into the few drawings of one hand.

    with_replay(data, replay, share, origin) -> MaistData   its training split a MixedSplit
    prior_share(own_y, num_classes, least)   -> float       the share that keeps classes equal
    MixedSplit                               batches of the user's rows and replayed ones

What adapting to one's own drawings trains on (training.adapt), so that a model adapted to
one hand keeps reading everyone else's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DatasetError
from .dataset import MaistData, Split, draw


@dataclass
class MixedSplit(Split):
    """A user's few rows (the first `own`) and a replay of another data set's training
    rows after them, `share` of each batch, so that a model adapted to one hand keeps
    seeing everyone else's.

    The replayed rows are drawn class by class to fill each class up to an equal part of
    the batch, as the source's own batches had it: a user who drew four characters does
    not teach the readout that those four are common. Both parts are functions of the
    seed and the step, as Split's batches are.
    """

    own: int = 0
    share: float = 0.5
    num_classes: int = 0

    def __post_init__(self):
        super().__post_init__()
        self.row_p = replay_weights(self.y[: self.own], self.y[self.own :], self.share,
                                    self.num_classes)

    def own_rows(self) -> Split:
        return Split(self.pixels[: self.own], self.y[: self.own], self.writers[: self.own])

    def batch_indices(self, step: int, batch_size: int, sampling: str = "epoch") -> np.ndarray:
        k = replayed(batch_size, self.share)
        mine = draw(self.own, self.seed, step, batch_size - k, sampling)
        rng = np.random.default_rng([self.seed, 7919, step])
        theirs = self.own + rng.choice(len(self) - self.own, size=k, p=self.row_p)
        return np.concatenate([mine, theirs])


def replayed(batch_size: int, share: float) -> int:
    """Rows of a batch that replay: at least one, and at least one of the user's own."""
    return min(max(round(share * batch_size), 1), batch_size - 1)


def replay_weights(own_y: np.ndarray, replay_y: np.ndarray, share: float,
                   num_classes: int) -> np.ndarray:
    """(len(replay_y),) probabilities of drawing each replayed row: each class gets what
    it lacks of an equal part of the batch after the user's own rows (share 1 - share,
    spread as the user drew), shared among its replayed rows."""
    own = np.bincount(own_y, minlength=num_classes) / max(len(own_y), 1) * (1 - share)
    lack = np.maximum(1 / num_classes - own, 0)
    have = np.bincount(replay_y, minlength=num_classes)
    lack[have == 0] = 0
    if lack.sum() == 0:  # the user's rows fill every class: replay as the source drew
        lack = (have > 0).astype(np.float64)
    per_row = lack[replay_y] / have[replay_y]
    return per_row / per_row.sum()


def prior_share(own_y: np.ndarray, num_classes: int, least: float) -> float:
    """The replayed share that keeps every class's part of a batch equal: a user's rows
    of k of C classes may be at most k/C of it (at least `least`, at most 0.95)."""
    drawn = len(np.unique(own_y))
    return float(min(max(least, 1 - drawn / num_classes), 0.95))


def with_replay(data: MaistData, replay: Split, share: float, origin: dict) -> MaistData:
    """data with its training split mixed with `replay` (another data set's training
    split, in the same classes): `share` of each batch. Validation and test stay the
    user's. `origin` (where the replay came from) goes into the data's meta."""
    if not 0 < share < 1:
        raise DatasetError(f"a replay share is between 0 and 1 (the part of each batch "
                           f"replayed), not {share}", params=("replay",))
    if len(replay) == 0:
        raise DatasetError("the replay data has no training images", params=("replay",))
    train = data.train
    mixed = MixedSplit(np.concatenate([train.pixels, replay.pixels]),
                       np.concatenate([train.y, replay.y]),
                       np.concatenate([train.writers, np.full(len(replay), -1, np.int64)]),
                       seed=train.seed, own=len(train), share=share,
                       num_classes=len(data.classes))
    meta = {**data.meta, "replay": {**origin, "share": share, "images": len(replay)}}
    return MaistData(mixed, data.val, data.test, data.classes, meta)
