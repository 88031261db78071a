"""One large study area in tiles: the same compounds.csv as the untiled run, by construction.

The bounding box of the units is cut into a grid of ``n`` cells. A compound belongs to the
cell holding its representative point (the point :mod:`coverage.inputs` assigns units with). A
tile computes the walking distances of the compounds it owns on the part of the network near
them, so tiles can run in separate processes or machines (:func:`analyze_tiled` with a Dask
client) and no task ever holds the whole city's network.

Why a tile's result is *exactly* the untiled one
------------------------------------------------
Let ``N`` be the untiled network (edges with an end inside ``load_area``, see
:func:`coverage.pipeline.load_network_for`) and ``cutoff = max_walk_min * 60 * speed_m_s`` the
longest distance any category reports (walking minutes are reported up to ``max_walk_min``,
not only up to the category's threshold). A tile's network is the set of edges of ``N`` that
intersect its *region*: the tile's cell and the convex hulls of its compounds, buffered by the
halo (:func:`halo_m`; a buffer holding every point that near, whose round corners are not
chords inside the circle: :func:`coverage._geometry.buffer_covering`)::

    halo = cutoff + GATE_TOL_M + max_snap_m + 1 m

* Every node on a walk of length <= ``cutoff`` from a facility to a compound's access point
  lies within ``cutoff`` (network, hence straight-line) of the access point, and an access
  point lies on the compound's boundary, or is the street point nearest its centroid, or
  nearest a gate within ``GATE_TOL_M`` of its boundary (the off-street part counts in the
  walk). So every edge of that walk intersects the region: the tile's shortest walk is the
  untiled one, and walks longer than ``cutoff`` are "unreachable" in both.
* Points attach to the nearest edge (ties to the lowest edge index; the tile keeps the edges
  in the same relative order). A facility that can reach an owned compound within ``cutoff``
  lies within ``cutoff + GATE_TOL_M`` of its hull and, when it is on the network, its nearest
  edge is within ``max_snap_m`` of it, hence inside the region: it attaches to the same point.
  A facility farther than ``max_snap_m`` from every street is off the network in both runs.
  The same holds for the compounds' access points.

The only remaining source of difference is floating-point summation order when two different
shortest walks have exactly equal length (differences of ~1e-12 m, far below the 0.01 min
rounding of compounds.csv). A ``.gpkg`` network is read per tile with a bounding-box filter;
this gives the same node coordinates as the whole file when each OSM node id has one
coordinate in the file (true for OSM exports, checked for the 2013 Beijing export).

What tiled runs do not produce: isochrone polygons (skipped, logged), and the network and
access points of an untiled :class:`~coverage.pipeline.CoverageResult`: a tiled run gives
:class:`~coverage.pipeline.CoverageTables` (siting needs the whole network: run it untiled).
``islands.csv`` and the facilities' ``snap_dist_m`` come from the tile owning the
compound/facility; they equal the untiled values except for points more than
``max_snap_m`` from every street or on islands cut by a tile's region edge.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ._geometry import buffer_covering
from .config import AreaConfig
from .constants import GATE_TOL_M
from .inputs import StudyInputs
from .metrics import unit_summary
from .network import (
    WalkNetwork,
    build_walk_network,
    load_walk_network,
    read_ways,
    walk_network_from_ways,
)
from .pipeline import CoverageTables, analyze

__all__ = [
    "GATE_TOL_M",
    "Tile",
    "TileResult",
    "analyze_tile",
    "analyze_tiled",
    "grid_shape",
    "halo_m",
    "load_tile_network",
    "make_tiles",
    "restrict_network",
]

log = logging.getLogger(__name__)



def halo_m(config: AreaConfig) -> float:
    """How far beyond its compounds a tile's network must reach (m); see the module docstring."""
    cutoff = max(c.cutoff_m(config.max_walk_min) for c in config.categories)
    return cutoff + GATE_TOL_M + config.max_snap_m + 1.0


def grid_shape(n: int, width_m: float, height_m: float) -> tuple[int, int]:
    """Columns and rows (``nx * ny == n``) whose cells are closest to square."""
    if n < 1:
        raise ValueError("tiles must be >= 1")
    best = (n, 1)
    best_score = math.inf
    for nx in range(1, n + 1):
        if n % nx:
            continue
        ny = n // nx
        cw, ch = width_m / nx, max(height_m, 1e-9) / ny
        score = abs(math.log(max(cw, 1e-9) / ch))
        if score < best_score - 1e-12:
            best, best_score = (nx, ny), score
    return best


@dataclass(frozen=True)
class Tile:
    """One tile's work: its cell, region and inputs (all in ``config.crs``).

    Attributes
    ----------
    index : int
        Tile number (row-major from the south-west cell).
    cell : shapely Polygon
        The grid cell; the tile owns the compounds and facilities whose point lies in it.
    region : shapely geometry
        Cell and compound hulls buffered by :func:`halo_m`: the tile's network is every edge
        of the untiled network intersecting it.
    inputs : StudyInputs
        The owned compounds (``in_area`` ones only) and the facilities, proposed stations and
        gates inside ``region``.
    compound_rows : ndarray of int
        Positions of the owned compounds in the untiled ``inputs.compounds``.
    facility_owned, proposed_owned : ndarray of bool
        Which rows of ``inputs.facilities`` / ``inputs.proposed`` this tile owns.
    """

    index: int
    cell: BaseGeometry
    region: BaseGeometry
    inputs: StudyInputs
    compound_rows: np.ndarray
    facility_owned: np.ndarray
    proposed_owned: np.ndarray


@dataclass
class TileResult:
    """What one tile sends back (small: no network)."""

    index: int
    compound_rows: np.ndarray
    compounds: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    proposed: gpd.GeoDataFrame
    islands: pd.DataFrame
    n_nodes: int
    seconds: float


def _cell_of(xy: np.ndarray, bounds: tuple[float, float, float, float], nx: int,
             ny: int) -> np.ndarray:
    minx, miny, maxx, maxy = bounds
    w = max(maxx - minx, 1e-9) / nx
    h = max(maxy - miny, 1e-9) / ny
    ix = np.clip(np.floor((xy[:, 0] - minx) / w), 0, nx - 1).astype(int)
    iy = np.clip(np.floor((xy[:, 1] - miny) / h), 0, ny - 1).astype(int)
    return iy * nx + ix


def _within(layer: gpd.GeoDataFrame | None, region: BaseGeometry) -> gpd.GeoDataFrame | None:
    if layer is None:
        return None
    xy = shapely.get_coordinates(layer.geometry.to_numpy())
    return layer[shapely.contains_xy(region, xy[:, 0], xy[:, 1])].reset_index(drop=True)


def _point_owners(layer: gpd.GeoDataFrame, cells: list[tuple[int, BaseGeometry, BaseGeometry]],
                  bounds: tuple[float, float, float, float], nx: int, ny: int,
                  spare_m: float) -> np.ndarray:
    """Which tile (position in ``cells``) reports each point: the one owning its grid cell,
    else the first whose region holds it with ``spare_m`` to spare (its attachment to the
    network is then exact), else the one with the nearest cell."""
    xy = shapely.get_coordinates(layer.geometry.to_numpy())
    owner = np.full(len(xy), -1)
    if not len(xy) or not cells:
        return owner
    cell_of = _cell_of(xy, bounds, nx, ny)
    for i, (k, _, _) in enumerate(cells):
        owner[(owner < 0) & (cell_of == k)] = i
    for i, (_, _, region) in enumerate(cells):
        inner = buffer_covering(region, -spare_m)
        owner[(owner < 0) & shapely.contains_xy(inner, xy[:, 0], xy[:, 1])] = i
    for j in np.flatnonzero(owner < 0):
        p = shapely.Point(xy[j])
        owner[j] = int(np.argmin([cell.distance(p) for _, cell, _ in cells]))
    return owner


def make_tiles(inputs: StudyInputs, n: int) -> list[Tile]:
    """Cut a study area into ``n`` tiles (grid cells of the units' bounding box).

    Cells that own no compound inside the units are left out (nothing to compute); their
    facilities are reported by a neighbouring tile.
    """
    cfg = inputs.config
    bounds = tuple(inputs.study_area.bounds)
    nx, ny = grid_shape(n, bounds[2] - bounds[0], bounds[3] - bounds[1])
    halo = halo_m(cfg)
    comp = inputs.compounds.reset_index(drop=True)
    rep = comp.geometry.representative_point()
    owner = _cell_of(np.column_stack([rep.x, rep.y]), bounds, nx, ny)
    in_area = comp["in_area"].to_numpy(bool)
    w = (bounds[2] - bounds[0]) / nx
    h = (bounds[3] - bounds[1]) / ny
    cells = []
    for k in range(nx * ny):
        rows = np.flatnonzero((owner == k) & in_area)
        if len(rows) == 0:
            continue
        ix, iy = k % nx, k // nx
        cell = shapely.box(bounds[0] + ix * w, bounds[1] + iy * h,
                           bounds[0] + (ix + 1) * w, bounds[1] + (iy + 1) * h)
        hulls = shapely.convex_hull(comp.geometry.to_numpy()[rows])
        cells.append((k, cell, buffer_covering(shapely.union_all([cell, *hulls]), halo)))
    spare = cfg.max_snap_m + 1.0
    fac_owner = _point_owners(inputs.facilities, cells, bounds, nx, ny, spare)
    prop_owner = _point_owners(inputs.proposed, cells, bounds, nx, ny, spare)

    def inside(layer: gpd.GeoDataFrame, region: BaseGeometry) -> np.ndarray:
        xy = shapely.get_coordinates(layer.geometry.to_numpy())
        return shapely.contains_xy(region, xy[:, 0], xy[:, 1]) if len(xy) else np.zeros(0, bool)

    tiles = []
    for i, (k, cell, region) in enumerate(cells):
        rows = np.flatnonzero((owner == k) & in_area)
        fac_in = inside(inputs.facilities, region) | (fac_owner == i)
        prop_in = inside(inputs.proposed, region) | (prop_owner == i)
        tile_inputs = replace(
            inputs,
            compounds=comp.iloc[rows].reset_index(drop=True),
            facilities=inputs.facilities[fac_in].reset_index(drop=True),
            proposed=inputs.proposed[prop_in].reset_index(drop=True),
            candidates=None,
            gates=_within(inputs.gates, region),
        )
        tiles.append(Tile(index=k, cell=cell, region=region, inputs=tile_inputs,
                          compound_rows=rows, facility_owned=(fac_owner == i)[fac_in],
                          proposed_owned=(prop_owner == i)[prop_in]))
    log.info("%d tiles (%d x %d grid, halo %.0f m) own %d compounds", len(tiles), nx, ny, halo,
             int(in_area.sum()))
    return tiles


def restrict_network(net: WalkNetwork, region: BaseGeometry) -> WalkNetwork:
    """The edges of ``net`` that intersect ``region`` (same relative edge and node order)."""
    keep = shapely.intersects(net.edge_lines, region)
    return build_walk_network(
        net.node_xy, net.edge_u[keep], net.edge_v[keep], crs=net.crs,
        node_osmid=net.node_osmid, edge_name=net.edge_name[keep],
        edge_highway=net.edge_highway[keep],
    )


def load_tile_network(config: AreaConfig, load_area: BaseGeometry,
                      region: BaseGeometry) -> WalkNetwork:
    """The untiled network's edges that intersect ``region``.

    A ``.gpkg`` of ways is read only within the region's bounding box (plus 200 m); other
    formats are read whole.
    """
    path = config.network
    if path.suffix.lower() == ".gpkg":
        ways = read_ways(path, config.crs, region.buffer(200.0))
        net = walk_network_from_ways(ways, config.crs, clip_to=load_area)
    else:
        net = load_walk_network(path, config.crs, clip_to=load_area)
    return restrict_network(net, region)


def analyze_tile(tile: Tile) -> TileResult:
    """Run the coverage stage on one tile (a Dask task in :func:`analyze_tiled`)."""
    t0 = time.perf_counter()
    inp = tile.inputs
    net = load_tile_network(inp.config, inp.load_area, tile.region)
    res = analyze(inp, network=net, isochrones=False)
    fac_ids = set(res.facilities["id"][tile.facility_owned])
    prop_ids = set(res.proposed["id"][tile.proposed_owned])
    isl = res.islands
    keep = ((isl["layer"] == "compounds")
            | ((isl["layer"] == "facilities") & isl["id"].isin(fac_ids))
            | ((isl["layer"] == "proposed") & isl["id"].isin(prop_ids)))
    return TileResult(
        index=tile.index, compound_rows=tile.compound_rows, compounds=res.compounds,
        facilities=res.facilities[tile.facility_owned], proposed=res.proposed[tile.proposed_owned],
        islands=isl[keep], n_nodes=net.n_nodes, seconds=time.perf_counter() - t0,
    )


def _in_order(parts: list[gpd.GeoDataFrame], ids: pd.Series, crs: str) -> gpd.GeoDataFrame:
    """Concatenate tile rows and put them in the order of ``ids`` (the untiled layer's ids)."""
    if not parts or sum(len(p) for p in parts) == 0:
        return gpd.GeoDataFrame(parts[0].iloc[:0] if parts else None, crs=crs)
    df = pd.concat(parts, ignore_index=True)
    order = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    df = df.iloc[np.argsort(order.loc[df["id"].to_numpy()].to_numpy(), kind="stable")]
    return gpd.GeoDataFrame(df.reset_index(drop=True), geometry="geometry", crs=crs)


def analyze_tiled(inputs: StudyInputs, n: int | None = None, *, client: Any = None,
                  progress: bool = False,
                  mapper: Callable[[Callable[[Tile], TileResult], Iterable[Tile]],
                                   Iterable[TileResult]] | None = None) -> CoverageTables:
    """The coverage stage in ``n`` tiles; equal to :func:`coverage.pipeline.analyze`'s tables.

    Parameters
    ----------
    inputs : StudyInputs
    n : int, optional
        Number of tiles (default ``inputs.config.tiles``).
    client : dask.distributed.Client, optional
        Run the tiles as tasks on this cluster (lost workers are retried); default: one after
        the other in this process.
    progress : bool
        Show a progress bar over tiles.
    mapper : callable, optional
        ``mapper(func, tiles)`` to run the tiles some other way (e.g. a process pool's map).

    Returns
    -------
    CoverageTables
        ``compounds`` (same rows, order and values as untiled), ``summary``, ``facilities``,
        ``proposed`` and ``islands``; ``isochrones`` is empty (see the module docstring).
    """
    from tqdm.auto import tqdm

    cfg = inputs.config
    n = n or cfg.tiles
    t0 = time.perf_counter()
    tiles = make_tiles(inputs, n)
    results: list[TileResult]
    if client is not None:
        from distributed import as_completed

        futures = client.map(analyze_tile, tiles, retries=3, pure=False)
        results = [f.result() for f in tqdm(as_completed(futures), total=len(futures),
                                            desc="tiles", unit="tile", disable=not progress)]
    else:
        run = mapper or map
        results = list(tqdm(run(analyze_tile, tiles), total=len(tiles), desc="tiles",
                            unit="tile", disable=not progress))
    results.sort(key=lambda r: r.index)
    log.info("tiles: %s nodes per tile", [r.n_nodes for r in results])

    rows = np.concatenate([r.compound_rows for r in results]) if results else np.zeros(0, int)
    if results:
        comp = pd.concat([r.compounds for r in results], ignore_index=True)
        comp = comp.iloc[np.argsort(rows, kind="stable")].reset_index(drop=True)
        compounds = gpd.GeoDataFrame(comp, geometry="geometry", crs=cfg.crs)
    else:
        compounds = analyze_empty_compounds(inputs)
    facilities = _in_order([r.facilities for r in results], inputs.facilities["id"], cfg.crs)
    proposed = _in_order([r.proposed for r in results], inputs.proposed["id"], cfg.crs)
    islands = (pd.concat([r.islands for r in results], ignore_index=True) if results
               else pd.DataFrame(columns=["layer", "id", "name", "gap_m"]))
    if len(islands):
        rank = {name: {i: k for k, i in enumerate(ids)} for name, ids in (
            ("compounds", compounds["id"]), ("facilities", inputs.facilities["id"]),
            ("proposed", inputs.proposed["id"]))}
        layer_order = islands["layer"].map({"compounds": 0, "facilities": 1, "proposed": 2})
        pos = [rank[lay].get(i, -1) for lay, i in zip(islands["layer"], islands["id"],
                                                      strict=True)]
        islands = islands.iloc[np.lexsort((pos, layer_order.to_numpy()))].reset_index(drop=True)
    log.info("tiled coverage: %d tiles, %d compounds in %.1f s (isochrones skipped in tiled "
             "runs)", len(results), len(compounds), time.perf_counter() - t0)
    return CoverageTables(
        config=cfg, inputs=inputs,
        compounds=compounds, facilities=facilities, proposed=proposed, isochrones={},
        summary=unit_summary(compounds, cfg.categories, inputs.boundaries["name"]),
        islands=islands, n_nodes=sum(r.n_nodes for r in results),
        seconds={"tiles": time.perf_counter() - t0,
                 "tile_max": max((r.seconds for r in results), default=0.0)},
    )


def analyze_empty_compounds(inputs: StudyInputs) -> gpd.GeoDataFrame:
    """The compounds table of an area with no compound inside its units (no tile to run)."""
    from .metrics import SCENARIOS, coverage_columns
    from .pipeline import COMPOUND_ID_COLUMNS

    cfg = inputs.config
    empty = {c.key: np.zeros(0) for c in cfg.categories}
    cov = pd.concat([coverage_columns(empty, cfg.categories, s) for s in SCENARIOS.values()],
                    axis=1)
    base = inputs.compounds[COMPOUND_ID_COLUMNS].iloc[:0].reset_index(drop=True)
    return gpd.GeoDataFrame(pd.concat([base, cov], axis=1),
                            geometry=gpd.GeoSeries([], crs=cfg.crs), crs=cfg.crs)
