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
