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
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.sparse.csgraph import connected_components

from .errors import InputError, Problem
from .osmfile import OsmStreets, is_osm_xml, is_pbf, read_graphml, read_streets
from .osmtags import WALK_RULE_TAGS, is_walkable, tag_values

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

__all__ = [
    "WalkNetwork",
    "build_walk_network",
    "load_walk_network",
    "read_ways",
    "street_lines",
    "walk_network_from_graph",
    "walk_network_from_streets",
    "walk_network_from_ways",
]

log = logging.getLogger(__name__)

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

    @cached_property
    def main_edge_tree(self) -> shapely.STRtree:
        """Spatial index over the main component's edges (built once: every layer with points
        on islands asks how far the main network is)."""
        main_edges = np.flatnonzero(self.component[self.edge_u] == self.main_component)
        return shapely.STRtree(self.edge_lines[main_edges])

    def to_networkx(self) -> nx.Graph:
        """The same network as an undirected networkx Graph (``length`` in metres)."""
        import networkx as nx

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
    values = tag_values(tag)
    return values[0] if values else ""


class _InnerVertices:
    """Vertices inside edge geometries, numbered after the graph's nodes; the two directions of
    a simplified edge share theirs (keyed by their exact coordinates)."""

    def __init__(self, first: int) -> None:
        self.first = first
        self.index: dict[tuple[float, float], int] = {}

    def chain(self, coords: NDArray[np.float64]) -> list[int]:
        return [self.index.setdefault((x, y), self.first + len(self.index))
                for x, y in coords.tolist()]

    def lonlat(self) -> NDArray[np.float64]:
        return np.asarray(list(self.index), dtype=float).reshape(-1, 2)


def walk_network_from_graph(
    g: nx.MultiDiGraph, crs: str, *, clip_to: Any = None
) -> WalkNetwork:
    """Turn an osmnx graph (EPSG:4326 or projected) into a :class:`WalkNetwork`.

    Keeps walkable edges only (:func:`is_walkable`), every connected component, both directions.
    Edges carrying a ``geometry`` (simplified graphs) are split into their straight segments;
    the vertices inside geometries get negative ids.

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
    index = {osm: i for i, osm in enumerate(osmids.tolist())}
    inner = _InnerVertices(len(osmids))
    us: list[int] = []
    vs: list[int] = []
    names: list[str] = []
    highways: list[str] = []
    dropped = 0
    for a, b, data in g.edges(data=True):
        if not is_walkable(data):
            dropped += 1
            continue
        geom = data.get("geometry")
        middle = [] if geom is None else inner.chain(np.asarray(geom.coords)[1:-1])
        chain = [index[a], *middle, index[b]]
        us.extend(chain[:-1])
        vs.extend(chain[1:])
        names.extend([_first(data.get("name"))] * (len(chain) - 1))
        highways.extend([_first(data.get("highway"))] * (len(chain) - 1))
    lonlat = np.concatenate([np.column_stack([xs, ys]), inner.lonlat()])
    px, py = to_crs.transform(lonlat[:, 0], lonlat[:, 1])
    node_osmid = np.concatenate([osmids, -(np.arange(len(inner.index), dtype=np.int64)
                                           + len(osmids) + 1)])
    net = build_walk_network(
        np.column_stack([px, py]), np.asarray(us, dtype=np.intp), np.asarray(vs, dtype=np.intp),
        crs=crs, node_osmid=node_osmid, edge_name=np.asarray(names, dtype=object),
        edge_highway=np.asarray(highways, dtype=object), clip_to=clip_to,
    )
    log.info(
        "walk network: %d nodes, %d edges (%.1f km), %d components (largest %d nodes); "
        "%d non-walkable directed edges dropped",
        net.n_nodes, net.n_edges, net.edge_length_m.sum() / 1000, len(net.component_size),
        net.component_size.max() if net.n_nodes else 0, dropped,
    )
    return net


def walk_network_from_streets(streets: OsmStreets, crs: str, *,
                              clip_to: Any = None) -> WalkNetwork:
    """Build a :class:`WalkNetwork` from the walkable segments of an OSM file.

    Parameters
    ----------
    streets : OsmStreets
        From :func:`coverage.osmfile.read_streets` (EPSG:4326).
    crs : str
        Target projected CRS.
    clip_to : shapely geometry, optional
        Area in ``crs``: keep only edges with at least one end inside it.
    """
    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    px, py = to_crs.transform(streets.node_lonlat[:, 0], streets.node_lonlat[:, 1])
    net = build_walk_network(
        np.column_stack([px, py]), streets.seg_u, streets.seg_v, crs=crs,
        node_osmid=streets.node_id, edge_name=streets.seg_name,
        edge_highway=streets.seg_highway, clip_to=clip_to,
    )
    log.info("walk network: %d nodes, %d edges (%.1f km), %d components (largest %d nodes) "
             "from %d walkable ways", net.n_nodes, net.n_edges, net.edge_length_m.sum() / 1000,
             len(net.component_size), net.component_size.max() if net.n_nodes else 0,
             streets.n_ways)
    return net


def _way_lines(ways: gpd.GeoDataFrame) -> tuple[NDArray[np.float64], NDArray[np.intp],
                                                 NDArray[np.intp]]:
    """Vertices of every way, the way and the line part each vertex belongs to."""
    parts, part_way = shapely.get_parts(ways.geometry.to_numpy(), return_index=True)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    return coords, part_way[part], part


def _walkable(tag_cols: list[str], row: tuple[Any, ...], seen: dict[Any, bool]) -> bool:
    """:func:`is_walkable` of one way's tag values, asked once per distinct combination (a city
    has tens of thousands of ways but a few hundred combinations)."""
    try:
        return seen[row]
    except KeyError:
        walkable = seen[row] = is_walkable(dict(zip(tag_cols, row, strict=True)))
        return walkable
    except TypeError:  # an unhashable value (a list of merged tags): ask directly
        return is_walkable(dict(zip(tag_cols, row, strict=True)))


def walk_network_from_ways(ways: gpd.GeoDataFrame, crs: str, *,
                           clip_to: Any = None) -> WalkNetwork:
    """Build a :class:`WalkNetwork` from a GeoDataFrame of OSM ways (LineStrings).

    Columns used: ``highway`` (and the other tags :func:`~coverage.osmtags.is_walkable` reads,
    when present), ``name``, and optionally ``node_ids`` (space-separated OSM node ids, one
    per vertex) so that ways join at shared nodes; without it ways join where vertices coincide
    (to 1e-7 degrees / 1 cm). The parts of a MultiLineString are not joined to one another.

    Parameters
    ----------
    ways : GeoDataFrame
        With a CRS.
    crs : str
        Target projected CRS.
    clip_to : shapely geometry, optional
        Area in ``crs``: keep only edges with at least one end inside it.

    Raises
    ------
    ValueError
        If ``node_ids`` does not list one id per vertex.
    """
    tag_cols = [c for c in WALK_RULE_TAGS if c in ways.columns]
    tags = ways[tag_cols].astype(object).where(ways[tag_cols].notna(), None)
    seen: dict[tuple[Any, ...], bool] = {}
    walkable = np.array([_walkable(tag_cols, row, seen)
                         for row in tags.itertuples(index=False, name=None)], dtype=bool)
    ways = ways[walkable].to_crs(crs)
    coords, way, part = _way_lines(ways)
    if "node_ids" in ways.columns:
        # One join and one parse for all ways (a per-way array is 2-3x slower city-wide).
        key = np.fromiter(map(int, " ".join(ways["node_ids"].astype(str).tolist()).split()),
                          dtype=np.int64)
        if len(key) != len(coords):
            raise ValueError("node_ids do not list one node id per vertex of the ways")
    else:
        ll = shapely.get_coordinates(ways.geometry.to_crs(4326).to_numpy())
        key = np.unique(np.round(ll * 1e7).astype(np.int64), axis=0, return_inverse=True)[1]
    node_key, first, node_of_vertex = np.unique(key, return_index=True, return_inverse=True)
    same_part = part[:-1] == part[1:]
    u = node_of_vertex[:-1][same_part]
    v = node_of_vertex[1:][same_part]
    seg_way = way[:-1][same_part]
    names = (ways["name"].fillna("").astype(str).to_numpy() if "name" in ways.columns
             else np.full(len(ways), "", dtype=object))[seg_way]
    highway = ways["highway"].astype(str).to_numpy()[seg_way]
    osmid = node_key if "node_ids" in ways.columns else -(np.arange(len(node_key)) + 1)
    net = build_walk_network(coords[first], u, v, crs=crs, node_osmid=osmid, edge_name=names,
                             edge_highway=highway, clip_to=clip_to)
    log.info("walk network: %d nodes, %d edges (%.1f km), %d components",
             net.n_nodes, net.n_edges, net.edge_length_m.sum() / 1000, len(net.component_size))
    return net


def read_ways(path: str | Path, crs: str, within: Any = None) -> gpd.GeoDataFrame:
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


_WAYS_FIX = ("give a GeoPackage whose first layer is OSM ways: LineStrings with a highway column "
             "(optional name, node_ids)")


def _check_ways_layer(ways: gpd.GeoDataFrame, file: str) -> None:
    types = set(ways.geom_type.dropna()) - {"LineString", "MultiLineString"}
    if types:
        raise InputError(Problem(file, None, "geometry", f"holds {', '.join(sorted(types))} "
                                 "geometries, not street lines (boundaries or compounds given as "
                                 "the network?)", _WAYS_FIX))
    if "highway" not in ways.columns:
        raise InputError(Problem(file, None, "highway", "has no highway column, so no way can be "
                                 "recognised as walkable", _WAYS_FIX))


def _gpkg_network(path: Path, crs: str, clip_to: Any) -> WalkNetwork:
    # Edges kept by clip_to have an end inside it, so their ways touch it.
    within = None if clip_to is None else clip_to.buffer(100.0)
    try:
        ways = read_ways(path, crs, within)
    except (OSError, RuntimeError, ValueError, KeyError) as exc:  # pyogrio's errors: RuntimeError
        raise InputError(Problem(str(path), None, None, f"cannot be read as a GeoPackage "
                                 f"({type(exc).__name__}: {exc})", _WAYS_FIX)) from None
    _check_ways_layer(ways, str(path))
    try:
        return walk_network_from_ways(ways, crs, clip_to=clip_to)
    except ValueError as exc:
        raise InputError(Problem(str(path), None, "node_ids", str(exc),
                                 "write node_ids as the ways' OSM node ids, space-separated, "
                                 "one per vertex; or drop the column")) from None


def _graphml_network(path: Path, crs: str, clip_to: Any) -> WalkNetwork:
    g = read_graphml(path)
    try:
        return walk_network_from_graph(g, crs, clip_to=clip_to)
    except (KeyError, ValueError, TypeError) as exc:
        raise InputError(Problem(str(path), None, None, f"is GraphML but not a street graph as "
                                 f"osmnx saves it ({type(exc).__name__}: {exc})",
                                 "save the graph with osmnx.save_graphml (nodes with x/y in the "
                                 "graph's crs, edges with OSM tags)")) from None


def load_walk_network(path: str | Path, crs: str, *, clip_to: Any = None) -> WalkNetwork:
    """Load the walkable network of a street file (.osm, .osm.pbf, .graphml or .gpkg of ways).

    This is the one check of the network file: ``circle15 run`` and ``circle15 validate`` both
    call it, so they accept and reject the same files with the same message.

    Parameters
    ----------
    path : str or Path
        Network file: OSM XML (``.osm``, ``.osm.bz2``, ``.osm.gz``), ``.osm.pbf``, ``.graphml``
        saved by osmnx, or a GeoPackage of OSM ways.
    crs : str
        Projected CRS to work in (metres).
    clip_to : shapely geometry, optional
        Area in ``crs`` (usually the units buffered by the longest walk) to keep.

    Raises
    ------
    InputError
        Whatever is wrong with the file (missing, truncated, not the format its name says,
        bad coordinates, ways referring to missing nodes, polygons instead of lines, no walkable
        way), or no walkable street in ``clip_to``; the message names the file and the fix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".gpkg", ".graphml") and not path.is_file():
        raise InputError(Problem(str(path), None, None, "file not found" if not path.exists()
                                 else "is a folder, not a file",
                                 "check the path ([area] network in area.toml)"))
    if suffix == ".gpkg":
        net = _gpkg_network(path, crs, clip_to)
    elif suffix == ".graphml":
        net = _graphml_network(path, crs, clip_to)
    elif is_pbf(path) or is_osm_xml(path):
        net = walk_network_from_streets(read_streets(path), crs, clip_to=clip_to)
    else:
        raise InputError(Problem(str(path), None, None, "is not a network file type circle15 "
                                 "reads", "use .osm (OSM XML), .osm.pbf, .graphml (osmnx) or "
                                 ".gpkg (OSM ways)"))
    if net.n_edges == 0:
        raise InputError(Problem(str(path), None, None, "none of its walkable streets lies in the "
                                 "study area (the units plus the longest walk)",
                                 "use a network file that covers the units (and check [area] "
                                 "crs and boundaries)"))
    return net


def street_lines(net: WalkNetwork, *, simplify_m: float = 2.0) -> Any:
    """The network's edges merged into street lines, simplified for display (the ``streets`` layer).

    Edges of the same street (same ``name`` and ``highway``) are merged into continuous lines
    at the nodes where exactly two of them meet, then simplified by ``simplify_m`` metres. The
    map, the report's static maps and the QGIS project draw these lines; distances are never
    measured on them.

    Returns
    -------
    GeoDataFrame
        ``name``, ``highway``, LineString geometry in ``net.crs``; ordered by highway, name and
        position (deterministic).
    """
    import geopandas as gpd
    import pandas as pd

    if net.n_edges == 0:
        return gpd.GeoDataFrame({"name": [], "highway": []}, geometry=[], crs=net.crs)
    edges = pd.DataFrame({"name": pd.Series(net.edge_name).fillna("").astype(str),
                          "highway": pd.Series(net.edge_highway).fillna("").astype(str)})
    rows: list[tuple[str, str, Any]] = []
    lines = net.edge_lines
    for (highway, name), idx in edges.groupby(["highway", "name"], sort=True).indices.items():
        merged = shapely.line_merge(shapely.multilinestrings(lines[np.sort(idx)]))
        for part in shapely.get_parts(merged):
            rows.append((name, highway, part))
    geoms = shapely.simplify(np.array([r[2] for r in rows], dtype=object), simplify_m)
    return gpd.GeoDataFrame({"name": [r[0] for r in rows], "highway": [r[1] for r in rows]},
                            geometry=geoms, crs=net.crs)
