"""Read pictures of characters (PNG or JPEG, any size, dark-on-light or light-on-dark).

The command lives in the package, maist.commands.predict, so that a pip-installed MAIST has it
too, as `maist predict`; this file is the tutorial's way to run it.
"""

import sys

from maist.commands.predict import build_parser, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
