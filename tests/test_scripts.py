"""evaluate.py, predict.py and visualize.py on a run trained here; the touch-screen set."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import TOUCH, tiny_data, touch_or_skip
from PIL import Image

from maist.training import recipes
from maist.training.config import TrainConfig
from maist.training.loop import train
from maist.training.schedule import StepTable

ROOT = Path(__file__).resolve().parent.parent


def script(name, *args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / name), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """An expert trained on the tiny shapes set, saved as a run with its .npz."""
    root = tmp_path_factory.mktemp("run")
    data = tiny_data(num_classes=5, per_class=80)
    npz = data.save(root / "tiny.npz")
    data.meta["path"] = str(npz)
    recipe = recipes.Recipe("t", "expert", "adam", "stable", 200, 32, StepTable.constant(1e-3),
                             StepTable.constant(0.5), sampling="epoch")
    result = train(data, TrainConfig(recipe, eval_every=200), root / "run",
                   quiet=True)
    return root, data, result


def test_evaluate_agrees_with_the_trainer(run):
    root, _, result = run
    out = script("evaluate.py", root / "run", cwd=root)
    assert out.returncode == 0, out.stderr
    report = json.loads((root / "run" / "evaluation.json").read_text())
    assert report["accuracy"] == pytest.approx(result.test_accuracy, abs=1e-9)
    assert f"test accuracy {result.test_accuracy:.4f}" in out.stdout
    assert (root / "run" / "confusion.png").exists()


def test_predict_reads_any_picture_the_right_way_up(run):
    root, data, _ = run
    paths, truth = [], []
    for k in range(5):
        i = int(np.flatnonzero(data.test.y == k)[0])
        img = (data.test.images()[i] * 255).astype(np.uint8)
        big = Image.fromarray(img).resize((140, 140), Image.BILINEAR)
        for variant, pic in (("light", big), ("dark", Image.fromarray(255 - np.asarray(big)))):
            path = root / f"c{k}_{variant}.png" if variant == "light" else root / f"c{k}_{variant}.jpg"
            pic.save(path)
            paths.append(path)
            truth.append(data.classes[k])
    out = script("predict.py", root / "run", *paths, cwd=root)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == len(paths)
    top1 = [line.split(": ")[1].split()[0] for line in lines]
    assert top1 == truth
    assert all(len(line.split(": ")[1].split()) == 10 for line in lines)  # 5 x (char, p)


def test_evaluate_and_predict_read_through_test_time_views(run):
    """--tta shift: a file of its own (the plain evaluation is not overwritten), the
    same figure as the library's reading, and predict.py's guesses as probabilities."""
    from maist.inference.restore import restore

    root, data, _ = run
    plain = (root / "run" / "evaluation.json").read_text() if (
        root / "run" / "evaluation.json").exists() else None
    out = script("evaluate.py", root / "run", "--tta", "shift", cwd=root)
    assert out.returncode == 0, out.stderr
    report = json.loads((root / "run" / "evaluation-tta-shift.json").read_text())
    with restore(root / "run", tta="shift") as r:
        expected = float((r.probabilities(data.test.x).argmax(1) == data.test.y).mean())
    assert report["tta"] == "shift" and report["accuracy"] == pytest.approx(expected, abs=1e-9)
    if plain is not None:
        assert (root / "run" / "evaluation.json").read_text() == plain
    img = (data.test.images()[0] * 255).astype(np.uint8)
    Image.fromarray(255 - img).save(root / "one.png")
    out = script("predict.py", root / "run", root / "one.png", "--tta", "shift", "--top", "2",
                 cwd=root)
    assert out.returncode == 0, out.stderr
    guesses = out.stdout.split(": ")[1].split()
    assert guesses[0] == data.classes[data.test.y[0]] and 0 < float(guesses[1]) <= 1
    out = script("predict.py", root / "run", root / "one.png", "--tta", "flip", cwd=root)
    assert out.returncode == 2 and "--tta" in out.stderr


def test_predict_bad_picture_is_a_clear_error(run, tmp_path):
    root, _, _ = run
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    out = script("predict.py", root / "run", bad, cwd=root)
    assert out.returncode == 1 and "bad.png" in out.stderr and "Traceback" not in out.stderr


def test_visualize_writes_step0_and_last(run, tmp_path):
    root, _, _ = run
    out = script("visualize.py", root / "run", "--out", tmp_path / "figs", cwd=root)
    assert out.returncode == 0, out.stderr
    names = {p.stem for p in (tmp_path / "figs").glob("*.png")}
    assert {"filters_step0", "filters_step200", "h_relu1_step0", "h_pool2_step200",
            "curves", "predictions", "confusion"} <= names


def test_touch_drawings_carry_their_character_through_preprocessing(tmp_path):
    """The real drawings load, preprocess and keep what tells them apart: a small CNN
    trained on some drawers reads the other drawers far above chance."""
    images, chars = touch_or_skip()
    assert images.shape == (745, 300, 300) and len(chars) == 745
    from maist.data import sources

    data = sources.load(TOUCH)
    assert sum(len(data.split(s)) for s in ("train", "val", "test")) == 714  # っ ょ left out
    assert 0.3 < data.train.x.mean() * 784 / 100 < 3  # ink present, not a blank or full frame
    assert not set(data.train.writers) & set(data.test.writers)  # split by drawer
    recipe = recipes.Recipe("t", "expert", "adam", "stable", 150, 32, StepTable.constant(1e-3),
                            StepTable.constant(0.5), sampling="epoch", augment="elastic")
    result = train(data, TrainConfig(recipe, eval_every=150), tmp_path / "run", quiet=True)
    present = len(set(data.train.y))  # 49 of the 71 classes have drawings
    assert result.test_accuracy > 10 / present, result.test_accuracy
