"""The ``circle15`` command: the only package that parses arguments or prints.

:func:`main` parses the command line (:func:`build_parser`), sets up logging and SIGTERM, runs
the subcommand and turns what went wrong into a message and an exit code. One module per group
of subcommands, each with a ``cmd_*`` function and its own options (``add_*_options``):
:mod:`.run` (run, analyze, sites, plan), :mod:`.validate`, :mod:`.mapreport` (map, report),
:mod:`.serve`, :mod:`.fetch`, :mod:`.batch`; shared options in :mod:`.options`, paths and
loading in :mod:`.common`, every console line in :mod:`.console`, logging set-up in
:mod:`.logs`, SIGTERM in :mod:`.interrupts`.

Exit codes: 0 ok; 2 the planner can fix it (bad input, a busy, read-only or full output
folder: a message naming file, row, field and fix; no traceback); 1 anything unexpected (a bug:
``--debug`` shows the traceback); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM). An
interrupted or failed run leaves its output folder as it was (see :mod:`coverage.outputs`).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import errno
import os
import sys
import threading
from collections.abc import Sequence
from functools import partial
from typing import NoReturn

from ..errors import Circle15Error, InputError
from .batch import add_batch_options, cmd_batch
from .common import preflight
from .console import say_error
from .fetch import add_fetch_arguments, cmd_fetch
from .interrupts import Terminated, sigterm_as_interrupt
from .logs import configure_logging
from .mapreport import cmd_map, cmd_report
from .options import (
    Command,
    OptionGroup,
    add_command,
    add_config_options,
    add_global_options,
    add_lang_options,
    add_map_options,
    add_pdf_options,
    add_strict_options,
)
from .run import (
    add_plan_options,
    add_scenario_options,
    add_sites_options,
    cmd_analyze,
    cmd_plan,
    cmd_run,
    cmd_sites,
)
from .serve import add_serve_options, cmd_serve
from .validate import cmd_validate

__all__ = ["build_parser", "console_main", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``circle15`` parser: -v/-q/--debug, --version and the subcommands in help order."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="circle15",
        description="Which homes are not within a 15-minute walk of the services they need, "
        "and where new facilities should go.",
    )
    parser.add_argument("--version", action="version", version=f"circle15 {__version__}")
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Command, help_: str, *options: OptionGroup,
            out: bool = True) -> None:
        """A subcommand on a study-area config (and, with ``out``, its --out folder)."""
        add_command(sub, name, func, help_, partial(add_config_options, out=out), *options)

    add("validate", cmd_validate, "check every input file and print a summary",
        add_strict_options, out=False)
    add("run", cmd_run, "the whole analysis: validate, coverage, sites, map and report",
        add_strict_options, add_lang_options, add_map_options, add_pdf_options,
        add_scenario_options)
    add("analyze", cmd_analyze, "walking coverage of every compound and category",
        add_strict_options)
    add("sites", cmd_sites, "rank candidate sites and choose new ones (also writes coverage)",
        add_strict_options, add_sites_options)
    add("plan", cmd_plan, "plan all categories at once on the candidate spaces, with floor "
        "areas and capacities (also writes coverage)", add_strict_options, add_plan_options)
    add("map", cmd_map, "the interactive coverage map from an output folder", add_lang_options,
        add_map_options)
    add("report", cmd_report, "report.html, report.xlsx and sensitivity.csv (and --pdf: "
        "report.pdf) from an output folder", add_lang_options, add_pdf_options)
    add("serve", cmd_serve, "what-if workspace in the browser: place, move and optimise sites "
        "and see coverage change at once", add_lang_options, add_serve_options)
    add_command(sub, "fetch", cmd_fetch, "build a study-area folder from OpenStreetMap (online, "
                "or from an .osm.pbf)", add_fetch_arguments)
    add_command(sub, "batch", cmd_batch, "many study areas at once (optionally on a Dask "
                "cluster)", add_batch_options)
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line; global options count wherever they stand."""
    args = build_parser().parse_args(argv)
    args.verbose += getattr(args, "verbose_sub", 0)
    args.quiet = args.quiet or getattr(args, "quiet_sub", False)
    args.debug = args.debug or getattr(args, "debug_sub", False)
    return args


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_NO_PERMISSION = (errno.EACCES, errno.EPERM, errno.EROFS)


def _os_error_message(exc: OSError) -> str | None:
    """The planner's fix for a file-system error they can do something about, else None."""
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in _DISK_FULL:
        return (f"the disk is full{where}: nothing was changed in the output folder. "
                "Fix: free some space, or give --out a folder on another disk")
    if exc.errno in _NO_PERMISSION:
        return (f"no permission to write{where}: {exc.strerror}. Fix: give --out (or --map) a "
                "folder you can write to")
    return None


def _run(args: argparse.Namespace) -> int:
    """Set up logging, check the paths, run the subcommand."""
    configure_logging(args.verbose)
    preflight(args)
    return int(args.func(args))


def console_main() -> NoReturn:
    """The ``circle15`` command: :func:`main`, then an exit without the interpreter's teardown.

    Freeing every object one by one as the interpreter shuts down took 0.3-0.6 s after a run of
    the sample on a slow day (about a tenth of the run). When the command is done and nothing
    else runs (no other thread, no child process, no coverage tool, profiler, tracer or
    debugger: they write their results at exit), the exit handlers run (log handlers, temporary
    folders) and the process ends at once; otherwise it exits the usual way.
    """
    code = main()
    others = [t for t in threading.enumerate()
              if t is not threading.main_thread() and not t.daemon]
    mp = sys.modules.get("multiprocessing")
    watched = sys.getprofile() is not None or sys.gettrace() is not None
    if others or (mp is not None and mp.active_children()) or "slipcover" in sys.modules \
            or watched:
        sys.exit(code)
    atexit._run_exitfuncs()  # logging.shutdown, weakref finalizers (temporary folders)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``circle15`` command; returns the exit code."""
    debug = False
    try:
        with sigterm_as_interrupt():
            args = parse_args(argv)
            debug = args.debug
            return _run(args)
    except InputError as exc:
        say_error(str(exc))
        return 2
    except Circle15Error as exc:
        say_error(str(exc))
        return 1
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except Terminated:
        say_error("terminated; the output folder is unchanged")
        return 143
    except KeyboardInterrupt:
        say_error("interrupted; the output folder is unchanged")
        return 130
    except OSError as exc:
        message = _os_error_message(exc)
        if message is None:
            return _bug(exc, debug)
        say_error(message)
        return 2
    except Exception as exc:
        return _bug(exc, debug)


def _bug(exc: Exception, debug: bool) -> int:
    """Exit code 1 and a request to report the bug (with --debug: the traceback instead)."""
    if debug:
        raise exc
    say_error(f"unexpected error: {type(exc).__name__}: {exc}\n"
              "This is a bug; run again with --debug for the traceback and report it.")
    return 1
