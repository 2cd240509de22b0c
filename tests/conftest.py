import signal
from pathlib import Path

import numpy as np
import pytest

from maist.data import etl
from maist.data.classes import char_to_jis, get_class_set
from maist.data.dataset import MaistData, Split
from maist.paths import touch_dir

ROOT = Path(__file__).resolve().parent.parent
HIRAGANA71 = get_class_set("hiragana71")
# The real touch drawings sit in ../shared beside the checkout on CI and developers'
# machines, not in a user's clone: tests that read them skip there, and say so.
TOUCH = ROOT / touch_dir()


def touch_or_skip():
    """(images, chars) of the touch-hiragana set, or a pytest skip that says why."""
    from maist.data import sources
    from maist.errors import DatasetError

    try:
        touch = sources.load_touch(TOUCH)
    except DatasetError as e:
        pytest.skip(f"../shared/data/touch-hiragana is not beside this checkout: {e}")
    return touch.images, touch.chars


def tiny_recipe(**kw):
    """A short expert recipe for the tiny shapes set; fields as keyword arguments."""
    from maist.training import recipes
    from maist.training.schedule import StepTable

    base = dict(name="t", model="expert", optimizer="adam", loss="stable", steps=40,
                batch_size=16, learning_rate=StepTable.constant(1e-3),
                keep_prob=StepTable.constant(0.5), sampling="epoch")
    base.update(kw)
    return recipes.Recipe(**base)


def shape(k: int, dy: int = 0, dx: int = 0) -> np.ndarray:
    """Class k's shape, centred in 28x28 like MNIST: a bar, a dash, a cross, a box, ..."""
    img = np.zeros((28, 28), np.float32)
    c = slice(12 + dy, 16 + dy), slice(12 + dx, 16 + dx)
    rows, cols = slice(4 + dy, 24 + dy), slice(4 + dx, 24 + dx)
    if k in (0, 2, 4):
        img[rows, c[1]] = 1.0  # vertical stroke
    if k in (1, 2, 4):
        img[c[0], cols] = 1.0  # horizontal stroke
    if k == 3:
        img[rows, cols] = 1.0
        img[8 + dy : 20 + dy, 8 + dx : 20 + dx] = 0.0  # a box outline
    if k == 4:
        img[4 + dy : 8 + dy, cols] = 1.0  # a cross with a lid
    return img


def tiny_data(num_classes=4, per_class=60, seed=0) -> MaistData:
    """Separable 28x28 images of a few shapes, jittered, with faint noise."""
    rng = np.random.default_rng(seed)
    splits = []
    for s in range(3):
        y = np.repeat(np.arange(num_classes), per_class if s == 0 else per_class // 4)
        x = rng.random((len(y), 28, 28)).astype(np.float32) * 0.15
        for i, k in enumerate(y):
            x[i] = np.maximum(x[i], shape(k, *rng.integers(-2, 3, 2)))
        splits.append(Split(x.reshape(len(y), 784), y, np.full(len(y), s), seed=seed + s))
    classes = tuple("あいうえおかきくけこ"[:num_classes])
    return MaistData(*splits, classes, {"preprocess": "centered", "split": "test"})


@pytest.fixture
def tiny():
    return tiny_data()


def make_etl_folder(folder, writers=10, per_file=4, classes=HIRAGANA71, kanji=True):
    """ETL9G files, `per_file` writers each, every writer writing the classes (and 一)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    chars = list(classes.chars) + (["一"] if kanji else [])
    for start in range(0, writers, per_file):
        ws = range(start, min(writers, start + per_file))
        recs = etl.new_records(etl.FORMATS["ETL9G"], len(ws) * len(chars))
        recs["jis"] = [char_to_jis(c) for _ in ws for c in chars]
        images = np.zeros((len(recs), 127, 128), np.uint8)
        for i in range(len(recs)):
            y, x = rng.integers(20, 80, 2)
            images[i, y : y + 30, x : x + 8] = 15
        recs["image"] = etl.pack_images(images, etl.FORMATS["ETL9G"])
        etl.write_etl(folder / f"ETL9G_{start // per_file + 1:02d}", recs, etl.FORMATS["ETL9G"])
    # These files hold 72 records per writer, not AIST's 3036: say so, as synth does.
    (folder / etl.MANIFEST).write_text(f'{{"records_per_writer": {len(chars)}}}')
    return folder


def as_at_a_terminal():
    """In the child, before it runs: SIGINT as a terminal delivers it. A shell starts a
    background job (`.ci/run &`, nohup) with SIGINT ignored, and a child inherits that;
    Python then never turns Ctrl-C into KeyboardInterrupt, and these tests would measure
    the shell, not MAIST."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
