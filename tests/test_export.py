"""Models that leave MAIST: the SavedModel read by plain TensorFlow, TFLite, predict.py on
both, the preprocessing in TF ops against MAIST's own, and the embedding projector."""

import base64
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, shape, tiny_data, touch_or_skip
from PIL import Image

from maist.data import pictures as picture_io
from maist.data import preprocess as P
from maist.errors import ExportError, RunError
from maist.inference import export, tfprep
from maist.inference.restore import restore
from maist.nets.backend import tf, tf1
from maist.training import recipes
from maist.training.config import TrainConfig
from maist.training.loop import train
from maist.training.schedule import StepTable


def drawing_png(k: int, size: int = 140, mode: str = "L", jitter=(0, 0)) -> bytes:
    """Class k's shape drawn as a person would send it: dark ink on white."""
    img = Image.fromarray((255 - shape(k, *jitter) * 255).astype(np.uint8)).resize((size, size),
                                                                                Image.BILINEAR)
    buf = io.BytesIO()
    img.convert(mode).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A run trained on the shapes set, exported as a SavedModel and three TFLite files."""
    root = tmp_path_factory.mktemp("export")
    data = tiny_data(num_classes=5, per_class=240)
    data.meta["path"] = str(data.save(root / "shapes.npz"))
    recipe = recipes.Recipe("t", "expert", "adam", "stable", 150, 32, StepTable.constant(1e-3),
                            StepTable.constant(0.5), sampling="epoch")
    train(data, TrainConfig(recipe, eval_every=150), root / "run", quiet=True)
    export.export(root / "run", root / "out", quantize=("none", "dynamic", "int8"), data=data)
    return root, data


def test_the_export_holds_the_model_its_labels_and_where_it_came_from(exported):
    root, data = exported
    out = root / "out"
    assert {p.name for p in out.iterdir()} == {"saved_model", "labels.txt", "maist.json",
                                               "model.tflite", "model_dynamic.tflite",
                                               "model_int8.tflite"}
    labels = (out / "saved_model" / "assets" / "labels.txt").read_text(encoding="utf-8").split("\n")
    assert labels[:-1] == list(data.classes) and (out / "labels.txt").read_text(encoding="utf-8") == \
        "\n".join(data.classes) + "\n"
    meta = json.loads((out / "saved_model" / "assets" / "maist.json").read_text(encoding="utf-8"))
    assert meta["step"] == 150 and meta["classes"] == list(data.classes)
    assert meta["preprocess"] == data.meta["preprocess"] and meta["maist_version"]
    with restore(root / "run") as r:
        accuracy = float((r.probabilities(data.test.x).argmax(1) == data.test.y).mean())
    assert meta["test_accuracy"] == pytest.approx(accuracy)


PLAIN_TF = r"""
import json, sys
import numpy as np
import tensorflow as tf
assert "maist" not in sys.modules
model = tf.saved_model.load(sys.argv[1])
x = np.load(sys.argv[2])
images = model.signatures["serving_default"](images=tf.constant(x))
pictures = json.load(open(sys.argv[3]))
import base64
read = model.signatures["predict_pictures"](
    pictures=tf.constant([base64.b64decode(p) for p in pictures]))
print(json.dumps({"scores": images["scores"].numpy().tolist(),
                  "classes": images["classes"].numpy().tolist(),
                  "characters": [c.decode() for c in read["characters"].numpy()],
                  "picture_classes": read["classes"].numpy().tolist(),
                  "maist_loaded": "maist" in sys.modules}))
"""


def test_plain_tensorflow_serves_the_savedmodel_with_maists_answers(exported, tmp_path):
    """A fresh Python that never imports MAIST: serving_default gives the session's scores;
    predict_pictures, fed PNG bytes, reads the pictures as MAIST does."""
    root, data = exported
    x = data.test.x[:200]
    np.save(tmp_path / "x.npy", x)
    pictures = [drawing_png(k % 5, size=60 + 23 * (k % 7), mode=("L", "RGB", "RGBA")[k % 3],
                            jitter=(k % 5 - 2, (k * 3) % 5 - 2)) for k in range(60)]
    (tmp_path / "p.json").write_text(json.dumps([base64.b64encode(p).decode() for p in pictures]))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", PLAIN_TF, str(root / "out" / "saved_model"),
                          str(tmp_path / "x.npy"), str(tmp_path / "p.json")],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["maist_loaded"] is False
    with restore(root / "run") as r:
        want = r.probabilities(x)
        (tops, _) = r.predict([io.BytesIO(p) for p in pictures], 1)
    np.testing.assert_allclose(np.array(got["scores"]), want, atol=1e-5)
    assert got["classes"] == want.argmax(1).tolist()
    maist_chars = [t[0][0] for t in tops]
    agree = np.mean([a == b for a, b in zip(got["characters"], maist_chars)])
    assert agree >= 0.99, (got["characters"], maist_chars)


def run_tflite(path: Path, x: np.ndarray) -> np.ndarray:
    reader = export.TFLiteReader(path)
    return np.concatenate([reader.probabilities(x[i : i + 64]) for i in range(0, len(x), 64)])


def test_tflite_reads_as_the_session_does(exported):
    root, data = exported
    x = data.test.x
    with restore(root / "run") as r:
        want = r.probabilities(x)
    top = want.argmax(1)
    plain = run_tflite(root / "out" / "model.tflite", x)
    np.testing.assert_allclose(plain, want, atol=1e-4)
    assert (plain.argmax(1) == top).all()
    dynamic = run_tflite(root / "out" / "model_dynamic.tflite", x)
    assert (dynamic.argmax(1) == top).mean() >= 0.99
    int8 = run_tflite(root / "out" / "model_int8.tflite", x)
    assert (int8.argmax(1) == top).mean() >= 0.98
    size = {q: (root / "out" / name).stat().st_size for q, name in export.TFLITE_NAMES.items()}
    assert size["dynamic"] < 0.35 * size["none"] and size["int8"] < 0.35 * size["none"]


def test_predict_reads_a_savedmodel_and_a_tflite_as_the_run(exported, tmp_path):
    root, data = exported
    paths = []
    for k in range(5):
        (tmp_path / f"c{k}.png").write_bytes(drawing_png(k, size=112))
        paths.append(str(tmp_path / f"c{k}.png"))

    def answers(model: Path) -> list[str]:
        out = subprocess.run([sys.executable, str(ROOT / "scripts" / "predict.py"), str(model),
                              *paths], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return [line.split(": ")[1].split()[0] for line in out.stdout.strip().splitlines()]

    own = answers(root / "run")
    assert own == list(data.classes)
    assert answers(root / "out" / "saved_model") == own
    assert answers(root / "out") == own  # the export folder holding the SavedModel
    assert answers(root / "out" / "model.tflite") == own


def test_bad_exports_are_clear_errors_and_change_nothing(exported, tmp_path):
    root, data = exported
    (tmp_path / "empty-run").mkdir()
    (tmp_path / "empty-run" / "config.json").write_text((root / "run" / "config.json").read_text())
    with pytest.raises(RunError, match="no checkpoint"):
        export.export(tmp_path / "empty-run", tmp_path / "x", data=data)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep me")
    with pytest.raises(ExportError, match="exists") as e:
        export.export(root / "run", tmp_path / "taken", data=data)
    assert e.value.params == ("force", "out")
    assert (tmp_path / "taken" / "mine.txt").read_text() == "keep me"
    with pytest.raises(ExportError, match="unknown format 'onnx'"):
        export.export(root / "run", tmp_path / "y", formats=("onnx",))
    with pytest.raises(ExportError, match="unknown quantisation 'int4'"):
        export.export(root / "run", tmp_path / "y", quantize=("int4",))
    with pytest.raises(ExportError, match="int8 quantisation.*no"):
        export.export(root / "run", tmp_path / "y", quantize=("int8",), data=None)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no half-written folder
    # force replaces only an earlier export: never the user's files, a run or a folder of runs
    for folder, said in ((tmp_path / "taken", "mine.txt"), (root / "run", "checkpoint"),
                         (root, "run")):
        before = sorted(p.name for p in folder.iterdir())
        with pytest.raises(ExportError, match=f"not an earlier export .*{said}") as e:
            export.export(root / "run", folder, formats=("saved_model",), force=True)
        assert "--" not in str(e.value) and sorted(p.name for p in folder.iterdir()) == before
    assert (tmp_path / "taken" / "mine.txt").read_text() == "keep me"
    export.export(root / "run", tmp_path / "mine", formats=("saved_model",), data=data)
    stamp = (tmp_path / "mine" / "maist.json").stat().st_mtime_ns
    export.export(root / "run", tmp_path / "mine", formats=("saved_model",), data=data,
                  force=True)
    assert (tmp_path / "mine" / "maist.json").stat().st_mtime_ns != stamp
    assert (tmp_path / "mine" / "saved_model" / "saved_model.pb").is_file()


# --- the preprocessing, as TF ops, against MAIST's own -----------------------------------


def tf_inputs(pictures: list[bytes], preprocess: str = "centered") -> np.ndarray:
    graph = tf.Graph()
    with graph.as_default():
        fed = tf1.placeholder(tf.string, [None])
        out = tfprep.pictures_to_inputs(fed, preprocess)
    with tf1.Session(graph=graph) as sess:
        return np.concatenate([sess.run(out, {fed: pictures[i : i + 64]})
                               for i in range(0, len(pictures), 64)])


def numpy_inputs(pictures: list[bytes], preprocess: str = "centered") -> np.ndarray:
    return np.stack([picture_io.from_picture(picture_io.read_picture(io.BytesIO(p)), preprocess)
                     for p in pictures]).reshape(len(pictures), -1)


def made_pictures() -> list[bytes]:
    """Pictures of every kind the reader meets: grey, RGB, RGBA from a canvas, JPEG,
    white on black, white ink on transparency, larger than the 512-px working size."""
    out = [drawing_png(k, size=s, mode=m) for k, s, m in
           [(0, 140, "L"), (1, 97, "RGB"), (2, 280, "RGBA"), (3, 700, "L"), (4, 1100, "RGB")]]
    img = Image.fromarray((shape(2) * 255).astype(np.uint8)).resize((150, 150))  # white on black
    buf = io.BytesIO()
    img.save(buf, "PNG")
    out.append(buf.getvalue())
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=92)
    out.append(buf.getvalue())
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = 255, (shape(1) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").resize((84, 84)).save(buf, "PNG")
    out.append(buf.getvalue())
    return out


@pytest.mark.parametrize("preprocess", sorted(P.PREPROCESSORS))
def test_tf_preprocessing_matches_maists_on_every_kind_of_picture(preprocess):
    pictures = made_pictures()
    got, want = tf_inputs(pictures, preprocess), numpy_inputs(pictures, preprocess)
    assert np.abs(got - want).max() <= 2 / 255, np.abs(got - want).max(axis=1)


def test_a_blank_picture_is_an_all_zero_input():
    buf = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buf, "PNG")
    assert not tf_inputs([buf.getvalue()]).any()


@pytest.mark.slow
def test_tf_preprocessing_matches_maists_on_the_real_touch_drawings():
    """All 745 real drawings, as PNG bytes: within 2/255 of MAIST's numpy, pixel for pixel."""
    images, _ = touch_or_skip()
    pictures = []
    for im in images:
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, "PNG")
        pictures.append(buf.getvalue())
    for how in ("centered", P.DEFAULT_PREPROCESS):
        diff = np.abs(tf_inputs(pictures, how) - numpy_inputs(pictures, how)).max(axis=1)
        assert diff.max() <= 2 / 255, (how, int(np.argmax(diff)), float(diff.max()))


# --- the embedding projector --------------------------------------------------------------


def test_the_projector_sits_in_the_run_and_tensorboard_can_read_it(exported):
    from google.protobuf import text_format
    from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

    from maist.analysis import projector

    root, data = exported
    n = 50
    folder, points, true, layer = projector.write(root / "run", data, n=n)
    assert folder == root / "run" / "events" and layer == "h_fc1"  # beside the run's events
    config = text_format.Parse((folder / "projector_config.pbtxt").read_text(), ProjectorConfig())
    (emb,) = config.embeddings
    for asset in (emb.metadata_path, emb.sprite.image_path):
        assert (folder / asset).resolve().is_relative_to((root / "run").resolve())
        assert not os.path.isabs(asset) and (folder / asset).is_file()
    side = math.ceil(math.sqrt(n)) * 28
    assert Image.open(folder / emb.sprite.image_path).size == (side, side)
    rows = (folder / emb.metadata_path).read_text(encoding="utf-8").splitlines()
    assert len(rows) == n + 1 and rows[0].split("\t") == ["true", "predicted", "correct", "writer"]
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(folder)))
    assert reader.get_variable_to_shape_map()[emb.tensor_name] == [n, 1024]
    assert list(folder.glob("events.out.tfevents.*"))  # the run's own, for TensorBoard
    assert points.shape == (len(true), 2) and np.isfinite(points).all()


def test_an_export_of_a_run_that_keeps_an_average_holds_the_average(tmp_path):
    """The exported graph's weights are the run's moving averages, as restore()'s are."""
    data = tiny_data(num_classes=4, per_class=40)
    recipe = recipes.Recipe("t", "expert", "adam", "stable", 20, 16, StepTable.constant(3e-3),
                            StepTable.constant(0.5), sampling="epoch", average=0.9)
    train(data, TrainConfig(recipe, eval_every=20), tmp_path / "run",
          quiet=True)
    from maist.runs import records

    e = export.build_export_graph(records.read(tmp_path / "run"), str(tmp_path / "run" / "ckpt-20"))
    try:
        with e.graph.as_default():
            w = e.session.run(e.graph.get_tensor_by_name("W_conv1:0"))
        x = data.test.x[:16]
        scores = e.session.run(e.scores, {e.images: x})
    finally:
        e.session.close()
    saved = tf1.train.load_variable(str(tmp_path / "run" / "ckpt-20"),
                                    "W_conv1/ExponentialMovingAverage")
    np.testing.assert_array_equal(w, saved)
    with restore(tmp_path / "run") as r:
        np.testing.assert_allclose(scores, r.probabilities(x), rtol=1e-5, atol=1e-6)


def test_the_tf_reader_refuses_a_huge_picture_from_its_header_before_decoding():
    """The served signature runs where MAIST is not installed: a few hundred bytes that
    claim 15,000 x 15,000 pixels are refused in TF ops, in a moment, as MAIST's reader
    refuses them; each kind's header is read as PIL reads it."""
    import struct
    import zlib

    def huge_png(side: int) -> bytes:
        def chunk(kind: bytes, body: bytes) -> bytes:
            return (struct.pack(">I", len(body)) + kind + body
                    + struct.pack(">I", zlib.crc32(kind + body)))

        ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
        idat = zlib.compress((b"\0" + b"\xff" * side) * 2)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")

    graph = tf.Graph()
    with graph.as_default():
        fed = tf1.placeholder(tf.string, [])
        pixels = tfprep.header_pixels(fed)
        inputs = tfprep.pictures_to_inputs(tf.reshape(fed, [1]), "centered24")
    with tf1.Session(graph=graph) as sess:
        for fmt, size in (("PNG", (37, 21)), ("GIF", (300, 5)), ("BMP", (64, 63)),
                          ("JPEG", (128, 127))):
            buf = io.BytesIO()
            Image.new("L", size, 255).save(buf, fmt)
            assert sess.run(pixels, {fed: buf.getvalue()}) == size[0] * size[1], fmt
        assert sess.run(pixels, {fed: b"not a picture"}) == 0
        with pytest.raises(tf.errors.InvalidArgumentError, match="over the limit"):
            sess.run(inputs, {fed: huge_png(15_000)})  # the header's words, not a decode's


def test_a_maist_json_of_another_class_count_and_a_quantisation_without_tflite_are_refused(
        exported, tmp_path):
    """A SavedModel read with a class list of another length would name the wrong
    characters (or none); a quantisation asked for with no TFLite file made nothing."""
    import shutil

    root, _ = exported
    copy = tmp_path / "out"
    shutil.copytree(root / "out", copy)
    meta_path = copy / "saved_model" / "assets" / "maist.json"
    meta = json.loads(meta_path.read_text())
    for classes in (meta["classes"][:-1], meta["classes"] + ["ん"]):
        meta_path.write_text(json.dumps({**meta, "classes": classes}))
        with pytest.raises(ExportError, match=f"lists {len(classes)} classes for a model of 5"):
            export.SavedModelReader(copy / "saved_model")
    with pytest.raises(ExportError, match="for TFLite files") as e:
        export.check_choices(("saved_model",), ("none", "dynamic"))
    assert e.value.params == ("format", "quantize")
    assert export.check_choices(("saved_model",), ("none",)) == (("saved_model",), ("none",))


def test_changed_bytes_in_an_exported_model_are_noticed(exported, tmp_path):
    """maist.json records each model file's sha256: a byte flipped inside model.tflite or
    the SavedModel's variables is an error naming the file, not a model that reads wrongly."""
    import shutil

    root, data = exported
    copy = tmp_path / "out"
    shutil.copytree(root / "out", copy)
    meta = json.loads((copy / "maist.json").read_text())
    assert set(meta["files"]) >= {"model.tflite", "model_int8.tflite", "saved_model/saved_model.pb"}
    export.TFLiteReader(copy / "model.tflite").close()  # as exported: read
    for name in ("model.tflite", "saved_model/variables/variables.data-00000-of-00001"):
        path = copy / name
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0x01
        path.write_bytes(bytes(raw))
    with pytest.raises(ExportError, match="model.tflite: its bytes are not those exported"):
        export.TFLiteReader(copy / "model.tflite")
    export.TFLiteReader(copy / "model_dynamic.tflite").close()  # the others are whole
    with pytest.raises(ExportError, match="variables.data-00000-of-00001: its bytes are not"):
        export.SavedModelReader(copy / "saved_model")


def test_an_export_folder_of_tflite_files_alone_is_read_not_taken_for_a_run(exported, tmp_path):
    import shutil

    root, _ = exported
    copy = tmp_path / "out"
    shutil.copytree(root / "out", copy)
    shutil.rmtree(copy / "saved_model")
    with pytest.raises(ExportError, match="an export folder with model.tflite, "
                                          "model_dynamic.tflite, model_int8.tflite; give one"):
        export.open_model(copy)
    (copy / "model_dynamic.tflite").unlink()
    (copy / "model_int8.tflite").unlink()
    reader = export.open_model(copy)
    assert reader.name.endswith("model.tflite") and len(reader.classes) == 5


def test_sigterm_during_an_export_leaves_no_half_written_folder(exported, tmp_path):
    """SIGTERM (kill, a scheduler) stops an export as Ctrl-C does: exit 143, a line that
    says so, and neither the hidden .part folder nor the export left behind."""
    import signal
    import subprocess
    import sys
    import time

    from maist.nets.backend import child_env

    root, _ = exported
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "maist", "export", str(root / "run"), "--out",
                          str(out), "--format", "tflite"], env=child_env(os.environ),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.*.part")):
        assert p.poll() is None and time.monotonic() < deadline, p.communicate()
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 143 and "terminated" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fault", ["disk-full", "permission"])
def test_an_export_that_cannot_be_written_names_the_folder_and_keeps_the_old_one(
        exported, tmp_path, monkeypatch, fault):
    """A full disk (TensorFlow's ResourceExhaustedError while the variables are saved) or a
    file that cannot be written: one ExportError naming the folder asked for, not the
    hidden .part folder; nothing half-written stays and an earlier export is unchanged."""
    root, data = exported
    out = tmp_path / "out"
    export.export(root / "run", out, formats=("saved_model",), data=data)
    before = (out / "maist.json").read_bytes()

    def failing(e, folder, labels):
        (folder / "variables").mkdir(parents=True)
        where = folder / "variables" / "variables.data-00000-of-00001.tempstate123"
        if fault == "disk-full":
            raise tf.errors.ResourceExhaustedError(
                None, None, f"Graph execution error:\n\nDetected at node 'save_1/SaveV2' "
                f"defined at (most recent call last):\n  File \"x.py\", line 1\nNode: "
                f"'save_1/SaveV2'\n{where}; No space left on device\n\t [[{{node save_1}}]]")
        raise PermissionError(13, "Permission denied", str(where))

    monkeypatch.setattr(export, "write_saved_model", failing)
    with pytest.raises(ExportError) as e:
        export.export(root / "run", out, formats=("saved_model",), data=data, force=True)
    said = str(e.value)
    assert said.startswith(f"{out}: the export could not be written") and ".part" not in said
    assert ("no space left" if fault == "disk-full" else "cannot be written; check") in said
    assert "earlier export there is unchanged" in said and e.value.params == ("out",)
    assert (out / "maist.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no .part, no .old
