"""The run directory, as one typed layer: what training writes and everything else reads.

    rundir       the directory: a free name, made for a new run, undone on a failed start
    records      config.json as a RunRecord: the model, its options, classes, data, recipe
    checkpoints  TensorFlow's checkpoints: every path, the Saver, loading named variables
    metrics      metrics.csv and the TensorBoard events, one row per evaluation
    projector    the embedding projector's files, beside the events
    result       result.json: how the run ended, and the RunResult it is read back as
"""
