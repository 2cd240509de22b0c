"""The run directory as one typed layer: config.json read once into a RunRecord, checked,
older schemas upgraded, newer ones refused; result.json and the run's names."""

import json

import pytest
from conftest import tiny_data, tiny_recipe

from maist.errors import RunError
from maist.runs import records, result, rundir
from maist.training.config import TrainConfig, record


def written(tmp_path, **changes):
    """A run directory whose config.json is a real record with `changes` applied."""
    d = record(TrainConfig(tiny_recipe()), tiny_data()).to_dict()
    d.update(changes)
    (tmp_path / "run").mkdir(exist_ok=True)
    (tmp_path / "run" / "config.json").write_text(json.dumps(d))
    return tmp_path / "run", d


def test_a_record_reads_back_as_it_was_written(tmp_path):
    run, d = written(tmp_path)
    r = records.read(run)
    assert r.to_dict() == d and r.schema == records.SCHEMA
    assert r.model == "expert" and r.classes == tuple("あいうえ") and r.preprocess == "centered"
    assert not r.averaged and r.data_options() == {"preprocess": "centered", "split": "test"}


def test_a_schema_1_record_is_upgraded_and_a_newer_one_refused(tmp_path):
    run, d = written(tmp_path)
    old = {k: v for k, v in d.items() if k not in ("schema", "replay", "replay_data")}
    (run / "config.json").write_text(json.dumps(old))
    r = records.read(run)
    assert r.replay == 0.0 and r.replay_data is None and r.schema == records.SCHEMA
    (run / "config.json").write_text(json.dumps({**d, "schema": records.SCHEMA + 1}))
    with pytest.raises(RunError, match="newer MAIST.*upgrade MAIST"):
        records.read(run)


@pytest.mark.parametrize("key, value, said", [
    ("replay", "half", "replay is not a number"),
    ("new_head", 1, "new_head is not true or false"),
    ("eval_every", 1.5, "eval_every is not a whole number"),
    ("classes", ["ab"], "classes are not characters"),
    ("recipe", {"model": "expert"}, "recipe.loss, recipe.optimizer"),
])
def test_a_field_of_the_wrong_kind_is_named_in_config_terms(tmp_path, key, value, said):
    run, _ = written(tmp_path, **{key: value})
    with pytest.raises(RunError, match=said) as e:
        records.read(run)
    assert "config.json" in str(e.value) and "--" not in str(e.value)


def test_no_preprocessing_recorded_is_the_default(tmp_path):
    from maist.data.preprocess import DEFAULT_PREPROCESS

    run, _ = written(tmp_path, data={})
    assert records.read(run).preprocess == DEFAULT_PREPROCESS


def test_a_result_round_trips_and_knows_a_run_cut_short(tmp_path):
    (tmp_path / "r").mkdir()
    for stopped, finished in (("completed", True), ("early stopping", True),
                              ("interrupted", False), ("terminated", False)):
        result.write(tmp_path / "r", result.RunResult(tmp_path / "r", 7, 0.5, stopped, [], 1.2))
        back = result.read(tmp_path / "r")
        assert (back.step, back.test_accuracy, back.test_loss, back.stopped) == (7, 0.5, 1.2, stopped)
        assert back.finished is finished
    (tmp_path / "r" / "result.json").write_text("{")
    assert result.read(tmp_path / "r") is None


def test_a_new_run_never_takes_a_directory_that_holds_anything(tmp_path):
    assert rundir.claim(tmp_path / "a") is True
    assert rundir.claim(tmp_path / "a") is False  # empty: taken, not made
    (tmp_path / "a" / "x").write_text("mine")
    with pytest.raises(RunError, match="already holds a run"):
        rundir.claim(tmp_path / "a")
    assert (tmp_path / "a" / "x").read_text() == "mine"
    assert rundir.free_name(tmp_path, "a") == tmp_path / "a-2"
    assert rundir.parse_init_from("runs/x:100") == (tmp_path.__class__("runs/x"), 100)


def test_a_lock_keeps_a_second_process_out_until_the_first_is_done(tmp_path):
    """What makes the default synthetic set once when two commands (or two test workers)
    ask for it at the same time."""
    import subprocess
    import sys

    from maist.fileio import locked

    probe = ("import fcntl, sys; f = open(sys.argv[1], 'a')\n"
             "try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
             "except BlockingIOError:\n    sys.exit(3)\n")
    lock = tmp_path / ".synthetic.lock"
    with locked(lock):
        assert subprocess.run([sys.executable, "-c", probe, str(lock)]).returncode == 3
    assert subprocess.run([sys.executable, "-c", probe, str(lock)]).returncode == 0
