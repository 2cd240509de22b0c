"""Draw a character, watch the network read it: a local web page over a trained run.

    create_app(run_dir, runs_root="runs", mine_dir="data/mine") -> a Flask app
    GET  /                     the page (app/static/: no CDN, nothing from the network)
    GET  /api/runs             the runs under runs_root that hold a checkpoint
    POST /api/run   {"run"}    switch to another run under runs_root
    GET  /api/info             classes, model, step, preprocessing, the filters as a picture
    POST /api/predict {"image": PNG data URL}   top-5 and the 28x28 input; "layers": true adds
                                                the live layers' maps, from the same session
                                                call (what the page asks, once a stroke ends)
    POST /api/layers {"x": the input}           the maps for an input predict made
    The input is {"width", "height", "pixels"}, and a map {"name", "shape", "width", "height",
    "pixels"}: grey bytes in base64, which the page draws on a canvas (raw_picture).
    POST /api/save {"image", "label"}           mine_dir/LABEL/0001.png, for fine-tuning
    GET  /api/mine             the drawings saved per character, and the command that adapts

Inference is the run's own inference graph through inference.restore. Requests run side
by side, and their session calls are merged into batches (inference.batching); a lock
only guards which run is current, and a run is restored in full before it replaces the
current one, so a damaged run never breaks the page for anyone. Every bad request gets a
JSON {"error": ...} and a 4xx status; the server stays up. Flask is an optional extra: pip install -e ".[app]".
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import threading
from importlib import resources
from pathlib import Path

import numpy as np

from ..data.classes import scripts, scripts_text
from ..data.pictures import from_picture, read_picture
from ..errors import BadRequest, ClassSetError, MaistError, PictureError, PictureTooLarge, RunError
from ..geometry import IMAGE_SIZE
from ..inference.batching import Batcher
from ..inference.restore import Restored, restore, within_scripts
from ..runs import checkpoints
from ..runs.records import FILE as RECORD_FILE
from .mine import mine_summary, save_drawing

MAX_BODY = 2 * 1024 * 1024  # a drawn character's PNG is a few KB; 2 MB is generous
PAGE_PIXELS = 2048 * 2048  # a canvas is a few hundred pixels a side
TOP = 5
# Predictions at once: more only queue for the same two cores. A request that waits
# longer than BUSY_WAIT seconds for its turn gets a 503 and may try again.
BUSY_SLOTS, BUSY_WAIT = 4, 10.0
# One thread a session run: requests run side by side already, and one drawing's forward
# pass is too small to share out (bench_page: about 10% more answers a second).
SESSION_THREADS = 1


class Gate:
    """At most `slots` requests do the work at once; the others wait up to `wait` s."""

    def __init__(self, slots: int, wait: float):
        self.slots, self.wait = threading.BoundedSemaphore(slots), wait

    def __enter__(self):
        if not self.slots.acquire(timeout=self.wait):
            raise BadRequest(f"the page is busy (over {self.wait:g} s in the queue); try again",
                             503)
        return self

    def __exit__(self, *exc):
        self.slots.release()
        return False


# --- pictures as data URLs ------------------------------------------------------------------

def png_data_url(image: np.ndarray) -> str:
    """(H, W) floats in [0, 1] (ink bright) -> a greyscale PNG as a data: URL."""
    from PIL import Image

    img = Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8), mode="L")
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)  # a few KB either way; level 1 is 3x faster
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def raw_picture(image: np.ndarray) -> dict:
    """(H, W) floats in [0, 1] -> {"width", "height", "pixels": base64 of H*W grey bytes, row
    by row}: what the page draws on a canvas itself, about 30 times cheaper to make than a
    PNG (the maps change with every stroke; their bytes are a few KB either way)."""
    grey = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    return {"width": int(grey.shape[1]), "height": int(grey.shape[0]),
            "pixels": base64.b64encode(grey.tobytes()).decode("ascii")}


def mosaic(maps: np.ndarray, cols: int = 8, gap: int = 1) -> np.ndarray:
    """(H, W, N) maps -> one (rows*(H+gap)-gap, cols*(W+gap)-gap) picture, each map on its
    own scale (as visualize.activation_grid draws them), the gaps grey."""
    h, w, n = maps.shape
    rows = -(-n // cols)
    lo, hi = maps.min(axis=(0, 1)), maps.max(axis=(0, 1))  # (N,) each map's range
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = np.where(hi > lo, (maps - lo) / span, 0.0).astype(np.float32)  # (H, W, N)
    tiles = np.full((rows * cols, h + gap, w + gap), 0.25, np.float32)
    tiles[:n, :h, :w] = scaled.transpose(2, 0, 1)
    # (rows, cols, H+gap, W+gap) -> (rows, H+gap, cols, W+gap): the tiles side by side
    out = tiles.reshape(rows, cols, h + gap, w + gap).transpose(0, 2, 1, 3)
    return out.reshape(rows * (h + gap), cols * (w + gap))[: -gap or None, : -gap or None]


def decode_data_url(text) -> bytes:
    if not isinstance(text, str) or not text:
        raise BadRequest("send the drawing as {\"image\": \"data:image/png;base64,...\"}")
    _, _, payload = text.partition(",") if text.startswith("data:") else ("", "", text)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("the image is not base64 data; send a PNG data URL") from None


def decode_input(text) -> np.ndarray:
    """The `x` that /api/predict answered with: 784 float32 pixels in [0, 1], base64."""
    try:
        raw = base64.b64decode(text, validate=True) if isinstance(text, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    x = np.frombuffer(raw, dtype="<f4") if len(raw) == IMAGE_SIZE * IMAGE_SIZE * 4 else None
    if x is None or not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise BadRequest("send {\"x\": ...} as /api/predict answered it: 784 pixels in "
                         "[0, 1], float32, base64")
    return x.reshape(IMAGE_SIZE, IMAGE_SIZE).astype(np.float32)


# --- the model, shared ----------------------------------------------------------------------

class Model:
    """The current run, shared by every request; switching replaces it whole."""

    def __init__(self, runs_root: Path):
        self.root = Path(runs_root)
        self.lock = threading.Lock()
        self.current: Served | None = None

    def inside_root(self, name: str) -> Path:
        """A run named relative to runs_root; a path that leaves it is refused."""
        if "\x00" in name:
            raise BadRequest("a run name cannot hold a NUL character")
        path = Path(name)
        if path.is_absolute() or ".." in path.parts:
            raise BadRequest(f"{name!r}: give a run under {self.root} by its name", 403)
        full = (self.root / path).resolve()
        if not full.is_relative_to(self.root.resolve()):
            raise BadRequest(f"{name!r} leaves {self.root}", 403)
        return full

    def load(self, run_dir: Path) -> None:
        """Restore run_dir and make it current; on any failure the current run stays."""
        if not Path(run_dir).is_dir():
            raise BadRequest(f"{run_dir}: no such run directory", 404)
        if not checkpoints.steps(run_dir):
            raise BadRequest(f"{run_dir}: no checkpoint; train it first", 404)
        try:
            # Everything the page asks of a run is tried before it is switched to: restoring
            # it, and reading one drawing through it the whole way (PROBE).
            new = Served(restore(run_dir, threads=SESSION_THREADS))
        except RunError as e:  # there, but damaged
            raise BadRequest(str(e), 409) from None
        except MaistError as e:  # restored, but a drawing cannot be read through it
            raise BadRequest(f"{run_dir}: cannot read a drawing ({e}); the page keeps "
                             f"its run", 409) from None
        with self.lock:
            self.current = new
        # The old run is not closed here: requests that began on it finish on it, and its
        # session is released with the last reference to it.

    def served(self) -> "Served":
        with self.lock:
            return self.current

    def info(self) -> dict:
        return self.served().info

    def predict(self, picture: np.ndarray, layers: bool = False, scripts=None) -> dict:
        return self.served().predict(picture, layers, scripts)

    def layers_for(self, x: np.ndarray) -> dict:
        return self.served().layers_for(x)


# One stroke on a white canvas: what a run must read, the live layers included, before the
# page switches to it (a run restored may still fail there: a preprocessing unknown here).
PROBE = np.full((64, 64), 255, np.uint8)
PROBE[12:52, 30:34] = 0


class Served:
    """One restored run, as the page shows it: its answers, and what never changes (the
    filters' mosaic) made once."""

    def __init__(self, restored: Restored):
        self.restored = restored
        self.batcher = Batcher(restored.read)  # concurrent requests, one session call
        spec = restored.spec
        self.layers = list(spec.live if spec.live is not None else spec.activations)
        try:
            self.info = self._info()
            self.predict(PROBE, layers=True)
        except Exception:
            restored.close()
            raise

    def _info(self) -> dict:
        r = self.restored
        spec = r.spec
        filters = None
        if spec.filters:
            (w,) = r.run([spec.filters], np.zeros((1, IMAGE_SIZE * IMAGE_SIZE), np.float32))
            filters = {"shape": list(w.shape), "png": png_data_url(mosaic(w[:, :, 0, :]))}
        return {"run": str(r.run_dir), "model": spec.name, "step": r.step,
                "classes": r.classes, "scripts": scripts(r.classes),
                "scripts_text": scripts_text(r.classes), "preprocess": r.preprocess,
                "filters": filters, "layers": self.layers}

    def predict(self, picture: np.ndarray, layers: bool = False, scripts=None) -> dict:
        """The top 5 and the 28x28 input (as grey bytes to draw, and as `x`, the float32
        pixels in base64, for a /api/layers request to come); the live layers too with `layers`;
        only the classes of `scripts` (a list of script names) where it is given."""
        r = self.restored
        x = from_picture(picture, r.preprocess)
        probs, maps = self.batcher.read(x, self.layers if layers else [])
        probs = within_scripts(probs, r.classes, scripts)
        out = {"top": [{"char": c, "p": p} for c, p in r.top_k(probs[0], TOP)],
               "input": raw_picture(x),
               "x": base64.b64encode(x.astype("<f4").tobytes()).decode("ascii")}
        if layers:
            out["layers"] = self._layer_pictures(maps)
        return out

    def layers_for(self, x: np.ndarray) -> dict:
        """The live layers' maps for a 28x28 input that predict() made."""
        _, maps = self.batcher.read(x, self.layers)
        return {"layers": self._layer_pictures(maps)}

    def _layer_pictures(self, maps) -> list[dict]:
        return [{"name": n, "shape": list(m.shape[1:]), **raw_picture(mosaic(m[0]))}
                for n, m in zip(self.layers, maps)]

    def close(self) -> None:
        self.restored.close()


def run_choices(root: Path) -> list[str]:
    """Runs under root with a checkpoint, newest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.rglob(RECORD_FILE) if checkpoints.steps(p.parent)]
    found.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [str(p.parent.relative_to(root)) for p in found]


def newest_run(root: str | os.PathLike) -> Path:
    choices = run_choices(Path(root))
    if not choices:
        raise RunError(f"{root}: no trained run with a checkpoint; train one first "
                       f"(make demo)", params=("run_dir",))
    return Path(root) / choices[0]


# --- the app --------------------------------------------------------------------------------

def create_app(run_dir: str | os.PathLike | None = None, runs_root: str | os.PathLike = "runs",
               mine_dir: str | os.PathLike = "data/mine"):
    """The Flask app over `run_dir` (default: the newest run under runs_root)."""
    from flask import Flask, jsonify, request

    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    model = Model(Path(runs_root))
    gate = Gate(BUSY_SLOTS, BUSY_WAIT)
    model.load(Path(run_dir) if run_dir is not None else newest_run(runs_root))
    mine = Path(mine_dir)
    static = resources.files(__package__) / "static"

    def asset(name: str, kind: str):
        return app.response_class((static / name).read_bytes(), mimetype=kind)

    @app.get("/")
    def page():
        return asset("draw.html", "text/html")

    @app.get("/static/font.ttf")
    def font():
        # IPAex Gothic from matplotlib-fontja (a dependency, for the figures): the kana
        # render on any browser, phones and bare headless ones included.
        from ..analysis.visualize import font_path

        return app.response_class(Path(font_path()).read_bytes(), mimetype="font/ttf")

    @app.get("/static/<name>")
    def static_file(name: str):
        kinds = {".js": "text/javascript", ".css": "text/css"}
        suffix = Path(name).suffix
        if suffix not in kinds or "/" in name or not (static / name).is_file():
            return jsonify(error=f"no such asset {name!r}"), 404
        return asset(name, kinds[suffix])

    def body() -> dict:
        """The request's JSON object; anything else (not JSON, nested past reason, a list)
        is a 400 that says what to send."""
        try:
            value = json.loads(request.get_data(cache=True) or b"null")
        except (ValueError, RecursionError):
            value = None
        if not isinstance(value, dict):
            raise BadRequest("send a JSON object, such as {\"image\": \"data:image/png;base64,...\"}")
        return value

    def drawing(fields: dict) -> tuple[np.ndarray, bytes]:
        raw = decode_data_url(fields.get("image"))
        try:
            return read_picture(io.BytesIO(raw), max_pixels=PAGE_PIXELS, name="the drawing"), raw
        except PictureError as e:
            raise BadRequest(str(e), 413 if isinstance(e, PictureTooLarge) else 400) from None

    @app.post("/api/predict")
    def predict():
        fields = body()
        picture, _ = drawing(fields)
        wanted = fields.get("scripts")
        if wanted is not None and not (isinstance(wanted, list) and wanted
                                       and all(isinstance(w, str) for w in wanted)):
            raise BadRequest("scripts is a list of script names, such as [\"hiragana\"]")
        with gate:
            try:
                return jsonify(model.predict(picture, layers=fields.get("layers") is True,
                                             scripts=wanted))
            except PictureError as e:  # "no ink found": an empty canvas
                raise BadRequest(str(e), 422) from None
            except ClassSetError as e:  # a script the run does not read
                raise BadRequest(str(e)) from None

    @app.post("/api/layers")
    def layers():
        x = decode_input(body().get("x"))
        with gate:
            return jsonify(model.layers_for(x))

    @app.post("/api/save")
    def save():
        fields = body()
        picture, raw = drawing(fields)
        label = fields.get("label")
        if not isinstance(label, str):
            raise BadRequest("say what the drawing was: {\"label\": CHARACTER}")
        classes = model.served().restored.classes
        with gate:
            try:
                from_picture(picture)  # refuse a blank canvas before it becomes training data
            except PictureError as e:
                raise BadRequest(str(e), 422) from None
        path = save_drawing(raw, label, classes, mine)
        served = model.served().restored
        return jsonify(path=str(path), count=len(list(path.parent.glob("*.png"))),
                       mine=mine_summary(mine, served.classes, served.run_dir))

    @app.get("/api/mine")
    def mine_drawings():
        served = model.served().restored
        return jsonify(mine_summary(mine, served.classes, served.run_dir))

    @app.get("/api/info")
    def info():
        return jsonify(model.info())

    @app.get("/api/runs")
    def list_runs():
        return jsonify(runs=run_choices(model.root))

    @app.post("/api/run")
    def switch():
        name = body().get("run")
        if not isinstance(name, str) or not name:
            raise BadRequest("say which run: {\"run\": \"demo-expert\"}")
        model.load(model.inside_root(name))
        return jsonify(model.info())

    @app.errorhandler(BadRequest)
    def bad(e: BadRequest):
        return jsonify(error=str(e)), e.status

    @app.errorhandler(413)
    def too_large(e):
        return jsonify(error=f"the request is over {MAX_BODY // (1024 * 1024)} MB; send a "
                             f"smaller picture"), 413

    @app.errorhandler(404)
    def not_found(e):
        return jsonify(error="no such page"), 404

    @app.errorhandler(405)
    def wrong_method(e):
        return jsonify(error="wrong method for this address"), 405

    @app.errorhandler(Exception)
    def unexpected(e):
        from werkzeug.exceptions import HTTPException

        if isinstance(e, HTTPException):
            return jsonify(error=e.description), e.code
        app.logger.exception("unexpected error")
        return jsonify(error=f"the server failed ({type(e).__name__}); it is still up"), 500

    app.maist_model = model
    return app


THREADS = 8  # waitress's worker threads; the Gate decides how many predict at once


def one_blas_thread() -> None:
    """numpy's BLAS on one thread, for the rest of the process. A request's numpy work is
    a few small arrays; OpenBLAS's pool threads spin while they wait for more, and on a
    machine with as many busy request threads as cores, that spinning takes about as much
    CPU as the requests themselves (bench_page)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def make_server(app, host: str = "127.0.0.1", port: int = 0, threads: int = THREADS):
    """A production WSGI server for the app: waitress, pure Python (no red warning, no
    compiler). `.effective_port` is the port bound (port 0: a free one); `.run()` serves
    until `.close()`."""
    import logging

    from waitress.server import create_server

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is 1"
    one_blas_thread()

    if not (isinstance(port, int) and 0 <= port <= 65535):
        raise BadRequest(f"port {port} is not a port; give 1 to 65535 (0: any free one)")
    try:
        return create_server(app, host=host, port=port, threads=threads, ident="MAIST")
    except OSError as e:
        raise BadRequest(f"cannot listen on {host}:{port} ({e.strerror}); pick another "
                         f"--port or --host", 500) from None

