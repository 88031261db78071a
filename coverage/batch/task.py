"""One area of a batch, the task a worker runs: its pipeline into the cache, or the cached
results."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path

from ..errors import Circle15Error
from ..io import write_text
from .combine import area_tables
from .jobs import DONE, AreaJob, AreaOutcome

__all__ = ["run_area", "warm_up"]

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Import what an area task needs (once per worker process, before its first task).

    Run on every worker while the client reads the batch file and its inputs, so that the
    workers' imports overlap with that serial step instead of delaying their first areas.
    """
    from .. import config, inputs, outputs, pipeline, validate  # noqa: F401
    from . import split  # noqa: F401


def run_area(job: AreaJob, cache_root: str | Path) -> AreaOutcome:
    """Run one area's pipeline into ``cache_root/<key>/`` (or reuse it); never raises for bad
    input or bugs in the area: the outcome carries the error."""
    from ..config import load_config
    from ..inputs import load_inputs
    from ..outputs import MAP_FILE, open_run, write_coverage_files
    from ..pipeline import CoverageTables, analyze

    t0 = time.perf_counter()
    cache_root = Path(cache_root)
    final = cache_root / job.key if job.key else None
    if final is not None and (final / DONE).exists():
        done = json.loads((final / DONE).read_text(encoding="utf-8"))
        outcome = _with_tables(AreaOutcome(
            name=job.name, slug=job.slug, status="ok", compounds=done["compounds"],
            results=str(final), cached=True, nodes=done.get("nodes", 0)))
        outcome.seconds = time.perf_counter() - t0
        return outcome
    tmp = cache_root / f".{job.key or 'nokey'}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        cfg = load_config(job.config)
        if job.tiles is not None:
            cfg = dataclasses.replace(cfg, tiles=job.tiles)
        inputs = load_inputs(cfg)
        result: CoverageTables
        if cfg.tiles > 1:
            from ..tiles import analyze_tiled

            result = analyze_tiled(inputs)
        else:
            result = analyze(inputs, isochrones=job.maps)
        with open_run(tmp, config=cfg) as run:
            write_coverage_files(result, run.dir)
            if job.maps:
                from ..maps import write_map
                from ..report import write_report
                from ..results import results_of

                results = results_of(result)
                write_map(results, run.dir / MAP_FILE)
                write_report(results, run.dir)
        seconds = time.perf_counter() - t0
        nodes = result.n_nodes
        outcome = AreaOutcome(name=job.name, slug=job.slug, status="ok", seconds=seconds,
                              compounds=len(result.compounds), nodes=nodes)
        # No times in the cache: what a batch writes depends on its inputs only.
        write_text(tmp / DONE, json.dumps({"area": job.name, "compounds": outcome.compounds,
                                           "nodes": nodes}, ensure_ascii=False) + "\n")
        assert final is not None
        try:
            os.replace(tmp, final)
        except OSError:  # another run finished the same area first: keep its results
            shutil.rmtree(tmp, ignore_errors=True)
        outcome.results = str(final)
        return _with_tables(outcome)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        msg = str(exc) if isinstance(exc, Circle15Error) else (
            f"unexpected error: {type(exc).__name__}: {exc}")
        log.warning("area %s failed: %s", job.name, msg)
        return AreaOutcome(name=job.name, slug=job.slug, status="error", error=msg,
                           seconds=time.perf_counter() - t0)


def _with_tables(o: AreaOutcome) -> AreaOutcome:
    """The outcome with its combined-table rows attached (left for combine on any error)."""
    try:
        o.tables = area_tables(o)
    except Exception as exc:  # combine_results reads them again and reports a real problem
        log.debug("area %s: tables left for combining (%s)", o.name, exc)
    return o

