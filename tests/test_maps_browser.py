"""The maps in a real browser (Debian chromium + chromedriver via selenium; see _browser.py).

The test machine has no internet, so every page here is also the offline case: basemap tiles
fail and everything else must draw. Screenshots of the default views go to the module's tmp
folder (``pytest -s`` prints where); look at them after a visual change.
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import pytest
from _browser import alerts, js_errors, open_page, viewport
from _results_fixture import XSS_IMG, XSS_SCRIPT, make_config, make_results
from shapely.geometry import box

from coverage import style
from coverage.maps import build_overview_map, write_map
from coverage.results import read_results, results_of

pytestmark = pytest.mark.browser

SHOTS_ENV = "CIRCLE15_SHOTS"  # set to a folder to keep the screenshots there too


@pytest.fixture(scope="module")
def driver(driver):
    """conftest's chromium at a planner's laptop's viewport."""
    viewport(driver, 1366, 768)
    return driver


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    import os

    keep = os.environ.get(SHOTS_ENV)
    folder = Path(keep) if keep else tmp_path_factory.mktemp("map_shots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"map screenshots in {folder}")
    return folder


@pytest.fixture(scope="module")
def fixture_map(tmp_path_factory):
    """The map of the hand-checkable fixture, whose names carry injection attempts."""
    tmp = tmp_path_factory.mktemp("fixture_map")
    cfg = make_config(tmp)
    res = read_results(make_results(tmp, cfg, hostile=True), cfg)
    return res, write_map(res, tmp / "map.html")


@pytest.fixture(scope="module")
def sample_maps(sample_result, tmp_path_factory):
    """Maps (zh, en) of the real coverage and siting results of the embedded sample."""
    from coverage.planning import select_sites

    tmp = tmp_path_factory.mktemp("sample_map")
    res = results_of(sample_result, select_sites(sample_result))
    return res, write_map(res, tmp / "huitian.html"), write_map(res, tmp / "huitian_en.html",
                                                                  lang="en")


def _fills(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-overlay-pane path.c15-compound'))"
        ".map(function (p) { return p.getAttribute('fill'); });")


def _legend(driver) -> list[dict]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.c15-legend-row')).map(function (r) {"
        " return {shape: r.dataset.shape, colour: r.dataset.colour, layer: r.dataset.layer,"
        " text: r.textContent}; });")


def _click_radio(driver, name: str, value: str) -> None:
    driver.find_element("css selector", f'input[name="{name}"][value="{value}"]').click()
    time.sleep(0.15)


def _expected_fills(res, mode: str, scenario: str = "") -> list[str]:
    comp, cats = res.compounds, res.config.categories
    suffix = "_with_proposed" if scenario == "with_proposed" else ""
    out = []
    for _, r in comp.iterrows():
        if mode == "all":
            missing = sum(not bool(r[f"covered_{c.key}{suffix}"]) for c in cats)
            out.append(style.ALL_CATEGORIES_CLASSES[style.missing_class(missing, len(cats))][1])
        else:
            out.append(style.COVERED_COLOUR if bool(r[f"covered_{mode}{suffix}"])
                       else style.UNCOVERED_COLOUR)
    return out


def test_one_colouring_at_a_time(driver, fixture_map):
    res, path = fixture_map
    open_page(driver, path)
    n = len(res.compounds)
    assert sorted(_fills(driver)) == sorted(_expected_fills(res, "all"))
    for cat in res.config.categories:
        _click_radio(driver, "c15-colour", cat.key)
        fills = _fills(driver)
        assert len(fills) == n  # restyled, never a second fill on top
        assert sorted(fills) == sorted(_expected_fills(res, cat.key))
        assert driver.execute_script(
            "return document.querySelectorAll('input[name=\"c15-colour\"]:checked').length") == 1
        # the legend explains exactly the colours drawn, with their counts
        rows = [r for r in _legend(driver) if r["layer"] == "compounds"]
        assert {r["colour"] for r in rows} == set(fills)
        assert sum(int(r["text"].rsplit("(", 1)[1].rstrip(")")) for r in rows) == n
    # the scenario switch recolours the same polygons (C06 gains its elderly station)
    _click_radio(driver, "c15-colour", "elderly_station")
    before = _fills(driver)
    _click_radio(driver, "c15-scenario", "with_proposed")
    after = _fills(driver)
    assert len(after) == n
    assert sorted(after) == sorted(_expected_fills(res, "elderly_station", "with_proposed"))
    assert after.count(style.COVERED_COLOUR) == before.count(style.COVERED_COLOUR) + 1
    assert "含规划站点" in driver.find_element("css selector", ".c15-title").text
    _click_radio(driver, "c15-colour", "all")
    assert sorted(_fills(driver)) == sorted(_expected_fills(res, "all", "with_proposed"))
    assert js_errors(driver) == [] and alerts(driver) == []


def test_panel_groups_popup_and_names_as_text(driver, fixture_map, shots):
    res, path = fixture_map
    open_page(driver, path)
    titles = driver.execute_script(
        "return Array.from(document.querySelectorAll('.c15-group-title'))"
        ".map(function (h) { return h.textContent; });")
    assert titles == ["小区着色与各类别", "情景", "选址", "参考图层", "底图"]
    rows = driver.execute_script(
        "return Array.from(document.querySelectorAll('table.c15-cats tbody tr'))"
        ".map(function (r) { return r.textContent.trim(); });")
    assert rows == ["全部类别（缺几类）", "养老驿站", "社区卫生服务站", "菜市场"]
    # a real click on a compound opens its popup (walking minutes per category)
    el = driver.execute_script(
        "var el = null; circle15Layers.compounds.eachLayer(function (l) {"
        " if (l.feature.properties.n === '新龙城') { el = l.getElement(); } }); return el;")
    el.click()
    time.sleep(0.3)
    popup = driver.find_element("css selector", ".leaflet-popup-content").text
    assert "新龙城" in popup and "回龙观" in popup and "800" in popup and "150" in popup
    assert "养老驿站" in popup and "≤ 10" in popup
    minutes = res.compounds.set_index("name").loc["新龙城", "walk_min_elderly_station"]
    assert f"{minutes:.1f}" in popup
    # names from data are text: the hostile compound, facility and unit names
    driver.execute_script(
        "circle15Layers.compounds.eachLayer(function (l) {"
        " if (l.feature.properties.n.indexOf('script') >= 0) { l.openPopup(); } });")
    time.sleep(0.2)
    assert XSS_SCRIPT in driver.find_element("css selector", ".leaflet-popup-content").text
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.c15-label'))"
        ".map(function (e) { return e.textContent; });")
    assert XSS_IMG in labels
    texts = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "var g = circle15Layers.facilities_elderly_station, ms = g.getLayers();"
        "var m = ms.find(function (x) {"
        " return x.getPopup().getContent().indexOf('script') >= 0; });"
        "g.zoomToShowLayer(m, function () { m.openPopup(); setTimeout(function () {"
        " done(document.querySelector('.leaflet-popup-content').innerText); }, 200); });")
    assert XSS_SCRIPT in texts
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert not driver.execute_script(
        "return Array.from(document.scripts).some(function (s) {"
        " return s.textContent.trim() === 'alert(1)'; });")
    assert "OpenStreetMap" in driver.find_element(
        "css selector", ".leaflet-control-attribution").text
    assert driver.find_elements("css selector", ".leaflet-control-scale-line")
    driver.save_screenshot(str(shots / "fixture_hostile.png"))
    assert js_errors(driver) == [] and alerts(driver) == []


_DRAWN = {  # legend shape -> how the map draws it (JS, with the entry's colour as `c`)
    "fill": "Array.from(document.querySelectorAll('.leaflet-pane path')).some(function (p) {"
            " return p.getAttribute('fill') === c; })",
    "hatch": "Array.from(document.querySelectorAll('path.c15-isochrones')).some("
             "function (p) { return p.getAttribute('stroke') === c && p.getAttribute('fill')"
             ".indexOf('url(#c15-hatch-') === 0; })",
    "outline": "Array.from(document.querySelectorAll('path.c15-boundaries')).some("
               "function (p) { return p.getAttribute('stroke') === c; })",
    "line": "document.querySelectorAll('path.c15-streets').length > 0",
}


def _drawn(driver, shape: str, colour: str) -> bool:
    test = _DRAWN.get(shape, (
        "Array.from(document.querySelectorAll('.leaflet-marker-pane .c15-sym-' + s))"
        ".some(function (e) { return e.style.getPropertyValue('--c').trim() === c; })"))
    return driver.execute_script(f"var c = arguments[0], s = arguments[1]; return {test};",
                                 colour, shape)


def test_every_legend_entry_is_drawn_and_the_legend_spares_the_data(driver, sample_maps,
                                                                    shots):
    res, path, _ = sample_maps
    open_page(driver, path)
    time.sleep(0.5)  # cluster animation
    rows = _legend(driver)
    shapes = {r["shape"] for r in rows}
    assert {"fill", "line", "outline", "dot", "cluster", "diamond", "pin", "star"} <= shapes
    for r in rows:
        assert _drawn(driver, r["shape"], r["colour"]), r
    # the legend and the layer panel do not cover the compounds at 1366 x 768
    legend = driver.execute_script(
        "var r = document.querySelector('.c15-legend').getBoundingClientRect();"
        "return [r.left, r.top, r.right, r.bottom];")
    data = driver.execute_script(
        "var map = circle15Page.map, b = circle15Layers.compounds.getBounds();"
        "var box = map.getContainer().getBoundingClientRect();"
        "var nw = map.latLngToContainerPoint(b.getNorthWest()),"
        " se = map.latLngToContainerPoint(b.getSouthEast());"
        "return [box.left + nw.x, box.top + nw.y, box.left + se.x, box.top + se.y];")
    panel = driver.execute_script(
        "return document.querySelector('.c15-panel').getBoundingClientRect().right;")
    assert legend[0] >= data[2] or legend[1] >= data[3], (legend, data)
    assert data[0] >= panel and data[1] >= 0 and data[3] <= 768 and data[2] <= 1366
    # and the legend folds away
    driver.find_element("css selector", ".c15-legend-toggle").click()
    assert not driver.find_element("css selector", ".c15-legend-body").is_displayed()
    driver.find_element("css selector", ".c15-legend-toggle").click()
    # title bar: area and scenario
    assert driver.find_element("css selector", ".c15-title").text.startswith("回天地区 · 现状")
    driver.save_screenshot(str(shots / "huitian_default.png"))
    # switching a walk area on adds its legend entry and its filled polygons
    key = res.config.categories[0].key
    driver.find_element("css selector", f'input[data-layer="isochrones_{key}"]').click()
    time.sleep(0.2)
    iso = [r for r in _legend(driver) if r["layer"] == f"isochrones_{key}"]
    assert iso and iso[0]["shape"] == "hatch" and _drawn(driver, "hatch", iso[0]["colour"])
    assert driver.execute_script(
        "return document.querySelectorAll('path.c15-isochrones').length") >= 1
    driver.save_screenshot(str(shots / "huitian_walk_area.png"))
    assert js_errors(driver) == [] and alerts(driver) == []


def test_ranked_sites_are_on_top_and_clickable(driver, sample_maps):
    res, path, _ = sample_maps
    open_page(driver, path)
    # at the default zoom, the middle of every ranked site's pin is that site (or another site
    # symbol stacked on it), never a label or a compound
    hits = driver.execute_script(
        "var out = [];"
        "circle15Layers.sites_greedy.eachLayer(function (m) {"
        " var r = m.getElement().querySelector('.c15-sym').getBoundingClientRect();"
        " var at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
        " var icon = at && at.closest('.leaflet-marker-icon');"
        " out.push([m.feature.properties.title, !!icon && !!icon.querySelector("
        "  '.c15-sym-pin, .c15-sym-star'), icon === m.getElement(),"
        "  !!(at && at.closest('.c15-label'))]); });"
        "return out;")
    assert len(hits) == int((res.selected_sites["method"] == "greedy").sum())
    assert all(site and not label for _, site, _, label in hits), hits
    mine = [h for h in hits if h[2]]
    assert mine, "no ranked site is the topmost symbol at its own position"
    name = mine[0][0]
    el = driver.execute_script(
        "var n = arguments[0], el = null; circle15Layers.sites_greedy.eachLayer(function (m) {"
        " if (m.feature.properties.title === n) { el = m.getElement(); } }); return el;", name)
    el.click()
    time.sleep(0.3)
    popup = driver.find_element("css selector", ".leaflet-popup-content").text
    assert name in popup and "排名" in popup
    assert js_errors(driver) == []


def test_streets_drawn_without_basemap(driver, sample_maps, shots):
    res, path, _ = sample_maps
    open_page(driver, path)
    n = driver.execute_script("return document.querySelectorAll('path.c15-streets').length")
    assert n == len(res.streets) > 100
    # offline (as here) the page says so once the tiles have failed
    for _ in range(50):
        if driver.find_element("css selector", ".c15-notice").text:
            break
        time.sleep(0.2)
    assert "底图无法加载" in driver.find_element("css selector", ".c15-notice").text
    _click_radio(driver, "c15-basemap", "none")
    assert not driver.find_elements("css selector", ".leaflet-tile-pane img")
    assert driver.execute_script(
        "return document.querySelectorAll('path.c15-streets').length") == n
    driver.save_screenshot(str(shots / "huitian_no_basemap.png"))
    assert js_errors(driver) == []


def test_english_map(driver, sample_maps, shots):
    import re

    res, _, path = sample_maps
    open_page(driver, path)
    text = driver.execute_script(
        "return document.querySelector('.c15-panel').innerText + "
        "document.querySelector('.c15-legend').innerText + "
        "document.querySelector('.c15-titlebar').innerText;")
    for cat in res.config.categories:
        assert cat.label_en in text
    assert "Compounds: All categories" in text and "Ranked sites" in text
    assert not re.search(r"[\u4e00-\u9fff]", text.replace(res.config.name, "")), text
    driver.save_screenshot(str(shots / "huitian_en.png"))
    assert js_errors(driver) == []


def test_batch_overview_map(driver, tmp_path, shots):
    units = gpd.GeoDataFrame(
        {"area": ["甲区", "甲区", "乙区", "乙区"],
         "unit": ["回龙观街道", "龙泽园街道", "霍营街道", "史各庄街道"],
         "coverage_pct_elderly_station": [12.5, 55.0, None, 97.0],
         "coverage_pct_wet_market": [90.0, 100.0, 40.0, 30.0]},
        geometry=[box(116.30 + 0.03 * i, 40.00, 116.33 + 0.03 * i, 40.03) for i in range(4)],
        crs=4326)
    path = tmp_path / "batch_map.html"
    path.write_text(build_overview_map(units, title="回天", labels={
        "elderly_station": "养老驿站", "wet_market": "菜市场"}).render(), encoding="utf-8")
    open_page(driver, path)
    # legend: one swatch per class, plus "no data"; Chinese by default
    rows = _legend(driver)
    assert [r["shape"] for r in rows] == ["fill"] * (len(style.OVERVIEW_CLASSES) + 1)
    assert [r["colour"] for r in rows] == [c for _, c in style.OVERVIEW_CLASSES] + [
        style.NO_DATA_COLOUR]
    assert "人口加权覆盖率" in driver.find_element("css selector", ".c15-legend").text
    assert driver.find_element("css selector", ".c15-title").text.startswith("回天：各单元覆盖率")
    radios = driver.execute_script(
        "return Array.from(document.querySelectorAll('input[name=\"c15-colour\"]'))"
        ".map(function (r) { return r.parentNode.textContent.trim(); });")
    assert radios == ["各类别平均", "养老驿站", "菜市场"]
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.c15-label')).filter(function (e) {"
        " return e.style.visibility !== 'hidden'; }).map(function (e) { return e.textContent; });")
    assert sorted(labels) == sorted(units["unit"])
    _click_radio(driver, "c15-colour", "elderly_station")
    fills = driver.execute_script(
        "return Array.from(document.querySelectorAll('path.c15-unit'))"
        ".map(function (p) { return p.getAttribute('fill'); });")
    assert fills == [style.OVERVIEW_CLASSES[0][1], style.OVERVIEW_CLASSES[1][1],
                     style.NO_DATA_COLOUR, style.OVERVIEW_CLASSES[5][1]]
    assert "养老驿站" in driver.find_element("css selector", ".c15-title").text
    driver.execute_script("circle15Layers.units.eachLayer(function (g) {"
                          " if (g.eachLayer) { g.eachLayer(function (l) {"
                          "  if (l.feature && l.feature.properties.n === '霍营街道') {"
                          "   l.openPopup(); } }); } });")
    time.sleep(0.2)
    popup = driver.find_element("css selector", ".leaflet-popup-content").text
    assert "乙区 / 霍营街道" in popup and "养老驿站" in popup and "–" in popup
    assert "菜市场" in popup and "40.0%" in popup
    driver.save_screenshot(str(shots / "batch_overview.png"))
    assert js_errors(driver) == [] and alerts(driver) == []


def test_100000_facilities_open_and_add_up(driver, tmp_path, shots):
    """The 100,000-facility page opens, draws counts in cells, and the counts add up."""
    from _synthetic_results import synthetic_results

    res = synthetic_results(tmp_path, 500, 100_000, iso=False)
    path = write_map(res, tmp_path / "big.html")
    open_page(driver, path)
    time.sleep(1.0)  # clusters are built in chunks
    key = res.config.categories[0].key  # nothing is sited: the first category is on
    want = int((res.facilities["category"] == key).sum())
    shown = driver.execute_script(
        "var n = 0; document.querySelectorAll('.leaflet-marker-pane .c15-sym').forEach("
        "function (e) { n += Number(e.textContent) || 1; }); return n;")
    assert shown == want
    assert driver.find_elements("css selector", ".leaflet-marker-pane .c15-sym-cell, "
                                                ".leaflet-marker-pane .c15-sym-cluster")
    assert any(r["shape"] == "cell" and f"{want:,}" in r["text"] for r in _legend(driver))
    driver.save_screenshot(str(shots / "facilities_100000.png"))
    assert js_errors(driver) == []
