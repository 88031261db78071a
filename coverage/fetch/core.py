"""``fetch_area``: the fetch as named steps (categories, layers, tables, snapshot)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import geopandas as gpd

from ..io import read_toml
from ..osmtags import gate_kind
from ..presets import load_preset, merge_categories
from .area import bbox_boundaries, read_boundary_file
from .layers import Layers, category_walk_m
from .options import FetchError, FetchOptions
from .pbf import pbf_layers
from .snapshot import Snapshot, render_area_toml, render_provenance, write_snapshot
from .tables import build_compounds, build_facilities, build_points

__all__ = ["fetch_area", "gather_layers", "make_snapshot", "resolve_categories"]

log = logging.getLogger(__name__)


def _overrides(path: Path | None) -> list[dict[str, Any]]:
    if path is None:
        return []
    cats = read_toml(path).get("category", [])
    if not isinstance(cats, list):
        raise FetchError("[[category]] must be an array of tables", fix="write [[category]]",
                         source=str(path))
    return cats


def resolve_categories(options: FetchOptions) -> list[dict[str, Any]]:
    """The preset's categories with ``options.categories`` and ``category_config`` merged in."""
    overrides = [dict(c) for c in options.categories] + _overrides(options.category_config)
    return merge_categories(load_preset(options.preset), overrides)


def _given_boundaries(options: FetchOptions) -> gpd.GeoDataFrame | None:
    if options.boundary is not None:
        return read_boundary_file(options.boundary, options.units)
    if options.bbox is not None:
        return bbox_boundaries(options.bbox, options.name)
    return None  # the units are looked up by name


def gather_layers(options: FetchOptions, categories: Sequence[Mapping[str, Any]],
                  max_walk_m: float) -> Layers:
    """Boundaries, walk network and OSM objects, from the extract or downloaded."""
    boundaries = _given_boundaries(options)
    if options.from_pbf is not None:
        return pbf_layers(options, categories, boundaries, max_walk_m)
    from .online import online_layers, osmnx_session  # imports osmnx: only when downloading

    with osmnx_session(options):
        return online_layers(options, categories, boundaries, max_walk_m)


def _area_name(options: FetchOptions, layers: Layers) -> str:
    if options.name:
        return options.name
    if options.units and options.boundary is None:
        return "、".join(options.units)
    return "、".join(map(str, layers.area.boundaries["name"]))


def _query(options: FetchOptions, layers: Layers, max_walk_m: float) -> dict[str, Any]:
    return {"units": "、".join(options.units), "within": options.within,
            "boundary file": str(options.boundary) if options.boundary else None,
            "bbox": ",".join(f"{v:g}" for v in options.bbox) if options.bbox else None,
            "walk network margin": f"{max_walk_m:.0f} m (longest walk of any category)",
            "area CRS": layers.area.crs}


def _log_counts(facilities: gpd.GeoDataFrame, compounds: gpd.GeoDataFrame,
                categories: Sequence[Mapping[str, Any]]) -> None:
    if compounds.empty:
        log.warning("no landuse=residential polygon in the units: compounds.geojson is empty; "
                    "supply your own compounds file and edit area.toml")
    per_cat = facilities["category"].value_counts()
    for cat in categories:
        log.info("facilities %-20s %4d", cat["key"], int(per_cat.get(cat["key"], 0)))


def make_snapshot(options: FetchOptions, layers: Layers, categories: Sequence[Mapping[str, Any]],
                  max_walk_m: float, fetched_at: str) -> Snapshot:
    """The snapshot's tables and texts from what was gathered."""
    name, crs = _area_name(options, layers), layers.area.crs
    facilities = build_facilities(layers.facilities, categories)
    compounds, pop = build_compounds(
        layers.residential, layers.buildings, layers.area.boundaries, crs,
        m2_per_person=options.m2_per_person, default_levels=options.default_levels,
        share_60plus=options.share_60plus)
    gates = build_points(layers.gates, gate_kind)
    bus_stops = build_points(layers.bus_stops, lambda t: t.get("highway", "platform"))
    _log_counts(facilities, compounds, categories)
    files = {"boundaries.geojson": layers.area.boundaries, "facilities.geojson": facilities,
             "compounds.geojson": compounds, "bus_stops.geojson": bus_stops}
    if len(gates):
        files["gates.geojson"] = gates
    counts = {
        "units (boundaries.geojson)": len(layers.area.boundaries),
        "network nodes / edges (network.graphml)":
            f"{layers.graph.number_of_nodes()} / {layers.graph.number_of_edges()}",
        "facilities (facilities.geojson)": len(facilities),
        "compounds (compounds.geojson)": len(compounds),
        "buildings used for population": pop["buildings_used"],
        "gates (gates.geojson)": len(gates),
        "bus stops (bus_stops.geojson)": len(bus_stops),
    }
    population = {
        "m² per person": options.m2_per_person,
        "storeys assumed where building:levels is missing": options.default_levels,
        "buildings with assumed storeys": pop["levels_assumed"],
        "floor-area ratio for compounds without buildings": pop["far_used"],
        "share aged 60+": options.share_60plus,
        "district-wide residential polygons dropped": pop["dropped_containers"],
        "total estimated population": int(compounds["population"].sum()) if len(compounds)
        else 0,
    }
    texts = {
        "area.toml": render_area_toml(name=name, crs=crs, categories=categories,
                                      speed_m_s=options.speed_m_s, has_gates=len(gates) > 0,
                                      preset=options.preset, fetched_at=fetched_at),
        "PROVENANCE.md": render_provenance(name=name, fetched_at=fetched_at,
                                           query=_query(options, layers, max_walk_m),
                                           source=layers.source, counts=counts,
                                           population=population, preset=options.preset,
                                           categories=categories),
    }
    return Snapshot(graph=layers.graph, layers=files, texts=texts)


def fetch_area(options: FetchOptions) -> Path:
    """Fetch a study area from OpenStreetMap (or an .osm.pbf) into a snapshot folder.

    Steps: the categories (:func:`resolve_categories`), the layers
    (:func:`gather_layers`: boundaries, walk network, facilities, homes, gates, bus stops), the
    tables and texts (:func:`make_snapshot`), the folder (:func:`write_snapshot`).

    Parameters
    ----------
    options : FetchOptions
        What to fetch and where to write it.

    Returns
    -------
    Path
        ``options.out / "area.toml"``.

    Raises
    ------
    FetchError
        An existing ``out`` without ``overwrite``, an unreachable server, a place that cannot be
        found, or an extract that does not cover the area. Nothing is written then.
    InputError
        An unreadable boundary file, category config or extract.
    """
    out = options.out
    if out.exists() and not options.overwrite:
        raise FetchError(f"the output folder {str(out)!r} already exists",
                         fix="choose another --out or add --force to replace it", source="--out")
    categories = resolve_categories(options)
    max_walk_m = max(category_walk_m(c, options.speed_m_s) for c in categories)
    log.info("preset %s: %d categories, longest walk %.0f m", options.preset, len(categories),
             max_walk_m)
    fetched_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    layers = gather_layers(options, categories, max_walk_m)
    snapshot = make_snapshot(options, layers, categories, max_walk_m, fetched_at)
    toml_path = write_snapshot(snapshot, out)
    log.info("fetched %s: %d facilities, %d compounds, %d gates -> %s", _area_name(options, layers),
             len(snapshot.layers["facilities.geojson"]), len(snapshot.layers["compounds.geojson"]),
             len(snapshot.layers.get("gates.geojson", ())), out)
    return toml_path
