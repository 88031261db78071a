"""Check the planner's tables and turn them into clean, projected GeoDataFrames.

Every function here *collects* problems (:class:`~coverage.errors.Problem`: file, 1-based data
row, field, what is wrong, how to fix it) and returns them next to its result, so that
:func:`coverage.inputs.load_inputs` can raise one :class:`~coverage.errors.InputError` listing
everything wrong in every file.

Decisions worth knowing
-----------------------
* **Coordinates** are converted from ``gcj02``/``bd09`` to WGS-84 before any other check, then
  projected once to the area CRS.
* **Swapped lat/lon** is reported when the values are out of range but valid swapped, or when a
  point lies outside the study area but its swapped position lies inside.
* **Study area for points** is the union of the units buffered by the longest walk of any
  category (``AreaConfig.max_walk_m``): a facility just outside the units still serves homes
  inside. Points beyond it are errors, listed one by one with their distance.
* **Invalid polygons** (self-intersections, bow-ties) are *repaired* with
  :func:`shapely.make_valid` and a warning naming file, row and :func:`shapely.is_valid_reason`
  is logged; a polygon that is empty, has no area after repair, or is not a polygon at all is an
  error.
* **population_60plus** may be absent: it is then NaN (warning), and it is an error only if a
  category uses it as ``demand``. The same holds for any other demand column.
* **Compounds** keep a ``unit`` column. If the file has none (or a cell is empty) the unit is the
  one containing the compound's representative point. Compounds in the walking buffer but in no
  unit get ``unit = ""`` and ``in_area = False`` (kept, as homes near the edge, but not counted
  in unit coverage; warning). Compounds entirely outside the buffer are dropped with a warning;
  if that leaves none, it is an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from .config import AreaConfig
from .coords import to_wgs84
from .errors import Problem
from .io import cell_text

__all__ = [
    "POINT_COLUMNS",
    "PointLayer",
    "check_duplicate_ids",
    "locate_points",
    "parse_boundaries",
    "parse_compounds",
    "parse_points",
    "plan_input_problems",
    "polygons_problems",
]

log = logging.getLogger(__name__)

POINT_COLUMNS = ("id", "name", "category", "status", "capacity", "floor_area_m2", "source",
                 "file", "row", "lon", "lat")
"""Attribute columns of every clean point layer (then ``geometry``); lon/lat are WGS-84."""

# Column names planners often use instead of ours (only used to suggest a rename).
_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("ID", "Id", "编号", "序号", "code", "fid"),
    "name": ("Name", "NAME", "名称", "名字", "小区名称", "jd_name", "街道", "单元"),
    "category": ("类型", "类别", "type", "kind", "Category"),
    "lon": ("lng", "long", "longitude", "x", "经度", "Lon", "LON", "Longitude"),
    "lat": ("latitude", "y", "纬度", "Lat", "LAT", "Latitude"),
    "population": ("pop", "人口", "常住人口", "户籍人口", "Population"),
    "population_60plus": ("pop60", "老年人口", "60岁以上人口", "population_60"),
    "unit": ("街道", "jd_name", "所属街道"),
}

_DEFAULT_STATUS = {"facilities": "existing", "proposed": "proposed", "candidates": "candidate"}


@dataclass(frozen=True)
class PointLayer:
    """Points parsed from one file (WGS-84 lon/lat, not yet projected)."""

    table: pd.DataFrame
    """Columns :data:`POINT_COLUMNS`; ``lon``/``lat`` already converted to WGS-84."""
    raw_lon: np.ndarray
    """Longitudes as given (before coordinate conversion), for swap detection."""
    raw_lat: np.ndarray
    coords: str


def _problem(file: str, row: int | None, field: str | None, problem: str, fix: str) -> Problem:
    return Problem(file, row, field, problem, fix)


def _missing_column(file: str, col: str, present: Iterable[str], why: str = "") -> Problem:
    present = list(present)
    alias = next((a for a in _ALIASES.get(col, ()) if a in present), None)
    if alias is not None:
        fix = f"rename column '{alias}' to '{col}'"
    else:
        cols = ", ".join(repr(c) for c in present if c != "geometry") or "(none)"
        fix = f"add a column named '{col}' (columns found: {cols})"
    return _problem(file, None, col, f"missing column '{col}'{why}", fix)


def _texts(df: pd.DataFrame, col: str) -> list[str]:
    if col not in df.columns:
        return [""] * len(df)
    return [cell_text(v) for v in df[col].tolist()]


# Optional numeric columns of point files (>= 0, empty = unknown) and the fix for a bad value.
_POINT_NUMBERS = {
    "capacity": "write how many people one facility serves, in the category's demand unit "
                "(e.g. 1500 residents aged 60+), or leave it empty",
    "floor_area_m2": "write the floor area in square metres (e.g. 250, no unit), or leave it "
                     "empty",
}


def _point_numbers(table: pd.DataFrame, file: str) -> tuple[dict[str, np.ndarray],
                                                          dict[int, list[Problem]]]:
    """The optional numeric columns (NaN = empty) and the problems of each row."""
    values: dict[str, np.ndarray] = {}
    bad: dict[int, list[Problem]] = {}
    for col, fix in _POINT_NUMBERS.items():
        texts = _texts(table, col)
        out = np.full(len(texts), np.nan)
        for i, text in enumerate(texts):
            if text == "":
                continue
            v = _number(text, thousands=True)
            if v is None or v < 0:
                bad.setdefault(i, []).append(
                    _problem(file, i + 1, col, f"{col} {text!r} is not a number >= 0", fix))
            else:
                out[i] = v
        values[col] = out
    return values, bad


def _number(text: str, *, thousands: bool = False) -> float | None:
    """Parse a number written by a planner; None if it is not one."""
    t = text.strip().replace("\u3000", "")
    if thousands:
        t = t.replace(",", "").replace("，", "").replace(" ", "")
    try:
        v = float(t)
    except ValueError:
        return None
    return v if np.isfinite(v) else None


# --- points -------------------------------------------------------------------------------


def _vector_lonlat(gdf: gpd.GeoDataFrame) -> tuple[list[str], list[str]]:
    """lon/lat text from point geometries (other shapes: representative point)."""
    geo = gdf.geometry
    if geo.crs is not None and not geo.crs.equals("EPSG:4326"):
        geo = geo.to_crs("EPSG:4326")
    lons, lats = [], []
    for g in geo:
        if g is None or g.is_empty:
            lons.append("")
            lats.append("")
            continue
        p = g if g.geom_type == "Point" else g.representative_point()
        lons.append(repr(float(p.x)))
        lats.append(repr(float(p.y)))
    return lons, lats


def parse_points(
    table: pd.DataFrame,
    *,
    file: str,
    kind: str,
    coords: str,
    categories: Sequence[str],
    labels: Mapping[str, str] | None = None,
) -> tuple[PointLayer, list[Problem]]:
    """Parse a facilities / proposed / candidates table.

    Parameters
    ----------
    table : DataFrame or GeoDataFrame
        As read by :func:`coverage.io.read_table`. Columns ``id, name, category, lon, lat``
        (vector files may give geometry instead of lon/lat); optional ``status``, ``capacity``,
        ``floor_area_m2``,
        ``source``.
    file : str
        File name for messages and for the ``file`` column.
    kind : {"facilities", "proposed", "candidates", "gates"}
        Candidates may leave ``category`` empty (= any category); gates need only
        coordinates.
    coords : {"wgs84", "gcj02", "bd09"}
        Coordinate system of lon/lat; converted to WGS-84 here.
    categories : sequence of str
        Known category keys.
    labels : mapping of str to str, optional
        Other accepted spellings -> key (e.g. the Chinese label ``养老驿站`` ->
        ``elderly_station``); the key is stored.

    Returns
    -------
    layer : PointLayer
        Only rows without problems.
    problems : list of Problem
    """
    problems: list[Problem] = []
    n = len(table)
    cols = [str(c) for c in table.columns]
    is_vector = isinstance(table, gpd.GeoDataFrame) and table.geometry.name in table.columns
    if is_vector:
        has_geom = ~(table.geometry.isna() | table.geometry.is_empty)
        lon_txt, lat_txt = _vector_lonlat(table)
        if "lon" in cols and "lat" in cols:  # rows without geometry may use the columns
            col_lon, col_lat = _texts(table, "lon"), _texts(table, "lat")
            lon_txt = [g if h else c for g, c, h in zip(lon_txt, col_lon, has_geom, strict=True)]
            lat_txt = [g if h else c for g, c, h in zip(lat_txt, col_lat, has_geom, strict=True)]
        coord_ok = True
    else:
        coord_ok = True
        for col in ("lon", "lat"):
            if col not in cols:
                problems.append(_missing_column(file, col, cols))
                coord_ok = False
        lon_txt, lat_txt = _texts(table, "lon"), _texts(table, "lat")
    required = {"candidates": ("id", "name"), "gates": ()}.get(kind, ("id", "name", "category"))
    for col in required:
        if col not in cols:
            problems.append(_missing_column(file, col, cols))
    if not coord_ok:
        # without coordinates every row would fail; report the columns only
        return _empty_layer(coords), problems

    ids = _texts(table, "id")
    names = _texts(table, "name")
    cats = _texts(table, "category")
    status = _texts(table, "status")
    numbers, bad_numbers = _point_numbers(table, file)
    source = _texts(table, "source")
    known = set(categories)
    known_list = ", ".join(categories)
    aliases = {k: v for k, v in (labels or {}).items() if k and v in known}

    keep: list[int] = []
    lon_raw = np.full(n, np.nan)
    lat_raw = np.full(n, np.nan)
    for i in range(n):
        row = i + 1
        bad = False
        if "id" in cols and ids[i] == "" and kind != "gates":
            problems.append(_problem(file, row, "id", "id is empty",
                                     "give every row an id (any text, unique in the file)"))
            bad = True
        if "category" in cols and kind != "gates":
            c = aliases.get(cats[i], cats[i])
            cats[i] = c
            if c == "" and kind not in ("candidates", "gates"):
                problems.append(_problem(file, row, "category", "category is empty",
                                         f"use one of: {known_list}"))
                bad = True
            elif c != "" and c not in known:
                problems.append(_problem(file, row, "category", f"unknown category {c!r}",
                                         f"use one of: {known_list}"))
                bad = True
        if i in bad_numbers:
            problems.extend(bad_numbers[i])
            bad = True
        if coord_ok:
            lon_v, lat_v, p = _parse_lonlat(file, row, lon_txt[i], lat_txt[i])
            if p is not None:
                problems.append(p)
                bad = True
            else:
                lon_raw[i], lat_raw[i] = lon_v, lat_v
        if not bad:
            keep.append(i)

    idx = np.asarray(keep, dtype=int)
    if len(idx):
        lon_w, lat_w = to_wgs84(lon_raw[idx], lat_raw[idx], coords)
    else:
        lon_w, lat_w = np.empty(0), np.empty(0)
    out = pd.DataFrame(
        {
            "id": [ids[i] for i in idx],
            "name": [names[i] or ids[i] for i in idx],
            "category": [cats[i] for i in idx],
            "status": [status[i] or _DEFAULT_STATUS.get(kind, "") for i in idx],
            "capacity": numbers["capacity"][idx],
            "floor_area_m2": numbers["floor_area_m2"][idx],
            "source": [source[i] or "file" for i in idx],
            "file": [file] * len(idx),
            "row": idx + 1,
            "lon": np.asarray(lon_w, dtype=float),
            "lat": np.asarray(lat_w, dtype=float),
        }
    )
    out["row"] = out["row"].astype("int64")
    return PointLayer(out, lon_raw[idx], lat_raw[idx], coords), problems


def _empty_layer(coords: str) -> PointLayer:
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in POINT_COLUMNS})
    for c in ("capacity", "floor_area_m2", "lon", "lat"):
        df[c] = df[c].astype(float)
    df["row"] = df["row"].astype("int64")
    return PointLayer(df, np.empty(0), np.empty(0), coords)


def _parse_lonlat(file: str, row: int, lon_t: str, lat_t: str
                  ) -> tuple[float, float, Problem | None]:
    for field, t in (("lon", lon_t), ("lat", lat_t)):
        if t == "":
            return np.nan, np.nan, _problem(file, row, field, f"{field} is empty",
                                            "give longitude and latitude in decimal degrees")
    lon, lat = _number(lon_t), _number(lat_t)
    for field, t, v in (("lon", lon_t, lon), ("lat", lat_t, lat)):
        if v is None:
            return np.nan, np.nan, _problem(
                file, row, field, f"{field} {t!r} is not a number",
                "write decimal degrees such as 116.35 / 40.07 (not 116°21′, no units)")
    assert lon is not None and lat is not None
    if -180 <= lon <= 180 and -90 <= lat <= 90:
        return lon, lat, None
    if -90 <= lon <= 90 and -180 <= lat <= 180:
        return lon, lat, _problem(
            file, row, "lon/lat",
            f"lat/lon look swapped (lon={lon_t}, lat={lat_t}; latitude must be within ±90)",
            "swap the two values: lon is east-west (about 116 in Beijing), lat north-south "
            "(about 40)")
    hint = " (these look like projected metres)" if max(abs(lon), abs(lat)) > 1000 else ""
    return lon, lat, _problem(
        file, row, "lon/lat", f"coordinates out of range (lon={lon_t}, lat={lat_t}){hint}",
        "give longitude within ±180 and latitude within ±90 in decimal degrees")


def locate_points(
    layer: PointLayer,
    *,
    file: str,
    crs: str,
    load_area: BaseGeometry | None,
    buffer_m: float,
    outside: str = "error",
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Project parsed points to ``crs`` and report those outside ``load_area``.

    Parameters
    ----------
    layer : PointLayer
        From :func:`parse_points`.
    file : str
        File name for messages.
    crs : str
        Area CRS (metres).
    load_area : shapely geometry or None
        Units buffered by ``buffer_m`` in ``crs``; None skips the area check (e.g. when the
        boundaries themselves are broken).
    buffer_m : float
        The buffer used for ``load_area`` (metres), quoted in messages.
    outside : {"error", "drop"}
        Report points outside ``load_area`` as problems, or drop them quietly (gates taken
        from a larger OSM extract).

    Returns
    -------
    GeoDataFrame
        Columns :data:`POINT_COLUMNS` + geometry (points in ``crs``); rows outside the area are
        dropped (and reported).
    problems : list of Problem
    """
    df = layer.table
    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = to_crs.transform(df["lon"].to_numpy(float), df["lat"].to_numpy(float))
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    gdf = gpd.GeoDataFrame(df.copy(), geometry=gpd.points_from_xy(x, y), crs=crs)
    problems: list[Problem] = []
    if load_area is None or len(df) == 0:
        return gdf, problems
    shapely.prepare(load_area)
    inside = shapely.intersects_xy(load_area, x, y)
    if inside.all():
        return gdf, problems
    if outside == "drop":
        log.debug("%s: %d points outside the study area dropped", file, int((~inside).sum()))
        return gdf.loc[inside].reset_index(drop=True), problems
    out_idx = np.flatnonzero(~inside)
    # Would swapping lon and lat put the point inside?
    slon, slat = layer.raw_lat[out_idx], layer.raw_lon[out_idx]
    ok = (np.abs(slon) <= 180) & (np.abs(slat) <= 90)
    sx = np.full(len(out_idx), np.nan)
    sy = np.full(len(out_idx), np.nan)
    if ok.any():
        wl, wt = to_wgs84(slon[ok], slat[ok], layer.coords)
        sx[ok], sy[ok] = to_crs.transform(np.asarray(wl), np.asarray(wt))
    swapped_inside = np.zeros(len(out_idx), dtype=bool)
    if ok.any():
        swapped_inside[ok] = shapely.intersects_xy(load_area, sx[ok], sy[ok])
    hint = ""
    if layer.coords == "wgs84":
        hint = ("; if the coordinates were copied from Amap/Tencent set coords = \"gcj02\" "
                "in the config, from Baidu coords = \"bd09\"")
    for k, i in enumerate(out_idx):
        row = int(df["row"].iat[i])
        if swapped_inside[k]:
            problems.append(_problem(
                file, row, "lon/lat",
                f"lat/lon look swapped: the point (lon={layer.raw_lon[i]:g}, "
                f"lat={layer.raw_lat[i]:g}) is outside the study area, but lies inside with "
                "the two values exchanged",
                "swap the lon and lat values of this row"))
        else:
            dist_m = load_area.distance(shapely.Point(x[i], y[i]))
            problems.append(_problem(
                file, row, "lon/lat",
                f"point {df['id'].iat[i]!r} ({df['name'].iat[i]}) at lon={df['lon'].iat[i]:.6f}, "
                f"lat={df['lat'].iat[i]:.6f} is {dist_m / 1000:.2f} km outside the study area "
                f"(the units plus a {buffer_m:.0f} m walk)",
                "check the coordinates, or remove the row if the place is outside the area"
                + hint))
    return gdf.loc[inside].reset_index(drop=True), problems


def plan_input_problems(config: AreaConfig, candidates: pd.DataFrame | None,
                        file: str) -> list[Problem]:
    """What the joint plan (``config.plan``) needs from the candidate spaces.

    A planned category with a minimum floor area can only go into spaces whose floor area is
    known; when no candidate that may host it gives one, nothing could ever be placed.

    Parameters
    ----------
    config : AreaConfig
    candidates : DataFrame or None
        The parsed candidates (``category``, ``floor_area_m2``), None without a file.
    file : str
        The candidates file as the planner wrote it.
    """
    if config.plan is None or candidates is None:
        return []  # no candidates file: the plan (like siting) says so when it runs
    problems = []
    for cat in config.categories:
        if cat.key not in config.plan.categories or cat.min_floor_area_m2 <= 0:
            continue
        kind = candidates["category"].fillna("").astype(str).to_numpy()
        hosts = ((kind == "") | (kind == cat.key)) & candidates["floor_area_m2"].notna()
        if not hosts.any():
            problems.append(Problem(
                file, None, "floor_area_m2",
                f"no candidate space that may host {cat.key} gives its floor area, but the "
                f"category needs at least {cat.min_floor_area_m2:g} m² (min_floor_area_m2)",
                "add a floor_area_m2 column (square metres) to the candidates file, or remove "
                f"min_floor_area_m2 from the category {cat.key}"))
    return problems


def check_duplicate_ids(layers: Iterable[gpd.GeoDataFrame | pd.DataFrame],
                        *, field: str = "id") -> list[Problem]:
    """Report every row whose id was already used by an earlier row (same or other file).

    The tables must have ``file`` and ``row`` columns (as clean point layers do).
    """
    seen: dict[str, tuple[str, int]] = {}
    problems: list[Problem] = []
    for df in layers:
        for value, file, row in zip(df[field], df["file"], df["row"], strict=True):
            if value in seen:
                f0, r0 = seen[value]
                where = f"row {r0}" if f0 == file else f"{f0}, row {r0}"
                problems.append(_problem(file, int(row), field,
                                         f"duplicate {field} {value!r} (also in {where})",
                                         f"give each row its own {field}"))
            else:
                seen[value] = (file, int(row))
    return problems


# --- polygons -----------------------------------------------------------------------------


def _polygonal(g: BaseGeometry) -> BaseGeometry:
    """Keep only the polygonal parts of a geometry (e.g. after make_valid)."""
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def polygons_problems(gdf: gpd.GeoDataFrame, *, file: str
                      ) -> tuple[gpd.GeoDataFrame, list[Problem], np.ndarray]:
    """Check and repair polygon geometries.

    Returns
    -------
    gdf : GeoDataFrame
        Same rows, invalid polygons repaired with :func:`shapely.make_valid` (warning logged).
    problems : list of Problem
        Empty/missing geometries, non-polygons, polygons with no area after repair.
    ok : ndarray of bool
        Rows whose geometry is usable.
    """
    problems: list[Problem] = []
    geoms = list(gdf.geometry)
    ok = np.ones(len(geoms), dtype=bool)
    for i, g in enumerate(geoms):
        row = i + 1
        if g is None or g.is_empty:
            problems.append(_problem(file, row, "geometry", "empty geometry",
                                     "draw the polygon or delete the row"))
            ok[i] = False
            continue
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(_problem(file, row, "geometry",
                                     f"geometry is a {g.geom_type}, not a polygon",
                                     "give the area as a polygon"))
            ok[i] = False
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            fixed = _polygonal(shapely.make_valid(g))
            if fixed.is_empty or fixed.area == 0:
                problems.append(_problem(
                    file, row, "geometry", f"invalid polygon ({reason}) with no area left after "
                    "repair", "redraw the polygon (QGIS: Vector > Geometry Tools > "
                    "Check Validity / Fix Geometries)"))
                ok[i] = False
                continue
            log.warning("%s, row %d: invalid polygon (%s) repaired with make_valid; check it "
                        "(QGIS: Fix Geometries)", file, row, reason)
            geoms[i] = fixed
        elif g.area == 0:
            problems.append(_problem(file, row, "geometry", "polygon has no area",
                                     "redraw the polygon"))
            ok[i] = False
    out = gdf.copy()
    out[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return out, problems, ok


def _require_vector(table: pd.DataFrame, file: str, what: str) -> Problem | None:
    if not isinstance(table, gpd.GeoDataFrame):
        return _problem(file, None, "geometry", f"{what} must be polygons, but this is a table "
                        "without geometry", "give a GeoJSON or GeoPackage file of polygons")
    return None


def _unique_values(file: str, field: str, values: list[str], ok: np.ndarray, *, empty_fix: str,
                   duplicate_fix: str, drop_duplicates: bool = True) -> list[Problem]:
    """Problems for empty or repeated values of ``field``; marks bad rows False in ``ok``."""
    problems = []
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        if value == "":
            problems.append(_problem(file, i + 1, field, f"{field} is empty", empty_fix))
            ok[i] = False
        elif value in seen:
            problems.append(_problem(file, i + 1, field, f"duplicate {field} {value!r} "
                                     f"(also in row {seen[value]})", duplicate_fix))
            if drop_duplicates:
                ok[i] = False
        else:
            seen[value] = i + 1
    return problems


def parse_boundaries(table: pd.DataFrame, *, file: str, crs: str
                     ) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Units (e.g. subdistricts): polygons with a unique, non-empty ``name``.

    Returns
    -------
    GeoDataFrame
        Columns ``name, geometry`` in ``crs`` (usable rows only).
    problems : list of Problem
    """
    p = _require_vector(table, file, "boundaries")
    if p is not None:
        return _empty_polygons(["name"], crs), [p]
    assert isinstance(table, gpd.GeoDataFrame)
    gdf, problems, ok = polygons_problems(table, file=file)
    cols = [str(c) for c in table.columns]
    if "name" not in cols:
        problems.append(_missing_column(file, "name", cols))
        names = [f"unit {i + 1}" for i in range(len(gdf))]
    else:
        names = _texts(gdf, "name")
        problems += _unique_values(file, "name", names, ok, empty_fix="give every unit a name",
                                   duplicate_fix="merge the two polygons or rename one",
                                   drop_duplicates=False)
    if len(gdf) == 0:
        problems.append(_problem(file, None, "geometry", "the file holds no units",
                                 "give at least one unit polygon"))
    out = gpd.GeoDataFrame({"name": names}, geometry=gdf.geometry.values, crs=gdf.crs)
    out = out.loc[ok].reset_index(drop=True)
    return out.to_crs(crs), problems


def _empty_polygons(columns: Sequence[str], crs: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns},
                            geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def parse_compounds(
    table: pd.DataFrame,
    *,
    file: str,
    crs: str,
    demand: Mapping[str, Sequence[str]],
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Residential compounds: polygons with ``id, name, population[, population_60plus, unit]``.

    Parameters
    ----------
    table : GeoDataFrame
        As read from the compounds file.
    file : str
        File name for messages.
    crs : str
        Area CRS; the result is projected to it.
    demand : mapping of str to sequence of str
        Demand column -> keys of the categories using it (from the config). Each must be a
        column of the file with a number >= 0 in every row.

    Returns
    -------
    GeoDataFrame
        ``id`` (str), ``name``, ``unit`` (as given, "" if not), ``population``,
        ``population_60plus`` and any other demand columns (float), geometry in ``crs``.
        Units are assigned later by :func:`coverage.inputs.load_inputs`. A ``row`` column
        (1-based data row in the file) is kept for later messages.
    problems : list of Problem
    """
    base_cols = ["id", "name", "unit", "population", "population_60plus"]
    p = _require_vector(table, file, "compounds")
    if p is not None:
        return _empty_polygons(base_cols, crs), [p]
    assert isinstance(table, gpd.GeoDataFrame)
    gdf, problems, ok = polygons_problems(table, file=file)
    cols = [str(c) for c in table.columns]
    for col in ("id", "population"):
        if col not in cols:
            problems.append(_missing_column(file, col, cols))
    number_cols = ["population"] + [c for c in demand if c != "population"]
    if "population_60plus" not in number_cols:
        number_cols.append("population_60plus")
    for col in number_cols[1:]:
        if col not in cols:
            users = list(demand.get(col, ()))
            if users:
                problems.append(_missing_column(
                    file, col, cols,
                    f", which categories {', '.join(users)} use as demand"))
            else:
                log.warning("%s: no column '%s'; it is left empty (NaN)", file, col)
    ids = _texts(gdf, "id")
    names = _texts(gdf, "name")
    units = _texts(gdf, "unit")
    values: dict[str, np.ndarray] = {}
    for col in number_cols:
        arr = np.full(len(gdf), np.nan)
        if col in cols:
            required = col == "population" or col in demand
            for i, t in enumerate(_texts(gdf, col)):
                if t == "":
                    if required:
                        problems.append(_problem(
                            file, i + 1, col, f"{col} is empty",
                            "give the number of residents (0 if none)"))
                        ok[i] = False
                    continue
                v = _number(t, thousands=True)
                if v is None or v < 0:
                    what = "not a number" if v is None else "negative"
                    problems.append(_problem(file, i + 1, col, f"{col} {t!r} is {what}",
                                             "give a number of residents >= 0"))
                    ok[i] = False
                else:
                    arr[i] = v
        values[col] = arr
    pop, old = values["population"], values["population_60plus"]
    over = np.flatnonzero(old > pop + 0.5)
    for i in over:
        problems.append(_problem(file, int(i) + 1, "population_60plus",
                                 f"population_60plus ({old[i]:g}) exceeds population "
                                 f"({pop[i]:g})", "check both numbers"))
        ok[i] = False
    if "id" in cols:
        problems += _unique_values(file, "id", ids, ok, empty_fix="give every compound an id",
                                   duplicate_fix="give each compound its own id")
    data: dict[str, object] = {
        "id": ids,
        "name": [n or i for n, i in zip(names, ids, strict=True)],
        "unit": units,
    }
    data.update(values)
    data["row"] = np.arange(1, len(gdf) + 1)
    out = gpd.GeoDataFrame(data, geometry=gdf.geometry.values, crs=gdf.crs)
    out = out.loc[ok].reset_index(drop=True)
    return out.to_crs(crs), problems
