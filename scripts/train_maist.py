"""Train a MAIST model from the shell: the blog's beginner and expert, and the seeds' mlp and deep.

The command lives in the package, maist.commands.train, so that a pip-installed MAIST has it
too, as `maist train`; this file is the tutorial's way to run it.
"""

import sys

from maist.commands.train import build_parser, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
