"""Towers over several devices (the cifar10 multi-GPU tutorial's way), tested on two and
three CPU devices of one session, as CI has no GPU."""

import numpy as np
import pytest
from conftest import tiny_data, tiny_recipe

import maist
from maist.errors import ClusterError
from maist.nets import graph as G
from maist.nets.backend import tf, tf1
from maist.nets.devices import VARIABLES, check_present, parse_devices, session_config
from maist.training.config import TrainConfig
from maist.training.loop import train


def _three_steps(devices, loss="stable", optimizer="adam"):
    rng = np.random.default_rng(0)
    x = rng.random((50, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 50)]
    g = G.build("expert", 10, loss, optimizer, seed=3, devices=devices, average=0.99,
                label_smoothing=0.1 if loss == "stable" else 0.0, conv1=8, conv2=8, hidden=32)
    with tf1.Session(graph=g.graph, config=session_config(devices)) as sess:
        check_present(sess, devices)
        sess.run(g.init)
        feed = {g.inputs.x: x, g.inputs.y_: y, g.inputs.learning_rate: 1e-3,
                g.inputs.keep_prob: 0.5}
        losses = [sess.run([g.train_op, g.loss], feed)[1] for _ in range(3)]
        with g.graph.as_default():
            weights = {v.op.name: sess.run(v) for v in tf1.global_variables()}
    return g, losses, weights


@pytest.mark.parametrize("loss, optimizer", [("stable", "adam"), ("tutorial", "gd")])
def test_towers_on_two_and_three_cpu_devices_equal_one_device(loss, optimizer):
    """The same batch (50 rows: 25 + 25, and 16 + 17 + 17), seed, dropout and average:
    the same losses and the same weights, every variable (Adam's moments and the averages
    too), within float tolerance."""
    _, one_loss, one = _three_steps((), loss, optimizer)
    for devices in ("cpu:0,cpu:1", "cpu:2,cpu:0,cpu:1"):
        g, losses, weights = _three_steps(parse_devices(devices), loss, optimizer)
        np.testing.assert_allclose(losses, one_loss, rtol=1e-5)
        assert weights.keys() == one.keys()  # one copy of the variables, one device's names
        for name, value in one.items():
            np.testing.assert_allclose(weights[name], value, rtol=1e-4, atol=1e-6, err_msg=name)
        ops = g.graph.get_operations()
        for k, device in enumerate(parse_devices(devices)):
            mine = [op for op in ops if op.name.startswith(f"tower_{k}/")]
            assert mine and all(op.device == device for op in mine)
        assert {v.device for v in g.graph.get_collection(tf1.GraphKeys.TRAINABLE_VARIABLES)} \
            == {VARIABLES}


def test_a_run_on_towers_trains_as_one_device_and_restores_and_resumes_on_one(tmp_path):
    """maist's loop on two CPU towers: the metrics one device writes, a checkpoint that
    restores on one device, and a resume on one device that continues the same losses."""
    data = tiny_data()
    cfg = lambda steps, devices=(): TrainConfig(tiny_recipe(steps=steps), log_every=1,  # noqa: E731
                                                eval_every=10, checkpoint_every=10,
                                                devices=devices)
    one = train(data, cfg(20), tmp_path / "one", quiet=True)
    towers = train(data, cfg(10, "cpu:0,cpu:1"), tmp_path / "towers", quiet=True)
    resumed = train(data, cfg(20), tmp_path / "towers", resume=True, quiet=True)
    losses = lambda r: [h["loss"] for h in r.history if h["split"] == "train"]  # noqa: E731
    # float sums in another order: within 1e-4, relative, or absolute where a loss is small
    np.testing.assert_allclose(losses(towers), losses(one)[:10], rtol=1e-4, atol=1e-4)
    # The resume continues from the towers' step-10 weights, which differ from one device's
    # in the last float digits; on a model this small at 1e-3 those grow step by step (to
    # about 1e-3 by step 20 on some CPUs), so only the first resumed step is held to 1e-4.
    assert losses(resumed)[:10] == losses(towers)
    np.testing.assert_allclose(losses(resumed)[10], losses(one)[10], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(losses(resumed), losses(one), rtol=0.2, atol=2e-3)
    # The towers' own checkpoint, restored on one device, answers as one device's does.
    with maist.restore(tmp_path / "towers", step=10) as a, \
            maist.restore(tmp_path / "one", step=10) as b:
        np.testing.assert_allclose(a.probabilities(data.test.x), b.probabilities(data.test.x),
                                   atol=1e-3)


@pytest.mark.parametrize("text, msg", [("cpu0", "cannot read 'cpu0'"),
                                       ("cpu:0,cpu:0", "names a device twice"),
                                       ("tpu:0", "cannot read 'tpu:0'")])
def test_unreadable_devices_are_named(text, msg):
    with pytest.raises(ClusterError, match=msg):
        parse_devices(text)


def test_a_device_that_is_not_there_is_refused_before_the_run_directory(tmp_path):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU: gpu:0 is there")
    with pytest.raises(ClusterError, match="gpu:0 not found; this machine's TensorFlow has cpu:0"):
        train(tiny_data(), TrainConfig(tiny_recipe(steps=2), devices="gpu:0"), tmp_path / "r",
              quiet=True)
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(not tf.config.list_physical_devices("GPU"),
                    reason="needs TensorFlow's CUDA build and a GPU; this machine has neither")
def test_towers_on_gpus_equal_one_device():
    gpus = ",".join(f"gpu:{k}" for k in range(len(tf.config.list_physical_devices("GPU"))))
    _, one_loss, one = _three_steps(())
    _, losses, weights = _three_steps(parse_devices(gpus))
    np.testing.assert_allclose(losses, one_loss, rtol=1e-4)
