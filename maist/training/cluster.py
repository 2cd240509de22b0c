"""Training beyond one machine: a cluster of ps and worker tasks, TensorFlow's own gRPC
servers, between-graph replication (the graph is nets.replicas').

    requested_task(file, job, index) / TF_CONFIG     -> ClusterTask, checked (or None)
    check_startable(task)        its own port free, before anything is written
    serve_ps(task)               a parameter server until the chief ends the run
    work(data, cfg, task, run_dir)   a worker other than the chief: its share of each step
    chief_session(task, graph)   the chief's session on its server (loop.train runs it)
    explained(error, sess, g, task)  a timeout as which task did not answer, and where

The cluster is TF_CONFIG's ({"cluster": {"ps": [...], "worker": [...]}, "task": {"type":
"worker", "index": 0}}), or a file of the cluster's dict with --job and --task. Worker 0 is
the chief: it alone writes the run directory (record, metrics, checkpoints, TensorBoard,
result); the other workers log to worker-K.log in it. Every wait is bounded by the task's
timeout: a task that dies or never comes up is named with its address, and a sync run
never waits forever.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ClusterError
from ..nets import replicas as R

log = logging.getLogger(__name__)

JOBS = ("ps", "worker")
TIMEOUT = 60.0  # seconds a task waits for another before it names it as not answering
POLL = 0.002  # seconds between a sync worker's looks at the global step


@dataclass(frozen=True)
class ClusterTask:
    cluster: dict  # {"ps": ["host:port", ...], "worker": [...]}
    job: str  # "ps" or "worker"
    index: int
    sync: bool = True
    timeout: float = TIMEOUT

    @property
    def address(self) -> str:
        return self.cluster[self.job][self.index]

    @property
    def chief(self) -> bool:
        return self.job == "worker" and self.index == 0

    @property
    def workers(self) -> int:
        return len(self.cluster["worker"])

    @property
    def replicas(self) -> R.Replicas:
        return R.Replicas(self.index, self.workers, len(self.cluster["ps"]), self.sync,
                          self.cluster)

    def name(self, job: str | None = None, index: int | None = None) -> str:
        """'worker 1 at 127.0.0.1:2223': a task as messages name it."""
        job, index = job or self.job, self.index if index is None else index
        return f"{'the chief, ' if (job, index) == ('worker', 0) else ''}{job} {index} at " \
               f"{self.cluster[job][index]}"


def _address(text, where: str) -> str:
    host, sep, port = str(text).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(f"{where}: {text!r} is not an address; give host:port, such as "
                           f"127.0.0.1:2222", params=("cluster",))
    return f"{host}:{int(port)}"


def check_cluster(cluster, where: str) -> dict:
    """The cluster's dict, each job a list of host:port; a ClusterError otherwise."""
    if not isinstance(cluster, dict):
        raise ClusterError(f"{where}: the cluster is an object of jobs, such as "
                           f'{{"ps": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223"]}}',
                           params=("cluster",))
    other = sorted(set(cluster) - set(JOBS))
    if other:
        raise ClusterError(f"{where}: jobs {', '.join(other)}: MAIST's cluster has ps and "
                           f"worker jobs, worker 0 being the chief", params=("cluster",))
    for job in JOBS:
        if not isinstance(cluster.get(job), list) or not cluster.get(job):
            raise ClusterError(f"{where}: no {job} task; a cluster needs one ps task and one "
                               f"worker at least", params=("cluster",))
    out = {job: [_address(a, where) for a in cluster[job]] for job in JOBS}
    every = out["ps"] + out["worker"]
    twice = sorted({a for a in every if every.count(a) > 1})
    if twice:
        raise ClusterError(f"{where}: {', '.join(twice)} is given to two tasks",
                           params=("cluster",))
    return out


def task(cluster: dict, job, index, where: str, sync: bool = True,
         timeout: float = TIMEOUT) -> ClusterTask:
    cluster = check_cluster(cluster, where)
    if job not in JOBS:
        raise ClusterError(f"{where}: the task's job is ps or worker, not {job!r}",
                           params=("job",))
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(cluster[job]):
        raise ClusterError(f"{where}: task {index!r} is out of range: the {job} job has "
                           f"{len(cluster[job])} task(s), 0 to {len(cluster[job]) - 1}",
                           params=("task",))
    if not timeout > 0:
        raise ClusterError(f"the task timeout is a number of seconds above 0, not {timeout}",
                           params=("task_timeout",))
    return ClusterTask(cluster, job, index, sync, float(timeout))


def task_from_tf_config(text: str, sync: bool = True, timeout: float = TIMEOUT) -> ClusterTask:
    """TF_CONFIG's cluster and task."""
    try:
        d = json.loads(text)
    except ValueError as e:
        raise ClusterError(f"TF_CONFIG is not JSON ({e}); it is an object with \"cluster\" "
                           f"and \"task\"", params=("cluster",)) from None
    if not isinstance(d, dict) or not isinstance(d.get("task"), dict):
        raise ClusterError('TF_CONFIG needs "cluster" and "task" ({"type": "worker", '
                           '"index": 0})', params=("cluster",))
    return task(d.get("cluster"), d["task"].get("type"), d["task"].get("index", 0),
                "TF_CONFIG", sync, timeout)


def task_from_file(path, job: str, index: int, sync: bool = True,
                   timeout: float = TIMEOUT) -> ClusterTask:
    """A file holding the cluster's dict (or TF_CONFIG's whole object), and this task."""
    path = Path(path)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClusterError(f"{path}: no such cluster file", params=("cluster",)) from None
    except (OSError, ValueError) as e:
        raise ClusterError(f"{path}: not a cluster file ({e}); give JSON such as "
                           f'{{"ps": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223"]}}',
                           params=("cluster",)) from None
    if isinstance(d, dict) and "cluster" in d:
        d = d["cluster"]
    return task(d, job, index, str(path), sync, timeout)


def tf_config(t: ClusterTask) -> str:
    """TF_CONFIG for this task."""
    return json.dumps({"cluster": t.cluster, "task": {"type": t.job, "index": t.index}})


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def check_startable(t: ClusterTask) -> None:
    """This task's port can be listened on: a port in use is named before anything runs."""
    host, port = _host_port(t.address)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, port))
    except OSError as e:
        raise ClusterError(f"{t.name()}: cannot listen there ({e.strerror or e}); the port is "
                           f"in use or the host is not this machine's. Give the task a free "
                           f"port", params=("cluster",)) from None


def answers(address: str, wait: float = 1.0) -> bool:
    """Whether something listens at host:port."""
    try:
        with socket.create_connection(_host_port(address), timeout=wait):
            return True
    except OSError:
        return False


def wait_for(t: ClusterTask, tasks: list[tuple[str, int]]) -> None:
    """Until every (job, index) of `tasks` listens, for t.timeout at most: a ClusterError
    naming those that did not come up."""
    deadline = time.monotonic() + t.timeout
    pending = list(tasks)
    while pending:
        pending = [(j, i) for j, i in pending if not answers(t.cluster[j][i], 0.5)]
        if pending and time.monotonic() > deadline:
            raise ClusterError(f"{t.name()}: {', '.join(t.name(j, i) for j, i in pending)} "
                               f"did not come up within {t.timeout:g} s; start every task of "
                               f"the cluster (train_cluster.py starts them all)",
                               params=("cluster",))
        if pending:
            time.sleep(0.2)


def start_server(t: ClusterTask):
    from ..nets.backend import tf

    check_startable(t)
    try:
        return tf.distribute.Server(tf.train.ClusterSpec(t.cluster), job_name=t.job,
                                    task_index=t.index, start=True)
    except Exception as e:  # gRPC's own failure to listen
        raise ClusterError(f"{t.name()}: its server did not start: {e}",
                           params=("cluster",)) from None


def session_config(t: ClusterTask):
    """A worker's session talks to the ps tasks and itself alone (the other workers may
    come and go), and no blocking op of it waits longer than the timeout."""
    from ..nets.backend import tf1

    return tf1.ConfigProto(device_filters=["/job:ps", f"/job:worker/task:{t.index}"],
                           operation_timeout_in_ms=int(t.timeout * 1000))


def chief_session(t: ClusterTask, server, graph):
    """The chief's session, on its own server, once every ps task listens."""
    from ..nets.backend import tf1

    wait_for(t, [("ps", p) for p in range(len(t.cluster["ps"]))])
    return tf1.Session(server.target, graph=graph, config=session_config(t))


def lagging(sess, g, t: ClusterTask) -> list[int]:
    """The workers that have not delivered the current step's gradients (by the ps's
    record), [] if that cannot be read either."""
    from ..nets.backend import tf1

    try:
        step, delivered = sess.run([g.global_step, g.control.delivered],
                                   options=tf1.RunOptions(timeout_in_ms=5000))
    except Exception:
        return []
    return [k for k in range(t.workers) if delivered[k] < step]


def explained(error, sess, g, t: ClusterTask) -> ClusterError:
    """A TensorFlow timeout or lost connection as the task that did not answer."""
    from ..nets.backend import tf

    if isinstance(error, tf.errors.DeadlineExceededError):
        late = [k for k in lagging(sess, g, t) if k != t.index] or None
        who = (", ".join(t.name("worker", k) for k in late) if late
               else "a task of the cluster")
        return ClusterError(f"{t.name()}: {who} sent nothing for {t.timeout:g} s, so the "
                            f"synchronous step could not finish; the run stopped, its last "
                            f"checkpoint kept. Restart the task (or the cluster) and resume "
                            f"the run", params=("cluster",))
    down = [p for p in range(len(t.cluster["ps"])) if not answers(t.cluster["ps"][p])]
    who = ", ".join(t.name("ps", p) for p in down) if down else "a task of the cluster"
    return ClusterError(f"{t.name()}: {who} is not answering ({type(error).__name__}); the "
                        f"run stopped, its last checkpoint kept. Restart the cluster and "
                        f"resume the run", params=("cluster",))


def started(sess, g) -> None:
    """The chief, once its variables are initialised or restored: the workers may start."""
    sess.run(g.control.init)


def ended(sess, g, how: int) -> None:
    """The chief's end: every worker and ps task told (how: replicas.FINISHED or FAILED)."""
    from ..nets.backend import tf1

    try:
        sess.run(g.control.end, {g.control.finish: how},
                 options=tf1.RunOptions(timeout_in_ms=10_000))
    except Exception:  # a ps that is gone cannot be told; its own watch ends it
        log.warning("could not tell every task that the run ended; stop them by hand if "
                    "they go on")


class Watch:
    """The async chief's look at its workers: one that has delivered nothing for the
    timeout is named once, and the run goes on without it."""

    def __init__(self, sess, g, t: ClusterTask):
        self.sess, self.g, self.t = sess, g, t
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True, name="maist-watch")

    def __enter__(self):
        if not self.t.sync and self.t.workers > 1:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()

    def _watch(self):
        seen, since, gone = {}, {}, set()
        while not self.stopping.wait(min(self.t.timeout / 4, 5.0)):
            try:
                delivered = self.sess.run(self.g.control.delivered)
            except Exception:
                return
            now = time.monotonic()
            for k in range(1, self.t.workers):
                if seen.get(k) != delivered[k]:
                    seen[k], since[k] = delivered[k], now
                elif now - since[k] > self.t.timeout and k not in gone:
                    gone.add(k)
                    log.warning(f"{self.t.name('worker', k)} has delivered nothing for "
                                f"{self.t.timeout:g} s; the asynchronous run goes on with "
                                f"{self.t.workers - len(gone)} worker(s)")


def serve_ps(t: ClusterTask) -> int:
    """A ps task: its server holds the variables until the chief ends the run (a token in
    this task's queue). If the chief goes away for longer than the timeout, it ends too,
    saying so. 0 when the chief ended the run, 1 when it had to give up."""
    from ..nets.backend import tf, tf1

    server = start_server(t)
    log.info(f"{t.name()}: serving the variables until the chief ends the run")
    graph = tf.Graph()
    with graph.as_default(), tf.device(f"/job:ps/task:{t.index}"):
        queue = tf1.FIFOQueue(t.workers + 1, tf.int32, shared_name=f"cluster/done{t.index}",
                              name=f"cluster/done{t.index}")
        token = queue.dequeue()
    chief = t.cluster["worker"][0]
    only_here = tf1.ConfigProto(device_filters=[f"/job:ps/task:{t.index}"])
    with tf1.Session(server.target, graph=graph, config=only_here) as sess:
        seen_chief, missing_since = False, time.monotonic()
        while True:
            try:
                sess.run(token, options=tf1.RunOptions(timeout_in_ms=1000))
                log.info(f"{t.name()}: the chief ended the run")
                return 0
            except tf.errors.DeadlineExceededError:
                pass
            if answers(chief, 0.5):
                seen_chief, missing_since = True, time.monotonic()
            elif time.monotonic() - missing_since > t.timeout:
                what = "went away" if seen_chief else "never came up"
                raise ClusterError(f"{t.name()}: {t.name('worker', 0)} {what} "
                                   f"({t.timeout:g} s without an answer); this ps task ends",
                                   params=("cluster",))


def worker_log(run_dir: Path, t: ClusterTask) -> logging.Handler | None:
    """worker-K.log in the run directory, once the chief has made it (else None)."""
    if not Path(run_dir).is_dir():
        return None
    handler = logging.FileHandler(Path(run_dir) / f"worker-{t.index}.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logging.getLogger("maist").addHandler(handler)
    return handler


def _wait_ready(sess, g, t: ClusterTask) -> None:
    """Until the chief has started the run, for the timeout at most."""
    from ..nets.backend import tf1

    ready_op = tf1.is_variable_initialized(g.control.ready)
    deadline = time.monotonic() + t.timeout
    while time.monotonic() < deadline:
        if sess.run(ready_op) and sess.run(g.control.ready):
            return
        time.sleep(0.1)
    raise ClusterError(f"{t.name()}: {t.name('worker', 0)} has not started the run within "
                       f"{t.timeout:g} s; start it (it owns the run directory)",
                       params=("cluster",))


def work(data, cfg, t: ClusterTask, run_dir, quiet: bool = False) -> int:
    """A worker other than the chief: each step, its rows of the step's batch (the same
    batch every worker makes, from (seed, step)) through its tower, the gradients to the
    ps; in a sync run it then waits for the chief to apply the step. Ends when the chief
    ends the run: 0, or 1 if the chief reported a failure."""
    from ..nets.backend import tf, tf1
    from .batches import feed_dict
    from .config import build_graph

    recipe = cfg.recipe
    server = start_server(t)
    wait_for(t, [("ps", p) for p in range(len(t.cluster["ps"]))] + [("worker", 0)])
    g = build_graph(cfg, data.num_classes, t.replicas)
    handler = None
    with tf1.Session(server.target, graph=g.graph, config=session_config(t)) as sess:
        _wait_ready(sess, g, t)
        handler = worker_log(run_dir, t)
        try:
            log.info(f"{t.name()}: training its share of each step of {run_dir}")
            steps = 0
            while True:
                step, stop = sess.run([g.global_step, g.control.stop])
                if stop != R.RUNNING or step >= recipe.steps:
                    log.info(f"{t.name()}: the run ended at step {step} ({steps} steps here)")
                    return 0 if stop != R.FAILED else 1
                feed, _ = feed_dict(g, data.train, step, recipe, cfg.seed, recipe.augmentation)
                feed.update({g.inputs.learning_rate: recipe.learning_rate(step),
                             g.inputs.keep_prob: recipe.keep_prob(step)})
                try:
                    sess.run(g.train_op, feed)
                except tf.errors.OpError as e:
                    raise explained(e, sess, g, t) from None
                steps += 1
                if t.sync:
                    _wait_applied(sess, g, t, step)
        finally:
            if handler is not None:
                logging.getLogger("maist").removeHandler(handler)
                handler.close()


def _wait_applied(sess, g, t: ClusterTask, step: int) -> None:
    """Until the chief has applied `step` (or ended the run), for the timeout at most."""
    deadline = time.monotonic() + t.timeout
    while True:
        now, stop = sess.run([g.global_step, g.control.stop])
        if now > step or stop != R.RUNNING:
            return
        if time.monotonic() > deadline:
            alive = answers(t.cluster["worker"][0])
            raise ClusterError(f"{t.name()}: {t.name('worker', 0)} has not applied step {step} "
                               f"within {t.timeout:g} s ({'it answers, but a worker may be gone' if alive else 'it is gone'}); "
                               f"this worker ends", params=("cluster",))
        time.sleep(POLL)


def requested_task(path=None, job: str | None = None, index: int | None = None,
                   sync: bool = True, timeout: float | None = None) -> ClusterTask | None:
    """The task a cluster file names (with its job and index), else TF_CONFIG's, else
    None (one process)."""
    timeout = TIMEOUT if timeout is None else timeout
    if path:
        if job is None or index is None:
            raise ClusterError("a cluster file needs the task's job (ps or worker) and its "
                               "index", params=("job", "task"))
        return task_from_file(path, job, index, sync, timeout)
    if job is not None or index is not None:
        raise ClusterError("a job and a task index name a task of a cluster file",
                           params=("cluster",))
    text = os.environ.get("TF_CONFIG")
    if not text:
        if not sync or timeout != TIMEOUT:
            raise ClusterError("asynchronous updates and a task timeout are for a cluster: "
                               "give a cluster file or TF_CONFIG", params=("cluster",))
        return None
    return task_from_tf_config(text, sync, timeout)
