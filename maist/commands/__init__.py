"""The commands, one module each: `maist COMMAND [options]`, and scripts/*.py for the tutorial.

    maist train      scripts/train_maist.py     train a model (recipes, resume, adapt)
    maist cluster    scripts/train_cluster.py   train on a local cluster
    maist build      scripts/build_maist.py     ETL files -> a 28x28 .npz
    maist synth      scripts/make_synthetic.py  a synthetic ETL9G-format set
    maist compare    scripts/compare_models.py  beginner against expert
    maist evaluate   scripts/evaluate.py        a run's scores on its test split
    maist predict    scripts/predict.py         top-5 for pictures
    maist visualize  scripts/visualize.py       a run's figures
    maist export     scripts/export.py          SavedModel and TFLite files
    maist serve      scripts/serve.py           the draw page
    maist board      scripts/board.py           TensorBoard over the runs, or screenshots
    maist sheets     scripts/contact_sheets.py  contact sheets of the data

Each module's `main(argv) -> int` is a cli.command: arguments in, the package called,
one line per error. A pip-installed MAIST has no scripts/ folder; `maist` (setup.cfg's
console entry point) and `python -m maist` reach the same commands.
"""

from __future__ import annotations

import importlib
import sys

from ..version import VERSION

# name -> what it does, for `maist --help` (its module is maist.commands.NAME)
COMMANDS = {
    "train": "train a model: the blog's beginner and expert, MAIST's recipes, adapting",
    "cluster": "train on a local cluster of ps and worker processes (TF_CONFIG each)",
    "build": "build a 28x28 .npz from ETL files (cached)",
    "synth": "generate a synthetic ETL9G-format set",
    "compare": "beginner against expert at the blog's checkpoints",
    "evaluate": "a run's test accuracy, hardest classes and confusions",
    "predict": "the top-5 characters of pictures",
    "visualize": "a run's figures: filters, activations, curves, confusions",
    "export": "a run as a SavedModel and TFLite files",
    "serve": "the draw page over a run",
    "board": "TensorBoard over the runs (or its tabs as screenshots)",
    "sheets": "contact sheets of the synthetic set and the preprocessing",
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"maist {VERSION}: Deep MNIST for Experts, on handwritten Japanese", "",
             "usage: maist COMMAND [options]   (maist COMMAND --help for its options)", "",
             "commands:"]
    lines += [f"  {name:{width}s}  {what}" for name, what in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`maist COMMAND ...`: the command's own main with the rest of the arguments."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"maist {VERSION}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: no command {name!r}; choose one of {', '.join(COMMANDS)} "
              f"(maist --help)", file=sys.stderr)
        return 2
    sys.argv[0] = f"maist {name}"  # the command's usage and errors say "maist train"
    return importlib.import_module(f"{__name__}.{name}").main(rest)
