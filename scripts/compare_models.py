"""Beginner vs expert (optionally mlp and deep) on the same data: a table, a plot, a JSON.

The command lives in the package, maist.commands.compare, so that a pip-installed MAIST has it
too, as `maist compare`; this file is the tutorial's way to run it.
"""

import sys

from maist.commands.compare import build_parser, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
