"""The coverage stage: inputs -> network -> access -> distances -> coverage tables.

:func:`analyze` is pure (no files written); :func:`coverage.outputs.write_coverage` writes its
result. Two result types: :class:`CoverageTables` is what every run produces (the tiled runs of
:mod:`coverage.tiles` too); :class:`CoverageResult`, an untiled run, adds the network and the
compounds' access points, which siting needs.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm.auto import tqdm

from .access import AccessPoints, Snapped, compound_access_points, island_report, snap_layer
from .config import AreaConfig
from .inputs import StudyInputs, load_network_for, warn_far_from_street
from .metrics import SCENARIOS, compound_distance, coverage_columns, unit_summary
from .network import WalkNetwork
from .reach import isochrone_polygon, nearest_source_distances, reachable_segments

__all__ = ["COMPOUND_ID_COLUMNS", "CoverageResult", "CoverageTables", "analyze",
           "load_network_for"]

log = logging.getLogger(__name__)

COMPOUND_ID_COLUMNS = ["id", "name", "unit", "population", "population_60plus"]


@dataclass(kw_only=True)
class CoverageTables:
    """The tables of the coverage stage for one study area (tiled or untiled run).

    Attributes
    ----------
    config : AreaConfig
    inputs : StudyInputs
    compounds : GeoDataFrame
        Compounds inside the units with ``walk_min_<key>``/``covered_<key>`` (and
        ``_with_proposed``) columns, in ``config.crs``.
    facilities, proposed : GeoDataFrame
        With ``snap_dist_m``, ``off_network``, ``on_island``, ``island_gap_m``.
    isochrones : dict of category key -> GeoDataFrame
        One row per scenario (``category``, ``scenario``, geometry); empty for tiled runs.
    summary : DataFrame
        See :func:`coverage.metrics.unit_summary`.
    islands : DataFrame
        Compounds and facilities attached only to a small island of the network.
    n_nodes : int
        Street network nodes used (summed over tiles in a tiled run).
    seconds : dict of str -> float
        Wall time of each step (s).
    """

    config: AreaConfig
    inputs: StudyInputs
    compounds: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    proposed: gpd.GeoDataFrame
    isochrones: dict[str, gpd.GeoDataFrame]
    summary: pd.DataFrame
    islands: pd.DataFrame
    n_nodes: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(kw_only=True)
class CoverageResult(CoverageTables):
    """An untiled coverage run: the tables plus what siting builds on.

    Attributes
    ----------
    network : WalkNetwork
        The walk network the distances were computed on.
    access : AccessPoints
        The access points of every loaded compound (``inputs.compounds`` order).
    """

    network: WalkNetwork
    access: AccessPoints


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
    for name, layer, snap in (("facilities", facilities, fac_snap),
                              ("proposed", proposed, prop_snap)):
        warn_far_from_street(name, layer, snap.off_m, cfg.max_snap_m)
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
    summary = unit_summary(compounds, cfg.categories, inputs.boundaries["name"])
    iso = {k: gpd.GeoDataFrame(rows, geometry="geometry", crs=cfg.crs)
           for k, rows in iso_rows.items() if rows}

    islands = _island_table(net, access, compounds_all, facilities, proposed)
    log.info("coverage: %d compounds, %d facilities, %d categories in %.1f s", len(compounds),
             len(facilities), len(cfg.categories), sum(seconds.values()))
    return CoverageResult(
        config=cfg, inputs=inputs, network=net, access=access, compounds=compounds,
        facilities=facilities, proposed=proposed, isochrones=iso, summary=summary,
        islands=islands, n_nodes=net.n_nodes, seconds=seconds,
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
