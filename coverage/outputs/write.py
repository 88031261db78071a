"""What a run writes: the coverage stage's files, and the one rule for numbers in CSV tables.

:func:`write_coverage_files` writes the files of the coverage stage (and of siting and the joint
plan) into a folder; :func:`write_coverage` writes them as one run (:func:`open_run`). CSV
numbers follow one rule (:func:`csv_table`): percentages with 2 decimals, populations as whole
numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from ..io import write_csv, write_gpkg
from .run import open_run

if TYPE_CHECKING:  # pragma: no cover
    from ..config import AreaConfig
    from ..inputs import StudyInputs
    from ..jointplan.stage import PlanOutcome
    from ..pipeline import CoverageTables
    from ..planning import SitingOutcome

__all__ = ["compounds_table", "csv_table", "write_coverage", "write_coverage_files",
           "write_inputs"]

_PCT_SUFFIX = "_pct"
_POPULATION_COLUMNS = frozenset({
    "population", "population_60plus", "population_covered", "demand_covered", "gain_demand",
    "cumulative_demand_covered",
})


# --- CSV tables ------------------------------------------------------------------------------


def csv_table(table: pd.DataFrame, *, population_columns: frozenset[str] = frozenset()
              ) -> pd.DataFrame:
    """A table as circle15 writes it to CSV: percentages with 2 decimals, populations whole.

    Parameters
    ----------
    table : DataFrame
    population_columns : frozenset of str
        Further columns holding people (a category's ``demand`` column) besides the standard
        ones (``population``, ``population_covered``, ``demand_covered`` ...).

    Returns
    -------
    DataFrame
        Columns ending in ``_pct`` as text ``"95.35"`` (empty when unknown); population
        columns as nullable integers (rounded half to even). Other columns unchanged.
    """
    out = table.copy()
    people = _POPULATION_COLUMNS | population_columns
    for col in out.columns:
        values = out[col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        if str(col).endswith(_PCT_SUFFIX):
            out[col] = [("" if pd.isna(v) else f"{v:.2f}") for v in values.to_numpy(float)]
        elif col in people:
            out[col] = values.astype(float).round().astype("Int64")
    return out


def compounds_table(compounds: gpd.GeoDataFrame) -> pd.DataFrame:
    """The compounds layer without geometry, walking minutes rounded to 2 decimals."""
    table = pd.DataFrame(compounds.drop(columns="geometry"))
    walk_cols = [c for c in table.columns if c.startswith("walk_min_")]
    table[walk_cols] = table[walk_cols].round(2)
    return table


def _demand_columns(config: AreaConfig) -> frozenset[str]:
    return frozenset(c.demand for c in config.categories)


def write_coverage_files(result: CoverageTables, folder: str | Path,
                         siting: SitingOutcome | None = None, *,
                         plan: PlanOutcome | None = None,
                         progress: bool = False) -> list[Path]:
    """Write the coverage stage's files into ``folder`` (each atomically; no run bookkeeping).

    compounds.csv, summary.csv, islands.csv and coverage.gpkg; with ``siting`` also sites.csv,
    scenarios.csv and the ``candidates`` / ``selected_sites`` layers; with the joint ``plan``
    also plan.csv, utilisation.csv, served.csv, its rows in scenarios.csv and the
    ``plan_spaces`` / ``plan_sites`` layers. Use :func:`write_coverage` (or :func:`open_run`)
    to write them as one run.
    """
    out = Path(folder)
    people = _demand_columns(result.config)
    layers = {
        "boundaries": result.inputs.boundaries[["name", "geometry"]],
        "compounds": result.compounds,
        "facilities": result.facilities,
        "proposed": result.proposed,
    }
    for key, iso in result.isochrones.items():
        layers[f"isochrones_{key}"] = iso
    from ..network import street_lines
    from ..pipeline import CoverageResult

    if isinstance(result, CoverageResult):  # a tiled run keeps no network
        layers["streets"] = street_lines(result.network)
    paths = [
        write_csv(csv_table(compounds_table(result.compounds), population_columns=people),
                  out / "compounds.csv"),
        write_csv(csv_table(result.summary), out / "summary.csv"),
        write_csv(result.islands, out / "islands.csv"),
    ]
    if len(result.inputs.dropped):  # rows of district-wide lists left out on purpose
        paths.append(write_csv(result.inputs.dropped, out / "dropped.csv"))
    if siting is not None:
        layers["candidates"] = siting.candidates
        layers["selected_sites"] = siting.selected_sites
        paths.append(write_csv(csv_table(siting.sites), out / "sites.csv"))
    if plan is not None:
        paths += _write_plan(plan, out, layers)
    scenarios = _scenarios(result.config, siting, plan)
    if scenarios is not None:
        paths.append(write_csv(csv_table(scenarios, population_columns=_PLAN_PEOPLE),
                               out / "scenarios.csv"))
    paths.append(write_gpkg(out / "coverage.gpkg", layers, progress=progress))
    return paths


# Columns of the joint plan's tables that count people (written as whole numbers).
_PLAN_PEOPLE = frozenset({"demand", "demand_served", "demand_unserved", "gain", "load",
                          "nearest_demand"})


def _write_plan(plan: PlanOutcome, out: Path, layers: dict[str, gpd.GeoDataFrame]
                ) -> list[Path]:
    """plan.csv, utilisation.csv, served.csv; the layers go into ``layers``."""
    layers["plan_spaces"] = plan.spaces
    layers["plan_sites"] = plan.sites
    return [write_csv(csv_table(table, population_columns=_PLAN_PEOPLE), out / name)
            for name, table in (("plan.csv", plan.plan), ("utilisation.csv", plan.utilisation),
                                ("served.csv", plan.served))]


def _scenarios(config: AreaConfig, siting: SitingOutcome | None,
               plan: PlanOutcome | None) -> pd.DataFrame | None:
    """scenarios.csv: siting's rows, with the joint plan's when it ran."""
    if plan is None:
        return None if siting is None else siting.scenarios
    from ..jointplan.stage import scenario_table

    return scenario_table(None if siting is None else siting.scenarios, plan, config)


def write_inputs(inputs: StudyInputs, folder: str | Path, *, progress: bool = False) -> Path:
    """The cleaned, projected inputs as ``inputs.gpkg`` in ``folder``."""
    layers = {
        "boundaries": inputs.boundaries,
        "compounds": inputs.compounds,
        "facilities": inputs.facilities,
        "proposed": inputs.proposed,
    }
    if inputs.candidates is not None:
        layers["candidates"] = inputs.candidates
    return write_gpkg(Path(folder) / "inputs.gpkg", layers, progress=progress)


def write_coverage(result: CoverageTables, out_dir: str | Path,
                   siting: SitingOutcome | None = None, *,
                   plan: PlanOutcome | None = None) -> list[Path]:
    """Write the results of a run into ``out_dir``, as one run.

    compounds.csv, summary.csv, islands.csv and coverage.gpkg; with ``siting`` also sites.csv,
    scenarios.csv and the ``candidates`` / ``selected_sites`` layers; with the joint ``plan``
    its files (see :func:`write_coverage_files`). Nothing in ``out_dir``
    changes until every file is written; then the files of an earlier run that this one does
    not write (an old sites.csv, report, map) are removed, so the folder never mixes runs.

    Returns
    -------
    list of Path
        The files written, in ``out_dir``.
    """
    with open_run(out_dir, config=result.config) as run:
        staged = write_coverage_files(result, run.dir, siting, plan=plan)
    return [run.out / p.name for p in staged]

