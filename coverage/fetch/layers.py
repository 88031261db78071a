"""What a fetch gathers (from osmnx or a PBF) before it becomes the snapshot's tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import shapely

from ..constants import DEFAULT_SPEED_M_S
from ..osmfile import OsmRecord
from ..osmtags import is_bus_stop, is_gate, is_residential_area, tags_match
from ..presets import category_of
from .area import StudyArea

__all__ = ["Layers", "category_walk_m", "point_tags", "records_from_features", "union_tags"]


@dataclass
class Layers:
    """What a fetch gathered, EPSG:4326.

    Attributes
    ----------
    area : StudyArea
    graph : networkx.MultiDiGraph
        The walk network in osmnx conventions (unprojected, unsimplified, both directions).
    facilities, residential, buildings, gates, bus_stops : list of OsmRecord
        Objects sorted by :meth:`add_records`.
    source : dict
        Where the data came from, for PROVENANCE.md.
    """

    area: StudyArea
    graph: Any
    facilities: list[OsmRecord] = field(default_factory=list)
    residential: list[OsmRecord] = field(default_factory=list)
    buildings: list[OsmRecord] = field(default_factory=list)
    gates: list[OsmRecord] = field(default_factory=list)
    bus_stops: list[OsmRecord] = field(default_factory=list)
    source: dict[str, str] = field(default_factory=dict)

    def add_points(self, points: list[OsmRecord],
                   categories: Sequence[Mapping[str, Any]]) -> None:
        """Sort point-like objects into gates (near the units), bus stops and facilities."""
        study, gate_area = self.area.study, self.area.gates
        shapely.prepare(study)
        shapely.prepare(gate_area)
        for r in points:
            g = r["geometry"]
            if is_gate(r["tags"]) and g.geom_type == "Point" and gate_area.intersects(g):
                self.gates.append(r)
            if not study.intersects(g):
                continue
            if is_bus_stop(r["tags"]):
                self.bus_stops.append(r)
            if any(tags_match(r["tags"], c.get("osm") or {}, c.get("name_pattern"))
                   for c in categories):
                self.facilities.append(r)

    def add_homes(self, homes: list[OsmRecord]) -> None:
        """Sort polygons inside the units into residential areas and buildings."""
        units = self.area.units
        shapely.prepare(units)
        for r in homes:
            g = r["geometry"]
            if g.geom_type not in ("Polygon", "MultiPolygon") or not units.intersects(g):
                continue
            if is_residential_area(r["tags"]):
                self.residential.append(r)
            if "building" in r["tags"]:
                self.buildings.append(r)


def category_walk_m(cat: Mapping[str, Any], speed_m_s: float = DEFAULT_SPEED_M_S) -> float:
    """Walking distance (metres) a category allows: ``walk_m`` or minutes x speed."""
    return category_of(cat, speed_m_s=speed_m_s).walk_m


def union_tags(categories: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One OSM tag filter ``{key: [values] | True}`` matching any of the categories' filters."""
    tags: dict[str, Any] = {}
    for cat in categories:
        for k, v in (cat.get("osm") or {}).items():
            if v is True or tags.get(k) is True:
                tags[k] = True
            else:
                vals = [v] if isinstance(v, str) else list(v)
                tags[k] = sorted(set(tags.get(k, [])) | set(vals))
    return tags


def _add_value(tags: dict[str, Any], key: str, value: str) -> None:
    if tags.get(key) is not True:
        tags[key] = sorted(set(tags.get(key, [])) | {value})


def point_tags(categories: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The tag filter of one download of facilities, gates and bus stops."""
    tags = union_tags(categories)
    _add_value(tags, "highway", "bus_stop")
    tags["entrance"] = True
    _add_value(tags, "barrier", "gate")
    return tags


def records_from_features(gdf: gpd.GeoDataFrame) -> list[OsmRecord]:
    """osmnx ``features_from_*`` rows (index ``(element, id)``) as :data:`OsmRecord` dicts."""
    gdf = gdf[~gdf.index.duplicated()]
    tag_cols = [c for c in gdf.columns if c != "geometry"]
    records = []
    for key, geom, *vals in zip(gdf.index, gdf.geometry, *(gdf[c] for c in tag_cols),
                                strict=True):
        tags = {c: v for c, v in zip(tag_cols, vals, strict=True) if isinstance(v, str)}
        records.append({"osm_type": str(key[0]), "osm_id": int(key[1]), "tags": tags,
                        "geometry": geom})
    return records
