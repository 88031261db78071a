"""circle15 serve in a real browser (Debian chromium + chromedriver via selenium).

The server runs in this process on a free loopback port (uvicorn in a thread); the page is
driven as a planner would: a click on the map adds a site, the site is dragged, the minutes
slider moved with the keyboard, the plan saved, reset and loaded again. Every figure the page
shows is compared with the CLI (``circle15 run --scenario``) or a fresh ``analyze``. A second
page on data whose names carry injection attempts must show them as text.

Skipped like the map tests when chromium is absent (a failure with CI set). Screenshots go to
the module's temporary folder; with ``CIRCLE15_DOCS=1`` the workspace screenshot is also written
to ``docs/serve.png`` for the README.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import shapely
from _browser import alerts, js_errors
from _results_fixture import XSS_IMG, XSS_SCRIPT
from pyproj import Transformer

from coverage.cli import main
from coverage.config import load_config
from coverage.inputs import load_inputs
from coverage.pipeline import analyze
from coverage.serve import bind
from coverage.serve.app import create_app
from coverage.serve.scenario import scenario_inputs
from coverage.serve.workspace import Workspace

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "huitian" / "area.toml"
KEY = "elderly_station"  # the first category with new sites: selected when the page opens
XSS_UNIT = "回龙观街道" + XSS_IMG


def _serve(ws: Workspace, out: Path, lang: str):
    import uvicorn

    app = create_app(ws, out_dir=out, lang=lang, basemap=False)
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    _until(lambda: server.started, "the server")
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    return SimpleNamespace(url=url, ws=ws, out=out, server=server, thread=thread, sock=sock)


def _stop(s) -> None:
    s.server.should_exit = True
    s.thread.join(10)
    s.sock.close()


@pytest.fixture(scope="module")
def served(sample_inputs, tmp_path_factory):
    s = _serve(Workspace(sample_inputs), tmp_path_factory.mktemp("serve_browser"), "zh")
    yield s
    _stop(s)


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("serve_shots")


def _open(driver, url: str) -> None:
    driver.get(url)
    for _ in range(300):
        if driver.execute_script("return document.body.dataset.ready") == "1":
            break
        time.sleep(0.1)
    assert driver.execute_script("return document.body.dataset.ready") == "1"


def _press(driver, element) -> None:
    """Click a control of the panel (scrolled to the middle, clear of the sticky header)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def _until(check, what: str = "the page") -> None:
    """Wait (up to 10 s) until ``check()`` is true."""
    for _ in range(200):
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not update")


def _save(driver, name: str) -> None:
    """Type a scenario name and press save; wait until the list shows it."""
    box = driver.find_element("id", "scenario-name")
    box.clear()
    box.send_keys(name)
    _press(driver, driver.find_element("id", "save"))
    _until(lambda: name in driver.find_element("id", "scenario-list").text, "the scenario list")


def _load_saved(driver, name: str) -> None:
    """Press the load button of a saved scenario; wait for its plan."""
    v0 = _version(driver)
    item = next(li for li in driver.find_elements("css selector", "#scenario-list li")
                if li.text.startswith(name))
    _press(driver, item.find_element("css selector", "button"))
    _wait_version(driver, v0)


def _version(driver) -> int:
    return int(driver.execute_script("return document.body.dataset.version || -1"))


def _wait_version(driver, before: int) -> None:
    """Until the page shows a newer plan and no request is in flight."""
    _until(lambda: _version(driver) > before and driver.execute_script(
        "return document.body.dataset.busy") == "0")


def _plan_pct(driver) -> str:
    return driver.find_element("id", "plan-pct").text


def _pct(v: float) -> str:
    return f"{v:.2f}%"


def _fresh_pct(ws: Workspace, key: str = KEY) -> float:
    result = analyze(scenario_inputs(ws.inputs, ws.scenario("check")), isochrones=False,
                     network=ws.network)
    s = result.summary.set_index(["category", "scenario", "unit"])
    return float(s.loc[(key, "with_proposed", "ALL"), "coverage_pct"])


def _click_at(driver, lon: float, lat: float) -> None:
    """A real mouse click on the map at a WGS-84 point."""
    from selenium.webdriver.common.action_chains import ActionChains

    x, y = driver.execute_script(
        "var p = c15.map.latLngToContainerPoint([arguments[1], arguments[0]]); return [p.x, p.y];",
        lon, lat)
    box = driver.find_element("id", "map")
    w, h = box.size["width"], box.size["height"]
    ActionChains(driver).move_to_element_with_offset(box, int(x - w / 2), int(y - h / 2)) \
        .click().perform()


def _uncovered_street_points(ws: Workspace) -> list[tuple[float, float]]:
    """Street points in and around the compound (uncovered by the plan) with the most demand."""
    st = ws.category_state(KEY)
    demand = ws.demand(KEY)
    i = int(np.argmax(np.where(st.plan_covered, -1, demand)))
    poly = ws.compounds.geometry.iat[i]
    nodes = ws.network.node_xy[ws.network.component == ws.network.main_component]
    near = nodes[shapely.contains_xy(poly.buffer(150), nodes[:, 0], nodes[:, 1])]
    to_ll = Transformer.from_crs(ws.config.crs, 4326, always_xy=True)
    return [to_ll.transform(x, y) for x, y in near]


def _free_point(driver, points: list[tuple[float, float]]) -> tuple[float, float]:
    """The first point where the map itself (not a marker or control) is under the mouse."""
    for lon, lat in points:
        on_map = driver.execute_script(
            "var p = c15.map.latLngToContainerPoint([arguments[1], arguments[0]]);"
            "var r = document.getElementById('map').getBoundingClientRect();"
            "var e = document.elementFromPoint(r.left + p.x, r.top + p.y);"
            "return e !== null && e.tagName === 'CANVAS';", lon, lat)
        if on_map:
            return lon, lat
    raise AssertionError("no free street point to click")


def test_click_drag_slider_save_load(driver, served, sample_result, shots, tmp_path):
    driver.set_window_size(1400, 900)
    _open(driver, served.url)
    ws = served.ws
    initial = sample_result.summary.set_index(["category", "scenario", "unit"])
    assert _plan_pct(driver) == _pct(initial.loc[(KEY, "with_proposed", "ALL"), "coverage_pct"])
    rows = driver.find_elements("css selector", "#table tbody tr")
    assert len(rows) == len(ws.inputs.boundaries) + 1  # each unit, then the whole area

    # add a site with a click on the map
    _press(driver, driver.find_element("id", "add-mode"))
    lon, lat = _free_point(driver, _uncovered_street_points(ws))
    before, v0 = _plan_pct(driver), _version(driver)
    _click_at(driver, lon, lat)
    _wait_version(driver, v0)
    added = [s for s in ws.plan.sites if s.source == "added"]
    assert len(added) == 1 and abs(added[0].lon - lon) < 1e-3 and abs(added[0].lat - lat) < 1e-3
    after = _plan_pct(driver)
    assert after != before
    # ... and it equals the CLI's number for that site
    _save(driver, "点击方案")
    folder = served.out / "scenarios" / "点击方案"
    assert main(["-q", "run", str(SAMPLE), "--scenario", str(folder), "--out", str(tmp_path)]) == 0
    summary = pd.read_csv(tmp_path / "summary.csv", encoding="utf-8-sig", dtype={"unit": str})
    cli = summary.set_index(["category", "scenario", "unit"])
    assert after == _pct(cli.loc[(KEY, "with_proposed", "ALL"), "coverage_pct"])
    unit_cells = {r.get_attribute("data-unit"): r.find_element("css selector", ".plan-pct").text
                  for r in driver.find_elements("css selector", "#table tbody tr")}
    for unit, text in unit_cells.items():
        assert text == _pct(cli.loc[(KEY, "with_proposed", unit), "coverage_pct"]), unit
    driver.save_screenshot(str(shots / "serve_added.png"))

    # drag the new site east
    from selenium.webdriver.common.action_chains import ActionChains

    pin = driver.find_element("css selector", ".site-icon")
    v0 = _version(driver)
    ActionChains(driver).drag_and_drop_by_offset(pin, 45, 25).perform()
    _wait_version(driver, v0)
    moved = next(s for s in ws.plan.sites if s.source == "added")
    assert (moved.lon, moved.lat) != (added[0].lon, added[0].lat)
    assert _plan_pct(driver) == _pct(_fresh_pct(ws))

    # the minutes slider, moved with the keyboard: 15 -> 10 minutes
    from selenium.webdriver.common.keys import Keys

    slider = driver.find_element("id", "minutes")
    _press(driver, slider)
    for _ in range(20):  # the click may land off the thumb: bring it to 15 first
        value = int(float(slider.get_attribute("value")))
        if value == 10:
            break
        slider.send_keys(Keys.ARROW_LEFT if value > 10 else Keys.ARROW_RIGHT)
    _until(lambda: ws.plan.walks[KEY].minutes == 10 and driver.execute_script(
        "return document.body.dataset.busy") == "0" and _version(driver) == ws.version)
    assert driver.find_element("id", "minutes-out").text == "10 分钟"
    ten = _plan_pct(driver)
    assert ten == _pct(_fresh_pct(ws))
    chart_points = driver.execute_script("return c15.state.view.chart.plan")
    assert _pct(chart_points[5]) == ten  # the chart's 10-minute point is the same number

    # save, reset, load again; reload the page: the plan and the list survive
    _save(driver, "十分钟方案")
    v0 = _version(driver)
    _press(driver, driver.find_element("id", "reset"))
    _wait_version(driver, v0)
    assert _plan_pct(driver) == _pct(initial.loc[(KEY, "with_proposed", "ALL"), "coverage_pct"])
    _load_saved(driver, "十分钟方案")
    assert _plan_pct(driver) == ten
    assert driver.find_element("id", "status").text == "方案：十分钟方案"
    driver.refresh()
    _open(driver, served.url)
    assert _plan_pct(driver) == ten
    assert "十分钟方案" in driver.find_element("id", "scenario-list").text

    # compare the two saved plans: a table and the changed compounds outlined
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", "compare-a")).select_by_value("点击方案")
    Select(driver.find_element("id", "compare-b")).select_by_value("十分钟方案")
    _press(driver, driver.find_element("id", "compare"))
    _until(lambda: driver.find_elements("id", "compare-table"), "the comparison")
    assert len(driver.find_elements("css selector", "#compare-table tbody tr")) == len(
        ws.config.categories)
    assert driver.execute_script("return c15.state.compare.lost.length") > 0  # 10 min covers less
    driver.save_screenshot(str(shots / "serve_compare.png"))

    # the screenshot for the README: the plan with the clicked site, at 15 minutes
    _press(driver, driver.find_element("id", "compare-clear"))
    assert driver.execute_script("return c15.state.compare") is None
    _load_saved(driver, "点击方案")
    assert _plan_pct(driver) == after
    driver.execute_script("c15.map.closePopup(); document.getElementById('panel').scrollTop = 0;")
    time.sleep(3)  # the toast fades
    driver.save_screenshot(str(shots / "serve.png"))
    if os.environ.get("CIRCLE15_DOCS"):
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copy(shots / "serve.png", ROOT / "docs" / "serve.png")
    assert js_errors(driver) == []
    assert alerts(driver) == []


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The sample with injection attempts in unit, compound, station and candidate names."""
    tmp = tmp_path_factory.mktemp("serve_hostile")
    data = tmp / "huitian"
    shutil.copytree(ROOT / "data" / "huitian", data)
    for name, fix in (("boundaries.geojson", "name"), ("compounds.geojson", "unit")):
        gj = json.loads((data / name).read_text(encoding="utf-8"))
        for f in gj["features"]:
            if f["properties"].get(fix) == "回龙观街道":
                f["properties"][fix] = XSS_UNIT
        if name == "compounds.geojson":
            gj["features"][0]["properties"]["name"] = XSS_SCRIPT
            gj["features"][1]["properties"]["name"] = XSS_IMG
        (data / name).write_text(json.dumps(gj, ensure_ascii=False), encoding="utf-8")
    for name, text in (("proposed_2020.csv", XSS_IMG), ("candidates.csv", XSS_SCRIPT)):
        lines = (data / name).read_text(encoding="utf-8").splitlines()
        cells = lines[1].split(",")
        cells[1] = '"' + text.replace('"', '""') + '"'
        lines[1] = ",".join(cells)
        (data / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    # the streets stay where they are (shared file, referenced by the copied config)
    cfg = load_config(data / "area.toml")
    s = _serve(Workspace(load_inputs(cfg)), tmp / "out", "en")
    yield s
    _stop(s)


def test_hostile_names_are_text_in_english(driver, hostile):
    _open(driver, hostile.url)
    assert driver.find_element("id", "title").text.endswith("What-if")
    # the unit label on the map and the unit table show the name as text
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.unit-label'))"
        ".map(function (e) { return e.textContent; });")
    assert XSS_UNIT in labels
    cells = [td.text for td in driver.find_elements("css selector", "#table tbody td:first-child")]
    assert XSS_UNIT in cells
    # the planned station's name in the list; the compound's in its popup
    assert XSS_IMG in driver.find_element("id", "proposed-list").text
    driver.execute_script(
        "var name = arguments[0]; c15.layers.compounds.eachLayer(function (l) {"
        " if (l.feature.properties.name === name) {"
        "  l.fire('click', {latlng: l.getBounds().getCenter(), originalEvent: {}}); } });",
        XSS_SCRIPT)
    _until(lambda: driver.find_elements("css selector", ".leaflet-popup-content h4"), "popup")
    assert driver.execute_script(
        "return document.querySelector('.leaflet-popup-content h4').textContent") == XSS_SCRIPT
    # nothing injected became an element, nothing ran
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert not driver.execute_script(
        "return Array.from(document.scripts).some(function (s) {"
        " return s.textContent.indexOf('alert(') >= 0; });")
    # a hostile scenario name is refused with a message, never written
    box = driver.find_element("id", "scenario-name")
    box.clear()
    box.send_keys("../../evil")
    _press(driver, driver.find_element("id", "save"))
    _until(lambda: driver.find_element("id", "toast").is_displayed(), "the message")
    assert "Invalid name" in driver.find_element("id", "toast").text
    assert not (hostile.out / "scenarios").exists() or not any(
        (hostile.out / "scenarios").iterdir())
    # the all-categories view: one row per category
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", "category")).select_by_value("all")
    _until(lambda: driver.find_element("id", "table-title").text == "Coverage by category")
    assert len(driver.find_elements("css selector", "#table tbody tr")) == len(
        hostile.ws.config.categories)
    assert alerts(driver) == []
    assert js_errors(driver) == []
