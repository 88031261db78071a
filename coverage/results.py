"""The results contract: what a run leaves in its output folder, as one typed object.

A run writes (see :func:`coverage.outputs.write_coverage`) ``compounds.csv``, ``summary.csv``,
``islands.csv``, ``coverage.gpkg`` (layers in the area CRS) and, when sites were chosen,
``sites.csv`` and ``scenarios.csv``. The map, the report and any later stage read them back
through :func:`read_results`, or take them straight from memory with :func:`results_of`: both
give the same :class:`Results`, so the map and the report are pure functions of it and never
look into a folder themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from .config import AreaConfig
from .errors import InputError, Problem
from .network import street_lines

if TYPE_CHECKING:  # pragma: no cover
    from .jointplan.stage import PlanOutcome
    from .pipeline import CoverageTables
    from .planning import SitingOutcome

__all__ = ["GPKG", "PlanResults", "Results", "read_results", "results_date", "results_of",
           "source_date", "streets_of"]

log = logging.getLogger(__name__)

GPKG = "coverage.gpkg"
"""The GeoPackage of every result layer (area CRS)."""


@dataclass(frozen=True)
class PlanResults:
    """The joint plan (:mod:`coverage.jointplan`): which space becomes which facility.

    Attributes
    ----------
    plan : DataFrame
        ``plan.csv``: ``method`` (``joint_plan``, or ``independent_plan`` = each category on
        its own), ``category``, ``rank``, ``space_id``, ``name``, ``unit``, ``floor_area_m2``,
        ``capacity``, ``demand_served``, ``gain``, ``double_booked``, ``lon``, ``lat``.
    utilisation : DataFrame
        ``utilisation.csv``: per ``scenario`` (``existing``, ``joint_plan``) each facility's
        ``capacity``, ``load``, ``utilisation_pct``, ``nearest_demand``, ``nearest_pct``,
        ``over_capacity``.
    served : DataFrame
        ``served.csv``: demand, covered, served and unserved per unit, category and scenario.
    sites : GeoDataFrame
        Layer ``plan_sites``: the rows of ``plan`` as points (area CRS).
    """

    plan: pd.DataFrame
    utilisation: pd.DataFrame
    served: pd.DataFrame
    sites: gpd.GeoDataFrame

    @property
    def joint_sites(self) -> gpd.GeoDataFrame:
        """The joint plan's new facilities (which space becomes what), for a map layer."""
        return self.sites[self.sites["method"] == "joint_plan"]

    @property
    def double_booked(self) -> pd.DataFrame:
        """Rows of the independent answers that put two categories into one space."""
        p = self.plan
        return p[(p["method"] == "independent_plan") & p["double_booked"].astype(bool)]


@dataclass(frozen=True)
class Results:
    """One study area's results, as the map, the report and the GIS hand-off need them.

    All layers are in ``config.crs``. Optional parts are None when the run did not compute them
    (no siting: ``candidates``, ``selected_sites``, ``sites`` and ``scenarios`` are None).

    Attributes
    ----------
    config : AreaConfig
    boundaries : GeoDataFrame
        ``name``, unit polygons.
    compounds : GeoDataFrame
        Compounds inside the units with ``walk_min_<key>`` (minutes, NaN beyond
        ``max_walk_min``), ``covered_<key>``, ``n_categories_covered``, ``all_covered`` and the
        same with suffix ``_with_proposed``.
    facilities, proposed : GeoDataFrame
        Points with ``snap_dist_m``, ``off_network``, ``on_island``, ``island_gap_m``.
    isochrones : dict of category key -> GeoDataFrame
        One row per scenario; empty when the run drew none (tiled runs).
    streets : GeoDataFrame or None
        The walk network merged into street lines and simplified for display (``name``,
        ``highway``; :func:`coverage.network.street_lines`); None when the run kept no network
        (tiled runs) or the folder predates the layer.
    summary : DataFrame
        ``summary.csv``.
    islands : DataFrame
        ``islands.csv``.
    candidates, selected_sites : GeoDataFrame or None
    sites, scenarios : DataFrame or None
        ``sites.csv`` and ``scenarios.csv``.
    plan : PlanResults or None
        The joint plan, when the run made one.
    out_dir : Path or None
        The folder read, or None for results taken from memory.
    run_date : str or None
        The run's date (ISO ``YYYY-MM-DD``) when the run recorded one; maps and reports show
        :func:`results_date`, never the clock.
    """

    config: AreaConfig
    boundaries: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    proposed: gpd.GeoDataFrame
    summary: pd.DataFrame
    islands: pd.DataFrame
    isochrones: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    streets: gpd.GeoDataFrame | None = None
    candidates: gpd.GeoDataFrame | None = None
    selected_sites: gpd.GeoDataFrame | None = None
    sites: pd.DataFrame | None = None
    scenarios: pd.DataFrame | None = None
    plan: PlanResults | None = None
    out_dir: Path | None = None
    run_date: str | None = None

    @property
    def has_proposed(self) -> bool:
        """True when the run had proposed (planned) stations."""
        return len(self.proposed) > 0

    @property
    def has_sites(self) -> bool:
        """True when the run chose new sites."""
        return self.sites is not None and len(self.sites) > 0


def streets_of(result: CoverageTables) -> gpd.GeoDataFrame | None:
    """A run's ``streets`` layer: its walk network merged into street lines for display.

    None for a tiled run, which keeps no network (:func:`coverage.network.street_lines`).
    """
    from .pipeline import CoverageResult

    return street_lines(result.network) if isinstance(result, CoverageResult) else None


def results_of(result: CoverageTables, siting: SitingOutcome | None = None,
               plan: PlanOutcome | None = None) -> Results:
    """The :class:`Results` of an in-memory run (what :func:`read_results` would read back)."""
    scenarios = None if siting is None else siting.scenarios
    plan_results = None
    if plan is not None:
        from .jointplan.stage import scenario_table

        scenarios = scenario_table(scenarios, plan, result.config)
        plan_results = PlanResults(plan=plan.plan, utilisation=plan.utilisation,
                                   served=plan.served, sites=plan.sites)
    return Results(
        config=result.config,
        boundaries=result.inputs.boundaries[["name", "geometry"]],
        compounds=result.compounds,
        facilities=result.facilities,
        proposed=result.proposed,
        summary=result.summary,
        islands=result.islands,
        isochrones=dict(result.isochrones),
        streets=streets_of(result),
        candidates=None if siting is None else siting.candidates,
        selected_sites=None if siting is None else siting.selected_sites,
        sites=None if siting is None else siting.sites,
        scenarios=scenarios,
        plan=plan_results,
    )


def _missing(out_dir: Path, what: str) -> InputError:
    return InputError(Problem(str(out_dir), None, None, f"no {what} in this folder",
                              "run `circle15 run` (or `analyze`) first, or pass the --out folder "
                              "you used"))


def _csv(path: Path, *, required: bool) -> pd.DataFrame | None:
    if not path.exists():
        if required:
            raise _missing(path.parent, path.name)
        return None
    return pd.read_csv(path, encoding="utf-8-sig", dtype={
        "unit": str, "id": str, "candidate_id": str, "space_id": str, "facility_id": str})


def _plan(out: Path, sites: gpd.GeoDataFrame | None) -> PlanResults | None:
    plan = _csv(out / "plan.csv", required=False)
    if plan is None or sites is None:
        return None
    utilisation = _csv(out / "utilisation.csv", required=True)
    served = _csv(out / "served.csv", required=True)
    assert utilisation is not None and served is not None
    return PlanResults(plan=plan, utilisation=utilisation, served=served, sites=sites)


def read_results(out_dir: str | Path, config: AreaConfig) -> Results:
    """Read a results folder written by a run of ``config``.

    Parameters
    ----------
    out_dir : str or Path
        The run's output folder.
    config : AreaConfig
        The config the run used (categories, CRS).

    Returns
    -------
    Results

    Raises
    ------
    InputError
        When the folder holds no results (no ``coverage.gpkg`` or ``summary.csv``), or results
        that must not be used with ``config`` (see
        :func:`coverage.outputs.manifest_problems`): an unfinished or interrupted run, a
        result file changed since the run (e.g. a truncated compounds.csv), or a config, input
        file or scenario that no longer gives these results
        (:func:`coverage.outputs.config_fingerprint`).
    """
    import pyogrio

    from .outputs import manifest_problems

    out = Path(out_dir)
    gpkg = out / GPKG
    if not gpkg.exists():
        raise _missing(out, GPKG)
    problems = manifest_problems(out, config)
    if problems:
        raise InputError(problems)
    names = {str(n) for n in pyogrio.list_layers(gpkg)[:, 0]}

    def layer(name: str) -> gpd.GeoDataFrame | None:
        if name not in names:
            return None
        gdf = gpd.read_file(gpkg, layer=name)
        if gdf.crs is None:
            log.warning("layer %s of %s has no CRS; assuming %s", name, gpkg, config.crs)
            gdf = gdf.set_crs(config.crs)
        return gdf

    def required(name: str) -> gpd.GeoDataFrame:
        gdf = layer(name)
        if gdf is None:
            raise _missing(out, f"layer {name!r} in {GPKG}")
        return gdf

    isochrones = {c.key: iso for c in config.categories
                  if (iso := layer(f"isochrones_{c.key}")) is not None}
    summary = _csv(out / "summary.csv", required=True)
    islands = _csv(out / "islands.csv", required=False)
    assert summary is not None
    return Results(
        config=config,
        boundaries=required("boundaries"),
        compounds=required("compounds"),
        facilities=required("facilities"),
        proposed=required("proposed"),
        summary=summary,
        islands=islands if islands is not None else pd.DataFrame(
            columns=["layer", "id", "name", "gap_m"]),
        isochrones=isochrones,
        streets=layer("streets"),
        candidates=layer("candidates"),
        selected_sites=layer("selected_sites"),
        sites=_csv(out / "sites.csv", required=False),
        scenarios=_csv(out / "scenarios.csv", required=False),
        plan=_plan(out, layer("plan_sites")),
        out_dir=out,
    )


def source_date() -> str | None:
    """``SOURCE_DATE_EPOCH`` as an ISO date (UTC), or None when it is unset or not a number.

    The reproducible-builds variable (seconds since 1970-01-01 UTC), e.g.
    ``SOURCE_DATE_EPOCH=$(date +%s) circle15 run ...``: the one way to put a date on the map and
    the report, so the same results give the same bytes unless a date is asked for.
    """
    import datetime as dt
    import os

    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw.isdigit():
        return None
    return dt.datetime.fromtimestamp(int(raw), tz=dt.timezone.utc).date().isoformat()


def results_date(results: Results) -> str | None:
    """The date maps and reports print: :func:`source_date` if set, else the run's own date
    (``results.run_date``); never the clock. None when neither is known."""
    return source_date() or results.run_date
