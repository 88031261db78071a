"""OpenStreetMap tag rules: which ways can be walked, and what a gate, bus stop or home is.

A leaf module (standard library only, imports nothing from circle15) so that every reader of OSM
data — the network loader, the ``.osm``/``.osm.pbf`` reader and ``circle15 fetch`` — applies the
very same rules without importing one another. Tags are a mapping ``key -> value``; values may
also be lists (osmnx merges the tags of simplified edges) or NaN (absent, from a DataFrame).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "EXTRA_WAY_TAGS",
    "NOT_WALKABLE_HIGHWAY",
    "WALK_RULE_TAGS",
    "gate_kind",
    "is_bus_stop",
    "is_gate",
    "is_residential_area",
    "is_residential_building",
    "is_walkable",
    "parse_levels",
    "tag_values",
    "tags_match",
]

#: Highway values nobody walks along: osmnx's ``network_type="walk"`` exclusions, plus elevators
#: and escalators (not part of a street network).
NOT_WALKABLE_HIGHWAY = frozenset({
    "motorway", "motorway_link", "platform", "construction", "proposed", "planned",
    "abandoned", "razed", "raceway", "bus_guideway", "no", "cycleway", "elevator", "escalator",
    "rest_area", "services",
})
_NO = frozenset({"no", "private"})
_FOOT_ALLOWED = frozenset({"yes", "designated", "permissive"})
# Tags that mean "this street's pavement is mapped as its own way": walk that way instead.
_SIDEWALK_TAGS = ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")

#: Every way tag :func:`is_walkable` reads.
WALK_RULE_TAGS = ("highway", "service", *_SIDEWALK_TAGS, "foot", "access", "area")

#: Way tags to keep on osmnx edges beyond osmnx's defaults (``settings.useful_tags_way``), so
#: that :func:`is_walkable` sees them on downloaded and saved graphs.
EXTRA_WAY_TAGS = ("foot", "access", "area", "construction", "service", *_SIDEWALK_TAGS)

# Building types that are not homes (residential floor area counts everything else).
_NON_RESIDENTIAL = frozenset({
    "commercial", "retail", "industrial", "office", "warehouse", "school", "kindergarten",
    "university", "college", "hospital", "clinic", "church", "temple", "mosque", "shrine",
    "public", "civic", "government", "train_station", "transportation", "garage", "garages",
    "parking", "carport", "shed", "roof", "hut", "service", "kiosk", "toilets",
    "transformer_tower", "construction", "sports_hall", "sports_centre", "stadium", "hotel",
    "supermarket", "greenhouse", "barn", "farm_auxiliary", "bunker", "ruins", "manufacture",
    "fire_station",
})


def tag_values(tag: Any) -> list[str]:
    """A tag's values as strings: osmnx stores merged tags as lists, DataFrames absent ones as
    NaN (-> ``[]``)."""
    if tag is None or (isinstance(tag, float) and math.isnan(tag)):
        return []
    if isinstance(tag, (list, tuple, set)):
        return [str(t) for t in tag]
    return [str(tag)]


def is_walkable(tags: Mapping[str, Any]) -> bool:
    """Whether a way with these OSM tags can be walked along.

    osmnx's ``network_type="walk"`` semantics: no motorways, platforms, construction or other
    non-walkable ``highway`` values, no ``foot=no``, no private service roads, no streets whose
    sidewalks are mapped separately (``sidewalk=separate``: the sidewalk ways are walked), no
    areas; and, as the planners' brief asks, no ``access=no|private`` unless ``foot`` allows it.
    One-way streets are walkable both ways (the walk network is undirected). This is circle15's
    one walkability rule: every network reader filters with it.
    """
    highway = tag_values(tags.get("highway"))
    if not highway or all(h in NOT_WALKABLE_HIGHWAY for h in highway):
        return False
    if "private" in tag_values(tags.get("service")):
        return False
    if any("separate" in tag_values(tags.get(k)) for k in _SIDEWALK_TAGS):
        return False
    foot = tag_values(tags.get("foot"))
    if any(f in _NO for f in foot):
        return False
    if any(a in _NO for a in tag_values(tags.get("access"))) and not any(
        f in _FOOT_ALLOWED for f in foot
    ):
        return False
    return "yes" not in tag_values(tags.get("area"))


def is_gate(tags: Mapping[str, str]) -> bool:
    """A way into a compound: ``entrance=*`` or ``barrier=gate``."""
    return "entrance" in tags or tags.get("barrier") == "gate"


def gate_kind(tags: Mapping[str, str]) -> str:
    """``"entrance=<value>"`` or ``"barrier=gate"`` (the tag that made it a gate)."""
    if "entrance" in tags:
        return f"entrance={tags['entrance']}"
    return "barrier=gate"


def is_bus_stop(tags: Mapping[str, str]) -> bool:
    """``highway=bus_stop``, or a ``public_transport=platform`` served by buses."""
    return tags.get("highway") == "bus_stop" or (
        tags.get("public_transport") == "platform" and tags.get("bus") == "yes")


def is_residential_area(tags: Mapping[str, str]) -> bool:
    """``landuse=residential`` (a compound, 小区, or a larger residential district)."""
    return tags.get("landuse") == "residential"


def is_residential_building(tags: Mapping[str, str]) -> bool:
    """A building whose floor area counts as homes (``building=*`` not a known other use)."""
    b = tags.get("building")
    return b is not None and b != "no" and b not in _NON_RESIDENTIAL


def parse_levels(value: Any) -> float | None:
    """``building:levels`` text ("6", "5.5", "6;18") -> the first positive number, else None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    m = re.search(r"\d+(?:\.\d+)?", str(value))
    if not m:
        return None
    levels = float(m.group())
    return levels if 0 < levels < 200 else None


def _filter_hit(tags: Mapping[str, str], osm: Mapping[str, Any]) -> bool:
    for key, values in osm.items():
        v = tags.get(key)
        if v is None:
            continue
        if values is True or (isinstance(values, str) and v == values) or (
                isinstance(values, list) and v in values):
            return True
    return False


def tags_match(tags: Mapping[str, str], osm: Mapping[str, Any],
               name_pattern: str | None = None) -> bool:
    """Whether OSM ``tags`` satisfy a category filter ``{key: [values]}`` (or ``{key: true}``).

    Any listed key=value matches (OR); ``name_pattern``, if given, must also match the name.
    """
    if not _filter_hit(tags, osm):
        return False
    if name_pattern:
        name = " ".join(tags.get(k, "") for k in ("name", "name:zh", "official_name"))
        return re.search(name_pattern, name) is not None
    return True
