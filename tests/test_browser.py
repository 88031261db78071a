"""The report in a real browser (Debian chromium + chromedriver via selenium; see _browser.py).

The maps' real-browser tests are in test_maps_browser.py. Screenshots go to the module's tmp
folder.
"""

from __future__ import annotations

import pytest
from _browser import alerts, js_errors, open_page
from _results_fixture import XSS_SCRIPT, make_config, make_results

from coverage.report import write_report
from coverage.results import read_results

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """A report (zh) from a results folder whose names carry injection attempts."""
    tmp = tmp_path_factory.mktemp("browser")
    cfg = make_config(tmp)
    out = make_results(tmp, cfg, hostile=True)
    res = read_results(out, cfg)
    write_report(res, out)
    return {"report": out / "report.html", "shots": tmp, "results": res}


_open, _js_errors, _alerts = open_page, js_errors, alerts

_PICTURES = """return Array.from(document.querySelectorAll('img, svg.chart, svg.map')).map(
 function (i) {
  var box = i.getBoundingClientRect(), fig = i.closest('figure.map');
  return {map: fig ? fig.id : null, section: i.closest('section').id,
          ok: i.tagName.toLowerCase() === 'svg', w: box.width, h: box.height,
          src: i.getAttribute('class')};
});"""


def _assert_pictures(driver, res) -> None:
    """Every picture is inline SVG and shown: four charts (heat map, two sensitivity curves,
    before/after) and the static maps, the overview then one per sited
    category in config order, each in its own numbered figure of the maps section."""
    imgs = driver.execute_script(_PICTURES)
    assert imgs and all(i["ok"] and i["w"] > 200 and i["h"] > (200 if i["map"] else 100)
                        for i in imgs), imgs
    assert {i["src"] for i in imgs if i["map"]} == {"map"}
    assert {i["src"] for i in imgs if not i["map"]} == {"chart"}
    sited = [c.key for c in res.config.categories
             if (res.sites["category"] == c.key).any()]
    maps = [i["map"] for i in imgs if i["map"]]
    assert maps == ["map-overview", *[f"map-{k}" for k in sited]]
    assert {i["section"] for i in imgs if i["map"]} == {"maps"}
    charts = sorted(i["section"] for i in imgs if not i["map"])
    assert charts == ["scenarios", "sensitivity", "sensitivity", "unit-coverage"]
    captions = driver.execute_script(
        "return Array.from(document.querySelectorAll('figure.map figcaption'))"
        ".map(function (c) { return c.textContent; });")
    assert len(captions) == len(maps) and all(c.strip() for c in captions)


def _column(driver, table_css: str, header: str) -> list[str]:
    """The texts of the column headed ``header`` in the table ``table_css`` (body rows)."""
    return driver.execute_script(
        "var t = document.querySelector(arguments[0]), head = arguments[1];"
        "var i = Array.from(t.tHead.rows[0].cells).findIndex(function (c) {"
        " return c.textContent === head; });"
        "if (i < 0) { return null; }"
        "return Array.from(t.tBodies[0].rows).map(function (r) {"
        " return r.cells[i].textContent; });", table_css, header)


def test_report_renders_sorts_and_escapes(driver, pages):
    _open(driver, pages["report"])
    assert driver.find_element("css selector", "h1").text.startswith("回天地区（测试）")
    _assert_pictures(driver, pages["results"])
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
    """The report (en) of the real coverage and siting results of the sample."""
    from coverage.outputs import write_coverage
    from coverage.planning import select_sites

    tmp = tmp_path_factory.mktemp("real")
    out = tmp / "out"
    write_coverage(sample_result, out, select_sites(sample_result))
    cfg = sample_result.config
    pages = {"out": out, "shots": tmp}
    write_report(read_results(out, cfg), out, lang="en")
    pages["report"] = out / "report.html"
    return pages


def test_real_english_report(driver, real_pages, sample_result):
    import pandas as pd

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
    units = set(sample_result.inputs.boundaries["name"])
    for i, key in enumerate(keys):
        ranked = sites[(sites["method"] == "greedy") & (sites["category"] == key)]
        table = f"table#ranking-{i + 1}"
        ids = _column(driver, table, "Candidate id")
        assert ids == ranked["candidate_id"].tolist()
        assert _column(driver, table, "Rank") == [str(r) for r in ranked["rank"]]
        # every site row names the unit (街道/镇) it lies in
        assert set(_column(driver, table, "Unit")) <= units
        opt = set(sites.loc[(sites["method"] == "optimal") & (sites["category"] == key),
                            "candidate_id"])
        starred = _column(driver, table, "In optimal selection")
        assert {c for c, s in zip(ids, starred, strict=True) if s == "★"} == opt
    assert not driver.find_elements("css selector", f"table#ranking-{len(keys) + 1}")
    body = driver.find_element("css selector", "body").get_attribute("textContent")
    for raw in ("set_cover_95", "set_cover_100", "optimal_", "greedy_"):
        assert raw not in body  # method and scenario keys are shown as words
    assert "fewest sites for 95% of reachable demand" in body
    assert "Optimal selection (up to" in body
    _assert_pictures(driver, read_results(real_pages["out"], sample_result.config))
    h = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, min(h + 50, 16000))
    driver.save_screenshot(str(real_pages["shots"] / "real_report_en.png"))
    driver.set_window_size(1280, 900)
    assert _js_errors(driver) == []
    assert _alerts(driver) == []
