"""Write a run's figures: filters and activations at step 0 and at the last checkpoint,

The command lives in the package, maist.commands.visualize, so that a pip-installed MAIST has it
too, as `maist visualize`; this file is the tutorial's way to run it.
"""

import sys

from maist.commands.visualize import build_parser, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
