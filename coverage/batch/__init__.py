"""Many study areas in one run, on a Dask cluster or one after the other.

A batch file (TOML) names the areas in one of two ways::

    [batch]
    name = "北京 街乡"          # optional, shown in the overview map

    [[area]]                    # one block per study area
    config = "huitian/area.toml"

or one config whose unit layer is split, one area per polygon::

    [split]
    config = "beijing/area.toml"   # network, compounds, facilities and categories for all
    boundaries = "townships.gpkg"  # optional: the polygons (default: the config's boundaries)
    name_field = "name"            # optional: column naming each polygon (default "name")
    prefix_field = "县"            # optional: column put in front of the name (e.g. district)
    names = ["海淀区清河街道"]      # optional: only these polygons

In split mode each polygon gets a folder ``OUT/split/<area>/`` with its own ``area.toml`` and
the subsets of the input files it needs (compounds within the longest walk of it, facilities
within the longest walk; a ``unit`` column of the compounds is dropped, units are assigned by
location). Rows whose location cannot be read go to every area, whose check then reports them.

Each area is one task running the same pipeline as ``circle15 run`` (inputs, coverage, outputs;
map and report with ``--maps``); results land in ``OUT/.cache/<hash>/`` (written atomically),
where the hash covers the config file's bytes, every input file's bytes, the circle15 version
and the options that change outputs. A rerun skips finished areas, so an interrupted batch
resumes. Lost workers are retried. An area with bad input is reported with its error; the
others finish. Outputs in ``OUT``:

* ``batch_summary.csv``: area, unit, category, scenario, compounds, population,
  population_covered, coverage_pct, status, error (one row per area that failed);
* ``batch_areas.csv``: area, status, error, compounds, nodes, results, config (split mode's
  configs relative to ``OUT``). Each area's time and whether it came from the cache are logged
  (``-v``), not written: the same inputs give the same bytes, serially or on a cluster, in any
  folder, fresh or resumed;
* ``batch_coverage.gpkg`` layer ``units``: every unit with ``coverage_pct_<key>`` per category
  (existing facilities) and the area it belongs to;
* ``batch_map.html``: an overview map of all units coloured by coverage (works offline);
* ``areas/<area>/``: each area's results (compounds.csv, summary.csv, coverage.gpkg ...).

Dask (``pip install 'circle15[dask]'``) is optional: without it, or without ``--scheduler``,
the areas run one after the other with the same outputs.

The package, in the order a batch runs: :mod:`.jobs` (areas as jobs, cache keys, what a task
reports), :mod:`.split` (split mode's area folders), :mod:`.task` (one area, on a worker),
:mod:`.run` (the tasks serially or on Dask), :mod:`.combine` (the combined outputs); this module
reads the batch file and runs the whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Problem
from ..io import read_toml, remove_stale_temp
from ..outputs import check_out_dir
from .combine import SUMMARY_COLUMNS, BatchResult, combine_results
from .jobs import AreaJob, AreaOutcome, area_jobs, cache_key
from .run import cluster_client, run_jobs, warm_workers
from .split import split_areas
from .task import run_area

__all__ = [
    "SUMMARY_COLUMNS",
    "AreaJob",
    "AreaOutcome",
    "BatchResult",
    "area_jobs",
    "cache_key",
    "cluster_client",
    "combine_results",
    "run_area",
    "run_batch_file",
    "run_jobs",
    "split_areas",
]


def read_batch(path: str | Path, out: Path, *,
               client: Any = None) -> tuple[str, list[tuple[str | None, Path]]]:
    """Read a batch file: its title and ``(name or None, config)`` per area (split mode writes
    the area folders into ``out/split``)."""
    path = Path(path)
    raw = read_toml(path)
    base = path.resolve().parent
    unknown = sorted(set(raw) - {"batch", "area", "split"})
    if unknown or ("area" in raw) == ("split" in raw):
        raise ConfigError(Problem(str(path), None, ", ".join(unknown) or None,
                                  "a batch needs either [[area]] blocks or one [split] block",
                                  'write [[area]] config = "x/area.toml" blocks, or [split] '
                                  'config = "city/area.toml"'))
    title = str(raw.get("batch", {}).get("name", path.stem))
    if "split" in raw:
        return title, list(split_areas(raw["split"], base, out, client=client))
    configs: list[tuple[str | None, Path]] = []
    for i, a in enumerate(raw["area"] if isinstance(raw["area"], list) else [raw["area"]]):
        if not isinstance(a, dict) or "config" not in a:
            raise ConfigError(Problem(str(path), None, f"area[{i}].config",
                                      "missing required key", 'add config = "x/area.toml"'))
        configs.append((a.get("name"), (base / a["config"]).resolve()))
    return title, configs


def run_batch_file(path: str | Path, out: str | Path, *, client: Any = None,
                   maps: bool = False, tiles: int | None = None, progress: bool = True,
                   runner: Callable[[AreaJob, Path], AreaOutcome] = run_area,
                   lang: str = "zh") -> BatchResult:
    """Run every area of a batch file and write the combined results into ``out``.

    Parameters
    ----------
    path : path
        The batch TOML (see the module docstring).
    out : path
        Output folder (``areas/``, ``.cache/``, ``batch_*.csv``, ``batch_coverage.gpkg``,
        ``batch_map.html``).
    client : dask.distributed.Client, optional
        Run the areas as Dask tasks; default one after the other here.
    maps : bool
        Also write each area's map and report.
    tiles : int, optional
        Override every area's ``[area] tiles``.
    runner : callable
        The task (default :func:`run_area`); for tests and custom pipelines.
    lang : {"zh", "en"}
        Language of the overview map (``batch_map.html``).

    Raises
    ------
    ConfigError, InputError
        Only for a broken batch file or split source; an area's bad input is in its outcome.
    """
    from ..outputs import lock_output, open_run

    t0 = time.perf_counter()
    out = check_out_dir(out)
    # One batch at a time per folder; the combined outputs are replaced as one run, so a rerun
    # where an area now fails drops that area's old results (and a killed batch changes none).
    with lock_output(out, command="circle15 batch"):
        if client is not None:
            warm_workers(client)  # imports on the workers while this reads the batch
        remove_stale_temp(out / ".cache")
        title, configs = read_batch(path, out, client=client)
        jobs = area_jobs(configs, maps=maps, tiles=tiles)
        outcomes = run_jobs(jobs, out / ".cache", client=client, progress=progress,
                            runner=runner)
        with open_run(out, command="circle15 batch") as run:
            summary, units, staged = combine_results(outcomes, jobs, run.dir, title=title,
                                                     lang=lang, root=out)
    paths = [out / p.relative_to(run.dir) for p in staged]
    return BatchResult(outcomes=outcomes, summary=summary, units=units, paths=paths,
                       seconds=time.perf_counter() - t0)
