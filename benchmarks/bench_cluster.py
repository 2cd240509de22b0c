"""Beyond one device on this machine: towers and a local cluster, images a second, in one run.

Measures, back to back:
  * the expert CNN trained in one process on 1 device and on 2 CPU towers (--devices
    cpu:0,cpu:1), alternating rounds, images a second at the same global batch;
  * a local cluster (scripts/train_cluster.py: 1 ps, 1, 2 and 4 workers, synchronous) on
    the synthetic set: a short and a long run each, so that start-up cancels out and the
    per-step time is (T_long - T_short) / (steps_long - steps_short);
  * the bytes a worker moves per step: the parameters it pulls and the gradients it pushes
    (4 bytes each), and what a ps task's link carries for W workers.
Two cores cannot go faster with more devices or workers: the figures show the overhead.

    python benchmarks/bench_cluster.py [--rounds 3] [--steps 30] [--workers 1,2,4]
    python benchmarks/bench_cluster.py --classes 3036 --workers none   # etl9g3036's model
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import parser, table_head

from maist import cli
from maist.nets import graph as G
from maist.nets.backend import child_env, tf1
from maist.nets.devices import parse_devices, session_config

ROOT = Path(__file__).resolve().parent.parent


def tower_rate(devices: str, classes: int, batch: int, steps: int) -> float:
    """Images a second of train_op alone, after 5 warm-up steps."""
    devs = parse_devices(devices)
    rng = np.random.default_rng(0)
    x = rng.random((batch, 784)).astype(np.float32)
    y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, batch)]
    g = G.build("expert", classes, seed=0, devices=devs)
    with tf1.Session(graph=g.graph, config=session_config(devs)) as sess:
        sess.run(g.init)
        feed = {g.inputs.x: x, g.inputs.y_: y, g.inputs.learning_rate: 1e-4,
                g.inputs.keep_prob: 0.5}
        for _ in range(5):
            sess.run(g.train_op, feed)
        start = time.perf_counter()
        for _ in range(steps):
            sess.run(g.train_op, feed)
        return batch * steps / (time.perf_counter() - start)


def parameters(classes: int) -> int:
    return G.parameter_count(G.build("expert", classes))


def cluster_seconds(workers: int, steps: int, batch: int, root: Path) -> float:
    """Wall seconds of a local cluster run of `steps` (start-up, data and all)."""
    run_dir = root / f"w{workers}-s{steps}"
    argv = [sys.executable, str(ROOT / "scripts" / "train_cluster.py"), "--workers",
            str(workers), "--ps", "1", "--task-timeout", "120", "--recipe", "demo", "--steps",
            str(steps), "--batch-size", str(batch), "--eval-every", str(steps),
            "--checkpoint-every", str(steps), "--lr", "0.001", "--run-dir", str(run_dir)]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=child_env(os.environ))
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{workers} worker(s), {steps} steps failed:\n{done.stdout[-2000:]}")
    # The chief's own count of its training, beside the wall clock, to check the steps ran.
    m = re.search(r"completed after (\d+) steps", done.stdout)
    assert m and int(m.group(1)) == steps, done.stdout[-1000:]
    return took


def build_parser():
    p = parser(__doc__)
    p.add_argument("--rounds", type=int, default=3, help="(default: %(default)s)")
    p.add_argument("--steps", type=int, default=30, help="timed steps a tower round "
                   "(default: %(default)s)")
    p.add_argument("--batch", type=int, default=128, help="(default: %(default)s)")
    p.add_argument("--classes", type=int, default=71, help="(default: %(default)s)")
    p.add_argument("--workers", default="1,2,4", help="cluster sizes, or none "
                   "(default: %(default)s)")
    p.add_argument("--cluster-steps", default="20,80", help="the short and the long cluster "
                   "run (default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    rates = {"1 device": [], "2 towers": []}
    for r in range(args.rounds):
        order = list(rates) if r % 2 == 0 else list(rates)[::-1]
        for name in order:
            rates[name].append(tower_rate("" if name == "1 device" else "cpu:0,cpu:1",
                                          args.classes, args.batch, args.steps))
    print(f"\nexpert CNN, {args.classes} classes, batch {args.batch}, {args.steps} steps a "
          f"round, {args.rounds} rounds alternating\n")
    print(table_head("setting", "images/s (median)", "s per 1,000 steps", "vs 1 device"))
    one = float(np.median(rates["1 device"]))
    for name, values in rates.items():
        med = float(np.median(values))
        print(f"| {name} | {med:,.0f} | {1000 * args.batch / med:,.0f} | {med / one:.2f}x |")
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process (both settings' graphs and sessions): {peak:,.0f} MB")
    p = parameters(args.classes)
    mb = p * 4 / 1e6
    print(f"\nparameters {p:,}: a worker pulls {mb:.1f} MB and pushes {mb:.1f} MB a step; "
          f"a ps task's link carries W x {2 * mb:.1f} MB a step")
    if args.workers == "none":
        return 0
    short, long_ = (int(s) for s in args.cluster_steps.split(","))
    print(f"\nlocal cluster, 1 ps, synchronous, batch {args.batch}: ({'T'}{long_} - T{short}) / "
          f"{long_ - short} steps\n")
    print(table_head("workers", f"T{short} (s)", f"T{long_} (s)", "s per step", "images/s",
                     "vs 1 worker"))
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for w in (int(s) for s in args.workers.split(",")):
            t1 = cluster_seconds(w, short, args.batch, Path(tmp))
            t2 = cluster_seconds(w, long_, args.batch, Path(tmp))
            per = (t2 - t1) / (long_ - short)
            rate = args.batch / per
            base = base or rate
            print(f"| {w} | {t1:.0f} | {t2:.0f} | {per:.3f} | {rate:,.0f} | {rate / base:.2f}x |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
