"""TensorBoard over MAIST's runs, or its tabs as screenshots in headless Chromium.

The command lives in the package, maist.commands.board, so that a pip-installed MAIST has it
too, as `maist board`; this file is the tutorial's way to run it.
"""

import sys

from maist.commands.board import build_parser, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
