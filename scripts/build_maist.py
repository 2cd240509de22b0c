"""Build the 28x28 MAIST data set from ETL files and save it as an .npz.

The command lives in the package, maist.commands.build, so that a pip-installed MAIST has it
too, as `maist build`; this file is the tutorial's way to run it.
"""

import sys

from maist.commands.build import build_parser, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
