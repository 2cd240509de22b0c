"""Take a trained run out of MAIST: a SavedModel for TF Serving, TFLite files for phones.

    export(run_dir, out, formats, quantize, calibration) -> [paths]   scripts/export.py
    open_model(path) -> a model to read pictures with: a run directory (inference.restore),
                        an exported SavedModel folder, or a .tflite file

The SavedModel is TF1's (tf.compat.v1.saved_model.Builder, tag "serve"), as TF Serving's
own mnist_saved_model.py writes it, with two signatures:

    serving_default    images   float32 [None, 784], preprocessed, ink in [0, 1]
                       -> scores float32 [None, C] (softmax), classes int64 [None] (top 1)
    predict_pictures   pictures string [None], PNG or JPEG bytes
                       -> scores, classes, and characters string [None] (top 1)

predict_pictures runs the run's own preprocessing as TensorFlow ops (inference.tfprep), so
a client sends a picture and gets a character back. The classes travel as
assets/labels.txt (one character a line, in class order) with assets/maist.json (the run,
step, classes, preprocessing, MAIST's version, the accuracy measured at export).

TFLite files are converted from the SavedModel's serving_default (model.tflite, float32),
with dynamic-range quantisation (model_dynamic.tflite) or full-integer quantisation
calibrated on a few hundred of the run's training images (model_int8.tflite: int8 in and
out, with their scales). labels.txt and maist.json sit beside them.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ExportError
from ..geometry import IMAGE_PIXELS
from ..nets.backend import reason, tf, tf1
from ..nets.graph import build_inference
from ..runs import checkpoints
from ..runs.records import RunRecord
from ..runs.records import read as read_record
from ..signals import stop_on_sigterm
from ..version import VERSION
from . import tfprep
from .restore import read_pictures, restore
from .tta import check as check_tta
from .tta import reading

log = logging.getLogger(__name__)

FORMATS = ("saved_model", "tflite")
QUANTIZE = ("none", "dynamic", "int8")
TFLITE_NAMES = {"none": "model.tflite", "dynamic": "model_dynamic.tflite",
                "int8": "model_int8.tflite"}
CALIBRATION_IMAGES = 300  # training images that int8 quantisation measures ranges on


def parse_source(text: str) -> tuple[Path, int | None]:
    """'runs/demo-expert' -> (path, None); 'runs/demo-expert:1000' -> (path, 1000)."""
    head, sep, tail = str(text).rpartition(":")
    if sep and tail.isdigit():
        return Path(head), int(tail)
    return Path(text), None


def check_choices(formats, quantize) -> tuple[tuple[str, ...], tuple[str, ...]]:
    formats, quantize = tuple(formats), tuple(quantize)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ExportError(f"unknown format {', '.join(map(repr, unknown)) or '(none)'}; choose "
                          f"from {', '.join(FORMATS)}", params=("format",))
    unknown = [q for q in quantize if q not in QUANTIZE]
    if unknown or not quantize:
        raise ExportError(f"unknown quantisation {', '.join(map(repr, unknown)) or '(none)'}; "
                          f"choose from {', '.join(QUANTIZE)}", params=("quantize",))
    if "tflite" not in formats and set(quantize) != {"none"}:
        raise ExportError(f"quantisation {', '.join(q for q in quantize if q != 'none')} is "
                          f"for TFLite files, and none were asked for: add the tflite format, "
                          f"or quantise none", params=("format", "quantize"))
    return formats, quantize


# What an export folder holds: replacing one (force) touches nothing else.
EXPORT_FILES = frozenset({"maist.json", "labels.txt", "saved_model", *TFLITE_NAMES.values()})


def check_out(out: Path, force: bool) -> None:
    """Before any work: `out` is new, or (with force) an earlier export and nothing else,
    and its parent can be written. A run directory, a folder of runs or of anyone's files
    is refused whatever `force` says, naming what is there."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: is a file; give a folder to export into", params=("out",))
    if out.exists() and not force:
        raise ExportError(f"{out}: exists; replace it knowingly, or export elsewhere (nothing "
                          f"was changed)", params=("force", "out"))
    if out.exists():
        theirs = sorted(p.name for p in out.iterdir() if p.name not in EXPORT_FILES)
        if theirs or not (out / "maist.json").is_file():
            held = (f"it holds {', '.join(theirs[:5])}{' ...' if len(theirs) > 5 else ''}"
                    if theirs else "it holds no maist.json")
            raise ExportError(f"{out}: not an earlier export ({held}); only an export is "
                              f"replaced: export elsewhere (nothing was changed)",
                              params=("out",))
    parent = next(p for p in (out.resolve().parent, *out.resolve().parents) if p.exists())
    if not os.access(parent, os.W_OK):
        raise ExportError(f"{parent}: cannot be written to; export elsewhere", params=("out",))


# --- the SavedModel -------------------------------------------------------------------------


@dataclass
class Exported:
    """The export graph: the model behind two inputs, and its outputs."""

    graph: tf.Graph
    session: object
    pictures: tf.Tensor
    images: tf.Tensor
    scores: tf.Tensor
    classes: tf.Tensor
    characters: tf.Tensor


def build_export_graph(record: RunRecord, ckpt: str) -> Exported:
    """pictures -> the run's preprocessing in TF ops -> images (fed directly by
    serving_default) -> the inference graph (nets.graph.build_inference) -> scores,
    classes, characters; the model's variables loaded from `ckpt`."""
    made = {}

    def inputs():
        made["pictures"] = tf1.placeholder(tf.string, [None], name="pictures")
        prepared = tfprep.pictures_to_inputs(made["pictures"], record.preprocess)
        # Fed, it is serving_default's input and the preprocessing is not run.
        return tf1.placeholder_with_default(prepared, [None, IMAGE_PIXELS], name="images")

    g = build_inference(record.model, len(record.classes), record.seed, inputs=inputs,
                        **record.model_options)
    with g.graph.as_default():
        scores = tf.identity(g.probabilities, name="scores")
        classes = tf.argmax(scores, 1, name="classes")
        characters = tf.gather(tf.constant(list(record.classes)), classes, name="characters")
    session = tf1.Session(graph=g.graph)
    checkpoints.load(session, g.variables, ckpt, averaged=record.averaged)
    return Exported(g.graph, session, made["pictures"], g.x, scores, classes, characters)


def write_saved_model(e: Exported, folder: Path, labels: Path) -> Path:
    """TF1's Builder, tag 'serve', two signatures; labels.txt as an asset."""
    sd = tf1.saved_model.signature_def_utils.predict_signature_def
    with e.graph.as_default():
        asset = tf.constant(str(labels), name="labels_txt")
        tf1.add_to_collection(tf1.GraphKeys.ASSET_FILEPATHS, asset)
        builder = tf1.saved_model.Builder(str(folder))
        builder.add_meta_graph_and_variables(
            e.session, [tf1.saved_model.tag_constants.SERVING],
            signature_def_map={
                "serving_default": sd({"images": e.images},
                                      {"scores": e.scores, "classes": e.classes}),
                "predict_pictures": sd({"pictures": e.pictures},
                                       {"scores": e.scores, "classes": e.classes,
                                        "characters": e.characters})},
            assets_collection=tf1.get_collection(tf1.GraphKeys.ASSET_FILEPATHS),
            strip_default_attrs=True)
        builder.save()
    return folder


# --- TFLite ---------------------------------------------------------------------------------


def tflite_bytes(saved_model: Path, quantize: str,
                 calibration: Callable[[], np.ndarray] | None) -> bytes:
    """serving_default converted to TFLite: float32, dynamic-range or full-integer."""
    # TF1's converter refuses a SavedModel that lists assets: it reads a copy that does not
    # (the graph and variables are the same; labels.txt is of no use to a .tflite anyway).
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((saved_model / "saved_model.pb").read_bytes())
    for meta_graph in proto.meta_graphs:
        if "saved_model_assets" in meta_graph.collection_def:
            del meta_graph.collection_def["saved_model_assets"]
    with tempfile.TemporaryDirectory() as bare:
        (Path(bare) / "saved_model.pb").write_bytes(proto.SerializeToString())
        shutil.copytree(saved_model / "variables", Path(bare) / "variables")
        try:
            converter = tf1.lite.TFLiteConverter.from_saved_model(
                bare, signature_key="serving_default")
        except Exception as e:
            raise ExportError(f"TFLite conversion failed: {str(e).splitlines()[0][:200]}") from None
        return _convert(converter, quantize, calibration)


def _convert(converter, quantize: str, calibration) -> bytes:
    if quantize in ("dynamic", "int8"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "int8":
        x = calibration() if calibration is not None else None
        if x is None or not len(x):
            raise ExportError("int8 quantisation measures ranges on the run's training images, "
                              "and there are none to use; give the run's data (or other "
                              "images of the same preprocessing)", params=("data",))

        def representative():
            for row in np.asarray(x, np.float32).reshape(-1, IMAGE_PIXELS):
                yield [row[None]]

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    try:
        return converter.convert()
    except Exception as e:  # the converter's own errors are of many kinds
        raise ExportError(f"TFLite conversion ({quantize}) failed: {str(e).splitlines()[0][:200]}") from None


# --- all of it ------------------------------------------------------------------------------


def measured_accuracy(e: Exported, x: np.ndarray | None, y: np.ndarray | None) -> float | None:
    if x is None or not len(x):
        return None
    predicted = np.concatenate([e.session.run(e.classes, {e.images: x[i : i + 1000]})
                                for i in range(0, len(x), 1000)])
    return float((predicted == y).mean())


def export(
    source: str | os.PathLike,
    out: str | os.PathLike,
    formats=FORMATS,
    quantize=("none",),
    data=None,
    force: bool = False,
) -> list[Path]:
    """Export run `source` ('RUN_DIR' or 'RUN_DIR:STEP') into folder `out`.

    `data`: the run's MaistData (its test split is scored into maist.json; its training
    split calibrates int8), or None. `out` is refused if it exists, unless `force`; it is
    written into a temporary folder beside it and renamed, so a failed export leaves
    nothing half-written and an old export stays until the new one is whole.
    """
    formats, quantize = check_choices(formats, quantize)
    out = Path(out)
    check_out(out, force)
    run_dir, step = parse_source(source)
    record = read_record(run_dir)
    ckpt = checkpoints.find(run_dir, step, param="step")
    if "int8" in quantize and "tflite" in formats and (data is None or not len(data.train)):
        raise ExportError("int8 quantisation measures ranges on the run's training images, and "
                          "there are none to use; give the run's data", params=("data",))
    out.parent.mkdir(parents=True, exist_ok=True)
    with stop_on_sigterm():  # SIGTERM, as Ctrl-C, removes the half-written folder
        return _export(record, run_dir, ckpt, out, formats, quantize, data)


def _export(record, run_dir: Path, ckpt: str, out: Path, formats, quantize, data) -> list[Path]:
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    written = []
    try:
        labels = tmp / "labels.txt"
        labels.write_text("".join(f"{c}\n" for c in record.classes), encoding="utf-8")
        e = build_export_graph(record, ckpt)
        try:
            test = data.test if data is not None else None
            accuracy = measured_accuracy(e, None if test is None else test.x,
                                         None if test is None else test.y)
            meta = {"run": str(run_dir.resolve()), "step": checkpoints.step_of(ckpt),
                    "classes": list(record.classes), "model": record.model,
                    "preprocess": record.preprocess,
                    "maist_version": VERSION, "test_accuracy": accuracy,
                    "test_data": None if data is None else data.meta.get("path"),
                    "exported": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            saved = write_saved_model(e, tmp / "saved_model", labels)
        finally:
            e.session.close()
        # Each model file's sha256 beside it, so that a reader notices changed bytes.
        model_files = {str(f.relative_to(saved)): file_hash(f) for f in sorted(saved.rglob("*"))
                       if f.is_file() and f.parent.name != "assets"}
        write_meta(saved / "assets", {**meta, "files": model_files})
        log.info(f"SavedModel: {out / 'saved_model'} (test accuracy {accuracy})")
        hashes = {f"saved_model/{k}": v for k, v in model_files.items()}
        if "tflite" in formats:
            calibration = (lambda: data.train.x[:CALIBRATION_IMAGES]) if data is not None else None
            for q in quantize:
                path = tmp / TFLITE_NAMES[q]
                path.write_bytes(tflite_bytes(saved, q, calibration))
                hashes[path.name] = file_hash(path)
                log.info(f"TFLite ({q}): {out / path.name}, {path.stat().st_size:,} bytes")
        if "saved_model" not in formats:
            shutil.rmtree(saved)
            hashes = {k: v for k, v in hashes.items() if not k.startswith("saved_model/")}
        write_meta(tmp, {**meta, "files": hashes})
        _chmod_tree(tmp)
        _replace(tmp, out)
        written = sorted(p for p in out.iterdir())
    except (OSError, tf.errors.OpError) as e:  # a full disk, a folder that cannot be written
        shutil.rmtree(tmp, ignore_errors=True)
        raise unwritten(out, tmp, e) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return written


def unwritten(out: Path, tmp: Path, e: BaseException) -> ExportError:
    """An export that failed while its files were written, said of `out` (the folder asked
    for), not of the hidden temporary folder it was being written in, which is gone."""
    why = reason(e) if isinstance(e, tf.errors.OpError) else (
        f"{e.filename}: {e.strerror}" if getattr(e, "strerror", None) else str(e))
    why = why.replace(str(tmp), str(out))
    code = getattr(e, "errno", None)
    if code == errno.ENOSPC or "No space left" in why:
        what = "no space left on the disk; free some space and export again"
    elif (code in (errno.EACCES, errno.EPERM, errno.EROFS)
          or isinstance(e, tf.errors.PermissionDeniedError)):
        what = f"{out.parent} cannot be written; check its permissions, or export elsewhere"
    else:
        what = f"{why[:200]}; export again, or elsewhere"
    kept = ("the earlier export there is unchanged" if (out / "maist.json").is_file()
            else "nothing was left behind")
    return ExportError(f"{out}: the export could not be written: {what} ({kept})",
                       params=("out",))


def _chmod_tree(folder: Path) -> None:
    """mkdtemp's 0700 and friends -> what any new file and folder gets under the umask."""
    from ..fileio import current_umask

    mask = current_umask()
    os.chmod(folder, 0o777 & ~mask)
    for p in folder.rglob("*"):
        os.chmod(p, (0o777 if p.is_dir() else 0o666) & ~mask)


def _replace(tmp: Path, out: Path) -> None:
    """tmp becomes out; an old out is moved aside first and removed once tmp is in place."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def file_hash(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_meta(folder: Path, meta: dict) -> None:
    (folder / "maist.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False),
                                       encoding="utf-8")


# --- reading an export ------------------------------------------------------------------------


def check_hashes(meta: dict, folder: Path, names=None) -> None:
    """The files maist.json records a sha256 for (all, or `names`), as exported: an
    ExportError naming the first that differs or is gone. An export made before the hashes
    were recorded has none to check."""
    files = meta.get("files")
    if not isinstance(files, dict):
        return
    for name, digest in files.items():
        if names is not None and name not in names:
            continue
        path = folder / name
        if not path.is_file():
            raise ExportError(f"{path}: missing, though {folder / 'maist.json'} lists it; "
                              f"export the run again")
        if file_hash(path) != digest:
            raise ExportError(f"{path}: its bytes are not those exported (the sha256 in "
                              f"{folder / 'maist.json'} differs): the file was changed or "
                              f"damaged; export the run again")


def _meta(folder: Path) -> dict:
    path = folder / "maist.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = None
    if not isinstance(meta, dict) or not isinstance(meta.get("classes"), list):
        raise ExportError(f"{path}: missing or damaged; export the run again")
    return meta


class SavedModelReader:
    """An exported SavedModel, read as MAIST reads a run: numpy preprocessing, then
    serving_default."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        meta = _meta(self.folder / "assets")
        self.classes, self.preprocess, self.step = meta["classes"], meta["preprocess"], meta["step"]
        check_hashes(meta, self.folder)
        self.graph = tf.Graph()
        self.session = tf1.Session(graph=self.graph)
        try:
            with self.graph.as_default():
                mg = tf1.saved_model.loader.load(self.session, ["serve"], str(self.folder))
        except Exception as e:  # a damaged or foreign SavedModel
            self.session.close()
            raise ExportError(f"{self.folder}: not a readable SavedModel ({type(e).__name__}); "
                              f"export the run again") from None
        sig = mg.signature_def["serving_default"]
        self.x = self.graph.get_tensor_by_name(sig.inputs["images"].name)
        self.scores = self.graph.get_tensor_by_name(sig.outputs["scores"].name)
        width = self.scores.shape[-1]
        if width is not None and width != len(self.classes):
            self.session.close()
            raise ExportError(f"{self.folder / 'assets' / 'maist.json'}: lists "
                              f"{len(self.classes)} classes for a model of {width}; export "
                              f"the run again")

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32).reshape(-1, IMAGE_PIXELS)
        return np.concatenate([self.session.run(self.scores, {self.x: x[i : i + 1000]})
                               for i in range(0, len(x), 1000)] or [np.zeros((0, len(self.classes)))])

    def close(self) -> None:
        self.session.close()


def tflite_interpreter(path: Path):
    """ai-edge-litert's Interpreter (the supported one, pip install ai-edge-litert), else
    TensorFlow's own tf.lite.Interpreter."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = tf.lite.Interpreter
    try:
        return Interpreter(model_path=str(path))
    except (ValueError, RuntimeError) as e:
        raise ExportError(f"{path}: not a readable TFLite model ({str(e).splitlines()[0][:120]}); "
                          f"export the run again") from None


class TFLiteReader:
    """A .tflite file with the maist.json beside it; int8 models are fed and read through
    their own scales."""

    def __init__(self, path: Path):
        self.path = Path(path)
        meta = _meta(self.path.parent)
        self.classes, self.preprocess, self.step = meta["classes"], meta["preprocess"], meta["step"]
        check_hashes(meta, self.path.parent, names=(self.path.name,))
        self.interpreter = tflite_interpreter(self.path)
        self.input = self.interpreter.get_input_details()[0]
        self._batch = None

    def _scores_detail(self):
        for d in self.interpreter.get_output_details():
            if len(d["shape"]) == 2 and d["shape"][-1] == len(self.classes):
                return d
        raise ExportError(f"{self.path}: no output of {len(self.classes)} scores")

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32).reshape(-1, IMAGE_PIXELS)
        if len(x) != self._batch:
            self.interpreter.resize_tensor_input(self.input["index"], [len(x), IMAGE_PIXELS])
            self.interpreter.allocate_tensors()
            self._batch = len(x)
        scale, zero = self.input["quantization"]
        if self.input["dtype"] == np.int8:
            x = np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8)
        self.interpreter.set_tensor(self.input["index"], x)
        self.interpreter.invoke()
        out = self._scores_detail()
        scores = self.interpreter.get_tensor(out["index"])
        if out["dtype"] == np.int8:
            s, z = out["quantization"]
            scores = (scores.astype(np.float32) - z) * s
        return scores.astype(np.float32)

    def close(self) -> None:
        pass


class Reader:
    """What predict.py needs of any model: classes, preprocessing, probabilities, top-k."""

    def __init__(self, model, name: str, tta: str = "none"):
        self.model, self.name = model, name
        self.classes, self.preprocess = model.classes, model.preprocess
        self._read = reading(model.probabilities, tta)  # the views' mean, with a tta

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return self._read(x)

    def predict(self, pictures, k: int = 5, scripts=None
                ) -> tuple[list[list[tuple[str, float]]], np.ndarray]:
        return read_pictures(self.probabilities, self.classes, self.preprocess, pictures,
                                k, scripts)

    def close(self) -> None:
        self.model.close()

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_model(path: str | os.PathLike, step: int | None = None, tta: str = "none") -> Reader:
    """A run directory, an exported SavedModel folder (or the export folder holding one),
    or a .tflite file: each read the way MAIST reads a run, through the test-time
    augmentation `tta` (inference.tta.TTA)."""
    check_tta(tta)
    path = Path(path)
    if path.suffix == ".tflite":
        if not path.is_file():
            raise ExportError(f"{path}: no such TFLite file")
        return Reader(TFLiteReader(path), str(path), tta)
    if (path / "saved_model.pb").is_file():
        return Reader(SavedModelReader(path), str(path), tta)
    if (path / "saved_model" / "saved_model.pb").is_file():
        return Reader(SavedModelReader(path / "saved_model"), str(path), tta)
    if (path / "maist.json").is_file() and not (path / "config.json").exists():
        # An export folder of TFLite files alone (--format tflite): not a run directory.
        lite = sorted(p.name for p in path.glob("*.tflite"))
        if len(lite) == 1:
            return Reader(TFLiteReader(path / lite[0]), str(path / lite[0]), tta)
        raise ExportError(f"{path}: an export folder with "
                          f"{', '.join(lite) if lite else 'no model file'}"
                          f"{'; give one of them' if lite else ' (export the run again)'}",
                          params=("run_dir",))
    return Reader(restore(path, step), str(path), tta)  # a run directory, or the error that says
    # what is missing from one
