"""MAIST: TensorFlow's "Deep MNIST for Experts", retold on handwritten Japanese.

The rooms, each importing only the ones above it in this list:

    errors, geometry, fileio, paths   the error root, 28x28, atomic writes, data/ and runs/
    data/      ETL records -> class sets -> preprocessing -> the data set and its sources
    synth/     KanjiVG strokes -> synthetic writers, written as real ETL9G files
    nets/      TensorFlow set up; the models (placeholders -> inference -> loss -> train)
    runs/      the run directory: its record (config.json), checkpoints, metrics, result
    training/  schedules and recipes -> a request -> the session loop
    inference/ a run directory -> its inference graph at a checkpoint -> predictions
    analysis/  metrics, a run's report and figures, beginner against expert
    app/       the draw page and its browser driver
    cli        the scripts' shared wrapper: one line per error, an exit code

The five-line API (nothing here imports TensorFlow until it is used):

    data = maist.load_data()                       the default set (synthetic unless you
                                                   put AIST's files in data/ETL9G)
    result = maist.train(data, "demo")             runs/demo-expert/ holds everything (as
                                                   `maist train`: training.run)
    model = maist.restore(result.run_dir)          the inference graph at the last checkpoint
    tops, x = model.predict(["my_a.png"])          top-5 (character, probability) per
                                                   picture, and the (n, 784) inputs
    maist.MODELS, maist.register(ModelSpec(...))   the model registry

Every error MAIST raises on purpose is a maist.MaistError (maist/errors.py).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .errors import MaistError
from .version import VERSION

if TYPE_CHECKING:
    from .data.dataset import MaistData
    from .inference.restore import Restored
    from .runs.result import RunResult

__version__ = VERSION
__all__ = ["MaistError", "load_data", "train", "restore", "MODELS", "ModelSpec", "register",
           "__version__"]


def load_data(path: str | os.PathLike | None = None, **options) -> "MaistData":
    """A data set: ETL files, a built .npz, a folder of pictures or the touch drawings;
    None: the default set. `options`: classes, preprocess, split, seed."""
    from .data import sources
    from .logs import show
    from .training.defaults import default_data

    show()  # "Generating the synthetic set ..." on first use
    return sources.load(path if path is not None else default_data(), **options)


def train(data: "MaistData | str | os.PathLike | None" = None, recipe: str = "demo",
          run_dir: str | os.PathLike | None = None, **settings) -> "RunResult":
    """Train a recipe (a name, or a .json file) on `data` (a MaistData, a path, or None:
    the default set) into run_dir (default: a new runs/RECIPE-MODEL), as
    scripts/train_maist.py does: the same pretraining, naming and resuming.
    `settings`: training.config.Request's fields (seed, eval_every, resume, ...)."""
    from .logs import show
    from .training.config import Request
    from .training.run import run

    show()  # the run's messages, as the command prints them
    loaded = None if data is None or isinstance(data, (str, os.PathLike)) else data
    path = None if data is None or loaded is not None else str(data)
    request = Request(recipe=str(recipe), data=path,
                      run_dir=None if run_dir is None else str(run_dir), **settings)
    return run(request, loaded)


def restore(run_dir: str | os.PathLike, step: int | None = None, tta: str = "none"
            ) -> "Restored":
    """A trained run's inference graph at checkpoint `step` (default: the last); `tta`
    'shift' reads each image and four copies moved a pixel, and averages."""
    from .inference.restore import restore as restore_run

    return restore_run(run_dir, step, tta)


def __getattr__(name: str):
    """MODELS, ModelSpec and register, imported (with TensorFlow) on first use."""
    if name in ("MODELS", "ModelSpec", "register"):
        from .nets import models

        return getattr(models, name)
    raise AttributeError(f"module 'maist' has no attribute {name!r}")
