"""The coverage stage: inputs -> network -> access -> distances -> coverage tables.

:func:`analyze` is pure (no files written); :func:`write_coverage` writes its result.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm.auto import tqdm

from .access import AccessPoints, Snapped, compound_access_points, island_report, snap_points
from .config import AreaConfig, Category
from .inputs import StudyInputs
from .io import write_csv, write_gpkg
from .metrics import SCENARIOS, compound_distance, coverage_columns, unit_summary
from .network import WalkNetwork, load_walk_network
from .reach import isochrone_polygon, nearest_source_distances, reachable_segments

if TYPE_CHECKING:
    from .planning import SitingOutcome

__all__ = ["CoverageResult", "analyze", "load_network_for", "snap_layer", "write_coverage"]

log = logging.getLogger(__name__)

COMPOUND_ID_COLUMNS = ["id", "name", "unit", "population", "population_60plus"]


@dataclass
class CoverageResult:
    """Everything the coverage stage computed for one study area.

    Attributes
    ----------
    compounds : GeoDataFrame
        Compounds inside the units with ``walk_min_<key>``/``covered_<key>`` (and
        ``_with_proposed``) columns, in ``config.crs``.
    facilities, proposed : GeoDataFrame
        With ``snap_dist_m``, ``off_network``, ``on_island``, ``island_gap_m``.
    isochrones : dict of category key -> GeoDataFrame
        One row per scenario (``category``, ``scenario``, geometry).
    summary : DataFrame
        See :func:`coverage.metrics.unit_summary`.
    islands : DataFrame
        Compounds and facilities attached only to a small island of the network.
    """

    config: AreaConfig
    inputs: StudyInputs
    network: WalkNetwork
    access: AccessPoints
    compounds: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    proposed: gpd.GeoDataFrame
    isochrones: dict[str, gpd.GeoDataFrame]
    summary: pd.DataFrame
    islands: pd.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)


def load_network_for(inputs: StudyInputs) -> WalkNetwork:
    """The walk network of the units buffered by the longest walk of any category."""
    cfg = inputs.config
    return load_walk_network(cfg.network, cfg.crs, clip_to=inputs.load_area)


def snap_layer(net: WalkNetwork, points: gpd.GeoDataFrame, max_snap_m: float) -> tuple[
    gpd.GeoDataFrame, Snapped
]:
    """Attach a point layer to the network and flag what is off network or on an island.

    Returns the layer with ``snap_dist_m``, ``off_network``, ``on_island`` and ``island_gap_m``
    columns, and the attachments (all rows, off-network ones included).
    """
    xy = shapely.get_coordinates(points.geometry.to_numpy())
    snap = snap_points(net, xy)
    on_island, gap = island_report(net, snap)
    out = points.copy()
    out["snap_dist_m"] = np.round(snap.off_m, 2)
    out["off_network"] = snap.off_m > max_snap_m
    out["on_island"] = on_island
    out["island_gap_m"] = np.round(gap, 1)
    return out, snap


def _sources(layer: gpd.GeoDataFrame, snap: Snapped, key: str) -> Snapped:
    use = (layer["category"].to_numpy() == key) & ~layer["off_network"].to_numpy(bool)
    return snap.take(np.flatnonzero(use))


def analyze(inputs: StudyInputs, *, network: WalkNetwork | None = None,
            isochrones: bool = True, progress: bool = False) -> CoverageResult:
    """Walking time from every compound to the nearest facility of every category.

    Parameters
    ----------
    inputs : StudyInputs
        Validated, projected inputs (:func:`coverage.inputs.load_inputs`).
    network : WalkNetwork, optional
        Reuse an already loaded network.
    isochrones : bool
        Also build the isochrone polygons (for display; the slowest part).
    progress : bool
        Show a progress bar over categories.
    """
    cfg = inputs.config
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    net = network if network is not None else load_network_for(inputs)
    seconds["network"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    facilities, fac_snap = snap_layer(net, inputs.facilities, cfg.max_snap_m)
    proposed, prop_snap = snap_layer(net, inputs.proposed, cfg.max_snap_m)
    for name, layer in (("facilities", facilities), ("proposed", proposed)):
        off = layer[layer["off_network"].to_numpy(bool)]
        for row in off.itertuples():
            log.warning("%s %s (%s) is %.0f m from the nearest walkable street (> %g m): "
                        "left out", name, row.id, row.name, row.snap_dist_m, cfg.max_snap_m)
    gates_xy = (shapely.get_coordinates(inputs.gates.geometry.to_numpy())
                if inputs.gates is not None and len(inputs.gates) else None)
    compounds_all = inputs.compounds.reset_index(drop=True)
    access = compound_access_points(net, compounds_all.geometry.to_numpy(), gates_xy=gates_xy)
    seconds["snap_access"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    n_comp = len(compounds_all)
    scen_sources = {
        "existing": [(facilities, fac_snap)],
        "with_proposed": [(facilities, fac_snap), (proposed, prop_snap)],
    }
    dist: dict[str, dict[str, np.ndarray]] = {s: {} for s in SCENARIOS}
    iso_rows: dict[str, list[dict[str, object]]] = {c.key: [] for c in cfg.categories}
    iso_jobs: list[tuple[str, str, np.ndarray | None]] = []
    steps = [(c, s) for c in cfg.categories for s in SCENARIOS]
    for cat, scenario in tqdm(steps, desc="walking distances", disable=not progress,
                              unit="pass"):
        sources = Snapped.concat([_sources(lay, sn, cat.key) for lay, sn in scen_sources[scenario]])
        cutoff_m = cat.cutoff_m(cfg.max_walk_min)  # walks are reported up to max_walk_min
        point_dist, node_dist = nearest_source_distances(net, sources, access.snap, cutoff_m)
        dist[scenario][cat.key] = compound_distance(access.compound, point_dist, n_comp)
        if not isochrones:
            continue
        if scenario != "existing" and not (proposed["category"] == cat.key).any():
            iso_jobs.append((cat.key, scenario, None))  # no proposed station: same area
        else:
            iso_jobs.append((cat.key, scenario,
                             reachable_segments(net, node_dist, sources, cat.walk_m)))
    seconds["distances"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    # GEOS releases the GIL, so the polygons of different categories build in parallel.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        polygons = list(pool.map(
            lambda job: None if job[2] is None else isochrone_polygon(
                job[2], cfg.isochrone_buffer_m),
            iso_jobs))
    for (key, scenario, _), geom in zip(iso_jobs, polygons, strict=True):
        if geom is None:
            geom = iso_rows[key][-1]["geometry"]
        iso_rows[key].append({"category": key, "scenario": scenario, "geometry": geom})
    seconds["isochrones"] = time.perf_counter() - t0

    cov = pd.concat(
        [coverage_columns(dist[s], cfg.categories, suffix) for s, suffix in SCENARIOS.items()],
        axis=1,
    )
    compounds = gpd.GeoDataFrame(
        pd.concat([compounds_all[COMPOUND_ID_COLUMNS].reset_index(drop=True), cov], axis=1),
        geometry=compounds_all.geometry.to_numpy(), crs=cfg.crs,
    )
    compounds = compounds[compounds_all["in_area"].to_numpy(bool)].reset_index(drop=True)
    summary = unit_summary(compounds, cfg.categories)
    iso = {k: gpd.GeoDataFrame(rows, geometry="geometry", crs=cfg.crs)
           for k, rows in iso_rows.items() if rows}

    islands = _island_table(net, access, compounds_all, facilities, proposed)
    log.info("coverage: %d compounds, %d facilities, %d categories in %.1f s", len(compounds),
             len(facilities), len(cfg.categories), sum(seconds.values()))
    return CoverageResult(
        config=cfg, inputs=inputs, network=net, access=access, compounds=compounds,
        facilities=facilities, proposed=proposed, isochrones=iso, summary=summary,
        islands=islands, seconds=seconds,
    )


def _island_table(net: WalkNetwork, access: AccessPoints, compounds: gpd.GeoDataFrame,
                  facilities: gpd.GeoDataFrame, proposed: gpd.GeoDataFrame) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    on_island, gap = island_report(net, access.snap)
    # A compound is stranded when *all* its access points are on islands.
    any_main = np.zeros(len(compounds), bool)
    np.logical_or.at(any_main, access.compound, ~on_island)
    min_gap = np.full(len(compounds), np.inf)
    np.minimum.at(min_gap, access.compound, np.where(on_island, gap, np.inf))
    for i in np.flatnonzero(~any_main):
        rows.append({"layer": "compounds", "id": compounds["id"].iat[i],
                     "name": compounds["name"].iat[i], "gap_m": round(float(min_gap[i]), 1)})
    for layer_name, layer in (("facilities", facilities), ("proposed", proposed)):
        for row in layer[layer["on_island"].to_numpy(bool)].itertuples():
            rows.append({"layer": layer_name, "id": row.id, "name": row.name,
                         "gap_m": row.island_gap_m})
    table = pd.DataFrame(rows, columns=["layer", "id", "name", "gap_m"])
    for row in table.itertuples():
        log.info("%s %s (%s) reaches only a small network island, %.0f m from the main "
                 "network", row.layer, row.id, row.name, row.gap_m)
    if len(table):
        log.warning("%d compounds/facilities reach only a small island of the street network "
                    "(listed in islands.csv)", len(table))
    return table


def compounds_table(compounds: gpd.GeoDataFrame) -> pd.DataFrame:
    """The compounds layer without geometry, walking minutes rounded to 2 decimals."""
    table = pd.DataFrame(compounds.drop(columns="geometry"))
    walk_cols = [c for c in table.columns if c.startswith("walk_min_")]
    table[walk_cols] = table[walk_cols].round(2)
    return table


def category_console_lines(result: CoverageResult) -> list[str]:
    """One line per category: population-weighted coverage and uncovered compounds."""
    s = result.summary[result.summary["unit"] == "ALL"].set_index(["category", "scenario"])
    lines = []
    for cat in result.config.categories:
        ex = s.loc[(cat.key, "existing")]
        wp = s.loc[(cat.key, "with_proposed")]
        line = (f"  {cat.label} ({cat.key}, {cat.minutes:g} min): {ex.coverage_pct:5.1f}% of "
                f"{_demand_label(cat)} covered, {ex.compounds_uncovered} of {ex.compounds} "
                "compounds uncovered")
        if wp.population_covered != ex.population_covered:
            line += f"; with proposed: {wp.coverage_pct:.1f}%"
        lines.append(line)
    return lines


def _demand_label(cat: Category) -> str:
    return {"population": "residents", "population_60plus": "residents aged 60+"}.get(
        cat.demand, cat.demand)


def write_coverage(result: CoverageResult, out_dir: str | Path,
                   siting: SitingOutcome | None = None) -> list[Path]:
    """Write the results (atomically, file by file) into ``out_dir``.

    compounds.csv, summary.csv, islands.csv and coverage.gpkg; with ``siting`` also sites.csv,
    scenarios.csv and the ``candidates`` / ``selected_sites`` layers. A stale sites.csv or
    scenarios.csv from an earlier run is removed when ``siting`` is None, so the folder never
    mixes runs.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    layers = {
        "boundaries": result.inputs.boundaries[["name", "geometry"]],
        "compounds": result.compounds,
        "facilities": result.facilities,
        "proposed": result.proposed,
    }
    for key, iso in result.isochrones.items():
        layers[f"isochrones_{key}"] = iso
    paths = [
        write_csv(compounds_table(result.compounds), out / "compounds.csv"),
        write_csv(result.summary, out / "summary.csv"),
        write_csv(result.islands, out / "islands.csv"),
    ]
    if siting is not None:
        layers["candidates"] = siting.candidates
        layers["selected_sites"] = siting.selected_sites
        paths.append(write_csv(siting.sites, out / "sites.csv"))
        paths.append(write_csv(siting.scenarios, out / "scenarios.csv"))
    else:
        for stale in ("sites.csv", "scenarios.csv"):
            (out / stale).unlink(missing_ok=True)
    paths.append(write_gpkg(out / "coverage.gpkg", layers))
    return paths
