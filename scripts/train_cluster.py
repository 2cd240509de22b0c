"""Train on a local cluster of ps and worker processes: maist.commands.cluster.

The command lives in the package so that a pip-installed MAIST has it too, as
`maist cluster`; this file is the tutorial's way to run it.
"""

import sys

from maist.commands.cluster import build_parser, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
