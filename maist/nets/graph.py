"""The graphs a model goes into: one to train, one to infer. TF1 style, not meant to be run.

    placeholders(C)                    -> x [None, 784], y_ [None, C], keep_prob, learning_rate
    loss(logits, y_, kind)             -> scalar: 'stable' mean cross-entropy, or 'tutorial'
    training(loss, learning_rate, opt) -> the op that applies one step
    evaluation(logits, y_)             -> number of correct predictions in the batch
    build(model, C, ...)      -> Graph           all of the above in a fresh tf.Graph
    build(..., devices=("/device:CPU:0", "/device:CPU:1"))  trained on towers, one a device
    averaging(variables, decay, step) -> Average an exponential moving average of the weights
    build_inference(model, C) -> InferenceGraph  x -> inference -> probabilities, nothing more

The inference graph is what a restored run, the draw page and an export use: placeholders
-> inference -> probabilities, with no labels, loss, optimiser, gradients, global step or
dropout. Its variables have the training graph's names, so a training checkpoint loads
into it.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Callable

from ..errors import ModelError
from ..geometry import IMAGE_PIXELS
from .backend import tf, tf1
from .devices import VARIABLES
from .models import batch_rows, inference
from .replicas import Control, Replicas, control, device_setter, replica_training

LOSSES = ("stable", "tutorial")
OPTIMIZERS = ("adam", "gd")
# tf.train.ExponentialMovingAverage's name for a variable's average: "W_conv1" is kept
# beside "W_conv1/ExponentialMovingAverage" in a checkpoint.
AVERAGE_SUFFIX = "/ExponentialMovingAverage"


@dataclass
class Inputs:
    x: tf.Tensor  # [None, 784] images as rows, ink in [0, 1]
    y_: tf.Tensor  # [None, C] one-hot labels
    keep_prob: tf.Tensor  # dropout's keep probability; 1.0 unless fed, so eval is safe
    learning_rate: tf.Tensor  # scalar, fed every step from the schedule


def placeholders(num_classes: int) -> Inputs:
    return Inputs(
        x=tf1.placeholder(tf.float32, [None, IMAGE_PIXELS], name="x"),
        y_=tf1.placeholder(tf.float32, [None, num_classes], name="y_"),
        keep_prob=tf1.placeholder_with_default(1.0, [], name="keep_prob"),
        learning_rate=tf1.placeholder(tf.float32, [], name="learning_rate"),
    )


def loss(logits, labels, kind: str = "stable", label_smoothing: float = 0.0):
    """'stable': mean softmax cross-entropy from the logits, against targets smoothed
    towards uniform by `label_smoothing` (0: the one-hot labels themselves).

    'tutorial': the blog's -reduce_sum(y_ * log(softmax)), summed over the batch (about
    50 x ln 71 = 213 at the start). A softmax output that underflows to 0 makes it
    0 * log 0 = NaN, which is how long runs of the blog's code diverge.
    """
    if kind == "stable":
        if label_smoothing:
            c = tf.cast(tf.shape(labels)[1], labels.dtype)
            labels = labels * (1.0 - label_smoothing) + label_smoothing / c
        return tf.reduce_mean(
            tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits), name="loss"
        )
    if kind == "tutorial":
        return tf.negative(tf.reduce_sum(labels * tf1.log(tf.nn.softmax(logits))), name="loss")
    raise ModelError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}",
                     params=("loss",))


def training(loss_op, learning_rate, optimizer: str = "adam", var_list=None):
    """One optimiser step at the fed learning rate; increments the global step.

    `var_list`: the variables it may change (default: every trainable one); the others
    stay frozen, as fine-tuning with `freeze` wants.
    """
    step = tf1.train.get_or_create_global_step()
    opt = _optimizer(optimizer, learning_rate)
    return opt.minimize(loss_op, global_step=step, var_list=var_list, name="train_op")


def _optimizer(optimizer: str, learning_rate):
    if optimizer == "adam":
        return tf1.train.AdamOptimizer(learning_rate)
    if optimizer == "gd":
        return tf1.train.GradientDescentOptimizer(learning_rate)
    raise ModelError(f"unknown optimizer {optimizer!r}; choose one of "
                     f"{', '.join(OPTIMIZERS)}", params=("optimizer",))


@contextmanager
def recorded_variables(store: list, device: str | None = VARIABLES):
    """Every variable made within it is appended to `store`, on `device` (the towers'
    variable device; None: where the device scope puts it, a cluster's ps tasks)."""
    def creator(next_creator, **kwargs):
        with tf.device(device) if device else nullcontext():
            v = next_creator(**kwargs)
        store.append(v)
        return v

    with tf1.variable_creator_scope(creator):
        yield


@contextmanager
def shared_variables(store: list):
    """Within it, the model's k-th variable is store[k] (the one copy, made before): a
    tower is the same model on other ops, over the same weights."""
    made = iter(store)

    def creator(next_creator, **kwargs):
        v = next(made, None)
        if v is None:
            raise ModelError("a tower made more variables than the model it copies")
        return v

    with tf1.variable_creator_scope(creator):
        yield


def _share(model, inputs: Inputs, num_classes: int, seed: int, store: list, loss_kind: str,
           label_smoothing: float, k: int, parts: int, options: dict):
    """Part k of `parts` of the whole batch's loss: the model over the one copy of its
    variables on rows [k B / parts, (k + 1) B / parts), its loss weighted by what those
    rows add to the whole batch's ('stable': its mean times n_k / B; 'tutorial': its sum)."""
    total = tf.shape(inputs.x)[0]
    lo, hi = k * total // parts, (k + 1) * total // parts
    with tf1.name_scope(f"tower_{k}"), shared_variables(store), batch_rows(lo, total):
        logits_k = inference(model, inputs.x[lo:hi], inputs.keep_prob, num_classes, seed,
                             **options)
        share = loss(logits_k, inputs.y_[lo:hi], loss_kind, label_smoothing)
        if loss_kind == "stable":
            share = share * tf.cast(hi - lo, tf.float32) / tf.cast(total, tf.float32)
    return share


def tower_training(model: str, inputs: Inputs, num_classes: int, seed: int, devices,
                   store: list, loss_kind: str, label_smoothing: float, optimizer: str,
                   var_list, options: dict):
    """The batch split across `devices`, one tower of the model each over the one copy of
    its variables (`store`, on devices.VARIABLES), the towers' gradients summed there and
    applied once: (train_op, loss), as training() and loss() give on one device.

    Tower k takes rows [k B / T, (k + 1) B / T) of the batch of B. Its share of the loss
    is what those rows add to the whole batch's ('stable': its mean times n_k / B;
    'tutorial': its sum), so the summed gradients are the whole batch's: with the same
    batch and seed, the same step as one device (dropout's masks included: models.batch_rows).
    """
    opt = _optimizer(optimizer, inputs.learning_rate)
    shares, grads = [], []
    for k, device in enumerate(devices):
        with tf.device(device):
            share = _share(model, inputs, num_classes, seed, store, loss_kind, label_smoothing,
                           k, len(devices), options)
            shares.append(share)
            grads.append(opt.compute_gradients(share, var_list=var_list))
    with tf.device(VARIABLES):
        summed = []
        for pairs in zip(*grads):
            v = pairs[0][1]
            gs = [g for g, _ in pairs if g is not None]
            summed.append((tf.add_n(gs) if gs else None, v))
        loss_op = tf.add_n(shares, name="tower_loss")
        step = tf1.train.get_or_create_global_step()
        train_op = opt.apply_gradients(summed, global_step=step, name="train_op")
    return train_op, loss_op


def evaluation(logits, labels):
    """Number of examples in the batch whose top class is the label."""
    correct = tf.equal(tf.argmax(logits, 1), tf.argmax(labels, 1))
    return tf.reduce_sum(tf.cast(correct, tf.int32), name="correct")


@dataclass
class Average:
    """An exponential moving average of the model's weights, kept beside them.

    update:    after each optimiser step, average = d * average + (1 - d) * weight, with
               d = min(decay, (1 + step) / (10 + step)), so the first steps are not
               dragged towards the initial weights
    use:       the averages into the weights (the trained values into backups), to evaluate
    unuse:     the trained values back
    reset:     every average to its weight's present value (after loading a source's)
    """

    update: tf.Operation
    use: tf.Operation
    unuse: tf.Operation
    reset: tf.Operation


def averaging(variables: list, decay: float, global_step, after=None) -> Average:
    """The ops of an Average over `variables` (in the default graph), as
    tf.train.ExponentialMovingAverage keeps one, under its names. Each average starts at
    its weight's initial value (the same draw: one initial_value tensor feeds both). The
    backups are local variables: a checkpoint holds the weights and their averages.
    `after`: the op whose weights update averages (the optimiser's step)."""
    shadows, backups = [], []
    for v in variables:
        dtype = v.dtype.base_dtype
        shadows.append(tf1.Variable(v.initial_value, trainable=False,
                                    name=v.op.name + AVERAGE_SUFFIX))
        backups.append(tf1.Variable(tf.zeros(v.shape, dtype), trainable=False,
                                    collections=[tf1.GraphKeys.LOCAL_VARIABLES],
                                    name=f"{v.op.name}/trained"))
    with tf.control_dependencies([after] if after is not None else []):
        step = tf.cast(global_step, tf.float32)
        d = tf.minimum(tf.constant(decay, tf.float32), (1.0 + step) / (10.0 + step))
        update = tf.group(*[s.assign_sub((1.0 - d) * (s - v))
                            for s, v in zip(shadows, variables)], name="update_average")
    kept = [b.assign(v) for b, v in zip(backups, variables)]
    with tf.control_dependencies(kept):
        use = tf.group(*[v.assign(s) for v, s in zip(variables, shadows)], name="use_average")
    unuse = tf.group(*[v.assign(b) for v, b in zip(variables, backups)], name="use_trained")
    reset = tf.group(*[s.assign(v) for s, v in zip(shadows, variables)], name="reset_average")
    return Average(update, use, unuse, reset)


@dataclass
class Graph:
    graph: tf.Graph
    inputs: Inputs
    logits: tf.Tensor
    probabilities: tf.Tensor
    loss: tf.Tensor  # the training loss (stable or tutorial)
    xent: tf.Tensor  # per-example cross-entropy, for reporting whatever the training loss
    correct: tf.Tensor
    train_op: tf.Operation
    global_step: tf.Variable
    init: tf.Operation
    average: Average | None = None  # with an averaging decay: train_op updates it too
    devices: tuple[str, ...] = ()  # the towers' devices; (): one device, TF's choice
    batch_loss: tf.Tensor | None = None  # the whole batch's loss on one copy (None: loss)
    replicas: Replicas | None = None  # the cluster task this graph is for
    control: Control | None = None  # with replicas: the flags the tasks share

    def tensor(self, name: str) -> tf.Tensor:
        return self.graph.get_tensor_by_name(f"{name}:0")


def build(
    model: str,
    num_classes: int,
    loss_kind: str = "stable",
    optimizer: str = "adam",
    seed: int = 0,
    label_smoothing: float = 0.0,
    freeze: tuple[str, ...] = (),
    average: float = 0.0,
    devices: tuple[str, ...] = (),
    replicas: Replicas | None = None,
    **options,
) -> Graph:
    """A fresh graph holding one model, its loss and training op.

    `freeze`: variables whose names contain any of these (e.g. "conv") are not trained.
    `average`: the decay of a moving average of the weights (0: none), which train_op
    updates after each step; see Average.
    `devices` (devices.parse_devices): train on towers, one a device (tower_training).
    The model is still built once on the whole batch first, as on one device, so its
    variables, their names and initial values are one device's (a checkpoint restores
    anywhere); that copy is what evaluation runs, and the towers train.
    `replicas`: the graph of one task of a cluster (nets.replicas), its variables on the
    ps tasks; worker k trains on its rows of the batch, as tower k would.
    """
    if devices and replicas:
        raise ModelError("towers inside a cluster's workers are not built: give devices or "
                         "a cluster, not both", params=("devices", "cluster"))
    graph = tf.Graph()
    store: list = []
    with graph.as_default(), tf1.device(device_setter(replicas)) if replicas else nullcontext():
        tf1.set_random_seed(seed)
        global_step = tf1.train.get_or_create_global_step()
        ctl = control(replicas) if replicas else None
        inputs = placeholders(num_classes)
        recording = (recorded_variables(store) if devices else recorded_variables(store, None)
                     if replicas else nullcontext())
        with recording:
            logits = inference(model, inputs.x, inputs.keep_prob, num_classes, seed, **options)
        probabilities = tf.nn.softmax(logits, name="probabilities")
        loss_op = loss(logits, inputs.y_, loss_kind, label_smoothing)
        xent = tf.nn.softmax_cross_entropy_with_logits(labels=inputs.y_, logits=logits,
                                                       name="xent")
        correct = evaluation(logits, inputs.y_)
        trainable = tf1.trainable_variables()
        kept = [v for v in trainable if not any(f in v.op.name for f in freeze)]
        if freeze and len(kept) == len(trainable):
            raise ModelError(f"freeze {', '.join(freeze)}: no variable of model {model} has "
                             f"such a name ({', '.join(v.op.name for v in trainable)})",
                             params=("freeze",))
        if not kept:
            raise ModelError(f"freeze {', '.join(freeze)} leaves nothing of model {model} to "
                             f"train", params=("freeze",))
        batch_loss = loss_op
        if devices:
            train_op, loss_op = tower_training(
                model, inputs, num_classes, seed, devices, store, loss_kind, label_smoothing,
                optimizer, kept, options)
        elif replicas:
            share = _share(model, inputs, num_classes, seed, store, loss_kind, label_smoothing,
                           replicas.worker, replicas.workers, options)
            train_op, loss_op = replica_training(_optimizer(optimizer, inputs.learning_rate),
                                                 share, kept, global_step, replicas, ctl)
        else:
            train_op = training(loss_op, inputs.learning_rate, optimizer, kept)
        average_ = None
        if average:
            # Every weight, frozen or not: an inference graph loads them all from averages.
            average_ = averaging(trainable, average, global_step, after=train_op)
            if not replicas or replicas.chief:  # the chief's step moves the averages
                train_op = average_.update  # the step, then the averages of its weights
        init = tf.group(tf1.global_variables_initializer(), tf1.local_variables_initializer())
    return Graph(graph, inputs, logits, probabilities, loss_op, xent, correct, train_op,
                 global_step, init, average_, tuple(devices), batch_loss, replicas, ctl)


@dataclass
class InferenceGraph:
    """A model for reading, not training: images in, class probabilities out."""

    graph: tf.Graph
    x: tf.Tensor  # [None, 784] images as rows, ink in [0, 1]
    logits: tf.Tensor  # [None, C]
    probabilities: tf.Tensor  # [None, C] softmax
    variables: list  # the model's own, by the training graph's names

    def tensor(self, name: str) -> tf.Tensor:
        return self.graph.get_tensor_by_name(f"{name}:0")


def build_inference(model: str, num_classes: int, seed: int = 0,
                    inputs: Callable[[], tf.Tensor] | None = None, **options) -> InferenceGraph:
    """A fresh graph holding model `name` for inference alone (no dropout, no training ops).
    `inputs` builds the (n, 784) input inside it (an export's: pictures decoded and
    preprocessed by TF ops); by default a placeholder "x"."""
    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(seed)  # the initial values are never used, but stay reproducible
        x = inputs() if inputs else tf1.placeholder(tf.float32, [None, IMAGE_PIXELS], name="x")
        logits = inference(model, x, None, num_classes, seed, **options)
        probabilities = tf.nn.softmax(logits, name="probabilities")
        variables = tf1.global_variables()
    return InferenceGraph(graph, x, logits, probabilities, variables)


def parameter_count(graph: Graph | InferenceGraph) -> int:
    """Trainable parameters, e.g. 3,337,159 for the expert CNN on 71 classes."""
    with graph.graph.as_default():
        return int(sum(v.shape.num_elements() for v in tf1.trainable_variables()))
