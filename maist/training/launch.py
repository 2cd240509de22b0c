"""A local cluster on one machine: every task of a ps/worker cluster as a process on
127.0.0.1, for trying a cluster run (and testing it) before spreading it over machines.

    local_cluster(workers, ps, host)      -> {"ps": [...], "worker": [...]} on free ports
    task_commands(cluster, train_args)    -> [(ClusterTask, env, argv)], ps first, chief last
    run_local(commands, out)              starts them, waits, stops all when one fails

Each task is `maist train ARGS` with its own TF_CONFIG, exactly what it would run on its
own machine; run_local prints those commands first. Ctrl-C goes to the chief, which saves
a checkpoint and ends the run, and so every task.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Sequence, TextIO

from ..errors import ClusterError
from ..nets.backend import child_env
from .cluster import ClusterTask, task, tf_config

GRACE = 30.0  # seconds the tasks are given to end on their own once the chief has


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """n ports nothing listens on now (the OS's choice)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def local_cluster(workers: int, ps: int, host: str = "127.0.0.1") -> dict:
    if workers < 1 or ps < 1:
        raise ClusterError(f"a cluster needs one worker and one ps task at least, not "
                           f"{workers} worker(s) and {ps} ps", params=("workers", "ps"))
    ports = free_ports(workers + ps, host)
    return {"ps": [f"{host}:{p}" for p in ports[:ps]],
            "worker": [f"{host}:{p}" for p in ports[ps:]]}


def with_run_dir(train_args: Sequence[str]) -> list[str]:
    """The train flags with a run directory: the one given, else a new runs/cluster[-N]
    (every task must name the same one)."""
    args = list(train_args)
    if any(a == "--run-dir" or a.startswith("--run-dir=") for a in args):
        return args
    from ..paths import runs_dir
    from ..runs.rundir import free_name

    return args + ["--run-dir", str(free_name(runs_dir(), "cluster"))]


def task_commands(cluster: dict, train_args: Sequence[str], sync: bool = True,
                  timeout: float | None = None) -> list[tuple[ClusterTask, dict, list[str]]]:
    """Each task's (task, TF_CONFIG env, argv): ps tasks, then workers 1.., the chief last."""
    extra = (["--async"] if not sync else []) + (
        ["--task-timeout", f"{timeout:g}"] if timeout is not None else [])
    order = [("ps", i) for i in range(len(cluster["ps"]))] + [
        ("worker", i) for i in range(1, len(cluster["worker"]))] + [("worker", 0)]
    out = []
    for job, i in order:
        t = task(cluster, job, i, "the local cluster", sync)
        argv = [sys.executable, "-m", "maist", "train", *train_args, *extra]
        out.append((t, {"TF_CONFIG": tf_config(t)}, argv))
    return out


def shown(env: dict, argv: Sequence[str]) -> str:
    """The command as a shell would take it on the task's own machine."""
    prog = ["maist"] + list(argv[3:]) if argv[1:3] == ["-m", "maist"] else list(argv)
    return " ".join([f"TF_CONFIG={shlex.quote(env['TF_CONFIG'])}"] + [shlex.quote(a) for a in prog])


def _relay(name: str, stream, out: TextIO) -> None:
    for line in iter(stream.readline, ""):
        out.write(f"[{name}] {line}")
        out.flush()
    stream.close()


def run_local(commands, out: TextIO = sys.stdout) -> int:
    """Start every task, relay its output with its name, and wait. When a task fails, the
    others are stopped; Ctrl-C is passed to the chief alone, which saves and ends the run
    (the others follow). The chief's exit code, or the failed task's."""
    procs: list[tuple[ClusterTask, subprocess.Popen]] = []
    threads = []
    for t, env, argv in commands:
        out.write(f"{t.name()}:\n    {shown(env, argv)}\n")
    out.flush()
    try:
        for t, env, argv in commands:
            p = subprocess.Popen(argv, env=child_env({**os.environ, **env}), stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, bufsize=1)
            procs.append((t, p))
            th = threading.Thread(target=_relay, args=(f"{t.job} {t.index}", p.stdout, out),
                                  daemon=True)
            th.start()
            threads.append(th)
        chief = procs[-1][1]
        while True:
            failed = [(t, p.returncode) for t, p in procs if p.poll() not in (None, 0)]
            if failed:
                t, code = failed[0]
                out.write(f"{t.name()} ended with exit code {code}; stopping the others\n")
                _stop(procs)
                return code
            if all(p.poll() is not None for _, p in procs):
                return chief.returncode
            if chief.poll() is not None:  # the chief is done: the others end on their own
                _wait(procs, GRACE)
                _stop(procs)
                return chief.returncode
            time.sleep(0.2)
    except KeyboardInterrupt:
        out.write("Ctrl-C: the chief saves a checkpoint and ends the run\n")
        if procs and procs[-1][0].chief and procs[-1][1].poll() is None:
            procs[-1][1].send_signal(signal.SIGINT)
            _wait(procs[-1:], GRACE * 4)
        _wait(procs, GRACE)
        _stop(procs)
        return procs[-1][1].returncode if procs and procs[-1][1].returncode is not None else 130
    finally:
        _stop(procs)
        for th in threads:
            th.join(timeout=5)


def _wait(procs, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for _, p in procs:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass


def _stop(procs) -> None:
    for _, p in procs:
        if p.poll() is None:
            p.terminate()
    for _, p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
