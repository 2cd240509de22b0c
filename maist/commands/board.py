"""TensorBoard over MAIST's runs: every run's scalars, its first-layer filters as one picture
a step, histograms of its weights and activations, its graph, and the projector.

    python -m maist board                          # http://127.0.0.1:6006/ over runs/
    python -m maist board --screenshots docs/images   # each tab in headless Chromium, saved

--screenshots needs Debian's chromium and chromium-driver and the app extra (selenium).
"""

from __future__ import annotations

from .. import cli


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--logdir", default="runs", help="(default: %(default)s)")
    p.add_argument("--port", type=int, default=6006, help="(default: %(default)s)")
    p.add_argument("--screenshots", default=None, metavar="DIR", help="instead of serving: "
                   "open each tab in headless Chromium, wait for what it must show, save "
                   "DIR/tensorboard_TAB.png, exit")
    return p


@cli.command(build_parser)
def main(args) -> int:
    import subprocess
    import sys
    from pathlib import Path

    from ..errors import RunError

    if not Path(args.logdir).is_dir():
        raise RunError(f"{args.logdir}: no such folder of runs; train one first (make demo)",
                       params=("logdir",))
    if args.screenshots is None:
        return subprocess.call([sys.executable, "-m", "tensorboard.main", "--logdir",
                                args.logdir, "--host", "127.0.0.1", "--port", str(args.port)])
    from ..app import board

    url, stop = board.started(args.logdir)
    try:
        for path in board.screenshots(url, args.screenshots):
            print(f"wrote {path}")
    finally:
        stop()
    return 0
