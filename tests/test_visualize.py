"""Figures: panel counts, the Japanese font, and the red mistakes of the prediction grid."""

import numpy as np
import pytest
from conftest import HIRAGANA71 as H71
from matplotlib.colors import to_rgba

from maist.analysis import metrics as evaluate
from maist.analysis import visualize
from maist.data import pictures
from maist.training.recipes import RECIPES


def panels(fig):
    return [ax for ax in fig.axes if ax.images]


def test_font_has_all_71_glyphs():
    assert visualize.font_path().endswith(".ttf")
    assert visualize.missing_glyphs(H71.chars) == []
    assert visualize.missing_glyphs(["\U0001f600"]) == ["\U0001f600"]  # the check can fail


def test_filter_and_activation_grids():
    assert len(panels(visualize.filter_grid(np.random.rand(5, 5, 1, 32)))) == 32
    assert len(panels(visualize.activation_grid(np.random.rand(14, 14, 64), "h_pool2"))) == 64


def test_weight_images_one_per_class():
    fig = visualize.weight_images(np.random.randn(784, 71), H71.chars)
    assert len(panels(fig)) == 71 and panels(fig)[0].get_title() == "あ"


def test_prediction_grid_flags_mistakes_in_red():
    images = np.random.rand(6, 784)
    pred, true = np.array([0, 1, 2, 3, 4, 5]), np.array([0, 1, 9, 3, 4, 7])
    fig = visualize.prediction_grid(images, pred, true, H71.chars, cols=3)
    axes = panels(fig)
    assert len(axes) == 6
    assert axes[2].get_title() == "う(く)" and axes[0].get_title() == "あ"
    red = to_rgba(visualize.WRONG)
    assert to_rgba(axes[2].title.get_bbox_patch().get_facecolor()) == red
    assert to_rgba(axes[0].title.get_bbox_patch().get_facecolor()) != red
    assert to_rgba(axes[2].spines["left"].get_edgecolor()) == red


def test_learning_curves_confusion_and_comparison():
    history = [dict(step=s, split=sp, loss=1.0 / (s + 1), accuracy=s / 100, learning_rate=1e-3,
                    keep_prob=0.5) for s in range(0, 100, 10) for sp in ("train", "val")]
    fig = visualize.learning_curves(history, RECIPES["blog-95"])
    assert len(fig.axes) == 4  # accuracy, loss, learning rate, keep_prob
    cm = evaluate.confusion(np.array([0, 1, 1]), np.array([0, 1, 0]), 71)
    assert len(panels(visualize.confusion_figure(cm, H71.chars))) == 1
    fig = visualize.accuracy_vs_step({"expert": [(500, 0.5), (1000, 0.7)]}, {"expert": {1000: 0.87}})
    assert len(fig.axes[0].lines) == 2


def test_contact_sheet():
    fig = visualize.contact_sheet(np.random.rand(3, 5, 28, 28), list("abc"), list("vwxyz"))
    assert len(panels(fig)) == 15


def test_confusion_and_most_confused_pairs():
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    p = np.array([0, 1, 0, 1, 2, 1, 1])
    cm = evaluate.confusion(y, p, 3)
    assert cm.tolist() == [[1, 1, 0], [1, 1, 0], [0, 2, 1]]
    assert evaluate.most_confused(cm, "abc", 2) == [("a", "b", 2), ("b", "c", 2)]
    np.testing.assert_allclose(evaluate.per_class_accuracy(cm), [0.5, 0.5, 1 / 3])


def test_top_confusions_one_direction_each():
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    p = np.array([0, 1, 0, 1, 2, 1, 1])
    cm = evaluate.confusion(y, p, 3)
    assert evaluate.top_confusions(cm, "abc", 5) == [("c", "b", 2), ("a", "b", 1), ("b", "a", 1)]
    assert evaluate.top_confusions(np.eye(3, dtype=int), "abc") == []


def test_a_thousand_classes_get_the_commonest_mistakes_not_a_matrix():
    from maist.data.classes import get_class_set

    chars = get_class_set("kana142+kyoiku1026").chars
    assert visualize.missing_glyphs(chars) == []  # every class's label renders
    y = np.repeat(np.arange(len(chars)), 3)
    p = y.copy()
    p[:40:2] = 200  # 20 images of the first 14 classes read as class 200
    p[3] = 7
    cm = evaluate.confusion(y, p, len(chars))
    fig = visualize.confusion_figure(cm, chars, top=10)
    bars, matrix = fig.axes[0], panels(fig)[0]
    labels = [t.get_text() for t in bars.get_yticklabels()]
    assert len(labels) == 10 and labels[0] == f"{chars[0]} → {chars[200]}"
    assert f"{chars[1]} → {chars[7]}" in labels
    assert matrix.get_images()[0].get_array().shape[0] <= 20  # the classes involved only
    assert "among 1168 classes" in fig._suptitle.get_text()


def test_read_picture_errors(tmp_path):
    (tmp_path / "x.png").write_text("not an image")
    with pytest.raises(pictures.PictureError, match="not a readable image"):
        pictures.read_picture(tmp_path / "x.png")
    with pytest.raises(pictures.PictureError, match="no such file"):
        pictures.read_picture(tmp_path / "missing.png")
