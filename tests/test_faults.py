"""Fault injection: hostile inputs through the scripts' own main(argv), as a user would meet them.

Every case asserts three things: exit code 1, one line on stderr that says what is wrong
(no traceback), and every file the user had byte-identical afterwards. A tiny data set and
a 20-step run are built once for the module; each case damages its own copy.
"""

import hashlib
import importlib.util
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import as_at_a_terminal, make_etl_folder, shape, tiny_data
from PIL import Image

from maist.data import dataset

ROOT = Path(__file__).resolve().parent.parent


def script(name: str):
    spec = importlib.util.spec_from_file_location(f"fault_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny .npz, a 20-step expert run on it, a small ETL9G folder and a drawn picture."""
    root = tmp_path_factory.mktemp("world")
    data = tiny_data(num_classes=5, per_class=40)
    npz = data.save(root / "tiny.npz")
    assert script("train_maist")(["--data", str(npz), "--dry-run", "--run-dir",
                                  str(root / "run"), "--quiet"]) == 0
    make_etl_folder(root / "ETL9G", writers=4)
    img = (255 - data.test.images()[0] * 255).astype(np.uint8)
    Image.fromarray(img).resize((112, 112)).save(root / "char.png")
    return root


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def huge_png(path: Path, side: int = 15_000) -> Path:
    """A valid PNG header that claims side x side pixels, in a few hundred bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\0" + b"\xff" * side
    idat = zlib.compress(row * 4)  # only a few rows: the size alone must be refused
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def damage_run(case: Path, world: Path, how: str) -> Path:
    run = case / "run"
    shutil.copytree(world / "run", run)
    if how == "state-empty":
        (run / "checkpoint").write_bytes(b"")
    elif how == "state-garbage":
        (run / "checkpoint").write_bytes(bytes(range(256)) * 8)
    elif how == "state-text-garbage":
        (run / "checkpoint").write_text("this is { not a checkpoint state")
    elif how == "config-deleted":
        (run / "config.json").unlink()
    elif how == "config-empty-object":
        (run / "config.json").write_text("{}")
    elif how == "config-not-json":
        (run / "config.json").write_text("{recipe: ")
    elif how == "ckpt-data-zeroed":
        next(run.glob("ckpt-20.data-*")).write_bytes(b"\0" * 64)
    elif how == "ckpt-data-flipped":  # the same length, bytes flipped: the checksum fails
        data = next(run.glob("ckpt-20.data-*"))
        data.write_bytes(bytes(b ^ 0xFF for b in data.read_bytes()))
    elif how.startswith("config-"):
        config = json.loads((run / "config.json").read_text())
        change = {"config-options-a-list": ("model_options", []),
                  "config-data-a-string": ("data", "oops"),
                  "config-seed-a-string": ("seed", "zero")}.get(how)
        if change:
            config[change[0]] = change[1]
        if how == "config-unknown-preprocess":  # a newer MAIST's, or a slip of the hand
            config["data"]["preprocess"] = "centred-by-hand"
        if how == "config-other-model":  # edited after training: another size of network
            config["recipe"]["model"], config["model_options"] = "mlp", {"hidden": 8}
            config["recipe"]["model_options"] = {}  # the expert's init is not the mlp's
        (run / "config.json").write_text(json.dumps(config))
    return run


RUN_DAMAGES = {
    "state-empty": "checkpoint is damaged",
    "state-garbage": "checkpoint is damaged",
    "state-text-garbage": "checkpoint is damaged",
    "config-deleted": "config.json: missing",
    "config-empty-object": "config.json: recipe, classes, seed",
    "config-not-json": "config.json is not valid JSON",
    "ckpt-data-zeroed": "cannot be read",
    "ckpt-data-flipped": "Checksum does not match",
    "config-options-a-list": "model_options is not an object",
    "config-data-a-string": "data is not an object",
    "config-seed-a-string": "seed is not a whole number",
    "config-other-model": "does not fit the model",
    "config-unknown-preprocess": "unknown preprocessing 'centred-by-hand'",
}


def run_case(main, argv, case: Path, world: Path, capsys, fragment: str):
    before, before_world = snapshot(case), snapshot(world)
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0], lines[0]
    assert snapshot(case) == before and snapshot(world) == before_world
    return lines[0]


@pytest.mark.parametrize("how", list(RUN_DAMAGES))
@pytest.mark.parametrize("name", ["predict", "evaluate", "visualize", "train_maist"])
def test_a_damaged_run_directory_is_one_line(world, tmp_path, capsys, how, name):
    run = damage_run(tmp_path, world, how)
    argv = {"predict": [run, world / "char.png"], "evaluate": [run], "visualize": [run],
            "train_maist": ["--run-dir", run, "--resume", "--steps", "30"]}[name]
    line = run_case(script(name), argv, tmp_path, world, capsys, RUN_DAMAGES[how])
    assert str(run) in line  # names the run directory or its file
    assert "Detected at node" not in line and "[[" not in line  # TensorFlow's frame, gone
    if how.startswith("state") or how.startswith("ckpt-data"):
        assert "0" in line and ("--step" in line or "step" in line)  # offers the intact one


@pytest.mark.parametrize("field,value", [("eval_every", -5), ("replay", 1.5),
                                         ("early_stopping", 0), ("model_options.conv1", 0)])
def test_a_bad_value_in_config_json_is_the_files_not_a_flags(world, tmp_path, capsys, field,
                                                              value):
    """Resuming checks the run's own settings as config.json's: the line names the file
    and the field, and offers no flag the user never gave."""
    run = tmp_path / "run"
    shutil.copytree(world / "run", run)
    config = json.loads((run / "config.json").read_text())
    where, _, key = field.rpartition(".")
    (config[where] if where else config)[key] = value
    (run / "config.json").write_text(json.dumps(config))
    line = run_case(script("train_maist"), ["--run-dir", run, "--resume", "--steps", "30"],
                    tmp_path, world, capsys, f"{run / 'config.json'}: {key}")
    assert "(--" not in line and "damaged" in line


def test_an_older_checkpoint_is_offered_and_works(world, tmp_path, capsys):
    run = damage_run(tmp_path, world, "state-empty")
    line = run_case(script("predict"), [run, world / "char.png"], tmp_path, world, capsys,
                    "steps 0, 20")
    assert "(--step)" in line
    assert script("predict")([str(run), str(world / "char.png"), "--step", "20"]) == 0


def resume_differs(world, case):
    run = case / "run"
    shutil.copytree(world / "run", run)
    return ["--run-dir", run, "--resume", "--keep-prob", "0.9", "--steps", "30"]


def tiny_npz_with(case: Path, world: Path, change) -> Path:
    with np.load(world / "tiny.npz") as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    np.savez(case / "bad.npz", **arrays)
    return case / "bad.npz"


def nan_pixels(a):
    """A float .npz (as MAIST wrote before uint8 pixels) with a NaN."""
    a["x_train"] = a["x_train"].astype(np.float32) / 255
    a["x_train"][3, 5] = np.nan


def labels_out_of_range(a):
    a["y_test"] = a["y_test"] + 100


def truncated_npz(case, world):
    raw = (world / "tiny.npz").read_bytes()
    (case / "cut.npz").write_bytes(raw[:-1])
    return case / "cut.npz"


def output_is_input(world, case):
    etl_dir = case / "ETL9G"
    shutil.copytree(world / "ETL9G", etl_dir)
    return ["--etl", etl_dir, "--out", etl_dir / "ETL9G_01", "--no-cache"]


def output_is_a_folder(world, case):
    (case / "out").mkdir()
    return ["--etl", world / "ETL9G", "--out", case / "out", "--no-cache"]


def output_exists(world, case):
    (case / "mine.npz").write_bytes(b"the user's own file")
    return ["--etl", world / "ETL9G", "--out", case / "mine.npz", "--no-cache"]


def empty_folder(world, case):
    (case / "empty").mkdir()
    return ["--etl", case / "empty", "--out", case / "o.npz", "--no-cache"]


def truncated_etl(world, case):
    (case / "ETL9G").mkdir()
    raw = (world / "ETL9G" / "ETL9G_01").read_bytes()
    (case / "ETL9G" / "ETL9G_01").write_bytes(raw[:-100])
    return ["--etl", case / "ETL9G" / "ETL9G_01", "--out", case / "o.npz", "--no-cache"]


def blank_png(world, case):
    Image.new("L", (64, 64), 255).save(case / "blank.png")
    return [world / "run", case / "blank.png"]


def not_an_image(world, case):
    (case / "x.png").write_bytes(b"\x89PNG but not really")
    return [world / "run", case / "x.png"]


def run_dir_is_a_file(world, case):
    (case / "afile").write_text("notes")
    return [case / "afile", world / "char.png"]


CASES = [
    # (id, script, argv builder, expected fragment)
    ("keep-prob-0", "train_maist", lambda w, c: ["--data", w / "tiny.npz", "--keep-prob", "0"], "keep_prob"),
    ("keep-prob-1.5", "train_maist", lambda w, c: ["--data", w / "tiny.npz", "--keep-prob", "1.5"], "at most 1"),
    ("steps-0", "train_maist", lambda w, c: ["--data", w / "tiny.npz", "--steps", "0"], "steps must be"),
    ("steps-negative", "train_maist", lambda w, c: ["--data", w / "tiny.npz", "--steps", "-5"], "steps must be"),
    ("batch-0", "train_maist", lambda w, c: ["--data", w / "tiny.npz", "--batch-size", "0"], "batch_size"),
    ("batch-negative", "train_maist", lambda w, c: ["--data", w / "tiny.npz", "--batch-size", "-3"], "batch_size"),
    ("eval-every-0", "train_maist", lambda w, c: ["--data", w / "tiny.npz", "--eval-every", "0"], "eval_every"),
    ("lr-nan", "train_maist", lambda w, c: ["--data", w / "tiny.npz", "--lr", "nan"], "learning rate"),
    ("unknown-model-option", "train_maist", lambda w, c: ["--data", w / "tiny.npz", "--model-option", "depth=3"], "takes conv1=32, conv2=64, hidden=1024, init=tutorial; cannot use 'depth=3'"),
    ("resume-other-recipe", "train_maist", resume_differs, "recipe.keep_prob: '0.5' -> '0.9'"),
    ("run-dir-is-a-file", "train_maist", lambda w, c: ["--data", w / "tiny.npz", "--run-dir", (c / "f").write_text("x") and c / "f"], "is a file"),
    ("npz-truncated", "train_maist", lambda w, c: ["--data", truncated_npz(c, w), "--dry-run"], "not a MAIST .npz"),
    ("npz-nan-pixels", "train_maist", lambda w, c: ["--data", tiny_npz_with(c, w, nan_pixels)], "non-finite"),
    ("npz-labels", "train_maist", lambda w, c: ["--data", tiny_npz_with(c, w, labels_out_of_range)], "labels outside"),
    ("data-missing", "train_maist", lambda w, c: ["--data", c / "nope"], "no such file"),
    ("recipe-json-garbage", "train_maist", lambda w, c: ["--recipe", (c / "r.json").write_text("[1,") and c / "r.json"], "not a JSON recipe"),
    ("out-is-input", "build_maist", output_is_input, "would write over or into"),
    ("out-is-folder", "build_maist", output_is_a_folder, "is a folder"),
    ("out-unwritable", "build_maist", lambda w, c: ["--etl", w / "ETL9G", "--out", "/proc/maist/x.npz", "--no-cache"], "cannot be created"),
    ("out-exists", "build_maist", output_exists, "exists"),
    ("etl-empty-folder", "build_maist", empty_folder, "the folder is empty"),
    ("etl-truncated", "build_maist", truncated_etl, "bytes past the last whole"),
    ("top-0", "predict", lambda w, c: [w / "run", w / "char.png", "--top", "0"], "--top must be 1 or more"),
    ("top-negative", "predict", lambda w, c: [w / "run", w / "char.png", "--top", "-2"], "--top must be 1 or more"),
    ("blank-picture", "predict", blank_png, "no ink found"),
    ("not-an-image", "predict", not_an_image, "not a readable image"),
    ("huge-picture", "predict", lambda w, c: [w / "run", huge_png(c / "huge.png")], "over the limit"),
    ("predict-run-is-a-file", "predict", run_dir_is_a_file, "is a file"),
    ("picture-missing", "predict", lambda w, c: [w / "run", c / "gone.png"], "no such file"),
    ("synthetic-over-files", "make_synthetic", lambda w, c: ["--writers", "1", "--out", (c / "ETL9G_01").write_bytes(b"x") and c], "MAIST's manifest does not name"),
    # seeds, sizes and numbers that would have been tracebacks
    ("build-seed-negative", "build_maist", lambda w, c: ["--etl", w / "ETL9G", "--out", c / "o.npz", "--seed", "-1", "--no-cache"], "seed must be"),
    ("build-seed-huge", "build_maist", lambda w, c: ["--etl", w / "ETL9G", "--out", c / "o.npz", "--seed", str(2**64), "--no-cache"], "seed must be"),
    ("synth-seed-negative", "make_synthetic", lambda w, c: ["--seed", "-3", "--out", c / "s"], "seed must be"),
    ("synth-variation-nan", "make_synthetic", lambda w, c: ["--variation", "nan", "--out", c / "s"], "finite"),
    ("synth-noise-inf", "make_synthetic", lambda w, c: ["--noise", "inf", "--out", c / "s"], "finite"),
    ("synth-writers-huge", "make_synthetic", lambda w, c: ["--writers", str(10**9), "--out", c / "s"], "writers must be"),
    ("compare-seed-negative", "compare_models", lambda w, c: ["--data", w / "tiny.npz", "--seed", "-1", "--root", c / "cmp"], "seed must be"),
    ("cosine-warmup-too-long", "train_maist", lambda w, c: ["--data", w / "tiny.npz", "--lr", "cosine(1e-3, warmup=500, floor=1e-5, steps=100)"], "must fit"),
    ("recipe-field-wrong-kind", "train_maist", lambda w, c: ["--recipe", (c / "r.json").write_text('{"model": ["expert"]}') and c / "r.json"], "model is a word"),
    ("recipe-deeply-nested", "train_maist", lambda w, c: ["--recipe", (c / "r.json").write_text("[" * 100_000) and c / "r.json"], "not a JSON recipe"),
    ("contact-writers-0", "contact_sheets", lambda w, c: ["--etl", w / "ETL9G", "--writers", "0", "--out", c / "figs"], "--writers must be 1"),
    ("contact-augment-bogus", "contact_sheets", lambda w, c: ["--etl", w / "ETL9G", "--augment", "bogus", "--out", figures(c)], "unknown augmentation"),
    ("cluster-no-workers", "train_cluster", lambda w, c: ["--workers", "0", "--dry-run"], "a cluster needs one worker and one ps task at least"),
    ("cluster-devices-too", "train_maist", lambda w, c: ["--dry-run", "--devices", "cpu:0,cpu:1", "--cluster", c / "cluster.json", "--job", "worker", "--task", "0", "--run-dir", c / "runs" / "x"], "no such cluster file"),
    ("contact-version-sheet-latin", "contact_sheets", lambda w, c: ["--etl", w / "ETL9G", "--version-sheet", "abc", "--out", figures(c)], "--version-sheet: give characters of the default class set, not a b c"),
    ("serve-port-negative", "serve", lambda w, c: [w / "run", "--port", "-1", "--runs", w], "not a port"),
    # options that would have done nothing
    ("npz-with-classes", "train_maist", lambda w, c: ["--data", w / "tiny.npz", "--classes", "hiragana75"], "keeps what it was built with"),
    ("npz-with-preprocess", "train_maist", lambda w, c: ["--data", w / "tiny.npz", "--preprocess", "blog"], "keeps what it was built with"),
    ("etl-classes-absent", "build_maist", lambda w, c: ["--etl", w / "ETL9G", "--out", c / "o.npz", "--classes", "hiragana75", "--no-cache"], "have no image in these files"),
    ("touch-npz-without-drawers", "train_maist", lambda w, c: ["--data", touch_like(c)], "lacks sample_idx"),
    # synthetic sets that are not whole, or not only synthetic
    ("synthetic-stopped-before-a-file", "build_maist", lambda w, c: ["--etl", synthetic_copy(w, c, "no-file-yet"), "--out", c / "o.npz", "--no-cache"], "unfinished synthetic set"),
    ("synthetic-unfinished", "build_maist", lambda w, c: ["--etl", synthetic_copy(w, c, "unfinished"), "--out", c / "o.npz", "--no-cache"], "unfinished synthetic set"),
    ("synthetic-file-missing", "build_maist", lambda w, c: ["--etl", synthetic_copy(w, c, "missing"), "--out", c / "o.npz", "--no-cache"], "files of the synthetic set are missing"),
    ("synthetic-with-aists-file", "build_maist", lambda w, c: ["--etl", synthetic_copy(w, c, "foreign"), "--out", c / "o.npz", "--no-cache"], "were not made with them"),
    ("etl-dangling-link", "build_maist", lambda w, c: ["--etl", synthetic_copy(w, c, "dangling"), "--out", c / "o.npz", "--no-cache"], "which is not there"),
    ("etl-fifo", "build_maist", lambda w, c: ["--etl", fifo(c, "ETL9G_01"), "--out", c / "o.npz", "--no-cache"], "not a regular file"),
    ("picture-fifo", "predict", lambda w, c: [w / "run", fifo(c, "x.png")], "not a regular file"),
    ("picture-dev-zero", "predict", lambda w, c: [w / "run", link(c / "z.png", "/dev/zero")], "not a regular file"),
]


def figures(case: Path) -> Path:
    """A folder of figures that a refused flag must leave as they were."""
    (case / "figs").mkdir()
    (case / "figs" / "augment.png").write_bytes(b"the docs' own figure")
    return case / "figs"


def touch_like(case: Path) -> Path:
    np.savez(case / "drawings.npz", images=np.zeros((3, 8, 8), np.uint8), chars=np.array(list("あいう")))
    return case / "drawings.npz"


def synthetic_copy(world: Path, case: Path, how: str) -> Path:
    """The world's synthetic set, copied, then made unfinished (with its files, or stopped
    before the first), short of a file, mixed with a file it did not make, or holding a
    link to nothing."""
    from maist import synth

    folder = case / "syn"
    if not (world / "syn").exists():
        synth.generate(world / "syn", synth.SynthConfig(writers=8, workers=1))
    shutil.copytree(world / "syn", folder)
    manifest = json.loads((folder / "MAIST_SYNTHETIC.json").read_text())
    if how == "unfinished":
        manifest["complete"] = False
    elif how == "no-file-yet":  # stopped before the first of its files was written
        manifest["complete"] = False
        for p in folder.glob("ETL9G_*"):
            p.unlink()
    elif how == "missing":
        (folder / "ETL9G_02").unlink()
    elif how == "foreign":
        shutil.copy(world / "ETL9G" / "ETL9G_01", folder / "ETL9G_07")
    elif how == "dangling":
        (folder / "ETL9G_09").symlink_to(case / "gone")
    (folder / "MAIST_SYNTHETIC.json").write_text(json.dumps(manifest))
    return folder


def fifo(case: Path, name: str) -> Path:
    os.mkfifo(case / name)
    return case / name


def link(path: Path, target: str) -> Path:
    path.symlink_to(target)
    return path


@pytest.mark.parametrize("case_id,name,argv,fragment", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_one_line_and_changes_nothing(world, tmp_path, capsys, case_id, name,
                                                       argv, fragment):
    args = argv(world, tmp_path)
    line = run_case(script(name), args, tmp_path, world, capsys, fragment)
    if case_id == "synthetic-over-files":  # not ours: --force would not help either
        assert line.endswith("(--out)")


def test_make_synthetic_names_its_own_flag_for_overwriting(tmp_path, capsys):
    """The library's `overwrite` is the script's --force: run through the script's main."""
    make = script("make_synthetic")
    assert make(["--writers", "1", "--out", str(tmp_path), "--workers", "1"]) == 0
    capsys.readouterr()
    before = snapshot(tmp_path)
    assert make(["--writers", "1", "--out", str(tmp_path), "--workers", "1"]) == 1
    line = capsys.readouterr().err.strip()
    assert "already holds a synthetic set" in line and line.endswith("(--force, --out)")
    assert snapshot(tmp_path) == before
    assert make(["--writers", "1", "--seed", "5", "--out", str(tmp_path), "--workers", "1",
                 "--force"]) == 0
    assert snapshot(tmp_path) != before


def test_unreadable_inputs_are_one_line(world, tmp_path, capsys, monkeypatch):
    """Permission bits do not stop root, so the denial is simulated where MAIST asks."""
    etl_dir = tmp_path / "ETL9G"
    shutil.copytree(world / "ETL9G", etl_dir)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p).name == "ETL9G_01"
                        else real_access(p, mode, **kw))
    run_case(script("build_maist"), ["--etl", etl_dir, "--out", tmp_path / "o.npz", "--no-cache"],
             tmp_path, world, capsys, "not readable")
    monkeypatch.undo()
    real_read = Path.read_text

    def denied(self, *a, **kw):
        if self.name == "MAIST_SYNTHETIC.json":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self, *a, **kw)

    monkeypatch.setattr(Path, "read_text", denied)
    run_case(script("build_maist"), ["--etl", etl_dir, "--out", tmp_path / "o.npz", "--no-cache"],
             tmp_path, world, capsys, "MAIST_SYNTHETIC.json: cannot be read")


# --- caches: every way one can be unreadable is rebuilt, with a warning ----------------------

def _flip_a_byte(raw: bytes) -> bytes:
    i = len(raw) // 2
    return raw[:i] + bytes([raw[i] ^ 0xFF]) + raw[i + 1:]


CACHE_DAMAGE = {
    "one-byte-short": lambda p: p.write_bytes(p.read_bytes()[:-1]),
    "cut-in-half": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "random-header": lambda p: p.write_bytes(os.urandom(64) + p.read_bytes()[64:]),
    "flipped-byte": lambda p: p.write_bytes(_flip_a_byte(p.read_bytes())),
    "missing-key": lambda p: _rewrite(p, lambda a: a.pop("y_val")),
    "wrong-shape": lambda p: _rewrite(p, lambda a: a.update(x_train=a["x_train"][:, :100])),
    "wrong-dtype": lambda p: _rewrite(p, lambda a: a.update(y_train=a["y_train"].astype(np.float32))),
    "labels-out-of-range": lambda p: _rewrite(p, lambda a: a.update(y_train=a["y_train"] - 1)),
    "nan-pixels": lambda p: _rewrite(p, lambda a: a.update(x_test=np.full(a["x_test"].shape, np.nan, np.float32))),
    "object-array": lambda p: _rewrite(p, lambda a: a.update(classes=np.array([{"a": 1}], dtype=object))),
}


def _rewrite(path: Path, change) -> None:
    with np.load(path, allow_pickle=True) as z:
        arrays = {k: z[k].copy() for k in z.files}
    change(arrays)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.fixture(scope="module")
def etl_small(tmp_path_factory):
    return make_etl_folder(tmp_path_factory.mktemp("cache-etl") / "ETL9G", writers=4)


@pytest.mark.parametrize("how", list(CACHE_DAMAGE))
def test_every_unreadable_cache_is_rebuilt_with_a_warning(etl_small, tmp_path, how):
    cache = tmp_path / "cache"
    first = dataset.build(etl_small, cache_dir=cache)
    (path,) = cache.glob("maist-*.npz")
    CACHE_DAMAGE[how](path)
    with pytest.warns(UserWarning, match="unreadable.*rebuilding"):
        again = dataset.build(etl_small, cache_dir=cache)
    np.testing.assert_array_equal(again.train.x, first.train.x)
    np.testing.assert_array_equal(dataset.MaistData.load(path).test.y, first.test.y)


def test_a_build_killed_mid_write_is_neither_trusted_nor_kept(etl_small, tmp_path):
    """SIGKILL while the cache is being written: the next build warns of nothing (there
    is no partial cache under the real name), rebuilds, and removes the dead temp file."""
    cache = tmp_path / "cache"
    child = f"""
import sys, time, numpy as np
sys.path.insert(0, {str(ROOT)!r})
real = np.savez
def slow(file, **arrays):
    with open(file, "wb") as f:
        f.write(b"PK\\x03\\x04 partial")
        f.flush()
        print("writing", flush=True)
        time.sleep(60)
np.savez = slow
from maist.data import dataset
dataset.build({str(etl_small)!r}, cache_dir={str(cache)!r})
"""
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        parts = list(cache.glob(".maist-*.part*"))
        assert len(parts) == 1 and not list(cache.glob("maist-*.npz"))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    time.sleep(0.1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "unreadable" warning: nothing partial was trusted
        data = dataset.build(etl_small, cache_dir=cache)
    assert len(data.train) > 0
    assert not list(cache.glob(".maist-*.part*"))  # the dead writer's leftover is gone
    assert len(list(cache.glob("maist-*.npz"))) == 1


def test_config_files_are_replaced_atomically(world, tmp_path):
    """config.json, metrics.csv and result.json are written through a temp file: after a
    run no temp file is left, and each parses."""
    run = world / "run"
    assert not [p for p in run.iterdir() if ".part" in p.name]
    json.loads((run / "config.json").read_text())
    json.loads((run / "result.json").read_text())
    assert (run / "metrics.csv").read_text().startswith("step,split,loss")


def test_resume_takes_the_runs_own_settings_and_override_is_explicit(world, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(world / "run", run)
    train_main = script("train_maist")
    # Nothing but --resume and more steps: recipe, data and seed come from config.json.
    assert train_main(["--run-dir", str(run), "--resume", "--steps", "25", "--quiet"]) == 0
    assert json.loads((run / "result.json").read_text())["step"] == 25
    assert json.loads((run / "config.json").read_text())["recipe"]["steps"] == 25
    # A different keep_prob is refused, then accepted with --override.
    assert train_main(["--run-dir", str(run), "--resume", "--steps", "30",
                       "--keep-prob", "0.9"]) == 1
    assert "(--override)" in capsys.readouterr().err
    assert train_main(["--run-dir", str(run), "--resume", "--steps", "30", "--keep-prob", "0.9",
                       "--override", "--quiet"]) == 0
    assert json.loads((run / "result.json").read_text())["step"] == 30


def test_runs_recorded_before_new_recipe_fields_still_resume(world):
    """A config.json from before `augment` and `label_smoothing` existed is the same
    recipe as one that states their defaults."""
    from maist.training.config import differences

    new = json.loads((world / "run" / "config.json").read_text())
    new["recipe"].update(augment="none", label_smoothing=0.0)  # the defaults, stated
    old = json.loads(json.dumps(new))
    del old["recipe"]["augment"], old["recipe"]["label_smoothing"]  # as older runs recorded
    assert differences(old, new) == []
    new["recipe"]["label_smoothing"] = 0.2
    assert differences(old, new) == ["recipe.label_smoothing: 0.0 -> 0.2"]


# --- signals: nothing hangs, nothing is orphaned, a stopped run says so in its exit code -----


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")  # a zombie is gone


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_the_generator_stops_on_a_signal_to_its_main_process(tmp_path, sig, code):
    """As `timeout -s INT` or `kill` do: the signal reaches the main process only. It stops
    within seconds, its workers with it, and the unfinished set is marked so."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "make_synthetic.py"),
                             "--writers", "400", "--workers", "2", "--out", str(tmp_path / "s")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_at_a_terminal)
    deadline = time.time() + 60
    while len(children_of(proc.pid)) < 2 and time.time() < deadline:
        time.sleep(0.2)
    workers = children_of(proc.pid)
    assert len(workers) >= 2, "the pool did not start"
    time.sleep(1.0)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the generator did not stop within 30 s of the signal") from None
    assert proc.returncode == code, (proc.returncode, err[-3000:])
    assert "Traceback" not in err and err.strip().splitlines()[-1] in ("interrupted", "terminated"), err[-3000:]
    # A worker ends on its parent's death signal; on a loaded machine that can take more
    # than the half second it takes here alone, so wait up to 5 s before calling it a leak.
    deadline = time.time() + 5
    while [w for w in workers if alive(w)] and time.time() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if alive(w)], "workers outlived the generator"
    manifest = json.loads((tmp_path / "s" / "MAIST_SYNTHETIC.json").read_text())
    assert manifest["complete"] is False
    from maist.errors import EtlFormatError

    with pytest.raises(EtlFormatError, match="unfinished synthetic set"):
        dataset.build(tmp_path / "s", cache=False)


@pytest.mark.parametrize("sig,code,word", [(signal.SIGTERM, 143, "terminated"),
                                           (signal.SIGINT, 130, "interrupted")])
def test_a_signal_mid_training_saves_a_checkpoint_and_says_so_in_the_exit_code(
        world, tmp_path, sig, code, word):
    """kill (SIGTERM) saves as Ctrl-C does; neither exits 0, so `train && next` stops."""
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "train_maist.py"), "--data",
                             str(world / "tiny.npz"), "--steps", "100000", "--checkpoint-every",
                             "100000", "--eval-every", "100000", "--run-dir", str(run)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=as_at_a_terminal)
    for line in proc.stdout:  # training is under way once the first step is logged
        if line.startswith("i 0,"):
            break
    time.sleep(2.0)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == code, out
    assert f"{word} at step" in out and "Traceback" not in out
    steps = sorted(int(p.name.split("-")[1].split(".")[0]) for p in run.glob("ckpt-*.index"))
    assert steps[0] == 0 and steps[-1] > 0  # the work since step 0 was kept
    result = json.loads((run / "result.json").read_text())
    assert result["stopped"] == word and result["step"] == steps[-1]


def corrupt_copy(world: Path, case: Path) -> Path:
    src = case / "src"
    shutil.copytree(world / "run", src)
    for p in src.glob("ckpt-20.data-*"):
        p.write_bytes(b"\0" * 64)
    return src


START_FAILURES = [
    ("hidden-0", lambda w, c: ["--model", "mlp", "--model-option", "hidden=0"], "hidden of model mlp must be at least 1"),
    ("activation", lambda w, c: ["--model", "mlp", "--model-option", "activation=tanh"], "unknown activation"),
    ("freeze-unknown", lambda w, c: ["--init-from", w / "run", "--freeze", "zzz"], "no variable"),
    ("freeze-all", lambda w, c: ["--init-from", w / "run", "--freeze", "_"], "leaves nothing"),
    ("freeze-alone", lambda w, c: ["--freeze", "conv"], "needs init_from"),
    ("new-head-alone", lambda w, c: ["--new-head"], "needs init_from"),
    ("init-corrupt", lambda w, c: ["--init-from", corrupt_copy(w, c)], "cannot be read"),
    ("init-missing", lambda w, c: ["--init-from", c / "nowhere"], "init_from"),
    ("replay-alone", lambda w, c: ["--replay", "0.5"], "needs a share"),
    ("replay-whole", lambda w, c: ["--init-from", w / "run", "--replay", "1"], "up to but not 1"),
    ("replay-missing", lambda w, c: ["--init-from", w / "run", "--replay", "0.5", "--replay-data",
                                     c / "nowhere"], "given as replay data, is not there"),
    ("seed-huge", lambda w, c: ["--seed", str(2**64)], "seed must be"),
    ("seed-negative", lambda w, c: ["--seed", "-1"], "seed must be"),
    ("batch-huge", lambda w, c: ["--batch-size", str(10**12)], "batch_size"),
]


@pytest.mark.parametrize("case_id,argv,fragment", START_FAILURES, ids=[c[0] for c in START_FAILURES])
@pytest.mark.parametrize("named", [True, False], ids=["run-dir", "default-dir"])
def test_a_failed_start_leaves_no_run_directory(world, tmp_path, capsys, monkeypatch, case_id,
                                                argv, fragment, named):
    """Everything is checked before the run directory is made: a failed start leaves
    nothing that is neither a new run nor a resumable one, and no runs/NAME-2, -3, ..."""
    monkeypatch.chdir(tmp_path)
    extra = ["--run-dir", str(tmp_path / "run")] if named else []
    code = script("train_maist")(["--data", str(world / "tiny.npz"), "--dry-run", "--quiet",
                                  *map(str, argv(world, tmp_path)), *extra])
    err = capsys.readouterr().err
    assert code == 1 and fragment in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run").exists() and not (tmp_path / "runs").exists()
    if case_id == "init-missing":
        assert "(--init-from)" in err  # the flag that names the missing run, not --run-dir


def test_a_full_disk_at_the_start_leaves_no_run_directory(world, tmp_path, capsys, monkeypatch):
    import errno

    from maist.runs import records

    def full(run_dir, record):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(records, "write", full)
    monkeypatch.chdir(tmp_path)
    code = script("train_maist")(["--data", str(world / "tiny.npz"), "--dry-run", "--quiet",
                                  "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 1 and "no space left on the disk; free some space" in err, err
    assert not (tmp_path / "run").exists()


def test_a_full_disk_at_a_checkpoint_is_one_line_and_keeps_the_last_good_one(
        world, tmp_path, capsys, monkeypatch):
    from maist.nets.backend import tf
    from maist.runs import checkpoints

    real = checkpoints.tf1.train.Saver.save

    def full_after_step_0(self, sess, path, *a, **kw):
        if not path.endswith("ckpt-0"):
            (Path(path).parent / "checkpoint.tempstate123").write_text("partial")
            raise tf.errors.ResourceExhaustedError(None, None, "No space left on device")
        return real(self, sess, path, *a, **kw)

    monkeypatch.setattr(checkpoints.tf1.train.Saver, "save", full_after_step_0)
    code = script("train_maist")(["--data", str(world / "tiny.npz"), "--dry-run", "--quiet",
                                  "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "could not be written" in err and "the last checkpoint is step 0" in err
    assert "(--resume)" in err
    assert not list((tmp_path / "run").glob("*.tempstate*"))
    assert (tmp_path / "run" / "ckpt-0.index").exists()


# --- what the user had stays; what MAIST makes says where it came from ------------------------


def test_force_replaces_only_what_the_generator_wrote(tmp_path, capsys):
    make = script("make_synthetic")
    out = tmp_path / "syn"
    assert make(["--writers", "4", "--workers", "1", "--out", str(out)]) == 0
    mine = {"ETL9G_01.bak": b"backup", "ETL9G_01.md5": b"0123abcd", "ETL9G_readme.txt": b"notes"}
    for name, data in mine.items():
        (out / name).write_bytes(data)
    (out / "ETL9G_old").mkdir()
    (out / "ETL9G_old" / "ETL9G_01").write_bytes(b"an old copy")
    assert make(["--writers", "8", "--seed", "1", "--workers", "1", "--out", str(out), "--force"]) == 0
    for name, data in mine.items():
        assert (out / name).read_bytes() == data
    assert (out / "ETL9G_old" / "ETL9G_01").read_bytes() == b"an old copy"
    assert sorted(p.name for p in out.glob("ETL9G_0?")) == ["ETL9G_01", "ETL9G_02"]
    assert json.loads((out / "MAIST_SYNTHETIC.json").read_text())["writers"] == 8


def test_a_failed_resume_changes_nothing(world, tmp_path, capsys):
    """config.json is rewritten only once everything has loaded: a damaged metrics.csv
    fails the resume, and every file is as it was."""
    run = tmp_path / "run"
    shutil.copytree(world / "run", run)
    (run / "metrics.csv").write_text("step,split\nnot,numbers\n")
    run_case(script("train_maist"), ["--run-dir", run, "--resume", "--steps", "30"], tmp_path,
             world, capsys, "metrics.csv: damaged")


def test_events_folder_replaced_by_a_file_is_one_line(world, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(world / "run", run)
    shutil.rmtree(run / "events")
    (run / "events").write_text("not a folder")
    run_case(script("train_maist"), ["--run-dir", run, "--resume", "--steps", "30"], tmp_path,
             world, capsys, "events: a file where")


def test_evaluating_on_other_data_keeps_the_runs_own_evaluation(world, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(world / "run", run)
    other = tiny_data(num_classes=5, per_class=40, seed=7).save(tmp_path / "other.npz")
    evaluate = script("evaluate")
    assert evaluate([str(run)]) == 0
    own = (run / "evaluation.json").read_bytes()
    assert evaluate([str(run), "--data", str(other)]) == 0
    assert (run / "evaluation.json").read_bytes() == own
    theirs = json.loads((run / "evaluation-other.json").read_text())
    assert theirs["data"] == str(other.resolve()) and (run / "confusion-other.png").exists()
    assert json.loads(own)["data"] == json.loads((run / "config.json").read_text())["data"]["path"]


def test_resume_keeps_the_runs_own_intervals_and_its_first_command_line(world, tmp_path, capsys,
                                                                        monkeypatch):
    """--resume alone keeps --eval-every, --checkpoint-every and --early-stopping; the
    first command line again, cosine schedule and --steps included, is the same run."""
    monkeypatch.chdir(tmp_path)
    train_main = script("train_maist")
    first = ["--data", str(world / "tiny.npz"), "--recipe", "fast", "--steps", "12",
             "--eval-every", "4", "--checkpoint-every", "4", "--early-stopping", "50",
             "--run-dir", "run", "--quiet"]
    assert train_main(first) == 0
    assert train_main(["--run-dir", "run", "--resume", "--steps", "16", "--quiet"]) == 0
    config = json.loads(Path("run/config.json").read_text())
    assert (config["eval_every"], config["checkpoint_every"], config["early_stopping"]) == (4, 4, 50)
    assert config["recipe"]["learning_rate"].startswith("cosine(0.002, warmup=1, floor=2e-05, steps=12)")
    assert config["data"]["path"] == str((world / "tiny.npz").resolve())  # recorded absolute
    capsys.readouterr()
    assert train_main([*first, "--resume"]) == 0, capsys.readouterr().err  # the same run again


def test_three_pictures_make_a_data_set_with_every_split(tmp_path):
    from maist.data import sources

    for k, char in enumerate("あいう"):
        (tmp_path / char).mkdir()
        Image.fromarray((255 - shape(k) * 255).astype(np.uint8)).save(tmp_path / char / "1.png")
    data = sources.load(tmp_path)
    assert [len(data.split(s)) for s in ("train", "val", "test")] == [1, 1, 1]


def test_a_folder_given_twice_is_read_once(world, tmp_path):
    once = dataset.build(world / "ETL9G", cache=False)
    twice = dataset.build([world / "ETL9G", world / "ETL9G", world / "ETL9G" / "ETL9G_01"],
                          cache=False)
    assert sum(len(s) for s in (twice.train, twice.val, twice.test)) == \
        sum(len(s) for s in (once.train, once.val, once.test))


def test_an_unreadable_sub_folder_is_an_error_not_a_smaller_data_set(world, tmp_path, monkeypatch):
    """Root reads any folder, so the denial is simulated where the walk reports it."""
    from maist.data import etl
    from maist.errors import EtlFormatError

    real = os.walk

    def walk(top, onerror=None, **kw):
        yield from real(top, onerror=onerror, **kw)
        onerror(PermissionError(13, "Permission denied", str(Path(top) / "private")))

    monkeypatch.setattr(os, "walk", walk)
    with pytest.raises(EtlFormatError, match="private: cannot be read"):
        etl.find_etl_files(world / "ETL9G")


def test_step_0_is_kept_whatever_the_rotation(world, tmp_path):
    assert script("train_maist")(["--data", str(world / "tiny.npz"), "--steps", "9",
                                  "--checkpoint-every", "1", "--eval-every", "9", "--run-dir",
                                  str(tmp_path / "run"), "--quiet"]) == 0
    from maist.runs import checkpoints

    assert checkpoints.steps(tmp_path / "run") == [0, 5, 6, 7, 8, 9]


def test_files_are_as_readable_as_the_umask_allows(world, tmp_path, monkeypatch):
    """Everything MAIST writes is readable by whom the umask lets read (not 0600)."""
    from maist.fileio import current_umask

    umask = current_umask()
    readable = 0o444 & ~umask
    run = world / "run"
    cache = tmp_path / "cache"
    dataset.build(world / "ETL9G", cache_dir=cache)
    from maist import synth

    synth.generate(tmp_path / "syn", synth.SynthConfig(writers=1, workers=1))
    written = [p for folder in (run, cache, tmp_path / "syn") for p in folder.rglob("*")
               if p.is_file()] + [world / "tiny.npz"]
    assert len(written) >= 10
    too_private = [str(p) for p in written if (p.stat().st_mode & readable) != readable]
    assert too_private == []


# --- pictures as phones and apps save them -----------------------------------------------------


def test_a_phone_photo_stored_turned_reads_upright(tmp_path):
    """A JPEG whose pixels are stored turned, with EXIF saying how to show them."""
    from maist.data.pictures import read_picture

    upright = (255 - shape(4) * 255).astype(np.uint8)  # the cross with a lid: not symmetric
    big = Image.fromarray(upright).resize((112, 112))
    stored = big.transpose(Image.Transpose.ROTATE_90)  # as the camera wrote it
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn 90 degrees clockwise to show
    stored.save(tmp_path / "photo.jpg", exif=exif, quality=95)
    got = read_picture(tmp_path / "photo.jpg")
    assert np.abs(got.astype(int) - np.asarray(big, int)).mean() < 8


def test_16_bit_greys_and_white_ink_on_transparency_are_not_blank(tmp_path):
    from maist.data.pictures import from_picture

    ink = shape(2)  # a cross
    grey16 = ((1 - ink) * 65535).astype(np.uint16)
    deep = Image.fromarray(grey16)
    assert deep.mode.startswith("I;16")
    deep.resize((112, 112)).save(tmp_path / "deep.png")
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = 255, (ink * 255).astype(np.uint8)  # white strokes, alpha = ink
    Image.fromarray(rgba, "RGBA").resize((112, 112)).save(tmp_path / "white.png")
    plain = from_picture(Image.fromarray((255 - ink * 255).astype(np.uint8)).resize((112, 112)))
    for name in ("deep.png", "white.png"):
        x = from_picture(tmp_path / name)
        assert np.abs(x - plain).mean() < 0.02, name


def test_visualize_on_data_with_an_empty_test_split_is_one_line(world, tmp_path, capsys):
    data = tiny_data(num_classes=5, per_class=40)
    data.test.pixels, data.test.y, data.test.writers = data.test.pixels[:0], data.test.y[:0], data.test.writers[:0]
    empty = data.save(tmp_path / "notest.npz")
    run_case(script("visualize"), [world / "run", "--data", empty, "--out", tmp_path / "f"],
             tmp_path, world, capsys, "test split is empty")
