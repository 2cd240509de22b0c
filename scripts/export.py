"""Export a trained run: a SavedModel (TF Serving; pictures in, characters out) and TFLite.

The command lives in the package, maist.commands.export, so that a pip-installed MAIST has it
too, as `maist export`; this file is the tutorial's way to run it.
"""

import sys

from maist.commands.export import build_parser, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
