"""OSM XML (``.osm``, ``.xml``, also ``.bz2`` / ``.gz``): a streaming parse with the standard
library into :class:`~coverage.osmfile.raw.RawOsm`; JOSM's deleted objects skipped."""

from __future__ import annotations

import bz2
import gzip
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, cast
from xml.etree import ElementTree

from ..errors import InputError, Problem
from .raw import WAY_TAGS, RawOsm, fail, is_html, way_from_tags


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


def sniff(path: Path) -> bytes:
    """The first 512 bytes of a (possibly compressed) file, lower case, without a BOM or
    leading white space; empty when it cannot be read."""
    try:
        with _open_xml(path) as f:
            return f.read(512).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    except (OSError, EOFError):  # damaged compression: the parse reports it
        return b""


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


def _xml_node(elem: ElementTree.Element, raw: RawOsm) -> None:
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


def _xml_way(elem: ElementTree.Element, raw: RawOsm) -> None:
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
    raw.add_way(way_from_tags(osm_id, refs, {k: v for k, v in tags.items() if k in WAY_TAGS}))


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
        return fail(str(path), f"the file stops in the middle (line {line}, no closing </osm>): "
                    "it is truncated", "download or export the file again and check that the "
                    "copy is complete")
    return fail(str(path), f"cannot be read as OSM XML: {exc}",
                "give an OSM XML file (.osm) as exported by JOSM, Overpass or osmium; "
                f"look at line {line}, column {column} of the file")


def read_xml(path: Path) -> RawOsm:
    """The nodes and ways of an OSM XML file (bad coordinates and ids collected, not raised)."""
    head = sniff(path)
    if is_html(head):
        raise fail(str(path), "is a web page (HTML), not OpenStreetMap data",
                   "save the data itself: JOSM File > Save As (.osm), or the Overpass/Geofabrik "
                   "download (not the page that links to it)")
    raw = RawOsm(str(path))
    handlers = {"node": _xml_node, "way": _xml_way}
    root: ElementTree.Element | None = None
    try:
        with _open_xml(path) as f:
            for event, elem in ElementTree.iterparse(f, events=("start", "end")):
                if root is None:
                    root = elem
                    if elem.tag != "osm":
                        raise fail(str(path), f"is XML but not OSM XML (its root element is "
                                   f"<{elem.tag}>, not <osm>)", "give an OSM XML file (.osm)")
                    continue
                if event == "end" and elem.tag in ("node", "way", "relation"):
                    if elem.tag in handlers:
                        handlers[elem.tag](elem, raw)
                    root.clear()  # keep memory flat on large files
    except ElementTree.ParseError as exc:
        raise _xml_error(path, exc) from None
    except (EOFError, OSError) as exc:  # damaged .bz2 / .gz
        raise fail(str(path), f"cannot be decompressed ({exc})",
                   "download or export the file again") from None
    return raw
