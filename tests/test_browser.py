"""The map and the report in a real browser (Debian chromium + chromedriver via selenium).

Skipped only when CI is unset and the browser is absent; with CI set, a missing browser or
selenium is a failure (run ``make system-deps`` and install the test extras).
Screenshots go to the module's tmp folder (printed in the test names' output).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from _results_fixture import XSS_IMG, XSS_SCRIPT, make_config, make_results

from coverage.maps import write_map
from coverage.report import write_report

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
    write_report(cfg, out)
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
