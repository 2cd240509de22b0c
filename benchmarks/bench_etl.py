"""ETL reading speed and memory: MAIST against the way public readers do it.

Generates ETL9G-format files of real size (default 5 files x 12,144 records = 498 MB:
4 writers x 3036 classes each, the 71 hiragana and 2965 kanji in JIS order, images from
the synthetic renderer) under data/bench/, then times, each in a fresh process with its
peak memory read from the kernel:

  Select (build the hiragana71 set; the kanji are read past)
    raw read floor  the same bytes read in 16 MB blocks, nothing decoded
    reference       per record: f.read(8199), struct.unpack, and for a hiragana
                    PIL.Image.frombytes('F', (128, 127), data, 'bit', 4) + PIL's resize
                    (Image.BOX, the antialiased filter of MAIST's `seed`, so the
                    two outputs can be compared pixel for pixel)
    MAIST           maist.data.etl.select(..., preprocess.blog)    target: within 2x the floor
  Decode everything (every record to 28x28, written to an .npy as it goes)
    reference       the per-record PIL path for every record
    MAIST           maist.data.etl.iter_decoded(..., preprocess.blog) target: 20x the reference

The page cache is warmed first, so the floor is memory speed, not the disk's. Imports
are not timed, for either reader: MAIST's include maist._box, whose numba kernel is
compiled (or loaded from numba's cache) at import; that one-time cost per process is
measured and printed on its own line.

    python benchmarks/bench_etl.py [--files 5] [--workers 2]
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import struct
import sys
import time
from pathlib import Path

import numpy as np
from common import parser

from maist import cli  # light: the error root and the commands' wrapper, no reader

ROOT = Path(__file__).resolve().parent.parent
RECORD = 8199
ETL9G_STRUCT = ">2H8sI4B4H2B34x8128s7x"  # as public readers write it; field 15 is the image


def jis_level1_kanji(n: int = 2965) -> list[int]:
    """The first n JIS X 0208 codes from row 0x30 on that map to a character."""
    from maist.data.classes import jis_to_char
    from maist.errors import ClassSetError

    out = []
    for hi in range(0x30, 0x50):
        for lo in range(0x21, 0x7F):
            try:
                jis_to_char((hi << 8) | lo)
            except ClassSetError:
                continue
            out.append((hi << 8) | lo)
    return out[:n]


def hiragana71():
    """The blog's 71 classes (imported here: the reference readers' timings exclude MAIST)."""
    from maist.data.classes import get_class_set

    return get_class_set("hiragana71")


def make_files(folder: Path, n_files: int, seed: int = 0) -> list[Path]:
    """Real-size ETL9G files; images drawn from a pool rendered by maist.synth."""
    from maist import synth
    from maist.data import etl

    fmt = etl.FORMATS["ETL9G"]
    expected = 12144 * RECORD
    paths = [folder / f"ETL9G_{i + 1:02d}" for i in range(n_files)]
    if all(p.exists() and p.stat().st_size == expected for p in paths):
        return paths
    codes = [int(c) for c in hiragana71().jis_codes] + jis_level1_kanji()  # 3036, JIS order
    codes.sort()
    cfg = synth.SynthConfig(seed=seed)
    pool = np.concatenate([synth.render_writer(w, cfg) for w in range(4)])  # (284, 127, 128)
    packed_pool = etl.pack_images(pool, fmt)
    rng = np.random.default_rng(seed)
    hira = {int(c): i for i, c in enumerate(hiragana71().jis_codes)}
    folder.mkdir(parents=True, exist_ok=True)
    for f, path in enumerate(paths):
        recs = etl.new_records(fmt, 12144)
        recs["jis"] = np.tile(codes, 4)
        recs["sheet"] = np.repeat(np.arange(4) + 4 * f + 1, 3036)
        recs["serial"] = np.arange(12144) + 12144 * f + 1
        recs["reading"] = b"BENCH   "
        for w in range(4):
            for j, code in enumerate(codes):
                # a hiragana gets its own class's image, a kanji any image of the pool
                k = hira[code] + 71 * w if code in hira else rng.integers(len(pool))
                recs["image"][w * 3036 + j] = packed_pool[k]
        if path.exists():
            path.unlink()
        etl.write_etl(path, recs, fmt)
    return paths


# --- the contenders (each runs in its own process) ----------------------------------------


def raw_floor(paths, out):
    buf = bytearray(16 << 20)
    n = 0
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while True:
                got = f.readinto(buf)
                if not got:
                    break
                n += got
    return {"bytes": n}


def _reference_image(data: bytes) -> np.ndarray:
    from PIL import Image

    img = Image.frombytes("F", (128, 127), data, "bit", 4)
    return np.asarray(img.resize((28, 28), Image.BOX), dtype=np.float32) / 15.0


def _reference_records(paths):
    """The public readers' loop: one f.read and one struct.unpack per record."""
    for p in paths:
        with open(p, "rb") as f:
            while True:
                data = f.read(RECORD)
                if len(data) < RECORD:
                    break
                yield struct.unpack(ETL9G_STRUCT, data)


def reference_select(paths, out):

    wanted = {int(c): i for i, c in enumerate(hiragana71().jis_codes)}
    images = [_reference_image(r[14]) for r in _reference_records(paths) if r[1] in wanted]
    np.save(out, np.stack(images))
    return {"images": len(images)}


def maist_select(paths, out, workers=2):
    from maist.data import etl, preprocess

    sel = etl.select(etl.find_etl_files(paths), hiragana71(), preprocess.blog, workers=workers,
                     packed=preprocess.blog_packed)
    np.save(out, sel.images)
    return {"images": len(sel.images)}


class NpyStream:
    """An .npy file written a chunk at a time (its length patched in at the end)."""

    def __init__(self, path: Path, shape_tail: tuple[int, ...], n: int):
        self.f = open(path, "wb")
        np.lib.format.write_array_header_2_0(
            self.f, {"descr": "<f4", "fortran_order": False, "shape": (n, *shape_tail)})

    def write(self, arr: np.ndarray) -> None:
        self.f.write(memoryview(np.ascontiguousarray(arr, dtype="<f4")).cast("B"))

    def close(self) -> None:
        self.f.close()


def reference_decode_all(paths, out):
    n = sum(Path(p).stat().st_size // RECORD for p in paths)
    stream = NpyStream(out, (28, 28), n)
    for r in _reference_records(paths):
        stream.write(_reference_image(r[14]))
    stream.close()
    return {"images": n}


def maist_decode_all(paths, out, workers=2):
    from maist.data import etl, preprocess

    files = etl.find_etl_files(paths)
    stream = NpyStream(out, (28, 28), sum(f.n_samples for f in files))
    n = 0
    for _, _, _, images in etl.iter_decoded(files, preprocess.blog, workers=workers,
                                                   packed=preprocess.blog_packed):
        stream.write(images)
        n += len(images)
    stream.close()
    return {"images": n}


def _child(fn, args, queue):
    import importlib

    for name in ("PIL.Image", "maist.data.etl", "maist.data.classes", "maist.data.preprocess"):
        importlib.import_module(name)  # imports are not what is timed
    startup = 0.0
    if fn.__name__.startswith("maist_"):
        start = time.perf_counter()
        importlib.import_module("maist.data._box")  # numba: compiled or loaded from its cache
        startup = time.perf_counter() - start
    start = time.perf_counter()
    info = fn(*args)
    info["seconds"] = time.perf_counter() - start
    info["startup"] = startup
    info["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(info)


def measure(fn, *args) -> dict:
    """Run fn in a fresh (spawned) process: its time and its own peak resident memory."""
    os.sync()  # the last contender's output is on disk: its write-back does not slow this one
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, q))
    proc.start()
    info = q.get()
    proc.join()
    return info


def build_parser():
    p = parser(__doc__)
    p.add_argument("--files", type=int, default=5, help="ETL9G files of 12,144 records "
                   "(default: %(default)s)")
    p.add_argument("--workers", type=int, default=2, help="MAIST's decoding threads, one BLAS thread each "
                   "(default: %(default)s)")
    p.add_argument("--dir", default=str(ROOT / "data" / "bench"), help="(default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    folder = Path(args.dir)
    t = time.perf_counter()
    paths = make_files(folder, args.files)
    n_records = 12144 * len(paths)
    mb = n_records * RECORD / 1e6
    print(f"{len(paths)} ETL9G files, {n_records:,} records, {mb:.0f} MB in {folder} "
          f"(ready in {time.perf_counter() - t:.0f} s)")
    raw_floor(paths, None)  # warm the page cache
    out = folder / "out.npy"
    ref_out = folder / "ref.npy"

    rows = []

    def row(task, name, info, base=None):
        s = info["seconds"]
        rows.append((task, name, n_records / s, mb / s, s, info["peak_mb"], base))
        return s

    floor = row("select", "raw read floor", measure(raw_floor, paths, None))
    ref = measure(reference_select, paths, ref_out)
    row("select", "reference (struct + PIL)", ref)
    mine = measure(maist_select, paths, out, args.workers)
    row("select", f"MAIST select ({args.workers} threads)", mine)
    a, b = np.load(out), np.load(ref_out)
    same = a.shape == b.shape and float(np.abs(a - b).max())
    t_ref_all = row("decode all", "reference (struct + PIL)", measure(reference_decode_all, paths, ref_out))
    mine_all = measure(maist_decode_all, paths, out, args.workers)
    t_all = row("decode all", f"MAIST iter_decoded ({args.workers} threads)", mine_all)
    a, b = np.load(out, mmap_mode="r"), np.load(ref_out, mmap_mode="r")
    diff_all = float(max(np.abs(a[i : i + 4096] - b[i : i + 4096]).max() for i in range(0, len(a), 4096)))

    print("\n| task | reader | records/s | MB/s | seconds | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for task, name, rps, mbs, s, peak, _ in rows:
        print(f"| {task} | {name} | {rps:,.0f} | {mbs:,.0f} | {s:.2f} | {peak:.0f} |")
    t_sel = mine["seconds"]
    print(f"\nselect: {ref['images']} hiragana; MAIST vs reference images, max |diff| = {same}")
    print(f"select: MAIST / raw floor time = {t_sel / floor:.2f}x  (target <= 2x)")
    print(f"select: reference / MAIST time = {ref['seconds'] / t_sel:.1f}x")
    print(f"decode all: reference / MAIST time = {t_ref_all / t_all:.1f}x  (target >= 20x); "
          f"max |diff| = {diff_all:.2e}")
    once = mine_all["startup"]
    print(f"one-time start-up per process, import maist._box (numba): {once:.2f} s; counted in, "
          f"decode all is {t_ref_all / (t_all + once):.1f}x and select "
          f"{(t_sel + mine['startup']) / floor:.2f}x the floor")
    out.unlink()
    ref_out.unlink()


if __name__ == "__main__":
    sys.exit(main())
