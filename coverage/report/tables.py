"""The report's tables: one :class:`ReportTables` built from a run's :class:`Results`.

Everything the HTML, the workbook and the PDF show comes from here, with headers already in the
chosen language. Pure: nothing is read from the results folder (only the input files' SHA-256 and
sizes come from the file system).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .._i18n import cat_label, check_lang
from ..config import AreaConfig
from ..io import sha256_file
from ..results import Results
from ..sensitivity import sensitivity
from ._labels import tr
from .plan import PlanTables, plan_tables

__all__ = ["Beyond", "ReportTables", "SiteBlocks", "build_tables", "method_label",
           "scenario_label", "site_points", "site_units"]


def _file_identity(path: Path) -> tuple[str, int | str]:
    """SHA-256 (hex) and size (bytes) of an input file; empty when it is missing.

    The file's bytes, not its modification time: the same inputs give the same report in any
    clone or copy of the study folder (a checkout sets every mtime to the time of checkout).
    """
    if not path.is_file():
        return "", ""
    return sha256_file(path), path.stat().st_size


def _pct(num: float, den: float) -> float:
    return round(100.0 * num / den, 1) if den else float("nan")


class Beyond:
    """A walking time beyond the search limit (NaN in the results), shown as "> N"."""

    def __init__(self, minutes: float) -> None:
        self.minutes = float(minutes)

    def __str__(self) -> str:
        return f"> {self.minutes:g}"

    def __repr__(self) -> str:
        return f"Beyond({self.minutes:g})"


def method_label(method: str, lang: str) -> str:
    """Display name of a siting method: ``greedy``, ``optimal``, ``set_cover``, ``set_cover_95``."""
    if method in ("greedy", "optimal", "set_cover"):
        return tr(f"method_{method}", lang)
    m = re.fullmatch(r"set_cover_(\d+(?:\.\d+)?)", str(method))
    return tr("method_set_cover_pct", lang, pct=m.group(1)) if m else str(method)


def scenario_label(scenario: str, lang: str) -> str:
    """Display name of a scenario: ``existing``, ``with_proposed``, ``optimal_6``, ``greedy_6``."""
    if scenario in ("existing", "with_proposed", "greedy", "optimal", "set_cover", "joint_plan",
                    "independent_plan"):
        return tr(f"scenario_{scenario}", lang)
    m = re.fullmatch(r"(optimal|greedy|set_cover)_(\w+)", str(scenario))
    return tr(f"scenario_{m.group(1)}_k", lang, k=m.group(2)) if m else str(scenario)


# --- tables (shared by HTML, XLSX and PDF; headers already in the chosen language) -------------

@dataclass(frozen=True)
class SiteBlocks:
    """The siting section: a summary row per sited category, greedy rankings, other methods."""

    summary: pd.DataFrame
    rankings: list[tuple[str, pd.DataFrame]]
    other: pd.DataFrame | None


@dataclass(frozen=True)
class ReportTables:
    """Every table of the report, headers in the report's language.

    Attributes
    ----------
    area : list of (label, value)
    sources, method : DataFrame
    unit_cov : DataFrame or None
        Coverage % per unit x category (existing), one row per unit and one for the whole area.
    pop_cov : DataFrame or None
        Population-weighted coverage per category, existing and with the planned stations.
    uncovered : DataFrame or None
        Compounds missing at least one category.
    sites : DataFrame or None
        sites.csv with the unit of each site (for the workbook).
    site_blocks : SiteBlocks or None
    scenarios : DataFrame or None
    sensitivity : DataFrame
        :func:`coverage.sensitivity.sensitivity` (raw: keys and numbers, for the CSV and charts).
    sensitivity_minutes, sensitivity_speed : DataFrame or None
        The two curves as tables: one row per category, one column per curve point.
    notes : list of str
        Run-specific limitations (plain text).
    chart_unit : DataFrame or None
        Raw coverage % (unit x category key) for the heat map.
    chart_ba : DataFrame or None
        Raw coverage % per category key: existing, with_proposed, optimal.
    plan : PlanTables or None
        The joint plan against each category planned alone (:mod:`coverage.report.plan`).
    """

    area: list[tuple[str, Any]]
    sources: pd.DataFrame
    method: pd.DataFrame
    unit_cov: pd.DataFrame | None
    pop_cov: pd.DataFrame | None
    uncovered: pd.DataFrame | None
    sites: pd.DataFrame | None
    site_blocks: SiteBlocks | None
    scenarios: pd.DataFrame | None
    sensitivity: pd.DataFrame
    sensitivity_minutes: pd.DataFrame | None
    sensitivity_speed: pd.DataFrame | None
    notes: list[str]
    chart_unit: pd.DataFrame | None
    chart_ba: pd.DataFrame | None
    plan: PlanTables | None = None


def _demand_text(demand: str, lang: str) -> str:
    return tr(demand, lang) if demand in ("population", "population_60plus") else demand


def _area_rows(res: Results, lang: str) -> list[tuple[str, Any]]:
    pop = res.compounds["population"]
    return [
        (tr("area_name", lang), res.config.name),
        (tr("crs", lang), res.config.crs),
        (tr("n_units", lang), len(res.boundaries)),
        (tr("n_compounds", lang), len(res.compounds)),
        (tr("total_population", lang), int(pd.to_numeric(pop, errors="coerce").sum())),
        (tr("n_facilities", lang), len(res.facilities)),
        (tr("n_proposed", lang), len(res.proposed)),
    ]


def _sources(config: AreaConfig, lang: str) -> pd.DataFrame:
    """The input files, relative to the config's folder, with their SHA-256 and size (bytes)."""
    rows: list[tuple[str, str, str, int | str]] = []

    def add(role: str, path: Path | None) -> None:
        if path is None:
            return
        p = Path(path)
        try:
            shown = str(p.relative_to(config.folder))
        except ValueError:
            shown = p.name
        rows.append((tr(role, lang), shown if p.exists() else f"{shown} {tr('missing', lang)}",
                     *_file_identity(p)))

    add("role_boundaries", config.boundaries)
    add("role_network", config.network)
    add("role_compounds", config.compounds)
    for f in config.facilities:
        add("role_facilities", f.path)
    for f in config.proposed:
        add("role_proposed", f.path)
    if config.candidates is not None:
        add("role_candidates", config.candidates.path)
    return pd.DataFrame(rows, columns=[tr("role", lang), tr("file", lang), "SHA-256",
                                       tr("file_bytes", lang)])


def _method(config: AreaConfig, lang: str) -> pd.DataFrame:
    return pd.DataFrame(
        [(cat_label(c, lang), c.minutes, c.speed_m_s, round(c.walk_m),
          _demand_text(c.demand, lang), c.new_sites) for c in config.categories],
        columns=[tr("category", lang), tr("minutes", lang), tr("speed", lang),
                 tr("walk_m", lang), tr("demand", lang), tr("new_sites", lang)],
    )


def _unit_pivot(summary: pd.DataFrame, config: AreaConfig) -> pd.DataFrame:
    """Coverage % (1 decimal) per unit (rows, ALL last) x category key (columns), existing."""
    s = summary.copy()
    s["pct"] = [_pct(a, b) for a, b in zip(s["population_covered"], s["population"],
                                              strict=True)]
    ex = s[s["scenario"] == "existing"]
    piv = ex.pivot_table(index="unit", columns="category", values="pct", sort=False)
    units = [u for u in ex["unit"].drop_duplicates() if u != "ALL"]
    units += ["ALL"] if "ALL" in piv.index else []
    return piv.reindex(index=units, columns=[c.key for c in config.categories
                                             if c.key in piv.columns])


def _unit_table(piv: pd.DataFrame, config: AreaConfig, lang: str) -> pd.DataFrame:
    label = {c.key: cat_label(c, lang) for c in config.categories}
    tbl = piv.copy()
    tbl.columns = [label[k] for k in tbl.columns]
    tbl.index = [tr("all_units", lang) if u == "ALL" else u for u in tbl.index]
    tbl.index.name = tr("unit", lang)
    return tbl.reset_index()


def _pop_cov(summary: pd.DataFrame, config: AreaConfig,
             lang: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The population-weighted table and the raw before/after frame (by category key)."""
    alls = summary[summary["unit"] == "ALL"].set_index(["category", "scenario"])
    rows, keys = [], []
    for c in config.categories:
        if (c.key, "existing") not in alls.index:
            continue
        e = alls.loc[(c.key, "existing")]
        e_pct = _pct(e["population_covered"], e["population"])
        w_pct = float("nan")
        if (c.key, "with_proposed") in alls.index:
            w = alls.loc[(c.key, "with_proposed")]
            w_pct = _pct(w["population_covered"], w["population"])
        rows.append([cat_label(c, lang), _demand_text(c.demand, lang), int(e["population"]),
                     int(e["population_covered"]), e_pct,
                     _pct(e["compounds"] - e["compounds_uncovered"], e["compounds"]),
                     w_pct, round(w_pct - e_pct, 1)])
        keys.append(c.key)
    table = pd.DataFrame(rows, columns=[
        tr("category", lang), tr("demand", lang), tr("demand_population", lang),
        tr("population_covered", lang), tr("pop_weighted_pct", lang), tr("compound_pct", lang),
        f'{tr("scenario_with_proposed", lang)} {tr("pop_weighted_pct", lang)}',
        tr("change_pp", lang)])
    chart = pd.DataFrame({"existing": [r[4] for r in rows],
                          "with_proposed": [r[6] for r in rows]}, index=keys)
    return table, chart


def _uncovered(res: Results, lang: str) -> pd.DataFrame:
    """Compounds missing a category: most categories missing first, then most residents."""
    config, comp = res.config, res.compounds
    label = {c.key: cat_label(c, lang) for c in config.categories}
    cov_cols = [f"covered_{c.key}" for c in config.categories if f"covered_{c.key}" in comp]
    cov = comp[cov_cols].fillna(False).astype(bool)
    unc = comp[~cov.all(axis=1)]
    miss = [", ".join(label[col.removeprefix("covered_")] for col in cov_cols if not r[col])
            for _, r in cov.loc[unc.index].iterrows()]
    walk_cols = [f"walk_min_{c.key}" for c in config.categories if f"walk_min_{c.key}" in comp]
    worst = np.asarray(unc[walk_cols].max(axis=1, skipna=False) if walk_cols else
                       np.full(len(unc), np.nan), float)
    beyond = Beyond(config.max_walk_min)
    n_missing = (~cov.loc[unc.index]).sum(axis=1).to_numpy()
    table = pd.DataFrame({
        tr("name", lang): unc["name"].astype(str).to_numpy(),
        tr("unit", lang): unc["unit"].astype(str).to_numpy(),
        tr("population", lang): unc["population"].to_numpy(),
        tr("population_60plus", lang): (unc["population_60plus"].to_numpy()
                                         if "population_60plus" in unc else np.nan),
        tr("n_missing", lang): n_missing,
        tr("missing_categories", lang): miss,
        tr("max_walk_min", lang): [beyond if math.isnan(w) else round(float(w), 1)
                                   for w in worst],
    })
    order = np.lexsort((-unc["population"].to_numpy(float), -n_missing))
    return table.iloc[order].reset_index(drop=True)


def site_points(results: Results, sites: pd.DataFrame) -> gpd.GeoSeries:
    """Where rows of ``sites.csv`` lie (area CRS, indexed like ``sites``): their candidate's
    point from the ``candidates`` layer or, failing that, their ``lon``/``lat`` projected."""
    pts = gpd.GeoSeries.from_xy(sites["lon"], sites["lat"], crs="EPSG:4326").to_crs(
        results.config.crs)
    if results.candidates is not None and "id" in results.candidates:
        by_id = dict(zip(results.candidates["id"].astype(str), results.candidates.geometry,
                         strict=True))
        pts = gpd.GeoSeries([by_id.get(str(k), p) for k, p in
                             zip(sites["candidate_id"], pts, strict=True)], crs=results.config.crs)
    return gpd.GeoSeries(pts.to_numpy(), index=sites.index, crs=results.config.crs)


def site_units(res: Results) -> pd.Series:
    """The unit (街道/镇) each row of ``sites.csv`` lies in; None outside every unit."""
    sites = res.sites
    if sites is None or not len(sites):
        return pd.Series(dtype=object)
    pts = site_points(res, sites).reset_index(drop=True)
    units = res.boundaries[["name", "geometry"]].reset_index(drop=True)
    hit = gpd.sjoin(gpd.GeoDataFrame(geometry=pts), units, how="left", predicate="within")
    first = hit[~hit.index.duplicated(keep="first")]["name"]
    return pd.Series([None if pd.isna(v) else str(v) for v in first], index=sites.index)


def _sites_flat(res: Results, units: pd.Series, lang: str) -> pd.DataFrame:
    """sites.csv as one table for the workbook, with the unit of each site."""
    label = {c.key: cat_label(c, lang) for c in res.config.categories}
    assert res.sites is not None
    s = res.sites.copy()
    s["method"] = [method_label(m, lang) for m in s["method"]]
    if "cumulative_coverage_pct" in s:
        s["cumulative_coverage_pct"] = s["cumulative_coverage_pct"].round(1)
    s["category"] = [label.get(k, k) for k in s["category"]]
    s["unit"] = [u if u is not None else tr("outside_units", lang) for u in units]
    heads = {"method": "method", "category": "category", "rank": "rank", "name": "name",
             "unit": "unit_of_site", "candidate_id": "candidate_id", "lon": "lon", "lat": "lat",
             "gain_demand": "gain", "cumulative_demand_covered": "cum_demand",
             "cumulative_coverage_pct": "cum_pct"}
    s = s[[c for c in heads if c in s.columns]]
    return s.rename(columns={c: tr(heads[c], lang) for c in s.columns})


def _scenarios(res: Results, lang: str) -> pd.DataFrame:
    label = {c.key: cat_label(c, lang) for c in res.config.categories}
    assert res.scenarios is not None
    sc = res.scenarios.copy()
    sc["category"] = [label.get(k, k) for k in sc["category"]]
    sc["scenario"] = [scenario_label(v, lang) for v in sc["scenario"]]
    return sc.rename(columns={k: tr(k, lang) for k in (
        "category", "scenario", "sites_added", "demand_covered", "coverage_pct",
        "compounds_uncovered", "demand_served")})


def _sens_cell(pts: list[tuple[float, bool]], own: bool) -> str:
    """``85.2`` or ``85.2 → 97.3`` (existing → with the planned stations) from the curve points'
    (coverage_pct, within_search); ● marks the run's own setting, * a lower bound (beyond the
    run's search)."""
    vals = [f"{v:.1f}" + ("" if ok else "*") for v, ok in pts]
    text = vals[0] if len(set(vals)) == 1 else " → ".join(vals)
    return f"● {text}" if own else text


def _sensitivity_table(sens: pd.DataFrame, config: AreaConfig, varied: str,
                       lang: str) -> pd.DataFrame | None:
    """One row per category, one column per round curve point (every 5 min / 0.1 m/s, plus the
    category's own setting when it is off that grid)."""
    s = sens[sens["varied"] == varied]
    if not len(s):
        return None
    xcol = "minutes" if varied == "minutes" else "speed_m_s"
    step = 5.0 if varied == "minutes" else 0.1
    xs = sorted({float(x) for x in s[xcol]
                 if abs(x / step - round(x / step)) < 1e-9}
                | {float(c.minutes if varied == "minutes" else c.speed_m_s)
                   for c in config.categories})
    key = s["category"].to_numpy()
    at, pct, ok = (s[xcol].to_numpy(float), s["coverage_pct"].to_numpy(float),
                   s["within_search"].to_numpy(bool))
    rows = []
    for c in config.categories:
        own = float(c.minutes if varied == "minutes" else c.speed_m_s)
        row: dict[str, Any] = {tr("category", lang): cat_label(c, lang)}
        mine = np.flatnonzero(key == c.key)
        for x in xs:
            pts = [(pct[i], ok[i]) for i in mine[np.isclose(at[mine], x)]]
            row[f"{x:g} min" if varied == "minutes" else f"{x:g} m/s"] = (
                _sens_cell(pts, bool(np.isclose(x, own))) if pts else None)
        rows.append(row)
    return pd.DataFrame(rows)


def build_tables(results: Results, *, lang: str = "zh") -> ReportTables:
    """Build every table of the report from a run's results (pure).

    Parameters
    ----------
    results : Results
        From :func:`coverage.results.read_results` or :func:`coverage.results.results_of`.
    lang : {"zh", "en"}

    Returns
    -------
    ReportTables
    """
    check_lang(lang)
    res, config = results, results.config
    pop_cov = chart_ba = unit_cov = piv = None
    if len(res.summary):
        piv = _unit_pivot(res.summary, config)
        unit_cov = _unit_table(piv, config, lang)
        pop_cov, chart_ba = _pop_cov(res.summary, config, lang)
    units = site_units(res)
    if chart_ba is not None and res.scenarios is not None and len(res.scenarios):
        sc = res.scenarios
        opt = sc[sc["scenario"].astype(str).str.match(r"optimal(_|$)")]
        opt = opt.drop_duplicates("category").set_index("category")["coverage_pct"]
        chart_ba["optimal"] = opt.reindex(chart_ba.index).to_numpy(float)
    sens = sensitivity(res)
    return ReportTables(
        area=_area_rows(res, lang), sources=_sources(config, lang), method=_method(config, lang),
        unit_cov=unit_cov, pop_cov=pop_cov, uncovered=_uncovered(res, lang),
        sites=_sites_flat(res, units, lang) if res.has_sites else None,
        site_blocks=_site_blocks(res, units, lang),
        scenarios=(_scenarios(res, lang) if res.scenarios is not None and len(res.scenarios)
                   else None),
        sensitivity=sens,
        sensitivity_minutes=_sensitivity_table(sens, config, "minutes", lang),
        sensitivity_speed=_sensitivity_table(sens, config, "speed", lang),
        notes=_notes(res, lang), chart_unit=piv, chart_ba=chart_ba,
        plan=plan_tables(res, lang),
    )


def _summary_row(res: Results, key: str, s: pd.DataFrame, lang: str) -> dict[str, Any]:
    """One sited category's conclusion: sites asked for, the optimal set, coverage before/after,
    sites for each set-cover target, whether greedy's top k is already optimal."""
    scen = res.scenarios if res.scenarios is not None else pd.DataFrame(
        columns=["category", "scenario", "coverage_pct", "demand_covered"])
    sc = scen[scen["category"] == key].set_index("scenario")
    opt = s[s["method"] == "optimal"].sort_values("rank")
    cat = next((c for c in res.config.categories if c.key == key), None)
    opt_sc = [v for v in sc.index if re.fullmatch(r"optimal(_\w+)?", str(v))]
    greedy_sc = [v for v in sc.index if re.fullmatch(r"greedy(_\w+)?", str(v))]
    row: dict[str, Any] = {
        tr("category", lang): cat_label(cat, lang) if cat is not None else key,
        tr("sites_requested", lang): cat.new_sites if cat is not None else None,
        tr("sites_chosen", lang): ", ".join(
            f"{cid} {nm}" for cid, nm in zip(opt["candidate_id"], opt["name"].fillna(""),
                                              strict=True)) or None,
        tr("coverage_before", lang): (float(sc.loc["existing", "coverage_pct"])
                                      if "existing" in sc.index else None),
        tr("coverage_after", lang): (float(sc.loc[opt_sc[0], "coverage_pct"])
                                     if opt_sc else None),
    }
    for m in sorted({str(v) for v in s["method"] if str(v).startswith("set_cover_")},
                    key=lambda v: float(v.removeprefix("set_cover_") or 0)):
        row[tr("sites_for_pct", lang, pct=m.removeprefix("set_cover_"))] = int(
            (s["method"] == m).sum())
    if opt_sc and greedy_sc:
        same = np.isclose(float(sc.loc[opt_sc[0], "demand_covered"]),
                          float(sc.loc[greedy_sc[0], "demand_covered"]))
        row[tr("greedy_equals_optimal", lang)] = tr("yes" if same else "no", lang)
    return row


def _unit_text(units: pd.Series, index: pd.Index, lang: str) -> list[str]:
    return [tr("outside_units", lang) if units.get(i) is None else str(units.get(i))
            for i in index]


def _ranking(s: pd.DataFrame, units: pd.Series, lang: str) -> pd.DataFrame:
    """A category's greedy ranking in build order, with its unit and ★ on optimal sites."""
    greedy = s[s["method"] == "greedy"].sort_values("rank")
    in_opt = set(s.loc[s["method"] == "optimal", "candidate_id"])
    return pd.DataFrame({
        tr("rank", lang): greedy["rank"].astype(int).to_numpy(),
        tr("name", lang): greedy["name"].fillna("").astype(str).to_numpy(),
        tr("unit_of_site", lang): _unit_text(units, greedy.index, lang),
        tr("candidate_id", lang): greedy["candidate_id"].astype(str).to_numpy(),
        tr("lon", lang): [f"{v:.5f}" for v in greedy["lon"]],
        tr("lat", lang): [f"{v:.5f}" for v in greedy["lat"]],
        tr("gain", lang): greedy["gain_demand"].round().astype(int).to_numpy(),
        tr("cum_demand", lang): greedy["cumulative_demand_covered"].round().astype(int)
        .to_numpy(),
        tr("cum_pct", lang): greedy["cumulative_coverage_pct"].round(1).to_numpy(),
        tr("in_optimal", lang): ["★" if c in in_opt else "" for c in greedy["candidate_id"]],
    })


def _site_blocks(res: Results, units: pd.Series, lang: str) -> SiteBlocks | None:
    """The siting section's tables; None when no sites were computed."""
    sites = res.sites
    if sites is None or not len(sites):
        return None
    label = {c.key: cat_label(c, lang) for c in res.config.categories}
    keys = [c.key for c in res.config.categories if (sites["category"] == c.key).any()]
    keys += [k for k in sites["category"].drop_duplicates() if k not in keys]
    rows, rankings = [], []
    for key in keys:
        s = sites[sites["category"] == key]
        rows.append(_summary_row(res, key, s, lang))
        if (s["method"] == "greedy").any():
            rankings.append((label.get(key, key), _ranking(s, units, lang)))
    other = sites[~sites["method"].isin(["greedy", "optimal"])]
    other_tbl = None
    if len(other):
        other_tbl = pd.DataFrame({
            tr("method", lang): [method_label(m, lang) for m in other["method"]],
            tr("category", lang): [label.get(k, k) for k in other["category"]],
            tr("rank", lang): other["rank"].astype(int).to_numpy(),
            tr("name", lang): other["name"].fillna("").astype(str).to_numpy(),
            tr("unit_of_site", lang): _unit_text(units, other.index, lang),
            tr("candidate_id", lang): other["candidate_id"].astype(str).to_numpy(),
            tr("gain", lang): other["gain_demand"].round().astype(int).to_numpy(),
            tr("cum_pct", lang): other["cumulative_coverage_pct"].round(1).to_numpy(),
        })
    return SiteBlocks(summary=pd.DataFrame(rows), rankings=rankings, other=other_tbl)


def _notes(res: Results, lang: str) -> list[str]:
    """Run-specific limitations (plain text, escaped by the caller)."""
    notes = []
    walk = res.compounds[[c for c in res.compounds.columns if c.startswith("walk_min_")]]
    if walk.isna().to_numpy().any():
        notes.append(tr("beyond_note", lang, minutes=res.config.max_walk_min))
    islands = res.islands
    if not len(islands):
        notes.append(tr("islands_none", lang))
        return notes
    kinds = ("compounds", "facilities", "proposed")
    items = [" ".join(str(v) for v in (
        tr(f"layer_{r.layer}", lang) if r.layer in kinds else r.layer, r.id,
        "" if pd.isna(r.name) else r.name) if str(v))
        for r in islands.head(10).itertuples()]
    if len(islands) > 10:
        items.append("…")
    gap = pd.to_numeric(islands["gap_m"], errors="coerce").max()
    notes.append(tr("islands_some", lang, n=len(islands),
                    gap=0.0 if pd.isna(gap) else float(gap), items="; ".join(items)))
    return notes
