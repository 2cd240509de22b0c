"""MAIST's messages go through `logging`, under the logger "maist".

    log = logging.getLogger(__name__)   in each module that says what it does (log.info)
    show()                              print them as they are, on stdout: what the commands
                                        and the five-line API do; a library user may not

A library that prints cannot be quietened, redirected or timestamped by its caller, and a
`log=print` parameter threaded through every signature is print by another name. The
training lines ("i 100, training accuracy ...") are the progress bar's, not the log's.
"""

from __future__ import annotations

import logging
import sys

ROOT = "maist"


class _Stdout(logging.StreamHandler):
    """A handler that writes to whatever sys.stdout is when a message comes (a notebook's
    cell, a test's capture), not the one there was when it was made."""

    def __init__(self):
        super().__init__(sys.stdout)

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):  # StreamHandler sets it; the property always reads sys.stdout
        pass


def show(level: int = logging.INFO) -> None:
    """MAIST's messages at `level` and above printed on stdout, each as it is (once)."""
    logger = logging.getLogger(ROOT)
    if not any(isinstance(h, _Stdout) for h in logger.handlers):
        handler = _Stdout()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
