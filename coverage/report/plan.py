"""The report's joint-plan section: the joint plan against each category planned on its own.

Built from ``results.plan`` (:class:`coverage.results.PlanResults`) and the plan's rows of
``scenarios.csv``; pure. Tables have their headers in the report's language; the HTML escapes
every text from data.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .._i18n import cat_label
from ..results import Results
from ._labels import tr

__all__ = ["PlanTables", "plan_html", "plan_tables"]

#: Most overloaded existing facilities listed in the report (all are in utilisation.csv).
MAX_OVERLOADED = 15


@dataclass(frozen=True)
class PlanTables:
    """The joint-plan section's tables.

    Attributes
    ----------
    summary : DataFrame
        Per planned category: new facilities, served (and within reach) now and with the joint
        plan, served when the category is planned on its own, spaces it would share.
    spaces : DataFrame
        The joint plan's new facilities: which space becomes what.
    conflicts : DataFrame or None
        Spaces into which the categories planned one by one would put two facilities.
    overloaded : DataFrame or None
        Existing facilities with more demand nearest to them than their capacity.
    capacitated : bool
        Some facility has a finite capacity (served is then less than within reach).
    gap : float
        Weighted served demand the separate plans claim beyond the joint plan.
    """

    summary: pd.DataFrame
    spaces: pd.DataFrame
    conflicts: pd.DataFrame | None
    overloaded: pd.DataFrame | None
    capacitated: bool
    gap: float


def _arrow(a: float, b: float) -> str:
    return f"{a:.1f} → {b:.1f}"


def _summary(res: Results, lang: str, labels: dict[str, str]) -> tuple[pd.DataFrame, float]:
    assert res.plan is not None
    served = res.plan.served
    s = served[served["unit"] == "ALL"].set_index(["category", "scenario"])
    sc = (res.scenarios if res.scenarios is not None else pd.DataFrame(
        columns=["category", "scenario", "demand_served"])).set_index(["category", "scenario"])
    plan = res.plan.plan
    weights = {c.key: c.weight for c in res.config.categories}
    rows, gap = [], 0.0
    for key in dict.fromkeys(s.index.get_level_values(0)):
        ex, jp = s.loc[(key, "existing")], s.loc[(key, "joint_plan")]
        total = float(jp["demand"]) or float("nan")
        alone = float(sc.loc[(key, "independent_plan"), "demand_served"]) if (
            key, "independent_plan") in sc.index else float("nan")
        gap += weights.get(key, 1.0) * (alone - float(jp["demand_served"]))
        mine = plan[(plan["method"] == "joint_plan") & (plan["category"] == key)]
        shared = plan[(plan["method"] == "independent_plan") & (plan["category"] == key)
                      & plan["double_booked"].astype(bool)]
        rows.append({
            tr("category", lang): labels.get(key, key),
            tr("plan_new", lang): len(mine),
            tr("plan_served", lang): _arrow(100 * ex["demand_served"] / total,
                                            100 * jp["demand_served"] / total),
            tr("plan_reach", lang): _arrow(100 * ex["demand_covered"] / total,
                                           100 * jp["demand_covered"] / total),
            tr("plan_alone", lang): round(100 * alone / total, 1),
            tr("plan_shared", lang): ", ".join(shared["space_id"].astype(str)) or "–",
        })
    return pd.DataFrame(rows), max(gap, 0.0)


def _spaces(res: Results, lang: str, labels: dict[str, str]) -> pd.DataFrame:
    assert res.plan is not None
    p = res.plan.plan
    p = p[p["method"] == "joint_plan"]
    return pd.DataFrame({
        tr("category", lang): [labels.get(k, k) for k in p["category"]],
        tr("rank", lang): p["rank"].to_numpy(),
        tr("space_id", lang): p["space_id"].astype(str).to_numpy(),
        tr("name", lang): p["name"].astype(str).to_numpy(),
        tr("unit", lang): p["unit"].fillna("").astype(str).to_numpy(),
        tr("plan_floor_area", lang): p["floor_area_m2"].to_numpy(),
        tr("capacity", lang): p["capacity"].to_numpy(),
        tr("demand_served", lang): p["demand_served"].round().to_numpy(),
        tr("plan_gain", lang): p["gain"].round().to_numpy(),
    })


def _conflicts(res: Results, lang: str, labels: dict[str, str]) -> pd.DataFrame | None:
    assert res.plan is not None
    db = res.plan.double_booked
    if not len(db):
        return None
    sep = "、" if lang == "zh" else ", "
    rows = [{tr("space_id", lang): str(space),
             tr("name", lang): str(group["name"].iloc[0]),
             tr("double_booked_by", lang): sep.join(labels.get(k, k) for k in group["category"])}
            for space, group in db.groupby("space_id", sort=False)]
    return pd.DataFrame(rows)


def _overloaded(res: Results, lang: str, labels: dict[str, str]) -> pd.DataFrame | None:
    assert res.plan is not None
    u = res.plan.utilisation
    u = u[(u["scenario"] == "existing") & u["over_capacity"].astype(bool)]
    if not len(u):
        return None
    u = u.sort_values("nearest_pct", ascending=False, kind="stable").head(MAX_OVERLOADED)
    return pd.DataFrame({
        tr("category", lang): [labels.get(k, k) for k in u["category"]],
        tr("facility", lang): u["name"].astype(str).to_numpy(),
        tr("unit", lang): u["unit"].fillna("").astype(str).to_numpy(),
        tr("capacity", lang): u["capacity"].to_numpy(),
        tr("plan_nearest", lang): u["nearest_demand"].round().to_numpy(),
        tr("plan_nearest_pct", lang): u["nearest_pct"].round(0).to_numpy(),
    })


def plan_tables(res: Results, lang: str = "zh") -> PlanTables | None:
    """The joint-plan section's tables, or None when the run made no joint plan."""
    if res.plan is None or not len(res.plan.plan):
        return None
    labels = {c.key: cat_label(c, lang) for c in res.config.categories}
    summary, gap = _summary(res, lang, labels)
    u = res.plan.utilisation
    return PlanTables(
        summary=summary, spaces=_spaces(res, lang, labels),
        conflicts=_conflicts(res, lang, labels), overloaded=_overloaded(res, lang, labels),
        capacitated=bool(pd.to_numeric(u["capacity"], errors="coerce").notna().any()),
        gap=gap)


def plan_html(p: PlanTables, lang: str,
              render: Callable[[pd.DataFrame | None, str], str]) -> str:
    """The section's HTML; ``render(df, lang)`` draws a table (the report's table function)."""
    e = html.escape
    out = [f"<p>{e(tr('plan_intro', lang))}</p>"]
    if p.capacitated:
        out.append(f"<p>{e(tr('plan_capacity_note', lang))}</p>")
    out.append(render(p.summary, lang))
    if p.conflicts is not None:
        note = (tr("plan_conflict_note", lang, gap=f"{p.gap:,.0f}") if p.gap >= 0.5
                else tr("plan_conflict_free", lang))
        out.append(f"<p>{e(note)}</p>")
        out.append(render(p.conflicts, lang))
    else:
        out.append(f"<p>{e(tr('plan_no_conflict', lang))}</p>")
    out.append(f"<h3>{e(tr('plan_layer', lang))}</h3>")
    out.append(render(p.spaces, lang))
    if p.overloaded is not None:
        out.append(f"<h3>{e(tr('plan_overloaded_head', lang, n=MAX_OVERLOADED))}</h3>")
        out.append(render(p.overloaded, lang))
    out.append('<p class="note">plan.csv, utilisation.csv, served.csv</p>')
    return "".join(out)
