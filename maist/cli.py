"""What every script shares: one way to turn a MAIST error into one line and an exit code.

    @cli.command                 def main(argv) -> int, wrapped: errors -> "error: ..." + exit 1
    cli.parser(doc)              an ArgumentParser with --debug (show the traceback instead)

Library messages say what to do in library terms ("resume it"); an error's `params` name
the keyword arguments that would fix it, and here they become the script's own flags
("(--resume)"), where the script has such a flag.
"""

from __future__ import annotations

import argparse
import errno
import functools
import sys
import traceback
from typing import Callable

from .errors import MaistError
from .logs import show
from .signals import INTERRUPTED, TERMINATED


def parser(doc: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--debug", action="store_true",
                   help="on an error, show the Python traceback (default: one line)")
    return p


def flags_for(params, p: argparse.ArgumentParser | None) -> list[str]:
    """The script's flags for library parameter names: run_dir -> --run-dir, if it has one."""
    if p is None:
        return []
    known = {s for a in p._actions for s in a.option_strings}
    out = []
    for name in params:
        flag = "--" + name.replace("_", "-")
        if flag in known:
            out.append(flag)
    return out


def error_line(e: BaseException, p: argparse.ArgumentParser | None = None) -> str:
    """One line for an error: its message, plus the flags that fix it, if any."""
    if isinstance(e, MaistError):
        msg = str(e)
        flags = flags_for(e.params, p)
        return f"error: {msg} ({', '.join(flags)})" if flags else f"error: {msg}"
    if isinstance(e, OSError):
        where = f"{e.filename}: " if e.filename else ""
        if e.errno == errno.ENOSPC:
            return f"error: {where}no space left on the disk; free some space and run again"
        return f"error: {where}{e.strerror or e} (a file or folder could not be used; check " \
               f"the path and its permissions)"
    return f"error: {e}"


def command(build: Callable[[], argparse.ArgumentParser], known_only: bool = False):
    """Decorate `run(args) -> int` into `main(argv=None) -> int` that never shows a traceback
    for a MaistError or an OSError (unless --debug): one line on stderr, exit code 1.
    `known_only`: run(args, rest) gets the words its parser does not know, to pass on."""

    def wrap(run: Callable[[argparse.Namespace], int]):
        @functools.wraps(run)
        def main(argv: list[str] | None = None) -> int:
            try:  # building a parser may import TensorFlow: seconds in which Ctrl-C lands
                p = build()
                args, rest = p.parse_known_args(argv) if known_only else (p.parse_args(argv), None)
            except KeyboardInterrupt:
                print("interrupted", file=sys.stderr)
                return INTERRUPTED
            show()  # the library's messages, as they are, on stdout
            try:
                return (run(args, rest) if known_only else run(args)) or 0
            except (MaistError, OSError) as e:
                if args.debug:
                    traceback.print_exc()
                print(error_line(e, p), file=sys.stderr)
                return 1
            except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM where a command handles it
                code = getattr(e, "exit_code", INTERRUPTED)
                print("terminated" if code == TERMINATED else "interrupted", file=sys.stderr)
                return code

        main.parser = build
        return main

    return wrap
