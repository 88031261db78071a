"""Option groups that several subcommands share (``add_*_options``), and their value types.

A subcommand's own options live beside it (``run``, ``serve``, ``batch``, ``fetch``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..constants import LANGS

Command = Callable[[argparse.Namespace], int]
"""A subcommand: the parsed options -> the exit code."""
OptionGroup = Callable[[argparse.ArgumentParser], None]
"""Adds a group of options to a subcommand's parser."""


def positive_int(text: str) -> int:
    """The ``type`` of a count option (--k, --workers, --tiles): a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def add_global_options(p: argparse.ArgumentParser, *, sub: bool = False) -> None:
    """-v/-q/--debug; accepted before and after the subcommand (``sub``: the latter)."""
    suffix = "_sub" if sub else ""
    default: Any = argparse.SUPPRESS if sub else None
    p.add_argument("-v", "--verbose", action="count", dest="verbose" + suffix,
                   default=default if sub else 0,
                   help="more log output (-v progress log incl. Dask's, -vv debug)")
    p.add_argument("-q", "--quiet", action="store_true", dest="quiet" + suffix,
                   default=default if sub else False, help="no progress bars")
    p.add_argument("--debug", action="store_true", dest="debug" + suffix,
                   default=default if sub else False,
                   help="show tracebacks of unexpected errors")


def add_config_options(p: argparse.ArgumentParser, *, out: bool = True) -> None:
    p.add_argument("config", help="study-area config (area.toml, or its folder)")
    if out:
        p.add_argument("--out", help="output folder (default: out/<config folder name>)")


def add_strict_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strict", action="store_true",
                   help="points outside the study area and rows of categories not in the config "
                   "are errors (default: left out with a warning and listed in dropped.csv)")


def add_lang_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=LANGS, default="zh",
                   help="language of the map and report (default zh)")


def add_pdf_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pdf", action="store_true",
                   help="also write report.pdf (A4; needs WeasyPrint's Pango, see README)")


def add_map_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--map", help="map file (default: maps/<config folder>_coverage.html)")


def add_command(sub: Any, name: str, func: Command, help_: str,
                *options: OptionGroup) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` (running ``func``) with -v/-q/--debug and ``options``."""
    p = sub.add_parser(name, help=help_, description=help_)
    add_global_options(p, sub=True)
    for option in options:
        option(p)
    p.set_defaults(func=func)
    return p
