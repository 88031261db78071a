"""Shared pieces of input validation: problems, numbers, column names."""

from __future__ import annotations

import difflib
import logging
import math
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..errors import Problem
from ..io import cell_text

log = logging.getLogger(__name__)

POINT_COLUMNS = ("id", "name", "category", "status", "capacity", "floor_area_m2", "source",
                 "file", "row", "lon", "lat")
"""Attribute columns of every clean point layer (then ``geometry``); lon/lat are WGS-84;
``capacity`` (in the category's demand unit) and ``floor_area_m2`` (m²) are NaN when unknown."""


def empty_point_table() -> pd.DataFrame:
    """A point layer's attribute table with no row: :data:`POINT_COLUMNS` with their dtypes
    (capacity, floor_area_m2, lon, lat float; row int64; the others object)."""
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in POINT_COLUMNS})
    for c in ("capacity", "floor_area_m2", "lon", "lat"):
        df[c] = df[c].astype(float)
    df["row"] = df["row"].astype("int64")
    return df


DROPPED_COLUMNS = ("file", "row", "id", "name", "category", "lon", "lat", "reason")
"""Columns of the table of rows left out on purpose (``dropped.csv``): ``lon``/``lat`` as
written in the file, ``reason`` in words."""

NEARLY_ALL_OUTSIDE = 0.01
"""A point file with fewer than this share of its points inside the study area is an error
(wrong file, swapped columns or wrong coordinate system), not a district-wide list."""

_MAX_AMOUNT = 1e12  # no population, capacity or floor area is larger; 1e308 is a typo

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
    "capacity": ("容量", "床位", "床位数", "Capacity"),
    "floor_area_m2": ("面积", "建筑面积", "floor_area", "area_m2", "Floor area"),
}

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


def closest(word: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    """The choices that look most like ``word`` (for "did you mean" hints)."""
    return difflib.get_close_matches(word, list(choices), n=n, cutoff=cutoff)


def group_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Merge problems that differ only in their row into one listing the rows.

    "unknown unit '清河街道'" in 32 rows becomes one problem with ``rows = (1, ..., 32)``,
    printed as "rows 1–32". Order: where each problem first occurred.
    """
    groups: dict[tuple[str, str | None, str, str], list[Problem]] = {}
    order: list[tuple[str, str | None, str, str] | int] = []
    for i, p in enumerate(problems):
        if p.row is None:
            order.append(i)
            groups[("", None, str(i), "")] = [p]
            continue
        key = (p.file, p.field, p.problem, p.fix)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(p)
    out = []
    for k in order:
        ps = groups[("", None, str(k), "")] if isinstance(k, int) else groups[k]
        first = ps[0]
        if len(ps) == 1:
            out.append(first)
        else:
            rows = tuple(sorted({r for p in ps for r in (p.rows or (p.row,)) if r is not None}))
            out.append(Problem(first.file, rows[0], first.field, first.problem, first.fix,
                               rows=rows))
    return out


# --- numbers --------------------------------------------------------------------------------

_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:[,，]\d{3})+(?:\.\d+)?$")  # 1,200 / 12,345.5
_DOT_GROUPS = re.compile(r"^[+-]?[1-9]\d{0,2}(?:\.\d{3})+$")  # 1.200 / 12.500: 1.2 or 1200?


def parse_amount(value: object) -> tuple[float, str | None]:
    """A count or amount as a planner writes it -> (value, None), or (NaN, why it is not one).

    Empty cells give ``(nan, None)``. Typed numbers (XLSX cells, GeoJSON/GPKG attributes) are
    taken as they are; text follows the rule in the module docstring.
    """
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
        if math.isnan(v):
            return math.nan, None
        text = cell_text(v)
    else:
        text = cell_text(value).replace("\u3000", "").strip()
        if text == "":
            return math.nan, None
        if _GROUPED.match(text):
            text = re.sub("[,，]", "", text)
        elif "," in text or "，" in text:
            return math.nan, ("is ambiguous: a comma is only read as a thousands separator "
                              "between groups of three digits (1,200)")
        elif _DOT_GROUPS.match(text):
            return math.nan, (f"is ambiguous: {text} could mean {float(text):g} or "
                              f"{text.replace('.', '')}")
        try:
            v = float(text)
        except ValueError:
            return math.nan, "is not a number"
    if not math.isfinite(v) or abs(v) > _MAX_AMOUNT:
        return math.nan, f"is not a plausible number (larger than {_MAX_AMOUNT:.0e})"
    return v, None


_AMOUNT_FIX = ("write a plain number with a decimal point: 1200 or 1,200 (twelve hundred), "
               "1.2 or 12.5 (decimals)")


def _amounts(file: str, table: pd.DataFrame, col: str, *, fix: str,
             required: bool = False) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """Column ``col`` as numbers >= 0 (NaN when empty): values, bad rows, problems.

    ``fix`` says what the column holds (used for empty, negative and non-numbers); ambiguous
    separators get the number rule as their fix.
    """
    n = len(table)
    values = np.full(n, np.nan)
    bad = np.zeros(n, dtype=bool)
    problems: list[Problem] = []
    if col not in table.columns:
        return values, bad, problems
    for i, raw in enumerate(table[col].tolist()):
        v, why = parse_amount(raw)
        if why is None and math.isnan(v) and required:
            why = "is empty"
        elif why is None and v < 0:
            why = "is negative"
        elif why is None:
            values[i] = v
            continue
        text = cell_text(raw)
        shown = f"{col} {text!r}" if text else col
        problems.append(_problem(file, i + 1, col, f"{shown} {why}",
                                 _AMOUNT_FIX if why.startswith("is ambiguous") else fix))
        bad[i] = True
    return values, bad, problems
