"""Adapting a model to one hand without forgetting everyone else's, on the touch drawings.

A "hand" is n drawers of touch-hiragana (the set's sample index: one person's row, each
character once), so n = 1, 3, 10 gives 1, 3 and 10 drawings per character. As a user of
the draw page does, the hand saves drawings of some characters only: a random half of
the classes (A). The model is adapted to those, then measured, before and after, on
  hand      the same drawers' drawings of the other half (B): their own other drawings
  others    6 other drawers (the same 6 for every n of a split): the characters the hand
            drew (A), the rest (B), and all
  synthetic the source run's own test writers (what it was trained for)

Arms, each through train_maist.py's own plan (config.plan, adapt.with_replay):
  before              the source model
  old defaults        README's old command: 300 steps of 32 at cosine 3e-4, every layer
                      trained, no replay
  adapt, no replay    the adapt recipe with conv frozen, --replay 0
  adapt (default)     what `--data mine --init-from RUN` now does: the adapt recipe, conv
                      frozen, half of each batch replaying the source's training data

Prints one row per n and arm: mean ± sd over the splits.

    python benchmarks/finetune_touch.py runs/demo-expert --per-char 1,3,10 --splits 3
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from common import parser, spread, table_head

import maist
from maist import cli
from maist.analysis.metrics import top_k_accuracy
from maist.data import sources
from maist.data.classes import get_class_set
from maist.data.dataset import MaistData, Split
from maist.runs import records, rundir
from maist.training import adapt
from maist.training.config import Request, plan
from maist.training.loop import train

OTHERS = 6  # drawers that never adapt: everyone else


def hand_split(drawers: np.ndarray, classes: np.ndarray, n: int, k: int):
    """(hand drawers, other drawers, adapted classes A) for split k."""
    order = np.random.default_rng([k, 17]).permutation(np.unique(drawers))
    kinds = np.random.default_rng([k, 29]).permutation(np.unique(classes))
    return order[:n], order[-OTHERS:], kinds[: len(kinds) // 2]


def subset(x, y, w, mask, seed=0) -> Split:
    return Split(x[mask], y[mask], w[mask], seed=seed)


def arms(source: str, steps: int, adapt_changes: dict, freeze: str | None = None
         ) -> dict[str, Request]:
    base = dict(init_from=source, data="mine", data_kind="pictures",
                init_config=records.read(source))
    return {
        "old defaults": Request(recipe="demo", changes={"steps": steps, "batch_size": 32,
                                "learning_rate": f"cosine(3e-4, warmup=30, floor=1e-6, steps={steps})",
                                "augment": "full"}, **base),
        "adapt, no replay": Request(replay=0.0, changes=adapt_changes, freeze=freeze, **base),
        "adapt (default)": Request(changes=adapt_changes, freeze=freeze, **base),
    }


def accuracies(run_or_restored, sets: dict) -> dict:
    with maist.restore(run_or_restored) as r:
        return {name: top_k_accuracy(r.probabilities(s.x), s.y, 1) for name, s in sets.items()}


def build_parser():
    p = parser(__doc__, touch=True)
    p.add_argument("source", help="the run to adapt, e.g. runs/demo-expert")
    p.add_argument("--per-char", default="1,3,10", help="drawers in the hand, so drawings per "
                   "adapted character (default: %(default)s)")
    p.add_argument("--splits", type=int, default=3, help="(default: %(default)s)")
    p.add_argument("--old-steps", type=int, default=300, help="(default: %(default)s)")
    p.add_argument("--adapt-steps", type=int, default=None, help="the adapt arms' steps "
                   "(default: the adapt recipe's)")
    p.add_argument("--arms", default=None, help="only these arms, comma-separated")
    p.add_argument("--freeze", default=None, help="the adapt arms' frozen layers, as "
                   "train_maist.py --freeze takes them (default: the adapt defaults')")
    p.add_argument("--root", default="runs/finetune", help="(default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    source = records.read(args.source)
    class_set = get_class_set(source.data.get("classes") or "hiragana71")
    touch = sources.load_touch(args.touch)
    x, y, kept = sources.from_images(touch.images, touch.chars, class_set,
                                     source.preprocess)
    w = touch.drawers[kept]
    source_test = maist.load_data(source.data_path, **{**source.data_options(),
                                  "classes": class_set.name}, seed=source.data_seed).test
    rows: dict[tuple[int, str], dict[str, list[float]]] = {}
    root = Path(args.root)
    for n in [int(v) for v in args.per_char.split(",")]:
        for k in range(args.splits):
            hand, others, adapted = hand_split(w, y, n, k)
            in_hand, in_a = np.isin(w, hand), np.isin(y, adapted)
            mine = subset(x, y, w, in_hand & in_a, seed=k)
            in_others = np.isin(w, others)
            sets = {"hand": subset(x, y, w, in_hand & ~in_a),
                    "others, drawn": subset(x, y, w, in_others & in_a),
                    "others, the rest": subset(x, y, w, in_others & ~in_a),
                    "others": subset(x, y, w, in_others), "synthetic": source_test}
            data = MaistData(mine, sets["hand"], sets["hand"], class_set.chars,
                             {**source.data, "sources": ["touch drawings"], "formats": ["pictures"]})
            got = {"before": accuracies(args.source, sets)}
            todo = arms(args.source, args.old_steps, {"steps": args.adapt_steps}, args.freeze)
            for arm, request in todo.items():
                if args.arms and arm not in args.arms.split(","):
                    continue
                cfg = plan(request).config
                run_dir = rundir.free_name(root, f"n{n}-split{k}-{arm.split(' ')[0]}")
                train(adapt.with_replay(data, cfg), cfg, run_dir, quiet=True)
                got[arm] = accuracies(run_dir, sets)
            for arm, acc in got.items():
                for name, value in acc.items():
                    rows.setdefault((n, arm), {}).setdefault(name, []).append(value)
            print(json.dumps({"n": n, "split": k, "adapted_drawings": len(mine), **{
                a: {s: round(v, 4) for s, v in acc.items()} for a, acc in got.items()}}),
                flush=True)
    print(f"\n{args.source}, {args.splits} splits; hand: its drawings of the half of the "
          f"characters it did not adapt on; others: {OTHERS} other drawers\n")
    print(table_head("drawings per character", "arm", "hand: its other characters",
                     "others: the characters drawn", "others: the rest", "others: all",
                     "synthetic test"))
    for (n, arm), acc in rows.items():
        print(f"| {n} | {arm} | " + " | ".join(spread(acc[k]) for k in (
            "hand", "others, drawn", "others, the rest", "others", "synthetic")) + " |")


if __name__ == "__main__":
    sys.exit(main())
