"""Read OpenStreetMap files: street networks (.osm, .osm.pbf, .graphml) and features from .osm.pbf.

Network graphs follow osmnx conventions: an unprojected ``networkx.MultiDiGraph`` in EPSG:4326
(``G.graph["crs"]``), node attributes ``x`` (lon) / ``y`` (lat), edge attribute ``length`` in
metres, one edge per consecutive node pair of each way (``simplify=False``), every connected
component kept (``retain_all=True``), both directions of every way (walking ignores ``oneway``).

.osm.pbf files are read with pyosmium (``osmium``, BSD-2-Clause): only walkable ways (the same
filter as the rest of circle15, :func:`coverage.network.is_walkable`) are turned into the
network.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .network import is_walkable

if TYPE_CHECKING:
    from collections.abc import Iterator

    import networkx as nx

__all__ = [
    "OsmRecord",
    "is_pbf",
    "load_network_file",
    "read_pbf_features",
    "read_pbf_named_areas",
    "write_pbf_walk_network_xml",
]

log = logging.getLogger(__name__)

#: Way tags kept as edge attributes in addition to osmnx's defaults (the network module filters
#: non-walkable edges on them).
EXTRA_WAY_TAGS = ("foot", "access", "area", "construction", "service", "sidewalk",
                  "sidewalk:both", "sidewalk:left", "sidewalk:right")

#: One OSM object: ``{"osm_type": "node"|"way"|"relation", "osm_id": int, "tags": dict,
#: "geometry": shapely geometry in EPSG:4326}``.
OsmRecord = dict[str, Any]


def is_pbf(path: str | Path) -> bool:
    """True for ``*.pbf`` / ``*.osm.pbf`` file names."""
    return Path(path).name.lower().endswith(".pbf")


@contextmanager
def _extra_way_tags() -> Iterator[None]:
    import osmnx as ox

    saved = list(ox.settings.useful_tags_way)
    try:
        ox.settings.useful_tags_way = sorted(set(saved) | set(EXTRA_WAY_TAGS))
        yield
    finally:
        ox.settings.useful_tags_way = saved


def load_network_file(path: str | Path) -> nx.MultiDiGraph:
    """Load a street network file as an unprojected osmnx graph.

    Parameters
    ----------
    path : str or Path
        ``.graphml`` (saved by osmnx), ``.osm`` / ``.xml`` / ``.osm.bz2`` (OSM XML, every way in
        the file becomes edges: give a street-only extract) or ``.osm.pbf`` (walkable ways only).

    Returns
    -------
    networkx.MultiDiGraph
        EPSG:4326, osmnx conventions (see module docstring).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file type is not one of the above or the file holds no way.
    """
    import osmnx as ox

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"network file not found: {path}")
    name = path.name.lower()
    if name.endswith(".graphml"):
        return ox.load_graphml(path)
    if is_pbf(path):
        with tempfile.TemporaryDirectory(prefix="circle15-pbf-") as tmp:
            xml = Path(tmp) / "walk.osm"
            n_ways = write_pbf_walk_network_xml(path, xml)
            if n_ways == 0:
                raise ValueError(f"{path} holds no walkable way")
            return _graph_from_xml(xml)
    if name.endswith((".osm", ".xml", ".osm.bz2", ".xml.bz2")):
        return _graph_from_xml(path)
    raise ValueError(f"unsupported network file type: {path.name} "
                     "(use .osm, .osm.pbf or .graphml)")


def _graph_from_xml(path: Path) -> nx.MultiDiGraph:
    import osmnx as ox

    with _extra_way_tags():
        return ox.graph_from_xml(path, simplify=False, retain_all=True, bidirectional=True)


def _tags(obj: Any) -> dict[str, str]:
    return {t.k: t.v for t in obj.tags}


def _in_bbox(lon: float, lat: float, bbox: tuple[float, float, float, float] | None) -> bool:
    return bbox is None or (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3])


def write_pbf_walk_network_xml(pbf: str | Path, out_xml: str | Path, *,
                               bbox: tuple[float, float, float, float] | None = None) -> int:
    """Copy the walkable ways of a .osm.pbf (and their nodes) to an OSM XML file.

    Parameters
    ----------
    pbf : str or Path
        Input extract.
    out_xml : str or Path
        Output ``.osm`` file (overwritten).
    bbox : (west, south, east, north), optional
        Keep only ways with at least one node inside this box (degrees, WGS-84).

    Returns
    -------
    int
        Number of ways written.
    """
    import osmium

    out_xml = Path(out_xml)
    out_xml.unlink(missing_ok=True)
    n = 0
    if bbox is None:
        fp = osmium.FileProcessor(str(pbf), osmium.osm.WAY)
    else:
        fp = osmium.FileProcessor(str(pbf), osmium.osm.NODE | osmium.osm.WAY).with_locations()
    with osmium.BackReferenceWriter(str(out_xml), ref_src=str(pbf), overwrite=True,
                                    remove_tags=False) as writer:
        for way in fp:
            if not way.is_way():
                continue
            tags = _tags(way)
            if not is_walkable(tags):
                continue
            if bbox is not None and not any(
                nd.location.valid() and _in_bbox(nd.lon, nd.lat, bbox) for nd in way.nodes
            ):
                continue
            writer.add_way(way)
            n += 1
    log.info("PBF %s: %d walkable ways", Path(pbf).name, n)
    return n


def read_pbf_named_areas(pbf: str | Path, names: Iterable[str]) -> list[OsmRecord]:
    """Polygons (closed ways and multipolygon/boundary relations) whose ``name`` is in ``names``.

    Parameters
    ----------
    pbf : str or Path
        Input extract.
    names : iterable of str
        Names to look for (exact match of the ``name`` or ``name:zh`` tag).

    Returns
    -------
    list of OsmRecord
        Geometry is a (Multi)Polygon in EPSG:4326.
    """
    wanted = set(names)

    def keep(tags: Mapping[str, str]) -> bool:
        return tags.get("name") in wanted or tags.get("name:zh") in wanted

    return _read_pbf(pbf, {"named": keep}, bbox=None, nodes=False)["named"]


def read_pbf_features(
    pbf: str | Path,
    layers: Mapping[str, Callable[[Mapping[str, str]], bool]],
    *,
    bbox: tuple[float, float, float, float] | None = None,
) -> dict[str, list[OsmRecord]]:
    """Nodes and areas of a .osm.pbf sorted into layers by tag predicates.

    Parameters
    ----------
    pbf : str or Path
        Input extract.
    layers : mapping of name -> predicate(tags)
        An object goes into every layer whose predicate accepts its tags.
    bbox : (west, south, east, north), optional
        Keep only objects whose point / polygon envelope intersects this box (degrees).

    Returns
    -------
    dict of name -> list of OsmRecord
        Nodes as Points, closed ways and multipolygon relations as (Multi)Polygons, EPSG:4326.
    """
    return _read_pbf(pbf, layers, bbox=bbox, nodes=True)


def _read_pbf(pbf: str | Path, layers: Mapping[str, Callable[[Mapping[str, str]], bool]], *,
              bbox: tuple[float, float, float, float] | None,
              nodes: bool) -> dict[str, list[OsmRecord]]:
    import osmium
    import shapely
    from shapely.geometry import box

    wkb = osmium.geom.WKBFactory()
    bbox_geom = box(*bbox) if bbox is not None else None
    out: dict[str, list[OsmRecord]] = {name: [] for name in layers}
    entities = osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION
    fp = osmium.FileProcessor(str(pbf), entities).with_areas()
    for obj in fp:
        if not tags_nonempty(obj):
            continue
        if obj.is_node():
            if not nodes:
                continue
            kind = "node"
        elif obj.is_area():
            kind = "area"
        else:
            continue
        tags = _tags(obj)
        hits = [name for name, pred in layers.items() if pred(tags)]
        if not hits:
            continue
        try:
            if kind == "node":
                if not obj.location.valid() or not _in_bbox(obj.lon, obj.lat, bbox):
                    continue
                geom = shapely.from_wkb(wkb.create_point(obj))
                osm_type, osm_id = "node", obj.id
            else:
                geom = shapely.from_wkb(wkb.create_multipolygon(obj))
                if bbox_geom is not None and not geom.intersects(bbox_geom):
                    continue
                if len(geom.geoms) == 1:
                    geom = geom.geoms[0]
                osm_type = "way" if obj.from_way() else "relation"
                osm_id = obj.orig_id()
        except (RuntimeError, osmium.InvalidLocationError) as exc:  # broken geometry in the file
            log.debug("skipping %s %s: %s", kind, obj.id, exc)
            continue
        rec = {"osm_type": osm_type, "osm_id": int(osm_id), "tags": tags, "geometry": geom}
        for name in hits:
            out[name].append(rec)
    log.info("PBF %s: %s", Path(pbf).name,
             ", ".join(f"{len(v)} {k}" for k, v in out.items()) or "nothing requested")
    return out


def tags_nonempty(obj: Any) -> bool:
    """True if the OSM object has at least one tag."""
    return len(obj.tags) > 0
