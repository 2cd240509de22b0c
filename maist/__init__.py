"""MAIST: TensorFlow's "Deep MNIST for Experts", retold on handwritten hiragana.

    data     etl (ETL binary records) -> preprocess (28x28) -> dataset (splits, cache, batches)
             kana (class sets, JIS), strokes + synth (the synthetic ETL9G default)
    graphs   model (placeholders -> inference -> loss -> training; the MODELS registry)
    running  schedule (step tables, recipes) -> train (the session loop) -> runs (run
             directories, checkpoints, restore: the inference API)
    seeing   evaluate (metrics), report (a run's scores and figures), visualize (figures)

Every error MAIST raises on purpose is a maist.MaistError (maist/errors.py). Importing
maist does not import TensorFlow; maist.model, maist.train and maist.runs do.
"""

from .errors import MaistError

__version__ = "0.1.0"
__all__ = ["MaistError", "__version__"]
