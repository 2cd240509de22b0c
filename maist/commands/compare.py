"""Beginner vs expert (optionally mlp and deep) on the same data: a table, a plot, a JSON.

    python scripts/compare_models.py --quick
    python scripts/compare_models.py --data data/ETL9G --models beginner,expert
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import cli


def build_parser():
    from ..data import preprocess
    from ..nets import models

    p = cli.parser(__doc__)
    p.add_argument("--data", default=None, help="ETL folder/file or .npz (default: data/ETL9G "
                   "if present, else the synthetic set)")
    p.add_argument("--models", default="beginner,expert", help="comma-separated, from "
                   f"{', '.join(models.MODELS)} (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="a few minutes on 2 CPU cores: fewer "
                   "steps, same recipes (default: the blog's steps)")
    p.add_argument("--preprocess", choices=list(preprocess.PREPROCESSORS), default=None,
                   help=f"for ETL input (default: {preprocess.DEFAULT_PREPROCESS})")
    p.add_argument("--split", choices=["writer", "random"], default=None,
                   help="for ETL input (default: writer)")
    p.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    p.add_argument("--root", default="runs/compare", help="runs, table, plot and JSON go here; "
                   "finished runs are reused (default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    from ..analysis import compare, visualize
    from ..data import sources
    from ..fileio import write_text_atomic
    from ..training.defaults import default_data

    todo = compare.plans([m.strip() for m in args.models.split(",") if m.strip()], args.quick)
    data = sources.load(args.data or default_data(), preprocess=args.preprocess,
                        split=args.split, seed=args.seed)
    outcomes = compare.run(data, todo, args.root, args.seed)
    root = Path(args.root)
    table = compare.markdown(outcomes)
    print(table)
    write_text_atomic(root / "comparison.md", table + "\n")
    write_text_atomic(root / "comparison.json", json.dumps(compare.to_json(outcomes, data),
                                                           indent=2, ensure_ascii=False))
    fig = visualize.accuracy_vs_step(
        {o.plan.model: list(o.accuracy_at.items()) for o in outcomes},
        {o.plan.model: o.plan.recipe.blog for o in outcomes})
    fig.savefig(root / "comparison.png", dpi=100, bbox_inches="tight")
    print(f"wrote {root / 'comparison.md'}, comparison.json and comparison.png")
    return 0

