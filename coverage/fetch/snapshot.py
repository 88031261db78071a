"""The snapshot folder: its area.toml and PROVENANCE.md texts, and writing it all at once."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import geopandas as gpd

from ..io import atomic_folder, toml_value, write_geojson, write_text
from ..presets import PRESETS, category_of, preset_info

__all__ = ["ODBL_NOTICE", "Snapshot", "render_area_toml", "render_provenance", "version_of",
           "write_snapshot"]

log = logging.getLogger(__name__)

ODBL_NOTICE = (
    "Data © OpenStreetMap contributors, available under the Open Database License (ODbL) 1.0 "
    "(https://www.openstreetmap.org/copyright). The files in this folder are a database derived "
    "from it: credit \"© OpenStreetMap contributors\" on maps and reports made from them, and "
    "share any published derived database under the ODbL."
)


def version_of(dist: str) -> str:
    """Installed version of a distribution, for PROVENANCE.md."""
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def _toml_value(v: Any) -> str:
    # area.toml from a fetch: floats to 6 decimals (speeds derived from metres / minutes).
    return toml_value(v, float_digits=6)


def _category_toml(cat: Mapping[str, Any]) -> str:
    lines = ["[[category]]"]
    lines += [f"{k} = {_toml_value(cat[k])}" for k in ("key", "label", "label_en", "minutes")
              if k in cat]
    if "speed_m_s" in cat:
        lines.append(f"speed_m_s = {_toml_value(float(cat['speed_m_s']))}")
    elif cat.get("walk_m"):
        speed = category_of(cat).speed_m_s  # walk_m / (minutes x 60)
        lines.append(f"speed_m_s = {_toml_value(round(speed, 6))}  "
                     f"# {cat['minutes']} min = {cat['walk_m']:g} m per the source")
    lines += [f"{k} = {_toml_value(cat[k])}" for k in ("demand", "new_sites", "osm", "source")
              if k in cat]
    if cat.get("name_pattern"):
        lines.append(f"# name_pattern = {_toml_value(cat['name_pattern'])}  (used by fetch)")
    return "\n".join(lines)


def render_area_toml(*, name: str, crs: str, categories: Sequence[Mapping[str, Any]],
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


def _source_lines(source: Mapping[str, str]) -> list[str]:
    if source.get("kind") == "pbf":
        return ["Source: OpenStreetMap extract (read with pyosmium "
                f"{source.get('pyosmium')}, osmnx {source.get('osmnx')}):", "",
                f"- file: `{source.get('pbf')}`",
                f"- size: {source.get('pbf_size_bytes')} bytes",
                f"- sha256: `{source.get('pbf_sha256')}`",
                f"- replication timestamp: {source.get('pbf_timestamp')}"]
    lines = [f"Source: OpenStreetMap live, through osmnx {source.get('osmnx')}:", "",
             f"- Overpass API: {source.get('overpass_url')}"]
    if source.get("nominatim_url"):
        lines.append(f"- Nominatim: {source.get('nominatim_url')}")
    return lines


def _category_lines(preset: str, categories: Sequence[Mapping[str, Any]]) -> list[str]:
    p = preset_info(preset) if preset in PRESETS else {"title": preset, "source": ""}
    lines = ["## Categories", "", f"Preset `{preset}`: {p['title']}.", f"Source: {p['source']}.",
             "", "| key | label | minutes | OSM tags | source |", "|---|---|---|---|---|"]
    for c in categories:
        osm = "; ".join(f"{k}={'*' if v is True else ', '.join(v)}"
                        for k, v in (c.get("osm") or {}).items())
        lines.append(f"| {c['key']} | {c.get('label', '')} | {c['minutes']:g} | {osm} | "
                     f"{c.get('source', '')} |")
    return lines


_POPULATION_METHOD = (
    "Compounds are OSM `landuse=residential` polygons. Population = residential floor area of "
    "the buildings inside (footprint x `building:levels`) / m² per person; compounds without "
    "mapped buildings use land area x the median floor-area ratio of the others; an OSM "
    "`population` tag wins where present (column `population_source`). `population_60plus` = "
    "population x the 60+ share. These are estimates: replace them with census or community "
    "figures where you have them.")


def render_provenance(*, name: str, fetched_at: str, query: Mapping[str, Any],
                      source: Mapping[str, str], counts: Mapping[str, Any],
                      population: Mapping[str, Any], preset: str,
                      categories: Sequence[Mapping[str, Any]]) -> str:
    """PROVENANCE.md text: when, from where, how, and the licence."""
    lines = [f"# Provenance of {name}", "", f"Fetched: {fetched_at} (UTC) by `circle15 fetch`.",
             "", *_source_lines(source), "", "## Query", ""]
    lines += [f"- {k}: {v}" for k, v in query.items() if v not in (None, "", [])]
    lines += ["", *_category_lines(preset, categories), "", "## Layers", ""]
    lines += [f"- {k}: {v}" for k, v in counts.items()]
    lines += ["", "## Compound population (estimated)", "", _POPULATION_METHOD, ""]
    lines += [f"- {k}: {v}" for k, v in population.items()]
    lines += ["", "## Licence", "", ODBL_NOTICE, ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class Snapshot:
    """The files of a snapshot folder, ready to write.

    Attributes
    ----------
    graph : networkx.MultiDiGraph
        Written as ``network.graphml`` (osmnx format).
    layers : dict of file name -> GeoDataFrame
        Written as GeoJSON (WGS-84).
    texts : dict of file name -> str
        ``area.toml``, ``PROVENANCE.md``.
    """

    graph: Any
    layers: Mapping[str, gpd.GeoDataFrame]
    texts: Mapping[str, str]


def write_snapshot(snapshot: Snapshot, out: Path) -> Path:
    """Write the snapshot into a temporary folder beside ``out``, check that its area.toml
    loads, then put it in place of ``out`` (replacing an existing folder).

    A failure (or Ctrl-C) leaves ``out`` as it was and no temporary folder behind; what a
    killed fetch left is removed by the next one (:func:`coverage.io.atomic_folder`).

    Returns
    -------
    Path
        ``out / "area.toml"``.
    """
    import osmnx as ox

    from ..config import load_config

    with atomic_folder(out) as tmp:
        log.info("writing the snapshot")
        ox.save_graphml(snapshot.graph, tmp / "network.graphml")
        for file, gdf in snapshot.layers.items():
            write_geojson(gdf, tmp / file)
        for file, text in snapshot.texts.items():
            write_text(tmp / file, text)
        load_config(tmp / "area.toml")  # the snapshot must be runnable as written
    return out / "area.toml"
