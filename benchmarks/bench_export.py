"""Every form a MAIST model leaves in, side by side: size, load time, latency, throughput and
what it reads of the real touch drawings.

Exports the run (scripts/export.py's export, int8 calibrated on its training images) into
a temporary folder, then measures each form in a fresh process:

    session                MAIST's own: maist.restore(run), the inference graph
    SavedModel             plain TensorFlow, no MAIST: tf.saved_model.load, serving_default
    SavedModel, pictures   the same, predict_pictures: PNG bytes in, the preprocessing in TF ops
    TFLite float / dynamic / int8   ai-edge-litert's Interpreter (tf.lite's where missing)

Latency is one image a call (p50 and p95 of 200 calls), throughput batches of 256; the
touch drawings are the 714 of MAIST's classes, preprocessed by MAIST for every form but
"pictures", which gets their PNG bytes.

    python benchmarks/bench_export.py runs/demo-expert
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import ROOT, parser, table_head
from PIL import Image

from maist import cli

CHILD = r"""
import json, os, sys, time
import numpy as np
form, model, xfile, yfile = sys.argv[1:5]
x, y = np.load(xfile), np.load(yfile)
t = time.perf_counter()
if form == "session":
    sys.path.insert(0, os.environ["MAIST_ROOT"])
    import maist
    r = maist.restore(model)
    run = lambda batch: r.probabilities(batch)
elif form in ("savedmodel", "pictures"):
    import tensorflow as tf
    m = tf.saved_model.load(model)
    if form == "savedmodel":
        f = m.signatures["serving_default"]
        run = lambda batch: f(images=tf.constant(batch))["scores"].numpy()
    else:
        f = m.signatures["predict_pictures"]
        run = lambda batch: f(pictures=tf.constant(list(batch)))["scores"].numpy()
        import pickle
        x = np.array(pickle.load(open(xfile.replace(".npy", ".pkl"), "rb")), dtype=object)
else:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf
        Interpreter = tf.lite.Interpreter
    it = Interpreter(model_path=model)
    inp = it.get_input_details()[0]
    outs = [d for d in it.get_output_details() if len(d["shape"]) == 2]
    state = {"n": None}
    def run(batch):
        batch = np.asarray(batch, np.float32)
        if state["n"] != len(batch):
            it.resize_tensor_input(inp["index"], [len(batch), 784]); it.allocate_tensors()
            state["n"] = len(batch)
        if inp["dtype"] == np.int8:
            s, z = inp["quantization"]
            batch = np.clip(np.round(batch / s + z), -128, 127).astype(np.int8)
        it.set_tensor(inp["index"], batch); it.invoke()
        out = it.get_tensor(outs[0]["index"])
        if outs[0]["dtype"] == np.int8:
            s, z = outs[0]["quantization"]
            out = (out.astype(np.float32) - z) * s
        return out
run(x[:1])
load = time.perf_counter() - t
times = []
for i in range(200):
    t = time.perf_counter(); run(x[i % len(x): i % len(x) + 1]); times.append(time.perf_counter() - t)
t = time.perf_counter()
done = 0
while time.perf_counter() - t < 3.0:
    run(x[:256]); done += 256
per_s = done / (time.perf_counter() - t)
scores = np.concatenate([run(x[i:i + 256]) for i in range(0, len(x), 256)])
print(json.dumps({"load_s": load, "p50_ms": float(np.percentile(times, 50) * 1000),
                  "p95_ms": float(np.percentile(times, 95) * 1000), "per_s": per_s,
                  "top1": float((scores.argmax(1) == y).mean())}))
"""


def size_of(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_parser():
    p = parser(__doc__, touch=True)
    p.add_argument("run_dir", help="a trained run, e.g. runs/demo-expert")
    return p


@cli.command(build_parser)
def main(args) -> int:

    import maist
    from maist.analysis import report
    from maist.data import sources
    from maist.data.classes import ClassSet
    from maist.inference import export
    from maist.runs import checkpoints

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = report.data_for_run(args.run_dir)
        export.export(args.run_dir, tmp / "out", quantize=("none", "dynamic", "int8"), data=data)
        with maist.restore(args.run_dir) as r:
            classes = ClassSet("run", tuple(r.classes))
            preprocess = r.preprocess
        touch = sources.load_touch(args.touch)
        x, y, kept = sources.from_images(touch.images, touch.chars, classes, preprocess)
        np.save(tmp / "x.npy", x)
        np.save(tmp / "y.npy", y)
        pngs = []
        for i in kept:
            buf = io.BytesIO()
            Image.fromarray(touch.images[i]).save(buf, "PNG")
            pngs.append(buf.getvalue())
        import pickle

        (tmp / "x.pkl").write_bytes(pickle.dumps(pngs))
        ckpt = Path(checkpoints.find(args.run_dir))
        forms = [
            ("session (maist.restore)", "session", args.run_dir,
             sum(p.stat().st_size for p in ckpt.parent.glob(ckpt.name + ".*"))),
            ("SavedModel, serving_default", "savedmodel", tmp / "out" / "saved_model",
             size_of(tmp / "out" / "saved_model")),
            ("SavedModel, predict_pictures (PNG in)", "pictures", tmp / "out" / "saved_model",
             size_of(tmp / "out" / "saved_model")),
        ] + [(f"TFLite {q}", "tflite", tmp / "out" / name, size_of(tmp / "out" / name))
             for q, name in export.TFLITE_NAMES.items()]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["MAIST_ROOT"] = str(ROOT)
        rows = []
        for label, form, model, size in forms:
            out = subprocess.run([sys.executable, "-c", CHILD, form, str(model),
                                  str(tmp / "x.npy"), str(tmp / "y.npy")],
                                 capture_output=True, text=True, env=env, cwd=ROOT)
            if out.returncode:
                raise SystemExit(f"{label}: {out.stderr[-1500:]}")
            rows.append((label, size, json.loads(out.stdout.strip().splitlines()[-1])))
    print(f"{args.run_dir}: {len(y)} touch drawings, each form in a fresh process\n")
    print(table_head("form", "size MB", "load s (imports included)",
                     "latency p50 / p95 ms (1 image)", "images/s (batches of 256)", "touch top-1"))
    for label, size, r in rows:
        print(f"| {label} | {size / 1e6:.1f} | {r['load_s']:.2f} | {r['p50_ms']:.2f} / "
              f"{r['p95_ms']:.2f} | {r['per_s']:,.0f} | {r['top1']:.1%} |")


if __name__ == "__main__":
    sys.exit(main())
