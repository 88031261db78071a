"""coverage.report: report.html and report.xlsx from a results folder (no browser here)."""

from __future__ import annotations

import logging
import re

import pytest
from _results_fixture import XSS_IMG, XSS_SCRIPT, make_config, make_results
from openpyxl import load_workbook

from coverage import report
from coverage.report import build_tables, write_report


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    cfg = make_config(tmp)
    return cfg, make_results(tmp, cfg)


def test_tables_hold_the_fixture_numbers(area):
    cfg, out = area
    t = build_tables(cfg, out)
    unit = t["unit_cov"].set_index("单元")
    # wet markets in 回龙观: 2000 of 5050 people covered (C03-C05 are > 10 min away)
    assert unit.loc["回龙观", "菜市场"] == pytest.approx(39.6)
    assert unit.loc["全部", "养老驿站"] == pytest.approx(78.8)  # 2190 / 2780 people 60+
    pop = t["pop_cov"].set_index("类别")
    assert pop.loc["养老驿站", "需求人口"] == 2780  # demand is population_60plus
    assert pop.loc["养老驿站", "变化（百分点）"] == pytest.approx(18.3)  # proposed station
    assert pop.loc["菜市场", "小区覆盖率（%）"] == pytest.approx(60.0)
    unc = t["uncovered"]
    assert sorted(unc["名称"]) == sorted(["融泽嘉园", "流星花园", "云趣园", "天通苑东一区",
                                         "清河营"])
    qhy = unc.set_index("名称").loc["清河营"]
    assert qhy["未覆盖类别数"] == 3 and qhy["未覆盖类别"] == "养老驿站, 社区卫生服务站, 菜市场"
    assert unc.set_index("名称").loc["天通苑东一区", "未覆盖类别"] == "养老驿站"
    sites = t["sites"]
    assert list(sites["方法"]).count("最优（整数规划）") == 2
    assert sites.iloc[0]["新增覆盖需求"] == 510  # C06's 510 people 60+
    assert t["method"].set_index("类别").loc["养老驿站", "步行距离（米）"] == 810  # 15 x 60 x 0.9


def test_html_self_contained_with_charts_and_sections(area):
    cfg, out = area
    paths = write_report(cfg, out)
    assert [p.name for p in paths] == ["report.html", "report.xlsx"]
    text = paths[0].read_text(encoding="utf-8")
    assert not re.search(r"<(script|img|link)[^>]+(src|href)=\"?https?:", text)
    assert text.count('src="data:image/png;base64,') == 2
    for heading in ("研究区域", "数据来源与日期", "方法", "各单元分类别覆盖率", "人口加权覆盖率",
                    "未覆盖小区", "推荐站点与最优方案", "规划站点实施前后对比", "数据溯源与局限性"):
        assert f"<h2>{heading}</h2>" in text
    assert 'class="sortable" id="uncovered"' in text
    assert "OpenStreetMap" in text and "in/facilities.csv" in text
    assert len(text.encode()) < 1_000_000


def test_english_report_and_workbook(area):
    cfg, out = area
    write_report(cfg, out, lang="en")
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "<h2>Compounds not covered</h2>" in text and 'lang="en"' in text
    assert "Wet market" in text
    wb = load_workbook(out / "report.xlsx")
    assert wb.sheetnames == ["Method", "Sources", "Coverage by unit", "Population-weighted",
                             "Uncovered compounds", "Sites", "Scenarios"]
    ws = wb["Uncovered compounds"]
    assert [c.value for c in ws[1]][:3] == ["Name", "Unit", "Population"]
    assert ws.max_row == 1 + 5


def test_workbook_chinese_headers_and_no_formula_injection(tmp_path):
    cfg = make_config(tmp_path)
    out = make_results(tmp_path, cfg, hostile=True)
    # a compound name that spreadsheet software would run as a formula
    csv = out / "compounds.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("流星花园", "=HYPERLINK(1)"),
                   encoding="utf-8")
    write_report(cfg, out)
    wb = load_workbook(out / "report.xlsx")
    assert wb.sheetnames[0] == "方法"
    ws = wb["未覆盖小区"]
    assert [c.value for c in ws[1]][:2] == ["名称", "单元"]
    cells = {c.value: c for row in ws.iter_rows(min_row=2) for c in row}
    assert cells["=HYPERLINK(1)"].data_type == "s"
    assert XSS_SCRIPT in cells  # text kept verbatim in the workbook
    text = (out / "report.html").read_text(encoding="utf-8")
    assert XSS_SCRIPT not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert XSS_IMG not in text


def test_not_computed_sections(tmp_path):
    cfg = make_config(tmp_path)
    out = make_results(tmp_path, cfg, with_proposed=False, with_sites=False)
    write_report(cfg, out)
    text = (out / "report.html").read_text(encoding="utf-8")
    sites = text.split('<section id="sites">')[1].split("</section>")[0]
    assert "未计算" in sites
    scen = text.split('<section id="scenarios">')[1].split("</section>")[0]
    assert "未计算" in scen
    wb = load_workbook(out / "report.xlsx")
    assert wb["推荐站点"]["A1"].value.startswith("未计算")


def test_cjk_font_found_or_warned(caplog, monkeypatch):
    name = report.find_cjk_font()
    if name is None:  # machine without fonts-noto-cjk: a warning, not a crash
        assert "no CJK font" in caplog.text
    else:
        assert name in report.CJK_FONTS
    monkeypatch.setattr(report, "CJK_FONTS", ("No Such Font 42",))
    with caplog.at_level(logging.WARNING, logger="coverage.report"):
        assert report.find_cjk_font() is None
    assert "no CJK font" in caplog.text
