"""The map and the report in a real browser (Debian chromium + chromedriver via selenium).

Skipped only when CI is unset and the browser is absent; with CI set, a missing browser or
selenium is a failure (run ``make system-deps`` and install the test extras).
Screenshots go to the module's tmp folder (printed in the test names' output).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest
from _results_fixture import XSS_IMG, XSS_SCRIPT, make_config, make_results

from coverage.maps import write_map
from coverage.report import write_report
from coverage.results import read_results

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--window-size=1280,900")
# Counts calls to alert() instead of blocking on a dialog; set before any page script runs.
ALERT_TRAP = "window.__alerts = []; window.alert = function (m) { window.__alerts.push(m); };"


def _need(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {what} is missing: run `make system-deps` "
                    "(chromium, chromium-driver) and install the test extras (selenium)")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="module")
def driver():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _need("selenium")
    binary = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    drv = CHROMEDRIVER if Path(CHROMEDRIVER).exists() else shutil.which("chromedriver")
    if not binary or not drv:
        _need("chromium/chromedriver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for a in ARGS:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(drv), options=opts)
    d.set_page_load_timeout(60)
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ALERT_TRAP})
    yield d
    d.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """A map and a report (zh) from a results folder whose names carry injection attempts."""
    tmp = tmp_path_factory.mktemp("browser")
    cfg = make_config(tmp)
    out = make_results(tmp, cfg, hostile=True)
    map_path = write_map(cfg, out, tmp / "maps" / "test_coverage.html")
    write_report(read_results(out, cfg), out)
    return {"map": map_path, "report": out / "report.html", "shots": tmp}


def _open(driver, path: Path) -> None:
    driver.get(path.as_uri())
    driver.get_log("browser")  # drop entries of the previous page
    driver.get(path.as_uri())
    for _ in range(50):
        if driver.execute_script("return document.readyState") == "complete":
            break
        time.sleep(0.1)


def _js_errors(driver) -> list[dict]:
    """Browser log entries that are script errors (basemap tiles failing offline are not)."""
    return [e for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and e.get("source") != "network"]


def _alerts(driver) -> list:
    return driver.execute_script("return window.__alerts")


def test_map_layers_features_and_popup(driver, pages):
    _open(driver, pages["map"])
    assert driver.execute_script("return typeof L") == "object"  # inlined Leaflet loaded
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".map(function (l) { return l.textContent.trim(); });")
    assert labels == [
        "全部类别", "全部类别（含规划站点）", "小区覆盖：养老驿站", "小区覆盖：社区卫生服务站",
        "小区覆盖：菜市场", "街道/地区边界", "现有设施：养老驿站", "现有设施：社区卫生服务站",
        "现有设施：菜市场", "规划站点", "15 分钟步行范围：养老驿站",
        "15 分钟步行范围：社区卫生服务站", "10 分钟步行范围：菜市场", "候选站点",
        "推荐站点（按增益排序）", "最优方案",
    ]
    # only the all-categories compound layer is on: 10 compound polygons drawn as SVG paths
    assert driver.execute_script(
        "return document.querySelectorAll('.leaflet-overlay-pane path.c15-compound').length"
    ) == 10
    assert driver.execute_script(
        "return circle15Layers.compounds_all.getLayers().length") == 10
    # colours: 5 compounds all covered, 4 partly (C03-C06), 1 (清河营, unreachable) none
    fills = driver.execute_script(
        "return Array.from(document.querySelectorAll('path.c15-compound'))"
        ".map(function (p) { return p.getAttribute('fill'); });")
    assert (fills.count("#2e9e44"), fills.count("#f0a020"), fills.count("#d7301f")) == (5, 4, 1)
    # isochrones off by default; switching one on draws its polygons
    assert driver.execute_script("return document.querySelectorAll('path.c15-iso').length") == 0
    driver.execute_script("map = Object.values(window).find(function (v) {"
                          " return v instanceof L.Map; });"
                          "map.addLayer(circle15Layers.isochrones_wet_market);")
    assert driver.execute_script("return document.querySelectorAll('path.c15-iso').length") == 2
    driver.execute_script("map.removeLayer(circle15Layers.isochrones_wet_market);")
    # a real click on a compound opens its popup
    el = driver.execute_script(
        "var el = null; circle15Layers.compounds_all.eachLayer(function (l) {"
        " if (l.feature.properties.t === '新龙城') { el = l.getElement(); } }); return el;")
    el.click()
    time.sleep(0.3)
    popup = driver.find_element("css selector", ".leaflet-popup-content").text
    assert "新龙城" in popup and "回龙观" in popup and "800" in popup and "150" in popup
    assert "养老驿站" in popup and "5.9" in popup and "≤ 10" in popup
    assert "OpenStreetMap" in driver.find_element(
        "css selector", ".leaflet-control-attribution").text
    assert driver.find_elements("css selector", ".leaflet-control-scale-line")
    assert driver.find_elements("css selector", ".leaflet-control-zoom-fullscreen")
    assert "养老驿站" in driver.find_element("css selector", ".c15-legend").text
    driver.save_screenshot(str(pages["shots"] / "map_popup.png"))
    assert _js_errors(driver) == []
    assert _alerts(driver) == []


def test_map_injected_names_show_as_text(driver, pages):
    _open(driver, pages["map"])
    # compound popup + tooltip
    driver.execute_script(
        "circle15Layers.compounds_all.eachLayer(function (l) {"
        " if (l.feature.properties.t.indexOf('script') >= 0) { l.openPopup(); } });")
    time.sleep(0.2)
    assert XSS_SCRIPT in driver.find_element("css selector", ".leaflet-popup-content").text
    # facility popups (clustered markers): open the hostile ones
    texts = driver.execute_async_script(
        "var done = arguments[arguments.length - 1], out = [];"
        "var g = circle15Layers.facilities_elderly_station, ms = g.getLayers();"
        "var m = ms.find(function (x) {"
        " return x.getPopup().getContent().indexOf('script') >= 0; });"
        "g.zoomToShowLayer(m, function () { m.openPopup();"
        " setTimeout(function () { out.push(document.querySelector('.leaflet-popup-content')"
        ".innerText); done(out); }, 200); });")
    assert XSS_SCRIPT in texts[0]
    # the hostile unit name is a permanent label; the hostile facility a tooltip
    unit_labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.c15-unit-label'))"
        ".map(function (e) { return e.textContent; });")
    assert XSS_IMG in unit_labels
    # nothing injected became an element, nothing ran
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert not driver.execute_script(
        "return Array.from(document.scripts).some(function (s) {"
        " return s.textContent.trim() === 'alert(1)'; });")
    driver.save_screenshot(str(pages["shots"] / "map_hostile.png"))
    assert _alerts(driver) == []
    assert _js_errors(driver) == []


def test_report_renders_sorts_and_escapes(driver, pages):
    _open(driver, pages["report"])
    assert driver.find_element("css selector", "h1").text.startswith("回天地区（测试）")
    imgs = driver.execute_script(
        "return Array.from(document.images).map(function (i) {"
        " return [i.complete, i.naturalWidth]; });")
    assert len(imgs) == 2 and all(ok and w > 200 for ok, w in imgs)  # inline PNG charts load
    table = driver.find_element("css selector", "table#uncovered")
    names = [r.text.split("\n")[0] for r in table.find_elements("css selector", "tbody tr")]
    assert XSS_SCRIPT in " ".join(names)  # shown as text
    # sort by population (3rd column) ascending, then descending
    header = table.find_elements("css selector", "th")[2]
    header.click()

    def pops():
        return [int(td.get_attribute("data-v")) for td in
                table.find_elements("css selector", "tbody tr td:nth-child(3)")]

    assert pops() == sorted(pops()) and pops()[0] == 400  # 清河营
    header.click()
    assert pops() == sorted(pops(), reverse=True)
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    h = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, min(h + 50, 8000))
    driver.save_screenshot(str(pages["shots"] / "report.png"))
    driver.set_window_size(1280, 900)
    assert _alerts(driver) == []
    assert _js_errors(driver) == []


# --- the real pipeline on the embedded Huitian sample ------------------------------------------

@pytest.fixture(scope="module")
def real_pages(sample_result, tmp_path_factory):
    """Map (zh, en) and report (en) of the real coverage and siting results of the sample."""
    from coverage.outputs import write_coverage
    from coverage.planning import select_sites

    tmp = tmp_path_factory.mktemp("real")
    out = tmp / "out"
    write_coverage(sample_result, out, select_sites(sample_result))
    cfg = sample_result.config
    pages = {"out": out, "shots": tmp,
             "map": write_map(cfg, out, tmp / "huitian_coverage.html"),
             "map_en": write_map(cfg, out, tmp / "huitian_coverage_en.html", lang="en")}
    write_report(read_results(out, cfg), out, lang="en")
    pages["report"] = out / "report.html"
    return pages


def _popup_minutes(driver) -> dict[str, str]:
    """Category label -> the 'walk (min)' cell of the open compound popup."""
    cells = driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-popup-content table tr'))"
        ".map(function (tr) { return Array.from(tr.querySelectorAll('td'))"
        ".map(function (c) { return c.textContent.trim(); }); });")
    return {c[0]: c[1] for c in cells if len(c) >= 2}


def test_real_map_layers_compounds_and_popup(driver, real_pages, sample_result):
    import pandas as pd

    from coverage._i18n import tr
    from coverage.maps import COVERED_COLOUR, UNCOVERED_COLOUR

    path = real_pages["map"]
    assert path.stat().st_size <= 10 * 1024 * 1024
    t0 = time.perf_counter()
    _open(driver, path)
    assert time.perf_counter() - t0 < 15  # two loads of the page (see _open)
    cfg, comp = sample_result.config, sample_result.compounds
    # every layer a planner looks for, in this order
    want = [tr("all_categories", "zh"), tr("all_categories_proposed", "zh")]
    want += [tr("compounds_cat", "zh", label=c.label) for c in cfg.categories]
    want += [tr("units", "zh")]
    want += [tr("facilities_cat", "zh", label=c.label) for c in cfg.categories
             if (sample_result.facilities["category"] == c.key).any()]
    want += [tr("proposed", "zh")]
    want += [tr("isochrones_cat", "zh", minutes=c.minutes, label=c.label)
             for c in cfg.categories]
    want += [tr("candidates", "zh"), tr("ranked_sites", "zh"), tr("optimal_sites", "zh")]
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".map(function (l) { return l.textContent.trim(); });")
    assert labels == want
    # one SVG path per compound in the (only visible) all-categories layer, coloured by share
    fills = driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-overlay-pane path.c15-compound'))"
        ".map(function (p) { return p.getAttribute('fill'); });")
    assert len(fills) == len(comp)
    assert fills.count(COVERED_COLOUR) == int(comp["all_covered"].sum())
    assert fills.count(UNCOVERED_COLOUR) == int((comp["n_categories_covered"] == 0).sum())
    # a real click on the most populous compound that is not under a marker
    table = pd.read_csv(real_pages["out"] / "compounds.csv", encoding="utf-8")
    order = table.sort_values("population", ascending=False)["name"].tolist()
    name = driver.execute_script(
        "var names = arguments[0], hit = {};"
        "circle15Layers.compounds_all.eachLayer(function (l) {"
        " var el = l.getElement(), r = el.getBoundingClientRect();"
        " var at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
        " if (at === el) { hit[l.feature.properties.t] = true; } });"
        "return names.find(function (n) { return hit[n]; });", order)
    assert name, "no compound is clickable"
    el = driver.execute_script(
        "var n = arguments[0], el = null; circle15Layers.compounds_all.eachLayer(function (l) {"
        " if (l.feature.properties.t === n) { el = l.getElement(); } }); return el;", name)
    el.click()
    time.sleep(0.3)
    popup = driver.find_element("css selector", ".leaflet-popup-content").text
    row = table.set_index("name").loc[name]
    assert row["unit"] in popup and f"{int(row['population']):,}" in popup
    shown = _popup_minutes(driver)
    for cat in cfg.categories:
        v = row[f"walk_min_{cat.key}"]
        if pd.isna(v):
            assert shown[cat.label] == f"> {cfg.max_walk_min:g}"
        else:  # the CSV keeps 2 decimals, the popup 1
            assert abs(float(shown[cat.label]) - v) <= 0.051, (cat.key, shown[cat.label], v)
    driver.save_screenshot(str(real_pages["shots"] / "real_map_popup.png"))
    # a compound with no facility of some category within the search limit says so
    nan_rows = table[table[[f"walk_min_{c.key}" for c in cfg.categories]].isna().any(axis=1)]
    if len(nan_rows):
        r = nan_rows.iloc[0]
        driver.execute_script(
            "var n = arguments[0]; circle15Layers.compounds_all.eachLayer(function (l) {"
            " if (l.feature.properties.t === n) { l.openPopup(); } });", r["name"])
        time.sleep(0.2)
        shown = _popup_minutes(driver)
        gone = [c for c in cfg.categories if pd.isna(r[f"walk_min_{c.key}"])]
        assert all(shown[c.label] == f"> {cfg.max_walk_min:g}" for c in gone)
    assert _js_errors(driver) == []
    assert _alerts(driver) == []


def test_real_english_map_and_report(driver, real_pages, sample_result):
    import pandas as pd

    cfg = sample_result.config
    _open(driver, real_pages["map_en"])
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".map(function (l) { return l.textContent.trim(); });")
    assert f"Compounds: {cfg.categories[0].label_en}" in labels
    assert not any(re.search(r"[\u4e00-\u9fff]", lab) for lab in labels)
    driver.save_screenshot(str(real_pages["shots"] / "real_map_en.png"))
    assert _js_errors(driver) == []

    _open(driver, real_pages["report"])
    comp = sample_result.compounds
    rows = driver.find_elements("css selector", "table#uncovered tbody tr")
    assert len(rows) == int((~comp["all_covered"]).sum())
    sites = pd.read_csv(real_pages["out"] / "sites.csv", encoding="utf-8")
    summary = driver.find_element("css selector", "table#sites-summary").text
    for cid in sites.loc[sites["method"] == "optimal", "candidate_id"]:
        assert cid in summary
    # one greedy ranking per sited category, every candidate in rank order, optimal starred
    keys = sites.loc[sites["method"] == "greedy", "category"].unique()
    for i, key in enumerate(keys):
        ranked = sites[(sites["method"] == "greedy") & (sites["category"] == key)]
        cells = driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0])).map(function (tr) {"
            " return Array.from(tr.cells).map(function (c) { return c.textContent; }); });",
            f"table#ranking-{i + 1} tbody tr")
        assert [c[2] for c in cells] == ranked["candidate_id"].tolist()
        opt = set(sites.loc[(sites["method"] == "optimal") & (sites["category"] == key),
                            "candidate_id"])
        assert {c[2] for c in cells if c[-1] == "★"} == opt
    assert not driver.find_elements("css selector", f"table#ranking-{len(keys) + 1}")
    body = driver.find_element("css selector", "body").get_attribute("textContent")
    for raw in ("set_cover_95", "set_cover_100", "optimal_", "greedy_"):
        assert raw not in body  # method and scenario keys are shown as words
    assert "fewest sites for 95% of reachable demand" in body
    assert "Optimal selection (up to" in body
    imgs = driver.execute_script(
        "return Array.from(document.images).map(function (i) { return i.naturalWidth; });")
    assert len(imgs) == 2 and min(imgs) > 200
    h = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, min(h + 50, 16000))
    driver.save_screenshot(str(real_pages["shots"] / "real_report_en.png"))
    driver.set_window_size(1280, 900)
    assert _js_errors(driver) == []
    assert _alerts(driver) == []
