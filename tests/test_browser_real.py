"""The map and report of the real pipeline (embedded Huitian sample) in a real browser."""

from __future__ import annotations

import time

import numpy as np
import pytest
from test_browser import _alerts, _js_errors, _open, driver  # noqa: F401 (fixture)

from coverage.maps import write_map
from coverage.pipeline import write_coverage
from coverage.planning import select_sites
from coverage.report import write_report

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def real_pages(sample_result, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real")
    out = tmp / "out"
    write_coverage(sample_result, out, select_sites(sample_result))
    cfg = sample_result.config
    return {
        "map": write_map(cfg, out, tmp / "huitian_coverage.html"),
        "map_en": write_map(cfg, out, tmp / "huitian_coverage_en.html", lang="en"),
        "report": out / "report.html",
        "written": write_report(cfg, out),
        "shots": tmp,
    }


def test_real_map_draws_every_compound_and_opens_a_popup(driver, real_pages,  # noqa: F811
                                                         sample_result):
    assert real_pages["map"].stat().st_size < 10 * 1024 * 1024
    _open(driver, real_pages["map"])
    comp = sample_result.compounds
    n_drawn = driver.execute_script(
        "return document.querySelectorAll('.leaflet-overlay-pane path.c15-compound').length")
    assert n_drawn == len(comp)
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".map(function (l) { return l.textContent.trim(); });")
    for cat in sample_result.config.categories:
        assert any(cat.label in lab for lab in labels), cat.label
    assert "最优方案" in labels and "规划站点" in labels
    # click the compound with the most residents; its popup shows its numbers
    row = comp.loc[comp["population"].idxmax()]
    # (hide the facility markers that may sit on top of it, then click the polygon itself)
    driver.execute_script("document.querySelector('.leaflet-marker-pane').style.display='none';")
    el = driver.execute_script(
        "var t = arguments[0], el = null; circle15Layers.compounds_all.eachLayer(function (l) {"
        " if (l.feature.properties.t === t) { el = l.getElement(); } }); return el;",
        row["name"])
    el.click()
    time.sleep(0.3)
    popup = driver.find_element("css selector", ".leaflet-popup-content").text
    assert row["name"] in popup and row["unit"] in popup
    assert f"{int(row['population']):,}" in popup or str(int(row["population"])) in popup
    key = "elderly_station"
    minutes = row[f"walk_min_{key}"]
    assert np.isfinite(minutes) and f"{minutes:.1f}" in popup
    driver.save_screenshot(str(real_pages["shots"] / "real_map_popup.png"))
    assert _js_errors(driver) == []
    assert _alerts(driver) == []


def test_real_english_map_and_report(driver, real_pages, sample_result):  # noqa: F811
    _open(driver, real_pages["map_en"])
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".map(function (l) { return l.textContent.trim(); });")
    assert any("Community elderly-care station" in lab for lab in labels)
    assert _js_errors(driver) == []
    _open(driver, real_pages["report"])
    rows = driver.find_elements("css selector", "table#uncovered tbody tr")
    uncovered = int((~sample_result.compounds["all_covered"]).sum())
    assert len(rows) == uncovered
    body = driver.find_element("css selector", "body").text
    best = select_sites(sample_result).sites
    opt = best[best["method"] == "optimal"]
    assert all(cid in body for cid in opt["candidate_id"])
    driver.save_screenshot(str(real_pages["shots"] / "real_report.png"))
    assert _js_errors(driver) == []
