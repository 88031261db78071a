"""The report in a real browser (Debian chromium + chromedriver via selenium; see _browser.py).

The maps' real-browser tests are in test_maps_browser.py. Screenshots go to the module's tmp
folder.
"""

from __future__ import annotations

import pytest
from _browser import alerts, js_errors, open_page, start_driver
from _results_fixture import XSS_SCRIPT, make_config, make_results

from coverage.report import write_report
from coverage.results import read_results

pytestmark = pytest.mark.browser

@pytest.fixture(scope="module")
def driver():
    d = start_driver()
    yield d
    d.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """A report (zh) from a results folder whose names carry injection attempts."""
    tmp = tmp_path_factory.mktemp("browser")
    cfg = make_config(tmp)
    out = make_results(tmp, cfg, hostile=True)
    write_report(read_results(out, cfg), out)
    return {"report": out / "report.html", "shots": tmp}


_open, _js_errors, _alerts = open_page, js_errors, alerts


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
