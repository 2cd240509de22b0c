"""The full ETL9G at 28x28: all 3036 classes x 200 writers = 607,200 images.

Builds `etl9g3036` from 50 real-size ETL9G files (the ETL benchmark's generator writes
them under data/bench50/ when they are missing: 4.7 GB, AIST's layout and record counts,
hiragana images for the hiragana and images from the same pool for the kanji), then,
each stage in a fresh process whose peak memory the kernel reports:

  build    ETL records -> centered 28x28 uint8, the writer split, written to a cache .npz
  reload   the cache read back, as every later run reads it
  batches  a pass of 128-image training batches, converted to float32 a batch at a time

and checks what must hold at that size: every class 200 times, 200 writers split
160/20/20 with none in two splits, uint8 pixels, the cache equal to the build.
Target: peak memory under 4 GB for each stage.

    python benchmarks/scale_etl9g.py [--dir data/bench50]
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, table_head  # noqa: E402

from maist import cli  # noqa: E402

CLASSES = "etl9g3036"
FILES = 50


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KB on Linux


def stage_build(folder: str, cache: str, q) -> None:
    import warnings

    from maist.data import dataset, etl

    warnings.simplefilter("ignore", etl.EtlCountWarning)
    start = time.perf_counter()
    data = dataset.build(folder, CLASSES, "centered", "writer", cache=True, cache_dir=cache)
    seconds = time.perf_counter() - start
    q.put({"seconds": seconds, "peak_gb": peak_gb(), "images": sum(
        len(data.split(s)) for s in dataset.SPLITS)})


def stage_reload(folder: str, cache: str, q) -> None:
    import warnings

    from maist.data import dataset, etl

    warnings.simplefilter("ignore", etl.EtlCountWarning)
    start = time.perf_counter()
    data = dataset.build(folder, CLASSES, "centered", "writer", cache=True, cache_dir=cache)
    seconds = time.perf_counter() - start
    splits = [data.split(s) for s in dataset.SPLITS]
    labels = np.concatenate([s.y for s in splits])
    writers = [set(np.unique(s.writers).tolist()) for s in splits]
    checks = {
        "images": len(labels),
        "classes": data.num_classes,
        "every class 200 times": bool((np.bincount(labels, minlength=data.num_classes) == 200).all()),
        "writers per split": [len(w) for w in writers],
        "no writer in two splits": not (writers[0] & writers[1] or writers[0] & writers[2]
                                        or writers[1] & writers[2]),
        "pixels": str(splits[0].pixels.dtype),
        "pixel MB": round(sum(s.pixels.nbytes for s in splits) / 2**20),
    }
    q.put({"seconds": seconds, "peak_gb": peak_gb(), **checks})


def stage_batches(folder: str, cache: str, q) -> None:
    import warnings

    from maist.data import dataset, etl

    warnings.simplefilter("ignore", etl.EtlCountWarning)
    data = dataset.build(folder, CLASSES, "centered", "writer", cache=True, cache_dir=cache)
    train = data.train
    steps = len(train) // 128
    start = time.perf_counter()
    total = 0.0
    for step in range(steps):
        x = train.take(train.batch_indices(step, 128))
        total += float(x[0, 0])
    seconds = time.perf_counter() - start
    q.put({"seconds": seconds, "peak_gb": peak_gb(), "batches": steps,
           "dtype": str(x.dtype), "per batch ms": 1000 * seconds / steps})


def run(stage, *args) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=stage, args=(*args, q))
    p.start()
    out = q.get()
    p.join()
    return out


def build_parser():
    p = parser(__doc__)
    p.add_argument("--dir", default=str(ROOT / "data" / "bench50"), help="(default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    folder = Path(args.dir)
    from bench_etl import make_files

    start = time.perf_counter()
    paths = make_files(folder, FILES)
    size = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} ETL9G files, {size / 1e9:.2f} GB in {folder} "
          f"({time.perf_counter() - start:.0f} s to check or write)\n")
    with tempfile.TemporaryDirectory(dir=ROOT / "data") as cache:
        built = run(stage_build, str(folder), cache)
        npz = sorted(Path(cache).glob("maist-*.npz"))
        reloaded = run(stage_reload, str(folder), cache)
        batches = run(stage_batches, str(folder), cache)
        cache_mb = sum(p.stat().st_size for p in npz) / 2**20
    print(table_head("stage", "seconds", "peak memory GB"))
    print(f"| build {built['images']:,} images from {size / 1e9:.1f} GB of ETL9G, to the cache "
          f"({cache_mb:.0f} MB) | {built['seconds']:.0f} | {built['peak_gb']:.2f} |")
    print(f"| reload from the cache | {reloaded['seconds']:.1f} | {reloaded['peak_gb']:.2f} |")
    print(f"| {batches['batches']:,} training batches of 128 ({batches['dtype']}, "
          f"{batches['per batch ms']:.2f} ms each) | {batches['seconds']:.1f} | "
          f"{batches['peak_gb']:.2f} |")
    print()
    for k, v in reloaded.items():
        if k not in ("seconds", "peak_gb"):
            print(f"{k}: {v}")
    ok = (reloaded["images"] == 607_200 and reloaded["every class 200 times"]
          and reloaded["writers per split"] == [160, 20, 20] and reloaded["no writer in two splits"]
          and max(built["peak_gb"], reloaded["peak_gb"], batches["peak_gb"]) < 4.0)
    print(f"\n{'all checks hold' if ok else 'A CHECK FAILED'}; peak memory target: under 4 GB")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    sys.exit(main())
