"""A cluster on 127.0.0.1: one ps and two workers, TensorFlow's own gRPC servers, each task
a process of its own as on a machine of its own (scripts/train_cluster.py starts them)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import as_at_a_terminal, make_etl_folder

from maist.errors import ClusterError
from maist.training import cluster
from maist.training.launch import free_ports

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 8  # seconds a task waits for another: short, so that failures show quickly
FLAGS = ["--recipe", "demo", "--steps", "20", "--batch-size", "32", "--eval-every", "10",
         "--checkpoint-every", "10", "--pretrain", "none", "--seed", "3", "--lr", "0.001"]


@pytest.fixture(scope="module")
def etl(tmp_path_factory):
    return make_etl_folder(tmp_path_factory.mktemp("cluster") / "ETL9G", writers=10)


def _env(extra=None):
    from maist.nets.backend import child_env

    env = {k: v for k, v in child_env(os.environ).items() if k != "TF_CONFIG"}
    return {**env, **(extra or {})}


def launch(*args, cwd, timeout=600):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "train_cluster.py"), *args],
                          cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)


def metrics(run_dir):
    rows = (Path(run_dir) / "metrics.csv").read_text().splitlines()[1:]
    return [(int(r.split(",")[0]), r.split(",")[1], float(r.split(",")[2])) for r in rows]


def test_a_cluster_run_is_one_devices_run_and_restores_exports_and_serves(etl, tmp_path):
    """1 ps + 2 workers, synchronous, into one run directory that the chief alone writes;
    stopped at step 10 and resumed on the cluster, the same losses as one process; the
    run restores, exports and serves."""
    import maist
    web = pytest.importorskip("maist.app.server", reason="the draw page needs the app extra")
    from maist.commands.train import main as train_main
    from maist.inference.export import export

    run = tmp_path / "cluster"
    first = launch("--workers", "2", "--ps", "1", "--task-timeout", "30", "--data", str(etl),
                   *FLAGS[:3], "10", *FLAGS[4:], "--run-dir", str(run), cwd=tmp_path)
    assert first.returncode == 0, first.stdout[-3000:]
    assert "TF_CONFIG=" in first.stdout and "[worker 1]" in first.stdout
    assert "the chief ended the run" in first.stdout  # the ps task's join ended
    assert sorted(p.name for p in run.iterdir() if p.suffix in (".json", ".csv", ".log")) == \
        ["config.json", "metrics.csv", "result.json", "worker-1.log"]
    resumed = launch("--workers", "2", "--ps", "1", "--task-timeout", "30", "--data", str(etl),
                     *FLAGS, "--run-dir", str(run), "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert train_main(["--data", str(etl), *FLAGS, "--run-dir", str(tmp_path / "one")]) == 0
    got, want = metrics(run), metrics(tmp_path / "one")
    assert [r[:2] for r in got if r[1] != "test"] == [r[:2] for r in want if r[1] != "test"]
    np.testing.assert_allclose([r[2] for r in got if r[1] != "test"],
                               [r[2] for r in want if r[1] != "test"], rtol=1e-4)
    with maist.restore(run) as a, maist.restore(tmp_path / "one") as b:
        x = np.random.default_rng(0).random((8, 784)).astype(np.float32)
        np.testing.assert_allclose(a.probabilities(x), b.probabilities(x), atol=1e-4)
    assert export(run, tmp_path / "export", formats=("saved_model",))
    page = web.create_app(run, runs_root=tmp_path, mine_dir=tmp_path / "mine").test_client()
    assert page.get("/api/info").status_code == 200


def _start(spec: dict, job: str, index: int, run_dir, etl, *extra):
    env = _env({"TF_CONFIG": json.dumps({"cluster": spec, "task": {"type": job,
                                                                    "index": index}})})
    return subprocess.Popen([sys.executable, "-m", "maist", "train", "--data", str(etl), *FLAGS,
                             "--run-dir", str(run_dir), "--task-timeout", str(TIMEOUT), *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_at_a_terminal)  # some tests Ctrl-C the chief


def _local_spec(workers=2):
    ports = free_ports(workers + 1)
    return {"ps": [f"127.0.0.1:{ports[0]}"],
            "worker": [f"127.0.0.1:{p}" for p in ports[1:]]}


def _wait_for(path: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.2)


def test_a_worker_killed_is_named_in_bounded_time_and_the_checkpoint_kept(etl, tmp_path):
    spec = _local_spec()
    run = tmp_path / "run"
    steps = ["--steps", "100000", "--checkpoint-every", "10"]
    ps = _start(spec, "ps", 0, run, etl)
    worker = _start(spec, "worker", 1, run, etl)
    chief = _start(spec, "worker", 0, run, etl, *steps)
    try:
        _wait_for(run / "ckpt-10.index", 240)
        worker.kill()
        killed = time.monotonic()
        _, err = chief.communicate(timeout=TIMEOUT * 6)
        took = time.monotonic() - killed
        assert chief.returncode == 1
        assert f"worker 1 at {spec['worker'][1]} sent nothing for {TIMEOUT} s" in err, err[-2000:]
        assert took < TIMEOUT * 4
        ps.wait(timeout=TIMEOUT * 4)  # told by the chief that the run is over
        import maist

        with maist.restore(run) as r:  # the chief's last checkpoint is whole
            assert r.probabilities(np.zeros((1, 784), np.float32)).shape == (1, 71)
    finally:
        for p in (ps, worker, chief):
            if p.poll() is None:
                p.kill()


def test_ctrl_c_at_the_chief_saves_and_every_task_stops(etl, tmp_path):
    spec = _local_spec()
    run = tmp_path / "run"
    ps = _start(spec, "ps", 0, run, etl)
    worker = _start(spec, "worker", 1, run, etl)
    chief = _start(spec, "worker", 0, run, etl, "--steps", "100000")
    try:
        _wait_for(run / "ckpt-10.index", 240)
        chief.send_signal(signal.SIGINT)
        chief.wait(timeout=120)
        assert chief.returncode == 130
        worker.wait(timeout=TIMEOUT * 4)
        ps.wait(timeout=TIMEOUT * 4)
        assert worker.returncode == 0 and ps.returncode == 0
        assert json.loads((run / "result.json").read_text())["stopped"] == "interrupted"
    finally:
        for p in (ps, worker, chief):
            if p.poll() is None:
                p.kill()


def test_an_async_run_goes_on_without_a_dead_worker_and_says_so(etl, tmp_path):
    import threading

    spec = _local_spec()
    run = tmp_path / "run"
    ps = _start(spec, "ps", 0, run, etl, "--async")
    worker = _start(spec, "worker", 1, run, etl, "--async")
    chief = _start(spec, "worker", 0, run, etl, "--async", "--steps", "100000")
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(chief.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        _wait_for(run / "ckpt-10.index", 240)
        worker.kill()
        deadline = time.monotonic() + TIMEOUT * 6
        said = f"worker 1 at {spec['worker'][1]} has delivered nothing for {TIMEOUT} s; the " \
               f"asynchronous run goes on with 1 worker(s)"
        while not any(said in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines[-20:])
            time.sleep(0.5)
        steps = len(list(run.glob("ckpt-*.index")))
        chief.send_signal(signal.SIGINT)
        chief.wait(timeout=120)
        assert chief.returncode == 130  # it went on, and saved when asked to stop
        assert len(list(run.glob("ckpt-*.index"))) >= steps
        ps.wait(timeout=TIMEOUT * 4)
    finally:
        for p in (ps, worker, chief):
            if p.poll() is None:
                p.kill()


def test_a_worker_whose_chief_never_comes_up_says_so_in_bounded_time(etl, tmp_path):
    spec = _local_spec()
    start = time.monotonic()
    worker = _start(spec, "worker", 1, tmp_path / "run", etl)
    _, err = worker.communicate(timeout=TIMEOUT * 10)
    assert worker.returncode == 1
    assert "did not come up within" in err and spec["ps"][0] in err
    assert time.monotonic() - start < TIMEOUT * 8
    assert not (tmp_path / "run").exists()


# --- bad cluster specs: a clear error, and nothing written --------------------------------


@pytest.mark.parametrize("spec, job, index, msg", [
    ({"worker": ["127.0.0.1:2223"]}, "worker", 0, "no ps task"),
    ({"ps": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223"]}, "worker", 1,
     "task 1 is out of range: the worker job has 1 task"),
    ({"ps": ["localhost"], "worker": ["127.0.0.1:2223"]}, "worker", 0,
     "'localhost' is not an address; give host:port"),
    ({"ps": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2222"]}, "worker", 0, "given to two tasks"),
    ({"ps": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223"], "chief": ["h:1"]}, "worker", 0,
     "jobs chief: MAIST's cluster has ps and worker jobs"),
    ({"ps": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223"]}, "evaluator", 0, "ps or worker"),
])
def test_a_bad_cluster_is_named(spec, job, index, msg, tmp_path):
    f = tmp_path / "cluster.json"
    f.write_text(json.dumps(spec))
    with pytest.raises(ClusterError, match=msg):
        cluster.task_from_file(f, job, index)


def test_a_port_in_use_is_refused_before_anything_is_written(etl, tmp_path, capsys):
    from maist.commands.train import main as train_main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        f = tmp_path / "cluster.json"
        f.write_text(json.dumps({"ps": ["127.0.0.1:1"], "worker": [f"127.0.0.1:{port}"]}))
        code = train_main(["--data", str(etl), *FLAGS, "--run-dir", str(tmp_path / "run"),
                           "--cluster", str(f), "--job", "worker", "--task", "0"])
    assert code == 1
    assert f"worker 0 at 127.0.0.1:{port}: cannot listen there" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_tf_config_is_read_and_a_cluster_needs_its_run_dir(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps({
        "cluster": {"ps": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223", "127.0.0.1:2224"]},
        "task": {"type": "worker", "index": 1}}))
    t = cluster.requested_task()
    assert (t.job, t.index, t.workers, t.sync) == ("worker", 1, 2, True)
    assert t.address == "127.0.0.1:2224" and not t.chief
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ClusterError, match="TF_CONFIG is not JSON"):
        cluster.requested_task()
    monkeypatch.delenv("TF_CONFIG")
    assert cluster.requested_task() is None
    with pytest.raises(ClusterError, match="are for a cluster"):
        cluster.requested_task(sync=False)
