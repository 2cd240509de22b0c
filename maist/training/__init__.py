"""Running: schedules and recipes, the session loop, and the run directory it fills.

    schedule      step tables and cosine schedules, pure functions of the step
    recipes       named recipes (the blog's among them) and recipe files
    config        a run's settings: checked, recorded, merged on resume, compared
    loop          the session loop: feed_dict, train_step, evaluation, train()
    rundir        config.json, metrics.csv and TensorBoard events, result.json
    checkpoints   the Saver and every checkpoint path
"""
