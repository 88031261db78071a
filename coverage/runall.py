"""The whole run of a study area, as ``circle15 run`` (and ``analyze``, ``sites``, ``plan``) and
the workspace's scenario export run it: one implementation of the stages and their order.

:func:`run_all` computes coverage, siting and the joint plan, then writes the results into an
open run's staging folder (:func:`coverage.outputs.open_run`): the cleaned inputs, the result
tables, and for a full run the map, the report and the QGIS project. It never prints; a caller
that shows the results (the CLI's console lines) passes ``on_computed``, called once the numbers
are known and before the files are written. Each stage's wall time is logged (INFO,
``stage NAME: S s``) and returned, for ``-v`` and ``scripts/bench_run.py``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .config import PlanConfig
    from .inputs import StudyInputs
    from .jointplan.stage import PlanOutcome
    from .network import WalkNetwork
    from .pipeline import CoverageResult
    from .planning import SitingOutcome
    from .results import Results

__all__ = ["RunOptions", "RunOutcome", "run_all"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """What a run computes and writes.

    Attributes
    ----------
    full : bool
        Also write the cleaned inputs (``inputs.gpkg``), the map, the report and the QGIS
        project (``circle15 run``); else only the result tables (``analyze``, ``sites``,
        ``plan``).
    sites : bool
        Run siting (greedy ranking, exact selection, set cover).
    site_categories : list of str, optional
        Categories to site (default: those with ``new_sites > 0``).
    k : int, optional
        New sites per category (default: each category's ``new_sites``).
    generate : bool, optional
        Also generate candidates on streets (default: the config's ``candidates.generate``).
    given_proposed : bool
        Siting treats the planned stations as built.
    plan : PlanConfig, optional
        The joint plan's settings; None: no joint plan.
    lang : {"zh", "en"}
        Language of the map and the report.
    pdf : bool
        Also write ``report.pdf``.
    progress : bool
        Show progress bars.
    """

    full: bool = True
    sites: bool = False
    site_categories: list[str] | None = None
    k: int | None = None
    generate: bool | None = None
    given_proposed: bool = False
    plan: PlanConfig | None = None
    lang: str = "zh"
    pdf: bool = False
    progress: bool = False


@dataclass(frozen=True)
class RunOutcome:
    """What :func:`run_all` computed and wrote (paths inside the staging folder, and the map)."""

    result: CoverageResult
    siting: SitingOutcome | None
    plan: PlanOutcome | None
    paths: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def _stage(name: str, seconds: dict[str, float]) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        seconds[name] = time.perf_counter() - t0
        log.info("stage %s: %.2f s", name, seconds[name])


def _compute(inputs: StudyInputs, options: RunOptions, network: WalkNetwork | None,
             seconds: dict[str, float]
             ) -> tuple[CoverageResult, SitingOutcome | None, PlanOutcome | None]:
    from .pipeline import Isochrones, analyze

    with _stage("coverage", seconds):
        result = analyze(inputs, network=network, progress=options.progress)
    if options.full and isinstance(result.isochrones, Isochrones):
        result.isochrones.start()  # the map and coverage.gpkg draw them: build them meanwhile
    siting = None
    if options.sites:
        from .planning import select_sites

        with _stage("siting", seconds):
            siting = select_sites(result, categories=options.site_categories or None,
                                  k=options.k, generate=options.generate,
                                  given_proposed=options.given_proposed,
                                  progress=options.progress)
    plan = None
    if options.plan is not None:
        from .jointplan.stage import plan_joint

        with _stage("joint plan", seconds):
            plan = plan_joint(result, options.plan, progress=options.progress)
    return result, siting, plan


OnComputed = Callable[["CoverageResult", "SitingOutcome | None", "PlanOutcome | None"], None]


def run_all(inputs: StudyInputs, run_dir: str | Path, options: RunOptions, *,
            map_path: str | Path | None = None, network: WalkNetwork | None = None,
            on_computed: OnComputed | None = None) -> RunOutcome:
    """Compute a study area's results and write them into ``run_dir``.

    Parameters
    ----------
    inputs : StudyInputs
        The checked inputs (a scenario's, for a scenario run).
    run_dir : path
        The open run's staging folder (:attr:`coverage.outputs.open_run`'s ``run.dir``).
    options : RunOptions
    map_path : path, optional
        Where the map goes (a full run; default ``run_dir / MAP_FILE``, ``map.html``).
    network : WalkNetwork, optional
        The area's network if already loaded.
    on_computed : callable, optional
        Called with (coverage, siting, plan) once they are computed, before any result file is
        written.

    Returns
    -------
    RunOutcome
    """
    from .outputs import MAP_FILE, write_coverage_files, write_inputs

    run_dir = Path(run_dir)
    seconds: dict[str, float] = {}
    paths: list[Path] = []
    if not options.full:
        result, siting, plan = _compute(inputs, options, network, seconds)
        if on_computed is not None:
            on_computed(result, siting, plan)
        with _stage("result files", seconds):
            write_coverage_files(result, run_dir, siting, plan=plan, progress=options.progress)
        return RunOutcome(result, siting, plan, paths, seconds)
    # Files (mostly GDAL/SQLite writing, which releases the GIL) are written on a second thread
    # while this one computes and draws: the cleaned inputs during the computation, the result
    # files during the map and the report (they read nothing from each other's files). The
    # QGIS project styles coverage.gpkg, so it waits for them.
    from .results import results_of

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="circle15-files") as pool:
        writes = [pool.submit(_timed, "inputs.gpkg", seconds, write_inputs, inputs, run_dir,
                              progress=options.progress)]
        try:
            result, siting, plan = _compute(inputs, options, network, seconds)
            if on_computed is not None:
                on_computed(result, siting, plan)
            writes.append(pool.submit(_timed, "result files", seconds, write_coverage_files,
                                      result, run_dir, siting, plan=plan,
                                      progress=options.progress))
            results = results_of(result, siting, plan)
            paths = _presentation(results, run_dir, options,
                                  Path(map_path) if map_path else run_dir / MAP_FILE, seconds)
        finally:
            # never leave the thread writing into a folder the caller may be about to abort
            wait(writes)
        for done in writes:
            done.result()  # its error, if any, is the run's
    from .qgis import write_qgis

    with _stage("qgis", seconds):  # styles coverage.gpkg: after the result files
        paths += write_qgis(results, run_dir, lang=options.lang)
    return RunOutcome(result, siting, plan, paths, seconds)


def _timed(name: str, seconds: dict[str, float], func: Callable[..., object], *args: object,
           **kwargs: object) -> object:
    with _stage(name, seconds):
        return func(*args, **kwargs)


def _presentation(results: Results, run_dir: Path, options: RunOptions, map_path: Path,
                  seconds: dict[str, float]) -> list[Path]:
    """The map and the report of the results."""
    from .maps import write_map
    from .report import write_report

    with _stage("map", seconds):
        paths = [write_map(results, map_path, lang=options.lang, progress=options.progress)]
    with _stage("report", seconds):
        paths += write_report(results, run_dir, lang=options.lang, pdf=options.pdf)
    return paths
