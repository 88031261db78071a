"""What the page is sent: the study area once, then the plan's numbers after every edit.

Pure functions of a :class:`~coverage.serve.workspace.Workspace`; every number comes from its
:class:`~coverage.serve.workspace.CategoryState` (the run's own tables), rounded as the run's
CSVs round it. Text from data travels as JSON strings and the page only ever sets it as text.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._i18n import cat_label
from ..config import Category
from ..maps.display import geojson_geometry
from ..style import (
    ALL_CATEGORIES_CLASSES,
    BOUNDARY_COLOUR,
    COVERED_COLOUR,
    PROPOSED_COLOUR,
    SITE_COLOUR,
    STREET_COLOUR,
    UNCOVERED_COLOUR,
)
from .scenario import Site
from .workspace import CHART_MINUTES, CategoryState, Plan, Workspace

__all__ = ["compare_payload", "compound_payload", "init_payload", "view_payload"]

#: Display simplification (m, area CRS) and coordinate decimals (5 decimals = about 1 m).
_SIMPLIFY_M = {"compounds": 1.0, "boundaries": 5.0, "streets": 1.0}
_DECIMALS = 5


def _num(value: Any, digits: int | None = None) -> float | None:
    """A number for JSON: NaN/inf -> None, optionally rounded."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(v):
        return None
    # numpy's rounding, as pandas rounds the run's CSV columns
    return float(np.round(v, digits)) if digits is not None else v


def _lonlat(geoms: np.ndarray, crs: str, tolerance_m: float) -> list[Any]:
    """Geometries (area CRS) -> simplified, WGS-84, rounded GeoJSON geometry dicts."""
    if tolerance_m > 0:
        geoms = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    series = gpd.GeoSeries(geoms, crs=crs).to_crs(4326)
    rounded = shapely.transform(series.to_numpy(), lambda xy: np.round(xy, _DECIMALS))
    return [geojson_geometry(g) for g in rounded]


def _collection(geoms: list[Any], props: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": g, "properties": p}
        for g, p in zip(geoms, props, strict=True)]}


def _streets(ws: Workspace) -> dict[str, Any]:
    """The walk network, merged into long lines, as one GeoJSON MultiLineString."""
    merged = shapely.line_merge(shapely.union_all(ws.network.edge_lines))
    parts = shapely.get_parts(merged)
    geoms = _lonlat(parts, ws.config.crs, _SIMPLIFY_M["streets"])
    return {"type": "MultiLineString",
            "coordinates": [g["coordinates"] for g in geoms if g["type"] == "LineString"]}


def _site(site: Site, ws: Workspace) -> dict[str, Any]:
    r = ws.reach(site)
    return {"id": site.id, "name": site.name, "category": site.category, "source": site.source,
            "lon": site.lon, "lat": site.lat, "snap_m": round(r.snap_m, 1),
            "off_network": r.off_network}


def init_payload(ws: Workspace, lang: str, scenarios: list[str]) -> dict[str, Any]:
    """Everything static about the study area (sent once when the page opens)."""
    cfg = ws.config
    comp = ws.compounds
    bounds = gpd.GeoSeries([ws.inputs.study_area], crs=cfg.crs).to_crs(4326).total_bounds
    fac = ws.inputs.facilities
    lonlat = fac[["lon", "lat"]].to_numpy(float).round(6)
    facilities: dict[str, list[list[Any]]] = {c.key: [] for c in cfg.categories}
    for (lon, lat), name, key in zip(lonlat, fac["name"], fac["category"], strict=True):
        facilities[key].append([lon, lat, str(name)])
    lo, hi = ws.speed_range
    return {
        "area": cfg.name,
        "lang": lang,
        "bounds": [[_num(bounds[1]), _num(bounds[0])], [_num(bounds[3]), _num(bounds[2])]],
        "max_walk_min": cfg.max_walk_min,
        "speed_range": [lo, hi],
        "chart_minutes": list(CHART_MINUTES),
        "categories": [{
            "key": c.key, "label": cat_label(c, lang), "minutes": c.minutes,
            "speed_m_s": c.speed_m_s, "new_sites": c.new_sites, "demand": c.demand,
            "candidates": len(ws.usable_candidates(c.key, ws.initial)),
        } for c in cfg.categories],
        "colours": {"covered": COVERED_COLOUR, "uncovered": UNCOVERED_COLOUR,
                    "proposed": PROPOSED_COLOUR, "site": SITE_COLOUR, "street": STREET_COLOUR,
                    "boundary": BOUNDARY_COLOUR,
                    "missing": [[lower, colour] for lower, colour, _ in ALL_CATEGORIES_CLASSES]},
        "units": _collection(
            _lonlat(ws.inputs.boundaries.geometry.to_numpy(), cfg.crs, _SIMPLIFY_M["boundaries"]),
            [{"name": str(n)} for n in ws.inputs.boundaries["name"]]),
        "compounds": _collection(
            _lonlat(comp.geometry.to_numpy(), cfg.crs, _SIMPLIFY_M["compounds"]),
            [{"i": i, "name": str(n), "unit": str(u)}
             for i, (n, u) in enumerate(zip(comp["name"], comp["unit"], strict=True))]),
        "streets": _streets(ws),
        "facilities": facilities,
        "proposed": [_site(s, ws) for s in ws.proposed.values()],
        "candidates": [_site(s, ws) for s in ws.candidates.values()],
        "scenarios": scenarios,
    }


def _units_rows(st: CategoryState) -> list[dict[str, Any]]:
    """Per unit (then ALL): compounds, demand, coverage of the baseline and of the plan."""
    s = st.summary  # units in summary order, ALL last
    cols = ("unit", "scenario", "compounds", "compounds_uncovered", "population",
            "population_covered", "coverage_pct")
    records = [dict(zip(cols, row, strict=True))
               for row in zip(*(s[c].tolist() for c in cols), strict=True)]
    base_of = {r["unit"]: r for r in records if r["scenario"] == "existing"}
    rows = []
    for p in (r for r in records if r["scenario"] == "with_proposed"):
        b = base_of[p["unit"]]
        base, plan = _num(b["coverage_pct"]), _num(p["coverage_pct"])
        rows.append({
            "unit": str(p["unit"]), "compounds": int(p["compounds"]),
            "population": int(p["population"]), "covered": int(p["population_covered"]),
            "uncovered_compounds": int(p["compounds_uncovered"]),
            "base_uncovered_compounds": int(b["compounds_uncovered"]),
            "base_pct": base, "plan_pct": plan,
            "change_pp": None if base is None or plan is None else round(plan - base, 2),
        })
    return rows


def _flags(values: np.ndarray) -> str:
    return "".join("1" if v else "0" for v in values)


def view_payload(ws: Workspace, key: str | None, version: int,
                 status: dict[str, Any]) -> dict[str, Any]:
    """The plan's state for the page: one category (``key``) or all categories (None)."""
    plan = ws.plan
    out: dict[str, Any] = {
        "version": version,
        "status": status,
        "category": key or "all",
        "sites": [_site(s, ws) for s in plan.sites],
        "walks": {k: {"minutes": w.minutes, "speed_m_s": w.speed_m_s}
                  for k, w in plan.walks.items()},
    }
    if key is not None:
        st = ws.category_state(key, plan)
        out["units"] = _units_rows(st)
        out["covered"] = _flags(st.plan_covered)
        out["base_covered"] = _flags(st.base_covered)
        out["chart"] = ws.chart(key, plan)
        return out
    missing = np.zeros(len(ws.compounds), int)
    rows = []
    for cat in ws.config.categories:
        st = ws.category_state(cat.key, plan)
        missing += ~st.plan_covered
        row = _units_rows(st)[-1]
        rows.append({"key": cat.key, **row, "minutes": st.category.minutes,
                     "speed_m_s": st.category.speed_m_s})
    out["categories"] = rows
    out["missing"] = missing.tolist()
    return out


def _minutes(cat: Category, dist_m: float) -> float | None:
    """Walking minutes as compounds.csv writes them (2 decimals; None beyond the cutoff)."""
    return _num(cat.minutes_of(dist_m), 2)


def compound_payload(ws: Workspace, i: int) -> dict[str, Any]:
    """One compound's figures: walking minutes per category, baseline and plan."""
    comp = ws.compounds
    row = comp.iloc[i]
    cats = []
    for cat in ws.config.categories:
        st = ws.category_state(cat.key)
        cats.append({
            "key": cat.key, "limit_min": st.category.minutes,
            "base_min": _minutes(st.category, st.base_m[i]),
            "plan_min": _minutes(st.category, st.plan_m[i]),
            "base_covered": bool(st.base_covered[i]), "plan_covered": bool(st.plan_covered[i]),
        })
    return {"i": i, "id": str(row["id"]), "name": str(row["name"]), "unit": str(row["unit"]),
            "population": _num(row["population"], 0),
            "population_60plus": _num(row.get("population_60plus", np.nan), 0),
            "max_walk_min": ws.config.max_walk_min, "categories": cats}


def compare_payload(ws: Workspace, plans: dict[str, Plan], key: str | None
                    ) -> dict[str, Any]:
    """Two plans side by side: each category's coverage, and which compounds change.

    ``plans`` maps the two labels (scenario names, or ``"current"``) to plans. For category
    ``key`` (or, with None, "all categories covered") ``gained``/``lost`` list the compounds
    the second plan covers and the first does not, and the reverse.
    """
    (name_a, plan_a), (name_b, plan_b) = plans.items()
    rows = []
    for cat in ws.config.categories:
        a = _units_rows(ws.category_state(cat.key, plan_a))[-1]
        b = _units_rows(ws.category_state(cat.key, plan_b))[-1]
        rows.append({"key": cat.key, "a_pct": a["plan_pct"], "b_pct": b["plan_pct"],
                     "a_minutes": plan_a.walks[cat.key].minutes,
                     "b_minutes": plan_b.walks[cat.key].minutes,
                     "a_sites": len(plan_a.of(cat.key)), "b_sites": len(plan_b.of(cat.key)),
                     "change_pp": None if a["plan_pct"] is None or b["plan_pct"] is None
                     else round(b["plan_pct"] - a["plan_pct"], 2)})
    keys = [key] if key else list(ws.config.category_keys)
    cov_a = np.ones(len(ws.compounds), bool)
    cov_b = np.ones(len(ws.compounds), bool)
    for k in keys:
        cov_a &= ws.category_state(k, plan_a).plan_covered
        cov_b &= ws.category_state(k, plan_b).plan_covered
    return {"a": name_a, "b": name_b, "category": key or "all", "rows": rows,
            "gained": np.flatnonzero(cov_b & ~cov_a).tolist(),
            "lost": np.flatnonzero(cov_a & ~cov_b).tolist()}


def summary_frame(st: CategoryState) -> pd.DataFrame:
    """The plan's rows of summary.csv for one category (for checks against a run)."""
    return st.summary[st.summary["scenario"] == "with_proposed"].reset_index(drop=True)
