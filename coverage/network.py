"""Walking network: an OSM file -> walkable, two-way street segments in metres -> CSR graph.

The network is kept *unsimplified*: every edge is one straight segment between consecutive OSM
nodes, so a point snapped onto an edge splits it into two exact straight pieces and isochrones
can cut an edge at the exact remaining distance. Lengths are Euclidean in the study area's
projected CRS (metres), the same metric every later stage uses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import networkx as nx
import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.sparse.csgraph import connected_components

from .errors import InputError, Problem

__all__ = [
    "WalkNetwork",
    "build_walk_network",
    "is_walkable",
    "load_walk_network",
    "read_ways",
    "walk_network_from_graph",
    "walk_network_from_ways",
]

log = logging.getLogger(__name__)

# Highway values nobody walks along: osmnx's network_type="walk" exclusions, plus elevators and
# escalators (not part of a street network).
NOT_WALKABLE_HIGHWAY = frozenset({
    "motorway", "motorway_link", "platform", "construction", "proposed", "planned",
    "abandoned", "razed", "raceway", "bus_guideway", "no", "cycleway", "elevator", "escalator",
    "rest_area", "services",
})
_NO = frozenset({"no", "private"})
# Tags that mean "this street's pavement is mapped as its own way": walk that way instead.
_SIDEWALK_TAGS = ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")


def _values(tag: Any) -> list[str]:
    # osmnx stores merged tags as lists and absent tags as NaN.
    if tag is None or (isinstance(tag, float) and np.isnan(tag)):
        return []
    if isinstance(tag, (list, tuple, set)):
        return [str(t) for t in tag]
    return [str(tag)]


def is_walkable(tags: dict[str, Any]) -> bool:
    """Whether a way with these OSM tags can be walked along.

    osmnx's ``network_type="walk"`` semantics: no motorways, platforms, construction or other
    non-walkable ``highway`` values, no ``foot=no``, no private service roads, no streets whose
    sidewalks are mapped separately (``sidewalk=separate``: the sidewalk ways are walked), no
    areas; and, as the planners' brief asks, no ``access=no|private`` unless ``foot`` allows it.
    One-way streets are walkable both ways (handled by the graph being undirected). This is
    circle15's one walkability rule: the .osm.pbf reader filters with it too.
    """
    highway = _values(tags.get("highway"))
    if not highway or all(h in NOT_WALKABLE_HIGHWAY for h in highway):
        return False
    if "private" in _values(tags.get("service")):
        return False
    if any("separate" in _values(tags.get(k)) for k in _SIDEWALK_TAGS):
        return False
    foot = _values(tags.get("foot"))
    if any(f in _NO for f in foot):
        return False
    if any(a in _NO for a in _values(tags.get("access"))) and not any(
        f in {"yes", "designated", "permissive"} for f in foot
    ):
        return False
    return "yes" not in _values(tags.get("area"))


@dataclass(frozen=True, eq=False)
class WalkNetwork:
    """An undirected walking network of straight segments, in a projected CRS.

    Attributes
    ----------
    crs : str
        Projected CRS of all coordinates (metres).
    node_osmid : ndarray of int64, shape (n,)
        OSM node id of each node (negative ids for nodes created by splitting geometries).
    node_xy : ndarray of float, shape (n, 2)
        Node coordinates (m).
    edge_u, edge_v : ndarray of int, shape (m,)
        Node indices of each undirected edge (``edge_u < edge_v``).
    edge_length_m : ndarray of float, shape (m,)
        Straight length of each edge (m).
    edge_name, edge_highway : ndarray of object, shape (m,)
        OSM ``name`` and ``highway`` of the way each edge comes from.
    graph : scipy.sparse.csr_matrix, shape (n, n)
        Symmetric adjacency with lengths in metres (explicit zeros are real edges).
    component : ndarray of int, shape (n,)
        Connected-component label per node; ``main_component`` is the largest.
    """

    crs: str
    node_osmid: NDArray[np.int64]
    node_xy: NDArray[np.float64]
    edge_u: NDArray[np.intp]
    edge_v: NDArray[np.intp]
    edge_length_m: NDArray[np.float64]
    edge_name: NDArray[np.object_]
    edge_highway: NDArray[np.object_]
    graph: sp.csr_matrix
    component: NDArray[np.intp]
    component_size: NDArray[np.intp]

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)

    @property
    def main_component(self) -> int:
        return int(np.argmax(self.component_size))

    @cached_property
    def edge_lines(self) -> NDArray[np.object_]:
        """Shapely LineStrings of the edges (built once, on first use)."""
        coords = np.stack([self.node_xy[self.edge_u], self.node_xy[self.edge_v]], axis=1)
        return shapely.linestrings(coords)

    @cached_property
    def edge_tree(self) -> shapely.STRtree:
        """Spatial index over the edges (built once, on first use)."""
        return shapely.STRtree(self.edge_lines)

    def to_networkx(self) -> nx.Graph:
        """The same network as an undirected networkx Graph (``length`` in metres)."""
        g = nx.Graph()
        g.add_nodes_from(range(self.n_nodes))
        g.add_weighted_edges_from(
            zip(self.edge_u.tolist(), self.edge_v.tolist(), self.edge_length_m.tolist(),
                strict=True),
            weight="length",
        )
        return g


def build_walk_network(
    node_xy: NDArray[np.float64],
    edge_u: NDArray[np.intp],
    edge_v: NDArray[np.intp],
    *,
    crs: str,
    node_osmid: NDArray[np.int64] | None = None,
    edge_name: NDArray[np.object_] | None = None,
    edge_highway: NDArray[np.object_] | None = None,
    clip_to: Any = None,
) -> WalkNetwork:
    """Build a :class:`WalkNetwork` from node coordinates and straight edges.

    Edges are made undirected; self-loops are dropped and parallel edges collapse to one (they
    are straight segments between the same two points, hence of equal length). Nodes that no
    kept edge uses are dropped and the rest renumbered.

    Parameters
    ----------
    node_xy : ndarray, shape (n, 2)
        Projected node coordinates (m).
    edge_u, edge_v : ndarray of int, shape (m,)
        Node indices of each edge.
    crs : str
        The projected CRS of ``node_xy``.
    clip_to : shapely geometry, optional
        Area in ``crs``: keep only edges with at least one end inside it.
    """
    node_xy = np.asarray(node_xy, dtype=float)
    u = np.asarray(edge_u, dtype=np.intp)
    v = np.asarray(edge_v, dtype=np.intp)
    m = len(u)
    osmid = (np.asarray(node_osmid, dtype=np.int64) if node_osmid is not None
             else -np.arange(1, len(node_xy) + 1, dtype=np.int64))
    names = np.asarray(edge_name if edge_name is not None else [""] * m, dtype=object)
    highways = np.asarray(edge_highway if edge_highway is not None else [""] * m, dtype=object)
    keep = u != v
    if clip_to is not None and m:
        inside = shapely.contains_xy(clip_to, node_xy[:, 0], node_xy[:, 1])
        keep &= inside[u] | inside[v]
    used = np.zeros(len(node_xy), dtype=bool)
    used[u[keep]] = True
    used[v[keep]] = True
    new_index = np.cumsum(used) - 1
    node_xy, osmid = node_xy[used], osmid[used]
    u, v = new_index[u], new_index[v]
    n = len(node_xy)
    a, b = np.minimum(u, v)[keep], np.maximum(u, v)[keep]
    names, highways = names[keep], highways[keep]
    _, first = np.unique(a.astype(np.int64) * n + b, return_index=True)
    first.sort()
    a, b, names, highways = a[first], b[first], names[first], highways[first]
    length = np.hypot(*(node_xy[b] - node_xy[a]).T)
    graph = sp.csr_matrix(
        (np.concatenate([length, length]), (np.concatenate([a, b]), np.concatenate([b, a]))),
        shape=(n, n),
    )
    n_comp, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels, minlength=n_comp)
    return WalkNetwork(
        crs=crs,
        node_osmid=osmid,
        node_xy=node_xy,
        edge_u=a,
        edge_v=b,
        edge_length_m=length,
        edge_name=names,
        edge_highway=highways,
        graph=graph,
        component=labels.astype(np.intp),
        component_size=sizes.astype(np.intp),
    )


def _first(tag: Any) -> str:
    values = _values(tag)
    return values[0] if values else ""


def walk_network_from_graph(
    g: nx.MultiDiGraph, crs: str, *, clip_to: Any = None
) -> WalkNetwork:
    """Turn an osmnx graph (EPSG:4326 or projected) into a :class:`WalkNetwork`.

    Keeps walkable edges only (:func:`is_walkable`), every connected component, both directions.
    Edges carrying a ``geometry`` (simplified graphs) are split into their straight segments.

    Parameters
    ----------
    g : networkx.MultiDiGraph
        osmnx-style graph with node ``x``/``y`` and ``graph["crs"]``.
    crs : str
        Target projected CRS.
    clip_to : shapely geometry, optional
        Area in ``crs``: keep only edges with at least one end inside it.
    """
    to_crs = Transformer.from_crs(g.graph.get("crs", "EPSG:4326"), crs, always_xy=True)
    osmids = np.fromiter(g.nodes, dtype=np.int64, count=len(g))
    xs = np.fromiter((d["x"] for _, d in g.nodes(data=True)), float, count=len(g))
    ys = np.fromiter((d["y"] for _, d in g.nodes(data=True)), float, count=len(g))
    px, py = to_crs.transform(xs, ys)
    xy = [np.column_stack([px, py])]
    index = {osm: i for i, osm in enumerate(osmids.tolist())}
    extra_ids: list[int] = []
    us: list[int] = []
    vs: list[int] = []
    names: list[str] = []
    highways: list[str] = []
    n_next = len(osmids)
    dropped = 0
    for a, b, data in g.edges(data=True):
        if not is_walkable(data):
            dropped += 1
            continue
        name, highway = _first(data.get("name")), _first(data.get("highway"))
        geom = data.get("geometry")
        if geom is None or len(geom.coords) <= 2:
            chain = [index[a], index[b]]
        else:
            inner = np.asarray(geom.coords)[1:-1]
            ix, iy = to_crs.transform(inner[:, 0], inner[:, 1])
            xy.append(np.column_stack([ix, iy]))
            new = list(range(n_next, n_next + len(inner)))
            extra_ids.extend(-(np.arange(n_next, n_next + len(inner)) + 1).tolist())
            n_next += len(inner)
            chain = [index[a], *new, index[b]]
        us.extend(chain[:-1])
        vs.extend(chain[1:])
        names.extend([name] * (len(chain) - 1))
        highways.extend([highway] * (len(chain) - 1))
    node_xy = np.concatenate(xy)
    node_osmid = np.concatenate([osmids, np.asarray(extra_ids, dtype=np.int64)])
    u = np.asarray(us, dtype=np.intp)
    v = np.asarray(vs, dtype=np.intp)
    names_a = np.asarray(names, dtype=object)
    highways_a = np.asarray(highways, dtype=object)
    net = build_walk_network(
        node_xy, u, v, crs=crs, node_osmid=node_osmid, edge_name=names_a,
        edge_highway=highways_a, clip_to=clip_to,
    )
    log.info(
        "walk network: %d nodes, %d edges (%.1f km), %d components (largest %d nodes); "
        "%d non-walkable directed edges dropped",
        net.n_nodes, net.n_edges, net.edge_length_m.sum() / 1000, len(net.component_size),
        net.component_size.max() if net.n_nodes else 0, dropped,
    )
    return net


def walk_network_from_ways(ways: Any, crs: str, *, clip_to: Any = None) -> WalkNetwork:
    """Build a :class:`WalkNetwork` from a GeoDataFrame of OSM ways (LineStrings).

    Columns used: ``highway`` (and ``foot``/``access``/``area`` when present) for
    :func:`is_walkable`, ``name``, and optionally ``node_ids`` (space-separated OSM node ids, one
    per vertex) so that ways join at shared nodes; without it ways join where vertices coincide
    (to 1e-7 degrees / 1 cm).

    Parameters
    ----------
    ways : GeoDataFrame
        With a CRS.
    crs : str
        Target projected CRS.
    clip_to : shapely geometry, optional
        Area in ``crs``: keep only edges with at least one end inside it.
    """
    tag_cols = [c for c in ("highway", "foot", "access", "area") if c in ways.columns]
    tags = ways[tag_cols].astype(object).where(ways[tag_cols].notna(), None)
    walkable = np.fromiter((is_walkable(dict(zip(tag_cols, row, strict=True)))
                            for row in tags.itertuples(index=False)), bool, count=len(ways))
    ways = ways[walkable].to_crs(crs)
    coords, way = shapely.get_coordinates(ways.geometry.to_numpy(), return_index=True)
    if "node_ids" in ways.columns:
        ids = [np.array(str(s).split(), dtype=np.int64) for s in ways["node_ids"]]
        key = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        if len(key) != len(coords):
            raise ValueError("node_ids do not match the way vertices")
    else:
        ll = shapely.get_coordinates(ways.geometry.to_crs(4326).to_numpy())
        key = np.unique(np.round(ll * 1e7).astype(np.int64), axis=0, return_inverse=True)[1]
    node_key, first, node_of_vertex = np.unique(key, return_index=True, return_inverse=True)
    same_way = way[:-1] == way[1:]
    u = node_of_vertex[:-1][same_way]
    v = node_of_vertex[1:][same_way]
    seg_way = way[:-1][same_way]
    names = (ways["name"].fillna("").astype(str).to_numpy() if "name" in ways.columns
             else np.full(len(ways), "", dtype=object))[seg_way]
    highway = ways["highway"].astype(str).to_numpy()[seg_way]
    osmid = node_key if "node_ids" in ways.columns else -(np.arange(len(node_key)) + 1)
    net = build_walk_network(coords[first], u, v, crs=crs, node_osmid=osmid, edge_name=names,
                             edge_highway=highway, clip_to=clip_to)
    log.info("walk network: %d nodes, %d edges (%.1f km), %d components",
             net.n_nodes, net.n_edges, net.edge_length_m.sum() / 1000, len(net.component_size))
    return net


def read_ways(path: str | Path, crs: str, within: Any = None) -> Any:
    """Ways of a GeoPackage, projected to ``crs``; only those near ``within`` when given.

    With ``within`` (a geometry in ``crs``) the file is read with a bounding-box filter, so a
    city-wide file costs only the ways of the area: every way that touches ``within`` is
    returned (and some more near it), in file order.
    """
    import geopandas as gpd

    bbox = None
    if within is not None:
        # A segmentized box keeps its true extent when reprojected to the file's CRS.
        box = shapely.segmentize(shapely.box(*within.bounds), 100.0)
        bbox = gpd.GeoSeries([box], crs=crs)
    # A spatial filter returns features in index order: sort by feature id, so that edges keep
    # the file's order (snapping breaks ties by edge index) whatever part of the file is read.
    ways = gpd.read_file(path, bbox=bbox, fid_as_index=True).sort_index()
    return ways.reset_index(drop=True).to_crs(crs)


def load_walk_network(path: str | Path, crs: str, *, clip_to: Any = None) -> WalkNetwork:
    """Load the walkable network of an OSM file (.osm XML, .osm.pbf or .graphml).

    Parameters
    ----------
    path : str or Path
        Network file.
    crs : str
        Projected CRS to work in (metres).
    clip_to : shapely geometry, optional
        Area in ``crs`` (usually the units buffered by the longest walk) to keep.

    Raises
    ------
    InputError
        If the file cannot be read or holds no walkable way.
    """
    path = Path(path)
    if path.suffix.lower() == ".gpkg":
        try:
            # Edges kept by clip_to have an end inside it, so their ways touch it.
            within = None if clip_to is None else clip_to.buffer(100.0)
            return walk_network_from_ways(read_ways(path, crs, within), crs, clip_to=clip_to)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(Problem(str(path), None, None, f"cannot read the ways ({exc})",
                                     "give a GPKG of LineStrings with a highway column")) from None
    from .osmfile import load_network_file

    try:
        g = load_network_file(path)
    except (OSError, ValueError, KeyError, ElementTree.ParseError) as exc:
        raise InputError(Problem(str(path), None, None, f"cannot read the network ({exc})",
                                 "give an OSM XML (.osm), .osm.pbf, .graphml or .gpkg (ways) "
                                 "file")) from None
    net = walk_network_from_graph(g, crs, clip_to=clip_to)
    if net.n_edges == 0:
        raise InputError(Problem(str(path), None, None, "no walkable street in the study area",
                                 "check that the network file covers the units"))
    return net
