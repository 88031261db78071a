"""Walking distances along the network and isochrones: the project's one distance engine.

Sources (facilities) and targets (compound access points, candidate sites) sit *on edges*
(:class:`~coverage.access.Snapped`). The network distance between a source ``s`` and a target
``t`` is::

    off_s + min over both edges' ends (partial edge + graph distance + partial edge) + off_t

or, when both lie on the same edge, ``off_s + |along_s - along_t| + off_t`` if that is shorter.

:func:`nearest_source_distances` answers "how far is the nearest facility" with ONE
multi-source Dijkstra (a virtual super-source joined to both ends of every source's edge);
:func:`pairwise_distances` answers "how far is each of these sources" (siting) with bounded
Dijkstras from virtual source nodes, in batches. Both use :func:`_targets_from_nodes` to turn node
distances into target distances, so there is one implementation of walking distance.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra

from ._arrays import concat_ranges
from .access import Snapped
from .network import WalkNetwork

__all__ = [
    "ARC_TOLERANCE_M",
    "TILED_FROM_VERTICES",
    "TILE_M",
    "isochrone_polygon",
    "nearest_source_distances",
    "pairwise_distances",
    "reach_intervals",
    "reach_lines",
    "reachable_segments",
    "source_node_distances",
]

log = logging.getLogger(__name__)


def source_node_distances(
    net: WalkNetwork, sources: Snapped, cutoff_m: float
) -> NDArray[np.float64]:
    """Distance from the nearest source to every network node, bounded by ``cutoff_m``.

    One multi-source Dijkstra pass: a virtual super-source is joined to both ends of each
    source's edge with weight ``off + partial edge length``.

    Returns
    -------
    ndarray, shape (n_nodes,)
        Metres; ``inf`` where farther than ``cutoff_m`` or unreachable.
    """
    n = net.n_nodes
    if len(sources) == 0:
        return np.full(n, np.inf)
    u = net.edge_u[sources.edge]
    v = net.edge_v[sources.edge]
    length = net.edge_length_m[sources.edge]
    seed = np.full(n, np.inf)
    np.minimum.at(seed, u, sources.off_m + sources.along_m)
    np.minimum.at(seed, v, sources.off_m + (length - sources.along_m))
    seeded = np.flatnonzero(np.isfinite(seed))
    g = net.graph
    # Append the super-source as node n with outgoing edges only (graph is otherwise symmetric).
    indptr = np.concatenate([g.indptr, [g.indptr[-1] + len(seeded)]])
    aug = sp.csr_matrix(
        (np.concatenate([g.data, seed[seeded]]), np.concatenate([g.indices, seeded]), indptr),
        shape=(n + 1, n + 1),
    )
    dist = dijkstra(aug, directed=True, indices=n, limit=cutoff_m)
    return np.asarray(dist[:n])


def _targets_from_nodes(
    net: WalkNetwork, node_dist: NDArray[np.float64], targets: Snapped
) -> NDArray[np.float64]:
    """Distance to each target (excluding same-edge shortcuts and target off-network distance).

    ``node_dist`` is (n_nodes,) or (k, n_nodes); the result is (n_targets,) or (k, n_targets).
    """
    u = net.edge_u[targets.edge]
    v = net.edge_v[targets.edge]
    rest = net.edge_length_m[targets.edge] - targets.along_m
    return np.minimum(node_dist[..., u] + targets.along_m, node_dist[..., v] + rest)


def _same_edge_pairs(
    sources: Snapped, targets: Snapped
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """All (source, target) index pairs that lie on the same edge."""
    if len(sources) == 0 or len(targets) == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    # Only the few targets on an edge that holds a source need the sorted search.
    has_source = np.zeros(int(max(sources.edge.max(), targets.edge.max())) + 1, dtype=bool)
    has_source[sources.edge] = True
    t_some = np.flatnonzero(has_source[targets.edge])
    s_order = np.argsort(sources.edge, kind="stable")
    s_edges = sources.edge[s_order]
    lo = np.searchsorted(s_edges, targets.edge[t_some], side="left")
    hi = np.searchsorted(s_edges, targets.edge[t_some], side="right")
    counts = hi - lo
    t_idx = np.repeat(t_some, counts)
    s_idx = s_order[concat_ranges(lo, counts)]
    return s_idx, t_idx


def nearest_source_distances(
    net: WalkNetwork, sources: Snapped, targets: Snapped, cutoff_m: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Walking distance from each target to its nearest source.

    Parameters
    ----------
    net : WalkNetwork
    sources, targets : Snapped
        Points attached to the network.
    cutoff_m : float
        Distances beyond this are ``inf`` (m).

    Returns
    -------
    target_dist : ndarray, shape (n_targets,)
        Metres, including both off-network distances; ``inf`` beyond ``cutoff_m``.
    node_dist : ndarray, shape (n_nodes,)
        The node distances of the pass (reused for isochrones).
    """
    node_dist = source_node_distances(net, sources, cutoff_m)
    dist = _targets_from_nodes(net, node_dist, targets)
    s_idx, t_idx = _same_edge_pairs(sources, targets)
    if len(s_idx):
        direct = sources.off_m[s_idx] + np.abs(sources.along_m[s_idx] - targets.along_m[t_idx])
        np.minimum.at(dist, t_idx, direct)
    dist = dist + targets.off_m
    dist[dist > cutoff_m] = np.inf
    return dist, node_dist


def _batches(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def pairwise_distances(
    net: WalkNetwork,
    sources: Snapped,
    targets: Snapped,
    cutoff_m: float,
    *,
    batch_size: int = 256,
) -> sp.csr_matrix:
    """Walking distance from each source to each target within ``cutoff_m``.

    Bounded Dijkstras from a virtual node per source (joined to both ends of its edge), run in
    batches so memory stays at ``batch_size x n_nodes`` floats.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_sources, n_targets)
        Metres for pairs within ``cutoff_m``. A stored entry may be 0.0 (same point): test
        membership with the sparsity pattern, not with the values.
    """
    n = net.n_nodes
    g = net.graph.tocoo()
    rows_out: list[NDArray[np.intp]] = []
    cols_out: list[NDArray[np.intp]] = []
    vals_out: list[NDArray[np.float64]] = []
    s_pair, t_pair = _same_edge_pairs(sources, targets)
    for sl in _batches(len(sources), batch_size):
        batch = sources.take(np.arange(sl.start, sl.stop))
        k = len(batch)
        virt = n + np.arange(k)
        u = net.edge_u[batch.edge]
        v = net.edge_v[batch.edge]
        rest = net.edge_length_m[batch.edge] - batch.along_m
        # Virtual nodes are reachable only from themselves (outgoing edges), so a search from
        # one never passes through another source's attachment point as a shortcut.
        aug = sp.csr_matrix(
            (np.concatenate([g.data, batch.along_m, rest]),
             (np.concatenate([g.row, virt, virt]), np.concatenate([g.col, u, v]))),
            shape=(n + k, n + k),
        )
        node_dist = dijkstra(aug, directed=True, indices=virt, limit=cutoff_m)[:, :n]
        dist = _targets_from_nodes(net, node_dist, targets)
        in_batch = (s_pair >= sl.start) & (s_pair < sl.stop)
        if in_batch.any():
            sb, tb = s_pair[in_batch], t_pair[in_batch]
            direct = np.abs(sources.along_m[sb] - targets.along_m[tb])
            np.minimum.at(dist, (sb - sl.start, tb), direct)
        dist = dist + batch.off_m[:, None] + targets.off_m[None, :]
        r, c = np.nonzero(dist <= cutoff_m)
        rows_out.append(r + sl.start)
        cols_out.append(c)
        vals_out.append(dist[r, c])
    if not rows_out:
        return sp.csr_matrix((len(sources), len(targets)))
    return sp.csr_matrix(
        (np.concatenate(vals_out), (np.concatenate(rows_out), np.concatenate(cols_out))),
        shape=(len(sources), len(targets)),
    )


def reach_intervals(
    net: WalkNetwork, node_dist: NDArray[np.float64], sources: Snapped, radius_m: float
) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]]:
    """The parts of edges within ``radius_m`` of the nearest source, as disjoint intervals.

    An edge point at ``t`` metres from its ``edge_u`` end is reached when
    ``min(d[u] + t, d[v] + L - t) <= radius_m``, or when a source on the same edge is within
    ``radius_m`` along it (its off-network distance included). Overlapping intervals of one
    edge are merged, so a fully reached edge is one interval ``[0, L]``.

    Parameters
    ----------
    node_dist : ndarray, shape (n_nodes,)
        Output of :func:`source_node_distances` with a cutoff of at least ``radius_m``.
    sources : Snapped
        The same sources (their own edges are covered around their attachment points).

    Returns
    -------
    edge, start_m, end_m : ndarray, shape (k,)
        Edge index and interval ``[start_m, end_m]`` along it from ``edge_u`` (m), sorted by
        edge then start; only intervals of positive length.
    """
    length = net.edge_length_m
    all_edges = np.arange(len(length))
    # Interval [0, a] reached from u, [b, L] reached from v, along each edge.
    reach_u = np.clip(radius_m - node_dist[net.edge_u], 0.0, length)
    reach_v = np.clip(radius_m - node_dist[net.edge_v], 0.0, length)
    slack = radius_m - sources.off_m
    ok = slack > 0
    s_edge = sources.edge[ok]
    s_len = length[s_edge]
    edge = np.concatenate([all_edges, all_edges, s_edge])
    start = np.concatenate([np.zeros(len(length)), length - reach_v,
                            np.clip(sources.along_m[ok] - slack[ok], 0.0, s_len)])
    end = np.concatenate([reach_u, length,
                          np.clip(sources.along_m[ok] + slack[ok], 0.0, s_len)])
    keep = end > start
    edge, start, end = edge[keep], start[keep], end[keep]
    order = np.lexsort((start, edge))
    edge, start, end = edge[order], start[order], end[order]
    if len(edge) == 0:
        return edge.astype(np.intp), start, end
    # Merge overlapping intervals per edge: a new interval begins where its start lies beyond
    # every end before it on the same edge. Edges hold few intervals (two plus one per source
    # on the edge), so the running maximum goes rank by rank.
    first = np.r_[True, edge[1:] != edge[:-1]]
    group_start = np.flatnonzero(first)
    rank = np.arange(len(edge)) - np.repeat(group_start, np.diff(np.r_[group_start, len(edge)]))
    run_max = np.full(len(edge), -np.inf)
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(int(rank.max()) + 2))
    for r in range(1, int(rank.max()) + 1):
        i = by_rank[bounds[r]:bounds[r + 1]]
        run_max[i] = np.maximum(run_max[i - 1], end[i - 1])
    new = first | (start > run_max)
    label = np.cumsum(new) - 1
    m_edge = edge[new]
    m_start = start[new]
    m_end = np.full(int(label[-1]) + 1, -np.inf)
    np.maximum.at(m_end, label, end)
    return m_edge.astype(np.intp), m_start, m_end


def reachable_segments(
    net: WalkNetwork, node_dist: NDArray[np.float64], sources: Snapped, radius_m: float
) -> NDArray[np.object_]:
    """The parts of edges within ``radius_m`` of the nearest source, cut at the exact distance.

    One straight LineString per interval of :func:`reach_intervals` (disjoint pieces).

    Returns
    -------
    ndarray of shapely LineStrings
    """
    edge, start, end = reach_intervals(net, node_dist, sources, radius_m)
    return shapely.linestrings(_interval_coords(net, edge, start, end))


def _interval_coords(net: WalkNetwork, edge: NDArray[np.intp], start: NDArray[np.float64],
                     end: NDArray[np.float64]) -> NDArray[np.float64]:
    """Coordinates (k, 2, 2) of the interval ends along their edges."""
    length = net.edge_length_m[edge]
    a = net.node_xy[net.edge_u[edge]]
    d = net.node_xy[net.edge_v[edge]] - a
    frac_s = np.divide(start, length, out=np.zeros_like(start), where=length > 0)
    frac_e = np.divide(end, length, out=np.zeros_like(end), where=length > 0)
    # Whole-edge ends take the node coordinates exactly, so pieces meet at shared nodes.
    xy_s = np.where((start <= 0.0)[:, None], a, a + d * frac_s[:, None])
    xy_e = np.where((end >= length)[:, None], a + d, a + d * frac_e[:, None])
    return np.stack([xy_s, xy_e], axis=1)


def reach_lines(
    net: WalkNetwork, node_dist: NDArray[np.float64], sources: Snapped, radius_m: float
) -> NDArray[np.object_]:
    """The reached street pieces joined into long lines ("strokes"), for buffering.

    The same point set as :func:`reachable_segments`, but pieces meeting at a node are chained
    through it (at each node the incident pieces are paired in angular order, so a street
    crossing passes straight through): a few long lines instead of many short ones make the
    buffer-and-dissolve of :func:`isochrone_polygon` several times cheaper.

    Returns
    -------
    ndarray of shapely LineStrings
    """
    edge, start, end = reach_intervals(net, node_dist, sources, radius_m)
    coords = _interval_coords(net, edge, start, end)
    k = len(edge)
    if k == 0:
        return np.empty(0, dtype=object)
    length = net.edge_length_m[edge]
    # Piece ends at network nodes keep the node id; free ends get ids of their own.
    free_a = np.arange(k) + net.n_nodes
    free_b = free_a + k
    end_a = np.where(start <= 0.0, net.edge_u[edge], free_a)
    end_b = np.where(end >= length, net.edge_v[edge], free_b)
    partner = _pair_at_nodes(end_a, end_b, coords)
    order, flip, trail = _walk_trails(partner, k)
    c = coords[order]
    c = np.where(flip[:, None, None], c[:, ::-1], c)
    # Each trail: the first piece's start, then every piece's end.
    first = np.r_[True, trail[1:] != trail[:-1]]
    pts = np.concatenate([c[first, 0], c[:, 1]])
    idx = np.concatenate([trail[first], trail])
    pos = np.concatenate([np.flatnonzero(first) - 0.5, np.arange(k, dtype=float)])
    o = np.lexsort((pos, idx))
    return shapely.linestrings(pts[o], indices=idx[o])


def _pair_at_nodes(end_a: NDArray[np.intp], end_b: NDArray[np.intp],
                   coords: NDArray[np.float64]) -> NDArray[np.intp]:
    """Pair the half-edges meeting at each node; ``partner[h]`` is the paired half-edge or -1.

    Half-edge ``2p`` is piece ``p`` at its ``a`` end, ``2p + 1`` at its ``b`` end. At a node of
    degree ``d`` the half-edges are sorted by angle and half-edge ``i`` is paired with
    ``i + d // 2`` (opposite directions at a crossing).
    """
    k = len(end_a)
    node = np.empty(2 * k, dtype=np.intp)
    node[0::2], node[1::2] = end_a, end_b
    vec = np.empty((2 * k, 2))
    vec[0::2] = coords[:, 1] - coords[:, 0]
    vec[1::2] = coords[:, 0] - coords[:, 1]
    angle = np.arctan2(vec[:, 1], vec[:, 0])
    order = np.lexsort((angle, node))
    sorted_node = node[order]
    first = np.r_[True, sorted_node[1:] != sorted_node[:-1]]
    starts = np.flatnonzero(first)
    degree = np.diff(np.r_[starts, 2 * k])
    rank = np.arange(2 * k) - np.repeat(starts, degree)
    deg = np.repeat(degree, degree)
    half = deg // 2
    partner = np.full(2 * k, -1, dtype=np.intp)
    lead = rank < half
    partner[order[lead]] = order[np.flatnonzero(lead) + half[lead]]
    partner[partner[order[lead]]] = order[lead]
    return partner


def _walk_trails(partner: NDArray[np.intp], k: int) -> tuple[
    NDArray[np.intp], NDArray[np.bool_], NDArray[np.intp]
]:
    """Follow paired half-edges: pieces in trail order, whether each is walked b->a, trail id.

    A state ``h`` is "piece ``h >> 1`` entered at half-edge ``h``"; it leads to
    ``partner[h ^ 1]`` and follows ``partner[h] ^ 1``. Each trail is two chains of states, one
    per direction: the one kept starts at the lower state (an open trail at one of its free
    ends; a closed loop at its lowest piece entered at its ``a`` end, where the loop is cut).
    Positions along the chains come from pointer doubling (list ranking), all in numpy:
    ``log2(2k)`` rounds instead of a Python step per piece.
    """
    n = 2 * k
    state = np.arange(n, dtype=np.intp)
    succ = partner[state ^ 1]
    pred = np.where(partner >= 0, partner ^ 1, -1)
    rounds = math.ceil(math.log2(max(n, 2))) + 1  # 2**rounds > any chain or loop length
    # Closed loops: chains that never end. Each loop's lowest state, by doubling on succ.
    low, ptr = state.copy(), succ.copy()
    for _ in range(rounds):
        live = np.flatnonzero(ptr >= 0)
        if len(live) == 0:
            break
        low[live] = np.minimum(low[live], low[ptr[live]])
        ptr[live] = ptr[ptr[live]]
    pred[(ptr >= 0) & (low == state)] = -1  # cut each loop before its lowest state
    # Every chain now starts at a state without a predecessor: find it and the distance to it.
    root = np.where(pred >= 0, pred, state)
    steps = (pred >= 0).astype(np.intp)
    ptr = pred.copy()
    for _ in range(rounds):
        live = np.flatnonzero(ptr >= 0)
        if len(live) == 0:
            break
        to = ptr[live]
        steps[live] += steps[to]
        root[live] = root[to]
        ptr[live] = ptr[to]
    keep = np.flatnonzero(root < root[state ^ 1])  # one direction per trail: one state per piece
    keep = keep[np.lexsort((steps[keep], root[keep]))]
    trail_root = root[keep]
    trail = np.zeros(len(keep), dtype=np.intp)
    trail[1:] = np.cumsum(trail_root[1:] != trail_root[:-1])
    return keep >> 1, (keep & 1).astype(bool), trail


ARC_TOLERANCE_M = 2.0
"""Isochrone buffers' polygonal arcs lie within this of the true circle, inside or out (m)."""

TILE_M = 2000.0
"""Side of the square tiles an isochrone is dissolved in (m, on a grid anchored at 0, 0)."""

TILED_FROM_VERTICES = 100_000
"""Lines with fewer vertices than this are dissolved in one go (faster while the union is small:
the Beijing-wide network's categories, ~50,000 each, take 15 % longer in 2 km tiles; a
200,000-node block grid's, ~300,000 each, take a quarter of the time)."""


def _buffer_arcs(buffer_m: float) -> tuple[float, int]:
    """Buffer radius and segments per quarter circle for arcs within ARC_TOLERANCE_M.

    GEOS draws an arc of angle ``a`` with ``round(a / (pi / 2n))`` chords, so a chord spans at
    most ``1.5 pi / 2n``; its vertices lie on the circle of radius ``r`` and its midpoint at
    ``r cos(3 pi / 8n)``. Buffering by ``r = 2 buffer_m / (1 + cos(3 pi / 8n))`` puts both errors
    within ``buffer_m (1 - cos) / (1 + cos)`` of the true circle, one outside, one inside; ``n``
    is the fewest (at least 2) that keeps that within ARC_TOLERANCE_M.

    Returns
    -------
    radius_m : float
        The distance to buffer by (m, slightly more than ``buffer_m``).
    quad_segs : int
    """
    n = 2
    while True:
        c = math.cos(3.0 * math.pi / (8 * n))
        if buffer_m * (1.0 - c) / (1.0 + c) <= ARC_TOLERANCE_M:
            return 2.0 * buffer_m / (1.0 + c), n
        n += 1


def _bufferable(lines: NDArray[np.object_]) -> NDArray[np.object_]:
    """The lines GEOS buffers right: zero-length ones dropped, self-crossing ones cut.

    GEOS can leave out part of a self-crossing line's buffer (a street walked out and back
    around a loop: thousands of m2 missed on the Beijing-wide network); its pieces between the
    crossings buffer right. A zero-length line buffers to nothing.
    """
    lines = np.asarray(lines, dtype=object)
    if len(lines):
        lines = lines[shapely.length(lines) > 0]
    if len(lines) == 0:
        return lines
    crossing = ~shapely.is_simple(lines)
    if crossing.any():
        lines = np.concatenate([lines[~crossing], shapely.get_parts(shapely.node(lines[crossing]))])
    return lines


def isochrone_polygon(lines: NDArray[np.object_], buffer_m: float, *, tile_m: float = TILE_M,
                      tiled_from: int = TILED_FROM_VERTICES, threads: int = 2) -> shapely.Geometry:
    """Buffer reachable street lines by ``buffer_m`` and dissolve them into one (multi)polygon.

    The union of the buffered lines. Many lines (``tiled_from`` vertices) are dissolved tile by
    tile (squares of ``tile_m``: each tile buffers only the lines clipped to the tile widened by
    the buffer, which gives exactly the union's part in the tile) and the tiles merged with their
    holes set aside (see :func:`_merge_tiles`): the cost grows with the street length reached,
    where one dissolve of everything grows faster (a city's grid of blocks makes a polygon with
    as many holes). Arcs are chords within ``ARC_TOLERANCE_M`` of the circle either way (see
    :func:`_buffer_arcs`) and GEOS smooths the input lines by 1 % of the radius, so the polygon
    and the exact union are within ``ARC_TOLERANCE_M`` plus 2 % of ``buffer_m`` of each other as
    regions (Hausdorff; 3 m for the default 50 m; tested against the exact union). No convex or
    concave hull: a hull would cover places no one can walk to. Give :func:`reach_lines`
    (fastest) or :func:`reachable_segments`.

    Parameters
    ----------
    lines : array of LineStrings
    buffer_m : float
        Width drawn on each side of the lines (m, > 0).
    tile_m : float
        Side of the dissolving tiles (m).
    tiled_from : int
        Dissolve in tiles only lines with at least this many vertices in all.
    threads : int
        Threads dissolving tiles (the result does not depend on it).

    Returns
    -------
    Polygon or MultiPolygon
        Empty Polygon when nothing is reached. The same lines give the same bytes.
    """
    lines = _bufferable(lines)
    if len(lines) == 0:
        return shapely.Polygon()
    radius_m, quad_segs = _buffer_arcs(buffer_m)
    margin = radius_m + 1.0
    x0, y0, x1, y1 = shapely.total_bounds(lines) + np.array([-margin, -margin, margin, margin])
    ix = np.arange(math.floor(x0 / tile_m), math.floor(x1 / tile_m) + 1)
    iy = np.arange(math.floor(y0 / tile_m), math.floor(y1 / tile_m) + 1)
    if len(ix) * len(iy) == 1 or shapely.get_num_coordinates(lines).sum() < tiled_from:
        return _dissolve(shapely.buffer(lines, radius_m, quad_segs=quad_segs))
    tree = shapely.STRtree(lines)

    def dissolve_tile(ij: tuple[int, int]) -> shapely.Geometry | None:
        box = (ij[0] * tile_m, ij[1] * tile_m, (ij[0] + 1) * tile_m, (ij[1] + 1) * tile_m)
        wide = (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin)
        near = np.sort(tree.query(shapely.box(*wide)))
        clipped = shapely.clip_by_rect(lines[near], *wide)
        clipped = clipped[shapely.length(clipped) > 0]
        if len(clipped) == 0:
            return None
        tile = _dissolve(shapely.buffer(clipped, radius_m, quad_segs=quad_segs))
        return shapely.intersection(tile, shapely.box(*box))

    # GEOS releases the GIL: tiles dissolve on ``threads`` threads, merged in tile order.
    cells = [(int(i), int(j)) for i in ix for j in iy]
    with ThreadPoolExecutor(max_workers=max(1, threads),
                            thread_name_prefix="isochrone-tiles") as pool:
        pieces = [p for p in pool.map(dissolve_tile, cells) if p is not None]
    return _merge_tiles(pieces)


def _dissolve(polygons: NDArray[np.object_]) -> shapely.Geometry:
    """The union of buffered street lines, cluster by cluster.

    A category's reach is many separate clusters (one or a few per facility), so GEOS's
    disjoint-subset union, which unions each group of overlapping polygons on its own, is 15-20 %
    faster than one cascaded union on the Beijing-wide network and on the sample (same region).
    """
    return shapely.disjoint_subset_union_all(polygons)


def _merge_tiles(pieces: list[shapely.Geometry]) -> shapely.Geometry:
    """Dissolve the parts of a polygon cut along a grid of tiles back into one.

    A hole of a tile's part lies inside that tile, where no other part reaches, so it stays a
    hole of the whole: the parts are merged with their holes filled (few vertices for the
    overlay), then each hole goes back into the merged polygon that contains it.
    """
    parts = shapely.get_parts(np.asarray(pieces, dtype=object))
    parts = parts[shapely.get_type_id(parts) == 3]  # drop lines/points where a buffer grazes
    if len(parts) == 0:
        return shapely.Polygon()
    n_holes = shapely.get_num_interior_rings(parts)
    holes = shapely.get_interior_ring(np.repeat(parts, n_holes),
                                      concat_ranges(np.zeros(len(parts)), n_holes))
    merged = shapely.get_parts(shapely.union_all(shapely.polygons(
        shapely.get_exterior_ring(parts))))
    if len(holes) == 0:
        return shapely.multipolygons(merged) if len(merged) > 1 else merged[0]
    inside = shapely.STRtree(shapely.point_on_surface(shapely.polygons(holes)))
    m_idx, h_idx = inside.query(merged, predicate="contains")
    order = np.lexsort((h_idx, m_idx))
    h_idx = h_idx[order]
    bounds = np.searchsorted(m_idx[order], np.arange(len(merged) + 1))
    out = []
    for k, poly in enumerate(merged):
        own = shapely.get_interior_ring(poly, np.arange(shapely.get_num_interior_rings(poly)))
        mine = holes[h_idx[bounds[k]:bounds[k + 1]]]
        out.append(shapely.polygons(shapely.get_exterior_ring(poly),
                                    holes=np.concatenate([own, mine])))
    return shapely.multipolygons(out) if len(out) > 1 else out[0]
