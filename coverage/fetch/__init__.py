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

Modules, in the order a fetch uses them:

``options``
    :class:`FetchOptions` (frozen, checked when made), the defaults, :class:`FetchError`.
``area``
    The study area: boundaries (by name, file or bbox), its UTM CRS, the polygons to fetch in.
``online`` / ``pbf``
    The layers from Overpass/Nominatim (osmnx, public settings only) or from an extract.
``layers``
    What was gathered, sorted into facilities, homes, gates and bus stops.
``tables``
    Facilities, gates, bus stops and compounds with their estimated population.
``snapshot``
    area.toml and PROVENANCE.md texts; the folder written at once.
``core``
    :func:`fetch_area`, the steps in order.

Example::

    from coverage.fetch import FetchOptions, fetch_area

    fetch_area(FetchOptions(units="回龙观街道,龙泽园街道", within="北京市昌平区",
                            out=Path("data/hlg")))
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .options import (
    DEFAULT_BACKOFF_S,
    DEFAULT_FALLBACK_FAR,
    DEFAULT_LEVELS,
    DEFAULT_M2_PER_PERSON,
    DEFAULT_PRESET,
    DEFAULT_RETRIES,
    DEFAULT_SHARE_60PLUS,
    DEFAULT_SPEED_M_S,
    DEFAULT_TIMEOUT_S,
    FetchError,
    FetchOptions,
    default_cache_folder,
    parse_bbox,
    parse_units,
)

if TYPE_CHECKING:
    from .area import utm_crs
    from .core import fetch_area
    from .layers import category_walk_m, union_tags
    from .snapshot import render_area_toml, render_provenance
    from .tables import build_compounds, build_facilities, build_points

# The CLI builds its `fetch` options from `options` (standard library only) at every start: the
# rest (geopandas, shapely, ...) is imported when first used.
_LAZY = {"utm_crs": "area", "fetch_area": "core", "category_walk_m": "layers",
         "union_tags": "layers", "render_area_toml": "snapshot",
         "render_provenance": "snapshot", "build_compounds": "tables",
         "build_facilities": "tables", "build_points": "tables"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_BACKOFF_S",
    "DEFAULT_FALLBACK_FAR",
    "DEFAULT_LEVELS",
    "DEFAULT_M2_PER_PERSON",
    "DEFAULT_PRESET",
    "DEFAULT_RETRIES",
    "DEFAULT_SHARE_60PLUS",
    "DEFAULT_SPEED_M_S",
    "DEFAULT_TIMEOUT_S",
    "FetchError",
    "FetchOptions",
    "build_compounds",
    "build_facilities",
    "build_points",
    "category_walk_m",
    "default_cache_folder",
    "fetch_area",
    "parse_bbox",
    "parse_units",
    "render_area_toml",
    "render_provenance",
    "union_tags",
    "utm_crs",
]
