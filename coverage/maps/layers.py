"""The area map's layers, one builder each: ``builder(ctx, doc)`` adds data, layers and legend.

:data:`AREA_LAYERS` is the order they are drawn in. A new layer (the joint plan, a what-if
scenario) is one more function of the same shape passed to :func:`coverage.maps.build_map` as
``extra_layers``; it reads what it needs from ``ctx.results`` and adds a
:class:`~coverage.maps.page.Layer` to a group (``sites``, ``reference`` or its own
``doc.add_group(...)``) with the symbols of its legend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from .. import style
from .context import MapContext
from .display import (
    ISOCHRONE_HOLE_M2,
    MAX_STREET_VERTICES,
    SIMPLIFY_M,
    feature_collection,
    fill_small_holes,
    grid_cells,
    lonlat,
    num,
    point_budget,
    text,
    to_display,
)
from .page import Layer, MapDocument
from .plan import add_plan

__all__ = [
    "AREA_LAYERS",
    "LayerBuilder",
    "add_boundaries",
    "add_candidates",
    "add_compounds",
    "add_facilities",
    "add_isochrones",
    "add_proposed",
    "add_sites",
    "add_streets",
    "symbol",
]

LayerBuilder = Callable[[MapContext, MapDocument], None]

#: Group keys of the area map (created by :func:`coverage.maps.build_map`).
CATEGORIES, SCENARIO, SITES, REFERENCE, BASEMAP = (
    "categories", "scenario", "sites", "reference", "basemap")


def symbol(shape: str, colour: str = "#888888", text_: str = "") -> dict[str, str]:
    """A legend/map symbol (see :mod:`coverage.maps.page` for the shapes)."""
    return {"shape": shape, "colour": colour, "text": text_}


def _entry(sym: dict[str, str], label: str) -> dict[str, Any]:
    return {"symbol": sym, "text": label}


# --- compounds ---------------------------------------------------------------------------------

def _bits(df: gpd.GeoDataFrame, cols: list[str]) -> list[str]:
    """Per row, '1'/'0' for each boolean column (a missing column counts as not covered)."""
    arrays = [df[c].fillna(False).astype(bool).to_numpy() if c in df else
              np.zeros(len(df), bool) for c in cols]
    if not arrays:
        return [""] * len(df)
    mat = np.stack(arrays, axis=1)
    return ["".join("1" if v else "0" for v in row) for row in mat]


def _minutes(df: gpd.GeoDataFrame, cols: list[str]) -> list[list[float | None]]:
    arrays = [df[c].to_numpy(float) if c in df else np.full(len(df), np.nan) for c in cols]
    if not arrays:
        return [[] for _ in range(len(df))]
    mat = np.stack(arrays, axis=1)
    return [[num(v, 1) for v in row] for row in mat]


def _classes(bits: list[str], n_cats: int) -> list[int]:
    return [style.missing_class(b.count("0"), n_cats) for b in bits]


def add_compounds(ctx: MapContext, doc: MapDocument) -> None:
    """Compounds, coloured by the page's colouring (all categories or one) and scenario."""
    comp = ctx.results.compounds
    if comp is None or not len(comp):
        return
    cd = to_display(comp, SIMPLIFY_M["compounds"])
    keys = [c.key for c in ctx.cats]
    bits = _bits(cd, [f"covered_{k}" for k in keys])
    bits_p = _bits(cd, [f"covered_{k}_with_proposed" for k in keys])
    minutes = _minutes(cd, [f"walk_min_{k}" for k in keys])
    minutes_p = _minutes(cd, [f"walk_min_{k}_with_proposed" for k in keys])
    cls, cls_p = _classes(bits, len(keys)), _classes(bits_p, len(keys))
    recs = cd.drop(columns="geometry").to_dict("records")
    props = [
        {"n": text(r.get("name")), "id": text(r.get("id")), "u": text(r.get("unit")),
         "p": num(r.get("population")), "a": num(r.get("population_60plus")),
         "c": bits[i], "cp": bits_p[i], "k": cls[i], "kp": cls_p[i],
         "w": minutes[i], "wp": minutes_p[i]}
        for i, r in enumerate(recs)
    ]
    data = doc.add_data("compounds", feature_collection(cd, props))
    classes = [{"colour": col, "label": ctx.t(key)} for _, col, key in
               style.ALL_CATEGORIES_CLASSES]
    classes[-1]["label"] = (ctx.t("missing_all") if len(keys) < 6 else classes[-1]["label"])
    doc.add_layer(Layer(
        "compounds", "compounds", CATEGORIES, ctx.t("all_categories"), data,
        options={
            "cats": [{"key": c.key, "label": ctx.labels[c.key], "minutes": c.minutes,
                      "colour": ctx.colours[c.key]} for c in ctx.cats],
            "classes": classes,
            "covered": style.COVERED_COLOUR, "uncovered": style.UNCOVERED_COLOUR,
            "max_walk_min": ctx.config.max_walk_min,
            "with_proposed": ctx.results.has_proposed,
            "legend_all": ctx.t("legend_compounds", what=ctx.t("all_categories")),
        },
    ))


# --- reference layers --------------------------------------------------------------------------

def _street_display(streets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Streets for the page, simplified harder until they fit :data:`MAX_STREET_VERTICES`."""
    tol = SIMPLIFY_M["streets"]
    shown = to_display(streets[["geometry"]], tol)
    while len(shapely.get_coordinates(shown.geometry.to_numpy())) > MAX_STREET_VERTICES:
        tol *= 2
        shown = to_display(streets[["geometry"]], tol)
    return shown


def add_streets(ctx: MapContext, doc: MapDocument) -> None:
    """The walk network as thin lines: the map reads without basemap tiles (offline)."""
    streets = ctx.results.streets
    if streets is None or not len(streets):
        return
    sd = _street_display(streets)
    data = doc.add_data("streets", feature_collection(sd, [{} for _ in range(len(sd))]))
    doc.add_layer(Layer(
        "streets", "lines", REFERENCE, ctx.t("streets"), data,
        options={"pane": "streets",
                 "style": {"color": style.STREET_COLOUR, "weight": 1.2, "opacity": 0.9}},
        legend=[_entry(symbol("line", style.STREET_COLOUR), ctx.t("streets_legend"))],
    ))


def _label_point(geom: Any) -> Any:
    """A point well inside the (largest part of the) polygon, for its name label."""
    parts = sorted(shapely.get_parts(geom), key=lambda p: -p.area)
    if not parts:
        return None
    from shapely.ops import polylabel

    return polylabel(parts[0], tolerance=max(1.0, parts[0].length / 500))


def add_boundaries(ctx: MapContext, doc: MapDocument) -> None:
    """Unit boundaries (dashed) and their names as labels under every site symbol."""
    bnd = ctx.results.boundaries
    if bnd is None or not len(bnd):
        return
    bd = to_display(bnd, SIMPLIFY_M["boundaries"])
    names = [text(n) for n in (bnd["name"] if "name" in bnd else [""] * len(bnd))]
    data = doc.add_data("boundaries", feature_collection(bd, [{"n": n} for n in names]))
    pts = [_label_point(g) for g in bnd.geometry]
    xy = np.array([[p.x, p.y] for p in pts if p is not None]).reshape(-1, 2)
    lon, lat = lonlat(xy, bnd.crs)
    labels = doc.add_data("unit_labels", {
        "x": lon, "y": lat, "t": [n for n, p in zip(names, pts, strict=True) if p is not None]})
    doc.add_layer(Layer(
        "boundaries", "polygons", REFERENCE, ctx.t("units"), data,
        options={"interactive": False,
                 "style": {"color": style.BOUNDARY_COLOUR, "weight": 2, "fill": False,
                           "dashArray": "6 4"},
                 "labels": labels},
        legend=[_entry(symbol("outline", style.BOUNDARY_COLOUR), ctx.t("units_legend"))],
    ))


# --- facilities --------------------------------------------------------------------------------

def _facility_columns(ctx: MapContext, fac: gpd.GeoDataFrame) -> dict[str, list[Any]]:
    lon, lat = lonlat(shapely.get_coordinates(fac.geometry.to_numpy()), fac.crs)
    get = fac.get
    return {
        "x": lon, "y": lat,
        "k": [ctx.index[k] for k in fac["category"]],
        "n": [text(v) for v in get("name", [""] * len(fac))],
        "src": [text(v) for v in get("source", [""] * len(fac))],
        "off": [int(bool(v)) for v in get("off_network", [False] * len(fac))],
    }


def _cells(ctx: MapContext, fac: gpd.GeoDataFrame, keys: list[str],
           max_cells: int) -> tuple[dict[str, list[Any]], dict[str, float]]:
    cols: dict[str, list[Any]] = {"x": [], "y": [], "k": [], "count": []}
    sizes: dict[str, float] = {}
    for key in keys:
        xy = shapely.get_coordinates(fac.geometry[fac["category"] == key].to_numpy())
        cells = grid_cells(xy, max_cells)
        lon, lat = lonlat(cells.xy, fac.crs)
        cols["x"] += lon
        cols["y"] += lat
        cols["k"] += [ctx.index[key]] * len(lon)
        cols["count"] += cells.count.tolist()
        sizes[key] = cells.cell_m
    return cols, sizes


def add_facilities(ctx: MapContext, doc: MapDocument) -> None:
    """Existing facilities: one layer per category, small dots in grey count bubbles.

    Categories too large for the page (see :func:`coverage.maps.display.point_budget`) are drawn
    as counts in grid cells, and their legend entry says so.
    """
    fac = ctx.results.facilities
    if fac is None or not len(fac) or "category" not in fac:
        return
    fac = fac[fac["category"].isin(ctx.index)]
    counts = [int((fac["category"] == c.key).sum()) for c in ctx.cats]
    aggregate = point_budget(counts)
    agg_keys = [c.key for c, a in zip(ctx.cats, aggregate, strict=True) if a]
    points = fac[~fac["category"].isin(agg_keys)]
    share = max(1, 20_000 // max(1, len(agg_keys)))
    cells, sizes = _cells(ctx, fac, agg_keys, share)
    data = doc.add_data("facilities", {**_facility_columns(ctx, points), "cells": cells})
    for cat, n in zip(ctx.cats, counts, strict=True):
        if not n:
            continue
        label, colour = ctx.labels[cat.key], ctx.colours[cat.key]
        # an aggregated category is drawn as cells only: its legend names it on the cells
        legend = ([_entry(symbol("cell", colour, "42"), f"{label}: " + ctx.t(
                      "cell_legend", cell=sizes[cat.key], n=n))] if cat.key in sizes
                  else [_entry(symbol("dot", colour), label)])
        legend.append(_entry(symbol("cluster", colour, "7"), ctx.t("cluster_bubble")))
        doc.add_layer(Layer(
            f"facilities_{cat.key}", "points", CATEGORIES,
            ctx.t("facilities_cat", label=label), data, show=cat.key in ctx.shown_categories,
            options={"category": ctx.index[cat.key], "colour": colour, "cluster": True,
                     "cell_m": sizes.get(cat.key), "legend_heading": ctx.t("facilities")},
            legend=legend,
        ))


def _point_rows(ctx: MapContext, r: dict[str, Any]) -> list[list[str]]:
    key = text(r.get("category"))
    rows = [[ctx.t("category"), ctx.labels.get(key, key)]]
    status = text(r.get("status"))
    if status in ("existing", "proposed", "planned"):
        rows.append([ctx.t("status"), ctx.t(f"status_{status}")])
    if text(r.get("source")):
        rows.append([ctx.t("source"), text(r.get("source"))])
    if bool(r.get("off_network", False)):
        rows.append([ctx.t("status"), ctx.t("off_network")])
    return rows


def add_proposed(ctx: MapContext, doc: MapDocument) -> None:
    """Planned (proposed) stations: purple diamonds marked P."""
    prop = ctx.results.proposed
    if prop is None or not len(prop):
        return
    pd_ = to_display(prop)
    props = [{"title": text(r.get("name")) or text(r.get("id")), "rows": _point_rows(ctx, r)}
             for r in pd_.drop(columns="geometry").to_dict("records")]
    data = doc.add_data("proposed", feature_collection(pd_, props))
    sym = symbol("diamond", style.PROPOSED_COLOUR, "P")
    doc.add_layer(Layer("proposed", "markers", SITES, ctx.t("proposed"), data,
                        options={"symbol": sym},
                        legend=[_entry(sym, ctx.t("proposed_diamond"))]))


# --- isochrones --------------------------------------------------------------------------------

def add_isochrones(ctx: MapContext, doc: MapDocument) -> None:
    """Walk areas per category (off at first), filled; the page shows the current scenario's."""
    for cat in ctx.cats:
        iso = ctx.results.isochrones.get(cat.key)
        if iso is None or not len(iso):
            continue
        # with_proposed is the existing polygon itself where nothing is proposed: draw it once
        geoms = iso.geometry.to_numpy()
        seen: dict[int, int] = {}
        first = [seen.setdefault(id(g), k) for k, g in enumerate(geoms)]  # row drawn for row k
        own = sorted(set(first))
        shown = to_display(iso.iloc[own].assign(
            geometry=[fill_small_holes(g) for g in geoms[own]]), SIMPLIFY_M["isochrones"])
        rows = [k for k in range(len(iso)) if iso.index[first[k]] in shown.index]
        idd = shown.loc[iso.index[[first[k] for k in rows]]].set_axis(iso.index[rows])
        if "scenario" in iso:
            idd["scenario"] = iso["scenario"].iloc[rows].to_numpy()
        scen = idd["scenario"] if "scenario" in idd else ["existing"] * len(idd)
        data = doc.add_data(f"isochrones_{cat.key}",
                            feature_collection(idd, [{"s": str(s)} for s in scen]))
        colour = ctx.colours[cat.key]
        doc.add_layer(Layer(
            f"isochrones_{cat.key}", "polygons", CATEGORIES,
            ctx.t("isochrones_cat", minutes=cat.minutes, label=ctx.labels[cat.key]), data,
            show=False,
            # hatched, so the compounds' colours under it stay the legend's colours
            options={"interactive": False, "scenario_field": "s", "hatch": colour,
                     "style": {"color": colour, "weight": 2, "opacity": 0.9,
                               "fillOpacity": 0.85}},
            legend=[_entry(symbol("hatch", colour), ctx.t(
                "iso_legend", label=ctx.labels[cat.key], minutes=cat.minutes,
                ha=ISOCHRONE_HOLE_M2 / 10_000))],
        ))


# --- sites ---------------------------------------------------------------------------------------

def add_candidates(ctx: MapContext, doc: MapDocument) -> None:
    """Candidate sites: small hollow rings (off at first)."""
    cand = ctx.results.candidates
    if cand is None or not len(cand):
        return
    cd = to_display(cand)
    props = [{"title": text(r.get("name")) or text(r.get("id")),
              "rows": [[ctx.t("candidate_id"), text(r.get("id"))], *_point_rows(ctx, r)]}
             for r in cd.drop(columns="geometry").to_dict("records")]
    data = doc.add_data("candidates", feature_collection(cd, props))
    sym = symbol("ring", "#525252")
    doc.add_layer(Layer("candidates", "markers", SITES, ctx.t("candidates"), data, show=False,
                        options={"symbol": sym}, legend=[_entry(sym, ctx.t("candidate_ring"))]))


_SITE_STYLE = {  # method in selected_sites -> (layer label key, legend key, shape, z offset)
    "greedy": ("ranked_sites", "ranked_pin", "pin", 1000),
    "optimal": ("optimal_sites", "optimal_star", "star", 900),
}


def _cumulative(ctx: MapContext) -> dict[tuple[str, str, str], float]:
    sites = ctx.results.sites
    if sites is None or not {"candidate_id", "method", "category",
                             "cumulative_coverage_pct"} <= set(sites.columns):
        return {}
    out: dict[tuple[str, str, str], float] = {}
    for r in sites.itertuples():
        out.setdefault((str(r.method), str(r.category), str(r.candidate_id)),
                       float(r.cumulative_coverage_pct))
    return out


def _site_props(ctx: MapContext, r: dict[str, Any], method: str,
                cum: dict[tuple[str, str, str], float]) -> dict[str, Any]:
    key = text(r.get("category"))
    label = ctx.labels.get(key, key)
    rank = num(r.get("rank"))
    rows = [[ctx.t("category"), label], [ctx.t("method"), ctx.t(f"method_{method}")],
            [ctx.t("rank"), "" if rank is None else str(rank)],
            [ctx.t("gain"), f"{num(r.get('gain_demand')) or 0:,}"]]
    pct = cum.get((method, key, text(r.get("candidate_id"))))
    if pct is not None and pct == pct:
        rows.append([ctx.t("cum_pct"), f"{pct:.1f}"])
    return {"title": text(r.get("name")) or text(r.get("candidate_id")), "rows": rows,
            "text": "" if rank is None or method == "optimal" else str(rank),
            "colour": ctx.colours.get(key, style.SITE_COLOUR),
            "tip": f"#{'' if rank is None else rank} {label} · {text(r.get('name'))} "
                   f"(+{num(r.get('gain_demand')) or 0:,})"}


def add_sites(ctx: MapContext, doc: MapDocument) -> None:
    """Ranked sites (pins with their rank) and the optimal selection (gold stars)."""
    sel = ctx.results.selected_sites
    if sel is None or not len(sel) or "method" not in sel:
        return
    sd = to_display(sel)
    cum = _cumulative(ctx)
    for method, (label_key, legend_key, shape, z) in _SITE_STYLE.items():
        part = sd[sd["method"] == method]
        if not len(part):
            continue
        recs = part.drop(columns="geometry").to_dict("records")
        data = doc.add_data(f"sites_{method}", feature_collection(
            part, [_site_props(ctx, r, method, cum) for r in recs]))
        fixed = style.OPTIMAL_COLOUR if shape == "star" else None
        if fixed:  # one symbol for every category: say which categories in the text
            labels = "、" if ctx.lang == "zh" else ", "
            legend = [_entry(symbol(shape, fixed), ctx.t(legend_key, label=labels.join(
                ctx.labels[k] for k in dict.fromkeys(part["category"]) if k in ctx.labels)))]
        else:
            legend = [_entry(symbol(shape, ctx.colours[k], "1"), ctx.labels[k])
                      for k in dict.fromkeys(part["category"]) if k in ctx.labels]
        doc.add_layer(Layer(
            f"sites_{method}", "markers", SITES, ctx.t(label_key), data,
            options={"symbol": symbol(shape, fixed or style.SITE_COLOUR),
                     "colour_field": None if fixed else "colour", "text_field": "text",
                     "z": z, "legend_heading": None if fixed else ctx.t(legend_key)},
            legend=legend,
        ))


#: The area map's layers in drawing order (later ones on top within their kind).
AREA_LAYERS: tuple[LayerBuilder, ...] = (
    add_compounds, add_isochrones, add_streets, add_boundaries, add_facilities, add_proposed,
    add_candidates, add_sites, add_plan,
)
