"""Restore a run's checkpoint and report test accuracy, per-class accuracy and confusions.

The command lives in the package, maist.commands.evaluate, so that a pip-installed MAIST has it
too, as `maist evaluate`; this file is the tutorial's way to run it.
"""

import sys

from maist.commands.evaluate import build_parser, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
