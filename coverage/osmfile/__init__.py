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

Modules: :mod:`.raw` the readers' shared types and rules, :mod:`.osmxml` and :mod:`.pbf` the
two readers, :mod:`.segments` ways -> ordered segments, :mod:`.graphml`; :func:`read_streets`
(here) ties them together.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import InputError
from .graphml import read_graphml
from .osmxml import read_xml
from .pbf import check_pbf, read_pbf
from .raw import BBox, OsmRecord, fail, in_bbox, is_osm_xml, is_pbf
from .segments import OsmStreets, check_ways, segments, way_in_bbox

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
        raise fail(str(path), "file not found" if not path.exists() else "is a folder, not a "
                   "file", "check the path ([area] network in area.toml)")
    if not (is_pbf(path) or is_osm_xml(path)):
        raise fail(str(path), "is not an OSM file name",
                   "use .osm (OSM XML, also .osm.bz2 / .osm.gz) or .osm.pbf")
    raw = read_pbf(path, bbox) if is_pbf(path) else read_xml(path)
    ways = list(raw.ways.values())
    walkable = [w for w in ways if w.walkable]
    if bbox is not None:
        for w in walkable:
            w.walkable = way_in_bbox(raw, w, bbox)
        walkable = [w for w in walkable if w.walkable]
    problems = check_ways(raw, walkable)
    if problems:
        raise InputError(problems)
    if not walkable and bbox is not None:
        raise fail(str(path), "holds no walkable street in the box " + ",".join(
                   f"{v:.5f}" for v in bbox) + " (west,south,east,north)",
                   "use an extract that covers the study area")
    if not walkable:
        raise fail(str(path), f"holds no walkable street ({raw.n_ways_total} ways, none tagged "
                   "as a street or path people may walk)",
                   "give a street network extract: ways tagged highway=* (see the README, "
                   "Method: walk network)")
    streets = segments(raw, ways)
    if len(streets.seg_u) == 0:
        raise fail(str(path), "its walkable ways have no segment (each has a single node)",
                   "give a street network extract: ways tagged highway=*")
    log.info("%s: %d walkable ways, %d nodes, %d segments", path.name, streets.n_ways,
             len(streets.node_id), len(streets.seg_u))
    return streets
