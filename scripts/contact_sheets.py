"""Contact sheets for the docs: the synthetic ETL9G set beside the real touch-screen drawings,

The command lives in the package, maist.commands.sheets, so that a pip-installed MAIST has it
too, as `maist sheets`; this file is the tutorial's way to run it.
"""

import sys

from maist.commands.sheets import build_parser, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
