"""The draw page under load: latency and throughput of /api/predict with 1, 4 and 8 clients.

The page is served as `scripts/serve.py` serves it (waitress), in a process of its own;
the clients are threads of this process, each posting real touch drawings (redrawn at
the page's 280x280 canvas, as the page sends them) in a loop over one kept-alive
connection. Every answer must be a 200 with a top 5; anything else is counted as an error.

    python benchmarks/bench_page.py runs/demo-expert [--clients 1,4,8] [--requests 200]
    python benchmarks/bench_page.py runs/demo-expert --profile
    python benchmarks/bench_page.py runs/demo-expert --baseline REV --clients 4

--profile: where a request's time goes, stage by stage, in this process (one request at a
time): decoding the PNG, the preprocessing, the session run (with the maps and without),
encoding the input and the maps, the JSON, and Flask's own handling around them.
--baseline REV: the same load on git revision REV's page and on this checkout's, one after
the other in one run (the page is served from each tree in turn).

Two tables: /api/predict alone (the top 5, target p95 at most 20 ms with 4 clients), and
as the page asks once a stroke ends, the top 5 and the live layers' maps in one request
(target p95 at most 50 ms with 4 clients); no errors.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from common import ROOT, parser, table_head
from PIL import Image

from maist import cli

CANVAS = 280  # the draw page's canvas


def drawings(touch: str, n: int) -> list[bytes]:
    """n touch drawings as the page posts them: JSON with a PNG data URL of the canvas."""
    from maist.data import sources

    images = sources.load_touch(touch).images
    pick = np.random.default_rng(0).choice(len(images), n, replace=False)
    bodies = []
    for i in pick:
        buf = io.BytesIO()
        Image.fromarray(images[i]).resize((CANVAS, CANVAS), Image.BILINEAR).save(buf, "PNG")
        url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        bodies.append(json.dumps({"image": url}).encode())
    return bodies


def start_server(run_dir: str, tree=ROOT) -> tuple[subprocess.Popen, int]:
    """The page of the checkout at `tree` (its own maist first on the path) in a process."""
    import os

    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.Popen([sys.executable, str(tree / "scripts" / "serve.py"),
                             str(Path(run_dir).resolve()), "--port", "0"],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    line = proc.stdout.readline()  # "MAIST draw page: http://127.0.0.1:PORT/ ..."
    if "http://" not in line:
        proc.kill()
        raise SystemExit(f"the page did not start: {line!r}")
    return proc, int(line.split("http://")[1].split("/")[0].rsplit(":", 1)[1])


def post(conn, url: str, body: bytes):
    conn.request("POST", url, body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, response.read()


def client(port: int, bodies: list[bytes], n: int, offset: int, out: dict, errors: list,
           layers: bool) -> None:
    """n drawings posted to /api/predict (timed in out["predict"]); with `layers`, each asks
    for the maps too, in the same request, as the page does."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for k in range(n):
        body = bodies[(offset + k) % len(bodies)]
        if layers:
            body = body[:-1] + b', "layers": true}'
        try:
            start = time.perf_counter()
            status, data = post(conn, "/api/predict", body)
            out["predict"].append(time.perf_counter() - start)
            answer = json.loads(data)
            if status != 200 or len(answer["top"]) != 5 or (
                    layers and len(answer.get("layers", ())) != 3):
                errors.append(data[:200])
        except Exception as e:  # noqa: BLE001  (any failure is an error to count)
            errors.append(repr(e).encode())
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)


def figures(seconds: list[float]) -> dict:
    ms = sorted(x * 1000 for x in seconds) or [float("nan")]
    return {"p50": statistics.median(ms), "p95": ms[int(0.95 * (len(ms) - 1))], "max": ms[-1]}


def load(port: int, bodies: list[bytes], clients: int, requests: int, layers: bool) -> dict:
    out: dict = {"predict": []}
    errors: list[bytes] = []
    threads = [threading.Thread(target=client, args=(port, bodies, requests, 17 * c, out, errors,
                                                     layers)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"clients": clients, "predict": figures(out["predict"]),
            "per_s": len(out["predict"]) / wall, "errors": len(errors),
            "first_error": errors[0].decode(errors="replace") if errors else ""}


def profile(run_dir: str, bodies: list[bytes], rounds: int = 3) -> None:
    """Each stage of /api/predict (with the maps and without) timed on its own, one at a time,
    in this process: the medians in ms and their shares of the whole."""
    from maist.app import server as web

    app = web.create_app(run_dir, runs_root=str(Path(run_dir).parent))
    client = app.test_client()
    served = app.maist_model.served()
    r = served.restored
    stages: dict[str, list[float]] = {}

    def timed(name, fn, *a, **k):
        t = time.perf_counter()
        out = fn(*a, **k)
        stages.setdefault(name, []).append(time.perf_counter() - t)
        return out

    for body in bodies * rounds:
        url = json.loads(body)["image"]
        raw = timed("decode the data URL", web.decode_data_url, url)
        picture = timed("read the PNG", web.read_picture, io.BytesIO(raw),
                        max_pixels=web.PAGE_PIXELS)
        x = timed("preprocess to 28x28", web.from_picture, picture, r.preprocess)
        probs, _ = timed("session: top 5", r.read, x, [])
        _, maps = timed("session: top 5 and maps", r.read, x, served.layers)
        timed("encode the input", web.raw_picture, x)
        answer = timed("encode the maps", served._layer_pictures, maps)
        timed("JSON of the maps", json.dumps, answer)
        timed("/api/predict in Flask (all)", client.post, "/api/predict", data=body,
              content_type="application/json")
        timed("/api/predict with the maps in Flask (all)", client.post, "/api/predict",
              data=body[:-1] + b', "layers": true}', content_type="application/json")
    print(f"{run_dir}: each stage alone, {len(bodies) * rounds} drawings, one at a time\n")
    print(table_head("stage", "median ms", "p95 ms"))
    for name, times in stages.items():
        ms = sorted(t * 1000 for t in times)
        print(f"| {name} | {statistics.median(ms):.2f} | {ms[int(0.95 * (len(ms) - 1))]:.2f} |")


def build_parser():
    p = parser(__doc__, touch=True)
    p.add_argument("run_dir", help="a trained run, e.g. runs/demo-expert")
    p.add_argument("--clients", default="1,4,8", help="(default: %(default)s)")
    p.add_argument("--requests", type=int, default=200, help="per client (default: %(default)s)")
    p.add_argument("--profile", action="store_true", help="instead: each stage's time, in "
                   "this process (default: off)")
    p.add_argument("--baseline", default=None, metavar="REV", help="also serve git revision "
                   "REV's page under the same load, before this checkout's (default: off)")
    return p


def measure(run_dir: str, bodies: list[bytes], clients: str, requests: int, tree=ROOT) -> dict:
    """Both tables' rows for the page served from `tree`."""
    proc, port = start_server(run_dir, tree)
    try:
        load(port, bodies, 2, 20, True)  # warm-up: graph optimisation, first allocations
        return {layers: [load(port, bodies, int(c), requests, layers)
                         for c in clients.split(",")] for layers in (False, True)}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def print_tables(name: str, tables: dict) -> None:
    for layers, what in ((False, "/api/predict, the top 5 and the input"),
                         (True, "/api/predict with the maps, as the page asks once a stroke "
                                "ends")):
        print(f"\n{name}: {what}:\n")
        print(table_head("clients", "p50 ms", "p95 ms", "max ms", "answers/s", "errors"))
        for r in tables[layers]:
            f = r["predict"]
            print(f"| {r['clients']} | {f['p50']:.0f} | {f['p95']:.0f} | {f['max']:.0f} | "
                  f"{r['per_s']:.0f} | {r['errors']} |")
        for r in tables[layers]:
            if r["errors"]:
                print(f"first error ({r['clients']} clients): {r['first_error']}")


@cli.command(build_parser)
def main(args) -> int:
    bodies = drawings(args.touch, 64)
    if args.profile:
        profile(args.run_dir, bodies)
        return
    from common import checkout

    results = []
    with checkout(args.baseline) as base:
        if base is not None:
            results.append((args.baseline, measure(args.run_dir, bodies, args.clients,
                                                   args.requests, base)))
        results.append(("this checkout", measure(args.run_dir, bodies, args.clients,
                                                 args.requests)))
    print(f"{args.run_dir}, {args.requests} drawings a client, touch drawings at "
          f"{CANVAS}x{CANVAS}")
    for name, tables in results:
        print_tables(name, tables)


if __name__ == "__main__":
    sys.exit(main())
