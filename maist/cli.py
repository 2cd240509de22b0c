"""What every script shares: one way to turn a MAIST error into one line and exit code 1,
and the default data set.

    @cli.command                 def main(argv) -> int, wrapped: errors -> "error: ..." + exit 1
    cli.parser(doc)              an ArgumentParser with --debug (show the traceback instead)
    cli.default_data(classes)    AIST's files in data/ETL9G if you put them there (and they
                                 hold the classes), else the class set's synthetic set in
                                 data/synthetic[-SET], generated on first use

Library messages say what to do in library terms ("resume it"); an error's `params` name
the keyword arguments that would fix it, and here they become the script's own flags
("(--resume)"), where the script has such a flag.
"""

from __future__ import annotations

import argparse
import errno
import functools
import hashlib
import re
import sys
import traceback
from pathlib import Path
from typing import Callable

from .errors import MaistError
from .paths import data_dir


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


def command(build: Callable[[], argparse.ArgumentParser]):
    """Decorate `run(args) -> int` into `main(argv=None) -> int` that never shows a traceback
    for a MaistError or an OSError (unless --debug): one line on stderr, exit code 1."""

    def wrap(run: Callable[[argparse.Namespace], int]):
        @functools.wraps(run)
        def main(argv: list[str] | None = None) -> int:
            p = build()
            args = p.parse_args(argv)
            try:
                return run(args) or 0
            except (MaistError, OSError) as e:
                if args.debug:
                    traceback.print_exc()
                print(error_line(e, p), file=sys.stderr)
                return 1
            except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM where a command handles it
                code = getattr(e, "exit_code", 130)
                print("terminated" if code == 143 else "interrupted", file=sys.stderr)
                return code

        main.parser = build
        return main

    return wrap


def synthetic_dir(classes: str) -> Path:
    """Where the synthetic set of a class set lives: data/synthetic for hiragana71, the
    blog's; data/synthetic-kana142, data/synthetic-kana142+kyoiku1026 for others; a set
    from a file by its name and a hash of its characters."""
    from .data.classes import DEFAULT_CLASSES, get_class_set

    class_set = get_class_set(classes)
    if class_set.name == DEFAULT_CLASSES:
        return data_dir() / "synthetic"
    if re.fullmatch(r"[A-Za-z0-9_+-]+", class_set.name):
        return data_dir() / f"synthetic-{class_set.name}"
    digest = hashlib.sha256("".join(class_set.chars).encode()).hexdigest()[:8]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(class_set.name).stem)[:40]
    return data_dir() / f"synthetic-{stem}-{digest}"


def default_data(classes: str | None = None, log: Callable[[str], None] = print) -> Path:
    """What --data means when it is not given, for a class set (None: hiragana71):
    data/ETL9G if it holds AIST's files and they hold every class (ETL9G has the hiragana
    and the JIS level-1 kanji, no katakana); else the class set's synthetic set
    (synthetic_data). The data layer only reads; this choice, and the call to the
    generator, live here, above it."""
    from .data.classes import CLASS_SETS, DEFAULT_CLASSES, get_class_set
    from .data.etl import is_etl_source

    class_set = get_class_set(classes or DEFAULT_CLASSES)
    real = data_dir() / "ETL9G"
    if is_etl_source(real) and set(class_set.chars) <= set(CLASS_SETS["etl9g3036"].chars):
        return real
    return synthetic_data(class_set.name, log, f"No ETL files in {real} for {class_set.name}")


def synthetic_data(classes: str, log: Callable[[str], None] = print, why: str = "") -> Path:
    """The class set's synthetic set (synthetic_dir), generated on first use, or again when
    the generator has changed since."""
    from .synth import generator

    out = synthetic_dir(classes)
    cfg = generator.SynthConfig(**{**generator.DEFAULT, "classes": classes})
    if not generator.is_current(out, cfg):
        ours = bool(generator.written_by_us(out))
        log(f"{why + ': g' if why else 'G'}enerating the synthetic ETL9G-format set of "
            f"{classes} in {out}"
            f"{' (the generator changed since it was made)' if ours else ' (once)'}.")
        generator.generate(out, cfg, overwrite=ours)
    return out


def pretrained_plan(mode: str, request, plan, data_path: Path,
                    dry_run: bool = False, log: Callable[[str], None] = print):
    """The plan again, starting from a synthetic model, when --pretrain MODE wants one for
    this recipe and data (training.pretrain: made first if there is none); else the plan
    as it was. The synthetic set is the class set's own, read as the real data is."""
    from dataclasses import replace

    from .data import sources
    from .data.classes import DEFAULT_CLASSES
    from .paths import runs_dir
    from .training import config, pretrain, rundir

    recipe = plan.config.recipe
    if not pretrain.wanted(mode, recipe, sources.is_real_etl(data_path)):
        return plan
    if dry_run:
        log("dry run: no synthetic pretraining (it would train a whole model first)")
        return plan
    classes = plan.data_options.get("classes") or DEFAULT_CLASSES
    made_with = pretrain.recipe_for(mode, classes, recipe.model)
    synthetic = sources.load(synthetic_data(classes, log), seed=pretrain.SEED,
                             **{**plan.data_options, "classes": classes})
    source = pretrain.pretrained(synthetic, made_with, plan.config.model_options, runs_dir(),
                                 log)
    return config.plan(replace(request, init_from=str(source),
                               init_config=rundir.read_config(source)))
