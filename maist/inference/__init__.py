"""A trained run, for reading: restore(run_dir) -> the inference graph at a checkpoint.

    restore     Restored: probabilities, named layers, top-k, pictures in
    batching    Batcher: concurrent reads (the page's requests) merged into one call
    export      SavedModel and TFLite files, and reading them back
    tfprep      the preprocessing as TensorFlow ops, for the SavedModel
    tta         test-time views
"""
