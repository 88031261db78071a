"""The joint plan on the area map: which candidate space becomes which facility.

Two layers in the sites group, drawn from ``results.plan`` (:class:`coverage.results.PlanResults`):

* ``plan_joint``: the joint plan's new facilities, a square in the category's colour with the
  facility's rank in its category; the popup gives the space, its floor area, the facility's
  capacity, the demand it serves and what it adds;
* ``plan_conflicts`` (off at first): the spaces into which the categories planned one by one
  would put two facilities, a red ring; the popup names the categories.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd

from .context import MapContext
from .display import feature_collection, num, text, to_display
from .page import Layer, MapDocument

__all__ = ["add_plan"]

SITES = "sites"  # the group of coverage.maps.layers
CONFLICT_COLOUR = "#cb181d"


def _symbol(shape: str, colour: str, text_: str = "") -> dict[str, str]:
    return {"shape": shape, "colour": colour, "text": text_}


def _amount(value: Any, unit: str = "") -> str:
    v = num(value)
    return "" if v is None else f"{v:,.0f}{unit}"


def _joint_props(ctx: MapContext, r: dict[str, Any]) -> dict[str, Any]:
    key = text(r.get("category"))
    label = ctx.labels.get(key, key)
    cap = _amount(r.get("capacity"))
    rows = [[ctx.t("category"), label], [ctx.t("space_id"), text(r.get("space_id"))],
            [ctx.t("unit"), text(r.get("unit"))],
            [ctx.t("floor_area"), _amount(r.get("floor_area_m2"), " m²")],
            [ctx.t("capacity"), cap or ctx.t("unlimited")],
            [ctx.t("demand_served"), _amount(r.get("demand_served"))],
            [ctx.t("plan_gain"), _amount(r.get("gain"))]]
    rank = num(r.get("rank"))
    return {"title": text(r.get("name")) or text(r.get("space_id")), "rows": rows,
            "text": "" if rank is None else str(rank),
            "colour": ctx.colours.get(key, "#888888"),
            "tip": f"{label} · {text(r.get('name'))}"}


def _conflicts(ctx: MapContext, sites: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame,
                                                                   list[dict[str, Any]]]:
    """One point per double-booked space, with the categories the separate answers put there."""
    ind = sites[(sites["method"] == "independent_plan") & sites["double_booked"].astype(bool)]
    first = ind.drop_duplicates("space_id")
    props = []
    for r in first.drop(columns="geometry").to_dict("records"):
        keys = ind.loc[ind["space_id"] == r["space_id"], "category"].astype(str)
        names = ("、" if ctx.lang == "zh" else ", ").join(ctx.labels.get(k, k) for k in keys)
        props.append({"title": text(r.get("name")) or text(r.get("space_id")),
                      "rows": [[ctx.t("space_id"), text(r.get("space_id"))],
                               [ctx.t("double_booked_by"), names]],
                      "tip": f"{text(r.get('space_id'))}: {names}"})
    return first, props


def add_plan(ctx: MapContext, doc: MapDocument) -> None:
    """The joint plan's new facilities and the spaces the separate answers use twice."""
    plan = ctx.results.plan
    if plan is None or not len(plan.sites):
        return
    sd = to_display(plan.sites)
    joint = sd[sd["method"] == "joint_plan"]
    if len(joint):
        recs = joint.drop(columns="geometry").to_dict("records")
        data = doc.add_data("plan_joint", feature_collection(
            joint, [_joint_props(ctx, r) for r in recs]))
        legend = [{"symbol": _symbol("square", ctx.colours[k], "1"), "text": ctx.labels[k]}
                  for k in dict.fromkeys(joint["category"]) if k in ctx.labels]
        doc.add_layer(Layer(
            "plan_joint", "markers", SITES, ctx.t("plan_layer"), data,
            options={"symbol": _symbol("square", "#888888"), "colour_field": "colour",
                     "text_field": "text", "z": 1100, "legend_heading": ctx.t("plan_legend")},
            legend=legend))
    points, props = _conflicts(ctx, sd)
    if len(points):
        sym = _symbol("ring", CONFLICT_COLOUR)
        data = doc.add_data("plan_conflicts", feature_collection(points, props))
        doc.add_layer(Layer(
            "plan_conflicts", "markers", SITES, ctx.t("plan_conflicts"), data, show=False,
            options={"symbol": sym, "z": 1150},
            legend=[{"symbol": sym, "text": ctx.t("plan_conflict_ring")}]))
