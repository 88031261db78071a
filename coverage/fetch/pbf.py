"""Fetching offline from an OpenStreetMap extract (``.osm.pbf``, read with pyosmium)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd

from ..io import sha256_file
from ..osmfile import BBox, OsmRecord, OsmStreets, check_pbf, in_bbox, read_streets
from ..osmtags import is_bus_stop, is_gate, is_residential_area, tags_match
from .area import StudyArea, pick_units, study_area
from .layers import Layers
from .options import FetchError, FetchOptions
from .snapshot import version_of

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["pbf_layers", "read_pbf_features", "read_pbf_named_areas", "streets_graph"]

log = logging.getLogger(__name__)


def _tags(obj: Any) -> dict[str, str]:
    return {t.k: t.v for t in obj.tags}


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

    return _read_pbf_records(Path(pbf), {"named": keep}, bbox=None, nodes=False)["named"]


def read_pbf_features(
    pbf: str | Path,
    layers: Mapping[str, Callable[[Mapping[str, str]], bool]],
    *,
    bbox: BBox | None = None,
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
    return _read_pbf_records(Path(pbf), layers, bbox=bbox, nodes=True)


def _record(obj: Any, wkb: Any, bbox_geom: Any, bbox: BBox | None) -> OsmRecord | None:
    """A node or area as an :data:`OsmRecord`, or None when outside the box."""
    import shapely

    if obj.is_node():
        if not obj.location.valid() or not in_bbox(obj.lon, obj.lat, bbox):
            return None
        return {"osm_type": "node", "osm_id": int(obj.id), "tags": _tags(obj),
                "geometry": shapely.from_wkb(wkb.create_point(obj))}
    geom = shapely.from_wkb(wkb.create_multipolygon(obj))
    if bbox_geom is not None and not geom.intersects(bbox_geom):
        return None
    if len(geom.geoms) == 1:
        geom = geom.geoms[0]
    return {"osm_type": "way" if obj.from_way() else "relation", "osm_id": int(obj.orig_id()),
            "tags": _tags(obj), "geometry": geom}


def _read_pbf_records(pbf: Path, layers: Mapping[str, Callable[[Mapping[str, str]], bool]], *,
                      bbox: BBox | None, nodes: bool) -> dict[str, list[OsmRecord]]:
    import osmium
    from shapely.geometry import box

    check_pbf(pbf)
    wkb = osmium.geom.WKBFactory()
    bbox_geom = box(*bbox) if bbox is not None else None
    out: dict[str, list[OsmRecord]] = {name: [] for name in layers}
    entities = osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION
    fp: Any = osmium.FileProcessor(str(pbf), entities).with_areas()
    try:
        for obj in fp:
            if len(obj.tags) == 0 or not (obj.is_area() or (nodes and obj.is_node())):
                continue
            hits = [name for name, pred in layers.items() if pred(_tags(obj))]
            if not hits:
                continue
            try:
                rec = _record(obj, wkb, bbox_geom, bbox)
            except (RuntimeError, osmium.InvalidLocationError) as exc:  # broken geometry
                log.debug("skipping OSM object %s: %s", obj.id, exc)
                continue
            if rec is not None:
                for name in hits:
                    out[name].append(rec)
    except RuntimeError as exc:
        raise FetchError(f"cannot be read as .osm.pbf ({exc}): the file is truncated or damaged",
                         fix="download the extract again", source=str(pbf)) from None
    log.info("PBF %s: %s", pbf.name,
             ", ".join(f"{len(v)} {k}" for k, v in out.items()) or "nothing requested")
    return out


def streets_graph(streets: OsmStreets) -> nx.MultiDiGraph:
    """The segments as an osmnx-style graph: EPSG:4326, both directions, ``length`` in metres.

    Each edge carries ``osmid`` (the way), ``highway``, ``name`` (when the way has one),
    ``oneway`` (False: walking) and ``reversed``, as ``osmnx.graph_from_xml(simplify=False,
    bidirectional=True)`` would give.
    """
    import networkx as nx
    import osmnx as ox

    g = nx.MultiDiGraph(crs="EPSG:4326", created_with=f"circle15 (osmnx {version_of('osmnx')})")
    ids = streets.node_id.tolist()
    for nid, (lon, lat) in zip(ids, streets.node_lonlat.tolist(), strict=True):
        g.add_node(nid, x=lon, y=lat)
    for u, v, way, name, highway in zip(streets.seg_u.tolist(), streets.seg_v.tolist(),
                                        streets.seg_way.tolist(), streets.seg_name,
                                        streets.seg_highway, strict=True):
        attrs: dict[str, Any] = {"osmid": way, "highway": highway, "oneway": False}
        if name:
            attrs["name"] = name
        g.add_edge(ids[u], ids[v], reversed=False, **attrs)
        g.add_edge(ids[v], ids[u], reversed=True, **attrs)
    return ox.distance.add_edge_lengths(g)


def _pbf_timestamp(pbf: Path) -> str:
    import osmium

    try:
        header = osmium.io.Reader(str(pbf), osmium.osm.osm_entity_bits.NOTHING).header()
    except RuntimeError:  # the header is informative only
        return "unknown"
    return str(header.get("osmosis_replication_timestamp", "")) or "not given in the header"


def _source(pbf: Path) -> dict[str, str]:
    return {
        "kind": "pbf",
        "pbf": str(pbf.resolve()),
        "pbf_size_bytes": str(pbf.stat().st_size),
        "pbf_sha256": sha256_file(pbf),
        "pbf_timestamp": _pbf_timestamp(pbf),
        "pyosmium": version_of("osmium"),
        "osmnx": version_of("osmnx"),
    }


def _walk_graph(pbf: Path, area: StudyArea) -> Any:
    import osmnx as ox

    log.info("extracting the walk network from %s", pbf.name)
    streets = read_streets(pbf, bbox=area.bbox)
    return ox.truncate.truncate_graph_polygon(streets_graph(streets), area.study,
                                              truncate_by_edge=True)


def pbf_layers(options: FetchOptions, categories: Sequence[Mapping[str, Any]],
               boundaries: gpd.GeoDataFrame | None, max_walk_m: float) -> Layers:
    """Everything a snapshot needs, read from ``options.from_pbf``."""
    pbf = options.from_pbf
    assert pbf is not None
    if not pbf.is_file():
        raise FetchError(f"file {str(pbf)!r} not found", fix="check the --from-pbf path",
                         source="--from-pbf")
    if boundaries is None:
        log.info("looking up %d unit boundaries in %s", len(options.units), pbf.name)
        found = read_pbf_named_areas(pbf, [*options.units, *filter(None, [options.within])])
        boundaries = pick_units(found, options.units, options.within, source=str(pbf))
    area = study_area(boundaries, max_walk_m)
    layers = Layers(area=area, graph=_walk_graph(pbf, area))

    log.info("extracting facilities, compounds, buildings, gates and bus stops")

    def is_point_feature(t: Mapping[str, str]) -> bool:
        return (is_gate(t) or is_bus_stop(t)
                or any(tags_match(t, c.get("osm") or {}) for c in categories))

    def is_home(t: Mapping[str, str]) -> bool:
        return is_residential_area(t) or "building" in t

    found_layers = read_pbf_features(pbf, {"points": is_point_feature, "homes": is_home},
                                     bbox=area.bbox)
    layers.add_points(found_layers["points"], categories)
    layers.add_homes(found_layers["homes"])
    layers.source = _source(pbf)
    return layers
