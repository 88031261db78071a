"""Geometry for display: simplified in metres, reprojected to degrees, rounded, kept small.

Everything here is for drawing only; results files keep their exact geometry. Tolerances are in
metres in the area's projected CRS; coordinates are rounded to :data:`COORD_DECIMALS` decimals of
a degree (5 decimals is about 1 m). A browser opens a page of a few tens of megabytes slowly and
a hundred not at all, so large layers are reduced to budgets: facilities beyond
:data:`MAX_POINTS` are counted in grid cells, streets beyond :data:`MAX_STREET_VERTICES` are
simplified harder; the legend says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = [
    "COORD_DECIMALS",
    "ISOCHRONE_HOLE_M2",
    "MAX_POINTS",
    "MAX_STREET_VERTICES",
    "SIMPLIFY_M",
    "GridCells",
    "feature_collection",
    "fill_small_holes",
    "geojson_geometry",
    "grid_cells",
    "lonlat",
    "num",
    "point_budget",
    "text",
    "to_display",
]

COORD_DECIMALS = 5
#: Simplification tolerance per layer (m).
SIMPLIFY_M = {"compounds": 1.0, "boundaries": 5.0, "isochrones": 8.0, "streets": 3.0,
              "overview": 10.0}
#: Individual facility points drawn at most; beyond it the largest categories are drawn as
#: counts in grid cells (a 100,000-facility map stays a few MB).
MAX_POINTS = 20_000
#: Street vertices drawn at most (about 20 bytes each in the page).
MAX_STREET_VERTICES = 250_000
#: Holes in an isochrone smaller than this are filled for display (m²): a street block whose
#: surrounding streets are all within reach reads as reached, not as a gap.
ISOCHRONE_HOLE_M2 = 500_000.0


def _round(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    return shapely.transform(geoms, lambda xy: np.round(xy, COORD_DECIMALS))


def to_display(gdf: gpd.GeoDataFrame, tolerance_m: float = 0.0) -> gpd.GeoDataFrame:
    """Drop empty geometries, simplify by ``tolerance_m`` (m), reproject to EPSG:4326, round."""
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].copy()
    if tolerance_m > 0 and gdf.crs is not None and gdf.crs.is_projected:
        gdf["geometry"] = gdf.geometry.simplify(tolerance_m, preserve_topology=True)
    gdf = gdf.to_crs(4326)
    gdf["geometry"] = _round(gdf.geometry.to_numpy())
    return gdf


def lonlat(xy: NDArray[np.float64], crs: Any) -> tuple[list[float], list[float]]:
    """Projected ``(n, 2)`` coordinates -> rounded longitude and latitude lists."""
    if not len(xy):
        return [], []
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs).to_crs(4326)
    return (np.round(pts.x.to_numpy(), COORD_DECIMALS).tolist(),
            np.round(pts.y.to_numpy(), COORD_DECIMALS).tolist())


def num(value: Any, digits: int = 0) -> float | int | None:
    """A number for the page: rounded, None for missing/NaN (JSON has no NaN)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(v) or math.isinf(v):
        return None
    return round(v) if digits == 0 else round(v, digits)


def text(value: Any) -> str:
    """Text from data for the page (None/NaN -> ""); escaped by the page script, not here."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _rings(polygons: NDArray[np.object_]) -> list[list[list[list[float]]]]:
    """Each polygon's rings (exterior first) as coordinate lists, in one pass over the arrays."""
    rings, owner = shapely.get_rings(polygons, return_index=True)
    xy = shapely.get_coordinates(rings).tolist()
    ends = np.cumsum(shapely.get_num_coordinates(rings)).tolist()
    out: list[list[list[list[float]]]] = [[] for _ in range(len(polygons))]
    start = 0
    for k, end in zip(owner.tolist(), ends, strict=True):
        out[k].append(xy[start:end])
        start = end
    return out


def geojson_geometry(geom: Any) -> dict[str, Any]:
    """A 2-D geometry as a GeoJSON geometry dict, as ``shapely.geometry.mapping`` gives it.

    Polygons and multipolygons (the large layers) are read through shapely's vectorised
    accessors instead of a Python iteration over every vertex; the JSON text is the same.
    """
    kind = geom.geom_type
    if kind == "Polygon":
        return {"type": kind, "coordinates": _rings(np.array([geom]))[0]}
    if kind == "MultiPolygon":
        return {"type": kind, "coordinates": _rings(shapely.get_parts(geom))}
    return shapely.geometry.mapping(geom)


def feature_collection(gdf: gpd.GeoDataFrame, props: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``gdf``'s geometries with the given properties."""
    feats = [{"type": "Feature", "geometry": geojson_geometry(g), "properties": p}
             for g, p in zip(gdf.geometry, props, strict=True)]
    return {"type": "FeatureCollection", "features": feats}


def fill_small_holes(geom: Any, max_hole_m2: float = ISOCHRONE_HOLE_M2) -> Any:
    """``geom`` (projected) with interior rings smaller than ``max_hole_m2`` removed."""
    if geom is None or geom.is_empty:
        return geom
    polys = shapely.get_parts(geom)
    out = []
    for p in polys:
        if not isinstance(p, shapely.Polygon):
            continue
        keep = [r for r in p.interiors if shapely.Polygon(r).area >= max_hole_m2]
        out.append(shapely.Polygon(p.exterior, keep))
    return shapely.MultiPolygon(out) if len(out) != 1 else out[0]


@dataclass(frozen=True)
class GridCells:
    """Points counted in square cells: one row per non-empty cell.

    Attributes
    ----------
    xy : ndarray, shape (n, 2)
        Mean position of the points in each cell (projected, m).
    count : ndarray of int
    cell_m : float
        Cell side (m).
    """

    xy: NDArray[np.float64]
    count: NDArray[np.int64]
    cell_m: float


def grid_cells(xy: NDArray[np.float64], max_cells: int, start_m: float = 100.0) -> GridCells:
    """Count points in square cells of the smallest side ``start_m × 2^i`` giving ≤ ``max_cells``.

    Cells are aligned to multiples of the side (deterministic, independent of point order);
    each cell is placed at the mean of its points. Rows are sorted by cell.
    """
    if not len(xy):
        return GridCells(np.empty((0, 2)), np.empty(0, np.int64), start_m)
    cell = start_m
    while True:
        ij = np.floor(xy / cell).astype(np.int64)
        keys, inverse, count = np.unique(ij, axis=0, return_inverse=True, return_counts=True)
        if len(keys) <= max(1, max_cells):
            break
        cell *= 2
    inverse = inverse.reshape(-1)
    sums = np.zeros((len(keys), 2))
    np.add.at(sums, inverse, xy)
    return GridCells(sums / count[:, None], count.astype(np.int64), cell)


def point_budget(counts: Sequence[int], max_points: int = MAX_POINTS) -> list[bool]:
    """Which categories (by their point counts) to draw as grid cells so the rest fit the budget.

    The largest categories are aggregated first, until the individual points left are at most
    ``max_points``.
    """
    aggregate = [False] * len(counts)
    total = sum(counts)
    for i in sorted(range(len(counts)), key=lambda i: (-counts[i], i)):
        if total <= max_points:
            break
        aggregate[i] = True
        total -= counts[i]
    return aggregate
