"""What every OSM reader shares: the file-name rules, the box test, the nodes and ways a reader
gathers (:class:`RawOsm`) before they become segments, and the message of a bad file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

from ..errors import InputError, Problem
from ..osmtags import WALK_RULE_TAGS, is_walkable

#: One OSM object: ``{"osm_type": "node"|"way"|"relation", "osm_id": int, "tags": dict,
#: "geometry": shapely geometry in EPSG:4326}`` (``circle15 fetch`` reads them from PBFs).
OsmRecord = dict[str, Any]

#: (west, south, east, north) in degrees, WGS-84.
BBox = tuple[float, float, float, float]

_XML_SUFFIXES = (".osm", ".xml", ".osm.bz2", ".xml.bz2", ".osm.gz", ".xml.gz")
WAY_TAGS = frozenset({*WALK_RULE_TAGS, "name"})
"""The way tags a reader keeps: those the walk rule reads, and the name."""


def is_pbf(path: str | Path) -> bool:
    """True for ``*.pbf`` / ``*.osm.pbf`` file names."""
    return Path(path).name.lower().endswith(".pbf")


def is_osm_xml(path: str | Path) -> bool:
    """True for OSM XML file names: ``.osm``, ``.xml``, optionally ``.bz2`` / ``.gz``."""
    return Path(path).name.lower().endswith(_XML_SUFFIXES)


def in_bbox(lon: float, lat: float, bbox: BBox | None) -> bool:
    """Whether a point (degrees) lies in ``bbox`` (always, when ``bbox`` is None)."""
    return bbox is None or (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3])


def is_html(head: bytes) -> bool:
    """Whether the start of a file (lower case) is a web page's."""
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:200]


@dataclass
class Way:
    """One way as a reader keeps it: node references (consecutive repeats dropped), whether the
    walk rule admits it, and, if so, its name and highway tag."""

    osm_id: int
    refs: list[int]
    walkable: bool
    name: str = ""
    highway: str = ""


@dataclass
class RawOsm:
    """What a reader gathered: nodes in file order, ways in file order."""

    file: str
    index: dict[int, int] = field(default_factory=dict)  # node id -> position
    lon: list[float] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)
    bad: dict[int, Problem] = field(default_factory=dict)  # node id -> its coordinate problem
    ways: dict[int, Way] = field(default_factory=dict)  # way id -> way, file order
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

    def add_way(self, way: Way) -> None:
        # A repeated id keeps its first position and its last content (as osmnx did).
        self.n_ways_total += 1
        self.ways[way.osm_id] = way


def fail(file: str, problem: str, fix: str, field_: str | None = None) -> InputError:
    """The error of a bad OSM file: the file, what is wrong, and how to fix it."""
    return InputError(Problem(file, None, field_, problem, fix))


def way_from_tags(osm_id: int, refs: Iterable[int], tags: Mapping[str, str]) -> Way:
    """A :class:`Way` from its id, node references and (the :data:`WAY_TAGS` of its) tags."""
    deduped = [r for r, _ in groupby(refs)]  # consecutive repeats make no segment
    walkable = is_walkable(tags)
    return Way(osm_id, deduped, walkable, tags.get("name", "") if walkable else "",
               tags.get("highway", "") if walkable else "")
