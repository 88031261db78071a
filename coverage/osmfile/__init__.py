"""Read OpenStreetMap files: streets from ``.osm``/``.osm.pbf``/``.graphml``, features from PBFs.

Streets
    :func:`read_streets` reads the walkable ways (:func:`coverage.osmtags.is_walkable`) of an OSM
    XML file (``.osm``, ``.xml``, also ``.bz2`` / ``.gz`` compressed; a streaming parse with the
    standard library) or of an ``.osm.pbf`` extract (pyosmium, BSD-2-Clause) and returns them as
    straight segments between consecutive OSM nodes, each undirected segment once, in EPSG:4326.
    Both formats give the same :class:`OsmStreets` for the same data (``osmium cat x.osm -o
    x.osm.pbf``), negative ids included (JOSM-edited files have them).

    **Order.** Nodes keep the file's order. Segments are ordered as osmnx's
    ``graph_from_xml(simplify=False, retain_all=True, bidirectional=True)`` lists the edges of
    the graph it builds (circle15 read ``.osm`` files through osmnx before; snapping breaks
    ties by segment index, so the order is part of the result): by the file position of the
    segment's first node, then by when the other node first became that node's neighbour along
    any way of the file, ways in file order, each way's segments forwards then backwards. The
    tags of a segment shared by several walkable ways come from the first of them. Objects that
    JOSM marks as deleted (``action="delete"``, ``visible="false"``) are skipped.

    **Bad files** raise :class:`~coverage.errors.InputError` naming the file, the problem and
    the fix: not found, truncated or not well-formed XML, a web page saved instead of the data,
    an XML file named ``.pbf`` (or a damaged extract), a node coordinate that is not a number in
    range, walkable ways referring to nodes the file does not hold, and no walkable way at all.

GraphML
    :func:`read_graphml` reads a street graph saved by osmnx (``network.graphml`` of
    ``circle15 fetch``) with networkx alone, converting what the walk network needs.
"""

from __future__ import annotations

import bz2
import gzip
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast
from xml.etree import ElementTree

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError, Problem
from ..osmtags import WALK_RULE_TAGS, is_walkable

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "BBox",
    "OsmRecord",
    "OsmStreets",
    "check_pbf",
    "in_bbox",
    "is_osm_xml",
    "is_pbf",
    "read_graphml",
    "read_streets",
]

log = logging.getLogger(__name__)

#: One OSM object: ``{"osm_type": "node"|"way"|"relation", "osm_id": int, "tags": dict,
#: "geometry": shapely geometry in EPSG:4326}`` (``circle15 fetch`` reads them from PBFs).
OsmRecord = dict[str, Any]

#: (west, south, east, north) in degrees, WGS-84.
BBox = tuple[float, float, float, float]

_XML_SUFFIXES = (".osm", ".xml", ".osm.bz2", ".xml.bz2", ".osm.gz", ".xml.gz")
_WAY_TAGS = frozenset({*WALK_RULE_TAGS, "name"})
_MAX_LISTED = 10  # problems of one kind listed one by one before they are summarised
_COMPLETE_WAYS_FIX = (
    "export the streets with complete ways: JOSM downloads them; osmium extract --strategy "
    "complete_ways; an Overpass query needs `(._;>;);` before `out;`")


def is_pbf(path: str | Path) -> bool:
    """True for ``*.pbf`` / ``*.osm.pbf`` file names."""
    return Path(path).name.lower().endswith(".pbf")


def is_osm_xml(path: str | Path) -> bool:
    """True for OSM XML file names: ``.osm``, ``.xml``, optionally ``.bz2`` / ``.gz``."""
    return Path(path).name.lower().endswith(_XML_SUFFIXES)


@dataclass(frozen=True, eq=False)
class OsmStreets:
    """The walkable ways of an OSM file as straight segments between OSM nodes (EPSG:4326).

    Attributes
    ----------
    node_id : ndarray of int64, shape (n,)
        OSM id of every node a segment uses, in file order.
    node_lonlat : ndarray of float, shape (n, 2)
        Longitude and latitude (degrees, WGS-84).
    seg_u, seg_v : ndarray of intp, shape (m,)
        Node indices of each undirected segment (``seg_u`` is the end that comes first in the
        file), in the order described in the module docstring.
    seg_way : ndarray of int64, shape (m,)
        OSM id of the way the segment's tags come from.
    seg_name, seg_highway : ndarray of object, shape (m,)
        That way's ``name`` and ``highway`` ("" when absent).
    n_ways : int
        Walkable ways read.
    """

    node_id: NDArray[np.int64]
    node_lonlat: NDArray[np.float64]
    seg_u: NDArray[np.intp]
    seg_v: NDArray[np.intp]
    seg_way: NDArray[np.int64]
    seg_name: NDArray[np.object_]
    seg_highway: NDArray[np.object_]
    n_ways: int


@dataclass
class _Way:
    osm_id: int
    refs: list[int]
    walkable: bool
    name: str = ""
    highway: str = ""


@dataclass
class _RawOsm:
    """What a reader gathered: nodes in file order, ways in file order."""

    file: str
    index: dict[int, int] = field(default_factory=dict)  # node id -> position
    lon: list[float] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)
    bad: dict[int, Problem] = field(default_factory=dict)  # node id -> its coordinate problem
    ways: dict[int, _Way] = field(default_factory=dict)  # way id -> way, file order
    problems: list[Problem] = field(default_factory=list)
    n_ways_total: int = 0

    def add_node(self, osm_id: int, lon: float, lat: float) -> None:
        # A repeated id keeps its first position and its last coordinates (as osmnx did).
        i = self.index.setdefault(osm_id, len(self.lon))
        if i == len(self.lon):
            self.lon.append(lon)
            self.lat.append(lat)
        else:
            self.lon[i], self.lat[i] = lon, lat

    def add_way(self, way: _Way) -> None:
        # A repeated id keeps its first position and its last content (as osmnx did).
        self.n_ways_total += 1
        self.ways[way.osm_id] = way


def _fail(file: str, problem: str, fix: str, field_: str | None = None) -> InputError:
    return InputError(Problem(file, None, field_, problem, fix))


def _way_from_tags(osm_id: int, refs: Iterable[int], tags: Mapping[str, str]) -> _Way:
    deduped = [r for r, _ in groupby(refs)]  # consecutive repeats make no segment
    walkable = is_walkable(tags)
    return _Way(osm_id, deduped, walkable, tags.get("name", "") if walkable else "",
                tags.get("highway", "") if walkable else "")


# --- OSM XML -------------------------------------------------------------------------------


@contextmanager
def _open_xml(path: Path) -> Iterator[IO[bytes]]:
    name = path.name.lower()
    if name.endswith(".bz2"):
        with bz2.open(path, "rb") as f:
            yield f
    elif name.endswith(".gz"):
        with gzip.open(path, "rb") as g:
            yield cast(IO[bytes], g)
    else:
        with path.open("rb") as f:
            yield f


def _sniff(path: Path) -> bytes:
    try:
        with _open_xml(path) as f:
            return f.read(512).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    except (OSError, EOFError):  # damaged compression: the parse reports it
        return b""


def _is_html(head: bytes) -> bool:
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:200]


def _coordinate(raw: Mapping[str, str], key: str, limit: float) -> tuple[float, str | None]:
    text = raw.get(key)
    if text is None:
        return float("nan"), f"has no {key}"
    try:
        value = float(text)
    except ValueError:
        return float("nan"), f"has {key}={text!r}, not a number"
    if not -limit <= value <= limit:  # also catches nan
        return float("nan"), f"has {key}={text!r}, outside -{limit:g}..{limit:g}"
    return value, None


def _deleted(attrs: Mapping[str, str]) -> bool:
    return attrs.get("action") == "delete" or attrs.get("visible") == "false"


def _xml_node(elem: ElementTree.Element, raw: _RawOsm) -> None:
    attrs = elem.attrib
    try:
        osm_id = int(attrs["id"])
    except (KeyError, ValueError):
        raw.problems.append(Problem(raw.file, None, "id", f"a node has id={attrs.get('id')!r}",
                                    "give every node an integer id"))
        return
    if _deleted(attrs):
        return
    lon, lon_problem = _coordinate(attrs, "lon", 180.0)
    lat, lat_problem = _coordinate(attrs, "lat", 90.0)
    raw.add_node(osm_id, lon, lat)
    problem = lat_problem or lon_problem
    if problem:
        raw.bad[osm_id] = Problem(raw.file, None, "lat" if lat_problem else "lon",
                                  f"node {osm_id} {problem}",
                                  "correct the node's coordinates (decimal degrees, WGS-84)")
    else:
        raw.bad.pop(osm_id, None)


def _xml_way(elem: ElementTree.Element, raw: _RawOsm) -> None:
    attrs = elem.attrib
    try:
        osm_id = int(attrs["id"])
        refs = [int(nd.attrib["ref"]) for nd in elem.iter("nd")]
    except (KeyError, ValueError):
        raw.problems.append(Problem(raw.file, None, "id", f"way {attrs.get('id')!r} has an id or "
                                    "node reference that is not an integer",
                                    "give every way and <nd ref=...> an integer id"))
        return
    if _deleted(attrs):
        return
    tags = {t.attrib.get("k", ""): t.attrib.get("v", "") for t in elem.iter("tag")}
    raw.add_way(_way_from_tags(osm_id, refs, {k: v for k, v in tags.items() if k in _WAY_TAGS}))


def _tail(path: Path, size: int = 256) -> bytes:
    try:
        with _open_xml(path) as f:
            tail = b""
            for block in iter(lambda: f.read(1 << 20), b""):
                tail = (tail + block)[-size:]
            return tail
    except (OSError, EOFError):
        return b""


def _xml_error(path: Path, exc: ElementTree.ParseError) -> InputError:
    line, column = exc.position
    if not _tail(path).rstrip().endswith(b">"):
        return _fail(str(path), f"the file stops in the middle (line {line}, no closing </osm>): "
                     "it is truncated", "download or export the file again and check that the "
                     "copy is complete")
    return _fail(str(path), f"cannot be read as OSM XML: {exc}",
                 "give an OSM XML file (.osm) as exported by JOSM, Overpass or osmium; "
                 f"look at line {line}, column {column} of the file")


def _read_xml(path: Path) -> _RawOsm:
    head = _sniff(path)
    if _is_html(head):
        raise _fail(str(path), "is a web page (HTML), not OpenStreetMap data",
                    "save the data itself: JOSM File > Save As (.osm), or the Overpass/Geofabrik "
                    "download (not the page that links to it)")
    raw = _RawOsm(str(path))
    handlers = {"node": _xml_node, "way": _xml_way}
    root: ElementTree.Element | None = None
    try:
        with _open_xml(path) as f:
            for event, elem in ElementTree.iterparse(f, events=("start", "end")):
                if root is None:
                    root = elem
                    if elem.tag != "osm":
                        raise _fail(str(path), f"is XML but not OSM XML (its root element is "
                                    f"<{elem.tag}>, not <osm>)", "give an OSM XML file (.osm)")
                    continue
                if event == "end" and elem.tag in ("node", "way", "relation"):
                    if elem.tag in handlers:
                        handlers[elem.tag](elem, raw)
                    root.clear()  # keep memory flat on large files
    except ElementTree.ParseError as exc:
        raise _xml_error(path, exc) from None
    except (EOFError, OSError) as exc:  # damaged .bz2 / .gz
        raise _fail(str(path), f"cannot be decompressed ({exc})",
                    "download or export the file again") from None
    return raw


# --- .osm.pbf --------------------------------------------------------------------------------


def check_pbf(path: Path) -> None:
    """Raise :class:`~coverage.errors.InputError` unless ``path`` starts like an .osm.pbf file
    (an XML file or a web page named .pbf gets a message saying what it is)."""
    with path.open("rb") as f:
        head = f.read(64)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<"):
        if _is_html(text):
            raise _fail(str(path), "is a web page (HTML), not an .osm.pbf extract",
                        "download the extract itself (e.g. the .osm.pbf link on Geofabrik)")
        stem = path.name[: -len(".pbf")]
        new_name = stem if stem.lower().endswith(".osm") else f"{stem}.osm"
        raise _fail(str(path), "is OSM XML, not the binary .osm.pbf format its name says",
                    f"rename it to {new_name}")
    if b"OSMHeader" not in head:
        raise _fail(str(path), "is not an .osm.pbf extract (no OSMHeader block at the start)",
                    "give an OpenStreetMap .osm.pbf file (e.g. from Geofabrik) or an .osm file")


def _pbf_error(path: Path, exc: Exception) -> InputError:
    return _fail(str(path), f"cannot be read as .osm.pbf ({exc}): the file is truncated or "
                 "damaged", "download the extract again and check its size / checksum")


def in_bbox(lon: float, lat: float, bbox: BBox | None) -> bool:
    """Whether a point (degrees) lies in ``bbox`` (always, when ``bbox`` is None)."""
    return bbox is None or (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3])


def _pbf_walkable_ways(path: Path, bbox: BBox | None) -> dict[int, _Way]:
    """Pass 1: the walkable ways (with a node in ``bbox`` when given), by id."""
    import osmium

    fp: Any  # pyosmium's iterators yield a union of object types
    if bbox is None:
        fp = osmium.FileProcessor(str(path), osmium.osm.WAY)
    else:  # node locations are kept in C++ for the bbox test; nodes never reach Python
        fp = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
              .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY)))
    ways: dict[int, _Way] = {}
    for way in fp.with_filter(osmium.filter.KeyFilter("highway")):
        if not way.visible:
            continue
        tags = {t.k: t.v for t in way.tags if t.k in _WAY_TAGS}
        if not is_walkable(tags):
            continue
        if bbox is not None and not any(
                nd.location.valid() and in_bbox(nd.lon, nd.lat, bbox) for nd in way.nodes):
            continue
        ways[way.id] = _way_from_tags(way.id, (nd.ref for nd in way.nodes), tags)
    return ways


def _pbf_all_ways(path: Path, walkable: dict[int, _Way], raw: _RawOsm) -> None:
    """Pass 2: every way in file order; other ways only where they touch a walkable node."""
    import osmium

    nodes = {r for w in walkable.values() for r in w.refs}
    ways: Any = osmium.FileProcessor(str(path), osmium.osm.WAY)
    for way in ways:
        if not way.visible:
            continue
        if way.id in walkable:
            raw.add_way(walkable[way.id])
            continue
        refs = [nd.ref for nd in way.nodes]
        if any(r in nodes for r in refs):  # may set the order of a walkable node's neighbours
            raw.add_way(_Way(way.id, [r for r, _ in groupby(refs)], False))
        else:
            raw.n_ways_total += 1


def _pbf_nodes(path: Path, raw: _RawOsm) -> None:
    """Pass 3: the nodes the ways use, in file order."""
    import osmium

    needed = {r for w in raw.ways.values() for r in w.refs}
    fp: Any = osmium.FileProcessor(str(path), osmium.osm.NODE)
    if needed and min(needed) >= 0:  # pyosmium's id filter takes no negative ids
        fp = fp.with_filter(osmium.filter.IdFilter(needed))
    for node in fp:
        if node.id not in needed or not node.visible:
            continue
        if node.location.valid():
            raw.add_node(node.id, node.lon, node.lat)
        else:
            raw.add_node(node.id, float("nan"), float("nan"))
            raw.bad[node.id] = Problem(raw.file, None, "lat", f"node {node.id} has an invalid "
                                       "location", "correct the node's coordinates")


def _read_pbf(path: Path, bbox: BBox | None) -> _RawOsm:
    check_pbf(path)
    raw = _RawOsm(str(path))
    try:
        walkable = _pbf_walkable_ways(path, bbox)
        _pbf_all_ways(path, walkable, raw)
        _pbf_nodes(path, raw)
    except RuntimeError as exc:
        raise _pbf_error(path, exc) from None
    return raw


# --- ways -> ordered segments ------------------------------------------------------------------


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _check_ways(raw: _RawOsm, ways: list[_Way]) -> list[Problem]:
    problems = list(raw.problems)
    missing: dict[int, list[int]] = {}
    for w in ways:
        gone = [r for r in w.refs if r not in raw.index]
        if gone:
            missing[w.osm_id] = gone
    if missing:
        n_nodes = len({r for gone in missing.values() for r in gone})
        listed = "; ".join(f"way {w} -> node {', '.join(map(str, gone[:3]))}"
                           + (" ..." if len(gone) > 3 else "")
                           for w, gone in list(missing.items())[:_MAX_LISTED])
        more = " ..." if len(missing) > _MAX_LISTED else ""
        problems.append(Problem(raw.file, None, None,
                                f"{_count(len(missing), 'walkable way')} refer to "
                                f"{_count(n_nodes, 'node')} the file does not hold "
                                f"({listed}{more})", _COMPLETE_WAYS_FIX))
    used = {r for w in ways for r in w.refs}
    bad = [p for node, p in raw.bad.items() if node in used]
    problems += bad[:_MAX_LISTED]
    if len(bad) > _MAX_LISTED:
        problems.append(Problem(raw.file, None, None, f"... and {len(bad) - _MAX_LISTED} more "
                                "nodes with bad coordinates", "correct the nodes' coordinates"))
    return problems


def _in_box(raw: _RawOsm, way: _Way, bbox: BBox) -> bool:
    return any(r in raw.index and in_bbox(raw.lon[raw.index[r]], raw.lat[raw.index[r]], bbox)
               for r in way.refs)


def _pairs(raw: _RawOsm, ways: list[_Way]) -> tuple[NDArray[np.int64], ...]:
    """Consecutive node pairs of every way (node positions; -1 = not in the file).

    Returns ``a, b, way, t_fwd, t_rev``: the pair's two nodes, its way's position in ``ways``
    and the times osmnx's graph builder adds ``a -> b`` and ``b -> a`` (a running count: ways
    in order, each way's pairs forwards, then backwards).
    """
    lengths = np.fromiter((len(w.refs) for w in ways), np.int64, len(ways))
    pos = np.fromiter((raw.index.get(r, -1) for w in ways for r in w.refs), np.int64,
                      int(lengths.sum()))
    way_of = np.repeat(np.arange(len(ways)), lengths)
    same = way_of[:-1] == way_of[1:]
    a, b, way = pos[:-1][same], pos[1:][same], way_of[:-1][same]
    k = np.bincount(way, minlength=len(ways))  # pairs per way
    first_pair = np.concatenate([[0], np.cumsum(k)[:-1]])
    j = np.arange(len(a)) - first_pair[way]
    start = 2 * first_pair
    return a, b, way, start[way] + j, start[way] + k[way] + j


def _first_times(frm: NDArray[np.int64], to: NDArray[np.int64], t: NDArray[np.int64],
                 n: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For each directed pair ``frm -> to``: its key ``frm * n + to`` and its earliest time."""
    key = frm * n + to
    order = np.lexsort((t, key))
    keys, first = np.unique(key[order], return_index=True)
    return keys, t[order][first]


def _segments(raw: _RawOsm, ways: list[_Way]) -> OsmStreets:
    """Walkable segments of ``ways`` (all ways of the file, in order), ordered as osmnx did."""
    n = len(raw.lon)
    a, b, way, t_fwd, t_rev = _pairs(raw, ways)
    known = (a >= 0) & (b >= 0)
    keys, t_first = _first_times(np.concatenate([a[known], b[known]]),
                                 np.concatenate([b[known], a[known]]),
                                 np.concatenate([t_fwd[known], t_rev[known]]), max(n, 1))
    walk = known & np.fromiter((ways[w].walkable for w in way.tolist()), bool, len(way))
    lo, hi, seg_way = np.minimum(a, b)[walk], np.maximum(a, b)[walk], way[walk]
    _, first = np.unique(lo * n + hi, return_index=True)  # the first walkable way's tags win
    lo, hi, seg_way = lo[first], hi[first], seg_way[first]
    t_lo_hi = t_first[np.searchsorted(keys, lo * n + hi)]
    order = np.lexsort((t_lo_hi, lo))
    lo, hi, seg_way = lo[order], hi[order], seg_way[order]
    used = np.unique(np.concatenate([lo, hi]))
    node_id = np.fromiter(raw.index.keys(), np.int64, n)[used]
    lonlat = np.column_stack([np.asarray(raw.lon), np.asarray(raw.lat)]).reshape(-1, 2)[used]
    return OsmStreets(
        node_id=node_id, node_lonlat=lonlat,
        seg_u=np.searchsorted(used, lo).astype(np.intp),
        seg_v=np.searchsorted(used, hi).astype(np.intp),
        seg_way=np.asarray([ways[w].osm_id for w in seg_way.tolist()], dtype=np.int64),
        seg_name=np.asarray([ways[w].name for w in seg_way.tolist()], dtype=object),
        seg_highway=np.asarray([ways[w].highway for w in seg_way.tolist()], dtype=object),
        n_ways=sum(w.walkable for w in ways),
    )


def read_streets(path: str | Path, *, bbox: BBox | None = None) -> OsmStreets:
    """The walkable streets of an OSM XML or ``.osm.pbf`` file as straight segments.

    Parameters
    ----------
    path : str or Path
        ``.osm`` / ``.xml`` (optionally ``.bz2`` / ``.gz``) or ``.osm.pbf``.
    bbox : (west, south, east, north), optional
        Keep only walkable ways with at least one node inside this box (degrees, WGS-84).

    Returns
    -------
    OsmStreets
        Nodes and segments in the order described in the module docstring.

    Raises
    ------
    InputError
        The file is missing, unreadable, not what its name says, has bad coordinates or
        incomplete ways, or holds no walkable way (message: file, problem, fix).
    """
    path = Path(path)
    if not path.is_file():
        raise _fail(str(path), "file not found" if not path.exists() else "is a folder, not a "
                    "file", "check the path ([area] network in area.toml)")
    if not (is_pbf(path) or is_osm_xml(path)):
        raise _fail(str(path), "is not an OSM file name",
                    "use .osm (OSM XML, also .osm.bz2 / .osm.gz) or .osm.pbf")
    raw = _read_pbf(path, bbox) if is_pbf(path) else _read_xml(path)
    ways = list(raw.ways.values())
    walkable = [w for w in ways if w.walkable]
    if bbox is not None:
        for w in walkable:
            w.walkable = _in_box(raw, w, bbox)
        walkable = [w for w in walkable if w.walkable]
    problems = _check_ways(raw, walkable)
    if problems:
        raise InputError(problems)
    if not walkable and bbox is not None:
        raise _fail(str(path), "holds no walkable street in the box " + ",".join(
                    f"{v:.5f}" for v in bbox) + " (west,south,east,north)",
                    "use an extract that covers the study area")
    if not walkable:
        raise _fail(str(path), f"holds no walkable street ({raw.n_ways_total} ways, none tagged "
                    "as a street or path people may walk)",
                    "give a street network extract: ways tagged highway=* (see the README, "
                    "Method: walk network)")
    streets = _segments(raw, ways)
    if len(streets.seg_u) == 0:
        raise _fail(str(path), "its walkable ways have no segment (each has a single node)",
                    "give a street network extract: ways tagged highway=*")
    log.info("%s: %d walkable ways, %d nodes, %d segments", path.name, streets.n_ways,
             len(streets.node_id), len(streets.seg_u))
    return streets


# --- GraphML saved by osmnx ---------------------------------------------------------------------


def _literal(value: str) -> Any:
    # osmnx writes the merged tags of a simplified edge as a Python list literal.
    if value.startswith("[") and value.endswith("]"):
        import ast

        try:
            return ast.literal_eval(value)
        except (SyntaxError, ValueError):
            return value
    return value


def read_graphml(path: str | Path) -> nx.MultiDiGraph:
    """A street graph saved by osmnx (``save_graphml``), read with networkx alone.

    The node ids, ``x``/``y``, the tags the walk rule reads, ``name``, ``length`` and
    ``geometry`` are converted as ``osmnx.load_graphml`` converts them; other attributes stay
    text.

    Raises
    ------
    InputError
        The file is missing, a web page, or not GraphML (message: file, problem, fix).
    """
    import networkx as nx
    import shapely

    path = Path(path)
    fix = "give a .graphml file saved by osmnx (e.g. the network.graphml of circle15 fetch)"
    if _is_html(_sniff(path)):
        raise _fail(str(path), "is a web page (HTML), not GraphML (a failed download?)", fix)
    try:
        g = nx.read_graphml(path, node_type=int, force_multigraph=True)
    except ElementTree.ParseError as exc:
        truncated = "no element found" in str(exc)
        raise _fail(str(path), "ends in the middle: it is truncated" if truncated
                    else f"cannot be read as GraphML ({exc})", fix) from None
    except (nx.NetworkXError, ValueError, KeyError, TypeError) as exc:
        raise _fail(str(path), f"is not a street graph saved by osmnx ({type(exc).__name__}: "
                    f"{exc})", fix) from None
    converted = (*WALK_RULE_TAGS, "name")
    for _, _, data in g.edges(data=True):
        for key in converted:
            if isinstance(data.get(key), str):
                data[key] = _literal(data[key])
        if "length" in data:
            data["length"] = float(data["length"])
        if "geometry" in data:
            data["geometry"] = shapely.from_wkt(data["geometry"])
    for node, data in g.nodes(data=True):
        try:
            data["x"], data["y"] = float(data["x"]), float(data["y"])
        except (KeyError, ValueError):
            raise _fail(str(path), f"node {node} has no numeric x/y coordinates", fix) from None
    return g
