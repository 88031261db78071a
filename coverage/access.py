"""Attaching points and compounds to the walking network.

A point (facility, gate, candidate) attaches to the *nearest point on the nearest walkable
edge*, not the nearest node: the partial edge lengths to both ends count, and so does the
straight off-network distance from the point to the street.

A compound is reached through its access points:

* its gates (``entrance=*`` / ``barrier=gate`` points within ``gate_tol_m`` of its boundary)
  when it has any;
* otherwise every point where a walkable edge meets or crosses its boundary (street blocks:
  the street nodes along the block's edge), plus the nearest edge point of its centroid (whose
  off-network distance counts, so it only matters for compounds no street touches).

A compound's walking time is the minimum over its access points.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from ._arrays import concat_ranges
from .constants import GATE_TOL_M
from .network import WalkNetwork

__all__ = [
    "AccessPoints",
    "Snapped",
    "compound_access_points",
    "island_report",
    "snap_layer",
    "snap_points",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapped:
    """Points attached to network edges.

    Attributes
    ----------
    edge : ndarray of int, shape (k,)
        Index of the edge each point attaches to.
    along_m : ndarray of float, shape (k,)
        Distance along the edge from its ``edge_u`` end to the attachment point (m).
    off_m : ndarray of float, shape (k,)
        Straight distance from the point to the attachment point (m).
    """

    edge: NDArray[np.intp]
    along_m: NDArray[np.float64]
    off_m: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, index: NDArray[np.intp] | NDArray[np.bool_]) -> Snapped:
        """The subset of points selected by ``index``."""
        return Snapped(self.edge[index], self.along_m[index], self.off_m[index])

    @staticmethod
    def concat(parts: list[Snapped]) -> Snapped:
        if not parts:
            return Snapped(np.zeros(0, np.intp), np.zeros(0), np.zeros(0))
        return Snapped(
            np.concatenate([p.edge for p in parts]),
            np.concatenate([p.along_m for p in parts]),
            np.concatenate([p.off_m for p in parts]),
        )

    def point_xy(self, net: WalkNetwork) -> NDArray[np.float64]:
        """Coordinates of the attachment points on the edges (m)."""
        a = net.node_xy[net.edge_u[self.edge]]
        b = net.node_xy[net.edge_v[self.edge]]
        length = net.edge_length_m[self.edge]
        frac = np.divide(self.along_m, length, out=np.zeros_like(self.along_m), where=length > 0)
        return a + (b - a) * frac[:, None]


def _along(
    net: WalkNetwork, edge: NDArray[np.intp], xy: NDArray[np.float64]
) -> NDArray[np.float64]:
    a = net.node_xy[net.edge_u[edge]]
    d = net.node_xy[net.edge_v[edge]] - a
    length = net.edge_length_m[edge]
    proj = np.einsum("ij,ij->i", xy - a, d)
    along = np.divide(proj, length, out=np.zeros(len(edge)), where=length > 0)
    return np.clip(along, 0.0, length)


def snap_points(net: WalkNetwork, xy: NDArray[np.float64]) -> Snapped:
    """Attach points to the nearest point of the nearest edge.

    Parameters
    ----------
    net : WalkNetwork
    xy : ndarray, shape (k, 2)
        Point coordinates in ``net.crs`` (m).

    Returns
    -------
    Snapped
        Ties between equally near edges go to the lowest edge index (deterministic).
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if len(xy) == 0:
        return Snapped.concat([])
    points = shapely.points(xy)
    (src, edges), _ = net.edge_tree.query_nearest(points, return_distance=True, all_matches=True)
    # all_matches returns every equally-near edge: keep the lowest edge index per point.
    order = np.lexsort((edges, src))
    src, edges = src[order], edges[order]
    first = np.unique(src, return_index=True)[1]
    edge = np.full(len(xy), -1, dtype=np.intp)
    edge[src[first]] = edges[first]
    if (edge < 0).any():
        raise ValueError("cannot snap: the network has no edge of non-zero extent")
    along = _along(net, edge, xy)
    snapped = Snapped(edge, along, np.zeros(len(xy)))
    off = np.hypot(*(xy - snapped.point_xy(net)).T)
    return Snapped(edge, along, off)


@dataclass(frozen=True)
class AccessPoints:
    """Access points of compounds.

    Attributes
    ----------
    compound : ndarray of int, shape (k,)
        Row position of the compound each access point belongs to.
    kind : ndarray of object, shape (k,)
        ``"gate"``, ``"boundary"`` or ``"centroid"``.
    snap : Snapped
        Where each access point attaches to the network.
    """

    compound: NDArray[np.intp]
    kind: NDArray[np.object_]
    snap: Snapped


def _segment_ring_points(
    net: WalkNetwork, edge: NDArray[np.intp], boundaries: NDArray[np.object_],
    compound: NDArray[np.intp],
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Where each straight edge ``edge[i]`` meets the boundary ``boundaries[compound[i]]``.

    The same points as ``shapely.intersection`` of the pairs that cross (no overlaps), computed
    segment against boundary segment in numpy: GEOS's overlay per pair is ten times slower on a
    city's compounds.

    Returns
    -------
    pair : ndarray of int, shape (k,)
        Index ``i`` of the pair each point belongs to, ascending.
    xy : ndarray, shape (k, 2)
        The points (m).
    """
    rings, ring_of = np.unique(compound, return_inverse=True)
    parts, part_ring = shapely.get_parts(boundaries[rings], return_index=True)
    xy, part = shapely.get_coordinates(parts, return_index=True)
    joined = part[:-1] == part[1:]  # consecutive vertices of one ring: a boundary segment
    seg_a, seg_d = xy[:-1][joined], (xy[1:] - xy[:-1])[joined]
    bounds = np.searchsorted(part_ring[part[:-1][joined]], np.arange(len(rings) + 1))
    # Every pair against every segment of its compound's boundary.
    first, count = bounds[ring_of], np.diff(bounds)[ring_of]
    pair = np.repeat(np.arange(len(edge)), count)
    seg = concat_ranges(first, count)
    p = net.node_xy[net.edge_u[edge[pair]]]
    r = net.node_xy[net.edge_v[edge[pair]]] - p
    q, s = seg_a[seg], seg_d[seg]
    den = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]
    qp = q - p
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qp[:, 0] * s[:, 1] - qp[:, 1] * s[:, 0]) / den
        u = (qp[:, 0] * r[:, 1] - qp[:, 1] * r[:, 0]) / den
    hit = (den != 0) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    return pair[hit], p[hit] + t[hit, None] * r[hit]


def compound_access_points(
    net: WalkNetwork,
    polygons: NDArray[np.object_],
    *,
    gates_xy: NDArray[np.float64] | None = None,
    gate_tol_m: float = GATE_TOL_M,
    boundary_tol_m: float = 2.0,
) -> AccessPoints:
    """Access points of each compound (see the module docstring for the rule).

    Parameters
    ----------
    net : WalkNetwork
    polygons : array of shapely Polygons, shape (c,)
        Compound polygons in ``net.crs``.
    gates_xy : ndarray, shape (g, 2), optional
        Gate coordinates in ``net.crs``.
    gate_tol_m : float
        A gate belongs to a compound whose boundary is within this distance (m).
    boundary_tol_m : float
        A street node within this distance of a boundary lies on it (m); absorbs rounding of
        polygons derived from the same streets.
    """
    polygons = np.asarray(polygons, dtype=object)
    n_comp = len(polygons)
    boundaries = shapely.boundary(polygons)
    parts_c: list[NDArray[np.intp]] = []
    parts_k: list[NDArray[np.object_]] = []
    parts_s: list[Snapped] = []
    has_gate = np.zeros(n_comp, dtype=bool)

    if gates_xy is not None and len(gates_xy):
        gate_points = shapely.points(np.asarray(gates_xy, dtype=float))
        tree = shapely.STRtree(boundaries)
        g_idx, c_idx = tree.query(gate_points, predicate="dwithin", distance=gate_tol_m)
        if len(g_idx):
            snap = snap_points(net, np.asarray(gates_xy)[g_idx])
            parts_c.append(c_idx.astype(np.intp))
            parts_k.append(np.full(len(c_idx), "gate", dtype=object))
            parts_s.append(snap)
            has_gate[c_idx] = True

    todo = np.flatnonzero(~has_gate)
    if len(todo):
        # Street nodes on the boundary: edge ends within boundary_tol_m of it.
        c_i, e_i = net.edge_tree.query(boundaries[todo], predicate="dwithin",
                                       distance=boundary_tol_m)
        c_i = todo[c_i]
        for end, along_of in ((net.edge_u, lambda e: np.zeros(len(e))),
                              (net.edge_v, lambda e: net.edge_length_m[e])):
            pts = shapely.points(net.node_xy[end[e_i]])
            near = shapely.dwithin(pts, boundaries[c_i], boundary_tol_m)
            e_near = e_i[near]
            parts_c.append(c_i[near])
            parts_k.append(np.full(int(near.sum()), "boundary", dtype=object))
            parts_s.append(Snapped(e_near, along_of(e_near), np.zeros(len(e_near))))
        # Points where an edge crosses the boundary (mid-edge).
        crosses = shapely.crosses(net.edge_lines[e_i], boundaries[c_i])
        c_x, e_x = c_i[crosses], e_i[crosses]
        if len(c_x):
            which, coords = _segment_ring_points(net, e_x, boundaries, c_x)
            e_pts = e_x[which]
            parts_c.append(c_x[which])
            parts_k.append(np.full(len(which), "boundary", dtype=object))
            parts_s.append(Snapped(e_pts, _along(net, e_pts, coords), np.zeros(len(which))))
        # The nearest edge point of the centroid (its off-network distance counts).
        cxy = shapely.get_coordinates(shapely.centroid(polygons[todo]))
        parts_c.append(todo.astype(np.intp))
        parts_k.append(np.full(len(todo), "centroid", dtype=object))
        parts_s.append(snap_points(net, cxy))

    compound = np.concatenate(parts_c) if parts_c else np.zeros(0, np.intp)
    kind = np.concatenate(parts_k) if parts_k else np.zeros(0, object)
    snap = Snapped.concat(parts_s)
    # Drop duplicates (a node shared by two boundary edges) to keep the engine's work small.
    key = np.column_stack([compound, snap.edge, np.round(snap.along_m, 3), np.round(snap.off_m, 3)])
    _, keep = np.unique(key, axis=0, return_index=True)
    keep.sort()
    out = AccessPoints(compound[keep], kind[keep], snap.take(keep))
    log.info("compound access: %d points for %d compounds (%d with gates)",
             len(keep), n_comp, int(has_gate.sum()))
    return out


def island_report(net: WalkNetwork, snap: Snapped) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Which points attach to a small island, and how far the main network is from them.

    Returns
    -------
    on_island : ndarray of bool, shape (k,)
        True where the attached edge is not in the largest connected component.
    main_dist_m : ndarray of float, shape (k,)
        Straight distance from the attachment point to the nearest main-component edge (m),
        NaN where not on an island.
    """
    comp = net.component[net.edge_u[snap.edge]]
    on_island = comp != net.main_component
    dist = np.full(len(snap), np.nan)
    if on_island.any():
        tree = net.main_edge_tree
        pts = shapely.points(snap.take(on_island).point_xy(net))
        _, d = tree.query_nearest(pts, return_distance=True, all_matches=False)
        dist[on_island] = d
    return on_island, dist


def snap_layer(net: WalkNetwork, points: gpd.GeoDataFrame,
               max_snap_m: float) -> tuple[gpd.GeoDataFrame, Snapped]:
    """Attach a point layer to the network and flag what is off network or on an island.

    Parameters
    ----------
    net : WalkNetwork
    points : GeoDataFrame
        Points in ``net.crs``.
    max_snap_m : float
        A point farther than this from every walkable street is off network (m).

    Returns
    -------
    GeoDataFrame
        The layer with ``snap_dist_m`` (m, 2 decimals), ``off_network``, ``on_island`` and
        ``island_gap_m`` (m, 1 decimal) columns.
    Snapped
        The attachments of all rows, off-network ones included.
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
