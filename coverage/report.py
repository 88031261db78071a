"""Site-selection report: ``report.html`` (one self-contained file) and ``report.xlsx``.

Both are built from the same tables, read from a results folder written per the results
contract (``compounds.csv``, ``summary.csv``, ``sites.csv``, ``scenarios.csv``,
``coverage.gpkg``). Missing optional results (no sites, no proposed stations) give a section that
says "not computed". The HTML inlines its CSS, charts (matplotlib PNG as base64) and a small
table-sorting script, so it opens offline. Every text from data is HTML-escaped; in the workbook,
texts that start like a formula are stored as plain text.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import logging
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._i18n import cat_label, check_lang, tr
from .config import AreaConfig
from .io import atomic_path, write_text

__all__ = ["build_tables", "find_cjk_font", "render_html", "write_report", "write_xlsx"]

log = logging.getLogger(__name__)

#: Font families tried, in order, for Chinese text in charts.
CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
    "Heiti SC", "Noto Sans CJK JP", "Noto Serif CJK SC",
)
_CJK_FILE_HINTS = ("cjk", "wqy", "wenquanyi", "sourcehan", "simhei", "msyh", "pingfang")


# --- reading -------------------------------------------------------------------------------------

def _csv(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        log.info("report: %s not found; its section is marked not computed", path.name)
        return None
    return pd.read_csv(path, encoding="utf-8")


def _layer_count(out_dir: Path, layer: str) -> int | None:
    import pyogrio

    gpkg = out_dir / "coverage.gpkg"
    if not gpkg.exists():
        return None
    if layer not in {str(n) for n in pyogrio.list_layers(gpkg)[:, 0]}:
        return None
    return int(pyogrio.read_info(gpkg, layer=layer)["features"])


def _file_date(path: Path | None) -> str:
    if path is None or not Path(path).exists():
        return ""
    return dt.date.fromtimestamp(Path(path).stat().st_mtime).isoformat()


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
    if scenario in ("existing", "with_proposed", "greedy", "optimal", "set_cover"):
        return tr(f"scenario_{scenario}", lang)
    m = re.fullmatch(r"(optimal|greedy|set_cover)_(\w+)", str(scenario))
    return tr(f"scenario_{m.group(1)}_k", lang, k=m.group(2)) if m else str(scenario)


# --- tables (shared by HTML and XLSX; headers already in the chosen language) --------------------

def build_tables(config: AreaConfig, out_dir: Path, *, lang: str = "zh") -> dict[str, Any]:
    """Read a results folder and build the report's tables.

    Returns
    -------
    dict
        ``area`` (list of (label, value)), ``sources``, ``method``, ``unit_cov`` (coverage %
        per unit x category, existing), ``pop_cov``, ``uncovered``, ``sites``, ``scenarios``:
        DataFrames with localized headers, or None where the result was not computed; plus
        ``chart_unit`` and ``chart_ba`` (raw frames for the charts).
    """
    check_lang(lang)
    out_dir = Path(out_dir)
    cats = config.categories
    label = {c.key: cat_label(c, lang) for c in cats}
    compounds = _csv(out_dir / "compounds.csv")
    summary = _csv(out_dir / "summary.csv")
    sites = _csv(out_dir / "sites.csv")
    scenarios = _csv(out_dir / "scenarios.csv")
    t: dict[str, Any] = {}

    n_fac = _layer_count(out_dir, "facilities")
    n_prop = _layer_count(out_dir, "proposed")
    n_units = _layer_count(out_dir, "boundaries")
    pop_total = int(compounds["population"].sum()) if compounds is not None else None
    t["area"] = [
        (tr("area_name", lang), config.name),
        (tr("crs", lang), config.crs),
        (tr("n_units", lang), n_units),
        (tr("n_compounds", lang), len(compounds) if compounds is not None else None),
        (tr("total_population", lang), pop_total),
        (tr("n_facilities", lang), n_fac),
        (tr("n_proposed", lang), n_prop if n_prop is not None else 0),
    ]

    src: list[tuple[str, str, str]] = []

    def add(role: str, path: Path | None) -> None:
        if path is None:
            return
        p = Path(path)
        try:
            shown = str(p.relative_to(config.folder))
        except ValueError:
            shown = p.name
        src.append((tr(role, lang), shown if p.exists() else f"{shown} {tr('missing', lang)}",
                    _file_date(p)))

    add("role_boundaries", config.boundaries)
    add("role_network", config.network)
    add("role_compounds", config.compounds)
    for f in config.facilities:
        add("role_facilities", f.path)
    for f in config.proposed:
        add("role_proposed", f.path)
    if config.candidates is not None:
        add("role_candidates", config.candidates.path)
    add("role_results", out_dir / "coverage.gpkg")
    t["sources"] = pd.DataFrame(src, columns=[tr("role", lang), tr("file", lang),
                                              tr("modified", lang)])

    t["method"] = pd.DataFrame(
        [(label[c.key], c.minutes, c.speed_m_s, round(c.walk_m), tr(c.demand, lang)
          if c.demand in ("population", "population_60plus") else c.demand, c.new_sites)
         for c in cats],
        columns=[tr("category", lang), tr("minutes", lang), tr("speed", lang),
                 tr("walk_m", lang), tr("demand", lang), tr("new_sites", lang)],
    )

    t["unit_cov"] = t["pop_cov"] = t["chart_unit"] = t["chart_ba"] = None
    if summary is not None and len(summary):
        s = summary.copy()
        s["pct"] = [_pct(a, b) for a, b in zip(s["population_covered"], s["population"],
                                                  strict=True)]
        ex = s[s["scenario"] == "existing"]
        piv = ex.pivot_table(index="unit", columns="category", values="pct", sort=False)
        order_units = [u for u in ex["unit"].drop_duplicates() if u != "ALL"]
        order_units += ["ALL"] if "ALL" in piv.index else []
        piv = piv.reindex(index=order_units,
                          columns=[c.key for c in cats if c.key in piv.columns])
        t["chart_unit"] = piv
        tbl = piv.copy()
        tbl.columns = [label[k] for k in tbl.columns]
        tbl.index = [tr("all_units", lang) if u == "ALL" else u for u in tbl.index]
        tbl.index.name = tr("unit", lang)
        t["unit_cov"] = tbl.reset_index()

        rows = []
        alls = s[s["unit"] == "ALL"].set_index(["category", "scenario"])
        for c in cats:
            if (c.key, "existing") not in alls.index:
                continue
            e = alls.loc[(c.key, "existing")]
            w = alls.loc[(c.key, "with_proposed")] if (c.key, "with_proposed") in alls.index \
                else None
            comp_pct = _pct(e["compounds"] - e["compounds_uncovered"], e["compounds"])
            row = [label[c.key], tr(c.demand, lang) if c.demand in ("population",
                   "population_60plus") else c.demand, int(e["population"]),
                   int(e["population_covered"]), e["pct"], comp_pct]
            if w is not None:
                row += [w["pct"], round(w["pct"] - e["pct"], 1)]
            else:
                row += [float("nan"), float("nan")]
            rows.append(row)
        t["pop_cov"] = pd.DataFrame(rows, columns=[
            tr("category", lang), tr("demand", lang), tr("demand_population", lang),
            tr("population_covered", lang), tr("pop_weighted_pct", lang),
            tr("compound_pct", lang),
            f'{tr("scenario_with_proposed", lang)} {tr("pop_weighted_pct", lang)}',
            tr("change_pp", lang)])
        t["chart_ba"] = pd.DataFrame(
            {"existing": [r[4] for r in rows], "with_proposed": [r[6] for r in rows]},
            index=[c.key for c in cats if (c.key, "existing") in alls.index])

    t["uncovered"] = None
    if compounds is not None:
        cov_cols = [f"covered_{c.key}" for c in cats if f"covered_{c.key}" in compounds]
        cov = compounds[cov_cols].fillna(False).astype(bool)
        unc = compounds[~cov.all(axis=1)].copy()
        miss = [", ".join(label[col.removeprefix("covered_")] for col in cov_cols if not r[col])
                for _, r in cov.loc[unc.index].iterrows()]
        walk_cols = [f"walk_min_{c.key}" for c in cats if f"walk_min_{c.key}" in compounds]
        worst = np.asarray(unc[walk_cols].max(axis=1, skipna=False) if walk_cols else
                           np.full(len(unc), np.nan), float)
        beyond = Beyond(config.max_walk_min)
        worst_shown = [beyond if math.isnan(w) else round(float(w), 1) for w in worst]
        t["uncovered"] = pd.DataFrame({
            tr("name", lang): unc["name"].astype(str).values,
            tr("unit", lang): unc["unit"].astype(str).values,
            tr("population", lang): unc["population"].values,
            tr("population_60plus", lang): unc.get("population_60plus",
                                                   pd.Series(np.nan, unc.index)).values,
            tr("n_missing", lang): (~cov.loc[unc.index]).sum(axis=1).values,
            tr("missing_categories", lang): miss,
            tr("max_walk_min", lang): worst_shown,
        })
        # most categories missing first, then most residents
        order = np.lexsort((-unc["population"].to_numpy(float),
                            -(~cov.loc[unc.index]).sum(axis=1).to_numpy()))
        t["uncovered"] = t["uncovered"].iloc[order].reset_index(drop=True)

    t["sites"] = None
    if sites is not None and len(sites):
        s = sites.copy()
        s["method"] = [method_label(m, lang) for m in s["method"]]
        if "cumulative_coverage_pct" in s:
            s["cumulative_coverage_pct"] = s["cumulative_coverage_pct"].round(1)
        s["category"] = [label.get(k, k) for k in s["category"]]
        cols = ["method", "category", "rank", "name", "candidate_id", "lon", "lat",
                "gain_demand", "cumulative_demand_covered", "cumulative_coverage_pct"]
        s = s[[c for c in cols if c in s.columns]]
        heads = {"method": "method", "category": "category", "rank": "rank", "name": "name",
                 "candidate_id": "candidate_id", "lon": "lon", "lat": "lat",
                 "gain_demand": "gain", "cumulative_demand_covered": "cum_demand",
                 "cumulative_coverage_pct": "cum_pct"}
        t["sites"] = s.rename(columns={c: tr(heads[c], lang) for c in s.columns})

    t["scenarios"] = None
    if scenarios is not None and len(scenarios):
        sc = scenarios.copy()
        sc["category"] = [label.get(k, k) for k in sc["category"]]
        sc["scenario"] = [scenario_label(v, lang) for v in sc["scenario"]]
        t["scenarios"] = sc.rename(columns={
            "category": tr("category", lang), "scenario": tr("scenario", lang),
            "sites_added": tr("sites_added", lang), "demand_covered": tr("demand_covered", lang),
            "coverage_pct": tr("coverage_pct", lang),
            "compounds_uncovered": tr("compounds_uncovered", lang)})
    t["site_blocks"] = _site_blocks(config, sites, scenarios, lang)
    if t["chart_ba"] is not None and scenarios is not None and len(scenarios):
        opt = scenarios[scenarios["scenario"].astype(str).str.match(r"optimal(_|$)")]
        opt = opt.drop_duplicates("category").set_index("category")["coverage_pct"]
        t["chart_ba"]["optimal"] = opt.reindex(t["chart_ba"].index).to_numpy(float)
    t["notes"] = _notes(config, out_dir, compounds, lang)
    return t


def _site_blocks(config: AreaConfig, sites: pd.DataFrame | None,
                 scenarios: pd.DataFrame | None, lang: str) -> dict[str, Any] | None:
    """The siting section's tables: a summary per category, the greedy rankings, the rest.

    Returns None when no sites were computed, else a dict with ``summary`` (one row per
    category with sites), ``rankings`` (list of (category label, ranking table)) and ``other``
    (set-cover selections, or None).
    """
    if sites is None or not len(sites):
        return None
    label = {c.key: cat_label(c, lang) for c in config.categories}
    scen = scenarios if scenarios is not None else pd.DataFrame(
        columns=["category", "scenario", "coverage_pct", "demand_covered"])
    rows, rankings = [], []
    keys = [c.key for c in config.categories if (sites["category"] == c.key).any()]
    keys += [k for k in sites["category"].drop_duplicates() if k not in keys]
    for key in keys:
        s = sites[sites["category"] == key]
        opt = s[s["method"] == "optimal"].sort_values("rank")
        greedy = s[s["method"] == "greedy"].sort_values("rank")
        sc = scen[scen["category"] == key].set_index("scenario")
        cat = next((c for c in config.categories if c.key == key), None)
        opt_sc = [v for v in sc.index if re.fullmatch(r"optimal(_\w+)?", str(v))]
        greedy_sc = [v for v in sc.index if re.fullmatch(r"greedy(_\w+)?", str(v))]
        row = {
            tr("category", lang): label.get(key, key),
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
        rows.append(row)
        if len(greedy):
            in_opt = set(opt["candidate_id"])
            rankings.append((label.get(key, key), pd.DataFrame({
                tr("rank", lang): greedy["rank"].astype(int).to_numpy(),
                tr("name", lang): greedy["name"].fillna("").astype(str).to_numpy(),
                tr("candidate_id", lang): greedy["candidate_id"].astype(str).to_numpy(),
                tr("lon", lang): [f"{v:.5f}" for v in greedy["lon"]],
                tr("lat", lang): [f"{v:.5f}" for v in greedy["lat"]],
                tr("gain", lang): greedy["gain_demand"].round().astype(int).to_numpy(),
                tr("cum_demand", lang): greedy["cumulative_demand_covered"].round()
                .astype(int).to_numpy(),
                tr("cum_pct", lang): greedy["cumulative_coverage_pct"].round(1).to_numpy(),
                tr("in_optimal", lang): ["★" if c in in_opt else ""
                                         for c in greedy["candidate_id"]],
            })))
    other = sites[~sites["method"].isin(["greedy", "optimal"])]
    other_tbl = None
    if len(other):
        other_tbl = pd.DataFrame({
            tr("method", lang): [method_label(m, lang) for m in other["method"]],
            tr("category", lang): [label.get(k, k) for k in other["category"]],
            tr("rank", lang): other["rank"].astype(int).to_numpy(),
            tr("name", lang): other["name"].fillna("").astype(str).to_numpy(),
            tr("candidate_id", lang): other["candidate_id"].astype(str).to_numpy(),
            tr("gain", lang): other["gain_demand"].round().astype(int).to_numpy(),
            tr("cum_pct", lang): other["cumulative_coverage_pct"].round(1).to_numpy(),
        })
    return {"summary": pd.DataFrame(rows), "rankings": rankings, "other": other_tbl}


def _notes(config: AreaConfig, out_dir: Path, compounds: pd.DataFrame | None,
           lang: str) -> list[str]:
    """Run-specific limitations (plain text, escaped by the caller)."""
    notes = []
    if compounds is not None:
        walk = compounds[[c for c in compounds.columns if c.startswith("walk_min_")]]
        if walk.isna().to_numpy().any():
            notes.append(tr("beyond_note", lang, minutes=config.max_walk_min))
    islands = _csv(out_dir / "islands.csv")
    if islands is not None:
        if not len(islands):
            notes.append(tr("islands_none", lang))
        else:
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


# --- charts --------------------------------------------------------------------------------------

def find_cjk_font() -> str | None:
    """Name of an installed font family that can draw Chinese, or None (logged as a warning).

    Looks in matplotlib's font list first; if that cache predates the font's installation,
    registers CJK font files found on the system and looks again.
    """
    from matplotlib import font_manager as fm

    def known() -> str | None:
        names = {f.name for f in fm.fontManager.ttflist}
        return next((n for n in CJK_FONTS if n in names), None)

    name = known()
    if name is None:
        for path in fm.findSystemFonts():
            if any(h in Path(path).name.lower() for h in _CJK_FILE_HINTS):
                try:
                    fm.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # pragma: no cover - broken file
                    continue
        name = known()
    if name is None:
        log.warning("no CJK font found (install fonts-noto-cjk); charts use category keys "
                    "instead of Chinese labels")
    return name


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _charts(config: AreaConfig, t: dict[str, Any], lang: str) -> dict[str, str]:
    """Base64 PNGs: ``unit`` (heatmap unit x category) and ``ba`` (before/after bars)."""
    import matplotlib
    from matplotlib.figure import Figure

    font = find_cjk_font()
    cjk_ok = font is not None or lang == "en"
    labels = {c.key: (cat_label(c, lang) if cjk_ok else c.key) for c in config.categories}
    families = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]

    def txt(key: str) -> str:
        return tr(key, lang) if cjk_ok else tr(key, "en")

    def plain(text: str) -> str:
        """Data text as literal chart text (a ``$`` would start matplotlib mathtext)."""
        return str(text).replace("$", r"\$")

    out: dict[str, str] = {}
    with matplotlib.rc_context({"font.family": families, "axes.unicode_minus": False}):
        piv = t.get("chart_unit")
        if piv is not None and piv.size:
            units = [txt("all_units") if u == "ALL" else plain(u) for u in piv.index]
            cols = [plain(labels[k]) for k in piv.columns]
            fig = Figure(figsize=(max(5.0, 0.9 * len(cols) + 2.5), 0.45 * len(units) + 1.8))
            ax = fig.add_subplot()
            data = piv.to_numpy(float)
            im = ax.imshow(data, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
            ax.set_xticks(range(len(cols)), cols, rotation=35, ha="right")
            ax.set_yticks(range(len(units)), units)
            for (i, j), v in np.ndenumerate(data):
                ax.text(j, i, "–" if math.isnan(v) else f"{v:.0f}", ha="center", va="center",
                        fontsize=8, color="black")
            fig.colorbar(im, ax=ax, label="%")
            ax.set_title(txt("chart_unit_cov"), fontsize=11)
            out["unit"] = _png(fig)
        ba = t.get("chart_ba")
        if ba is not None and len(ba):
            fig = Figure(figsize=(max(5.0, 0.8 * len(ba) + 2.5), 3.6))
            ax = fig.add_subplot()
            x = np.arange(len(ba))
            series = [("existing", "scenario_existing", "#999")]
            if ba["with_proposed"].notna().any():
                series.append(("with_proposed", "scenario_with_proposed", "#2e9e44"))
            if "optimal" in ba and ba["optimal"].notna().any():
                series.append(("optimal", "scenario_chart_optimal", "#e6ab02"))
            width = 0.8 / len(series)
            for i, (col, key, colour) in enumerate(series):
                ax.bar(x + (i - (len(series) - 1) / 2) * width, ba[col], width,
                       label=txt(key), color=colour)
            ax.set_xticks(x, [plain(labels[k]) for k in ba.index], rotation=35, ha="right")
            ax.set_ylim(0, 120)
            ax.set_ylabel("%")
            ax.legend(loc="upper right", ncol=len(series), fontsize=8)
            ax.set_title(txt("chart_before_after"), fontsize=11)
            out["ba"] = _png(fig)
    return out


# --- HTML ----------------------------------------------------------------------------------------

def _cell(v: Any) -> tuple[str, str]:
    """(display text, sort value) for one table cell, both HTML-escaped."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–", ""
    if isinstance(v, Beyond):
        return html.escape(str(v)), "1e12"
    if isinstance(v, (bool, np.bool_)):
        return ("✓" if v else "✗"), str(int(v))
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}", str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        text = f"{f:,.0f}" if f.is_integer() and abs(f) >= 1000 else f"{f:,.10g}"
        return text, repr(f)
    s = html.escape(str(v), quote=True)
    return s, s


def _table(df: pd.DataFrame | None, lang: str, *, sortable: bool = False,
           table_id: str = "") -> str:
    if df is None:
        return f'<p class="nc">{tr("not_computed", lang)}</p>'
    cls = ' class="sortable"' if sortable else ""
    tid = f' id="{html.escape(table_id)}"' if table_id else ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            text, key = _cell(v)
            num = (isinstance(v, (int, float, np.integer, np.floating, Beyond))
                   and not isinstance(v, bool))
            cells.append(f'<td data-v="{key}"{" class=n" if num else ""}>{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table{cls}{tid}><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
 "WenQuanYi Zen Hei",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;
 line-height:1.55}
h1{font-size:1.6em;border-bottom:3px solid #2e9e44;padding-bottom:.3em}
h2{font-size:1.25em;margin-top:2em;border-left:5px solid #2e9e44;padding-left:.5em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f4f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th.asc::after{content:" ▲"}table.sortable th.desc::after{content:" ▼"}
.nc{color:#a60;font-style:italic}.meta{color:#666}img{max-width:100%}
h3{font-size:1.05em;margin-top:1.4em}summary{cursor:pointer;margin:1em 0;font-weight:600}
#uncovered td:nth-child(-n+2){white-space:nowrap}
nav ol{columns:2}dl.kv{display:grid;grid-template-columns:max-content auto;gap:2px 1em}
dl.kv dt{font-weight:600}dl.kv dd{margin:0}
@media print{nav{display:none}h2{break-after:avoid}table{break-inside:auto}}
"""

_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function (t) {
  t.querySelectorAll('th').forEach(function (th, i) {
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('asc');
      t.querySelectorAll('th').forEach(function (h) { h.classList.remove('asc', 'desc'); });
      th.classList.add(asc ? 'asc' : 'desc');
      var tb = t.tBodies[0], rows = Array.prototype.slice.call(tb.rows);
      rows.sort(function (a, b) {
        var x = a.cells[i].getAttribute('data-v'), y = b.cells[i].getAttribute('data-v');
        var nx = parseFloat(x), ny = parseFloat(y), r;
        if (x === '' && y !== '') { r = 1; } else if (y === '' && x !== '') { r = -1; }
        else if (!isNaN(nx) && !isNaN(ny)) { r = nx - ny; } else { r = x.localeCompare(y); }
        return asc ? r : -r;
      });
      rows.forEach(function (r) { tb.appendChild(r); });
    });
  });
});
"""


def _sites_html(blocks: dict[str, Any] | None, lang: str) -> str:
    if blocks is None:
        return _table(None, lang)
    e = html.escape
    out = [f'<p>{tr("sites_note", lang)}</p>', f'<h3>{tr("sites_summary", lang)}</h3>',
           _table(blocks["summary"], lang, table_id="sites-summary")]
    for i, (name, tbl) in enumerate(blocks["rankings"]):
        out.append(f"<h3>{e(tr('ranking_of', lang, label=name))}</h3>")
        out.append(_table(tbl, lang, sortable=True, table_id=f"ranking-{i + 1}"))
    if blocks["other"] is not None:
        out.append(f"<details><summary>{tr('set_cover_lists', lang)}</summary>"
                   f"{_table(blocks['other'], lang, sortable=True, table_id='set-cover')}"
                   "</details>")
    return "".join(out)


def render_html(config: AreaConfig, t: dict[str, Any], charts: dict[str, str], *,
                lang: str = "zh") -> str:
    """The report as one self-contained HTML string (inline CSS, images and script)."""
    e = html.escape
    title = tr("report_title", lang, area=config.name)
    secs: list[tuple[str, str, str]] = []

    kv = "".join(f"<dt>{e(k)}</dt><dd>{_cell(v)[0]}</dd>" for k, v in t["area"])
    secs.append(("area", tr("sec_area", lang), f'<dl class="kv">{kv}</dl>'))
    secs.append(("sources", tr("sec_sources", lang),
                 _table(t["sources"], lang) + f'<p>{tr("osm_credit", lang)}</p>'))
    secs.append(("method", tr("sec_method", lang),
                 f"<p>{tr('method_text', lang)}</p>" + _table(t["method"], lang)))

    body = _table(t["unit_cov"], lang)
    if t["unit_cov"] is not None:
        body = f'<p class="meta">{tr("pct_table_note", lang)}</p>' + body
    if "unit" in charts:
        body += (f'<img alt="{e(tr("chart_unit_cov", lang))}" '
                 f'src="data:image/png;base64,{charts["unit"]}">')
    secs.append(("unit-coverage", tr("sec_unit_cov", lang), body))
    secs.append(("population-coverage", tr("sec_pop_cov", lang), _table(t["pop_cov"], lang)))

    unc = t["uncovered"]
    if unc is not None and not len(unc):
        body = f"<p>{tr('none_uncovered', lang)}</p>"
    else:
        body = (f'<p class="meta">{tr("sort_hint", lang)}</p>' if unc is not None else "")
        body += _table(unc, lang, sortable=True, table_id="uncovered")
    secs.append(("uncovered", tr("sec_uncovered", lang), body))
    secs.append(("sites", tr("sec_sites", lang), _sites_html(t.get("site_blocks"), lang)))

    body = _table(t["scenarios"], lang)
    if "ba" in charts:
        body += (f'<img alt="{e(tr("chart_before_after", lang))}" '
                 f'src="data:image/png;base64,{charts["ba"]}">')
    secs.append(("scenarios", tr("sec_scenarios", lang), body))

    lims = "".join(f"<li>{e(x)}</li>" for x in (*t.get("notes", ()), *tr("limitations", lang)))
    secs.append(("provenance", tr("sec_provenance", lang),
                 f"<p>{tr('osm_credit', lang)}</p><ul>{lims}</ul>"))

    toc = "".join(f'<li><a href="#{sid}">{e(name)}</a></li>' for sid, name, _ in secs)
    parts = "".join(f'<section id="{sid}"><h2>{e(name)}</h2>{content}</section>'
                    for sid, name, content in secs)
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        f'<!DOCTYPE html>\n<html lang="{"en" if lang == "en" else "zh-CN"}"><head>'
        f'<meta charset="utf-8"><meta name="viewport" content="width=device-width,'
        f'initial-scale=1"><title>{e(title)}</title><style>{_CSS}</style></head><body>'
        f"<h1>{e(title)}</h1><p class=meta>{tr('generated', lang)}: {now}</p>"
        f"<nav><b>{tr('toc', lang)}</b><ol>{toc}</ol></nav>{parts}"
        f"<script>{_SORT_JS}</script></body></html>\n"
    )


# --- XLSX ----------------------------------------------------------------------------------------

def _xl_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, Beyond):
        return str(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


def write_xlsx(t: dict[str, Any], path: Path, *, lang: str = "zh") -> Path:
    """Write one sheet per table (headers in ``lang``) atomically to ``path``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    wb = Workbook()
    wb.remove(wb.active)
    sheets = [("sheet_method", t["method"]), ("sheet_sources", t["sources"]),
              ("sheet_unit_cov", t["unit_cov"]), ("sheet_pop_cov", t["pop_cov"]),
              ("sheet_uncovered", t["uncovered"]), ("sheet_sites", t["sites"]),
              ("sheet_scenarios", t["scenarios"])]
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="E6EFE6")
    for key, df in sheets:
        ws = wb.create_sheet(tr(key, lang)[:31])
        if df is None:
            ws.append([tr("not_computed", lang)])
            continue
        ws.append([str(c) for c in df.columns])
        for c in ws[1]:
            c.font, c.fill = bold, fill
        for row in df.itertuples(index=False):
            ws.append([_xl_value(v) for v in row])
        for col in ws.iter_cols(min_row=2):
            for c in col:
                # data text that looks like a formula stays text (no formula injection)
                if isinstance(c.value, str) and c.value[:1] in ("=", "+", "-", "@"):
                    c.data_type = "s"
        ws.freeze_panes = "A2"
        for i, c in enumerate(df.columns, start=1):
            width = max([len(str(c))] + [len(str(v)) for v in df.iloc[:200, i - 1]])
            ws.column_dimensions[ws.cell(1, i).column_letter].width = min(60, width * 1.6 + 2)
    path = Path(path)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path


def write_report(config: AreaConfig, out_dir: Path, *, lang: str = "zh") -> list[Path]:
    """Write ``report.html`` and ``report.xlsx`` into ``out_dir`` (each atomically).

    Parameters
    ----------
    config : AreaConfig
    out_dir : Path
        Results folder (read and written).
    lang : {"zh", "en"}

    Returns
    -------
    list of Path
        The files written.
    """
    check_lang(lang)
    out_dir = Path(out_dir)
    t = build_tables(config, out_dir, lang=lang)
    charts = _charts(config, t, lang)
    html_path = out_dir / "report.html"
    text = render_html(config, t, charts, lang=lang)
    write_text(html_path, text)
    xlsx_path = write_xlsx(t, out_dir / "report.xlsx", lang=lang)
    log.info("report written: %s (%.0f kB), %s", html_path, len(text.encode()) / 1e3,
             xlsx_path)
    return [html_path, xlsx_path]
