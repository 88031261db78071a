"""``circle15 map`` and ``circle15 report``: the map, the report and the QGIS hand-off from a
finished run's output folder (added to that run's manifest)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .common import map_path, progress, read_run
from .console import say

if TYPE_CHECKING:  # pragma: no cover
    from ..results import Results


def _write_report(args: argparse.Namespace, results: Results, folder: Path) -> list[Path]:
    """The report files (and, with --pdf, report.pdf) of ``results`` into ``folder``, and the
    QGIS hand-off: coverage.qgz, and coverage.gpkg restyled in place (both listed)."""
    from ..qgis import write_qgis
    from ..report import write_report

    paths = write_report(results, folder, lang=args.lang, pdf=getattr(args, "pdf", False))
    return [*paths, *write_qgis(results, folder, lang=args.lang)]


def cmd_map(args: argparse.Namespace) -> int:
    """``circle15 map``: the interactive map of a finished run (outside its folder)."""
    from ..maps import write_map
    from ..outputs import open_run

    results, out = read_run(args)
    with open_run(out, extend=True, command="circle15 map") as run:
        write_map(results, run.external(map_path(args)), lang=args.lang, progress=progress(args))
    say(f"wrote {map_path(args)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``circle15 report``: the report files and the QGIS hand-off, into the run's folder."""
    from ..outputs import open_run

    results, out = read_run(args)
    with open_run(out, extend=True, command="circle15 report") as run:
        paths = _write_report(args, results, out)
        run.add(*paths)
    say(*(f"wrote {p}" for p in paths))
    return 0
