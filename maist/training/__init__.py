"""Running: schedules and recipes, a request, and the session loop that fills a run directory.

    schedule      step tables and cosine schedules, pure functions of the step
    recipes       named recipes (the blog's among them) and recipe files
    config        a run's settings: checked, recorded, merged on resume, compared
    run           the one entry point: a request -> data, pretraining, a run directory -> loop
    defaults      the default data: AIST's files in data/ETL9G, else the synthetic set
    loop          the session loop: feed_dict, train_step, evaluation, train()
    adapt, reuse, pretrain   one's own drawings, finished runs read back, the synthetic start

The run directory's files are maist.runs': training writes them, everything else reads.
"""
