"""``circle15 fetch``: a study-area snapshot folder from OpenStreetMap (online, or from an
.osm.pbf extract)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .console import say


def cmd_fetch(args: argparse.Namespace) -> int:
    """``circle15 fetch``: a study-area snapshot folder from OSM; prints where it went."""
    from ..fetch import FetchOptions, fetch_area

    toml_path = fetch_area(FetchOptions(
        units=args.units or (), within=args.within, boundary=args.boundary, bbox=args.bbox,
        from_pbf=args.from_pbf, preset=args.preset, out=args.out, name=args.name,
        category_config=args.category_config, speed_m_s=args.speed,
        m2_per_person=args.m2_per_person, default_levels=args.default_levels,
        share_60plus=args.share_60plus, cache_folder=args.cache_dir, timeout_s=args.timeout,
        retries=args.retries, overpass_url=args.overpass_url, nominatim_url=args.nominatim_url,
        overwrite=args.force,
    ))
    say(f"Snapshot written to {toml_path.parent}", f"Next: circle15 run {toml_path}")
    return 0


def add_fetch_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``circle15 fetch`` options (defaults from :mod:`coverage.fetch.options`)."""
    from ..fetch import options as fo
    from ..presets import PRESETS

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
    parser.add_argument("--preset", default=fo.DEFAULT_PRESET, choices=PRESETS,
                        help=f"facility categories (default {fo.DEFAULT_PRESET})")
    parser.add_argument("--config", type=Path, metavar="AREA_TOML", dest="category_config",
                        help="override/add categories with this file's [[category]] blocks")
    parser.add_argument("--speed", type=float, default=fo.DEFAULT_SPEED_M_S, metavar="M_S",
                        help=f"walking speed for area.toml (m/s, default {fo.DEFAULT_SPEED_M_S})")
    parser.add_argument("--m2-per-person", type=float, default=fo.DEFAULT_M2_PER_PERSON,
                        help="residential floor area per resident, m² (default "
                             f"{fo.DEFAULT_M2_PER_PERSON:g}, Beijing order of magnitude)")
    parser.add_argument("--default-levels", type=float, default=fo.DEFAULT_LEVELS,
                        help="storeys of residential buildings without building:levels "
                             f"(default {fo.DEFAULT_LEVELS})")
    parser.add_argument("--share-60plus", type=float, default=fo.DEFAULT_SHARE_60PLUS,
                        help=f"share of residents aged 60+ (default {fo.DEFAULT_SHARE_60PLUS}, "
                             "Beijing 2020 census)")
    net = parser.add_argument_group("download")
    net.add_argument("--cache-dir", type=Path, help="osmnx download cache folder "
                     f"(default {fo.default_cache_folder()})")
    net.add_argument("--timeout", type=float, default=fo.DEFAULT_TIMEOUT_S,
                     help="seconds per request")
    net.add_argument("--retries", type=int, default=fo.DEFAULT_RETRIES,
                     help="attempts per download")
    net.add_argument("--overpass-url", help="Overpass API endpoint (a mirror)")
    net.add_argument("--nominatim-url", help="Nominatim endpoint (a mirror)")
