"""Turning OSM records into the snapshot's tables: facilities, gates, bus stops, compounds."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..osmfile import OsmRecord
from ..osmtags import is_residential_building, parse_levels, tags_match
from .options import (
    DEFAULT_FALLBACK_FAR,
    DEFAULT_LEVELS,
    DEFAULT_M2_PER_PERSON,
    DEFAULT_SHARE_60PLUS,
)

__all__ = ["build_compounds", "build_facilities", "build_points"]

log = logging.getLogger(__name__)

_COMPOUND_COLUMNS = ["id", "name", "unit", "population", "population_60plus",
                     "population_source", "floor_area_m2", "n_buildings", "n_levels_assumed",
                     "area_m2", "osm_type", "osm_id", "geometry"]
_POLYGONS = ("Polygon", "MultiPolygon")


def _name(tags: Mapping[str, str]) -> str:
    return str(tags.get("name") or tags.get("name:zh") or "").strip()


def build_facilities(records: list[OsmRecord],
                     categories: Sequence[Mapping[str, Any]]) -> gpd.GeoDataFrame:
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


@dataclass(frozen=True)
class _FloorArea:
    """Residential floor area per compound, from the buildings inside."""

    floor_m2: NDArray[np.float64]
    n_buildings: NDArray[np.int64]
    n_assumed: NDArray[np.int64]
    buildings_used: int = 0
    levels_assumed: int = 0


def _residential_frame(residential: list[OsmRecord], crs: str) -> gpd.GeoDataFrame:
    polys = [r for r in residential if r["geometry"].geom_type in _POLYGONS]
    return gpd.GeoDataFrame(
        {"osm_type": [r["osm_type"] for r in polys], "osm_id": [r["osm_id"] for r in polys],
         "name": [_name(r["tags"]) for r in polys],
         "pop_tag": [r["tags"].get("population") for r in polys]},
        geometry=[r["geometry"] for r in polys], crs="EPSG:4326",
    ).drop_duplicates(["osm_type", "osm_id"]).reset_index(drop=True).to_crs(crs)


def _drop_containers(comp: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Drop polygons holding the representative point of another residential polygon."""
    reps = gpd.GeoDataFrame(geometry=comp.geometry.representative_point(), crs=comp.crs)
    pairs = gpd.sjoin(reps, comp[["geometry"]], predicate="within", how="inner")
    containers = set(pairs.loc[pairs.index != pairs["index_right"], "index_right"])
    if containers:
        log.info("dropping %d residential polygons that contain other ones", len(containers))
        comp = comp.drop(index=sorted(containers)).reset_index(drop=True)
    return comp, len(containers)


def _floor_area(comp: gpd.GeoDataFrame, buildings: list[OsmRecord],
                default_levels: float) -> _FloorArea:
    """Footprint x storeys of the residential buildings whose representative point lies in each
    compound (the smallest compound holding it wins)."""
    n = len(comp)
    res_b = [b for b in buildings if is_residential_building(b["tags"])
             and b["geometry"].geom_type in _POLYGONS]
    if not res_b:
        return _FloorArea(np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64))
    levels = [parse_levels(b["tags"].get("building:levels")) for b in res_b]
    bg = gpd.GeoDataFrame({"levels": [lv or default_levels for lv in levels],
                           "assumed": [lv is None for lv in levels]},
                          geometry=[b["geometry"] for b in res_b], crs="EPSG:4326"
                          ).to_crs(comp.crs)
    bg["floor_m2"] = bg.geometry.area * bg["levels"]
    pts = gpd.GeoDataFrame(bg.drop(columns="geometry"),
                           geometry=bg.geometry.representative_point(), crs=comp.crs)
    hit = gpd.sjoin(pts, comp[["geometry", "area_m2"]], predicate="within", how="inner")
    hit = hit.sort_values("area_m2").loc[lambda d: ~d.index.duplicated()]
    grp = hit.groupby("index_right")
    floor, n_b, n_assumed = np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    floor[grp["floor_m2"].sum().index] = grp["floor_m2"].sum().to_numpy()
    n_b[grp.size().index] = grp.size().to_numpy()
    n_assumed[grp["assumed"].sum().index] = grp["assumed"].sum().to_numpy()
    return _FloorArea(floor, n_b, n_assumed, len(hit), int(hit["assumed"].sum()))


def _population(comp: gpd.GeoDataFrame, fa: _FloorArea, m2_per_person: float,
                fallback_far: float) -> tuple[NDArray[np.float64], NDArray[np.object_], float]:
    """Population, its source per compound, and the floor-area ratio used without buildings."""
    land = comp["area_m2"].to_numpy()
    with_b = fa.n_buildings > 0
    far = float(np.median(fa.floor_m2[with_b] / land[with_b])) if with_b.any() else fallback_far
    pop = np.where(with_b, fa.floor_m2 / m2_per_person, land * far / m2_per_person)
    source = np.where(with_b, "buildings", "assumed_far").astype(object)
    tag_pop = pd.to_numeric(comp["pop_tag"], errors="coerce").to_numpy(dtype=float)
    has_tag = np.isfinite(tag_pop) & (tag_pop > 0)
    source[has_tag] = "osm_tag"
    return np.where(has_tag, tag_pop, pop), source, far


def _unit_names(comp: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame) -> list[str]:
    """The boundary with the largest overlap, per compound."""
    units = boundaries.to_crs(comp.crs)[["name", "geometry"]].reset_index(drop=True)
    if not len(units):
        return [""] * len(comp)
    return [str(units["name"].iloc[int(np.argmax(units.geometry.intersection(g).area
                                                    .to_numpy()))])
            for g in comp.geometry]


def build_compounds(residential: list[OsmRecord], buildings: list[OsmRecord],
                    boundaries: gpd.GeoDataFrame, crs: str, *,
                    m2_per_person: float = DEFAULT_M2_PER_PERSON,
                    default_levels: float = DEFAULT_LEVELS,
                    share_60plus: float = DEFAULT_SHARE_60PLUS,
                    fallback_far: float = DEFAULT_FALLBACK_FAR,
                    ) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
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
    stats: dict[str, Any] = {"dropped_containers": 0, "buildings_used": 0,
                             "levels_assumed": 0, "far_used": None}
    comp = _residential_frame(residential, crs)
    if comp.empty:
        return gpd.GeoDataFrame(None, columns=_COMPOUND_COLUMNS, geometry="geometry",
                                crs="EPSG:4326"), stats
    comp, stats["dropped_containers"] = _drop_containers(comp)
    comp["area_m2"] = comp.geometry.area
    fa = _floor_area(comp, buildings, default_levels)
    stats["buildings_used"], stats["levels_assumed"] = fa.buildings_used, fa.levels_assumed
    pop, source, far = _population(comp, fa, m2_per_person, fallback_far)
    stats["far_used"] = round(far, 3)
    comp["population"] = np.round(pop).astype(int)
    comp["population_60plus"] = np.round(comp["population"] * share_60plus).astype(int)
    comp["population_source"] = source
    comp["floor_area_m2"] = np.round(fa.floor_m2, 1)
    comp["n_buildings"] = fa.n_buildings
    comp["n_levels_assumed"] = fa.n_assumed
    comp["area_m2"] = comp["area_m2"].round(1)
    comp["unit"] = _unit_names(comp, boundaries)
    comp["id"] = [f"{t[0]}{i}" for t, i in zip(comp["osm_type"], comp["osm_id"], strict=True)]
    comp["name"] = [n or f"小区 (OSM {t} {i})" for n, t, i in
                    zip(comp["name"], comp["osm_type"], comp["osm_id"], strict=True)]
    return gpd.GeoDataFrame(comp.to_crs("EPSG:4326")[_COMPOUND_COLUMNS], geometry="geometry",
                            crs="EPSG:4326"), stats
