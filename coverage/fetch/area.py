"""The study area of a fetch: unit boundaries, the area's CRS and the polygons to fetch within."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from .._geometry import buffer_covering
from ..osmfile import OsmRecord
from .options import FetchError

__all__ = ["GATE_MARGIN_M", "StudyArea", "bbox_boundaries", "pick_units", "read_boundary_file",
           "study_area", "utm_crs"]

log = logging.getLogger(__name__)

#: Gates are looked for this far outside the units (metres): compounds on the edge keep theirs.
GATE_MARGIN_M = 100.0

_NAME_COLUMNS = ("name", "名称", "unit", "jd_name", "乡", "NAME", "Name")


def utm_crs(lon: float, lat: float) -> str:
    """The WGS-84 UTM zone CRS (``"EPSG:326zz"`` north / ``"EPSG:327zz"`` south) of a point."""
    zone = min(60, max(1, math.floor((lon + 180.0) / 6.0) + 1))
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


@dataclass(frozen=True)
class StudyArea:
    """Where a fetch looks, in EPSG:4326.

    Attributes
    ----------
    boundaries : GeoDataFrame
        The units (``name``, polygons).
    crs : str
        The UTM zone of the units' centroid: the snapshot's ``[area] crs``.
    units : shapely geometry
        The units' union (compounds are taken inside it).
    study : shapely geometry
        The units buffered by the longest walk of any category (network, facilities).
    gates : shapely geometry
        The units buffered by :data:`GATE_MARGIN_M` (gates).
    """

    boundaries: gpd.GeoDataFrame
    crs: str
    units: BaseGeometry
    study: BaseGeometry
    gates: BaseGeometry

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of :attr:`study` (degrees)."""
        w, s, e, n = self.study.bounds
        return float(w), float(s), float(e), float(n)

    def study_km2(self) -> float:
        """Area of :attr:`study` (km²)."""
        return float(gpd.GeoSeries([self.study], crs="EPSG:4326").to_crs(self.crs).area.iloc[0]
                     / 1e6)


def study_area(boundaries: gpd.GeoDataFrame, max_walk_m: float) -> StudyArea:
    """The :class:`StudyArea` of unit boundaries (EPSG:4326) and the longest walk (m)."""
    c = boundaries.union_all().centroid
    crs = utm_crs(c.x, c.y)
    log.info("area CRS %s (UTM zone of the centroid %.4f, %.4f)", crs, c.x, c.y)
    proj = boundaries.to_crs(crs).union_all()
    # the run loads what lies within the longest walk of the units: fetch all of it
    out = gpd.GeoSeries([proj, buffer_covering(proj, max_walk_m), proj.buffer(GATE_MARGIN_M)],
                        crs=crs)
    units, study, gates = list(out.to_crs("EPSG:4326"))
    return StudyArea(boundaries=boundaries, crs=crs, units=units, study=study, gates=gates)


def bbox_boundaries(bbox: tuple[float, float, float, float],
                    name: str | None) -> gpd.GeoDataFrame:
    """A rectangle (degrees) as the single unit."""
    w, s, e, n = bbox
    return gpd.GeoDataFrame({"name": [name or f"bbox {w:g},{s:g},{e:g},{n:g}"]},
                            geometry=[box(w, s, e, n)], crs="EPSG:4326")


def read_boundary_file(path: Path, units: Sequence[str]) -> gpd.GeoDataFrame:
    """Unit polygons from a file (one unit per name, dissolved); only ``units`` when given."""
    from ..io import read_vector

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


def _name_of(r: OsmRecord) -> str:
    return str(r["tags"].get("name") or r["tags"].get("name:zh", ""))


def _rank(r: OsmRecord) -> tuple[int, int]:
    # administrative boundaries first, then the largest polygon
    admin = 0 if r["tags"].get("boundary") == "administrative" else 1
    return admin, -int(r["geometry"].area * 1e9)


def pick_units(found: list[OsmRecord], units: Sequence[str], within: str | None, *,
               source: str) -> gpd.GeoDataFrame:
    """Choose one polygon per unit name among PBF areas; ``within`` breaks ties."""
    within_geom = None
    if within:
        cands = sorted((r for r in found if _name_of(r) == within), key=_rank)
        within_geom = cands[0]["geometry"].buffer(1e-4) if cands else None
    rows, missing = [], []
    for unit in units:
        cands = [r for r in found if _name_of(r) == unit and r["osm_type"] != "node"]
        if within_geom is not None:
            inside = [r for r in cands
                      if within_geom.contains(r["geometry"].representative_point())]
            cands = inside or cands
        if not cands:
            missing.append(unit)
            continue
        best = min(cands, key=_rank)
        rows.append({"name": unit, "osm_type": best["osm_type"], "osm_id": best["osm_id"],
                     "geometry": best["geometry"]})
    if missing:
        raise FetchError(f"no boundary polygon named {', '.join(missing)} in the extract",
                         fix="check the names (as in OSM's name tag) or give --boundary FILE",
                         source=source)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
