"""Training speed: MAIST's session loop against Keras model.fit, and the machine's ceiling.

Measures, in one run and on the same in-memory data:
  * the expert CNN trained by MAIST's TF1 session loop (feed_dict, one Session.run a step),
    images per second at batch 50 and 128;
  * the same loop with full augmentation (affine, elastic, stroke width) on every batch,
    made on a thread while the session trains (target: >= 0.9x the unaugmented rate);
  * the same network trained with Keras model.fit, the peer a user would pick instead;
  * a large float32 matrix multiply, GFLOP/s: the practical ceiling of these cores.
Prints the ratio to Keras (target >= 1.0x) and the loop's GFLOP/s as a share of the ceiling.
One expert training step on one image is about 82 MFLOP (forward and backward).

    python benchmarks/bench_train.py [--steps 200] [--batches 50,128] [--repeats 3]
    python benchmarks/bench_train.py --baseline ac17762 --batches 128 --repeats 4
    python benchmarks/bench_train.py --average 0.998 --batches 128 --repeats 4
    python benchmarks/bench_train.py --init he --batches 128 --repeats 4
    python benchmarks/bench_train.py --summaries --batches 128 --repeats 4

--summaries: what the evaluation steps' TensorBoard summaries (training.summaries: the
filter mosaic, the weights' and activations' histograms) cost, as a share of training at
an evaluation every 1,000 steps (the default) and every 100.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import numpy as np  # noqa: E402
from bench_train_keras import NUM_CLASSES, fake_data  # noqa: E402
from common import parser, table_head

from maist import cli
from maist.nets import graph as G  # noqa: E402  (sets TensorFlow up for graphs)
from maist.nets.backend import tf1  # noqa: E402
from maist.training.recipes import Recipe  # noqa: E402
from maist.training.schedule import StepTable  # noqa: E402


def expert_flops_per_image() -> float:
    """Multiply-adds x 2 of the forward pass, x 3 for forward + backward."""
    conv1 = 28 * 28 * 32 * 5 * 5 * 1
    conv2 = 14 * 14 * 64 * 5 * 5 * 32
    fc1 = 3136 * 1024
    fc2 = 1024 * NUM_CLASSES
    return 3 * 2 * (conv1 + conv2 + fc1 + fc2)


def time_maist(x, y, batch: int, steps: int, augment: str = "none", average: float = 0.0,
               init: str = "tutorial") -> float:
    """Images/s of MAIST's loop body, the trainer's own pieces: the batch (augmented on a
    thread when asked) made by train.feed_dict through train.Prefetch, then train_step."""
    from maist.data.augment import Augment
    from maist.data.dataset import Split
    from maist.training.loop import Prefetch, feed_dict, train_step

    recipe = Recipe("bench", "expert", "adam", "stable", steps + 10, batch,
                    StepTable.constant(1e-4), StepTable.constant(0.5), sampling="epoch",
                    augment=augment, average=average)
    split = Split(x, y, np.zeros(len(y), np.int64))
    aug = Augment.parse(augment)
    g = G.build("expert", NUM_CLASSES, seed=0, average=average, init=init)
    with tf1.Session(graph=g.graph) as sess:
        sess.run(g.init)
        batches = Prefetch(lambda i: feed_dict(g, split, i, recipe, 0, aug), recipe.steps)
        try:
            for i in range(10):  # warm-up: graph optimisation, allocations
                train_step(sess, g, batches.get(i)[0], i, 1e-4, 0.5, recipe, None)
            start = time.perf_counter()
            for i in range(10, 10 + steps):
                train_step(sess, g, batches.get(i)[0], i, recipe.learning_rate(i),
                           recipe.keep_prob(i), recipe, None)
            return steps * batch / (time.perf_counter() - start)
        finally:
            batches.close()


def time_keras_in_subprocess(batch: int, steps: int, n: int) -> float:
    """Keras needs eager TensorFlow, which MAIST's process has turned off: run it apart."""
    import subprocess
    import sys

    code = f"""
import os, time, numpy as np
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1"); os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
import tensorflow as tf
from bench_train_keras import keras_expert, fake_data
x, y = fake_data({n})
m = keras_expert()
warm = {batch} * 10
m.fit(x[:warm], y[:warm], batch_size={batch}, epochs=1, verbose=0, shuffle=True)
take = {batch} * {steps}
xs, ys = np.resize(x, (take, 784)), np.resize(y, take)
t = time.perf_counter()
m.fit(xs, ys, batch_size={batch}, epochs=1, verbose=0, shuffle=True)
print(take / (time.perf_counter() - t))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def matmul_gflops(n: int = 2048, reps: int = 10) -> float:
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = np.random.default_rng(1).random((n, n), dtype=np.float32)
    a @ b
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def print_rounds(batch: int, steps: int, rounds: list[tuple[float, float]], a: str, b: str,
                 verdict: str) -> None:
    """Alternating rounds of two contenders (images/s), their medians and the ratio b / a."""
    print(f"MAIST's loop, expert CNN, batch {batch}, {steps} timed steps, {len(rounds)} "
          f"alternating rounds\n\n| round | {a} img/s | {b} img/s |\n|---|---|---|")
    for k, (x, y) in enumerate(rounds, 1):
        print(f"| {k} | {x:.0f} | {y:.0f} |")
    first, second = (float(np.median(col)) for col in zip(*rounds))
    print(f"\nmedians: {first:.0f} and {second:.0f} images/s: {verdict} {second / first:.2f}x")


def against_baseline(rev: str, batch: int, steps: int, repeats: int) -> None:
    """The plain loop's images/s, this checkout against revision `rev`, each round a fresh
    process of each, alternating."""
    from common import ROOT, checkout, in_tree

    child = (f"import bench_train as b; x, y = b.fake_data(10_000); "
             f"print(b.time_maist(x, y, {batch}, {steps}))")
    with checkout(rev) as base:
        rounds = [(float(in_tree(base, child)), float(in_tree(ROOT, child)))
                  for _ in range(repeats)]
    print_rounds(batch, steps, rounds, rev, "this checkout", "this checkout runs at")


def with_average(decay: float, batch: int, steps: int, repeats: int) -> None:
    """The plain loop against the loop that also keeps a moving average of the weights
    (recipe field `average`), alternating in this process."""
    x, y = fake_data(10_000)
    rounds = [(time_maist(x, y, batch, steps), time_maist(x, y, batch, steps, average=decay))
              for _ in range(repeats)]
    print_rounds(batch, steps, rounds, "plain", f"average {decay:g}", "averaging runs at")


def with_init(init: str, batch: int, steps: int, repeats: int) -> None:
    """The loop with the tutorial's start against another (the expert's option `init`),
    alternating in this process: a start changes no op, but not every value is as fast to
    multiply (subnormal floats are slow on x86 unless flushed)."""
    x, y = fake_data(10_000)
    rounds = [(time_maist(x, y, batch, steps), time_maist(x, y, batch, steps, init=init))
              for _ in range(repeats)]
    print_rounds(batch, steps, rounds, "tutorial", f"init {init}", f"init {init} runs at")


def time_summaries(x, y, batch: int, steps: int, rounds: int) -> None:
    """Training steps and the summaries an evaluation step adds, timed alternately in one
    graph and session: the summaries' cost as a share of EVAL_EVERY steps' time."""
    from maist.data.dataset import Split
    from maist.nets.models import get_model
    from maist.training.config import EVAL_EVERY
    from maist.training.loop import feed_dict, train_step
    from maist.training.summaries import Summaries

    recipe = Recipe("bench", "expert", "adam", "stable", steps * rounds + 10, batch,
                    StepTable.constant(1e-4), StepTable.constant(0.5), sampling="epoch")
    split = Split(x, y, np.zeros(len(y), np.int64))
    g = G.build("expert", NUM_CLASSES, seed=0)
    summaries = Summaries(g, get_model("expert"))
    step_s, summary_s = [], []
    with tf1.Session(graph=g.graph) as sess:
        sess.run(g.init)
        feeds = [feed_dict(g, split, i, recipe, 0, None)[0] for i in range(steps)]
        for i in range(10):
            train_step(sess, g, feeds[i % steps], i, 1e-4, 0.5, recipe, None)
        summaries.at_evaluation(sess, x)
        for _ in range(rounds):
            t = time.perf_counter()
            for i in range(steps):
                train_step(sess, g, feeds[i], i, 1e-4, 0.5, recipe, None)
            step_s.append((time.perf_counter() - t) / steps)
            t = time.perf_counter()
            summaries.at_evaluation(sess, x)
            summary_s.append(time.perf_counter() - t)
    step, summary = float(np.median(step_s)), float(np.median(summary_s))
    print(f"expert CNN, batch {batch}: {rounds} alternating rounds of {steps} training steps "
          f"and one evaluation step's summaries\n")
    print(table_head("training step ms", "summaries ms", f"share at eval every {EVAL_EVERY}",
                     "share at eval every 100"))
    print(f"| {step * 1e3:.1f} | {summary * 1e3:.1f} | "
          f"{summary / (summary + EVAL_EVERY * step):.2%} | {summary / (summary + 100 * step):.2%} |")


def build_parser():
    p = parser(__doc__)
    p.add_argument("--steps", type=int, default=200, help="timed steps per case (default: %(default)s)")
    p.add_argument("--batches", default="50,128", help="(default: %(default)s)")
    p.add_argument("--repeats", type=int, default=3, help="alternating runs of the plain and "
                   "the augmented loop; medians are reported (default: %(default)s)")
    p.add_argument("--baseline", default=None, metavar="REV", help="instead: this checkout's "
                   "loop against git revision REV's, alternating (default: off)")
    p.add_argument("--average", type=float, default=None, metavar="DECAY", help="instead: the "
                   "loop with a moving average of the weights against the plain loop "
                   "(default: off)")
    p.add_argument("--summaries", action="store_true", help="instead: the cost of the "
                   "evaluation steps' TensorBoard summaries (default: off)")
    p.add_argument("--init", default=None, help="instead: the expert started with this init "
                   "(he) against the tutorial's start (default: off)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    if args.summaries:
        x, y = fake_data(10_000)
        for batch in (int(b) for b in args.batches.split(",")):
            time_summaries(x, y, batch, args.steps, args.repeats)
        return
    if args.init is not None:
        for batch in (int(b) for b in args.batches.split(",")):
            with_init(args.init, batch, args.steps, args.repeats)
        return
    if args.average is not None:
        for batch in (int(b) for b in args.batches.split(",")):
            with_average(args.average, batch, args.steps, args.repeats)
        return
    if args.baseline:
        for batch in (int(b) for b in args.batches.split(",")):
            against_baseline(args.baseline, batch, args.steps, args.repeats)
        return
    x, y = fake_data(10_000)
    flops = expert_flops_per_image()
    ceiling = matmul_gflops()
    print(f"oneDNN: TF_ENABLE_ONEDNN_OPTS={os.environ['TF_ENABLE_ONEDNN_OPTS']}, cores: {os.cpu_count()}")
    print(f"float32 2048^2 matmul (numpy/OpenBLAS): {ceiling:.1f} GFLOP/s  (the ceiling)")
    print(f"expert step: {flops / 1e6:.1f} MFLOP per image (forward + backward)\n")
    print(table_head("batch", "MAIST img/s", "augmented img/s", "augmented / MAIST",
                     "Keras fit img/s", "MAIST / Keras", "MAIST GFLOP/s", "share of ceiling"))
    for batch in (int(b) for b in args.batches.split(",")):
        # Back to back, alternating, so the machine's minute-to-minute swings hit both.
        plain, augmented = [], []
        for _ in range(args.repeats):
            plain.append(time_maist(x, y, batch, args.steps))
            augmented.append(time_maist(x, y, batch, args.steps, "full"))
        mine, aug = float(np.median(plain)), float(np.median(augmented))
        keras = time_keras_in_subprocess(batch, args.steps, 10_000)
        gf = mine * flops / 1e9
        print(f"| {batch} | {mine:.0f} | {aug:.0f} | {aug / mine:.2f}x | {keras:.0f} | "
              f"{mine / keras:.2f}x | {gf:.1f} | {gf / ceiling:.0%} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
