"""A tiny but realistic results folder, written exactly per the results contract.

Used by the map and report tests until (and alongside) the real pipeline. Everything is
deterministic and hand-checkable:

* 2 units side by side (west ``回龙观``, east ``天通苑``), each 600 m x 600 m, near Huitian
  (EPSG:32650).
* 10 compounds (100 m x 80 m), 5 per unit; compound ``C10`` is unreachable (NaN walk minutes).
* 3 categories: ``elderly_station`` (15 min at 0.9 m/s, demand ``population_60plus``),
  ``health_station`` (15 min at 1.0 m/s) and ``wet_market`` (10 min at 1.0 m/s).
* Walking minutes = straight-line distance x 1.6 (detour factor) / speed / 60, so which compounds
  are covered follows from the coordinates below.
* One proposed elderly station in the east unit; 6 candidates; greedy-ranked sites (1 elderly
  station, 2 wet markets) and 2 optimal wet-market sites.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box

from coverage.config import AreaConfig, load_config
from coverage.outputs import seal_run

CRS = "EPSG:32650"
X0, Y0 = 442_000.0, 4_435_000.0
DETOUR = 1.6

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(2)>'

CATEGORIES = (
    # key, label, label_en, minutes, speed, demand
    ("elderly_station", "养老驿站", "Elderly care station", 15, 0.9, "population_60plus"),
    ("health_station", "社区卫生服务站", "Community health station", 15, 1.0, "population"),
    ("wet_market", "菜市场", "Wet market", 10, 1.0, "population"),
)

UNITS = (("回龙观", 0.0), ("天通苑", 600.0))

# (id, name, unit index, x offset, y offset, population, population_60plus)
COMPOUNDS = (
    ("C01", "龙泽苑", 0, 50, 50, 1200, 300),
    ("C02", "新龙城", 0, 250, 50, 800, 150),
    ("C03", "融泽嘉园", 0, 450, 250, 1500, 420),
    ("C04", "流星花园", 0, 50, 450, 600, 90),
    ("C05", "云趣园", 0, 300, 480, 950, 260),
    ("C06", "天通苑东一区", 1, 650, 50, 2000, 510),
    ("C07", "天通苑东二区", 1, 850, 250, 1800, 470),
    ("C08", "天通北苑", 1, 1050, 450, 1100, 380),
    ("C09", "太平家园", 1, 700, 480, 700, 120),
    ("C10", "清河营", 1, 1080, 60, 400, 80),
)

# (id, name, category, x, y)
FACILITIES = (
    ("F01", "回龙观养老驿站", "elderly_station", 100, 100),
    ("F02", "天通苑养老驿站", "elderly_station", 1150, 560),
    ("F03", "龙泽社区卫生服务站", "health_station", 300, 300),
    ("F04", "天通苑卫生服务站", "health_station", 800, 300),
    ("F05", "回龙观菜市场", "wet_market", 100, 80),
    ("F06", "天通苑菜市场", "wet_market", 900, 300),
)
PROPOSED = (("P01", "规划养老驿站（东一区）", "elderly_station", 700, 120),)
CANDIDATES = (
    ("K01", "候选点 1", "elderly_station", 700, 120),
    ("K02", "候选点 2", "elderly_station", 480, 300),
    ("K03", "候选点 3", "elderly_station", 1000, 400),
    ("K04", "候选点 4", "wet_market", 500, 450),
    ("K05", "候选点 5", "wet_market", 1000, 120),
    ("K06", "候选点 6", "health_station", 1100, 100),
)
UNREACHABLE = {"C10"}


def _toml(tmp_path: Path) -> str:
    cats = "\n".join(
        f'[[category]]\nkey = "{k}"\nlabel = "{lab}"\nlabel_en = "{en}"\nminutes = {m}\n'
        f'speed_m_s = {s}\ndemand = "{d}"\nnew_sites = 3\n'
        for k, lab, en, m, s, d in CATEGORIES
    )
    return (
        '[area]\nname = "回天地区（测试）"\ncrs = "EPSG:32650"\n'
        'boundaries = "in/boundaries.geojson"\nnetwork = "in/network.osm"\n\n'
        "[walk]\nspeed_m_s = 1.0\n\n"
        f"{cats}\n"
        '[[facilities]]\npath = "in/facilities.csv"\n\n'
        '[[proposed]]\npath = "in/proposed.csv"\n\n'
        '[compounds]\npath = "in/compounds.geojson"\n\n'
        '[candidates]\npath = "in/candidates.csv"\ngenerate = false\n'
    )


def make_config(tmp_path: Path) -> AreaConfig:
    """Write a tiny ``area.toml`` (and placeholder input files) under ``tmp_path`` and load it."""
    src = tmp_path / "area"
    (src / "in").mkdir(parents=True, exist_ok=True)
    for name in ("boundaries.geojson", "network.osm", "compounds.geojson", "facilities.csv",
                 "proposed.csv", "candidates.csv"):
        (src / "in" / name).write_text("placeholder\n", encoding="utf-8")
    (src / "area.toml").write_text(_toml(tmp_path), encoding="utf-8")
    return load_config(src / "area.toml")


def _walk_min(cx: float, cy: float, pts: list[tuple[float, float]], speed: float) -> float:
    if not pts:
        return float("nan")
    d = min(float(np.hypot(cx - x, cy - y)) for x, y in pts)
    return round(d * DETOUR / speed / 60.0, 2)


def _points(rows, *, status: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "category": [r[2] for r in rows],
            "source": ["file"] * len(rows),
            "status": [status] * len(rows),
            "snap_dist_m": [12.5] * len(rows),
            "off_network": [False] * len(rows),
        },
        geometry=[Point(X0 + r[3], Y0 + r[4]) for r in rows],
        crs=CRS,
    )


def _compounds(unit_names: list[str], cats, *, hostile: bool) -> tuple[pd.DataFrame, list]:
    """The compounds table in contract column order, and the compound polygons."""
    rec: dict[str, list] = {"id": [], "name": [], "unit": [], "population": [],
                            "population_60plus": []}
    geoms = []
    for i, (cid, name, ui, dx, dy, pop, pop60) in enumerate(COMPOUNDS):
        if hostile and i == 2:
            name = XSS_SCRIPT
        if hostile and i == 5:
            name = XSS_IMG
        rec["id"].append(cid)
        rec["name"].append(name)
        rec["unit"].append(unit_names[ui])
        rec["population"].append(pop)
        rec["population_60plus"].append(pop60)
        geoms.append(box(X0 + dx, Y0 + dy, X0 + dx + 100, Y0 + dy + 80))
    comp = pd.DataFrame(rec)
    for suffix, include_prop in (("", False), ("_with_proposed", True)):
        covered_cols = []
        for cat in cats:
            pts = [(X0 + r[3], Y0 + r[4]) for r in FACILITIES if r[2] == cat.key]
            if include_prop:
                pts += [(X0 + r[3], Y0 + r[4]) for r in PROPOSED if r[2] == cat.key]
            walk = []
            for cid, _n, _u, dx, dy, *_ in COMPOUNDS:
                w = _walk_min(X0 + dx + 50, Y0 + dy + 40, pts, cat.speed_m_s)
                walk.append(float("nan") if cid in UNREACHABLE else w)
            w = np.array(walk, dtype=float)
            comp[f"walk_min_{cat.key}{suffix}"] = w
            comp[f"covered_{cat.key}{suffix}"] = np.nan_to_num(w, nan=np.inf) <= cat.minutes
            covered_cols.append(f"covered_{cat.key}{suffix}")
        comp[f"n_categories_covered{suffix}"] = comp[covered_cols].sum(axis=1).astype(int)
        comp[f"all_covered{suffix}"] = comp[covered_cols].all(axis=1)
    # contract order: existing columns, then the _with_proposed ones
    base = ["id", "name", "unit", "population", "population_60plus"]
    ex = [f"{p}_{c.key}" for c in cats for p in ("walk_min", "covered")]
    order = base + ex + ["n_categories_covered", "all_covered"]
    order += [f"{c}_with_proposed" for c in order[len(base):]]
    comp = comp[order]
    return comp, geoms


def _write_isochrones(gpkg: Path, cats, *, with_proposed: bool) -> None:
    """One isochrone layer per category: buffers of walk_m / DETOUR around the facilities."""
    for cat in cats:
        rows, geoms_iso = [], []
        for scen, include_prop in (("existing", False), ("with_proposed", True)):
            pts = [Point(X0 + r[3], Y0 + r[4]) for r in FACILITIES if r[2] == cat.key]
            if include_prop and with_proposed:
                pts += [Point(X0 + r[3], Y0 + r[4]) for r in PROPOSED if r[2] == cat.key]
            radius = cat.walk_m / DETOUR
            geoms_iso.append(gpd.GeoSeries([p.buffer(radius) for p in pts]).union_all())
            rows.append({"category": cat.key, "scenario": scen})
        gpd.GeoDataFrame(rows, geometry=geoms_iso, crs=CRS).to_file(
            gpkg, layer=f"isochrones_{cat.key}", driver="GPKG")


def _write_sites(out: Path, gpkg: Path, comp: pd.DataFrame, config: AreaConfig, *,
                hostile: bool) -> None:
    """Candidates and selected sites layers, sites.csv and scenarios.csv."""
    cats = config.categories
    cand_rows = list(CANDIDATES)
    if hostile:
        cand_rows[1] = (cand_rows[1][0], XSS_SCRIPT, *cand_rows[1][2:])
    cand = gpd.GeoDataFrame(
        {
            "id": [r[0] for r in cand_rows],
            "name": [r[1] for r in cand_rows],
            "category": [r[2] for r in cand_rows],
            "source": ["file"] * len(cand_rows),
        },
        geometry=[Point(X0 + r[3], Y0 + r[4]) for r in cand_rows],
        crs=CRS,
    )
    ll = cand.to_crs(4326)
    cand.insert(3, "lon", ll.geometry.x.round(6))
    cand.insert(4, "lat", ll.geometry.y.round(6))
    cand.to_file(gpkg, layer="candidates", driver="GPKG")
    by_id = cand.set_index("id")
    srows = []
    for key, method, n_pick in (("elderly_station", "greedy", 1),
                                ("wet_market", "greedy", 2), ("wet_market", "optimal", 2)):
        srows += _greedy_rows(comp, config.category(key), cand_rows, by_id, method, n_pick)
    sites = pd.DataFrame(srows)
    sites.to_csv(out / "sites.csv", index=False, encoding="utf-8")
    sel = gpd.GeoDataFrame(
        sites[["rank", "candidate_id", "name", "category", "method", "gain_demand"]],
        geometry=[by_id.loc[k, "geometry"] for k in sites["candidate_id"]],
        crs=CRS,
    )
    sel.to_file(gpkg, layer="selected_sites", driver="GPKG")
    _scenarios(comp, cats, sites).to_csv(out / "scenarios.csv", index=False,
                                         encoding="utf-8")


def make_results(
    tmp_path: Path,
    config: AreaConfig,
    *,
    hostile: bool = False,
    with_proposed: bool = True,
    with_sites: bool = True,
) -> Path:
    """Write a results folder per the contract and return it.

    Parameters
    ----------
    tmp_path : Path
        Parent folder; results go to ``tmp_path / "out"``.
    config : AreaConfig
        Its categories define the ``walk_min_<key>`` columns (use :func:`make_config`).
    hostile : bool
        Put HTML/JS injection strings into compound, facility, unit and candidate names.
    with_proposed, with_sites : bool
        Leave out the proposed layer / the candidates, selected sites, sites.csv and
        scenarios.csv to test the "not computed" paths.
    """
    out = tmp_path / "out"
    out.mkdir(parents=True, exist_ok=True)
    gpkg = out / "coverage.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    cats = config.categories

    unit_names = [u[0] for u in UNITS]
    if hostile:
        unit_names[1] = XSS_IMG
    bnd = gpd.GeoDataFrame(
        {"name": unit_names},
        geometry=[box(X0 + dx, Y0, X0 + dx + 600, Y0 + 600) for _, dx in UNITS],
        crs=CRS,
    )

    fac_rows = list(FACILITIES)
    if hostile:
        fac_rows[0] = (fac_rows[0][0], XSS_SCRIPT, *fac_rows[0][2:])
        fac_rows[3] = (fac_rows[3][0], XSS_IMG, *fac_rows[3][2:])
    fac = _points(fac_rows, status="existing")
    prop = _points(PROPOSED, status="proposed")

    comp, geoms = _compounds(unit_names, cats, hostile=hostile)
    comp_gdf = gpd.GeoDataFrame(comp, geometry=geoms, crs=CRS)

    bnd.to_file(gpkg, layer="boundaries", driver="GPKG")
    comp_gdf.to_file(gpkg, layer="compounds", driver="GPKG")
    fac.to_file(gpkg, layer="facilities", driver="GPKG")
    # the contract always has the layer; without planned stations it is empty
    (prop if with_proposed else prop.iloc[:0]).to_file(gpkg, layer="proposed", driver="GPKG")
    _write_isochrones(gpkg, cats, with_proposed=with_proposed)

    csv = comp.copy()
    for c in csv.columns:
        if c.startswith("walk_min_"):
            csv[c] = csv[c].round(2)
    csv.to_csv(out / "compounds.csv", index=False, encoding="utf-8")
    _summary(comp, cats).to_csv(out / "summary.csv", index=False, encoding="utf-8")

    if with_sites:
        _write_sites(out, gpkg, comp, config, hostile=hostile)
    seal_run(out, config)  # a finished run's manifest, so read_results accepts the folder
    return out


def _greedy_rows(comp, cat, cand_rows, by_id, method: str, n_pick: int) -> list[dict]:
    """Greedy maximal-coverage picks among the candidates of one category (hand-checkable)."""
    dem = comp[cat.demand].to_numpy(float)
    covered = comp[f"covered_{cat.key}"].to_numpy(bool).copy()
    total = dem.sum()
    reach = {}
    for kid, _n, ckey, x, y in cand_rows:
        if ckey != cat.key:
            continue
        w = np.array([_walk_min(X0 + dx + 50, Y0 + dy + 40, [(X0 + x, Y0 + y)], cat.speed_m_s)
                      for cid, _nm, _u, dx, dy, *_ in COMPOUNDS])
        w[[cid in UNREACHABLE for cid, *_ in COMPOUNDS]] = np.inf
        reach[kid] = w <= cat.minutes
    rows = []
    for rank in range(1, n_pick + 1):
        gains = {k: float(dem[r & ~covered].sum()) for k, r in reach.items()}
        best = max(sorted(gains), key=lambda k: gains[k])
        covered |= reach.pop(best)
        r = by_id.loc[best]
        rows.append({
            "rank": rank, "candidate_id": best, "name": r["name"], "category": cat.key,
            "lon": r["lon"], "lat": r["lat"], "method": method, "gain_demand": gains[best],
            "cumulative_demand_covered": float(dem[covered].sum()),
            "cumulative_coverage_pct": round(100 * float(dem[covered].sum()) / total, 1),
        })
    return rows


def _summary(comp: pd.DataFrame, cats) -> pd.DataFrame:
    rows = []
    for scen, suffix in (("existing", ""), ("with_proposed", "_with_proposed")):
        for cat in cats:
            for unit, g in [*comp.groupby("unit", sort=False), ("ALL", comp)]:
                cov = g[f"covered_{cat.key}{suffix}"].astype(bool)
                dem = g[cat.demand]
                rows.append({
                    "unit": unit, "category": cat.key, "scenario": scen,
                    "compounds": len(g), "compounds_uncovered": int((~cov).sum()),
                    "population": int(dem.sum()), "population_covered": int(dem[cov].sum()),
                    "coverage_pct": round(100.0 * dem[cov].sum() / dem.sum(), 1),
                })
    return pd.DataFrame(rows)


def _scenarios(comp: pd.DataFrame, cats, sites: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for cat in cats:
        dem = comp[cat.demand]
        for scen, suffix in (("existing", ""), ("with_proposed", "_with_proposed")):
            cov = comp[f"covered_{cat.key}{suffix}"].astype(bool)
            rows.append({"category": cat.key, "scenario": scen, "sites_added": 0,
                         "demand_covered": int(dem[cov].sum()),
                         "coverage_pct": round(100.0 * dem[cov].sum() / dem.sum(), 1),
                         "compounds_uncovered": int((~cov).sum())})
        s = sites[(sites["category"] == cat.key) & (sites["method"] == "greedy")]
        if len(s):
            last = s.iloc[-1]
            rows.append({"category": cat.key, "scenario": "greedy", "sites_added": len(s),
                         "demand_covered": int(last["cumulative_demand_covered"]),
                         "coverage_pct": float(last["cumulative_coverage_pct"]),
                         "compounds_uncovered": 1})
    return pd.DataFrame(rows)
