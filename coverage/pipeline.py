"""The coverage stage: inputs -> network -> access -> distances -> coverage tables.

:func:`analyze` is pure (no files written); :func:`coverage.outputs.write_coverage` writes its
result. Two result types: :class:`CoverageTables` is what every run produces (the tiled runs of
:mod:`coverage.tiles` too); :class:`CoverageResult`, an untiled run, adds the network and the
compounds' access points, which siting needs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm.auto import tqdm

from .access import AccessPoints, Snapped, compound_access_points, island_report, snap_layer
from .config import AreaConfig, Category
from .inputs import StudyInputs, load_network_for, warn_far_from_street
from .metrics import SCENARIOS, compound_distance, coverage_columns, unit_summary
from .network import WalkNetwork
from .reach import isochrone_polygon, nearest_source_distances, reach_lines

__all__ = ["COMPOUND_ID_COLUMNS", "CategoryReach", "CoverageResult", "CoverageTables",
           "Isochrones", "analyze", "load_network_for"]

log = logging.getLogger(__name__)

COMPOUND_ID_COLUMNS = ["id", "name", "unit", "population", "population_60plus"]


@dataclass(frozen=True)
class CategoryReach:
    """One category's distance passes, kept for isochrones and for incremental edits.

    ``with_proposed`` distances are ``min(existing, proposed-only)`` (exact: the nearest of all
    sources is the nearer of the nearest existing and the nearest proposed one), so a what-if
    edit that adds stations needs only one pass from the new stations and a minimum.

    Attributes
    ----------
    cutoff_m : float
        Distances beyond this are ``inf`` (``max_walk_min`` at the category's speed, m).
    sources, proposed : Snapped
        The category's existing facilities and proposed stations on the network.
    node_dist_m : ndarray, shape (n_nodes,)
        Distance from the nearest existing facility to every node (m, ``inf`` beyond cutoff).
    point_dist_m : ndarray, shape (n_access_points,)
        The same for the compounds' access points (off-network legs included).
    proposed_node_dist_m, proposed_point_dist_m : ndarray or None
        The proposed-only pass; None when the category has no proposed station.
    """

    cutoff_m: float
    sources: Snapped
    node_dist_m: np.ndarray
    point_dist_m: np.ndarray
    proposed: Snapped
    proposed_node_dist_m: np.ndarray | None = None
    proposed_point_dist_m: np.ndarray | None = None

    @property
    def with_proposed_point_dist_m(self) -> np.ndarray:
        """Access-point distances with the proposed stations built (m)."""
        if self.proposed_point_dist_m is None:
            return self.point_dist_m
        return np.minimum(self.point_dist_m, self.proposed_point_dist_m)


class Isochrones(Mapping[str, gpd.GeoDataFrame]):
    """Isochrone polygons per category, built when first asked for.

    Building them is the slowest part of the coverage stage, and only the map and the
    GeoPackage need them. The first access (or :meth:`start`) starts building every category
    in order on two threads (GEOS releases the GIL), one category at a time per thread, so at
    most two categories' street pieces are in memory at once; each finished category keeps
    only its two polygons (``existing`` and ``with_proposed``). The ``with_proposed`` polygon is the
    union of the existing one and the proposed stations' own, which is exact (the reach of the
    nearest of all sources is the union of the reaches).
    """

    def __init__(self, net: WalkNetwork, config: AreaConfig,
                 reach: dict[str, CategoryReach], *, workers: int | None = None) -> None:
        self._net = net
        self._config = config
        self._reach = reach
        self._keys = [c.key for c in config.categories if c.key in reach]
        self._workers = workers or max(1, min(2, os.cpu_count() or 1))
        self._futures: dict[str, Future[gpd.GeoDataFrame]] = {}
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}

    def start(self) -> None:
        """Start building every category's polygons in the background (once); returns at once.

        A run that will draw them calls this as soon as the distances are known, so the
        polygons are built while siting and the joint plan run.
        """
        with self._lock:
            if not self._futures:
                pool = ThreadPoolExecutor(max_workers=self._workers,
                                          thread_name_prefix="isochrones")
                self._futures = {k: pool.submit(self._build, k) for k in self._keys}
                pool.shutdown(wait=False)  # threads end once the queue is done

    def __getitem__(self, key: str) -> gpd.GeoDataFrame:
        if key not in self._reach:
            raise KeyError(key)
        self.start()
        return self._futures[key].result()

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def _polygon(self, node_dist: np.ndarray, sources: Snapped, radius_m: float) -> object:
        lines = reach_lines(self._net, node_dist, sources, radius_m)
        return isochrone_polygon(lines, self._config.isochrone_buffer_m)

    def _build(self, key: str) -> gpd.GeoDataFrame:
        t0 = time.perf_counter()
        cat = self._config.category(key)
        r = self._reach[key]
        existing = self._polygon(r.node_dist_m, r.sources, cat.walk_m)
        if r.proposed_node_dist_m is None:
            with_proposed = existing
        else:
            own = self._polygon(r.proposed_node_dist_m, r.proposed, cat.walk_m)
            with_proposed = shapely.union(existing, own)
        self.seconds[key] = time.perf_counter() - t0
        return gpd.GeoDataFrame(
            {"category": [key, key], "scenario": list(SCENARIOS)},
            geometry=[existing, with_proposed], crs=self._config.crs)


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
    isochrones : Mapping of category key -> GeoDataFrame
        One row per scenario (``category``, ``scenario``, geometry); empty for tiled runs. An
        untiled run gives an :class:`Isochrones`, which builds them on first access.
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
    isochrones: Mapping[str, gpd.GeoDataFrame]
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
    reach : dict of category key -> CategoryReach
        Each category's node and access-point distances (existing and proposed-only passes).
    dist_m : dict of scenario -> dict of category key -> ndarray
        Walking distance of every compound of ``inputs.compounds`` (in the study area or not)
        to the nearest facility (m, ``inf`` beyond ``max_walk_min``).
    """

    network: WalkNetwork
    access: AccessPoints
    reach: dict[str, CategoryReach] = field(default_factory=dict)
    dist_m: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def _sources(layer: gpd.GeoDataFrame, snap: Snapped, key: str) -> Snapped:
    use = (layer["category"].to_numpy() == key) & ~layer["off_network"].to_numpy(bool)
    return snap.take(np.flatnonzero(use))


def _category_reach(net: WalkNetwork, cat: Category, max_walk_min: float,
                    access: AccessPoints, sources: Snapped, proposed: Snapped) -> CategoryReach:
    """The distance passes of one category: existing facilities, then proposed stations only."""
    cutoff_m = cat.cutoff_m(max_walk_min)  # walks are reported up to max_walk_min
    point_d, node_d = nearest_source_distances(net, sources, access.snap, cutoff_m)
    if len(proposed) == 0:  # nothing planned: with_proposed is existing, no second pass
        return CategoryReach(cutoff_m, sources, node_d, point_d, proposed)
    prop_point_d, prop_node_d = nearest_source_distances(net, proposed, access.snap, cutoff_m)
    return CategoryReach(cutoff_m, sources, node_d, point_d, proposed, prop_node_d, prop_point_d)


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
        Provide isochrone polygons (for display and GIS; the slowest part). They are built
        lazily, on first access of ``result.isochrones`` (see :class:`Isochrones`).
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
    dist: dict[str, dict[str, np.ndarray]] = {s: {} for s in SCENARIOS}
    reach: dict[str, CategoryReach] = {}
    for cat in tqdm(cfg.categories, desc="walking distances", disable=not progress,
                    unit="category"):
        reach[cat.key] = r = _category_reach(net, cat, cfg.max_walk_min, access,
                                             _sources(facilities, fac_snap, cat.key),
                                             _sources(proposed, prop_snap, cat.key))
        dist["existing"][cat.key] = compound_distance(access.compound, r.point_dist_m, n_comp)
        dist["with_proposed"][cat.key] = (
            dist["existing"][cat.key] if r.proposed_point_dist_m is None
            else compound_distance(access.compound, r.with_proposed_point_dist_m, n_comp))
    seconds["distances"] = time.perf_counter() - t0

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
    iso: Mapping[str, gpd.GeoDataFrame] = Isochrones(net, cfg, reach) if isochrones else {}

    islands = _island_table(net, access, compounds_all, facilities, proposed)
    log.info("coverage: %d compounds, %d facilities, %d categories in %.1f s", len(compounds),
             len(facilities), len(cfg.categories), sum(seconds.values()))
    return CoverageResult(
        config=cfg, inputs=inputs, network=net, access=access, compounds=compounds,
        facilities=facilities, proposed=proposed, isochrones=iso, summary=summary,
        islands=islands, n_nodes=net.n_nodes, seconds=seconds, reach=reach, dist_m=dist,
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
