"""The networks, TF1 style, and the registry that names them. Not meant to be run.

    beginner, expert, mlp, deep      x [None, 784] -> logits [None, C]: the builders
    ModelSpec / MODELS / register    a model by name: its builder, options, what to show
    inference(name, x, keep_prob, C) -> logits, for any registered model

Every tensor a notebook, a figure or a restored checkpoint needs has a stable name
("W_conv1", "h_relu1", "logits", ...): `graph.get_tensor_by_name("h_pool1:0")`.
`keep_prob` None builds a model for inference: its dropout layers are identities, with
no random op and no dependence on the training step. nets.graph wires a model into the
training graph and the inference graph.

Adding a model is one `register(ModelSpec(...))`: the trainer, the scripts, restoring and
the figures all read it from there.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

from ..errors import ModelError
from ..geometry import IMAGE_PIXELS, IMAGE_SIZE
from .backend import tf, tf1


def weight_variable(shape, name: str, stddev: float = 0.1) -> tf.Variable:
    """The tutorial's start: a truncated normal of sd 0.1."""
    return tf1.Variable(tf1.truncated_normal(shape, stddev=stddev), name=name)


INITS = ("tutorial", "he")


def he_stddev(shape) -> float:
    """sqrt(2 / fan-in), He et al.'s start for ReLU layers (the truncated normal's sd is
    0.88 of its parameter; the 0.88 is left to the cut tails). The tutorial's 0.1 suits
    its fan-ins (25, 800, 3136); a wider layer started at 0.1 sends ReLUs so far that
    Adam never brings a 1,168-way readout off chance."""
    fan_in = 1
    for d in shape[:-1]:
        fan_in *= int(d)
    return (2.0 / fan_in) ** 0.5


def bias_variable(shape, name: str, value: float = 0.1) -> tf.Variable:
    return tf1.Variable(tf1.constant(value, shape=shape), name=name)


def conv2d(x, w):
    return tf1.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME")


def max_pool_2x2(x, name: str):
    return tf1.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME", name=name)


_ROWS: list = []  # the batch rows a tower's ops see, innermost last: (offset, total) tensors


@contextmanager
def batch_rows(offset, total):
    """Within it, the model is a tower that sees rows offset.. of a batch of `total` rows:
    its dropout takes its rows of the whole batch's mask, so towers drop what one device
    dropping over the whole batch would."""
    _ROWS.append((offset, total))
    try:
        yield
    finally:
        _ROWS.pop()


def dropout(x, keep_prob, seed: int, salt: int, name: str):
    """Dropout whose mask is a pure function of (seed, global step, salt); an identity
    where keep_prob is None (the inference graph: no random op, no global step).

    A stateful dropout op restarts its random stream when a checkpoint is restored; this
    one draws the same masks at step s whether or not the run was resumed in between.
    """
    if keep_prob is None:
        return tf.identity(x, name=name)
    step = tf1.train.get_or_create_global_step()
    rng_seed = tf.stack([tf.constant(seed, tf.int64), step * 16 + salt])
    rate = 1.0 - keep_prob
    if not _ROWS:
        return tf.nn.experimental.stateless_dropout(x, rate=rate, seed=rng_seed, name=name)
    # A tower: the whole batch's uniform draw (what stateless_dropout draws), its rows.
    offset, total = _ROWS[-1]
    shape = tf.concat([[total], tf.shape(x)[1:]], 0)
    u = tf.random.stateless_uniform(shape, seed=rng_seed)[offset: offset + tf.shape(x)[0]]
    return tf.multiply(x / (1.0 - rate), tf.cast(u >= rate, x.dtype), name=name)


def beginner(x, num_classes: int):
    """Softmax regression: one matrix and a bias, both starting at zero."""
    w = tf1.Variable(tf1.zeros([IMAGE_PIXELS, num_classes]), name="W")
    b = tf1.Variable(tf1.zeros([num_classes]), name="b")
    return tf.add(tf.matmul(x, w), b, name="logits")


def expert(x, keep_prob, num_classes: int, seed: int = 0, conv1: int = 32, conv2: int = 64,
           hidden: int = 1024, init: str = "tutorial"):
    """The tutorial's CNN: two conv5x5 + max-pool blocks, 1024 hidden units, dropout.
    conv1, conv2 and hidden widen it, and init "he" starts each layer at sqrt(2 / fan-in)
    (the wide model); the defaults are the tutorial's: its widths, and weights at sd 0.1.

    h_convN is the convolution plus bias, h_reluN its ReLU and h_poolN the pooled map,
    so the blog's "conv", "relu" and "pool" pictures are three tensors.
    """
    if init not in INITS:
        raise ModelError(f"unknown init {init!r}; use {' or '.join(INITS)}", params=("init",))

    def weights(shape, name):  # the tutorial's sd 0.1, or He's for the shape
        return weight_variable(shape, name, 0.1 if init == "tutorial" else he_stddev(shape))

    x_image = tf.reshape(x, [-1, IMAGE_SIZE, IMAGE_SIZE, 1], name="x_image")
    # First block: 28x28x1 -> conv1 (32) filters of 5x5 -> 28x28x32 -> pool -> 14x14x32
    w_conv1 = weights([5, 5, 1, conv1], "W_conv1")
    b_conv1 = bias_variable([conv1], "b_conv1")
    h_conv1 = tf.add(conv2d(x_image, w_conv1), b_conv1, name="h_conv1")
    h_relu1 = tf.nn.relu(h_conv1, name="h_relu1")
    h_pool1 = max_pool_2x2(h_relu1, "h_pool1")
    # Second block: 14x14x32 -> conv2 (64) filters of 5x5x32 -> 14x14x64 -> pool -> 7x7x64
    w_conv2 = weights([5, 5, conv1, conv2], "W_conv2")
    b_conv2 = bias_variable([conv2], "b_conv2")
    h_conv2 = tf.add(conv2d(h_pool1, w_conv2), b_conv2, name="h_conv2")
    h_relu2 = tf.nn.relu(h_conv2, name="h_relu2")
    h_pool2 = max_pool_2x2(h_relu2, "h_pool2")
    # Fully connected: 7*7*64 = 3136 features -> 1024 units, then dropout
    flat = 7 * 7 * conv2
    w_fc1 = weights([flat, hidden], "W_fc1")
    b_fc1 = bias_variable([hidden], "b_fc1")
    h_pool2_flat = tf.reshape(h_pool2, [-1, flat])
    h_fc1 = tf.nn.relu(tf.matmul(h_pool2_flat, w_fc1) + b_fc1, name="h_fc1")
    h_fc1_drop = dropout(h_fc1, keep_prob, seed, 1, "h_fc1_drop")
    # Readout: 1024 -> C class scores
    w_fc2 = weights([hidden, num_classes], "W_fc2")
    b_fc2 = bias_variable([num_classes], "b_fc2")
    return tf.add(tf.matmul(h_fc1_drop, w_fc2), b_fc2, name="logits")


def mlp(x, num_classes: int, hidden: int = 16, activation: str = "sigmoid"):
    """The MLP seed's 2-layer network: 784 -> hidden -> C (Keras' glorot-uniform start)."""
    act = {"sigmoid": tf.nn.sigmoid, "relu": tf.nn.relu}.get(activation)
    if act is None:
        raise ModelError(f"unknown activation {activation!r}; use 'sigmoid' or 'relu'",
                         params=("activation",))
    init = tf1.glorot_uniform_initializer()
    w1 = tf1.Variable(init([IMAGE_PIXELS, hidden]), name="W_hidden")
    b1 = tf1.Variable(tf1.zeros([hidden]), name="b_hidden")
    h = act(tf.matmul(x, w1) + b1, name="h_hidden")
    w2 = tf1.Variable(init([hidden, num_classes]), name="W_out")
    b2 = tf1.Variable(tf1.zeros([num_classes]), name="b_out")
    return tf.add(tf.matmul(h, w2), b2, name="logits")


def deep(x, keep_prob, num_classes: int, seed: int = 0):
    """The Keras CIFAR-10 seed's CNN on 28x28x1 (glorot-uniform weights, zero biases).

    Its dropout rates are 0.25 after each conv block and 0.5 before the readout; here the
    fed keep_prob k sets the dense dropout and the conv blocks keep (1 + k) / 2, which is
    exactly the seed's 0.75 / 0.5 at k = 0.5, and no dropout at all at k = 1.
    """
    init = tf1.glorot_uniform_initializer()
    keep_conv = None if keep_prob is None else (1.0 + keep_prob) / 2.0

    def conv(h, n_in, n_out, name):
        w = tf1.Variable(init([3, 3, n_in, n_out]), name=f"W_{name}")
        b = tf1.Variable(tf1.zeros([n_out]), name=f"b_{name}")
        return tf.nn.relu(conv2d(h, w) + b, name=f"h_{name}")

    h = tf.reshape(x, [-1, IMAGE_SIZE, IMAGE_SIZE, 1])
    h = conv(h, 1, 32, "conv1")  # 28x28x32
    h = conv(h, 32, 32, "conv2")  # 28x28x32
    h = dropout(max_pool_2x2(h, "h_pool1"), keep_conv, seed, 1, "h_drop1")  # 14x14x32
    h = conv(h, 32, 64, "conv3")  # 14x14x64
    h = conv(h, 64, 64, "conv4")  # 14x14x64
    h = dropout(max_pool_2x2(h, "h_pool2"), keep_conv, seed, 2, "h_drop2")  # 7x7x64
    h = tf.reshape(h, [-1, 7 * 7 * 64])
    w = tf1.Variable(init([7 * 7 * 64, 512]), name="W_fc1")
    b = tf1.Variable(tf1.zeros([512]), name="b_fc1")
    h = dropout(tf.nn.relu(tf.matmul(h, w) + b, name="h_fc1"), keep_prob, seed, 3, "h_fc1_drop")
    w = tf1.Variable(init([512, num_classes]), name="W_fc2")
    b = tf1.Variable(tf1.zeros([num_classes]), name="b_fc2")
    return tf.add(tf.matmul(h, w), b, name="logits")


@dataclass(frozen=True)
class ModelSpec:
    """One model: how to build it, what it takes, and which of its tensors to show."""

    name: str
    # (x [None, 784], keep_prob, num_classes, seed, **options) -> logits [None, C]
    inference: Callable[..., tf.Tensor]
    options: dict = field(default_factory=dict)  # option -> default (its type too)
    filters: str | None = None  # first-layer weights [k, k, 1, N], drawn as filters
    activations: tuple[str, ...] = ()  # [None, H, W, N] maps of one image, drawn per channel
    live: tuple[str, ...] | None = None  # the maps the draw page shows (default: activations)
    weights: str | None = None  # [784, K] weights, drawn as K 28x28 images
    weights_per_class: bool = False  # the K weight images are the classes (the beginner's)
    features: str | None = None  # the last hidden layer [None, D]: the projector's embedding
    # Parts of the names of every variable but the readout's: what adapting to a few of
    # one's own drawings keeps frozen (training.config.plan), so that only the readout moves.
    body: tuple[str, ...] = ()
    recipe: str | None = None  # the recipe that trains it by default
    note: str = ""
    # Options that choose only the starting weights, not any shape (the expert's init): a
    # run started from another's weights, or a model made to be started from, leaves them.
    start: tuple[str, ...] = ()

    def check_options(self, options: dict) -> dict:
        """The options with defaults filled in; an unknown one, or one of another type than
        its default's (conv1 "64", a recipe file's slip), is an error, not dropped."""
        # quoted: a name from a recipe file may hold anything, a line break included
        unknown = sorted(repr(k) for k in set(options) - set(self.options))
        if unknown:
            takes = ", ".join(self.options) or "no options"
            raise ModelError(f"model {self.name} takes {takes}; not {', '.join(unknown):.80}",
                             params=("model_options",))
        for key, value in options.items():
            kind = type(self.options[key])
            if type(value) is not kind:
                raise ModelError(f"{key} of model {self.name} is a {kind.__name__}, not "
                                 f"{value!r:.40}", params=("model_options",))
            if kind is int and value < 1:  # every whole-number option is a size
                raise ModelError(f"{key} of model {self.name} must be at least 1, not {value}",
                                 params=("model_options",))
        return {**self.options, **options}

    def parse_option(self, text: str) -> tuple[str, object]:
        """'hidden=32' -> ('hidden', 32), typed like the option's default."""
        key, sep, raw = text.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in self.options:
            takes = ", ".join(f"{k}={v}" for k, v in self.options.items()) or "no options"
            raise ModelError(f"model {self.name} takes {takes}; cannot use {text!r}",
                             params=("model_options",))
        kind = type(self.options[key])
        try:
            return key, kind(raw.strip())
        except ValueError:
            raise ModelError(f"{key} of model {self.name} is a {kind.__name__}, not {raw!r}",
                             params=("model_options",)) from None


MODELS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Make a model known by name to build(), the trainer, restore() and the figures."""
    MODELS[spec.name] = spec
    return spec


def get_model(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}",
                         params=("model",)) from None


_CONV_LAYERS = ("h_conv1", "h_relu1", "h_pool1", "h_conv2", "h_relu2", "h_pool2")
register(ModelSpec("beginner", lambda x, keep_prob, c, seed: beginner(x, c),
                   weights="W", weights_per_class=True, recipe="beginner",
                   note="softmax regression, the blog's beginner"))
register(ModelSpec("expert", expert, options={"conv1": 32, "conv2": 64, "hidden": 1024,
                                              "init": "tutorial"},
                   filters="W_conv1", activations=_CONV_LAYERS,
                   live=("h_relu1", "h_pool1", "h_pool2"), recipe="tutorial", features="h_fc1",
                   body=("conv", "fc1"), start=("init",),
                   note="the tutorial's CNN, the blog's expert"))
register(ModelSpec("mlp", lambda x, keep_prob, c, seed, **o: mlp(x, c, **o),
                   options={"hidden": 16, "activation": "sigmoid"}, weights="W_hidden",
                   features="h_hidden", body=("hidden",),
                   recipe="mlp", note="the MLP seed's 2-layer network"))
register(ModelSpec("deep", deep, filters="W_conv1",
                   activations=("h_conv1", "h_conv2", "h_pool1", "h_conv3", "h_conv4", "h_pool2"),
                   live=("h_conv1", "h_pool1", "h_pool2"), recipe="deep", features="h_fc1",
                   body=("conv", "fc1"), note="the Keras CIFAR-10 seed's CNN"))


def inference(name: str, x, keep_prob, num_classes: int, seed: int = 0, **options):
    """The logits of model `name` (see MODELS) for images x; keep_prob None: no dropout."""
    spec = get_model(name)
    return spec.inference(x, keep_prob, num_classes, seed, **spec.check_options(options))
