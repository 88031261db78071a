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
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra

from .access import Snapped
from .network import WalkNetwork

__all__ = [
    "isochrone_polygon",
    "nearest_source_distances",
    "pairwise_distances",
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
    starts = np.repeat(lo, counts)
    offsets = np.arange(len(t_idx)) - np.repeat(np.cumsum(counts) - counts, counts)
    s_idx = s_order[starts + offsets]
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


def reachable_segments(
    net: WalkNetwork, node_dist: NDArray[np.float64], sources: Snapped, radius_m: float
) -> NDArray[np.object_]:
    """The parts of edges within ``radius_m`` of the nearest source, cut at the exact distance.

    Parameters
    ----------
    node_dist : ndarray, shape (n_nodes,)
        Output of :func:`source_node_distances` with a cutoff of at least ``radius_m``.
    sources : Snapped
        The same sources (their own edges are covered around their attachment points).

    Returns
    -------
    ndarray of shapely LineStrings
    """
    length = net.edge_length_m
    du = node_dist[net.edge_u]
    dv = node_dist[net.edge_v]
    # Interval [0, a) reached from u, (b, L] reached from v, along each edge.
    reach_u = np.clip(radius_m - du, 0.0, length)
    reach_v = np.clip(radius_m - dv, 0.0, length)
    starts = [np.zeros(len(length))]
    ends = [reach_u]
    edges = [np.arange(len(length))]
    starts.append(length - reach_v)
    ends.append(length)
    edges.append(np.arange(len(length)))
    # Around each source on its own edge.
    slack = radius_m - sources.off_m
    ok = slack > 0
    s_edge = sources.edge[ok]
    starts.append(np.clip(sources.along_m[ok] - slack[ok], 0.0, length[s_edge]))
    ends.append(np.clip(sources.along_m[ok] + slack[ok], 0.0, length[s_edge]))
    edges.append(s_edge)
    start = np.concatenate(starts)
    end = np.concatenate(ends)
    edge = np.concatenate(edges)
    keep = end > start
    start, end, edge = start[keep], end[keep], edge[keep]
    a = net.node_xy[net.edge_u[edge]]
    d = net.node_xy[net.edge_v[edge]] - a
    frac_s = np.divide(start, length[edge], out=np.zeros_like(start), where=length[edge] > 0)
    frac_e = np.divide(end, length[edge], out=np.zeros_like(end), where=length[edge] > 0)
    coords = np.stack([a + d * frac_s[:, None], a + d * frac_e[:, None]], axis=1)
    return shapely.linestrings(coords)


def isochrone_polygon(segments: NDArray[np.object_], buffer_m: float) -> shapely.Geometry:
    """Buffer reachable street segments and dissolve them into one (multi)polygon.

    No convex or concave hull: a hull would cover places no one can walk to.
    """
    if len(segments) == 0:
        return shapely.Polygon()
    merged = shapely.line_merge(shapely.union_all(segments))
    parts = shapely.get_parts(merged)
    # Buffering each merged street line and dissolving is ~10x faster than buffering the one
    # MultiLineString, with the same result.
    return shapely.union_all(shapely.buffer(parts, buffer_m, quad_segs=4))
