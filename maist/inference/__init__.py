"""A trained run, for reading: restore(run_dir) -> the inference graph at a checkpoint.

    restore     Restored: probabilities, named layers, top-k, pictures in
"""
