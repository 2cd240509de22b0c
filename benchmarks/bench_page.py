"""The draw page under load: latency and throughput of /api/predict with 1, 4 and 8 clients.

The page is served as `scripts/serve.py` serves it (waitress), in a process of its own;
the clients are threads of this process, each posting real touch drawings (redrawn at
the page's 280x280 canvas, as the page sends them) in a loop over one kept-alive
connection. Every answer must be a 200 with a top 5; anything else is counted as an error.

    python benchmarks/bench_page.py runs/demo-expert [--clients 1,4,8] [--requests 200]

Two tables: /api/predict alone, and the page's own pattern (the top 5, then the layers'
maps for the same input in a second request). Target: p95 of /api/predict at most 50 ms
with 4 clients, no errors.
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


def start_server(run_dir: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "serve.py"), run_dir,
                             "--port", "0"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
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
    """n drawings, each /api/predict (timed in out["predict"]) and, as the page does once
    the top 5 is shown, /api/layers for the same input (out["layers"])."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for k in range(n):
        body = bodies[(offset + k) % len(bodies)]
        try:
            start = time.perf_counter()
            status, data = post(conn, "/api/predict", body)
            out["predict"].append(time.perf_counter() - start)
            answer = json.loads(data)
            if status != 200 or len(answer["top"]) != 5:
                errors.append(data[:200])
                continue
            if layers:
                start = time.perf_counter()
                status, data = post(conn, "/api/layers", json.dumps({"x": answer["x"]}).encode())
                out["layers"].append(time.perf_counter() - start)
                if status != 200 or len(json.loads(data)["layers"]) != 3:
                    errors.append(data[:200])
        except Exception as e:  # noqa: BLE001  (any failure is an error to count)
            errors.append(repr(e).encode())
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)


def figures(seconds: list[float]) -> dict:
    ms = sorted(x * 1000 for x in seconds) or [float("nan")]
    return {"p50": statistics.median(ms), "p95": ms[int(0.95 * (len(ms) - 1))], "max": ms[-1]}


def load(port: int, bodies: list[bytes], clients: int, requests: int, layers: bool) -> dict:
    out: dict = {"predict": [], "layers": []}
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
            "layers": figures(out["layers"]) if layers else None,
            "per_s": len(out["predict"]) / wall, "errors": len(errors),
            "first_error": errors[0].decode(errors="replace") if errors else ""}


def build_parser():
    p = parser(__doc__, touch=True)
    p.add_argument("run_dir", help="a trained run, e.g. runs/demo-expert")
    p.add_argument("--clients", default="1,4,8", help="(default: %(default)s)")
    p.add_argument("--requests", type=int, default=200, help="per client (default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    bodies = drawings(args.touch, 64)
    proc, port = start_server(args.run_dir)
    try:
        load(port, bodies, 2, 20, True)  # warm-up: graph optimisation, first allocations
        tables = {layers: [load(port, bodies, int(c), args.requests, layers)
                           for c in args.clients.split(",")] for layers in (False, True)}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"{args.run_dir}, {args.requests} drawings a client, touch drawings at "
          f"{CANVAS}x{CANVAS}\n")
    print("/api/predict alone (the top 5 and the input):\n")
    print(table_head("clients", "p50 ms", "p95 ms", "max ms", "answers/s", "errors"))
    for r in tables[False]:
        f = r["predict"]
        print(f"| {r['clients']} | {f['p50']:.0f} | {f['p95']:.0f} | {f['max']:.0f} | "
              f"{r['per_s']:.0f} | {r['errors']} |")
    print("\nAs the page asks: /api/predict, then /api/layers for the same input:\n")
    print(table_head("clients", "predict p50 ms", "predict p95 ms", "layers p50 ms",
                     "layers p95 ms", "drawings/s", "errors"))
    for r in tables[True]:
        f, g = r["predict"], r["layers"]
        print(f"| {r['clients']} | {f['p50']:.0f} | {f['p95']:.0f} | {g['p50']:.0f} | "
              f"{g['p95']:.0f} | {r['per_s']:.0f} | {r['errors']} |")
    for r in tables[False] + tables[True]:
        if r["errors"]:
            print(f"first error ({r['clients']} clients): {r['first_error']}")


if __name__ == "__main__":
    sys.exit(main())
