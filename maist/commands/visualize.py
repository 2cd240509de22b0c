"""Write a run's figures: filters and activations at step 0 and at the last checkpoint,
learning curves, the prediction grid and the confusion matrix.

    python scripts/visualize.py runs/demo-expert            # -> runs/demo-expert/figures/
    python scripts/visualize.py runs/demo-expert --projector   # 2,000 test images in runs/demo-expert/events/
"""

from __future__ import annotations

from pathlib import Path

from .. import cli


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("run_dir", help="a run directory written by scripts/train_maist.py")
    p.add_argument("--data", default=None, help="data for the example and the grid "
                   "(default: the run's own)")
    p.add_argument("--out", default=None, help="output folder (default: RUN_DIR/figures)")
    p.add_argument("--projector", action="store_true", help="also write the projector's files into RUN_DIR/events/ "
                   "for TensorBoard's embedding projector (tensorboard --logdir runs), and "
                   "embedding.png, a t-SNE of the same activations (default: off)")
    p.add_argument("--n", type=int, default=2000, help="test images in the projector, 1 or "
                   "more (default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    from ..analysis import projector, report, visualize
    from ..errors import MaistError
    from ..inference.restore import restore

    if args.n < 1:
        raise MaistError(f"--n must be 1 or more, not {args.n}")
    restore(args.run_dir).close()  # a damaged run is reported before data is built
    data = report.data_for_run(args.run_dir, args.data)
    figures = report.run_figures(args.run_dir, data)
    if args.projector:
        folder, points, true, layer = projector.write(args.run_dir, data, args.n)
        print(folder)
        figures["embedding"] = visualize.embedding_figure(
            points, true, data.classes, f"{layer} of {len(true)} test images (t-SNE)")
    for path in report.save_figures(figures, args.out or Path(args.run_dir) / "figures"):
        print(path)
    return 0

