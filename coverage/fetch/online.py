"""Fetching live from OpenStreetMap through osmnx (Nominatim for units, Overpass for the rest).

osmnx is configured only through its public settings, for the duration of one fetch
(:func:`osmnx_session`): the disk cache, the timeout, the endpoints, the way tags the walk rule
reads, and a ``requests`` response hook (``settings.requests_kwargs``) that turns an incomplete
Overpass answer (a ``remark``: a server-side timeout or memory error) or an HTTP error into a
clear error before osmnx could cache or silently use it. HTTP 429/5xx and network failures are
retried with exponential backoff (:func:`retry`). When the Overpass status page cannot be
reached, osmnx's rate-limit pause (which would wait 60 s before failing) is switched off for the
fetch: answers in the cache are still served, and anything else fails at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlparse

import geopandas as gpd
import osmnx as ox
import requests
from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError
from shapely.geometry.base import BaseGeometry
from tqdm.auto import tqdm

from ..osmfile import OsmRecord
from ..osmtags import EXTRA_WAY_TAGS
from .area import StudyArea, study_area
from .layers import Layers, point_tags, records_from_features
from .options import FetchError, FetchOptions
from .snapshot import version_of

__all__ = ["online_layers", "osmnx_session", "retry"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_SETTINGS = ("use_cache", "cache_folder", "requests_timeout", "overpass_url", "nominatim_url",
             "useful_tags_way", "requests_kwargs", "overpass_rate_limit")
_STATUS_TIMEOUT_S = 10.0  # the status page answers at once when the server is there


class _ServerBusy(Exception):
    """HTTP 429 or 5xx: worth another attempt after a pause."""


def host(url: str) -> str:
    """The host of a URL (the whole text when it has none)."""
    return urlparse(url).netloc or url


def check_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """``requests`` response hook: fail on HTTP errors and on incomplete Overpass answers.

    Raises
    ------
    FetchError
        An Overpass ``remark`` (partial data) or an HTTP 4xx answer.
    _ServerBusy
        HTTP 429 or 5xx (retried by :func:`retry`).
    """
    if response.status_code == 429 or response.status_code >= 500:
        raise _ServerBusy(f"HTTP {response.status_code}")
    if not response.ok:
        raise FetchError(f"the server answered HTTP {response.status_code}",
                         fix="check the endpoint URL, try again later or use --from-pbf FILE",
                         source=host(response.url))
    if "json" not in response.headers.get("Content-Type", ""):
        return
    try:
        data = response.json()
    except ValueError:
        return  # osmnx reports unreadable answers itself
    if isinstance(data, dict) and "remark" in data:
        raise FetchError(f"the Overpass server returned incomplete data ({data['remark']})",
                         fix="try again later, fetch fewer units at a time, or raise --timeout",
                         source=host(response.url))


def _status_reachable(overpass_url: str, timeout_s: float) -> bool:
    try:
        requests.get(overpass_url.rstrip("/") + "/status", timeout=min(timeout_s,
                                                                       _STATUS_TIMEOUT_S))
    except requests.exceptions.RequestException:
        return False
    return True


@contextmanager
def osmnx_session(options: FetchOptions) -> Iterator[None]:
    """Set osmnx's public settings for one fetch and restore them afterwards."""
    saved = {n: getattr(ox.settings, n) for n in _SETTINGS}
    try:
        ox.settings.use_cache = True
        ox.settings.cache_folder = str(options.cache)
        ox.settings.requests_timeout = options.timeout_s
        ox.settings.useful_tags_way = sorted(set(saved["useful_tags_way"]) | set(EXTRA_WAY_TAGS))
        if options.overpass_url:
            ox.settings.overpass_url = options.overpass_url
        if options.nominatim_url:
            ox.settings.nominatim_url = options.nominatim_url
        kwargs = dict(saved["requests_kwargs"])
        kwargs["hooks"] = {"response": [check_response]}
        ox.settings.requests_kwargs = kwargs
        if ox.settings.overpass_rate_limit and not _status_reachable(ox.settings.overpass_url,
                                                                     options.timeout_s):
            log.info("Overpass status page unreachable: no rate-limit pause (cache only)")
            ox.settings.overpass_rate_limit = False
        yield
    finally:
        for n, v in saved.items():
            setattr(ox.settings, n, v)


def _offline_fix() -> str:
    return ("check the internet connection (and HTTPS_PROXY if you use a proxy), or download an "
            "OpenStreetMap extract (.osm.pbf) and run circle15 fetch --from-pbf FILE")


def _reason(exc: Exception) -> str:
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection failed"
    return str(exc) if isinstance(exc, _ServerBusy) else type(exc).__name__


def retry(what: str, fn: Callable[[], T], *, options: FetchOptions, endpoint: str) -> T:
    """Call ``fn``; retry network failures and busy servers with exponential backoff.

    Raises
    ------
    FetchError
        After ``options.retries`` failed attempts (the message says how to work offline).
    """
    attempts = max(1, options.retries)
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                ResponseStatusCodeError, _ServerBusy) as exc:
            if attempt == attempts:
                raise FetchError(f"could not reach {host(endpoint)} while {what} "
                                 f"({_reason(exc)}, {attempts} attempt(s))", fix=_offline_fix(),
                                 source=host(endpoint)) from None
            wait = options.backoff_s * 2 ** (attempt - 1)
            log.warning("%s failed (%s); retrying in %.0f s (%d/%d)", what, _reason(exc), wait,
                        attempt, attempts)
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _geocode(unit: str, options: FetchOptions) -> dict[str, Any]:
    query = f"{unit}, {options.within}" if options.within else unit
    log.info("geocoding %s", query)
    try:
        g = retry(f"geocoding {query!r}", lambda: ox.geocode_to_gdf(query), options=options,
                  endpoint=ox.settings.nominatim_url)
    except InsufficientResponseError:
        raise FetchError(f"no place named {query!r} was found",
                         fix="check the spelling of the unit (e.g. 回龙观街道) and of --within, "
                             "or give --boundary FILE", source="--units") from None
    except TypeError:  # osmnx: the place has no polygon
        raise FetchError(f"{query!r} was found, but not as an area (no boundary polygon)",
                         fix="use the administrative name (e.g. ...街道/镇) or give --boundary "
                             "FILE", source="--units") from None
    return {"name": unit, "osm_type": str(g["osm_type"].iloc[0]),
            "osm_id": int(g["osm_id"].iloc[0]), "geometry": g.geometry.iloc[0]}


def geocode_units(options: FetchOptions) -> gpd.GeoDataFrame:
    """The units' boundary polygons from Nominatim (EPSG:4326)."""
    rows = [_geocode(unit, options)
            for unit in tqdm(options.units, desc="geocoding units", unit="unit", disable=None)]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def download_network(area: StudyArea, options: FetchOptions, max_walk_m: float) -> Any:
    """The walk network of the study area (osmnx ``network_type="walk"``, all components)."""
    log.info("downloading the walk network (%.1f km² incl. a %.0f m margin)", area.study_km2(),
             max_walk_m)
    try:
        return retry("downloading the walk network",
                     lambda: ox.graph_from_polygon(area.study, network_type="walk",
                                                   simplify=False, retain_all=True,
                                                   truncate_by_edge=True),
                     options=options, endpoint=ox.settings.overpass_url)
    except InsufficientResponseError:
        raise FetchError("OpenStreetMap has no walkable street in the study area",
                         fix="check the units / bbox") from None


def download_features(poly: BaseGeometry, tags: Mapping[str, Any], what: str,
                      options: FetchOptions) -> list[OsmRecord]:
    """OSM objects with these tags inside ``poly`` (none found -> [])."""
    log.info("downloading %s", what)
    try:
        gdf = retry(f"downloading {what}", lambda: ox.features_from_polygon(poly, dict(tags)),
                    options=options, endpoint=ox.settings.overpass_url)
    except InsufficientResponseError:
        log.info("no %s found", what)
        return []
    return records_from_features(gdf)


def online_layers(options: FetchOptions, categories: Sequence[Mapping[str, Any]],
                  boundaries: gpd.GeoDataFrame | None, max_walk_m: float) -> Layers:
    """Everything a snapshot needs, downloaded (call inside :func:`osmnx_session`)."""
    if boundaries is None:
        boundaries = geocode_units(options)
    area = study_area(boundaries, max_walk_m)
    layers = Layers(area=area, graph=download_network(area, options, max_walk_m))
    layers.add_points(download_features(area.study, point_tags(categories),
                                        "facilities, gates and bus stops", options), categories)
    layers.add_homes(download_features(area.units, {"landuse": ["residential"], "building": True},
                                       "residential areas and buildings", options))
    layers.source = {
        "kind": "online",
        "overpass_url": ox.settings.overpass_url,
        "nominatim_url": ox.settings.nominatim_url if options.units else "",
        "osmnx": version_of("osmnx"),
        "cache_folder": str(options.cache),
    }
    return layers
