"""The graph of one task of a cluster: between-graph replication, as TF1's "Distributed
TensorFlow" guide and its mnist_replica.py have it. Nothing here runs a session.

    Replicas(worker=k, workers=W, ps=P, sync=True)   which task this graph is for
    device_setter(replicas)        variables on the ps tasks, the rest on /job:worker/task:k
    replica_training(...)          -> (train_op, loss, Control)

Every worker builds the same graph and feeds it the same global batch, a pure function of
(seed, step); worker k trains on rows [k B / W, (k + 1) B / W) of it, so a cluster run is
one device's run. Synchronous (the default): each worker puts the gradients of its share
of the loss into one accumulator a variable (on the variable's ps task), stamped with the
step; the chief (worker 0) takes the sum of all W and applies it once, which advances the
global step. Asynchronous: each worker applies its own share's gradients as they come,
and only the chief's advances the global step.

`Control` is what the tasks tell each other through the ps: that the chief has started
the run (ready), how it ended (stop), the last step each worker delivered (delivered),
and a queue a ps task waits on to learn that the run is over. Its variables are local,
so checkpoints do not hold them: a resumed run starts them afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

from .backend import tf, tf1

RUNNING, FINISHED, FAILED = 0, 1, 2  # Control.stop


@dataclass(frozen=True)
class Replicas:
    worker: int  # this task's index among the workers; 0 is the chief
    workers: int
    ps: int
    sync: bool = True
    cluster: dict | None = None  # {"ps": [...], "worker": [...]}: the ClusterSpec's dict

    @property
    def chief(self) -> bool:
        return self.worker == 0

    @property
    def device(self) -> str:
        return f"/job:worker/task:{self.worker}"


@dataclass
class Control:
    ready: tf.Variable  # True once the chief has initialised or restored the variables
    stop: tf.Variable  # RUNNING, FINISHED or FAILED, set by the chief
    delivered: tf.Variable  # (W,) int64: the last step each worker's gradients were for
    init: tf.Operation  # ready <- True, stop <- RUNNING, delivered <- -1 (the chief's)
    done_queues: list  # one a ps task: it waits for a token there, then ends
    finish: tf.Tensor  # placeholder: the stop value the chief sets at the end
    end: tf.Operation  # stop <- finish, and a token into every ps task's queue


def device_setter(replicas: Replicas):
    return tf1.train.replica_device_setter(ps_tasks=replicas.ps, worker_device=replicas.device,
                                           cluster=replicas.cluster)


def control(replicas: Replicas) -> Control:
    """The cluster's shared flags, on ps task 0 (the setter's round robin), and a queue on
    every ps task (shared by name, so every task's graph reaches the same one)."""
    local = [tf1.GraphKeys.LOCAL_VARIABLES]
    ready = tf1.Variable(False, trainable=False, collections=local, name="cluster/ready")
    stop = tf1.Variable(RUNNING, trainable=False, collections=local, name="cluster/stop")
    delivered = tf1.Variable(tf.fill([replicas.workers], tf.constant(-1, tf.int64)),
                             trainable=False, collections=local, name="cluster/delivered")
    queues = []
    for p in range(replicas.ps):
        with tf.device(f"/job:ps/task:{p}"):
            queues.append(tf1.FIFOQueue(replicas.workers + 1, tf.int32,
                                        shared_name=f"cluster/done{p}", name=f"cluster/done{p}"))
    with tf.control_dependencies([delivered.initializer, stop.initializer]):
        init = tf.group(ready.assign(True), name="cluster/init")
    finish = tf1.placeholder(tf.int32, [], name="cluster/finish")
    with tf.control_dependencies([stop.assign(finish)]):
        end = tf.group(*[q.enqueue(1) for q in queues], name="cluster/end")
    return Control(ready, stop, delivered, init, queues, finish, end)


def replica_training(opt, share, var_list, global_step, replicas: Replicas, ctl: Control):
    """(train_op, loss) of this worker, from the gradients of its `share` of the whole
    batch's loss. Sync: the chief's train_op waits for every worker's gradients of this
    step, sums and applies them, and its loss is the whole batch's; another worker's
    train_op delivers its gradients and loss share. Async: each applies its own."""
    grads = [(g, v) for g, v in opt.compute_gradients(share, var_list=var_list) if g is not None]
    k = replicas.worker
    if not replicas.sync:
        step = [global_step] if replicas.chief else []
        apply = opt.apply_gradients(grads, global_step=step[0] if step else None)
        with tf.control_dependencies([apply]):
            mark = tf1.scatter_update(ctl.delivered, [k], [tf.cast(global_step, tf.int64)])
        return tf.group(apply, mark, name="train_op"), tf.identity(share, name="tower_loss")
    stamp = tf.cast(global_step, tf.int64)
    accumulators, delivers = [], []
    for g, v in grads:
        with tf1.colocate_with(v):
            acc = tf1.ConditionalAccumulator(g.dtype, shape=v.shape, reduction_type="SUM",
                                             shared_name=f"{v.op.name}/accumulator")
        accumulators.append(acc)
        delivers.append(acc.apply_grad(g, local_step=stamp))
    with tf1.colocate_with(global_step):
        loss_acc = tf1.ConditionalAccumulator(tf.float32, shape=[], reduction_type="SUM",
                                              shared_name="cluster/loss_accumulator")
    delivers.append(loss_acc.apply_grad(share, local_step=stamp))
    with tf.control_dependencies(delivers):
        delivered = tf1.scatter_update(ctl.delivered, [k], [stamp])
    if not replicas.chief:
        return tf.group(delivered, name="train_op"), tf.identity(share, name="tower_loss")
    with tf.control_dependencies([delivered]):
        summed = [(acc.take_grad(replicas.workers), v) for acc, (_, v) in zip(accumulators, grads)]
        loss = tf.identity(loss_acc.take_grad(replicas.workers), name="tower_loss")
    with tf.control_dependencies([loss]):
        train_op = opt.apply_gradients(summed, global_step=global_step, name="train_op")
    return train_op, loss
