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
from conftest import make_etl_folder, tiny_data
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
    return run


RUN_DAMAGES = {
    "state-empty": "checkpoint is damaged",
    "state-garbage": "checkpoint is damaged",
    "state-text-garbage": "checkpoint is damaged",
    "config-deleted": "config.json: missing",
    "config-empty-object": "config.json: recipe, classes, seed",
    "config-not-json": "config.json is not valid JSON",
    "ckpt-data-zeroed": "cannot be read",
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
    if how.startswith("state") or how == "ckpt-data-zeroed":
        assert "0" in line and ("--step" in line or "step" in line)  # offers the intact one


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
    a["x_train"] = a["x_train"].copy()
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
    ("unknown-model-option", "train_maist", lambda w, c: ["--data", w / "tiny.npz", "--model-option", "depth=3"], "takes no options"),
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
]


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
    "nan-pixels": lambda p: _rewrite(p, lambda a: a["x_test"].__setitem__((0, 0), np.nan)),
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
