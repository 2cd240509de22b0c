"""Devices for towers: which ones a run names, and a session that has them.

    parse_devices("cpu:0,cpu:1")  -> ("/device:CPU:0", "/device:CPU:1")
    session_config(devices)       -> ConfigProto with as many CPU devices as named
    check_present(sess, devices)  every named device exists, or a ClusterError listing those that do
    VARIABLES                     where towers keep the one copy of the variables

A CPU is one device to TensorFlow unless a session asks for more (device_count), so two
CPU towers on one machine are two devices of one session's config: what CI tests towers
on, with no GPU. A GPU is TensorFlow's own: with its CUDA build, "gpu:0,gpu:1" names two.
"""

from __future__ import annotations

import re

from ..errors import ClusterError
from .backend import tf1

# The cifar10 multi-GPU tutorial's choice: the variables on the CPU, each tower's ops on
# its device, the gradients brought to the variables and applied once.
VARIABLES = "/device:CPU:0"
_DEVICE = re.compile(r"^(?:/device:)?(cpu|gpu):(\d+)$", re.IGNORECASE)


def parse_devices(text: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """'cpu:0,cpu:1' (or a sequence of such names) -> TensorFlow's full device names, in
    order; '' or None -> () (one device, TensorFlow's choice)."""
    if not text:
        return ()
    parts = text.split(",") if isinstance(text, str) else list(text)
    out = []
    for part in (p.strip() for p in parts):
        m = _DEVICE.match(part)
        if not m:
            raise ClusterError(f"devices: cannot read {part!r}; name devices as cpu:N or "
                               f"gpu:N, separated by commas (cpu:0,cpu:1)", params=("devices",))
        out.append(f"/device:{m.group(1).upper()}:{int(m.group(2))}")
    if len(set(out)) != len(out):
        raise ClusterError(f"devices: {','.join(parts)} names a device twice; a tower a "
                           f"device", params=("devices",))
    return tuple(out)


def cpu_count(devices: tuple[str, ...]) -> int:
    """The CPU devices a session needs for these towers: one more than the highest named."""
    cpus = [int(d.rsplit(":", 1)[1]) for d in devices if ":CPU:" in d]
    return max(cpus) + 1 if cpus else 1


def session_config(devices: tuple[str, ...] = ()):
    """A ConfigProto giving the session every CPU device the towers name (None: TF's own)."""
    if cpu_count(devices) <= 1:
        return None
    return tf1.ConfigProto(device_count={"CPU": cpu_count(devices)})


def check_present(sess, devices: tuple[str, ...]) -> None:
    """Every named device is one the session has, or a ClusterError naming those it has."""
    have = {d.name.split("/device:", 1)[-1].upper(): d.name for d in sess.list_devices()}
    missing = [d for d in devices if d.split("/device:", 1)[-1].upper() not in have]
    if missing:
        shown = ", ".join(sorted(n.lower() for n in have))
        raise ClusterError(f"devices: {', '.join(m[len('/device:'):].lower() for m in missing)} "
                           f"not found; this machine's TensorFlow has {shown}"
                           + (" (a GPU needs TensorFlow's CUDA build and a driver)"
                              if any(":GPU:" in m for m in missing) else ""),
                           params=("devices",))
