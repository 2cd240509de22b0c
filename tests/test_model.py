"""Graphs: shapes, parameter counts, and the expert's forward pass against numpy."""

import numpy as np
import pytest

from maist.nets import graph as G
from maist.nets.backend import tf1


@pytest.mark.parametrize("name,params", [("beginner", 784 * 71 + 71),
                                         ("expert", 832 + 51264 + 3136 * 1024 + 1024 + 1024 * 71 + 71),
                                         ("mlp", 784 * 16 + 16 + 16 * 71 + 71),
                                         ("deep", 320 + 9248 + 18496 + 36928 + 3136 * 512 + 512 + 512 * 71 + 71)])
def test_parameter_counts(name, params):
    assert G.parameter_count(G.build(name, 71)) == params


def test_expert_shapes_and_stable_names():
    g = G.build("expert", 71)
    shapes = {n: g.tensor(n).shape.as_list() for n in
              ["x", "y_", "W_conv1", "h_conv1", "h_relu1", "h_pool1", "W_conv2", "h_conv2",
               "h_relu2", "h_pool2", "h_fc1", "logits", "probabilities"]}
    assert shapes["x"] == [None, 784] and shapes["y_"] == [None, 71]
    assert shapes["W_conv1"] == [5, 5, 1, 32] and shapes["W_conv2"] == [5, 5, 32, 64]
    assert shapes["h_conv1"] == shapes["h_relu1"] == [None, 28, 28, 32]
    assert shapes["h_pool1"] == [None, 14, 14, 32] and shapes["h_pool2"] == [None, 7, 7, 64]
    assert shapes["h_fc1"] == [None, 1024] and shapes["logits"] == [None, 71]
    assert g.inputs.keep_prob.op.type == "PlaceholderWithDefault"


def test_beginner_starts_at_zero():
    g = G.build("beginner", 71)
    with tf1.Session(graph=g.graph) as s:
        s.run(g.init)
        w, b = s.run([g.tensor("W"), g.tensor("b")])
    assert not w.any() and not b.any()


# --- an independent numpy forward pass, in the numpy-CNN seed's hand-written way ----------


def np_conv_same(x, w, b):
    """x (n, H, W, C), w (5, 5, C, F): SAME padding, stride 1, by explicit windows."""
    k = w.shape[0]
    p = k // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    n, h, wd, _ = x.shape
    out = np.zeros((n, h, wd, w.shape[3]))
    for i in range(k):
        for j in range(k):
            out += np.tensordot(xp[:, i : i + h, j : j + wd, :], w[i, j], axes=([3], [0]))
    return out + b


def np_pool(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def np_expert(x, p):
    h = x.reshape(-1, 28, 28, 1).astype(np.float64)
    h1 = np.maximum(np_conv_same(h, p["W_conv1"], p["b_conv1"]), 0)
    h2 = np.maximum(np_conv_same(np_pool(h1), p["W_conv2"], p["b_conv2"]), 0)
    flat = np_pool(h2).reshape(len(x), -1)
    fc = np.maximum(flat @ p["W_fc1"] + p["b_fc1"], 0)
    return fc @ p["W_fc2"] + p["b_fc2"], h1


def test_expert_forward_matches_numpy():
    g = G.build("expert", 71, seed=3)
    x = np.random.default_rng(0).random((4, 784)).astype(np.float32)
    names = ["W_conv1", "b_conv1", "W_conv2", "b_conv2", "W_fc1", "b_fc1", "W_fc2", "b_fc2"]
    with tf1.Session(graph=g.graph) as s:
        s.run(g.init)
        params = dict(zip(names, s.run([g.tensor(n) for n in names])))
        logits, relu1 = s.run([g.logits, g.tensor("h_relu1")], {g.inputs.x: x})
    ref_logits, ref_relu1 = np_expert(x, params)
    np.testing.assert_allclose(relu1, ref_relu1, atol=1e-4)
    np.testing.assert_allclose(logits, ref_logits, atol=1e-4, rtol=1e-4)


def test_dropout_only_when_keep_prob_is_fed():
    g = G.build("expert", 10)
    x = np.random.default_rng(0).random((3, 784)).astype(np.float32)
    with tf1.Session(graph=g.graph) as s:
        s.run(g.init)
        a = s.run(g.logits, {g.inputs.x: x})
        b = s.run(g.logits, {g.inputs.x: x})
        c = s.run(g.logits, {g.inputs.x: x, g.inputs.keep_prob: 0.5})
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


def test_tutorial_loss_is_the_blogs_sum():
    g = G.build("beginner", 71, loss_kind="tutorial")
    y = np.eye(71, dtype=np.float32)[np.arange(50) % 71]
    with tf1.Session(graph=g.graph) as s:
        s.run(g.init)
        loss = s.run(g.loss, {g.inputs.x: np.zeros((50, 784), np.float32), g.inputs.y_: y})
    assert loss == pytest.approx(50 * np.log(71), rel=1e-5)  # 213.1, the blog's first lines


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown model"):
        G.build("resnet", 71)
    with pytest.raises(ValueError, match="unknown loss"):
        G.build("beginner", 71, loss_kind="hinge")
    with pytest.raises(ValueError, match="unknown optimizer"):
        G.build("beginner", 71, optimizer="sgd2")


# --- the inference graph ------------------------------------------------------------------

RANDOM_OPS = {"RandomUniform", "RandomStandardNormal", "TruncatedNormal",
              "StatelessRandomUniformV2", "StatelessRandomUniform", "RandomUniformInt"}


@pytest.mark.parametrize("name", ["beginner", "expert", "mlp", "deep"])
def test_the_inference_graph_holds_the_model_and_nothing_that_trains_it(name):
    g = G.build_inference(name, 71)
    path = tf1.graph_util.extract_sub_graph(g.graph.as_graph_def(), ["probabilities"])
    ops = {n.op for n in path.node}
    names = [n.name for n in path.node]
    assert not ops & RANDOM_OPS  # dropout is an identity: nothing random between x and output
    assert [n for n in names if "global_step" in n or "keep_prob" in n or "y_" in n] == []
    everything = [op.name for op in g.graph.get_operations()]
    assert not [n for n in everything if "gradients" in n or "Adam" in n or "loss" in n]
    assert not [op for op in g.graph.get_operations() if op.type.startswith(("Apply", "ResourceApply"))]
    assert sorted(v.op.name for v in g.variables) == sorted(
        v.op.name for v in G.build(name, 71).graph.get_collection("trainable_variables"))


def test_the_inference_graph_gives_the_training_graphs_answers(tmp_path):
    """The same weights, loaded by name, give the training graph's probabilities at
    keep_prob 1 (its evaluation setting)."""
    train_g = G.build("expert", 10, seed=3)
    x = np.random.default_rng(0).random((7, 784), dtype=np.float32)
    with tf1.Session(graph=train_g.graph) as s:
        s.run(train_g.init)
        want = s.run(train_g.probabilities, {train_g.inputs.x: x})
        with train_g.graph.as_default():
            tf1.train.Saver().save(s, str(tmp_path / "ckpt"))
    inf = G.build_inference("expert", 10)
    with tf1.Session(graph=inf.graph) as s:
        with inf.graph.as_default():
            tf1.train.Saver(var_list=inf.variables).restore(s, str(tmp_path / "ckpt"))
        got = s.run(inf.probabilities, {inf.x: x})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
