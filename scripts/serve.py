"""Draw a character in your browser and watch the network read it: a local page.

The command lives in the package, maist.commands.serve, so that a pip-installed MAIST has it
too, as `maist serve`; this file is the tutorial's way to run it.
"""

import sys

from maist.commands.serve import build_parser, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
