"""The walkable ways of a :class:`~coverage.osmfile.raw.RawOsm` as ordered straight segments
(:class:`OsmStreets`; the order is described in :mod:`coverage.osmfile`), and the problems of
ways that refer to nodes the file does not hold or that have bad coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import Problem
from .raw import BBox, RawOsm, Way, in_bbox

_MAX_LISTED = 10  # problems of one kind listed one by one before they are summarised
_COMPLETE_WAYS_FIX = (
    "export the streets with complete ways: JOSM downloads them; osmium extract --strategy "
    "complete_ways; an Overpass query needs `(._;>;);` before `out;`")


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
        file), in the order described in :mod:`coverage.osmfile`.
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


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def check_ways(raw: RawOsm, ways: list[Way]) -> list[Problem]:
    """The reader's problems, then those of ``ways`` (the walkable ones): nodes the file does
    not hold, and bad coordinates (the first ten of each kind, then a count)."""
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


def way_in_bbox(raw: RawOsm, way: Way, bbox: BBox) -> bool:
    """Whether a node of ``way`` lies in ``bbox``."""
    return any(r in raw.index and in_bbox(raw.lon[raw.index[r]], raw.lat[raw.index[r]], bbox)
               for r in way.refs)


def _pairs(raw: RawOsm, ways: list[Way]) -> tuple[NDArray[np.int64], ...]:
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


def segments(raw: RawOsm, ways: list[Way]) -> OsmStreets:
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
