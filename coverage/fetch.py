"""Fetch a study area from OpenStreetMap into a pinned, ready-to-run snapshot folder.

``circle15 fetch`` downloads (through osmnx, with its disk cache on) or reads from an .osm.pbf
extract (through pyosmium):

* the unit boundaries (Nominatim ``geocode_to_gdf`` by name, a boundary file, or a bbox);
* the walk network (``network_type="walk"``, all components) for the units buffered by the
  longest walk of any category;
* facilities matching each category's OSM tag filter (from a standard preset, see
  :mod:`coverage.presets`);
* ``landuse=residential`` polygons as compounds, with a population estimated from the
  residential buildings inside (footprint x ``building:levels`` / m² per person);
* ``entrance=*`` / ``barrier=gate`` nodes as compound gates, and bus stops;

and writes ``network.graphml``, ``boundaries.geojson``, ``compounds.geojson``,
``facilities.geojson``, ``gates.geojson``, ``bus_stops.geojson``, an ``area.toml`` that
:func:`coverage.config.load_config` accepts, and ``PROVENANCE.md`` (time, source, method and the
ODbL notice). Everything is written into a temporary folder beside ``out`` and renamed at the
end, so a failed fetch leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from .constants import DEFAULT_SPEED_M_S, SPEED_RANGE_M_S
from .errors import InputError, Problem
from .io import toml_value
from .osmfile import OsmRecord
from .presets import PRESETS, category_of, load_preset, merge_categories, preset_info

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "DEFAULT_FALLBACK_FAR",
    "DEFAULT_LEVELS",
    "DEFAULT_M2_PER_PERSON",
    "DEFAULT_SHARE_60PLUS",
    "FetchError",
    "add_fetch_arguments",
    "fetch_area",
    "run_fetch",
    "utm_crs",
]

log = logging.getLogger(__name__)

#: Residential floor area per resident (m²/person) used to turn building floor area into people.
#: Order of magnitude of Beijing's per-capita residential floor area in official statistics
#: (Beijing Statistical Yearbook, 城镇居民人均住房建筑面积: low-to-mid 30s m² in the late 2010s);
#: set your district's own figure with ``--m2-per-person``.
DEFAULT_M2_PER_PERSON = 33.0
#: Storeys assumed for a residential building without ``building:levels`` (Beijing's common
#: six-storey walk-up); every use is counted and reported.
DEFAULT_LEVELS = 6
#: Share of residents aged 60+ (Beijing, 7th national population census 2020: 19.6 %).
DEFAULT_SHARE_60PLUS = 0.196
#: Floor-area ratio assumed for a compound without mapped buildings when no compound of the area
#: has buildings to take the median from.
DEFAULT_FALLBACK_FAR = 1.5
#: Gates are looked for this far outside the units (metres): compounds on the edge keep theirs.
GATE_MARGIN_M = 100.0

ODBL_NOTICE = (
    "Data © OpenStreetMap contributors, available under the Open Database License (ODbL) 1.0 "
    "(https://www.openstreetmap.org/copyright). The files in this folder are a database derived "
    "from it: credit \"© OpenStreetMap contributors\" on maps and reports made from them, and "
    "share any published derived database under the ODbL."
)

# Building types that are not homes (residential floor area counts everything else).
_NON_RESIDENTIAL = frozenset(
    {
        "commercial", "retail", "industrial", "office", "warehouse", "school",
        "kindergarten", "university", "college", "hospital", "clinic", "church", "temple",
        "mosque", "shrine", "public", "civic", "government", "train_station",
        "transportation", "garage", "garages", "parking", "carport", "shed", "roof", "hut",
        "service", "kiosk", "toilets", "transformer_tower", "construction", "sports_hall",
        "sports_centre", "stadium", "hotel", "supermarket", "greenhouse", "barn",
        "farm_auxiliary", "bunker", "ruins", "manufacture", "fire_station"
    }
)
_UNIT_SPLIT = re.compile(r"[,，、;；\n]+")
_NAME_COLUMNS = ("name", "名称", "unit", "jd_name", "乡", "NAME", "Name")

T = TypeVar("T")


class FetchError(InputError):
    """A download or extract could not provide the study area (CLI exit code 2)."""

    def __init__(self, problem: str, fix: str, *, source: str = "OpenStreetMap fetch") -> None:
        super().__init__(Problem(source, None, None, problem, fix))


# --- small pure helpers --------------------------------------------------------------------


def utm_crs(lon: float, lat: float) -> str:
    """The WGS-84 UTM zone CRS (``"EPSG:326zz"`` north / ``"EPSG:327zz"`` south) of a point."""
    zone = min(60, max(1, math.floor((lon + 180.0) / 6.0) + 1))
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def parse_units(text: str | Sequence[str] | None) -> list[str]:
    """Unit names from ``"回龙观街道,龙泽园街道"`` (also ，、; separators) or a list."""
    if text is None:
        return []
    parts = _UNIT_SPLIT.split(text) if isinstance(text, str) else list(text)
    return [p.strip() for p in parts if p and p.strip()]


def parse_bbox(text: str | Sequence[float]) -> tuple[float, float, float, float]:
    """``"W,S,E,N"`` degrees -> tuple; raises :class:`FetchError` when malformed."""
    try:
        vals = [float(v) for v in (text.split(",") if isinstance(text, str) else text)]
    except ValueError:
        vals = []
    if (len(vals) != 4 or not all(math.isfinite(v) for v in vals)
            or not (-180 <= vals[0] < vals[2] <= 180 and -90 <= vals[1] < vals[3] <= 90)):
        raise FetchError(f"--bbox {text!r} is not west,south,east,north in degrees",
                         fix="write e.g. --bbox 116.28,40.05,116.36,40.10 (west < east, "
                             "south < north)", source="--bbox")
    return vals[0], vals[1], vals[2], vals[3]


def category_walk_m(cat: Mapping[str, Any], speed_m_s: float = DEFAULT_SPEED_M_S) -> float:
    """Walking distance (metres) a category allows: ``walk_m`` or minutes x speed."""
    return category_of(cat, speed_m_s=speed_m_s).walk_m


def tags_match(tags: Mapping[str, str], osm: Mapping[str, Any],
               name_pattern: str | None = None) -> bool:
    """Whether OSM ``tags`` satisfy a category filter ``{key: [values]}`` (or ``{key: true}``).

    Any listed key=value matches (OR); ``name_pattern``, if given, must also match the name.
    """
    hit = False
    for key, values in osm.items():
        v = tags.get(key)
        if v is None:
            continue
        if values is True or (isinstance(values, str) and v == values) or (
                isinstance(values, list) and v in values):
            hit = True
            break
    if not hit:
        return False
    if name_pattern:
        name = " ".join(tags.get(k, "") for k in ("name", "name:zh", "official_name"))
        return re.search(name_pattern, name) is not None
    return True


def parse_levels(value: Any) -> float | None:
    """``building:levels`` text ("6", "5.5", "6;18") -> the first positive number, else None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    m = re.search(r"\d+(?:\.\d+)?", str(value))
    if not m:
        return None
    levels = float(m.group())
    return levels if 0 < levels < 200 else None


def is_residential_building(tags: Mapping[str, str]) -> bool:
    """A building whose floor area counts as homes (``building=*`` not a known other use)."""
    b = tags.get("building")
    return b is not None and b != "no" and b not in _NON_RESIDENTIAL


def _name(tags: Mapping[str, str]) -> str:
    return str(tags.get("name") or tags.get("name:zh") or "").strip()


def _toml_value(v: Any) -> str:
    # area.toml from a fetch: floats to 6 decimals (speeds derived from metres / minutes).
    return toml_value(v, float_digits=6)


# --- osmnx session: settings, retries, clear errors ------------------------------------------


def default_cache_folder() -> Path:
    """``$XDG_CACHE_HOME/circle15/osmnx`` (``~/.cache/circle15/osmnx``)."""
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "circle15" / "osmnx"


@contextmanager
def _osmnx_session(*, cache_folder: Path, timeout_s: float, overpass_url: str | None,
                   nominatim_url: str | None) -> Iterator[None]:
    """Set osmnx's cache/timeout/endpoints for one fetch and restore them afterwards.

    Also turns an Overpass answer carrying a ``remark`` (a server-side timeout or memory error,
    i.e. partial data that osmnx would log and return) into a :class:`FetchError`.
    """
    import osmnx as ox
    import requests
    from osmnx import _http, _overpass

    from .osmfile import EXTRA_WAY_TAGS

    names = ("use_cache", "cache_folder", "requests_timeout", "overpass_url", "nominatim_url",
             "useful_tags_way", "log_console")
    saved = {n: getattr(ox.settings, n) for n in names}
    orig_parse = _http._parse_response
    orig_pause = _overpass._get_overpass_pause

    def pause_checked(base_endpoint: str, **kwargs: Any) -> float:
        # osmnx waits 60 s when the status page is unreachable: fail at once instead
        if ox.settings.overpass_rate_limit:
            requests.get(base_endpoint.rstrip("/") + "/status", timeout=min(timeout_s, 30.0),
                         headers=_http._get_http_headers(), **ox.settings.requests_kwargs)
        return float(orig_pause(base_endpoint, **kwargs))

    def parse_checked(response: Any) -> Any:
        data = orig_parse(response)
        if isinstance(data, dict) and "remark" in data:
            raise FetchError(f"the Overpass server returned incomplete data ({data['remark']})",
                             fix="try again later, fetch fewer units at a time, or raise "
                                 "--timeout", source=_host(response.url))
        if not getattr(response, "ok", True):
            raise FetchError(f"the server answered HTTP {response.status_code}",
                             fix="try again later or use --from-pbf FILE",
                             source=_host(response.url))
        return data

    try:
        ox.settings.use_cache = True
        ox.settings.cache_folder = str(cache_folder)
        ox.settings.requests_timeout = timeout_s
        ox.settings.useful_tags_way = sorted(set(ox.settings.useful_tags_way)
                                             | set(EXTRA_WAY_TAGS))
        if overpass_url:
            ox.settings.overpass_url = overpass_url
        if nominatim_url:
            ox.settings.nominatim_url = nominatim_url
        _http._parse_response = parse_checked
        _overpass._get_overpass_pause = pause_checked
        yield
    finally:
        _http._parse_response = orig_parse
        _overpass._get_overpass_pause = orig_pause
        for n, v in saved.items():
            setattr(ox.settings, n, v)


def _host(url: str) -> str:
    from urllib.parse import urlparse

    return urlparse(url).netloc or url


def _offline_fix() -> str:
    return ("check the internet connection (and HTTPS_PROXY if you use a proxy), or download an "
            "OpenStreetMap extract (.osm.pbf) and run circle15 fetch --from-pbf FILE")


def _retry(what: str, fn: Callable[[], T], *, retries: int, backoff_s: float,
           endpoint: str) -> T:
    """Call ``fn``; retry network failures with exponential backoff; raise :class:`FetchError`."""
    import requests
    from osmnx._errors import ResponseStatusCodeError

    attempts = max(1, retries)
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                ResponseStatusCodeError) as exc:
            if attempt == attempts:
                reason = type(exc).__name__
                if isinstance(exc, requests.exceptions.Timeout):
                    reason = "timed out"
                elif isinstance(exc, requests.exceptions.ConnectionError):
                    reason = "connection failed"
                raise FetchError(f"could not reach {_host(endpoint)} while {what} ({reason}, "
                                 f"{attempts} attempt(s))", fix=_offline_fix(),
                                 source=_host(endpoint)) from None
            wait = backoff_s * 2 ** (attempt - 1)
            log.warning("%s failed (%s); retrying in %.0f s (%d/%d)", what, type(exc).__name__,
                        wait, attempt, attempts)
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


# --- the layers, from osmnx or from a PBF -------------------------------------------------


@dataclass
class _Layers:
    """What a fetch gathered, EPSG:4326."""

    boundaries: gpd.GeoDataFrame
    graph: Any
    facilities: list[OsmRecord] = field(default_factory=list)
    residential: list[OsmRecord] = field(default_factory=list)
    buildings: list[OsmRecord] = field(default_factory=list)
    gates: list[OsmRecord] = field(default_factory=list)
    bus_stops: list[OsmRecord] = field(default_factory=list)
    source: dict[str, str] = field(default_factory=dict)
    crs: str = ""


def _is_gate(tags: Mapping[str, str]) -> bool:
    return "entrance" in tags or tags.get("barrier") == "gate"


def _is_bus_stop(tags: Mapping[str, str]) -> bool:
    return tags.get("highway") == "bus_stop" or (
        tags.get("public_transport") == "platform" and tags.get("bus") == "yes")


def _is_residential(tags: Mapping[str, str]) -> bool:
    return tags.get("landuse") == "residential"


def _union_tags(categories: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    tags: dict[str, Any] = {}
    for cat in categories:
        for k, v in (cat.get("osm") or {}).items():
            if v is True or tags.get(k) is True:
                tags[k] = True
            else:
                vals = [v] if isinstance(v, str) else list(v)
                tags[k] = sorted(set(tags.get(k, [])) | set(vals))
    return tags


def _records_from_features(gdf: gpd.GeoDataFrame) -> list[OsmRecord]:
    gdf = gdf[~gdf.index.duplicated()]
    tag_cols = [c for c in gdf.columns if c != "geometry"]
    records = []
    for key, geom, *vals in zip(gdf.index, gdf.geometry, *(gdf[c] for c in tag_cols),
                                strict=True):
        tags = {c: v for c, v in zip(tag_cols, vals, strict=True) if isinstance(v, str)}
        records.append({"osm_type": str(key[0]), "osm_id": int(key[1]), "tags": tags,
                        "geometry": geom})
    return records


def _online_layers(*, units: list[str], within: str | None, boundaries: gpd.GeoDataFrame | None,
                   categories: list[dict[str, Any]], max_walk_m: float, retries: int,
                   backoff_s: float, timeout_s: float) -> _Layers:
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError
    from tqdm.auto import tqdm

    nominatim = ox.settings.nominatim_url
    overpass = ox.settings.overpass_url
    if boundaries is None:
        rows = []
        for unit in tqdm(units, desc="geocoding units", unit="unit", disable=None):
            query = f"{unit}, {within}" if within else unit
            log.info("geocoding %s", query)

            def geocode(q: str = query) -> gpd.GeoDataFrame:
                return ox.geocode_to_gdf(q)

            try:
                g = _retry(f"geocoding {query!r}", geocode, retries=retries,
                           backoff_s=backoff_s, endpoint=nominatim)
            except InsufficientResponseError:
                raise FetchError(f"no place named {query!r} was found",
                                 fix="check the spelling of the unit (e.g. 回龙观街道) and of "
                                     "--within, or give --boundary FILE",
                                 source="--units") from None
            except TypeError:
                raise FetchError(f"{query!r} was found, but not as an area (no boundary "
                                 "polygon)", fix="use the administrative name (e.g. ...街道/镇) "
                                 "or give --boundary FILE", source="--units") from None
            rows.append({"name": unit, "osm_type": str(g["osm_type"].iloc[0]),
                         "osm_id": int(g["osm_id"].iloc[0]), "geometry": g.geometry.iloc[0]})
        boundaries = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")

    crs = _area_crs(boundaries)
    units_poly, study_poly, gate_poly = _study_polygons(boundaries, crs, max_walk_m)

    log.info("downloading the walk network (%.1f km² incl. a %.0f m margin)",
             gpd.GeoSeries([study_poly], crs="EPSG:4326").to_crs(crs).area.iloc[0] / 1e6,
             max_walk_m)

    def network() -> Any:
        return ox.graph_from_polygon(study_poly, network_type="walk", simplify=False,
                                     retain_all=True, truncate_by_edge=True)

    try:
        graph = _retry("downloading the walk network", network, retries=retries,
                       backoff_s=backoff_s, endpoint=overpass)
    except InsufficientResponseError:
        raise FetchError("OpenStreetMap has no walkable street in the study area",
                         fix="check the units / bbox") from None

    def features(poly: BaseGeometry, tags: dict[str, Any], what: str) -> list[OsmRecord]:
        log.info("downloading %s", what)

        def call() -> gpd.GeoDataFrame:
            return ox.features_from_polygon(poly, tags)

        try:
            gdf = _retry(f"downloading {what}", call, retries=retries, backoff_s=backoff_s,
                         endpoint=overpass)
        except InsufficientResponseError:
            log.info("no %s found", what)
            return []
        return _records_from_features(gdf)

    point_tags = _union_tags(categories)
    point_tags.setdefault("highway", [])
    if point_tags["highway"] is not True:
        point_tags["highway"] = sorted(set(point_tags["highway"]) | {"bus_stop"})
    point_tags["entrance"] = True
    if point_tags.get("barrier") is not True:
        point_tags["barrier"] = sorted(set(point_tags.get("barrier", [])) | {"gate"})
    points = features(study_poly, point_tags, "facilities, gates and bus stops")
    homes = features(units_poly, {"landuse": ["residential"], "building": True},
                     "residential areas and buildings")
    layers = _Layers(boundaries=boundaries, graph=graph, crs=crs)
    _sort_records(layers, points, homes, categories, units_poly, study_poly, gate_poly)
    layers.source = {
        "kind": "online",
        "overpass_url": overpass,
        "nominatim_url": nominatim if units else "",
        "osmnx": _version("osmnx"),
    }
    return layers


def _pbf_layers(pbf: Path, *, units: list[str], within: str | None,
                boundaries: gpd.GeoDataFrame | None, categories: list[dict[str, Any]],
                max_walk_m: float) -> _Layers:
    import osmnx as ox

    from .osmfile import (
        _graph_from_xml,
        read_pbf_features,
        read_pbf_named_areas,
        write_pbf_walk_network_xml,
    )

    if not pbf.exists():
        raise FetchError(f"file {str(pbf)!r} not found", fix="check the --from-pbf path",
                         source="--from-pbf")
    if boundaries is None:
        log.info("looking up %d unit boundaries in %s", len(units), pbf.name)
        found = read_pbf_named_areas(pbf, [*units, *([within] if within else [])])
        boundaries = _pick_units(found, units, within, source=str(pbf))
    crs = _area_crs(boundaries)
    units_poly, study_poly, gate_poly = _study_polygons(boundaries, crs, max_walk_m)
    bbox = tuple(study_poly.bounds)

    log.info("extracting the walk network from %s", pbf.name)
    with tempfile.TemporaryDirectory(prefix="circle15-pbf-") as tmp:
        xml = Path(tmp) / "walk.osm"
        if write_pbf_walk_network_xml(pbf, xml, bbox=bbox) == 0:  # type: ignore[arg-type]
            raise FetchError(f"{pbf.name} has no walkable street in the study area",
                             fix="use an extract that covers the units", source=str(pbf))
        graph = _graph_from_xml(xml)
    graph = ox.truncate.truncate_graph_polygon(graph, study_poly, truncate_by_edge=True)

    log.info("extracting facilities, compounds, buildings, gates and bus stops")
    cats = categories

    def is_point_feature(t: Mapping[str, str]) -> bool:
        return (_is_gate(t) or _is_bus_stop(t)
                or any(tags_match(t, c.get("osm") or {}) for c in cats))

    def is_home(t: Mapping[str, str]) -> bool:
        return _is_residential(t) or "building" in t

    found_layers = read_pbf_features(pbf, {"points": is_point_feature, "homes": is_home},
                                     bbox=bbox)  # type: ignore[arg-type]
    layers = _Layers(boundaries=boundaries, graph=graph, crs=crs)
    _sort_records(layers, found_layers["points"], found_layers["homes"], categories,
                  units_poly, study_poly, gate_poly)
    layers.source = {
        "kind": "pbf",
        "pbf": str(pbf.resolve()),
        "pbf_size_bytes": str(pbf.stat().st_size),
        "pbf_sha256": _sha256(pbf),
        "pbf_timestamp": _pbf_timestamp(pbf),
        "pyosmium": _version("osmium"),
        "osmnx": _version("osmnx"),
    }
    return layers


def _pick_units(found: list[OsmRecord], units: list[str], within: str | None, *,
                source: str) -> gpd.GeoDataFrame:
    """Choose one polygon per unit name among PBF areas; ``within`` breaks ties."""

    def name_of(r: OsmRecord) -> str:
        return r["tags"].get("name") or r["tags"].get("name:zh", "")

    def rank(r: OsmRecord) -> tuple[int, int]:
        t = r["tags"]
        admin = 0 if t.get("boundary") == "administrative" else 1
        return admin, -int(r["geometry"].area * 1e9)

    within_geom = None
    if within:
        cands = sorted((r for r in found if name_of(r) == within), key=rank)
        within_geom = cands[0]["geometry"] if cands else None
    rows, missing = [], []
    for unit in units:
        cands = [r for r in found if name_of(r) == unit and r["osm_type"] != "node"]
        if within_geom is not None:
            inside = [r for r in cands
                      if within_geom.buffer(1e-4).contains(r["geometry"].representative_point())]
            cands = inside or cands
        if not cands:
            missing.append(unit)
            continue
        best = sorted(cands, key=rank)[0]
        rows.append({"name": unit, "osm_type": best["osm_type"], "osm_id": best["osm_id"],
                     "geometry": best["geometry"]})
    if missing:
        raise FetchError(f"no boundary polygon named {', '.join(missing)} in the extract",
                         fix="check the names (as in OSM's name tag) or give --boundary FILE",
                         source=source)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def _area_crs(boundaries: gpd.GeoDataFrame) -> str:
    c = boundaries.union_all().centroid
    crs = utm_crs(c.x, c.y)
    log.info("area CRS %s (UTM zone of the centroid %.4f, %.4f)", crs, c.x, c.y)
    return crs


def _study_polygons(boundaries: gpd.GeoDataFrame, crs: str,
                    max_walk_m: float) -> tuple[BaseGeometry, BaseGeometry, BaseGeometry]:
    """Units, units + longest walk, units + gate margin; all EPSG:4326."""
    proj = boundaries.to_crs(crs).union_all()
    out = gpd.GeoSeries([proj, proj.buffer(max_walk_m), proj.buffer(GATE_MARGIN_M)], crs=crs)
    geoms = list(out.to_crs("EPSG:4326"))
    return geoms[0], geoms[1], geoms[2]


def _sort_records(layers: _Layers, points: list[OsmRecord], homes: list[OsmRecord],
                  categories: list[dict[str, Any]], units_poly: BaseGeometry,
                  study_poly: BaseGeometry, gate_poly: BaseGeometry) -> None:
    shapely.prepare(units_poly)
    shapely.prepare(study_poly)
    shapely.prepare(gate_poly)
    for r in points:
        g = r["geometry"]
        if _is_gate(r["tags"]) and g.geom_type == "Point" and gate_poly.intersects(g):
            layers.gates.append(r)
        if not study_poly.intersects(g):
            continue
        if _is_bus_stop(r["tags"]):
            layers.bus_stops.append(r)
        if any(tags_match(r["tags"], c.get("osm") or {}, c.get("name_pattern"))
               for c in categories):
            layers.facilities.append(r)
    for r in homes:
        g = r["geometry"]
        if g.geom_type not in ("Polygon", "MultiPolygon") or not units_poly.intersects(g):
            continue
        if _is_residential(r["tags"]):
            layers.residential.append(r)
        if "building" in r["tags"]:
            layers.buildings.append(r)


# --- turning records into the snapshot's tables --------------------------------------------


def build_facilities(records: list[OsmRecord],
                     categories: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """One point per (OSM object, matching category), EPSG:4326.

    Columns: id, name, category, lon, lat, source ("osm"), osm_type, osm_id.
    """
    rows = []
    for r in records:
        for cat in categories:
            if not tags_match(r["tags"], cat.get("osm") or {}, cat.get("name_pattern")):
                continue
            g = r["geometry"]
            pt = g if g.geom_type == "Point" else g.representative_point()
            name = _name(r["tags"]) or f"{cat['label']} (OSM {r['osm_type']} {r['osm_id']})"
            rows.append({"id": f"{r['osm_type'][0]}{r['osm_id']}-{cat['key']}", "name": name,
                         "category": cat["key"], "lon": round(pt.x, 7), "lat": round(pt.y, 7),
                         "source": "osm", "osm_type": r["osm_type"], "osm_id": r["osm_id"],
                         "geometry": pt})
    cols = ["id", "name", "category", "lon", "lat", "source", "osm_type", "osm_id", "geometry"]
    return gpd.GeoDataFrame(rows or None, columns=cols, geometry="geometry", crs="EPSG:4326")


def build_points(records: list[OsmRecord], kind: Callable[[Mapping[str, str]], str]
                 ) -> gpd.GeoDataFrame:
    """Gates / bus stops as points: id, name, kind, access, osm_id, geometry (EPSG:4326)."""
    rows = [{"id": f"{r['osm_type'][0]}{r['osm_id']}", "name": _name(r["tags"]),
             "kind": kind(r["tags"]), "access": r["tags"].get("access", ""),
             "osm_id": r["osm_id"], "geometry": r["geometry"]}
            for r in records if r["geometry"].geom_type == "Point"]
    return gpd.GeoDataFrame(rows or None, columns=["id", "name", "kind", "access", "osm_id",
                                                   "geometry"],
                            geometry="geometry", crs="EPSG:4326")


def _gate_kind(tags: Mapping[str, str]) -> str:
    if "entrance" in tags:
        return f"entrance={tags['entrance']}"
    return "barrier=gate"


def build_compounds(residential: list[OsmRecord], buildings: list[OsmRecord],
                    boundaries: gpd.GeoDataFrame, crs: str, *,
                    m2_per_person: float = DEFAULT_M2_PER_PERSON,
                    default_levels: float = DEFAULT_LEVELS,
                    share_60plus: float = DEFAULT_SHARE_60PLUS,
                    fallback_far: float | None = None) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Compounds from ``landuse=residential`` polygons with an estimated population.

    Population of a compound, in order of preference:

    1. its own ``population`` tag (``population_source = "osm_tag"``);
    2. residential floor area of the buildings whose representative point lies inside it
       (footprint m² in ``crs`` x ``building:levels``, ``default_levels`` where missing) divided
       by ``m2_per_person`` (``"buildings"``);
    3. its land area x a floor-area ratio (the median of the compounds estimated from buildings,
       else ``fallback_far``) / ``m2_per_person`` (``"assumed_far"``).

    A residential polygon that contains other residential polygons (a district-wide
    ``landuse=residential``) is dropped in favour of the smaller ones.

    Returns
    -------
    compounds : GeoDataFrame, EPSG:4326
        id, name, unit, population, population_60plus, population_source, floor_area_m2,
        n_buildings, n_levels_assumed, area_m2, osm_type, osm_id, geometry.
    stats : dict
        Counts for the provenance file.
    """
    cols = ["id", "name", "unit", "population", "population_60plus", "population_source",
            "floor_area_m2", "n_buildings", "n_levels_assumed", "area_m2", "osm_type", "osm_id",
            "geometry"]
    stats: dict[str, Any] = {"dropped_containers": 0, "buildings_used": 0,
                             "levels_assumed": 0, "far_used": None}
    polys = [r for r in residential if r["geometry"].geom_type in ("Polygon", "MultiPolygon")]
    if not polys:
        return gpd.GeoDataFrame(None, columns=cols, geometry="geometry", crs="EPSG:4326"), stats
    comp = gpd.GeoDataFrame(
        {"osm_type": [r["osm_type"] for r in polys], "osm_id": [r["osm_id"] for r in polys],
         "name": [_name(r["tags"]) for r in polys],
         "pop_tag": [r["tags"].get("population") for r in polys]},
        geometry=[r["geometry"] for r in polys], crs="EPSG:4326",
    ).drop_duplicates(["osm_type", "osm_id"]).reset_index(drop=True).to_crs(crs)

    # drop containers: polygons holding the representative point of another residential polygon
    reps = gpd.GeoDataFrame(geometry=comp.geometry.representative_point(), crs=crs)
    pairs = gpd.sjoin(reps, comp[["geometry"]], predicate="within", how="inner")
    containers = set(pairs.loc[pairs.index != pairs["index_right"], "index_right"])
    if containers:
        stats["dropped_containers"] = len(containers)
        log.info("dropping %d residential polygons that contain other ones", len(containers))
        comp = comp.drop(index=sorted(containers)).reset_index(drop=True)
    comp["area_m2"] = comp.geometry.area

    # residential buildings -> floor area per compound
    res_b = [b for b in buildings if is_residential_building(b["tags"])
             and b["geometry"].geom_type in ("Polygon", "MultiPolygon")]
    floor = np.zeros(len(comp))
    n_b = np.zeros(len(comp), dtype=int)
    n_assumed = np.zeros(len(comp), dtype=int)
    if res_b:
        levels = [parse_levels(b["tags"].get("building:levels")) for b in res_b]
        bg = gpd.GeoDataFrame({"levels": [lv or default_levels for lv in levels],
                               "assumed": [lv is None for lv in levels]},
                              geometry=[b["geometry"] for b in res_b], crs="EPSG:4326").to_crs(crs)
        bg["floor_m2"] = bg.geometry.area * bg["levels"]
        pts = gpd.GeoDataFrame(bg.drop(columns="geometry"),
                               geometry=bg.geometry.representative_point(), crs=crs)
        hit = gpd.sjoin(pts, comp[["geometry", "area_m2"]], predicate="within", how="inner")
        hit = hit.sort_values("area_m2").loc[lambda d: ~d.index.duplicated()]  # smallest wins
        grp = hit.groupby("index_right")
        floor[grp["floor_m2"].sum().index] = grp["floor_m2"].sum().to_numpy()
        n_b[grp.size().index] = grp.size().to_numpy()
        n_assumed[grp["assumed"].sum().index] = grp["assumed"].sum().to_numpy()
        stats["buildings_used"] = len(hit)
        stats["levels_assumed"] = int(hit["assumed"].sum())

    with_b = n_b > 0
    far = float(np.median(floor[with_b] / comp["area_m2"].to_numpy()[with_b])) if with_b.any() \
        else (fallback_far if fallback_far is not None else DEFAULT_FALLBACK_FAR)
    stats["far_used"] = round(far, 3)
    pop = np.where(with_b, floor / m2_per_person, comp["area_m2"].to_numpy() * far / m2_per_person)
    source = np.where(with_b, "buildings", "assumed_far").astype(object)
    tag_pop = pd.to_numeric(comp["pop_tag"], errors="coerce").to_numpy()
    has_tag = np.isfinite(tag_pop) & (tag_pop > 0)
    pop = np.where(has_tag, tag_pop, pop)
    source[has_tag] = "osm_tag"
    comp["population"] = np.round(pop).astype(int)
    comp["population_60plus"] = np.round(comp["population"] * share_60plus).astype(int)
    comp["population_source"] = source
    comp["floor_area_m2"] = np.round(floor, 1)
    comp["n_buildings"] = n_b
    comp["n_levels_assumed"] = n_assumed
    comp["area_m2"] = comp["area_m2"].round(1)

    # unit = the boundary with the largest overlap
    units = boundaries.to_crs(crs)[["name", "geometry"]].reset_index(drop=True)
    unit_of = []
    for g in comp.geometry:
        overlaps = units.geometry.intersection(g).area.to_numpy()
        unit_of.append(str(units["name"].iloc[int(np.argmax(overlaps))]) if len(units) else "")
    comp["unit"] = unit_of
    comp["id"] = [f"{t[0]}{i}" for t, i in zip(comp["osm_type"], comp["osm_id"], strict=True)]
    comp["name"] = [n or f"小区 (OSM {t} {i})" for n, t, i in
                    zip(comp["name"], comp["osm_type"], comp["osm_id"], strict=True)]
    comp = comp.to_crs("EPSG:4326")
    return gpd.GeoDataFrame(comp[cols], geometry="geometry", crs="EPSG:4326"), stats


# --- writing ------------------------------------------------------------------------------


def _write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    gdf.to_file(path, driver="GeoJSON", engine="pyogrio")


def _category_toml(cat: Mapping[str, Any]) -> str:
    lines = ["[[category]]"]
    for k in ("key", "label", "label_en", "minutes"):
        if k in cat:
            lines.append(f"{k} = {_toml_value(cat[k])}")
    if "speed_m_s" in cat:
        lines.append(f"speed_m_s = {_toml_value(float(cat['speed_m_s']))}")
    elif cat.get("walk_m"):
        speed = category_of(cat).speed_m_s  # walk_m / (minutes x 60)
        lines.append(f"speed_m_s = {_toml_value(round(speed, 6))}  "
                     f"# {cat['minutes']} min = {cat['walk_m']:g} m per the source")
    for k in ("demand", "new_sites", "osm", "source"):
        if k in cat:
            lines.append(f"{k} = {_toml_value(cat[k])}")
    if cat.get("name_pattern"):
        lines.append(f"# name_pattern = {_toml_value(cat['name_pattern'])}  (used by fetch)")
    return "\n".join(lines)


def render_area_toml(*, name: str, crs: str, categories: list[dict[str, Any]],
                     speed_m_s: float, has_gates: bool, preset: str, fetched_at: str) -> str:
    """The area.toml text of a snapshot (paths relative to the snapshot folder)."""
    parts = [
        f"# Written by `circle15 fetch` on {fetched_at} (preset {preset}).",
        "# Data © OpenStreetMap contributors (ODbL 1.0): see PROVENANCE.md.",
        "",
        "[area]",
        f"name = {_toml_value(name)}",
        f"crs = {_toml_value(crs)}",
        'boundaries = "boundaries.geojson"',
        'network = "network.graphml"',
        "",
        "[walk]",
        f"speed_m_s = {_toml_value(float(speed_m_s))}",
        "",
    ]
    for cat in categories:
        parts += [_category_toml(cat), ""]
    parts += ["[[facilities]]", 'path = "facilities.geojson"', 'coords = "wgs84"', "",
              "[compounds]", 'path = "compounds.geojson"']
    if has_gates:
        parts.append('gates = "gates.geojson"')
    return "\n".join(parts) + "\n"


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pbf_timestamp(pbf: Path) -> str:
    try:
        import osmium

        header = osmium.io.Reader(str(pbf), osmium.osm.osm_entity_bits.NOTHING).header()
        return str(header.get("osmosis_replication_timestamp", "")) or "not given in the header"
    except Exception:  # pragma: no cover - header is informative only
        return "unknown"


def render_provenance(*, name: str, fetched_at: str, query: Mapping[str, Any],
                      source: Mapping[str, str], counts: Mapping[str, int],
                      population: Mapping[str, Any], preset: str,
                      categories: list[dict[str, Any]]) -> str:
    """PROVENANCE.md text: when, from where, how, and the licence."""
    lines = [f"# Provenance of {name}", "", f"Fetched: {fetched_at} (UTC) by `circle15 fetch`.",
             ""]
    if source.get("kind") == "pbf":
        lines += ["Source: OpenStreetMap extract (read with pyosmium "
                  f"{source.get('pyosmium')}, osmnx {source.get('osmnx')}):", "",
                  f"- file: `{source.get('pbf')}`",
                  f"- size: {source.get('pbf_size_bytes')} bytes",
                  f"- sha256: `{source.get('pbf_sha256')}`",
                  f"- replication timestamp: {source.get('pbf_timestamp')}"]
    else:
        lines += [f"Source: OpenStreetMap live, through osmnx {source.get('osmnx')}:", "",
                  f"- Overpass API: {source.get('overpass_url')}"]
        if source.get("nominatim_url"):
            lines.append(f"- Nominatim: {source.get('nominatim_url')}")
    lines += ["", "## Query", ""]
    lines += [f"- {k}: {v}" for k, v in query.items() if v not in (None, "", [])]
    p = preset_info(preset) if preset in PRESETS else {"title": preset, "source": ""}
    lines += ["", "## Categories", "", f"Preset `{preset}`: {p['title']}.",
              f"Source: {p['source']}.", "",
              "| key | label | minutes | OSM tags | source |", "|---|---|---|---|---|"]
    for c in categories:
        osm = "; ".join(f"{k}={'*' if v is True else ', '.join(v)}"
                        for k, v in (c.get("osm") or {}).items())
        lines.append(f"| {c['key']} | {c.get('label', '')} | {c['minutes']:g} | {osm} | "
                     f"{c.get('source', '')} |")
    lines += ["", "## Layers", ""]
    lines += [f"- {k}: {v}" for k, v in counts.items()]
    lines += [
        "", "## Compound population (estimated)", "",
        "Compounds are OSM `landuse=residential` polygons. Population = residential floor area "
        "of the buildings inside (footprint x `building:levels`) / m² per person; compounds "
        "without mapped buildings use land area x the median floor-area ratio of the others; "
        "an OSM `population` tag wins where present (column `population_source`). "
        "`population_60plus` = population x the 60+ share. These are estimates: replace them "
        "with census or community figures where you have them.", "",
    ]
    lines += [f"- {k}: {v}" for k, v in population.items()]
    lines += ["", "## Licence", "", ODBL_NOTICE, ""]
    return "\n".join(lines)


# --- the public entry point ---------------------------------------------------------------


def _read_boundary_file(path: Path, units: list[str]) -> gpd.GeoDataFrame:
    from .io import read_vector

    gdf = read_vector(path)
    col = next((c for c in _NAME_COLUMNS if c in gdf.columns), None)
    names = (gdf[col].astype(str) if col else
             pd.Series([f"unit {i + 1}" for i in range(len(gdf))], index=gdf.index))
    gdf = gpd.GeoDataFrame({"name": names.to_numpy()}, geometry=gdf.geometry.to_numpy(),
                           crs=gdf.crs)
    if units:
        missing = [u for u in units if u not in set(gdf["name"])]
        if missing:
            raise FetchError(f"no unit named {', '.join(missing)} in the boundary file",
                             fix=f"use names from its {col or 'name'} column", source=str(path))
        gdf = gdf[gdf["name"].isin(units)]
    gdf = gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]
    if gdf.empty:
        raise FetchError("the boundary file holds no polygon", fix="check the file",
                         source=str(path))
    return gdf.dissolve(by="name", as_index=False).to_crs("EPSG:4326")


def _load_overrides(path: Path | None) -> list[dict[str, Any]]:
    if path is None:
        return []
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FetchError(f"cannot read the category config ({exc})",
                         fix="give an area.toml with [[category]] blocks",
                         source=str(path)) from None
    cats = raw.get("category", [])
    if not isinstance(cats, list):
        raise FetchError("[[category]] must be an array of tables", fix="write [[category]]",
                         source=str(path))
    return cats


def fetch_area(
    *,
    units: str | Sequence[str] | None = None,
    within: str | None = None,
    boundary: str | Path | None = None,
    bbox: str | Sequence[float] | None = None,
    from_pbf: str | Path | None = None,
    preset: str = "gb50180",
    out: Path,
    name: str | None = None,
    categories: Sequence[Mapping[str, Any]] | None = None,
    category_config: str | Path | None = None,
    speed_m_s: float = DEFAULT_SPEED_M_S,
    m2_per_person: float = DEFAULT_M2_PER_PERSON,
    default_levels: float = DEFAULT_LEVELS,
    share_60plus: float = DEFAULT_SHARE_60PLUS,
    cache_folder: str | Path | None = None,
    timeout_s: float = 180.0,
    retries: int = 3,
    backoff_s: float = 5.0,
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Fetch a study area from OpenStreetMap (or an .osm.pbf) into a snapshot folder.

    Parameters
    ----------
    units : str or sequence of str, optional
        Unit names (街道/镇), e.g. ``"回龙观街道,龙泽园街道"``. Geocoded with Nominatim (online),
        looked up by ``name`` in the extract (``from_pbf``), or selected from ``boundary``.
    within : str, optional
        Parent area appended to each geocoding query (``"北京市昌平区"``) / tie-breaker in PBFs.
    boundary : path, optional
        Polygon file of the units (name column ``name``/``名称``/``unit``/``jd_name``/``乡``).
    bbox : "W,S,E,N" or 4 floats, optional
        A rectangle (degrees) as the single unit.
    from_pbf : path, optional
        Read everything from this .osm.pbf instead of downloading.
    preset : str
        Category preset (see :data:`coverage.presets.PRESETS`).
    out : Path
        Snapshot folder to create (must not exist unless ``overwrite``).
    name : str, optional
        Area name; default the unit names joined with 、.
    categories : sequence of dict, optional
        Category overrides merged over the preset by key (see
        :func:`coverage.presets.merge_categories`).
    category_config : path, optional
        A TOML file whose ``[[category]]`` blocks are used as ``categories`` overrides.
    speed_m_s : float
        ``[walk] speed_m_s`` written to area.toml (m/s).
    m2_per_person : float
        Residential floor area per resident (m²), for the population estimate.
    default_levels : float
        Storeys assumed for residential buildings without ``building:levels``.
    share_60plus : float
        Share of residents aged 60 or more (0-1).
    cache_folder : path, optional
        osmnx download cache (default :func:`default_cache_folder`).
    timeout_s : float
        Per-request timeout (seconds); also the Overpass server-side timeout.
    retries : int
        Attempts per download (network errors and HTTP errors), with exponential backoff.
    backoff_s : float
        First wait between attempts (seconds); doubles each time.
    overpass_url, nominatim_url : str, optional
        Other endpoints (mirrors) than osmnx's defaults.
    overwrite : bool
        Replace an existing ``out`` folder.

    Returns
    -------
    Path
        ``out / "area.toml"``.

    Raises
    ------
    FetchError
        Bad arguments, an unreachable server, a place that cannot be found, or an extract that
        does not cover the area. Nothing is written then.
    """
    out = Path(out)
    unit_list = parse_units(units)
    modes = [m for m, v in (("--units", unit_list and boundary is None),
                            ("--boundary", boundary), ("--bbox", bbox)) if v]
    if len(modes) != 1:
        raise FetchError("give exactly one of --units, --boundary FILE or --bbox W,S,E,N"
                         + (f" (got {', '.join(modes)})" if modes else ""),
                         fix="e.g. --units 回龙观街道,龙泽园街道 --within 北京市昌平区",
                         source="circle15 fetch")
    if out.exists() and not overwrite:
        raise FetchError(f"the output folder {str(out)!r} already exists",
                         fix="choose another --out or add --force to replace it",
                         source="--out")
    for label, value, lo, hi in (("--m2-per-person", m2_per_person, 5, 200),
                                 ("--default-levels", default_levels, 1, 100),
                                 ("--share-60plus", share_60plus, 0, 1),
                                 ("--speed", speed_m_s, *SPEED_RANGE_M_S)):
        if not (isinstance(value, (int, float)) and lo <= value <= hi):
            raise FetchError(f"{label} {value!r} is outside {lo}-{hi}",
                             fix=f"give a number between {lo} and {hi}", source=label)

    overrides = list(categories or []) + _load_overrides(
        Path(category_config) if category_config else None)
    cats = merge_categories(load_preset(preset), overrides)
    max_walk_m = max(category_walk_m(c, speed_m_s) for c in cats)
    log.info("preset %s: %d categories, longest walk %.0f m", preset, len(cats), max_walk_m)

    boundaries = None
    if boundary is not None:
        boundaries = _read_boundary_file(Path(boundary), unit_list)
    elif bbox is not None:
        w, s, e, n = parse_bbox(bbox)
        boundaries = gpd.GeoDataFrame({"name": [name or f"bbox {w:g},{s:g},{e:g},{n:g}"]},
                                      geometry=[box(w, s, e, n)], crs="EPSG:4326")
    fetched_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()

    if from_pbf is not None:
        layers = _pbf_layers(Path(from_pbf), units=unit_list, within=within,
                             boundaries=boundaries, categories=cats, max_walk_m=max_walk_m)
    else:
        cache = Path(cache_folder) if cache_folder else default_cache_folder()
        with _osmnx_session(cache_folder=cache, timeout_s=timeout_s, overpass_url=overpass_url,
                            nominatim_url=nominatim_url):
            layers = _online_layers(units=unit_list, within=within, boundaries=boundaries,
                                    categories=cats, max_walk_m=max_walk_m, retries=retries,
                                    backoff_s=backoff_s, timeout_s=timeout_s)
        layers.source["cache_folder"] = str(cache)

    area_name = name or ("、".join(unit_list) if unit_list and boundary is None
                         else "、".join(map(str, layers.boundaries["name"])))
    crs = layers.crs
    facilities = build_facilities(layers.facilities, cats)
    compounds, pop_stats = build_compounds(
        layers.residential, layers.buildings, layers.boundaries, crs,
        m2_per_person=m2_per_person, default_levels=default_levels, share_60plus=share_60plus)
    gates = build_points(layers.gates, _gate_kind)
    bus_stops = build_points(layers.bus_stops, lambda t: t.get("highway", "platform"))
    if compounds.empty:
        log.warning("no landuse=residential polygon in the units: compounds.geojson is empty; "
                    "supply your own compounds file and edit area.toml")
    per_cat = facilities["category"].value_counts()
    for cat in cats:
        log.info("facilities %-20s %4d", cat["key"], int(per_cat.get(cat["key"], 0)))

    counts = {
        "units (boundaries.geojson)": len(layers.boundaries),
        "network nodes / edges (network.graphml)":
            f"{layers.graph.number_of_nodes()} / {layers.graph.number_of_edges()}",
        "facilities (facilities.geojson)": len(facilities),
        "compounds (compounds.geojson)": len(compounds),
        "buildings used for population": pop_stats["buildings_used"],
        "gates (gates.geojson)": len(gates),
        "bus stops (bus_stops.geojson)": len(bus_stops),
    }
    population = {
        "m² per person": m2_per_person,
        "storeys assumed where building:levels is missing": default_levels,
        "buildings with assumed storeys": pop_stats["levels_assumed"],
        "floor-area ratio for compounds without buildings": pop_stats["far_used"],
        "share aged 60+": share_60plus,
        "district-wide residential polygons dropped": pop_stats["dropped_containers"],
        "total estimated population": int(compounds["population"].sum()) if len(compounds)
        else 0,
    }
    query = {"units": "、".join(unit_list), "within": within,
             "boundary file": str(boundary) if boundary else None,
             "bbox": ",".join(f"{v:g}" for v in parse_bbox(bbox)) if bbox is not None else None,
             "walk network margin": f"{max_walk_m:.0f} m (longest walk of any category)",
             "area CRS": crs}

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.fetch-", dir=out.parent))
    try:
        import osmnx as ox

        log.info("writing the snapshot")
        ox.save_graphml(layers.graph, tmp / "network.graphml")
        bnd = layers.boundaries.copy()
        _write_geojson(bnd, tmp / "boundaries.geojson")
        _write_geojson(facilities, tmp / "facilities.geojson")
        _write_geojson(compounds, tmp / "compounds.geojson")
        _write_geojson(bus_stops, tmp / "bus_stops.geojson")
        if len(gates):
            _write_geojson(gates, tmp / "gates.geojson")
        (tmp / "area.toml").write_text(
            render_area_toml(name=area_name, crs=crs, categories=cats, speed_m_s=speed_m_s,
                             has_gates=len(gates) > 0, preset=preset, fetched_at=fetched_at),
            encoding="utf-8")
        (tmp / "PROVENANCE.md").write_text(
            render_provenance(name=area_name, fetched_at=fetched_at, query=query,
                              source=layers.source, counts=counts, population=population,
                              preset=preset, categories=cats),
            encoding="utf-8")
        from .config import load_config

        load_config(tmp / "area.toml")  # the snapshot must be runnable as written
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            old.rmdir()
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("fetched %s: %d facilities, %d compounds, %d gates -> %s", area_name,
             len(facilities), len(compounds), len(gates), out)
    return out / "area.toml"


# --- CLI ------------------------------------------------------------------------------------


def add_fetch_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``circle15 fetch`` options to an argparse (sub)parser."""
    where = parser.add_argument_group("study area (one of)")
    where.add_argument("--units", help="unit names, comma-separated (e.g. 回龙观街道,龙泽园街道); "
                       "with --boundary: which of the file's units to keep")
    where.add_argument("--boundary", type=Path, metavar="FILE",
                       help="polygon file of the units (GeoJSON/GPKG/shapefile)")
    where.add_argument("--bbox", metavar="W,S,E,N", help="rectangle in degrees (WGS-84)")
    parser.add_argument("--within", help="parent area for geocoding, e.g. 北京市昌平区")
    parser.add_argument("--from-pbf", type=Path, metavar="FILE",
                        help="read a downloaded .osm.pbf extract instead of the internet")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="snapshot folder to create (e.g. data/huilongguan/)")
    parser.add_argument("--force", action="store_true", help="replace an existing --out folder")
    parser.add_argument("--name", help="area name (default: the unit names)")
    parser.add_argument("--preset", default="gb50180", choices=PRESETS,
                        help="facility categories (default gb50180)")
    parser.add_argument("--config", type=Path, metavar="AREA_TOML", dest="category_config",
                        help="override/add categories with this file's [[category]] blocks")
    parser.add_argument("--speed", type=float, default=DEFAULT_SPEED_M_S, metavar="M_S",
                        help=f"walking speed for area.toml (m/s, default {DEFAULT_SPEED_M_S})")
    parser.add_argument("--m2-per-person", type=float, default=DEFAULT_M2_PER_PERSON,
                        help="residential floor area per resident, m² (default "
                             f"{DEFAULT_M2_PER_PERSON:g}, Beijing order of magnitude)")
    parser.add_argument("--default-levels", type=float, default=DEFAULT_LEVELS,
                        help="storeys of residential buildings without building:levels "
                             f"(default {DEFAULT_LEVELS})")
    parser.add_argument("--share-60plus", type=float, default=DEFAULT_SHARE_60PLUS,
                        help=f"share of residents aged 60+ (default {DEFAULT_SHARE_60PLUS}, "
                             "Beijing 2020 census)")
    net = parser.add_argument_group("download")
    net.add_argument("--cache-dir", type=Path, help="osmnx download cache folder "
                     f"(default {default_cache_folder()})")
    net.add_argument("--timeout", type=float, default=180.0, help="seconds per request")
    net.add_argument("--retries", type=int, default=3, help="attempts per download")
    net.add_argument("--overpass-url", help="Overpass API endpoint (a mirror)")
    net.add_argument("--nominatim-url", help="Nominatim endpoint (a mirror)")


def run_fetch(args: argparse.Namespace) -> int:
    """Run ``circle15 fetch`` from parsed arguments; print where the snapshot went.

    :class:`FetchError` (an :class:`~coverage.errors.InputError`) propagates for the CLI to
    report (exit code 2).
    """
    toml_path = fetch_area(
        units=args.units, within=args.within, boundary=args.boundary, bbox=args.bbox,
        from_pbf=args.from_pbf, preset=args.preset, out=args.out, name=args.name,
        category_config=args.category_config, speed_m_s=args.speed,
        m2_per_person=args.m2_per_person, default_levels=args.default_levels,
        share_60plus=args.share_60plus, cache_folder=args.cache_dir, timeout_s=args.timeout,
        retries=args.retries, overpass_url=args.overpass_url, nominatim_url=args.nominatim_url,
        overwrite=args.force,
    )
    print(f"Snapshot written to {toml_path.parent}")
    print(f"Next: circle15 run {toml_path}")
    return 0
