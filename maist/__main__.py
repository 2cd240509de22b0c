"""python -m maist COMMAND [options]: the same commands as the `maist` entry point."""

import sys

from .commands import main

sys.exit(main())
