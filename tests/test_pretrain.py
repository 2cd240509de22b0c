"""Synthetic pretraining: when a run on real ETL files starts from a synthetic model, that
the model is made once and reused, and that the run really starts from its weights."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import make_etl_folder

from maist.data import etl, sources
from maist.training import pretrain, recipes

ROOT = Path(__file__).resolve().parent.parent


def test_real_etl_files_are_told_from_maists_own(tmp_path):
    aist = tmp_path / "ETL9G"
    aist.mkdir()
    (aist / "ETL9G_01").write_bytes(b"\0" * 8199)  # named as AIST names it, no manifest
    ours = make_etl_folder(tmp_path / "synthetic", writers=4, kanji=False)
    assert sources.is_real_etl(aist) and sources.is_real_etl(aist / "ETL9G_01")
    assert not sources.is_real_etl(ours) and not sources.is_real_etl(ours / "ETL9G_01")
    assert sources.is_real_etl(tmp_path)  # a folder holding both: some files are AIST's
    (tmp_path / "pictures" / "あ").mkdir(parents=True)
    assert not sources.is_real_etl(tmp_path / "pictures")
    (ours / etl.MANIFEST).write_text("{damaged")
    assert sources.is_real_etl(ours)  # a damaged manifest vouches for nothing


def test_a_built_npz_is_real_where_the_files_it_was_built_from_are(tmp_path):
    from conftest import tiny_data

    aist = tmp_path / "ETL9G"
    aist.mkdir()
    (aist / "ETL9G_01").write_bytes(b"\0" * 8199)
    ours = make_etl_folder(tmp_path / "synthetic", writers=4, kanji=False)
    for sources_, real in (([aist / "ETL9G_01"], True), ([ours / "ETL9G_01"], False),
                           ([tmp_path / "gone" / "ETL9G_01"], False), ([], False)):
        data = tiny_data()
        data.meta["sources"] = [str(p) for p in sources_]
        npz = data.save(tmp_path / f"built-{real}-{len(sources_)}.npz")
        if "gone" in str(sources_):  # an older .npz (no real_etl) whose files moved: said
            with pytest.warns(UserWarning, match="no longer where it says"):
                assert sources.is_real_etl(npz) is real, sources_
        else:
            assert sources.is_real_etl(npz) is real, sources_
    (tmp_path / "broken.npz").write_bytes(b"PK not a zip")
    assert not sources.is_real_etl(tmp_path / "broken.npz")


@pytest.mark.filterwarnings("ignore::maist.data.etl.formats.EtlCountWarning")  # few records
def test_an_npz_built_from_aist_files_stays_real_after_the_files_move(tmp_path):
    """The .npz records what it was built from: moving the ETL files away does not turn a
    real set into a synthetic one (which would silently drop the pretraining)."""
    import shutil

    from maist.data import dataset

    real = make_etl_folder(tmp_path / "ETL9G", writers=4, kanji=False)
    (real / etl.MANIFEST).unlink()  # the same files, as AIST's: no manifest of ours
    real_npz = dataset.build(real, split="random", cache=False).save(tmp_path / "real.npz")
    ours = make_etl_folder(tmp_path / "synthetic", writers=4, kanji=False)
    ours_npz = dataset.build(ours, split="random", cache=False).save(tmp_path / "ours.npz")
    assert sources.is_real_etl(real_npz) and not sources.is_real_etl(ours_npz)
    shutil.move(real, tmp_path / "moved")
    shutil.move(ours, tmp_path / "moved-ours")
    assert sources.is_real_etl(real_npz) and not sources.is_real_etl(ours_npz)


def test_which_runs_start_pretrained_and_from_what():
    maist_, demo = recipes.get_recipe("maist"), recipes.get_recipe("demo")
    assert pretrain.wanted("auto", maist_, real=True)
    assert not pretrain.wanted("auto", maist_, real=False)  # synthetic data: no need
    assert not pretrain.wanted("auto", demo, real=True)  # fast and the rest: from scratch
    assert not pretrain.wanted("none", maist_, real=True)
    assert pretrain.wanted("demo", demo, real=False)  # asked for: always
    assert pretrain.recipe_for("auto", "hiragana71", "expert").name == "demo"
    assert pretrain.recipe_for("auto", "kana142", "expert").name == "kana"
    assert pretrain.recipe_for("auto", "kana142+kyoiku1026", "expert").name == "kanji"
    assert pretrain.recipe_for("fast", "hiragana71", "deep").model == "deep"


def load_script(name):
    spec = importlib.util.spec_from_file_location(f"script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def world(tmp_path, monkeypatch):
    """'Real' ETL files (byte-built; told real here, since a test cannot hold AIST's
    100 MB files), a small synthetic set, a tiny demo recipe, and a working directory."""
    real = make_etl_folder(tmp_path / "ETL9G", writers=8, kanji=False)
    synthetic = make_etl_folder(tmp_path / "synthetic", writers=6, kanji=False)
    tiny = recipes.with_overrides(recipes.get_recipe("demo"), steps=6, batch_size=16)
    monkeypatch.setattr(sources, "is_real_etl", lambda p: Path(p).resolve() == real.resolve())
    monkeypatch.setattr("maist.training.run.synthetic_data", lambda classes, *a, **k: synthetic)
    monkeypatch.setitem(pretrain.RECIPES, "demo", tiny)
    monkeypatch.chdir(tmp_path)
    return real, synthetic


def test_a_maist_run_on_real_etl_starts_from_a_synthetic_model_made_once(world, capsys):
    from maist.nets.backend import tf1

    real, synthetic = world
    train_maist = load_script("train_maist")
    args = ["--data", str(real), "--recipe", "maist", "--steps", "2", "--batch-size", "8",
            "--quiet"]
    assert train_maist.main(args + ["--run-dir", "runs/a"]) == 0
    made = Path("runs/pretrained-hiragana71-demo-expert")
    assert "pretraining on synthetic writers first" in capsys.readouterr().out
    assert json.loads((made / "result.json").read_text())["step"] == 6
    config = json.loads(Path("runs/a/config.json").read_text())
    assert config["init_from"] == str(made)
    # ... and the synthetic writers stay in the mix: 30% of each real batch
    assert config["replay"] == pretrain.AUTO_MIX and config["replay_data"] == str(synthetic.resolve())
    assert config["data"]["replay"]["least"] == pretrain.AUTO_MIX
    np.testing.assert_array_equal(tf1.train.load_variable("runs/a/ckpt-0", "W_conv1"),
                                  tf1.train.load_variable(str(made / "ckpt-6"), "W_conv1"))
    stamp = (made / "ckpt-6.index").stat().st_mtime_ns
    assert train_maist.main(args + ["--run-dir", "runs/b"]) == 0
    out = capsys.readouterr().out
    assert f"pretrained: {made}" in out and "pretraining on" not in out
    assert (made / "ckpt-6.index").stat().st_mtime_ns == stamp  # reused, not trained again
    assert json.loads(Path("runs/b/config.json").read_text())["init_from"] == str(made)

    assert train_maist.main(args + ["--run-dir", "runs/c", "--pretrain", "none"]) == 0
    assert json.loads(Path("runs/c/config.json").read_text())["init_from"] is None
    assert json.loads(Path("runs/c/config.json").read_text())["replay"] == 0
    assert train_maist.main(args + ["--run-dir", "runs/e", "--replay", "0"]) == 0  # no mix
    config = json.loads(Path("runs/e/config.json").read_text())
    assert config["init_from"] == str(made) and config["replay"] == 0
    assert train_maist.main(["--data", str(real), "--recipe", "fast", "--steps", "2",
                             "--quiet", "--run-dir", "runs/d"]) == 0
    assert json.loads(Path("runs/d/config.json").read_text())["init_from"] is None


def test_the_api_trains_as_the_script_does_with_the_same_pretraining(world, capsys):
    """maist.train goes through the same entry point (training.run): on real ETL files
    the maist recipe starts from the synthetic model, named and made as the script does,
    whether the data is given as a path or loaded first."""
    import maist

    real, _ = world
    made = Path("runs/pretrained-hiragana71-demo-expert")
    a = maist.train(str(real), "maist", "runs/a", changes={"steps": 2, "batch_size": 8})
    assert a.step == 2 and json.loads(Path("runs/a/config.json").read_text())["init_from"] == str(made)
    b = maist.train(maist.load_data(real), "maist", changes={"steps": 2, "batch_size": 8})
    assert b.run_dir == Path("runs/maist-expert")  # the script's name for a new run
    assert json.loads((b.run_dir / "config.json").read_text())["init_from"] == str(made)
    assert "pretrained: runs/pretrained" in capsys.readouterr().out  # made once, then reused
    c = maist.train(maist.load_data(real), "maist", changes={"steps": 2}, pretrain="none")
    assert json.loads((c.run_dir / "config.json").read_text())["init_from"] is None


def test_make_demo_s_model_counts_as_the_synthetic_model(world, capsys):
    """A finished runs/demo-expert of the same settings is taken, not trained again."""
    from maist.data import sources as src
    from maist.training.config import TrainConfig
    from maist.training.loop import train

    real, synthetic = world
    data = src.load(synthetic, seed=0)
    train(data, TrainConfig(pretrain.RECIPES["demo"]), "runs/demo-expert",
          quiet=True)
    train_maist = load_script("train_maist")
    assert train_maist.main(["--data", str(real), "--recipe", "maist", "--steps", "2",
                             "--quiet", "--run-dir", "runs/a"]) == 0
    assert "pretrained: runs/demo-expert" in capsys.readouterr().out
    assert json.loads(Path("runs/a/config.json").read_text())["init_from"] == "runs/demo-expert"
    assert not Path("runs/pretrained-hiragana71-demo-expert").exists()


def test_pretraining_is_refused_beside_a_start_of_ones_own(world, capsys):
    real, _ = world
    train_maist = load_script("train_maist")
    code = train_maist.main(["--data", str(real), "--pretrain", "demo", "--init-from",
                             "runs/x", "--run-dir", "runs/a"])
    err = capsys.readouterr().err
    assert code == 1 and "pretraining with demo" in err and "(--pretrain, --init-from)" in err
    assert not Path("runs/a").exists()


def test_an_unknown_pretraining_recipe_is_refused_before_anything_is_read(world, capsys):
    real, _ = world
    train_maist = load_script("train_maist")
    code = train_maist.main(["--data", "nowhere", "--pretrain", "nosuch", "--run-dir", "runs/a"])
    err = capsys.readouterr().err
    assert code == 1 and "--pretrain" in err and "nosuch" in err and "nowhere" not in err
    assert not Path("runs").exists()


@pytest.mark.parametrize("stopped,code", [("interrupted", 130), ("terminated", 143)])
def test_a_stopped_pretraining_stops_the_command_with_the_signal_s_code(world, capsys,
                                                                        monkeypatch, stopped,
                                                                        code):
    """Ctrl-C or SIGTERM during pretraining: no real run is started on a half-made model,
    and the exit code says which signal it was, as training's own does."""
    from maist.signals import Terminated

    real, _ = world

    def stopped_at_step_3(data, cfg, run_dir, **k):  # as training.reuse does once saved
        raise Terminated() if stopped == "terminated" else KeyboardInterrupt()

    monkeypatch.setattr(pretrain, "train_or_reuse", stopped_at_step_3)
    train_maist = load_script("train_maist")
    assert train_maist.main(["--data", str(real), "--recipe", "maist", "--steps", "2",
                             "--run-dir", "runs/a"]) == code
    out, err = capsys.readouterr()
    assert f"{stopped}; the same command continues it" in out
    assert not Path("runs/a").exists()
