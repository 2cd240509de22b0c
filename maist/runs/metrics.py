"""A run's evaluations: metrics.csv, and the same rows as TensorBoard events under events/.

    RunLog(run_dir, graph, resume_at)   .add(step, split, ...) once per evaluation, .flush()
    read_metrics(run_dir) -> [row]      step, split, loss, accuracy, learning_rate, keep_prob
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from ..errors import RunError
from ..fileio import atomic_path
from ..nets.backend import tf1

FILE = "metrics.csv"
EVENTS = "events"  # the run's TensorBoard folder: its events, and the projector's files
METRIC_FIELDS = ["step", "split", "loss", "accuracy", "learning_rate", "keep_prob"]


def read_metrics(run_dir: str | os.PathLike) -> list[dict]:
    """The rows of metrics.csv; [] where there is none. A damaged file is an error."""
    path = Path(run_dir) / FILE
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
    except OSError as e:
        raise RunError(f"{path}: cannot be read ({e.strerror}); check its permissions") from None
    return rows


class RunLog:
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
        events = self.run_dir / EVENTS
        if events.exists() and not events.is_dir():
            raise RunError(f"{events}: a file where the TensorBoard events folder belongs; "
                           f"move it away", params=("run_dir",))
        self.writer = tf1.summary.FileWriter(str(events), graph=graph)

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
        with atomic_path(self.run_dir / FILE) as tmp:
            with open(tmp, "w", newline="") as f:
                w = csv.DictWriter(f, METRIC_FIELDS)
                w.writeheader()
                w.writerows(self.rows)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
