"""Point files (facilities, proposed stations, candidates, gates): parse, locate, check."""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from .._geometry import within_distance
from ..config import AreaConfig
from ..coords import to_wgs84
from ..errors import Problem
from ..io import cell_text
from ._common import (
    DROPPED_COLUMNS,
    NEARLY_ALL_OUTSIDE,
    _amounts,
    _missing_column,
    _problem,
    _texts,
    empty_point_table,
)

_CAPACITY_FIX = ("write how many people one facility serves, in the category's demand unit "
                 "(e.g. 1500 residents aged 60+), as a number >= 0, or leave it empty")
_FLOOR_AREA_FIX = ("write the floor area in square metres (e.g. 250, no unit), as a number >= 0, "
                   "or leave it empty")
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
    ignored: pd.DataFrame | None = None
    """Rows of categories not in the config, left out (columns :data:`DROPPED_COLUMNS`)."""


# --- points -------------------------------------------------------------------------------


def _vector_lonlat(gdf: gpd.GeoDataFrame) -> tuple[list[object], list[object]]:
    """lon/lat from point geometries (other shapes: representative point); None if empty."""
    geo = gdf.geometry
    if geo.crs is not None and not geo.crs.equals("EPSG:4326"):
        geo = geo.to_crs("EPSG:4326")
    lons: list[object] = []
    lats: list[object] = []
    for g in geo:
        if g is None or g.is_empty:
            lons.append(None)
            lats.append(None)
            continue
        p = g if g.geom_type == "Point" else g.representative_point()
        lons.append(float(p.x))
        lats.append(float(p.y))
    return lons, lats


def _coordinate_cells(table: pd.DataFrame, file: str
                      ) -> tuple[list[object], list[object], list[Problem]]:
    """lon/lat cells of every row (geometry first for vector files), or the missing columns."""
    cols = [str(c) for c in table.columns]
    n = len(table)
    if isinstance(table, gpd.GeoDataFrame) and table.geometry.name in table.columns:
        lons, lats = _vector_lonlat(table)
        if "lon" in cols and "lat" in cols:  # rows without geometry may use the columns
            for i, (lo, la) in enumerate(zip(table["lon"], table["lat"], strict=True)):
                if lons[i] is None:
                    lons[i], lats[i] = lo, la
        return lons, lats, []
    missing = [_missing_column(file, c, cols) for c in ("lon", "lat") if c not in cols]
    if missing:
        return [None] * n, [None] * n, missing
    return table["lon"].tolist(), table["lat"].tolist(), []


def _degrees(value: object) -> tuple[float | None, str]:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
        return (v if math.isfinite(v) else None), cell_text(value)
    text = cell_text(value).replace("\u3000", "").strip()
    try:
        v = float(text)
    except ValueError:
        return None, text
    return (v if math.isfinite(v) else None), text


def _parse_lonlat(file: str, row: int, lon_c: object, lat_c: object
                  ) -> tuple[float, float, Problem | None]:
    (lon, lon_t), (lat, lat_t) = _degrees(lon_c), _degrees(lat_c)
    for field, t, v in (("lon", lon_t, lon), ("lat", lat_t, lat)):
        if t == "":
            return np.nan, np.nan, _problem(file, row, field, f"{field} is empty",
                                            "give longitude and latitude in decimal degrees")
        if v is None:
            comma = " with a decimal point (116.2678, not 116,2678)" if "," in t else ""
            return np.nan, np.nan, _problem(
                file, row, field, f"{field} {t!r} is not a number",
                f"write decimal degrees{comma} such as 116.35 / 40.07 (not 116°21′, no units)")
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


def _coordinates(file: str, lons: list[object], lats: list[object], skip: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Problem]]:
    """Parsed lon/lat of the rows not in ``skip``: lon, lat, bad rows, problems."""
    n = len(lons)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    bad = np.zeros(n, dtype=bool)
    problems: list[Problem] = []
    for i in np.flatnonzero(~skip):
        lon_v, lat_v, p = _parse_lonlat(file, int(i) + 1, lons[i], lats[i])
        if p is not None:
            problems.append(p)
            bad[i] = True
        else:
            lon[i], lat[i] = lon_v, lat_v
    return lon, lat, bad, problems


def _required_columns(file: str, kind: str, cols: list[str]) -> list[Problem]:
    required = {"candidates": ("id", "name"), "gates": ()}.get(kind, ("id", "name", "category"))
    return [_missing_column(file, c, cols) for c in required if c not in cols]


def _check_ids(file: str, ids: list[str], kind: str, has_column: bool
               ) -> tuple[np.ndarray, list[Problem]]:
    bad = np.zeros(len(ids), dtype=bool)
    if not has_column or kind == "gates":
        return bad, []
    problems = []
    for i, value in enumerate(ids):
        if value == "":
            problems.append(_problem(file, i + 1, "id", "id is empty",
                                     "give every row an id (any text, unique in the file)"))
            bad[i] = True
    return bad, problems


@dataclass(frozen=True)
class _Categories:
    """Category cells resolved to keys: rows with problems, rows of other categories."""

    keys: list[str]
    bad: np.ndarray
    other: np.ndarray
    problems: list[Problem]


def _check_categories(file: str, cells: list[str], kind: str, known: Sequence[str],
                      aliases: Mapping[str, str], strict: bool) -> _Categories:
    n = len(cells)
    keys = [aliases.get(c, c) for c in cells]
    bad = np.zeros(n, dtype=bool)
    other = np.zeros(n, dtype=bool)
    problems: list[Problem] = []
    if kind == "gates":
        return _Categories([""] * n, bad, other, problems)
    known_set = set(known)
    fix = f"use one of: {', '.join(known)}"
    for i, c in enumerate(keys):
        if c == "" and kind != "candidates":
            problems.append(_problem(file, i + 1, "category", "category is empty", fix))
            bad[i] = True
        elif c != "" and c not in known_set:
            if strict:
                problems.append(_problem(file, i + 1, "category", f"unknown category {c!r}", fix))
                bad[i] = True
            else:
                other[i] = True
    return _Categories(keys, bad, other, problems)


def _dropped_rows(table: pd.DataFrame, file: str, rows: np.ndarray, categories: list[str],
                  reasons: list[str], lons: list[object], lats: list[object]) -> pd.DataFrame:
    """Rows left out on purpose, as :data:`DROPPED_COLUMNS` (coordinates as written)."""
    ids, names = _texts(table, "id"), _texts(table, "name")
    return pd.DataFrame({
        "file": [file] * len(rows),
        "row": np.asarray(rows, dtype="int64") + 1,
        "id": [ids[i] for i in rows],
        "name": [names[i] for i in rows],
        "category": [categories[i] for i in rows],
        "lon": [cell_text(lons[i]) for i in rows],
        "lat": [cell_text(lats[i]) for i in rows],
        "reason": reasons,
    }, columns=list(DROPPED_COLUMNS))


def parse_points(
    table: pd.DataFrame,
    *,
    file: str,
    kind: str,
    coords: str,
    categories: Sequence[str],
    labels: Mapping[str, str] | None = None,
    strict: bool = False,
) -> tuple[PointLayer, list[Problem]]:
    """Parse a facilities / proposed / candidates table.

    Parameters
    ----------
    table : DataFrame or GeoDataFrame
        As read by :func:`coverage.io.read_table`. Columns ``id, name, category, lon, lat``
        (vector files may give geometry instead of lon/lat); optional ``status``, ``capacity``
        (in the category's demand unit), ``floor_area_m2`` (m²), ``source``.
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
    strict : bool
        Rows of categories not in ``categories`` are problems (default: left out, listed in
        ``PointLayer.ignored``).

    Returns
    -------
    layer : PointLayer
        Only rows without problems.
    problems : list of Problem
    """
    cols = [str(c) for c in table.columns]
    lons, lats, problems = _coordinate_cells(table, file)
    problems += _required_columns(file, kind, cols)
    if any(p.field in ("lon", "lat") for p in problems):
        # without coordinates every row would fail; report the columns only
        return _empty_layer(coords), problems
    ids = _texts(table, "id")
    known = list(categories)
    aliases = {k: v for k, v in (labels or {}).items() if k and v in set(known)}
    cats = _check_categories(file, _texts(table, "category"), kind, known, aliases, strict)
    bad_id, ps_id = _check_ids(file, ids, kind, "id" in cols)
    cap, bad_cap, ps_cap = _amounts(file, table, "capacity", fix=_CAPACITY_FIX)
    area, bad_area, ps_area = _amounts(file, table, "floor_area_m2", fix=_FLOOR_AREA_FIX)
    skip = cats.other  # rows of other categories are left out unchecked
    lon, lat, bad_xy, ps_xy = _coordinates(file, lons, lats, skip)
    bad = ~skip & (bad_id | cats.bad | bad_cap | bad_area | bad_xy)
    problems += [p for p in (*cats.problems, *ps_id, *ps_cap, *ps_area, *ps_xy)
                 if p.row is None or not skip[p.row - 1]]
    other = np.flatnonzero(skip)
    ignored = _dropped_rows(table, file, other, cats.keys,
                            [f"category {cats.keys[i]!r} is not in the config" for i in other],
                            lons, lats)
    idx = np.flatnonzero(~bad & ~skip)
    lon_w, lat_w = _to_wgs84(lon, lat, idx, coords)
    out = _point_table(table, file, kind, idx, cats.keys, {
        "capacity": cap[idx], "floor_area_m2": area[idx], "lon": lon_w, "lat": lat_w})
    return PointLayer(out, lon[idx], lat[idx], coords, ignored), problems


def _to_wgs84(lon: np.ndarray, lat: np.ndarray, idx: np.ndarray, coords: str
              ) -> tuple[np.ndarray, np.ndarray]:
    if not len(idx):
        return np.empty(0), np.empty(0)
    lon_w, lat_w = to_wgs84(lon[idx], lat[idx], coords)
    return np.asarray(lon_w, dtype=float), np.asarray(lat_w, dtype=float)


def _point_table(table: pd.DataFrame, file: str, kind: str, idx: np.ndarray, cats: list[str],
                 numbers: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The clean rows ``idx`` as :data:`POINT_COLUMNS` (``numbers``: capacity, floor_area_m2,
    WGS-84 lon and lat of those rows)."""
    ids, names = _texts(table, "id"), _texts(table, "name")
    status, source = _texts(table, "status"), _texts(table, "source")
    out = pd.DataFrame({
        "id": [ids[i] for i in idx],
        "name": [names[i] or ids[i] for i in idx],
        "category": [cats[i] for i in idx],
        "status": [status[i] or _DEFAULT_STATUS.get(kind, "") for i in idx],
        "capacity": numbers["capacity"],
        "floor_area_m2": numbers["floor_area_m2"],
        "source": [source[i] or "file" for i in idx],
        "file": [file] * len(idx),
        "row": idx + 1,
        "lon": numbers["lon"],
        "lat": numbers["lat"],
    })
    out["row"] = out["row"].astype("int64")
    return out


def _empty_layer(coords: str) -> PointLayer:
    return PointLayer(empty_point_table(), np.empty(0), np.empty(0), coords,
                      pd.DataFrame(columns=list(DROPPED_COLUMNS)))


@functools.lru_cache(maxsize=32)
def _lonlat_to(crs: str, thread: int) -> Transformer:
    # one per thread: a pyproj Transformer is not shared between threads
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def project_lonlat(lon: Sequence[float] | np.ndarray, lat: Sequence[float] | np.ndarray,
                   crs: str) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 longitude/latitude (degrees) to ``crs`` coordinates (m).

    The one projection of point inputs: :func:`locate_points` uses it, and so does the what-if
    workspace (:mod:`coverage.serve`) for a site placed on the map, so both give the same
    coordinates to the last bit.
    """
    x, y = _lonlat_to(crs, threading.get_ident()).transform(np.asarray(lon, dtype=float),
                                                            np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _swapped_inside(layer: PointLayer, out_idx: np.ndarray, study_area: BaseGeometry,
                    buffer_m: float, crs: str) -> np.ndarray:
    """Would exchanging lon and lat put these points within ``buffer_m`` of ``study_area``?"""
    slon, slat = layer.raw_lat[out_idx], layer.raw_lon[out_idx]
    ok = (np.abs(slon) <= 180) & (np.abs(slat) <= 90)
    inside = np.zeros(len(out_idx), dtype=bool)
    if ok.any():
        wl, wt = to_wgs84(slon[ok], slat[ok], layer.coords)
        sx, sy = project_lonlat(wl, wt, crs)
        inside[ok] = within_distance(study_area, shapely.points(sx, sy), buffer_m)
    return inside


def _swapped_problem(layer: PointLayer, i: int, file: str) -> Problem:
    return _problem(
        file, int(layer.table["row"].iat[i]), "lon/lat",
        f"lat/lon look swapped: the point (lon={layer.raw_lon[i]:g}, lat={layer.raw_lat[i]:g}) "
        "is outside the study area, but lies inside with the two values exchanged",
        "swap the lon and lat values of this row")


def _coords_hint(coords: str) -> str:
    if coords != "wgs84":
        return ""
    return ("; if the coordinates were copied from Amap/Tencent set coords = \"gcj02\" in the "
            "config, from Baidu coords = \"bd09\"")


def _all_outside_problem(layer: PointLayer, rest: np.ndarray, dist_m: np.ndarray, file: str,
                         buffer_m: float) -> Problem:
    """One problem for a file (nearly) all of whose points lie outside: the wrong place."""
    df = layer.table
    k = int(np.argmin(dist_m))
    i = int(rest[k])
    return _problem(
        file, None, "lon/lat",
        f"{len(rest)} of its {len(df)} points lie outside the study area (the units plus a "
        f"{buffer_m:.0f} m walk); the nearest, row {int(df['row'].iat[i])} {df['id'].iat[i]!r} "
        f"at lon={df['lon'].iat[i]:.6f}, lat={df['lat'].iat[i]:.6f}, is "
        f"{dist_m[k] / 1000:.2f} km away, so the file does not fit the area",
        "check the coordinates (lon is east-west, about 116 in Beijing; lat north-south, about "
        "40) and that the config names the right file" + _coords_hint(layer.coords))


def _dropped_outside(layer: PointLayer, rest: np.ndarray, dist_m: np.ndarray, file: str,
                     buffer_m: float) -> pd.DataFrame:
    """Points outside the study area, left out: rows of :data:`DROPPED_COLUMNS`."""
    df = layer.table
    return pd.DataFrame({
        "file": file, "row": df["row"].to_numpy()[rest],
        "id": df["id"].to_numpy()[rest], "name": df["name"].to_numpy()[rest],
        "category": df["category"].to_numpy()[rest],
        "lon": [f"{v:.6f}" for v in df["lon"].to_numpy()[rest]],
        "lat": [f"{v:.6f}" for v in df["lat"].to_numpy()[rest]],
        "reason": [f"{d / 1000:.2f} km outside the study area (the units plus a "
                   f"{buffer_m:.0f} m walk)" for d in dist_m],
    }, columns=list(DROPPED_COLUMNS))


def _outside_problem(layer: PointLayer, i: int, dist_m: float, file: str, buffer_m: float
                     ) -> Problem:
    df = layer.table
    hint = _coords_hint(layer.coords)
    return _problem(
        file, int(df["row"].iat[i]), "lon/lat",
        f"point {df['id'].iat[i]!r} ({df['name'].iat[i]}) at lon={df['lon'].iat[i]:.6f}, "
        f"lat={df['lat'].iat[i]:.6f} is {dist_m / 1000:.2f} km outside the study area "
        f"(the units plus a {buffer_m:.0f} m walk)",
        "check the coordinates, or remove the row if the place is outside the area" + hint)


def locate_points(
    layer: PointLayer,
    *,
    file: str,
    crs: str,
    study_area: BaseGeometry | None,
    buffer_m: float,
    outside: str = "warn",
) -> tuple[gpd.GeoDataFrame, list[Problem], pd.DataFrame]:
    """Project parsed points to ``crs`` and sort out those farther than ``buffer_m`` from
    ``study_area`` (exact distances: :func:`coverage._geometry.within_distance`).

    Parameters
    ----------
    layer : PointLayer
        From :func:`parse_points`.
    file : str
        File name for messages.
    crs : str
        Area CRS (metres).
    study_area : shapely geometry or None
        The units' union in ``crs``; None skips the area check (e.g. when the boundaries
        themselves are broken).
    buffer_m : float
        How far from ``study_area`` points are kept (metres: the longest walk), quoted in
        messages.
    outside : {"warn", "error", "drop"}
        Points farther: ``"warn"`` drops them into the returned table (the
        caller warns once), unless their swapped lon/lat lies inside (an error) or (nearly)
        all points are outside (one error for the file); ``"error"`` (strict) makes each one
        an error; ``"drop"`` drops them quietly (gates taken from a larger OSM extract).

    Returns
    -------
    GeoDataFrame
        Columns :data:`POINT_COLUMNS` + geometry (points in ``crs``), the points inside.
    problems : list of Problem
    dropped : DataFrame
        Points dropped for lying outside (:data:`DROPPED_COLUMNS`; empty unless ``"warn"``).
    """
    df = layer.table
    x, y = project_lonlat(df["lon"].to_numpy(float), df["lat"].to_numpy(float), crs)
    gdf = gpd.GeoDataFrame(df.copy(), geometry=gpd.points_from_xy(x, y), crs=crs)
    none = pd.DataFrame(columns=list(DROPPED_COLUMNS))
    if study_area is None or len(df) == 0:
        return gdf, [], none
    points = gdf.geometry.to_numpy()
    inside = within_distance(study_area, points, buffer_m)
    if inside.all() or outside == "drop":
        return gdf.loc[inside].reset_index(drop=True), [], none
    out_idx = np.flatnonzero(~inside)
    swapped = _swapped_inside(layer, out_idx, study_area, buffer_m, crs)
    problems = [_swapped_problem(layer, int(i), file) for i in out_idx[swapped]]
    rest = out_idx[~swapped]
    dist_m = shapely.distance(study_area, points[rest]) - buffer_m  # beyond the walk
    dropped = none
    if outside == "error":
        problems += [_outside_problem(layer, int(i), float(d), file, buffer_m)
                     for i, d in zip(rest, dist_m, strict=True)]
    elif len(rest) and inside.sum() < NEARLY_ALL_OUTSIDE * len(df):
        problems.append(_all_outside_problem(layer, rest, dist_m, file, buffer_m))
    elif len(rest):
        dropped = _dropped_outside(layer, rest, dist_m, file, buffer_m)
    return gdf.loc[inside].reset_index(drop=True), problems, dropped


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


def candidate_problems(config_file: str, candidates: pd.DataFrame | None,
                       categories: Sequence[str], *, generate: bool) -> list[Problem]:
    """Categories asked to get new sites without any candidate site (siting's own check).

    Parameters
    ----------
    config_file : str
        The config, named in messages.
    candidates : DataFrame or None
        Candidate sites with a ``category`` column ("" = any category).
    categories : sequence of str
        Keys of the categories to site.
    generate : bool
        Candidates will be generated on the network (then none are needed in advance).
    """
    if not categories or generate:
        return []
    fix = ("add a [candidates] file, or set generate = true under [candidates] "
           "(or pass --generate-candidates)")
    if candidates is None or len(candidates) == 0:
        return [_problem(config_file, None, "candidates",
                         "new sites are asked for but there are no candidate sites", fix)]
    cats = set(candidates["category"].astype(str))
    if "" in cats:
        return []
    return [_problem(config_file, None, "candidates",
                     f"new sites are asked for category {key!r} but no candidate site is for "
                     "it", f"add candidates with category {key} (or an empty category: any), "
                     "or set generate = true under [candidates]")
            for key in categories if key not in cats]




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
