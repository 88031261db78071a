"""``.osm.pbf`` extracts (pyosmium, BSD-2-Clause) into :class:`~coverage.osmfile.raw.RawOsm`, in
three passes so that the result equals the XML reader's for the same data."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path
from typing import Any

from ..errors import InputError, Problem
from ..osmtags import is_walkable
from .raw import WAY_TAGS, BBox, RawOsm, Way, fail, in_bbox, is_html, way_from_tags


def check_pbf(path: Path) -> None:
    """Raise :class:`~coverage.errors.InputError` unless ``path`` starts like an .osm.pbf file
    (an XML file or a web page named .pbf gets a message saying what it is)."""
    with path.open("rb") as f:
        head = f.read(64)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<"):
        if is_html(text):
            raise fail(str(path), "is a web page (HTML), not an .osm.pbf extract",
                       "download the extract itself (e.g. the .osm.pbf link on Geofabrik)")
        stem = path.name[: -len(".pbf")]
        new_name = stem if stem.lower().endswith(".osm") else f"{stem}.osm"
        raise fail(str(path), "is OSM XML, not the binary .osm.pbf format its name says",
                   f"rename it to {new_name}")
    if b"OSMHeader" not in head:
        raise fail(str(path), "is not an .osm.pbf extract (no OSMHeader block at the start)",
                   "give an OpenStreetMap .osm.pbf file (e.g. from Geofabrik) or an .osm file")


def _pbf_error(path: Path, exc: Exception) -> InputError:
    return fail(str(path), f"cannot be read as .osm.pbf ({exc}): the file is truncated or "
                "damaged", "download the extract again and check its size / checksum")


def _pbf_walkable_ways(path: Path, bbox: BBox | None) -> dict[int, Way]:
    """Pass 1: the walkable ways (with a node in ``bbox`` when given), by id."""
    import osmium

    fp: Any  # pyosmium's iterators yield a union of object types
    if bbox is None:
        fp = osmium.FileProcessor(str(path), osmium.osm.WAY)
    else:  # node locations are kept in C++ for the bbox test; nodes never reach Python
        fp = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
              .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY)))
    ways: dict[int, Way] = {}
    for way in fp.with_filter(osmium.filter.KeyFilter("highway")):
        if not way.visible:
            continue
        tags = {t.k: t.v for t in way.tags if t.k in WAY_TAGS}
        if not is_walkable(tags):
            continue
        if bbox is not None and not any(
                nd.location.valid() and in_bbox(nd.lon, nd.lat, bbox) for nd in way.nodes):
            continue
        ways[way.id] = way_from_tags(way.id, (nd.ref for nd in way.nodes), tags)
    return ways


def _pbf_all_ways(path: Path, walkable: dict[int, Way], raw: RawOsm) -> None:
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
            raw.add_way(Way(way.id, [r for r, _ in groupby(refs)], False))
        else:
            raw.n_ways_total += 1


def _pbf_nodes(path: Path, raw: RawOsm) -> None:
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


def read_pbf(path: Path, bbox: BBox | None) -> RawOsm:
    """The ways of an .osm.pbf file (walkable ones with a node in ``bbox`` when given) and the
    nodes they use, in file order."""
    check_pbf(path)
    raw = RawOsm(str(path))
    try:
        walkable = _pbf_walkable_ways(path, bbox)
        _pbf_all_ways(path, walkable, raw)
        _pbf_nodes(path, raw)
    except RuntimeError as exc:
        raise _pbf_error(path, exc) from None
    return raw
