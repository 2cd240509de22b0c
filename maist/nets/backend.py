"""TensorFlow, set up once for TF1-style graphs: `from maist._tf import tf, tf1`.

Before the import: oneDNN on (about 1.5x faster training on these CPUs) and TensorFlow's
C++ chatter off, unless the user set either (TF_CPP_MIN_LOG_LEVEL=0 shows it all again).
TensorFlow 2.21 prints a few lines from C++ before its logging is set up, whatever the
level; they go to a muted stderr during the import. Python errors still surface.
After the import: eager execution and resource variables off, so placeholders, variables
and Session.run behave as in TensorFlow 1.
"""

import contextlib
import os
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
_QUIET = "TF_CPP_MIN_LOG_LEVEL" not in os.environ
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _muted_stderr(active: bool):
    """Point file descriptor 2 at /dev/null (C++ writes there, not to sys.stderr)."""
    if not active:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with _muted_stderr(_QUIET):
    import tensorflow as tf  # noqa: E402

    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    # TF1's reference variables: "W_conv1:0" is then the weights themselves, as in the
    # tutorial, rather than a resource handle to be read.
    tf1.disable_resource_variables()
    tf.config.list_physical_devices()  # probes for GPUs now, while stderr is muted

# MAIST turns TensorFlow's failures into its own errors; its log lines would only repeat
# them ("Couldn't match files for checkpoint ..."). TF_CPP_MIN_LOG_LEVEL set: all of it.
tf1.logging.set_verbosity(tf1.logging.FATAL if _QUIET else tf1.logging.INFO)


def child_env(env: dict) -> dict:
    """`env` for a child process that imports MAIST: without the log level this module set
    for itself, so the child quiets TensorFlow as this process does (a level the user set
    is passed on)."""
    env = dict(env)
    if _QUIET:
        env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


def reason(error: BaseException, limit: int = 200) -> str:
    """What a TensorFlow error says went wrong, in one line: its message without the
    graph-execution frame around it ("Graph execution error:", the "Detected at node ...
    defined at" block of Python frames up to its "Node: ..." line, "[[{{node ...}}]]")."""
    text = getattr(error, "message", None) or str(error)
    kept, framed = [], False
    for line in (ln.strip() for ln in text.splitlines()):
        if line.startswith("Detected at node"):
            framed = True
        elif framed:
            framed = not line.startswith("Node:")
        elif line and not line.startswith(("Graph execution error", "[[")):
            kept.append(line)
    return (kept[0] if kept else type(error).__name__)[:limit]
