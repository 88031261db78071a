"""coverage.sensitivity: coverage against minutes and speed from the run's own distances."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pyproj import Transformer

from coverage.config import load_config
from coverage.inputs import load_inputs
from coverage.pipeline import analyze
from coverage.results import results_of
from coverage.sensitivity import MINUTES_GRID, SPEED_GRID, sensitivity

CRS = "EPSG:32650"
X0, Y0 = 442_000.0, 4_435_000.0
# Compounds straddle one straight street at these distances (m) from the facility at x = 0.
COMPOUND_X = (250, 550, 850, 1150, 1450)
POPULATION = (100, 200, 300, 400, 500)


def _line_area(tmp_path):
    """A hand-checkable area: one 2 km street, a wet market at its west end, a planned one at
    x = 1000 m, and five compounds whose street frontage begins 250, 550, 850, 1150 and 1450 m
    along it (their walking distances)."""
    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)

    def ll(x, y):
        lon, lat = to_ll.transform(X0 + x, Y0 + y)
        return round(lon, 8), round(lat, 8)

    nodes = [ll(x, 0) for x in range(0, 2001, 100)]
    osm = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    osm += [f'<node id="{i + 1}" lat="{lat}" lon="{lon}" version="1"/>'
            for i, (lon, lat) in enumerate(nodes)]
    osm += ['<way id="1" version="1">', *[f'<nd ref="{i + 1}"/>' for i in range(len(nodes))],
            '<tag k="highway" v="residential"/>', "</way>", "</osm>"]
    (tmp_path / "streets.osm").write_text("\n".join(osm), encoding="utf-8")

    def polygon(x0, y0, x1, y1):
        return {"type": "Polygon", "coordinates": [[ll(x0, y0), ll(x1, y0), ll(x1, y1),
                                                    ll(x0, y1), ll(x0, y0)]]}

    unit = {"type": "Feature", "properties": {"name": "单元甲"},
            "geometry": polygon(-100, -300, 2100, 300)}
    (tmp_path / "units.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": [unit]}), encoding="utf-8")
    comps = [{"type": "Feature",
              "properties": {"id": f"C{i}", "name": f"小区{i}", "population": pop,
                             "population_60plus": pop // 5},
              "geometry": polygon(x, -10, x + 20, 10)}
             for i, (x, pop) in enumerate(zip(COMPOUND_X, POPULATION, strict=True), start=1)]
    (tmp_path / "compounds.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": comps}), encoding="utf-8")
    (tmp_path / "facilities.csv").write_text(
        "id,name,category,lon,lat\nF1,市场,wet_market,{},{}\n".format(*ll(0, 0)),
        encoding="utf-8")
    (tmp_path / "proposed.csv").write_text(
        "id,name,category,lon,lat\nP1,规划市场,wet_market,{},{}\n".format(*ll(1000, 0)),
        encoding="utf-8")
    (tmp_path / "area.toml").write_text(
        '[area]\nname = "线"\ncrs = "EPSG:32650"\nboundaries = "units.geojson"\n'
        'network = "streets.osm"\n\n[walk]\nspeed_m_s = 1.0\n\n'
        '[[category]]\nkey = "wet_market"\nlabel = "菜市场"\nminutes = 10\n\n'
        '[[facilities]]\npath = "facilities.csv"\n\n[[proposed]]\npath = "proposed.csv"\n\n'
        '[compounds]\npath = "compounds.geojson"\n', encoding="utf-8")
    cfg = load_config(tmp_path / "area.toml")
    return results_of(analyze(load_inputs(cfg), isochrones=False))


def _curve(table, scenario, varied):
    t = table[(table["scenario"] == scenario) & (table["varied"] == varied)]
    col = "minutes" if varied == "minutes" else "speed_m_s"
    return dict(zip(t[col].round(2), t["coverage_pct"], strict=True))


def test_hand_checkable_line(tmp_path):
    res = _line_area(tmp_path)
    walk = res.compounds["walk_min_wet_market"].to_numpy()
    np.testing.assert_allclose(walk * 60, COMPOUND_X, atol=0.05)  # the graph is what we think
    t = sensitivity(res)
    by_min = _curve(t, "existing", "minutes")
    # 5 min = 300 m: only the 100 people at 250 m; 10 min: + 200 at 550 m; ...
    assert by_min[5.0] == round(100 * 100 / 1500, 2)
    assert by_min[10.0] == 20.0
    assert by_min[15.0] == 40.0
    assert by_min[20.0] == round(100 * 1000 / 1500, 2)
    assert by_min[25.0] == by_min[30.0] == 100.0
    by_speed = _curve(t, "existing", "speed")
    assert by_speed[0.6] == round(100 * 100 / 1500, 2)  # 10 min at 0.6 m/s = 360 m
    assert by_speed[1.0] == 20.0
    assert by_speed[1.4] == 20.0  # 840 m: the compound at 850 m stays out
    # the planned market at 1000 m brings 850 -> 150, 1150 -> 150, 1450 -> 450 m
    assert _curve(t, "with_proposed", "minutes")[5.0] == round(100 * 800 / 1500, 2)
    assert _curve(t, "with_proposed", "speed")[0.6] == round(100 * 800 / 1500, 2)
    assert _curve(t, "with_proposed", "minutes")[10.0] == 100.0
    assert t["within_search"].all()


def test_config_point_equals_summary_and_curves_are_monotone(sample_result):
    res = results_of(sample_result)
    t = sensitivity(res)
    cats = res.config.categories
    assert set(t["category"]) == {c.key for c in cats}
    summary = res.summary[res.summary["unit"] == "ALL"].set_index(["category", "scenario"])
    at = t[t["at_config"]]
    assert len(at) == len(cats) * 2 * 2  # each category x scenario, once per curve
    for row in at.itertuples():
        assert row.coverage_pct == summary.loc[(row.category, row.scenario), "coverage_pct"]
        assert row.population_covered == summary.loc[(row.category, row.scenario),
                                                     "population_covered"]
    for (_, _, varied), g in t.groupby(["category", "scenario", "varied"]):
        x = g["minutes" if varied == "minutes" else "speed_m_s"].to_numpy()
        assert np.all(np.diff(x) > 0)
        assert np.all(np.diff(g["population_covered"].to_numpy()) >= 0)
    # planned stations never lower coverage at any point of any curve
    ex = t[t["scenario"] == "existing"].reset_index(drop=True)
    wp = t[t["scenario"] == "with_proposed"].reset_index(drop=True)
    assert (wp["population_covered"] >= ex["population_covered"]).all()
    n_min = {c.key: len(set(MINUTES_GRID) | {c.minutes}) for c in cats}
    n_spd = {c.key: len(set(SPEED_GRID) | {c.speed_m_s}) for c in cats}
    assert len(t) == 2 * sum(n_min[k] + n_spd[k] for k in n_min)


@pytest.mark.parametrize("max_walk_min", [12.0])
def test_points_beyond_the_search_are_flagged(sample_result, max_walk_min, caplog):
    import dataclasses

    res = results_of(sample_result)
    res = dataclasses.replace(res, config=dataclasses.replace(res.config,
                                                              max_walk_min=max_walk_min))
    t = sensitivity(res, minutes=(5, 20), speeds=(1.0,))
    beyond = t[~t["within_search"]]
    assert len(beyond) and (beyond["minutes"] > max_walk_min - 1e-9).all()
    assert "lower bound" in caplog.text


def test_from_the_results_folder_no_new_search_and_summary_exactly(sample_result, tmp_path,
                                                                   monkeypatch):
    """Read back from a run's folder (as `circle15 report` does), the curves come from the
    stored walking minutes alone (no shortest-path search runs), and the config's own point
    equals summary.csv's whole-area row to the last digit."""
    import pandas as pd
    import scipy.sparse.csgraph

    import coverage.reach
    from coverage.outputs import write_coverage
    from coverage.results import read_results

    out = tmp_path / "out"
    write_coverage(sample_result, out)
    res = read_results(out, sample_result.config)

    def no_search(*args, **kwargs):
        raise AssertionError("sensitivity ran a shortest-path search")

    monkeypatch.setattr(coverage.reach, "dijkstra", no_search)
    monkeypatch.setattr(scipy.sparse.csgraph, "dijkstra", no_search)
    t = sensitivity(res)
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    whole = summary[summary["unit"] == "ALL"].set_index(["category", "scenario"])
    at = t[t["at_config"]]
    assert len(at) == len(res.config.categories) * 2 * 2
    for row in at.itertuples():
        assert row.coverage_pct == whole.loc[(row.category, row.scenario), "coverage_pct"]
        assert row.population_covered == whole.loc[(row.category, row.scenario),
                                                   "population_covered"]
