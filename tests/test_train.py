"""The session loop: learning, step tables, resume, the divergence guard, the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_data, tiny_recipe

from maist.errors import RunError, TrainingError
from maist.inference.restore import restore
from maist.runs.metrics import read_metrics
from maist.training.config import TrainConfig
from maist.training.loop import train
from maist.training.schedule import StepTable

ROOT = Path(__file__).resolve().parent.parent


def recipe(**kw):
    return tiny_recipe(**{"steps": 40, **kw})


def test_loss_goes_down_and_accuracy_up(tiny, tmp_path):
    cfg = TrainConfig(recipe(steps=150), eval_every=150, log_every=10)
    result = train(tiny, cfg, tmp_path / "run", quiet=True)
    rows = [r for r in result.history if r["split"] == "train"]
    assert np.mean([r["loss"] for r in rows[-3:]]) < 0.5 * rows[0]["loss"]
    assert result.test_accuracy >= 0.9 and result.stopped == "completed"
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"config.json", "metrics.csv", "result.json", "checkpoint", "events"} <= files
    assert any(n.startswith("ckpt-0.") for n in files) and any(n.startswith("ckpt-150.") for n in files)


def test_tables_reach_the_graph(tiny, tmp_path):
    """A learning rate of 0 from step 20 freezes the weights: the table is really fed."""
    cfg = TrainConfig(recipe(steps=30, learning_rate=StepTable.parse("1e-3, 20:0"),
                             keep_prob=StepTable.parse("1, 10:0.5")), log_every=1, eval_every=100,
                      checkpoint_every=20)
    train(tiny, cfg, tmp_path / "run", quiet=True)
    rows = read_metrics(tmp_path / "run")
    logged = {r["step"]: (r["learning_rate"], r["keep_prob"]) for r in rows if r["split"] == "train"}
    assert logged[9] == (1e-3, 1.0) and logged[10] == (1e-3, 0.5) and logged[20] == (0.0, 0.5)
    a, b = restore(tmp_path / "run", step=20), restore(tmp_path / "run")
    try:
        assert b.step == 30
        np.testing.assert_array_equal(a.run(["W_conv1"], tiny.test.x[:1])[0],
                                      b.run(["W_conv1"], tiny.test.x[:1])[0])
    finally:
        a.close()
        b.close()


def test_resume_continues_the_same_losses(tmp_path):
    data = tiny_data()
    cfg = TrainConfig(recipe(steps=40), log_every=1, eval_every=20, checkpoint_every=20)
    full = train(data, cfg, tmp_path / "full", quiet=True)
    half = TrainConfig(recipe(steps=20), log_every=1, eval_every=20, checkpoint_every=20)
    train(data, half, tmp_path / "split", quiet=True)
    resumed = train(data, cfg, tmp_path / "split", resume=True, quiet=True)
    losses = lambda res: [r["loss"] for r in res.history if r["split"] == "train"]  # noqa: E731
    assert len(losses(resumed)) == len(losses(full)) == 40
    np.testing.assert_allclose(losses(resumed), losses(full), rtol=1e-4)
    assert resumed.test_accuracy == pytest.approx(full.test_accuracy)


def test_divergence_guard_names_step_and_keeps_checkpoint(tmp_path):
    data = tiny_data()
    bad = recipe(model="beginner", optimizer="gd", loss="tutorial", steps=200,
                 learning_rate=StepTable.constant(1e4), keep_prob=StepTable.constant(1.0))
    with pytest.raises(TrainingError) as e:
        train(data, TrainConfig(bad, checkpoint_every=1000), tmp_path / "run", quiet=True)
    msg = str(e.value)
    assert msg.startswith("step ") and "recipe t" in msg and "the stable loss" in msg
    assert "--" not in msg and e.value.params == ("loss", "lr")  # the script names its flags
    assert "ckpt-0" in msg and (tmp_path / "run" / "ckpt-0.index").exists()


def test_early_stopping(tmp_path):
    data = tiny_data()
    frozen = recipe(steps=100, learning_rate=StepTable.constant(0.0))
    result = train(data, TrainConfig(frozen, eval_every=10, early_stopping=2), tmp_path / "run", quiet=True)
    assert result.stopped == "early stopping" and result.step == 30


def test_run_dir_is_never_overwritten_and_resume_needs_a_checkpoint(tiny, tmp_path):
    cfg = TrainConfig(recipe(steps=5), eval_every=5)
    train(tiny, cfg, tmp_path / "run", quiet=True)
    with pytest.raises(RunError, match="already holds a run"):
        train(tiny, cfg, tmp_path / "run", quiet=True)
    with pytest.raises(RunError, match="no checkpoint to resume"):
        train(tiny, cfg, tmp_path / "other", resume=True, quiet=True)


def test_corrupt_checkpoint_is_a_clear_error(tiny, tmp_path):
    train(tiny, TrainConfig(recipe(steps=5), eval_every=5), tmp_path / "run", quiet=True)
    data_file = next((tmp_path / "run").glob("ckpt-5.data-*"))
    data_file.write_bytes(b"\0" * 100)
    with pytest.raises(RunError, match="cannot be read.*delete this one's files"):
        restore(tmp_path / "run")


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "train_maist.py"), *args],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def test_cli_dry_run_and_errors(tmp_path):
    npz = tiny_data(num_classes=5).save(tmp_path / "tiny.npz")
    out = run_cli("--data", str(npz), "--dry-run", "--run-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "i 0, training accuracy" in out.stdout and "test accuracy" in out.stdout
    assert json.loads((tmp_path / "r" / "result.json").read_text())["step"] == 20
    again = run_cli("--data", str(npz), "--dry-run", "--run-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert again.returncode == 1 and "error: " in again.stderr and "Traceback" not in again.stderr
    missing = run_cli("--data", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 1 and "no such file" in missing.stderr
    bad_lr = run_cli("--data", str(npz), "--lr", "1e-3, 0:1", cwd=tmp_path)
    assert bad_lr.returncode == 1 and "positive" in bad_lr.stderr


def ctrl_c_at(data, at: int):
    """data whose training batches raise KeyboardInterrupt at step `at`, as Ctrl-C would
    there; returns the batches' own function, to put back."""
    real = data.train.batch_indices

    def interrupted(step, *args):
        if step == at:
            raise KeyboardInterrupt
        return real(step, *args)

    data.train.batch_indices = interrupted
    return real


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(tmp_path):
    data = tiny_data()
    real = ctrl_c_at(data, 7)
    cfg = TrainConfig(recipe(steps=12), eval_every=100, checkpoint_every=100)
    result = train(data, cfg, tmp_path / "run", quiet=True)
    assert result.stopped == "interrupted" and result.step == 7
    assert (tmp_path / "run" / "ckpt-7.index").exists()
    data.train.batch_indices = real
    done = train(data, cfg, tmp_path / "run", resume=True, quiet=True)
    assert done.stopped == "completed" and done.step == 12


def test_a_finished_run_is_reused_only_for_the_same_training(tiny, tmp_path, caplog):
    """compare/benchmarks reuse a finished run when the recipe trains alike, whatever its
    name or note says, and refuse one that trained otherwise."""
    from dataclasses import replace

    from maist.analysis.compare import train_or_reuse

    base = recipe(steps=10)
    first = train_or_reuse(tiny, TrainConfig(base, eval_every=10), tmp_path / "run")
    renamed = replace(base, name="another name", note="reworded")
    caplog.clear()  # only what the second call says
    with caplog.at_level("INFO", logger="maist"):
        again = train_or_reuse(tiny, TrainConfig(renamed, eval_every=10), tmp_path / "run")
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("maist")]
    assert again.test_accuracy == first.test_accuracy and logged[0].startswith("reusing")
    other = replace(base, keep_prob=StepTable.constant(1.0))
    with pytest.raises(RunError, match="other options"):
        train_or_reuse(tiny, TrainConfig(other, eval_every=10), tmp_path / "run")


def test_a_run_cut_short_stops_its_caller_and_is_resumed_not_reused(tmp_path):
    """Ctrl-C inside train_or_reuse (a benchmark's seed, the comparison's model) stops the
    caller once the run is saved, instead of handing back a half-trained run's accuracy;
    the same call later resumes it to its last step rather than reusing it as finished."""
    from maist.training.reuse import finished_result, train_or_reuse

    data = tiny_data()
    real = ctrl_c_at(data, 5)
    cfg = TrainConfig(recipe(steps=9), eval_every=100, checkpoint_every=100)
    with pytest.raises(KeyboardInterrupt):
        train_or_reuse(data, cfg, tmp_path / "run")
    assert (tmp_path / "run" / "ckpt-5.index").exists()
    assert finished_result(tmp_path / "run") is None  # result.json says "interrupted"
    data.train.batch_indices = real
    done = train_or_reuse(data, cfg, tmp_path / "run")
    assert done.stopped == "completed" and done.step == 9
    assert finished_result(tmp_path / "run").step == 9


def test_a_recorded_recipe_that_cannot_be_made_is_named_before_resuming(tmp_path):
    """config.json edited to another model, its recipe's options left the expert's: the
    resume names the file and the option, in one error, before anything is read."""
    from maist.training.config import resumable

    cfg = TrainConfig(recipe(steps=4), eval_every=100, checkpoint_every=2)
    train(tiny_data(), cfg, tmp_path / "run", quiet=True)
    path = tmp_path / "run" / "config.json"
    config = json.loads(path.read_text())
    config["recipe"].update(model="mlp", model_options={"init": "he"})
    path.write_text(json.dumps(config))
    with pytest.raises(RunError, match=r"config.json: recipe .*model mlp takes hidden, "
                                       r"activation; not 'init': the run directory is damaged"):
        resumable(tmp_path / "run")


def test_a_finished_run_is_reused_for_the_same_files_named_another_way(tiny, tmp_path,
                                                                       monkeypatch):
    """The same files, once recorded as absolute paths and now as relative ones, are the
    same data; other files are not, and the refusal says which file differs."""
    from dataclasses import replace

    from maist.analysis.compare import train_or_reuse

    monkeypatch.chdir(tmp_path)
    names = [f"data/synthetic/ETL9G_{i:02d}" for i in range(1, 8)]
    absolute = replace(tiny, meta={**tiny.meta, "sources": [str(tmp_path / n) for n in names]})
    relative = replace(tiny, meta={**tiny.meta, "sources": names})
    cfg = TrainConfig(recipe(steps=10), eval_every=10)
    first = train_or_reuse(absolute, cfg, "run")
    assert train_or_reuse(relative, cfg, "run").test_accuracy == first.test_accuracy
    other = replace(tiny, meta={**tiny.meta, "sources": names[:3] + ["elsewhere"] + names[4:]})
    with pytest.raises(RunError, match=r"data.sources\[3\]: .*ETL9G_04' -> '.*elsewhere'"):
        train_or_reuse(other, cfg, "run")


def test_a_finished_run_is_not_reused_on_a_set_another_generator_made(tiny, tmp_path):
    """A synthetic set made again by a newer generator (or with other settings) keeps its
    files' names: what the run's config records of its manifest tells them apart."""
    from dataclasses import replace

    from maist.analysis.compare import train_or_reuse

    made = [{"generator_version": 5, "writers": 200, "seed": 0}]
    old = replace(tiny, meta={**tiny.meta, "generated": made})
    cfg = TrainConfig(recipe(steps=10), eval_every=10)
    first = train_or_reuse(old, cfg, tmp_path / "run")
    assert train_or_reuse(replace(old), cfg, tmp_path / "run").test_accuracy == \
        first.test_accuracy
    newer = replace(tiny, meta={**tiny.meta, "generated": [
        {"generator_version": 6, "writers": 200, "seed": 0, "reshape_rate": 0.4}]})
    with pytest.raises(RunError, match=r"data.generated\[0\]: generator_version 5 -> 6, "
                                       r"reshape_rate None -> 0.4"):
        train_or_reuse(newer, cfg, tmp_path / "run")
    with pytest.raises(RunError, match=r"data.generated: 1 record -> none\), made before its "
                                       r"synthetic set was made again"):
        train_or_reuse(tiny, cfg, tmp_path / "run")


def test_a_restored_run_is_the_inference_graph_alone(tiny, tmp_path):
    """No optimiser, gradient, loss or global step in what restore() builds; only the
    model's variables, loaded; and the trainer's test accuracy again."""
    result = train(tiny, TrainConfig(recipe(steps=20), eval_every=20), tmp_path / "run", quiet=True)
    with restore(tmp_path / "run") as r:
        ops = r.graph.graph.get_operations()
        names = [op.name for op in ops]
        assert not [n for n in names if "gradients" in n or "Adam" in n or "loss" in n
                    or "global_step" in n or "xent" in n or n in ("y_", "keep_prob",
                                                                   "learning_rate")]
        assert not [op for op in ops if op.type.startswith(("Apply", "ResourceApply"))]
        assert {v.op.name for v in r.graph.variables} == {
            "W_conv1", "b_conv1", "W_conv2", "b_conv2", "W_fc1", "b_fc1", "W_fc2", "b_fc2"}
        assert r.step == 20
        accuracy = float((r.probabilities(tiny.test.x).argmax(1) == tiny.test.y).mean())
    assert accuracy == pytest.approx(result.test_accuracy, abs=1e-12)


def test_the_moving_average_follows_its_formula_and_evaluation_leaves_the_weights():
    """average = a - (1 - d)(a - w) after each step, d = min(decay, (1+n)/(10+n)); using
    the averages to evaluate and putting the trained values back changes nothing."""
    from maist.nets import graph as G
    from maist.nets.backend import tf1
    from maist.training.loop import averaged, one_hot

    data = tiny_data()
    g = G.build("expert", data.num_classes, average=0.5)
    w = g.tensor("W_fc2")
    a = g.graph.get_tensor_by_name("W_fc2/ExponentialMovingAverage:0")
    feed = {g.inputs.x: data.train.x[:8], g.inputs.y_: one_hot(data.train.y[:8], 4),
            g.inputs.learning_rate: 1e-2}
    with tf1.Session(graph=g.graph) as sess:
        sess.run(g.init)
        w0, a0 = sess.run([w, a])
        np.testing.assert_array_equal(w0, a0)  # the same initial draw
        for n in (1, 2, 3):
            before = sess.run(a)
            sess.run(g.train_op, feed)
            w1, a1 = sess.run([w, a])
            d = min(0.5, (1 + n) / (10 + n))
            np.testing.assert_allclose(a1, before - (1 - d) * (before - w1), rtol=1e-5, atol=1e-7)
        assert np.abs(w1 - a1).max() > 1e-4
        with averaged(sess, g):
            np.testing.assert_array_equal(sess.run(w), a1)
        np.testing.assert_array_equal(sess.run(w), w1)
        with pytest.raises(RuntimeError), averaged(sess, g):
            raise RuntimeError("an evaluation that fails")
        np.testing.assert_array_equal(sess.run(w), w1)  # put back even on an error


def test_a_run_that_keeps_an_average_is_read_and_resumed_with_it(tmp_path):
    """Restored, it is the averages (the trainer's test figure again); resumed, the same
    losses and averages as a run never stopped; fine-tuned from, its averages are taken."""
    from maist.nets.backend import tf1

    data = tiny_data()
    avg = recipe(steps=40, learning_rate=StepTable.constant(3e-3), average=0.9)
    cfg = TrainConfig(avg, log_every=1, eval_every=20, checkpoint_every=20)
    full = train(data, cfg, tmp_path / "full", quiet=True)
    ckpt = str(tmp_path / "full" / "ckpt-40")
    saved_avg = tf1.train.load_variable(ckpt, "W_conv1/ExponentialMovingAverage")
    assert np.abs(saved_avg - tf1.train.load_variable(ckpt, "W_conv1")).max() > 1e-4
    with restore(tmp_path / "full") as r:
        np.testing.assert_array_equal(r.run(["W_conv1"], data.test.x[:1])[0], saved_avg)
        accuracy = float((r.probabilities(data.test.x).argmax(1) == data.test.y).mean())
    assert accuracy == pytest.approx(full.test_accuracy, abs=1e-12)

    half = TrainConfig(recipe(steps=20, learning_rate=StepTable.constant(3e-3), average=0.9),
                       log_every=1, eval_every=20, checkpoint_every=20)
    train(data, half, tmp_path / "split", quiet=True)
    resumed = train(data, cfg, tmp_path / "split", resume=True, quiet=True)
    losses = lambda res: [r["loss"] for r in res.history if r["split"] == "train"]  # noqa: E731
    np.testing.assert_allclose(losses(resumed), losses(full), rtol=1e-4)
    np.testing.assert_allclose(tf1.train.load_variable(str(tmp_path / "split" / "ckpt-40"),
                                                       "W_conv1/ExponentialMovingAverage"),
                               saved_avg, rtol=1e-4, atol=1e-6)

    tuned = TrainConfig(recipe(steps=1, learning_rate=StepTable.constant(0.0), average=0.9),
                        init_from=str(tmp_path / "full"), eval_every=1)
    train(data, tuned, tmp_path / "tuned", quiet=True)
    start = str(tmp_path / "tuned" / "ckpt-0")
    np.testing.assert_array_equal(tf1.train.load_variable(start, "W_conv1"), saved_avg)
    np.testing.assert_array_equal(  # its own averages start at the weights it took
        tf1.train.load_variable(start, "W_conv1/ExponentialMovingAverage"), saved_avg)


def test_an_average_outside_0_to_1_is_refused():
    from maist.errors import ScheduleError

    for bad in (1.0, -0.1, True, "0.9"):
        with pytest.raises(ScheduleError, match="average"):
            recipe(average=bad)


def test_a_resume_without_a_usable_state_file_continues_from_the_newest_checkpoint(
        tmp_path, caplog):
    """The state file gone, or naming a checkpoint whose files were removed (the remedy
    for a damaged one): the resume continues from the newest checkpoint on disk, and
    says so; the losses are the uninterrupted run's."""
    data = tiny_data()
    cfg = TrainConfig(recipe(steps=12), eval_every=4, checkpoint_every=4)
    full = train(data, cfg, tmp_path / "full", quiet=True)
    half = TrainConfig(recipe(steps=8), eval_every=4, checkpoint_every=4)
    train(data, half, tmp_path / "a", quiet=True)
    (tmp_path / "a" / "checkpoint").unlink()
    caplog.clear()
    with caplog.at_level("INFO", logger="maist"):
        resumed = train(data, cfg, tmp_path / "a", resume=True, quiet=True, override=True)
    assert any("continuing from the newest there is, step 8" in r.getMessage()
               for r in caplog.records)
    assert resumed.test_accuracy == pytest.approx(full.test_accuracy)
    train(data, half, tmp_path / "b", quiet=True)
    for p in (tmp_path / "b").glob("ckpt-8.*"):
        p.unlink()
    resumed = train(data, cfg, tmp_path / "b", resume=True, quiet=True, override=True)
    assert resumed.step == 12


def test_data_of_one_class_is_refused():
    """A class file of one character would train a model that answers it for everything."""
    data = tiny_data(num_classes=1)
    with pytest.raises(TrainingError, match="needs two or more") as e:
        train(data, TrainConfig(recipe(steps=2)), "never-made", quiet=True)
    assert e.value.params == ("classes",)


def test_a_resumed_run_stops_early_where_an_uninterrupted_one_does(tmp_path):
    """Early stopping's count is replayed from the run's own validation rows: with a
    frozen model (the loss never improves) and patience 2, both stop at step 30."""
    data = tiny_data()
    frozen = dict(learning_rate=StepTable.constant(0.0))
    whole = train(data, TrainConfig(recipe(steps=100, **frozen), eval_every=10,
                                    early_stopping=2), tmp_path / "whole", quiet=True)
    train(data, TrainConfig(recipe(steps=20, **frozen), eval_every=10, checkpoint_every=10,
                            early_stopping=2), tmp_path / "split", quiet=True)
    resumed = train(data, TrainConfig(recipe(steps=100, **frozen), eval_every=10,
                                      checkpoint_every=10, early_stopping=2),
                    tmp_path / "split", resume=True, quiet=True)
    assert whole.step == resumed.step == 30 and resumed.stopped == "early stopping"


def test_a_ctrl_c_during_an_evaluation_is_evaluated_again_on_resume(tmp_path, monkeypatch):
    """The checkpoint is saved at that step, but its validation row was never written:
    the resumed run evaluates it first, so its metrics match an uninterrupted run's."""
    from maist.training import loop

    data = tiny_data()
    cfg = TrainConfig(recipe(steps=20), eval_every=10, checkpoint_every=10)
    whole = train(data, cfg, tmp_path / "whole", quiet=True)
    real, calls = loop._evaluate, []

    def interrupted_once(*a, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(*a, **kw)

    monkeypatch.setattr(loop, "_evaluate", interrupted_once)
    cut = train(data, cfg, tmp_path / "run", quiet=True)
    assert cut.stopped == "interrupted" and cut.step == 10
    assert not [r for r in read_metrics(tmp_path / "run") if r["split"] == "val"]
    monkeypatch.setattr(loop, "_evaluate", real)
    done = train(data, cfg, tmp_path / "run", resume=True, quiet=True)
    val = lambda rows: [(r["step"], round(r["loss"], 5)) for r in rows if r["split"] == "val"]  # noqa: E731
    assert val(done.history) == val(whole.history) and [s for s, _ in val(done.history)] == [10, 20]


def test_a_run_being_trained_is_not_trained_again_at_once(tmp_path):
    """One hold per run directory: a second --resume while the first trains is refused
    (nothing written), and the run resumes once the first lets go."""
    from maist.errors import RunError
    from maist.runs import rundir

    data = tiny_data()
    cfg = TrainConfig(recipe(steps=10), eval_every=10, checkpoint_every=10)
    train(data, cfg, tmp_path / "r", quiet=True)
    before = sorted(p.name for p in (tmp_path / "r").iterdir())
    first = rundir.Held(tmp_path / "r")  # as a process training it holds it
    longer = TrainConfig(recipe(steps=20), eval_every=10, checkpoint_every=10)
    with pytest.raises(RunError, match="another process is training this run now"):
        train(data, longer, tmp_path / "r", resume=True, quiet=True)
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == before
    first.release()
    assert train(data, longer, tmp_path / "r", resume=True, quiet=True).step == 20
