"""An independent reference for walking distances: networkx Dijkstra on a graph where every
snapped point is inserted as a real node (edges split at the point, off-network legs as pendant
edges). Shares no distance code with coverage.reach."""

from __future__ import annotations

import itertools
from collections import defaultdict

import networkx as nx
import numpy as np

from coverage.access import Snapped
from coverage.network import WalkNetwork


def expanded_graph(net: WalkNetwork, points: dict[str, Snapped]) -> nx.Graph:
    """The network with each point of each named group inserted as node (group, i)."""
    g = nx.Graph()
    g.add_nodes_from(range(net.n_nodes))
    on_edge: dict[int, list[tuple[float, object]]] = defaultdict(list)
    for group, snap in points.items():
        for i in range(len(snap)):
            on_edge[int(snap.edge[i])].append((float(snap.along_m[i]), (group, "street", i)))
            g.add_edge((group, i), (group, "street", i), length=float(snap.off_m[i]))
    for e in range(net.n_edges):
        u, v, length = int(net.edge_u[e]), int(net.edge_v[e]), float(net.edge_length_m[e])
        chain = [(0.0, u), *sorted(on_edge.get(e, []), key=lambda p: p[0]), (length, v)]
        for (a_pos, a), (b_pos, b) in itertools.pairwise(chain):
            w = b_pos - a_pos
            if g.has_edge(a, b):
                w = min(w, g.edges[a, b]["length"])
            g.add_edge(a, b, length=w)
    return g


def reference_nearest(net: WalkNetwork, sources: Snapped, targets: Snapped,
                      cutoff_m: float) -> np.ndarray:
    g = expanded_graph(net, {"s": sources, "t": targets})
    if len(sources) == 0:
        return np.full(len(targets), np.inf)
    d = nx.multi_source_dijkstra_path_length(
        g, [("s", i) for i in range(len(sources))], weight="length")
    out = np.array([d.get(("t", j), np.inf) for j in range(len(targets))])
    out[out > cutoff_m] = np.inf
    return out


def reference_pairwise(net: WalkNetwork, sources: Snapped, targets: Snapped,
                       cutoff_m: float) -> np.ndarray:
    out = np.full((len(sources), len(targets)), np.inf)
    for i in range(len(sources)):
        # A separate graph per source: other sources must not act as network nodes with their
        # off-network legs (they do not: pendant legs are dead ends), but keep it simple.
        g = expanded_graph(net, {"s": sources.take(np.array([i])), "t": targets})
        d = nx.single_source_dijkstra_path_length(g, ("s", 0), weight="length")
        for j in range(len(targets)):
            out[i, j] = d.get(("t", j), np.inf)
    out[out > cutoff_m] = np.inf
    return out


def reference_node_distances(net: WalkNetwork, sources: Snapped) -> np.ndarray:
    """Distance from the nearest source to every node, by networkx on the expanded graph."""
    at_nodes = Snapped(np.concatenate([np.arange(net.n_edges), np.arange(net.n_edges)]),
                       np.concatenate([np.zeros(net.n_edges), net.edge_length_m]),
                       np.zeros(2 * net.n_edges))
    d = reference_nearest(net, sources, at_nodes, np.inf)
    out = np.full(net.n_nodes, np.inf)
    np.minimum.at(out, np.concatenate([net.edge_u, net.edge_v]), d)
    return out


def exact_isochrone(net: WalkNetwork, sources: Snapped, radius_m: float, buffer_m: float):
    """The exact union of buffered reachable street pieces (arcs with 64 chords per quarter
    circle: within 0.0002 x buffer of true circles), built the naive way: for every edge the
    piece reached from each end and the pieces around the sources on it, each buffered."""
    import shapely

    node_d = reference_node_distances(net, sources)
    pieces = []
    for e in range(net.n_edges):
        u, v = int(net.edge_u[e]), int(net.edge_v[e])
        length = float(net.edge_length_m[e])
        a, b = net.node_xy[u], net.node_xy[v]
        spans = [(0.0, min(length, radius_m - node_d[u])),
                 (max(0.0, length - (radius_m - node_d[v])), length)]
        for i in np.flatnonzero(sources.edge == e):
            slack = radius_m - sources.off_m[i]
            spans.append((max(0.0, sources.along_m[i] - slack),
                          min(length, sources.along_m[i] + slack)))
        for s, t in spans:
            if t > s and length > 0:
                pieces.append(shapely.LineString([a + (b - a) * s / length,
                                                  a + (b - a) * t / length]))
    if not pieces:
        return shapely.Polygon()
    return shapely.union_all(shapely.buffer(np.array(pieces, dtype=object), buffer_m,
                                            quad_segs=64))


def set_hausdorff_at_most(a, b, tol_m: float) -> bool:
    """Whether each region lies within ``tol_m`` of the other (set Hausdorff distance <= tol:
    a missed hole or sliver wider than 2 x tol fails it), up to 1e-3 m² of numerical dust."""
    import shapely

    grow = {"quad_segs": 32}
    return (shapely.difference(a, shapely.buffer(b, tol_m, **grow)).area < 1e-3
            and shapely.difference(b, shapely.buffer(a, tol_m, **grow)).area < 1e-3)
