"""How trained models read characters as one generator feature writes them: the reshaped
forms (generator version 6, reshape_rate) or the hands' voicing marks (version 5, marks).
Each character the feature changes, by writers the models never saw, written without the
feature and with it, and what the feature's form is misread as.

    python benchmarks/written_forms.py runs/realism/default+elastic-w200-2000-s{0,1,2}
    python benchmarks/written_forms.py runs/demo-expert --writers 200
    python benchmarks/written_forms.py --feature marks RUN ...

A model trained without the feature shows whether its forms are ones it cannot read, and
what it takes them for. The real scans' confusions that the accuracy issue lists (ro as u, mu
as mo, so as wo, no and me as ri) say which forms a real hand may be writing; they are read
from that table, not from any scan. Each model reads the same writers (generator seed
--seed, the DEFAULT setting, every other character left as it is): one row per form, mean
± sd over the models.
"""

from __future__ import annotations

import collections
import sys

import numpy as np
from common import parser, spread

import maist
from maist import cli, synth
from maist.data import preprocess
from maist.data.classes import base_char, get_class_set

# feature -> (the share or strength that has every writer use it, the characters it changes)
FEATURES = {
    "reshape_rate": (1.0, lambda c: base_char(c) in synth.reshaped_forms()),
    "marks": (1.0, lambda c: synth.voicing_strokes(c) > 0),
    "variant_rate": (1.0, lambda c: base_char(c) in synth.variant_forms()),
}


def written(writers: int, seed: int, feature: str, value: float, chars: list[str],
            classes: str) -> np.ndarray:
    """(len(chars), writers, 127, 128) the characters `chars` by unseen writers, as ETL
    fields of 16 levels, with the DEFAULT setting but `feature` at `value`."""
    class_set = get_class_set(classes)
    cfg = synth.SynthConfig(writers=writers, seed=seed, classes=classes, workers=1,
                            **dict(synth.DEFAULT, **{feature: value}))
    idx = [class_set.index(c) for c in chars]
    return np.stack([synth.render_writer(w, cfg)[idx] for w in range(writers)], axis=1)


def inputs(fields: np.ndarray, how: str) -> np.ndarray:
    """(chars, writers, H, W) fields -> (chars * writers, 784), preprocessed as a run's
    own data were (its config's preprocess)."""
    x = preprocess.get_preprocessor(how).fields(fields.reshape(-1, *fields.shape[2:]), 15)
    return x.reshape(len(x), -1)


def build_parser():
    p = parser(__doc__)
    p.add_argument("runs", nargs="+", help="run folders of one class set")
    p.add_argument("--feature", default="reshape_rate", choices=sorted(FEATURES),
                   help="(default: %(default)s)")
    p.add_argument("--writers", type=int, default=100, help="(default: %(default)s)")
    p.add_argument("--seed", type=int, default=7, help="the generator's seed: 7 draws "
                   "writers that no set made here holds (default: %(default)s)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    with maist.restore(args.runs[0]) as r:
        classes = r.record.data["classes"]
    full, changes = FEATURES[args.feature]
    chars = [c for c in get_class_set(classes).chars if changes(c)]
    if not chars:
        raise SystemExit(f"{classes} holds no character that {args.feature} changes")
    images = {rate: written(args.writers, args.seed, args.feature, rate, chars, classes)
              for rate in (0.0, full)}
    read_as: dict = {}  # (rate, preprocess) -> the network's inputs, made once for all runs
    right = collections.defaultdict(list)  # (char, rate) -> a share per run
    taken = collections.defaultdict(collections.Counter)  # char -> what the feature's form read as
    for run in args.runs:
        with maist.restore(run) as r:
            if r.classes != list(get_class_set(classes).chars):
                raise SystemExit(f"{run}: reads other classes than {classes}")
            for rate, fields in images.items():
                if (rate, r.preprocess) not in read_as:
                    read_as[rate, r.preprocess] = inputs(fields, r.preprocess)
                x = read_as[rate, r.preprocess]
                pred = r.probabilities(x).argmax(1).reshape(fields.shape[:2])
                for k, ch in enumerate(chars):
                    read = [r.classes[p] for p in pred[k]]
                    right[ch, rate].append(np.mean([c == ch for c in read]))
                    if rate:
                        taken[ch].update(c for c in read if c != ch)
    print(f"{len(args.runs)} model(s), {args.writers} writers (generator seed {args.seed}), "
          f"{classes}, {args.feature} 0 and {full:g}\n")
    print(f"| character | without {args.feature}: read right | with it: read right | with it: "
          f"misread as (count over the models) |")
    print("|---|---|---|---|")
    for ch in chars:
        misread = ", ".join(f"{c} {n}" for c, n in taken[ch].most_common(3)) or "-"
        print(f"| {ch} | {spread(right[ch, 0.0])} | {spread(right[ch, full])} | {misread} |")
    both = [np.mean([right[c, r][i] for c in chars]) for r in (0.0, full)
            for i in range(len(args.runs))]
    n = len(args.runs)
    print(f"| all {len(chars)} | {spread(both[:n])} | {spread(both[n:])} | |")


if __name__ == "__main__":
    sys.exit(main())
