"""MAIST: TensorFlow's "Deep MNIST for Experts", retold on handwritten hiragana.

    data     etl (ETL binary records) -> preprocess (28x28) -> dataset (splits, cache, batches)
             kana (class sets), strokes + synth (the synthetic ETL9G default)
    graphs   model (placeholders, beginner / expert / mlp / deep, loss, training op)
    running  schedule (step tables, recipes) -> train (the session loop, run directories)
    seeing   visualize (figures), evaluate (accuracy, confusion, prediction)

Importing maist does not import TensorFlow; maist.model, maist.train and maist.evaluate do.
"""

__version__ = "0.1.0"
