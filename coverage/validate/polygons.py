"""Polygon files (unit boundaries, compounds): parse, repair, check."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import Problem
from ._common import _amounts, _missing_column, _problem, _texts, closest

log = logging.getLogger(__name__)


# --- polygons -----------------------------------------------------------------------------


def _polygonal(g: BaseGeometry) -> BaseGeometry:
    """Keep only the polygonal parts of a geometry (e.g. after make_valid)."""
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


_REDRAW = ("redraw the polygon (QGIS: Vector > Geometry Tools > Check Validity / "
           "Fix Geometries)")


def _check_polygon(g: BaseGeometry | None) -> tuple[BaseGeometry | None, str, str, str]:
    """(usable geometry or None, problem, fix, repair note) of one polygon cell."""
    if g is None or g.is_empty:
        return None, "empty geometry", "draw the polygon or delete the row", ""
    if g.geom_type not in ("Polygon", "MultiPolygon"):
        return None, f"geometry is a {g.geom_type}, not a polygon", "give the area as a polygon", ""
    if not g.is_valid:
        reason = shapely.is_valid_reason(g)
        fixed = _polygonal(shapely.make_valid(g))
        if fixed.is_empty or fixed.area == 0:
            return None, f"invalid polygon ({reason}) with no area left after repair", _REDRAW, ""
        return fixed, "", "", reason
    if g.area == 0:
        return None, "polygon has no area", "redraw the polygon", ""
    return g, "", "", ""


def polygons_problems(gdf: gpd.GeoDataFrame, *, file: str, rows: Sequence[int] | None = None
                      ) -> tuple[gpd.GeoDataFrame, list[Problem], np.ndarray]:
    """Check and repair polygon geometries.

    Parameters
    ----------
    gdf : GeoDataFrame
    file : str
        File name for messages.
    rows : sequence of int, optional
        The file's 1-based row of each feature (default 1, 2, ...).

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
    rows = list(rows) if rows is not None else list(range(1, len(geoms) + 1))
    ok = np.ones(len(geoms), dtype=bool)
    for i, g in enumerate(geoms):
        fixed, problem, fix, repaired = _check_polygon(g)
        if fixed is None:
            problems.append(_problem(file, rows[i], "geometry", problem, fix))
            ok[i] = False
        elif repaired:
            log.warning("%s, row %d: invalid polygon (%s) repaired with make_valid; check it "
                        "(QGIS: Fix Geometries)", file, rows[i], repaired)
            geoms[i] = fixed
    out = gdf.copy()
    out[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return out, problems, ok


def _require_vector(table: pd.DataFrame, file: str, what: str) -> Problem | None:
    if not isinstance(table, gpd.GeoDataFrame):
        return _problem(file, None, "geometry", f"{what} must be polygons, but this is a table "
                        "without geometry", "give a GeoJSON or GeoPackage file of polygons")
    return None


def _unique_values(file: str, field: str, values: list[str], ok: np.ndarray, *, empty_fix: str,
                   duplicate_fix: str, drop_duplicates: bool = True,
                   rows: Sequence[int] | None = None) -> list[Problem]:
    """Problems for empty or repeated values of ``field``; marks bad rows False in ``ok``."""
    problems = []
    rows = list(rows) if rows is not None else list(range(1, len(values) + 1))
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        if value == "":
            problems.append(_problem(file, rows[i], field, f"{field} is empty", empty_fix))
            ok[i] = False
        elif value in seen:
            problems.append(_problem(file, rows[i], field, f"duplicate {field} {value!r} "
                                     f"(also in row {seen[value]})", duplicate_fix))
            if drop_duplicates:
                ok[i] = False
        else:
            seen[value] = rows[i]
    return problems


def _select_units(file: str, names: list[str], wanted: Sequence[str], name_field: str
                  ) -> tuple[np.ndarray, list[Problem]]:
    """Rows whose name is one of ``wanted`` (all rows when empty); unknown names listed once."""
    if not wanted:
        return np.ones(len(names), dtype=bool), []
    present = set(names)
    missing = [w for w in wanted if w not in present]
    problems = []
    if missing:
        hints = "; ".join(f"{w} -> {', '.join(closest(w, present)) or 'no similar name'}"
                          for w in missing)
        problems.append(_problem(
            file, None, name_field,
            f"no unit named {', '.join(repr(m) for m in missing)} in field '{name_field}'",
            f"use names as written in the layer (closest: {hints}); "
            "[area] names lists the units to keep"))
    return np.isin(np.asarray(names, dtype=object), list(wanted)), problems


def parse_boundaries(table: pd.DataFrame, *, file: str, crs: str, name_field: str = "name",
                     names: Sequence[str] = ()) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Units (e.g. subdistricts): polygons with a unique, non-empty name.

    Parameters
    ----------
    table : GeoDataFrame
        As read from the boundaries file (e.g. a city-wide township layer).
    file : str
        File name for messages.
    crs : str
        Area CRS; the result is projected to it.
    name_field : str
        Column holding the unit names (``[area] name_field``, e.g. ``乡``).
    names : sequence of str
        Keep only these units (``[area] names``); empty = every row. Only kept rows are checked.

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
    cols = [str(c) for c in table.columns]
    if name_field not in cols:
        problems = [_missing_column(file, name_field, cols)]
        all_names = [f"unit {i + 1}" for i in range(len(table))]
    else:
        problems = []
        all_names = _texts(table, name_field)
    keep, ps = _select_units(file, all_names, names if name_field in cols else (), name_field)
    problems += ps
    idx = np.flatnonzero(keep)
    rows = (idx + 1).tolist()
    gdf, ps, ok = polygons_problems(table.iloc[idx], file=file, rows=rows)
    problems += ps
    unit_names = [all_names[i] for i in idx]
    if name_field in cols:
        problems += _unique_values(file, name_field, unit_names, ok, rows=rows,
                                   empty_fix="give every unit a name",
                                   duplicate_fix="merge the two polygons or rename one",
                                   drop_duplicates=False)
    if len(gdf) == 0 and not names:
        problems.append(_problem(file, None, "geometry", "the file holds no units",
                                 "give at least one unit polygon"))
    out = gpd.GeoDataFrame({"name": unit_names}, geometry=gdf.geometry.values, crs=gdf.crs)
    out = out.loc[ok].reset_index(drop=True)
    return out.to_crs(crs), problems


def _empty_polygons(columns: Sequence[str], crs: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns},
                            geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _compound_columns(file: str, cols: list[str], demand: Mapping[str, Sequence[str]]
                      ) -> tuple[list[str], list[Problem]]:
    """The number columns to read and the missing-column problems."""
    problems = [_missing_column(file, c, cols) for c in ("id", "population") if c not in cols]
    number_cols = ["population"] + [c for c in demand if c != "population"]
    if "population_60plus" not in number_cols:
        number_cols.append("population_60plus")
    for col in number_cols[1:]:
        if col in cols:
            continue
        users = list(demand.get(col, ()))
        if users:
            problems.append(_missing_column(
                file, col, cols, f", which categories {', '.join(users)} use as demand"))
        else:
            log.warning("%s: no column '%s'; it is left empty (NaN)", file, col)
    return number_cols, problems


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
    number_cols, ps = _compound_columns(file, cols, demand)
    problems += ps
    values: dict[str, np.ndarray] = {}
    for col in number_cols:
        required = col == "population" or col in demand
        values[col], bad, ps = _amounts(file, gdf, col, required=required,
                                        fix="give the number of residents as a number >= 0 "
                                        "(0 if none)")
        problems += ps
        ok &= ~bad
    pop, old = values["population"], values["population_60plus"]
    for i in np.flatnonzero(old > pop + 0.5):
        problems.append(_problem(file, int(i) + 1, "population_60plus",
                                 f"population_60plus ({old[i]:g}) exceeds population "
                                 f"({pop[i]:g})", "check both numbers"))
        ok[i] = False
    ids = _texts(gdf, "id")
    if "id" in cols:
        problems += _unique_values(file, "id", ids, ok, empty_fix="give every compound an id",
                                   duplicate_fix="give each compound its own id")
    data: dict[str, object] = {
        "id": ids,
        "name": [n or i for n, i in zip(_texts(gdf, "name"), ids, strict=True)],
        "unit": _texts(gdf, "unit"),
    }
    data.update(values)
    data["row"] = np.arange(1, len(gdf) + 1)
    out = gpd.GeoDataFrame(data, geometry=gdf.geometry.values, crs=gdf.crs)
    out = out.loc[ok].reset_index(drop=True)
    return out.to_crs(crs), problems
