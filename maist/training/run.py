"""One way to train: what maist.train and scripts/train_maist.py both call.

    run(request, data=None) -> RunResult

A request (training.config.Request: a recipe, the changes asked for, a run directory or
none) is merged with the run's own record on resume, its data found (the default data
when none is said), its synthetic start made when pretraining is wanted, and then trained:

    Request -> plan -> the data (and a replay mixed in) -> the run directory -> loop.train

Everything that can be checked is checked before any data is read.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from ..data import dataset, sources
from ..data.classes import DEFAULT_CLASSES
from ..data.dataset import MaistData
from ..errors import ClusterError, MaistError, RunError
from ..paths import runs_dir
from ..runs import records, rundir
from ..runs.result import RunResult
from . import cluster, pretrain
from .adapt import with_replay
from .config import Request, RunPlan, plan, resumable
from .defaults import default_data, synthetic_data
from .loop import train

log = logging.getLogger(__name__)


def run(request: Request, data: MaistData | None = None, quiet: bool = False) -> RunResult:
    """Train what `request` asks for, on `data` (None: request.data, else the default
    data), into request.run_dir (None: a new runs/RECIPE-MODEL[-N]). With
    request.cluster, this process is the chief of a cluster (the other tasks run
    run_task)."""
    task = request.cluster
    if task is not None and not task.chief:
        raise ClusterError(f"{task.name()} is not the chief: it runs run_task",
                           params=("job", "task"))
    if request.resume and not request.run_dir:
        raise RunError("resuming needs the run directory to continue", params=("run_dir",))
    if task is not None and not request.run_dir:
        raise RunError("a cluster run needs its run directory named, the same for every "
                       "task", params=("run_dir",))
    pretrain.check_mode(request.pretrain, request.resume, request.init_from)
    # On resume, what the request does not say comes from the run itself.
    previous = resumable(request.run_dir) if request.resume else None
    request = _with_source(request)
    p = plan(request, previous)  # every option checked before the data is read
    if data is not None:
        where = data.meta.get("path")
        p = replace(p, data_options={**p.data_options,
                                     "classes": data.meta.get("classes") or DEFAULT_CLASSES})
    else:
        where = p.data or default_data(p.data_options.get("classes"))
    if not request.resume and not request.init_from and where is not None:
        if task is not None and pretrain.wanted(request.pretrain, p.config.recipe,
                                                sources.is_real_etl(Path(where))):
            raise ClusterError("a cluster run does not pretrain on synthetic writers first "
                               "(the workers would wait on the chief alone); pretrain on one "
                               "machine, then start the cluster from that run (--init-from), "
                               "or say --pretrain none", params=("pretrain", "init_from"))
        p = _pretrained(request, p, Path(where))
    cfg, recipe = p.config, p.config.recipe
    if data is None:
        data = sources.load(where, seed=cfg.seed, **p.data_options)
    data = with_replay(data, cfg)  # others' handwriting mixed in, when adapting
    run_dir = (Path(request.run_dir) if request.run_dir
               else rundir.free_name(runs_dir(), f"{recipe.name}-{recipe.model}"))
    for line in dataset.summary(data):
        log.info(line)
    log.info(f"training {recipe.model} with recipe {recipe.name}: {recipe.steps} steps, "
             f"batch {recipe.batch_size}, {recipe.optimizer} lr [{recipe.learning_rate}], "
             f"keep_prob [{recipe.keep_prob}], {recipe.loss} loss -> {run_dir}")
    if cfg.init_from:
        log.info(f"starting from {cfg.init_from}; frozen: {', '.join(cfg.freeze) or 'nothing'}; "
                 f"replay: {'as above' if cfg.replay else 'none'}")
    return train(data, cfg, run_dir, previous=previous, quiet=quiet,
                 override=request.override, task=task)


def run_task(request: Request) -> int:
    """A cluster task other than the chief: a ps task serves the variables, a worker
    trains its share of each step of the run the chief owns (request.run_dir, read only).
    Its exit code: 0 when the chief ended the run, 1 otherwise."""
    task = request.cluster
    if task.job == "ps":
        return cluster.serve_ps(task)
    if not request.run_dir:
        raise RunError("a cluster run needs its run directory named, the same for every "
                       "task", params=("run_dir",))
    cluster.check_startable(task)
    previous = None
    if request.resume:  # the chief's record, where this machine sees it
        try:
            previous = resumable(request.run_dir)
        except MaistError:
            previous = None
    request = _with_source(request)
    p = plan(request, previous)
    data = sources.load(p.data or default_data(p.data_options.get("classes")),
                        seed=p.config.seed, **p.data_options)
    return cluster.work(with_replay(data, p.config), p.config, task, Path(request.run_dir))


def _with_source(request: Request) -> Request:
    """The request with the kind of its data, and the record of the run it starts from
    (its model and data options); a broken source is reported when it is loaded."""
    kind = request.data_kind
    if kind is None and request.data:
        kind = sources.kind(request.data)
    source = request.init_config
    if request.init_from and not request.resume and source is None:
        try:
            source = records.read(rundir.parse_init_from(request.init_from)[0])
        except MaistError:
            source = None
    return replace(request, data_kind=kind, init_config=source)


def _pretrained(request: Request, p: RunPlan, data_path: Path) -> RunPlan:
    """The plan again, starting from a synthetic model, when the request's pretraining
    mode wants one for this recipe and data (made first if there is none); else the plan
    as it was. The synthetic set is the class set's own, read as the real data is."""
    recipe = p.config.recipe
    if not pretrain.wanted(request.pretrain, recipe, sources.is_real_etl(data_path)):
        return p
    if request.dry_run:
        log.info("dry run: no synthetic pretraining (it would train a whole model first)")
        return p
    classes = p.data_options.get("classes") or DEFAULT_CLASSES
    made_with = pretrain.recipe_for(request.pretrain, classes, recipe.model)
    synthetic = sources.load(synthetic_data(classes), seed=pretrain.SEED,
                             **{**p.data_options, "classes": classes})
    source = pretrain.pretrained(synthetic, made_with, p.config.model_options, runs_dir(),
                                 p.config.devices)
    mix = {}
    if request.pretrain == "auto" and request.replay is None and not request.replay_data:
        # the synthetic writers go on training beside the real ones (pretrain.AUTO_MIX)
        mix = {"replay": pretrain.AUTO_MIX, "replay_data": str(synthetic.meta["path"])}
        log.info(f"mixing synthetic writers into the real batches: {pretrain.AUTO_MIX:.0%} of "
                 f"each from {synthetic.meta['path']} (--replay 0: none)")
    return plan(replace(request, init_from=str(source), init_config=records.read(source), **mix))
