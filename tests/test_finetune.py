"""Fine-tuning from a checkpoint, pictures from a folder, and augmentation under resume."""

import json

import numpy as np
import pytest
from conftest import shape, tiny_data, tiny_recipe
from PIL import Image

from maist.analysis.metrics import cross_entropy
from maist.data import dataset, replay, sources
from maist.data.dataset import Split
from maist.errors import DatasetError, ScheduleError, TrainingError
from maist.inference.restore import restore
from maist.training import recipes
from maist.training.config import TrainConfig
from maist.training.loop import train
from maist.training.schedule import parse_schedule


def recipe(**kw):
    return tiny_recipe(**{"steps": 30, **kw})


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("source")
    data = tiny_data(num_classes=5)
    train(data, TrainConfig(recipe(steps=60), eval_every=60), root / "run", quiet=True)
    return root / "run"


def test_weights_come_from_the_source_run(source, tmp_path):
    """The fine-tuned run's first logged loss is the source model's loss on that batch."""
    data = tiny_data(num_classes=5, seed=9)  # other images, same classes
    cfg = TrainConfig(recipe(steps=5), log_every=1, eval_every=5, init_from=str(source))
    result = train(data, cfg, tmp_path / "ft", quiet=True)
    first = next(r for r in result.history if r["split"] == "train" and r["step"] == 0)
    idx = data.train.batch_indices(0, cfg.recipe.batch_size, cfg.recipe.sampling)
    with restore(source) as src:  # the source's own loss on that batch, in numpy
        expected = cross_entropy(src.logits(data.train.x[idx]), data.train.y[idx])
    assert first["loss"] == pytest.approx(expected, rel=1e-4, abs=1e-6)  # float32 in TF
    # Against a fresh start, the loss begins far lower: the weights really came along.
    fresh = train(data, TrainConfig(recipe(steps=1), log_every=1, eval_every=1), tmp_path / "new", quiet=True)
    assert first["loss"] < 0.5 * fresh.history[0]["loss"]
    config = json.loads((tmp_path / "ft" / "config.json").read_text())
    assert config["init_from"] == str(source)


def test_frozen_layers_stay_equal(source, tmp_path):
    data = tiny_data(num_classes=5, seed=3)
    cfg = TrainConfig(recipe(steps=20), eval_every=20, init_from=f"{source}:60", freeze=("conv",))
    train(data, cfg, tmp_path / "ft", quiet=True)
    names = ["W_conv1", "b_conv1", "W_conv2", "W_fc1", "W_fc2"]
    with restore(source) as a, restore(tmp_path / "ft") as b:
        before = dict(zip(names, a.run(names, data.test.x[:1])))
        after = dict(zip(names, b.run(names, data.test.x[:1])))
    for n in ("W_conv1", "b_conv1", "W_conv2"):
        np.testing.assert_array_equal(before[n], after[n])
    assert not np.array_equal(before["W_fc1"], after["W_fc1"])


def test_mismatched_classes_are_a_clear_error_unless_a_new_head(source, tmp_path):
    data = tiny_data(num_classes=4)
    cfg = TrainConfig(recipe(steps=3), eval_every=3, init_from=str(source))
    with pytest.raises(TrainingError, match=r"5 classes \(あいうえお\).*4 \(あいうえ\)"):
        train(data, cfg, tmp_path / "ft", quiet=True)
    cfg = TrainConfig(recipe(steps=3), eval_every=3, init_from=str(source), new_head=True)
    train(data, cfg, tmp_path / "ft2", quiet=True)
    with restore(source) as a, restore(tmp_path / "ft2") as b:
        x = data.test.x[:1]
        assert b.run(["W_fc2"], x)[0].shape == (1024, 4)
        # the body came from the source (then 3 steps of Adam at 1e-3 moved it a hair)
        np.testing.assert_allclose(a.run(["W_conv1"], x)[0], b.run(["W_conv1"], x)[0], atol=5e-3)


def test_resume_is_exact_with_augmentation(tmp_path):
    data = tiny_data()
    r = recipe(steps=24, augment="full")
    full = train(data, TrainConfig(r, log_every=1, eval_every=12, checkpoint_every=12),
                 tmp_path / "full", quiet=True)
    half = recipe(steps=12, augment="full")
    train(data, TrainConfig(half, log_every=1, eval_every=12, checkpoint_every=12),
          tmp_path / "split", quiet=True)
    resumed = train(data, TrainConfig(r, log_every=1, eval_every=12, checkpoint_every=12),
                    tmp_path / "split", resume=True, quiet=True, override=True)
    losses = lambda res: [x["loss"] for x in res.history if x["split"] == "train"]  # noqa: E731
    assert len(losses(full)) == 24
    np.testing.assert_allclose(losses(resumed), losses(full), rtol=1e-4)
    # and augmentation changed the batches: not the unaugmented losses
    plain = train(data, TrainConfig(recipe(steps=24), log_every=1, eval_every=12),
                  tmp_path / "plain", quiet=True)
    assert not np.allclose(losses(plain), losses(full), rtol=1e-3)


def draw(path, k):
    img = (255 - shape(k) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).resize((84, 84)).save(path)


def test_a_folder_of_pictures_loads_with_the_right_labels(tmp_path):
    mine = tmp_path / "mine"
    for i in range(4):
        draw(mine / "あ" / f"{i:04d}.png", 0)
        draw(mine / "い" / f"{i:04d}.png", 1)
    draw(mine / "う_1.png", 2)  # labelled by its name's first character
    data = sources.load(mine)
    y = np.concatenate([data.split(s).y for s in dataset.SPLITS])
    assert len(y) == 9 and data.num_classes == 71
    assert sorted(y.tolist()) == [0] * 4 + [1] * 4 + [2]
    assert data.classes[:3] == ("あ", "い", "う")
    # the labels follow the pictures: a vertical bar (class あ's shape) is あ
    i = int(np.flatnonzero(data.train.y == 0)[0])
    img = data.train.x[i].reshape(28, 28)
    assert img[:, 12:16].sum() > 3 * img[12:16, :].sum() * 0.5


def test_empty_folders_and_unknown_labels_are_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match="no PNG or JPEG pictures"):
        sources.picture_folder_data(tmp_path / "empty")
    draw(tmp_path / "odd" / "あ" / "1.png", 0)
    draw(tmp_path / "odd" / "x" / "2.png", 1)
    draw(tmp_path / "odd" / "あ" / "3.png", 1)
    with pytest.raises(DatasetError, match=r"1 pictures have no hiragana71 label \(x/2.png\)"):
        sources.picture_folder_data(tmp_path / "odd")


def test_cosine_schedule_and_new_recipes():
    cos = parse_schedule("cosine(2e-3, warmup=100, floor=1e-5, steps=1000)")
    assert cos(0) == pytest.approx(2e-5) and cos(99) == pytest.approx(2e-3)
    assert cos(100) == pytest.approx(2e-3) and cos(1000) == pytest.approx(1e-5)
    assert cos(550) == pytest.approx((2e-3 + 1e-5) / 2, rel=1e-6)
    assert parse_schedule(str(cos)) == cos
    longer = recipes.with_overrides(recipes.RECIPES["maist"], steps=9000)
    assert longer.learning_rate.steps == 9000  # the cosine follows the steps
    assert longer.learning_rate.warmup == 450  # and the warm-up keeps its share
    short = recipes.with_overrides(recipes.RECIPES["demo"], steps=20)  # a dry run
    assert short.learning_rate.steps == 20 and short.learning_rate.warmup == 1
    kept = recipes.with_overrides(short, follow_steps=False, steps=30)  # a resumed run
    assert kept.learning_rate == short.learning_rate and kept.steps == 30
    assert kept.learning_rate(29) == pytest.approx(short.learning_rate.floor)  # on at the floor
    back = recipes.Recipe.from_dict(json.loads(json.dumps(recipes.RECIPES["maist"].to_dict())))
    assert back == recipes.RECIPES["maist"]
    with pytest.raises(ScheduleError, match="label_smoothing"):
        recipes.with_overrides(recipes.RECIPES["demo"], label_smoothing=1.5)
    with pytest.raises(ScheduleError, match="unknown augmentation"):
        recipes.with_overrides(recipes.RECIPES["demo"], augment="blur")


def test_a_bad_source_is_refused_before_the_run_directory_is_made(source, tmp_path):
    for bad, match in ((str(source) + ":7", "no checkpoint at step 7"),
                       (str(tmp_path / "nowhere"), "no such run directory")):
        cfg = TrainConfig(recipe(steps=3), eval_every=3, init_from=bad)
        with pytest.raises(Exception, match=match):
            train(tiny_data(num_classes=5), cfg, tmp_path / "ft", quiet=True)
        assert not (tmp_path / "ft").exists()


# --- adapting to one's own drawings, with a replay of the source's data -------------------


def test_a_mixed_split_replays_its_share_of_every_batch():
    own, theirs = tiny_data(num_classes=4, seed=1).train, tiny_data(num_classes=4, seed=2).train
    base = tiny_data(num_classes=4, seed=1)
    mixed = replay.with_replay(base, theirs, 0.25, {"path": "elsewhere"}).train
    assert len(mixed) == len(own) + len(theirs) and mixed.own == len(own)
    for step in range(30):
        idx = mixed.batch_indices(step, 32)
        assert (idx >= len(own)).sum() == 8  # a quarter replayed, the rest the user's own
        assert np.array_equal(idx, mixed.batch_indices(step, 32))  # a function of the step
    # Every own row comes round once a pass over them: the user's drawings are not diluted.
    seen = np.concatenate([mixed.batch_indices(s, 32)[:24] for s in range(len(own) // 24)])
    assert len(np.unique(seen)) == len(seen)
    with pytest.raises(DatasetError, match="between 0 and 1"):
        replay.with_replay(base, theirs, 1.0, {})


def test_adapting_to_pictures_gets_its_own_defaults():
    from maist.runs.records import RunRecord
    from maist.training.config import Request, plan

    source = RunRecord(recipe={"model": "mlp"}, classes=("あ",), seed=0,
                       model_options={"hidden": 64},
                       data={"classes": "kana142", "preprocess": "blog"})
    p = plan(Request(init_from="runs/x", data="mine", data_kind="pictures", init_config=source))
    assert p.config.recipe.name == "adapt" and p.config.recipe.model == "mlp"
    assert p.config.model_options["hidden"] == 64
    assert p.config.freeze == ("hidden",) and p.config.replay == 0.5  # all but the readout
    assert p.data_options == {"classes": "kana142", "preprocess": "blog"}  # read as it read
    said = plan(Request(init_from="runs/x", data="mine", data_kind="pictures", freeze="none",
                        replay=0.2, init_config=source))
    assert said.config.freeze == () and said.config.replay == 0.2
    # A recipe named, or data that is not a folder of pictures: nothing is added.
    for other in (Request(recipe="demo", init_from="runs/x", data="mine", data_kind="pictures"),
                  Request(init_from="runs/x", data="data/ETL9G", data_kind="etl")):
        assert plan(other).config.replay == 0 and plan(other).config.freeze == ()
    with pytest.raises(TrainingError, match="needs a share"):
        TrainConfig(recipe(), replay=0.5)  # replay of what: no init_from


def test_adapting_replays_the_source_runs_own_data(tmp_path):
    """The source run's data (a .npz) is found from its config.json, mixed into the
    batches, and recorded; data that is gone is a clear error."""
    src_data = tiny_data(num_classes=5)
    src_data.save(tmp_path / "src.npz")
    src_data = sources.load(tmp_path / "src.npz")
    train(src_data, TrainConfig(recipe(steps=20), eval_every=20), tmp_path / "src",
          quiet=True)
    mine = tiny_data(num_classes=5, per_class=8, seed=5)
    cfg = TrainConfig(recipe(steps=10), eval_every=10, init_from=str(tmp_path / "src"),
                      freeze=("conv",), replay=0.5)
    from maist.training.adapt import with_replay

    mixed = with_replay(mine, cfg)
    assert mixed.train.own == len(mine.train) and len(mixed.train) == len(mine.train) + len(src_data.train)
    assert np.array_equal(mixed.train.pixels[len(mine.train):], src_data.train.pixels)
    result = train(mixed, cfg, tmp_path / "ft", quiet=True)
    config = json.loads((tmp_path / "ft" / "config.json").read_text())
    assert config["replay"] == 0.5 and config["data"]["replay"]["images"] == len(src_data.train)
    assert result.stopped == "completed"
    with pytest.raises(TrainingError, match="holds 5 classes.*the drawings 4"):
        with_replay(tiny_data(num_classes=4, per_class=8, seed=5), cfg)
    (tmp_path / "src.npz").unlink()
    with pytest.raises(TrainingError, match="src.npz.*is not there.*give the replay data") as e:
        with_replay(mine, cfg)
    assert e.value.params == ("replay_data", "replay")


def test_another_set_mixes_into_a_fresh_runs_training_batches_only(tmp_path):
    """--replay SHARE --replay-data PATH without --init-from: synthetic writers mixed into
    real training data. Each batch takes its share from the other set's training split;
    validation and test stay the run's own writers."""
    from maist.training.adapt import with_replay

    other = tiny_data(num_classes=5, seed=7)
    other.save(tmp_path / "synthetic.npz")
    real = tiny_data(num_classes=5, seed=3)
    cfg = TrainConfig(recipe(steps=10), eval_every=10, replay=0.3,
                      replay_data=str(tmp_path / "synthetic.npz"))
    mixed = with_replay(real, cfg)
    assert mixed.val is real.val and mixed.test is real.test
    assert mixed.train.own == len(real.train)
    batches = [mixed.train.batch_indices(s, 50) for s in range(40)]
    replayed = np.mean([np.mean(b >= len(real.train)) for b in batches])
    assert replayed == pytest.approx(0.3, abs=0.02)
    result = train(mixed, cfg, tmp_path / "run", quiet=True)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert result.stopped == "completed" and config["init_from"] is None
    assert config["data"]["replay"]["path"] == str((tmp_path / "synthetic.npz").resolve())


def test_the_replay_keeps_every_class_its_part_of_a_batch():
    """A user who drew 2 of 5 classes: the replay fills the other classes, so that over
    many batches each class is about a fifth, as in the source's own batches."""
    base = tiny_data(num_classes=5, seed=1)
    drawn = base.train.y < 2
    mine = Split(base.train.pixels[drawn], base.train.y[drawn], base.train.writers[drawn])
    share = replay.prior_share(mine.y, 5, least=0.5)
    assert share == pytest.approx(0.6)  # 2 of 5 classes: at most 2/5 of a batch is theirs
    data = dataset.MaistData(mine, base.val, base.test, base.classes, {})
    mixed = replay.with_replay(data, tiny_data(num_classes=5, seed=2).train, share, {}).train
    labels = np.concatenate([mixed.y[mixed.batch_indices(s, 50)] for s in range(200)])
    assert np.allclose(np.bincount(labels, minlength=5) / len(labels), 0.2, atol=0.01)
    # Drawings of every class, evenly: the replay is drawn as the source drew.
    assert replay.prior_share(base.train.y, 5, least=0.5) == 0.5


def test_a_run_recorded_before_replay_existed_is_the_same_run():
    from maist.training.config import differences, record

    cfg = TrainConfig(recipe())
    now = record(cfg, tiny_data(num_classes=5)).to_dict()
    before = {k: v for k, v in now.items() if k not in ("replay", "replay_data")}
    assert differences(before, now) == [] and differences(now, {**now, "replay": 0.5})


@pytest.mark.parametrize("model", ["beginner", "expert", "mlp", "deep"])
def test_adapting_freezes_every_layer_but_the_readout(model):
    """ModelSpec.body names all but the readout: adapting trains the readout alone."""
    from maist.nets import graph as G
    from maist.nets.backend import tf1
    from maist.nets.models import get_model

    spec = get_model(model)
    g = G.build(model, 5, freeze=spec.body) if spec.body else G.build(model, 5)
    with g.graph.as_default():
        trainable = [v.op.name for v in tf1.trainable_variables()]
    kept = [n for n in trainable if not any(f in n for f in spec.body)]
    assert len(kept) == 2 and len(trainable) >= 2  # the readout's weights and bias
