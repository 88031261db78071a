"""The joint-plan stage on the embedded Huitian sample: the real engine, inputs and tables."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coverage import analyze, load_config, load_inputs
from coverage.config import PlanConfig
from coverage.errors import InputError
from coverage.jointplan.stage import plan_joint, planned_categories

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "huitian" / "area.toml"
KEYS = ("elderly_station", "elderly_centre", "psych_station")


@pytest.fixture(scope="module")
def result():
    return analyze(load_inputs(load_config(SAMPLE)), isochrones=False)


@pytest.fixture(scope="module")
def plan(result):
    return plan_joint(result)


def _without_capacities(result):
    """The sample with every capacity and floor-area minimum removed."""
    cfg = result.config
    cats = tuple(dataclasses.replace(c, capacity=None, min_floor_area_m2=0.0)
                 for c in cfg.categories)
    fac = result.facilities.assign(capacity=np.nan)
    return dataclasses.replace(result, config=dataclasses.replace(cfg, categories=cats),
                               facilities=fac)


def test_without_capacities_served_is_todays_coverage_exactly(result):
    bare = _without_capacities(result)
    out = plan_joint(bare)
    comp = result.compounds
    assert not out.capacitated
    for key in KEYS:
        cat = result.config.category(key)
        demand = comp[cat.demand].fillna(0).to_numpy(float)
        covered = comp[f"covered_{key}"].to_numpy(bool)
        base = out.joint.categories[key].base
        assert np.array_equal(base.covered, covered), key  # same engine, same rule
        assert np.array_equal(base.served, np.where(covered, demand, 0.0))
        # served.csv's existing rows equal summary.csv's existing coverage, unit by unit
        s = out.served[(out.served.category == key) & (out.served.scenario == "existing")]
        summ = result.summary[(result.summary.category == key)
                              & (result.summary.scenario == "existing")]
        merged = s.merge(summ, on="unit")
        assert len(merged) == len(summ)
        assert (merged["demand_served"].round() == merged["population_covered"]).all()
        assert (merged["demand_covered"] == merged["population_covered"]).all()
    # uncapacitated, each category's joint gain equals siting's exact MCLP when it does not
    # compete for spaces (the independent answer) and never exceeds it
    for key in KEYS:
        assert out.joint.categories[key].gain <= out.independent.categories[key].gain + 1e-6


def test_plan_respects_spaces_floor_areas_budgets_and_capacities(result, plan):
    cfg = result.config
    joint = plan.plan[plan.plan.method == "joint_plan"]
    assert not joint["space_id"].duplicated().any()  # one facility per space
    for key in KEYS:
        cat = cfg.category(key)
        rows = joint[joint.category == key]
        assert 0 < len(rows) <= cat.new_sites
        assert (rows["floor_area_m2"] >= cat.min_floor_area_m2).all()
        assert (rows["demand_served"] <= rows["capacity"] + 1e-6).all()
        assert rows["gain"].sum() == pytest.approx(plan.joint.categories[key].gain, abs=0.5)
    u = plan.utilisation
    capped = np.isfinite(u["capacity"])
    assert (u.loc[capped, "load"] <= u.loc[capped, "capacity"] + 0.05).all()
    assert (u["utilisation_pct"].dropna() <= 100.0 + 1e-6).all()
    # the flag means: more demand would come (nearest facility) than the facility can serve
    flagged = u["over_capacity"].to_numpy(bool)
    assert not (flagged & ~capped).any()
    assert (u.loc[flagged, "nearest_demand"] >= u.loc[flagged, "capacity"]).all()
    assert (u.loc[capped & ~flagged, "nearest_demand"] <= u.loc[capped & ~flagged, "capacity"]
            + 0.05).all()
    assert u[(u.scenario == "existing") & (u.kind == "existing")]["over_capacity"].any()


def test_loads_add_up_to_served_and_nearest_demand_to_covered(plan):
    for key in KEYS:
        for scenario in ("existing", "joint_plan"):
            u = plan.utilisation[(plan.utilisation.category == key)
                                 & (plan.utilisation.scenario == scenario)]
            s = plan.served[(plan.served.category == key) & (plan.served.scenario == scenario)
                            & (plan.served.unit == "ALL")].iloc[0]
            assert u["load"].sum() == pytest.approx(s["demand_served"], abs=0.1 * len(u))
            assert u["nearest_demand"].sum() == pytest.approx(s["demand_covered"],
                                                              abs=0.1 * len(u))


def test_capacity_makes_served_less_than_covered_and_the_plan_adds_to_both(plan):
    s = plan.served[plan.served.unit == "ALL"].set_index(["category", "scenario"])
    for key in KEYS:
        ex, jp = s.loc[(key, "existing")], s.loc[(key, "joint_plan")]
        assert ex["demand_served"] < ex["demand_covered"]
        assert jp["demand_served"] > ex["demand_served"]
        assert jp["demand_covered"] >= ex["demand_covered"]
        assert jp["demand_served"] + jp["demand_unserved"] == pytest.approx(jp["demand"])


def test_independent_answers_and_double_booking_are_reported(plan):
    assert plan.joint.status == "optimal" and plan.independent.status == "optimal"
    assert plan.gap >= -1e-6
    booked = plan.double_booked()
    ind = plan.plan[plan.plan.method == "independent_plan"]
    flagged = set(ind.loc[ind["double_booked"], "space_id"])
    assert flagged == set(booked)
    for space, keys in booked.items():
        assert len(keys) >= 2
        assert set(ind.loc[ind.space_id == space, "category"]) == set(keys)


def test_scenario_rows(plan):
    sc = plan.scenarios.set_index(["category", "scenario"])
    for key in KEYS:
        jp = sc.loc[(key, "joint_plan")]
        n = int((plan.plan.method == "joint_plan").mul(plan.plan.category == key).sum())
        assert jp["sites_added"] == n
        assert jp["demand_served"] == pytest.approx(
            plan.served.set_index(["category", "scenario", "unit"])
            .loc[(key, "joint_plan", "ALL"), "demand_served"], abs=0.1)


def test_only_known_spaces_host_categories_with_a_minimum(plan):
    sp = plan.spaces
    unknown = sp["floor_area_m2"].isna()
    assert unknown.any()
    for key in KEYS:
        assert not sp.loc[unknown, f"eligible_{key}"].any()


def test_planned_categories_errors(result):
    cfg = result.config
    with pytest.raises(InputError, match="unknown category"):
        planned_categories(cfg, ["nope"])
    with pytest.raises(InputError, match="new_sites"):
        planned_categories(cfg, ["wet_market"])
    assert [c.key for c in planned_categories(cfg)] == list(KEYS)


def test_given_proposed_counts_the_planned_stations_as_existing(result, plan):
    out = plan_joint(result, PlanConfig(categories=KEYS, given_proposed=True))
    u = out.utilisation
    assert (u.kind == "proposed").any()
    for key in KEYS:
        assert (out.joint.categories[key].base.served_total
                >= plan.joint.categories[key].base.served_total)
    pd.testing.assert_frame_equal(plan.served, plan_joint(result).served)  # deterministic


def test_map_draws_the_plan_and_the_double_booked_spaces(result, plan, tmp_path):
    import json
    import re

    from coverage.maps import write_map
    from coverage.results import results_of

    page = write_map(results_of(result, None, plan), tmp_path / "map.html", lang="en")
    html = page.read_text(encoding="utf-8")
    blobs = {m.group(1): json.loads(m.group(2)) for m in re.finditer(
        r"^var circle15_data_([A-Za-z0-9_]+) = (.*);$", html, re.M)}
    joint = blobs["plan_joint"]["features"]
    assert len(joint) == len(plan.plan[plan.plan.method == "joint_plan"]) == 10
    first = joint[0]["properties"]
    rows = dict(first["rows"])
    assert rows["Space id"].startswith("CAND-") and rows["Floor area"].endswith(" m²")
    assert first["text"] == "1"
    conflicts = blobs["plan_conflicts"]["features"]
    assert [dict(f["properties"]["rows"])["Space id"] for f in conflicts] == list(
        plan.double_booked())
    assert "Joint plan: which space becomes what" in html


def test_report_compares_the_joint_plan_with_each_category_alone(result, plan, tmp_path):
    from openpyxl import load_workbook

    from coverage.report import write_report
    from coverage.report.tables import build_tables
    from coverage.results import results_of

    res = results_of(result, None, plan)
    t = build_tables(res, lang="en")
    assert t.plan is not None
    summary = t.plan.summary.set_index("Category")
    assert summary["New facilities"].tolist() == [6, 2, 2]
    assert t.plan.conflicts is not None
    assert t.plan.conflicts["Space id"].tolist() == list(plan.double_booked())
    assert len(t.plan.spaces) == 10
    assert t.plan.gap == pytest.approx(max(plan.gap, 0.0), abs=1.0)
    paths = write_report(res, tmp_path, lang="en")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="plan"' in page and "Joint plan: which space becomes what" in page
    assert "CAND-054" in page
    wb = load_workbook(next(p for p in paths if p.suffix == ".xlsx"))
    assert {"Joint plan", "Joint plan spaces"} <= set(wb.sheetnames)


def test_qgis_project_has_the_plan_layer(result, plan, tmp_path):
    import json
    import os
    import sqlite3
    import subprocess
    import zipfile

    from coverage.outputs import write_coverage
    from coverage.qgis import write_qgis
    from coverage.results import read_results

    out = tmp_path / "out"
    write_coverage(result, out, plan=plan)
    res = read_results(out, result.config)
    assert res.plan is not None and len(res.plan.joint_sites) == 10
    write_qgis(res, out)
    con = sqlite3.connect(out / "coverage.gpkg")
    styled = {r[0] for r in con.execute("SELECT f_table_name FROM layer_styles")}
    con.close()
    assert "plan_sites" in styled
    with zipfile.ZipFile(out / "coverage.qgz") as z:
        assert "./coverage.gpkg|layername=plan_sites" in z.read("coverage.qgs").decode()
    system = "/usr/bin/python3"
    probe = subprocess.run([system, "-c", "import qgis.core"], capture_output=True, timeout=120)
    if probe.returncode != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("python3-qgis missing in CI: `make system-deps` must install it")
        pytest.skip("QGIS (Debian python3-qgis) not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["QT_QPA_PLATFORM"] = "offscreen"
    check = Path(__file__).with_name("qgis_check.py")
    proc = subprocess.run([system, str(check), str(out), str(tmp_path / "q.png")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    layer = seen["layers"]["circle15_plan_joint"]
    assert layer["valid"] and layer["features"] == 10 and layer["labels"]
    assert layer["rules"] == 3 and layer["renderer"] == "RuleRenderer"


def test_over_capacity_flags_facilities_with_more_nearby_demand_than_capacity(plan):
    """utilisation.csv: no facility serves beyond its capacity (load <= capacity), the
    utilisation is load / capacity, and a facility is flagged over capacity when the demand
    whose nearest facility it is exceeds its capacity; the sample's existing elderly-care
    stations include such overloaded ones (the console line of `circle15 run`)."""
    u = plan.utilisation
    cap = u["capacity"].astype(float)
    known = cap.notna()
    assert known.any()
    assert (u.loc[known, "load"] <= cap[known] + 0.05).all()
    off = (u.loc[known, "utilisation_pct"] - 100 * u.loc[known, "load"] / cap[known]).abs()
    assert (off <= 0.01 + 5 / cap[known]).all()  # load shown to 0.1, percentage to 0.01
    clear = known & ((u["nearest_demand"] - cap).abs() > 0.1)  # away from rounding
    want = u.loc[clear, "nearest_demand"] > cap[clear]
    assert (u.loc[clear, "over_capacity"] == want).all()
    assert not u.loc[~known, "over_capacity"].any()  # unlimited: never over
    existing = u[(u["scenario"] == "existing") & (u["category"] == "elderly_station")]
    assert existing["over_capacity"].sum() > 0
