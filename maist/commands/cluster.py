"""Train on a local cluster: --ps parameter servers and --workers workers, each a process
on this machine with its own TF_CONFIG, as each would run on a machine of its own.

    python scripts/train_cluster.py --workers 2 --ps 1 --dry-run
    python scripts/train_cluster.py --workers 2 --ps 1 --recipe fast --run-dir runs/c

Every other flag is train_maist.py's, given to every task. The commands each task runs are
printed first; Ctrl-C saves at the chief (worker 0) and stops every task.
"""

from __future__ import annotations

from .. import cli


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--workers", type=int, default=2, help="(default: %(default)s)")
    p.add_argument("--ps", type=int, default=1, help="parameter servers (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="(default: %(default)s)")
    p.add_argument("--async", dest="async_", action="store_true",
                   help="each worker applies its own gradients (default: synchronous)")
    p.add_argument("--task-timeout", type=float, default=None, metavar="SECONDS",
                   help="how long a task waits for another (default: 60)")
    return p


@cli.command(build_parser, known_only=True)
def main(args, train_args) -> int:
    from ..training.launch import local_cluster, run_local, task_commands, with_run_dir

    cluster = local_cluster(args.workers, args.ps, args.host)
    commands = task_commands(cluster, with_run_dir(train_args), not args.async_,
                             args.task_timeout)
    return run_local(commands)
