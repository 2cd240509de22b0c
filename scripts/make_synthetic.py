"""Generate MAIST's synthetic handwriting as ETL9G-format files (the default: hiragana).

The command lives in the package, maist.commands.synth, so that a pip-installed MAIST has it
too, as `maist synth`; this file is the tutorial's way to run it.
"""

import sys

from maist.commands.synth import build_parser, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
