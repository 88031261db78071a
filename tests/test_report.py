"""coverage.report: report.html, report.xlsx, sensitivity.csv (and the PDF: test_report_pdf)."""

from __future__ import annotations

import dataclasses
import logging
import re

import pandas as pd
import pytest
from _results_fixture import XSS_IMG, XSS_SCRIPT, make_config, make_results
from openpyxl import load_workbook

from coverage.report import build_tables, fonts, write_report
from coverage.results import read_results


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    cfg = make_config(tmp)
    out = make_results(tmp, cfg)
    return read_results(out, cfg), out


def test_tables_hold_the_fixture_numbers(area):
    res, _ = area
    t = build_tables(res)
    unit = t.unit_cov.set_index("单元")
    # wet markets in 回龙观: 2000 of 5050 people covered (C03-C05 are > 10 min away)
    assert unit.loc["回龙观", "菜市场"] == pytest.approx(39.6)
    assert unit.loc["全部", "养老驿站"] == pytest.approx(78.8)  # 2190 / 2780 people 60+
    pop = t.pop_cov.set_index("类别")
    assert pop.loc["养老驿站", "需求人口"] == 2780  # demand is population_60plus
    assert pop.loc["养老驿站", "变化（百分点）"] == pytest.approx(18.3)  # proposed station
    assert pop.loc["菜市场", "小区覆盖率（%）"] == pytest.approx(60.0)
    unc = t.uncovered
    assert sorted(unc["名称"]) == sorted(["融泽嘉园", "流星花园", "云趣园", "天通苑东一区",
                                         "清河营"])
    qhy = unc.set_index("名称").loc["清河营"]
    assert qhy["未覆盖类别数"] == 3 and qhy["未覆盖类别"] == "养老驿站, 社区卫生服务站, 菜市场"
    assert unc.set_index("名称").loc["天通苑东一区", "未覆盖类别"] == "养老驿站"
    sites = t.sites
    assert list(sites["方法"]).count("最优（整数规划）") == 2
    assert sites.iloc[0]["新增覆盖需求"] == 510  # C06's 510 people 60+
    # each site row names its unit: K01 (x = 700) lies in 天通苑, K04 (x = 500) in 回龙观
    by_id = sites.drop_duplicates("候选编号").set_index("候选编号")["所在单元"]
    assert by_id["K01"] == "天通苑" and by_id["K04"] == "回龙观"
    ranking = dict(t.site_blocks.rankings)["菜市场"]
    assert list(ranking["所在单元"]) == [by_id[k] for k in ranking["候选编号"]]
    assert t.method.set_index("类别").loc["养老驿站", "步行距离（米）"] == 810  # 15 x 60 x 0.9


def test_html_self_contained_with_charts_maps_and_sections(area):
    res, out = area
    paths = write_report(res, out)
    assert [p.name for p in paths] == ["report.html", "report.xlsx", "sensitivity.csv"]
    text = paths[0].read_text(encoding="utf-8")
    assert not re.search(r"<(script|img|link)[^>]+(src|href)=\"?https?:", text)
    assert not re.search(r"(src|href)=\"(?!data:|#)", text)  # nothing outside the file
    # heat map, before/after, 2 sensitivity charts; overview + 2 sited categories' maps: all
    # inline SVG
    svg = '<svg xmlns="http://www.w3.org/2000/svg" class='
    assert text.count('<figure class="chart"') == text.count(f'{svg}"chart"') == 4
    assert text.count(f'{svg}"map"') == 3
    assert "<img" not in text
    assert text.count('<figure class="map"') == 3
    assert 'id="map-overview"' in text and 'id="map-wet_market"' in text
    for heading in ("研究区域", "数据来源与日期", "方法", "各单元分类别覆盖率", "人口加权覆盖率",
                    "现状与选址地图", "敏感性分析：时间标准与步行速度",
                    "未覆盖小区", "推荐站点与最优方案", "规划站点实施前后对比", "数据溯源与局限性"):
        assert f"<h2>{heading}</h2>" in text
    assert 'class="sortable" id="uncovered"' in text
    assert "OpenStreetMap" in text and "in/facilities.csv" in text
    assert len(text.encode()) < 2_000_000
    assert "生成时间" not in text  # no date unless SOURCE_DATE_EPOCH asks for one


def test_same_results_same_bytes_and_date_only_when_asked(area, tmp_path, monkeypatch):
    res, _ = area
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    for out in (a, b):
        write_report(res, out)
    for name in ("report.html", "report.xlsx", "sensitivity.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01 00:00 UTC
    write_report(res, a)
    assert "生成时间: 2026-01-01" in (a / "report.html").read_text(encoding="utf-8")
    assert load_workbook(a / "report.xlsx").properties.modified.year == 2026


def test_sources_name_the_inputs_by_content_not_by_date(area, tmp_path):
    """The sources table gives each input's SHA-256 and size; touching an input (a fresh
    clone sets every mtime) leaves the report's bytes as they were."""
    import hashlib
    import os

    res, _ = area
    cfg = res.config
    inputs = [cfg.boundaries, cfg.network, cfg.compounds, *(f.path for f in cfg.facilities)]
    t = build_tables(res)
    by_file = t.sources.set_index("文件")
    facilities = cfg.facilities[0].path
    row = by_file.loc[str(facilities.relative_to(cfg.folder))]
    assert row["SHA-256"] == hashlib.sha256(facilities.read_bytes()).hexdigest()
    assert row["大小（字节）"] == facilities.stat().st_size
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    write_report(res, a)
    times = {p: os.stat(p) for p in inputs}
    try:
        for p in inputs:
            os.utime(p, (1_000_000_000, 1_000_000_000))  # 2001-09-09
        write_report(res, b)
    finally:
        for p, st in times.items():
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    for name in ("report.html", "report.xlsx"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_sensitivity_csv_matches_summary(area):
    res, out = area
    write_report(res, out)
    sens = pd.read_csv(out / "sensitivity.csv", encoding="utf-8-sig")
    at = sens[sens["at_config"]].merge(res.summary[res.summary["unit"] == "ALL"],
                                       on=["category", "scenario"], suffixes=("", "_summary"))
    assert len(at) == 3 * 2 * 2
    assert (at["population_covered"] == at["population_covered_summary"]).all()


def test_english_report_and_workbook(area):
    res, out = area
    write_report(res, out, lang="en")
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "<h2>Compounds not covered</h2>" in text and 'lang="en"' in text
    assert "Wet market" in text
    wb = load_workbook(out / "report.xlsx")
    assert wb.sheetnames == ["Method", "Sources", "Coverage by unit", "Population-weighted",
                             "Uncovered compounds", "Sites", "Scenarios", "Sensitivity"]
    ws = wb["Uncovered compounds"]
    assert [c.value for c in ws[1]][:3] == ["Name", "Unit", "Population"]
    assert ws.max_row == 1 + 5


def test_workbook_chinese_headers_and_no_formula_injection(tmp_path):
    cfg = make_config(tmp_path)
    out = make_results(tmp_path, cfg, hostile=True)
    # a compound name that spreadsheet software would run as a formula (in memory: editing
    # compounds.csv after the run would make read_results refuse the folder)
    res = read_results(out, cfg)
    comp = res.compounds.copy()
    comp["name"] = comp["name"].replace("流星花园", "=HYPERLINK(1)")
    write_report(dataclasses.replace(res, compounds=comp), out)
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
    write_report(read_results(out, cfg), out)
    text = (out / "report.html").read_text(encoding="utf-8")
    sites = text.split('<section id="sites">')[1].split("</section>")[0]
    assert "未计算" in sites
    scen = text.split('<section id="scenarios">')[1].split("</section>")[0]
    assert "未计算" in scen
    wb = load_workbook(out / "report.xlsx")
    assert wb["推荐站点"]["A1"].value.startswith("未计算")


def test_cjk_font_found_or_warned(caplog, monkeypatch):
    name = fonts.find_cjk_font()
    if name is None:  # machine without fonts-noto-cjk: a warning, not a crash
        assert "no CJK font" in caplog.text
    else:
        assert name in fonts.CJK_FONTS
    monkeypatch.setattr(fonts, "CJK_FONTS", ("No Such Font 42",))
    with caplog.at_level(logging.WARNING, logger="coverage.report"):
        assert fonts.find_cjk_font() is None
    assert "no CJK font" in caplog.text


def test_no_cjk_font_no_tofu_and_one_warning(area, tmp_path, monkeypatch, caplog):
    """Without a CJK font every character drawn has a glyph in DejaVu Sans (no tofu boxes):
    units get ids listed in the page, categories their keys, the pictures' words are English."""
    from matplotlib.font_manager import findfont
    from matplotlib.ft2font import FT2Font

    glyphs = set(FT2Font(findfont("DejaVu Sans")).get_charmap())

    res, _ = area
    monkeypatch.setattr(fonts, "CJK_FONTS", ("No Such Font 42",))
    with caplog.at_level(logging.WARNING, logger="coverage.report"):
        write_report(res, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert len(svgs) == 4 + 3  # charts and maps
    drawn = [t for svg in svgs for t in _drawn(svg)["text"]]
    tofu = sorted({s for s in drawn if any(ord(ch) not in glyphs for ch in s if ch != "\n")})
    assert drawn and not tofu, tofu
    assert "U1" in drawn and "wet_market" in " ".join(drawn)
    assert caplog.text.count("no CJK font") == 1
    assert "U1 = 回龙观" in page


# --- static maps ---------------------------------------------------------------------------------

def _streets(res):
    """Two streets across the fixture's units (area CRS)."""
    import geopandas as gpd
    from shapely.geometry import LineString

    x0, y0, x1, y1 = res.boundaries.total_bounds
    return gpd.GeoDataFrame({"name": ["东西路", "南北路"], "highway": ["residential"] * 2},
                            geometry=[LineString([(x0, (y0 + y1) / 2), (x1, (y0 + y1) / 2)]),
                                      LineString([((x0 + x1) / 2, y0), ((x0 + x1) / 2, y1)])],
                            crs=res.boundaries.crs)


def _drawn(svg: str) -> dict[str, list[str]]:
    """Texts (each line) and stroke colours of a map's SVG."""
    from xml.etree import ElementTree

    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    texts = ["".join(t.itertext()) for t in root.iter(f"{ns}text")]
    lines = ["".join(s.itertext()) for t in root.iter(f"{ns}text") for s in t.iter(f"{ns}tspan")]
    strokes = [e.get("stroke", "") for e in root.iter() if e.tag in (f"{ns}path", f"{ns}line")]
    return {"text": texts + lines, "lines": strokes}


def test_category_map_draws_every_layer_in_the_web_maps_words(area, monkeypatch):
    """Walk network (results.streets), unit names, proposed P, ranked numbers, legend words of
    coverage._i18n, scale bar and north arrow; without streets there is no streets entry."""
    from coverage import style
    from coverage.report.fonts import chart_text
    from coverage.report.staticmaps import category_map, map_layout

    res, _ = area
    res = dataclasses.replace(res, streets=_streets(res))
    cat = res.config.category("wet_market")
    svg = category_map(res, cat, chart_text("zh"))
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    seen = _drawn(svg)
    texts = " | ".join(seen["text"])
    for word in ("回龙观", "天通苑", "北", "小区：10 分钟内可达 (6)",
                 "小区：10 分钟内不可达 (4)", "现有设施：菜市场",
                 "推荐站点（数字为排名）", "最优方案", "步行路网", "街道/地区边界", "图例",
                 "菜市场（10 分钟）", "街道网络 © OpenStreetMap 贡献者（ODbL）"):
        assert word in texts, word
    assert "规划站点" not in texts  # the planned station is an elderly station
    assert "1" in seen["text"] and "2" in seen["text"]  # greedy ranks on the sites
    assert re.search(r"\d+ (米|公里)", texts)  # scale bar
    assert style.STREET_COLOUR in seen["lines"]
    assert map_layout(res).landscape  # 1200 m x 600 m: wider than tall
    seen = _drawn(category_map(dataclasses.replace(res, streets=None),
                               res.config.category("elderly_station"), chart_text("zh")))
    assert "步行路网" not in seen["text"] and style.STREET_COLOUR not in seen["lines"]
    assert "P" in seen["text"] and "规划站点" in seen["text"]  # the planned station's diamond


def test_report_maps_layout_follows_the_area_shape(area):
    """A wide area prints its maps on landscape pages with the legend at the right; a tall one
    on portrait pages; every map of an area has the same frame and print size."""
    from shapely import affinity

    from coverage.report.fonts import chart_text
    from coverage.report.staticmaps import map_layout, report_maps

    res, _ = area
    maps = report_maps(res, chart_text("zh"))
    assert [m.key for m in maps] == ["overview", "elderly_station", "wet_market"]
    assert all(m.landscape for m in maps)
    assert all(8 < m.width_in < 10.6 and m.height_in < 5.6 for m in maps)  # A4 landscape
    tall = dataclasses.replace(res, boundaries=res.boundaries.set_geometry(
        res.boundaries.geometry.map(lambda g: affinity.rotate(g, 90, origin=(442_600,
                                                                              4_435_300)))))
    layout = map_layout(tall)
    assert not layout.landscape and layout.map_h_in > layout.map_w_in
    assert layout.fig_size_in[0] <= 7.2 and layout.fig_size_in[1] <= 9.0  # A4 portrait


def test_unit_names_avoid_the_sites():
    """A unit's name moves off a site symbol at its pole of inaccessibility, stays inside."""
    import shapely

    from coverage.report.maplabels import label_xy, unit_places

    unit = shapely.box(0, 0, 1000, 400)
    places = unit_places(unit, 300, 60)
    free = label_xy(places, None)
    assert free == pytest.approx((500, 200), abs=1)
    site = shapely.Point(500, 200).buffer(80)
    x, y = label_xy(places, site)
    label = shapely.box(x - 150, y - 30, x + 150, y + 30)
    assert not label.intersects(site) and unit.contains(label)


def test_chart_colours_are_matplotlibs_rdylbu_and_charts_are_bare_svg(area):
    """The SVG heat map colours a percentage as matplotlib's RdYlBu does (within two levels per
    channel); each chart is one complete <svg> element without script."""
    import matplotlib

    from coverage.report.charts import colour_of, render_charts
    from coverage.report.fonts import chart_text

    cmap = matplotlib.colormaps["RdYlBu"]
    for v in (0.0, 7.5, 33.3, 50.0, 81.0, 100.0):
        want = [round(c * 255) for c in cmap(v / 100)[:3]]
        got = [int(colour_of(v)[i:i + 2], 16) for i in (1, 3, 5)]
        assert max(abs(a - b) for a, b in zip(want, got, strict=True)) <= 2, (v, want, got)
    res, _ = area
    charts = render_charts(build_tables(res), res.config, chart_text("zh"))
    assert sorted(charts) == ["ba", "sens_minutes", "sens_speed", "unit"]
    for svg in charts.values():
        assert svg.startswith("<svg ") and svg.endswith("</svg>") and "<script" not in svg


def test_sensitivity_charts_mark_the_configs_own_setting(area):
    """Each category's panel marks the config's own minutes (speed) with a dotted vertical
    line through the existing curve's point there; the categories' limits differ (10 and 15
    minutes), so a mark at a wrong value lands elsewhere in its panel."""
    from coverage.report.charts import render_charts
    from coverage.report.fonts import chart_text

    res, _ = area
    t = build_tables(res)
    charts = render_charts(t, res.config, chart_text("zh"))
    cats = [c for c in res.config.categories if (t.sensitivity["category"] == c.key).any()]
    assert len({c.minutes for c in cats}) > 1
    for key, own in (("sens_minutes", lambda c: c.minutes), ("sens_speed",
                                                             lambda c: c.speed_m_s)):
        svg = charts[key]
        frames = [(float(x), float(w)) for x, w in re.findall(
            r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="[\d.]+" fill="none"', svg)]
        marks = [float(x) for x in re.findall(
            r'<line x1="([\d.]+)" y1="[\d.]+" x2="\1" y2="[\d.]+" stroke="[^"]+" '
            r'stroke-width="0.8" stroke-dasharray="1.5 2"/>', svg)]
        dots = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', svg)]
        assert len(frames) == len(marks) == len(dots) == len(cats), key
        col = "minutes" if key == "sens_minutes" else "speed_m_s"
        s = t.sensitivity[t.sensitivity["varied"] == ("minutes" if col == "minutes"
                                                      else "speed")]
        lo, hi = s[col].min(), s[col].max()
        for cat, (x0, w), mark, dot in zip(cats, frames, marks, dots, strict=True):
            assert mark == pytest.approx(x0 + w * (own(cat) - lo) / (hi - lo), abs=0.06)
            assert dot == pytest.approx(mark, abs=0.06)


def test_workbook_writer_cells_styles_and_columns(tmp_path):
    """The hand-written workbook: numbers, booleans, empty and control-character texts, more
    than 26 columns, a bold filled frozen header, column widths; openpyxl reads it back."""
    import datetime as dt

    from coverage.report.xlsx import _column, _package, _sheet_xml, _zip

    assert [_column(i) for i in (1, 26, 27, 52, 703)] == ["A", "Z", "AA", "AZ", "AAA"]
    df = pd.DataFrame({"名称": ["a\x07b", "=1+1", None], "n": [1, 2, 3],
                       "x": [0.1, float("nan"), 2.5], "ok": [True, False, True]})
    for i in range(30):
        df[f"c{i}"] = i
    stamp = dt.datetime(2026, 1, 1)
    parts = _package(["表", "Empty"], stamp)
    parts["xl/worksheets/sheet1.xml"] = _sheet_xml(df, "-")
    parts["xl/worksheets/sheet2.xml"] = _sheet_xml(None, "未计算")
    path = tmp_path / "t.xlsx"
    path.write_bytes(_zip(parts, stamp))
    assert _zip(parts, stamp) == path.read_bytes()  # deterministic
    wb = load_workbook(path)
    assert wb.sheetnames == ["表", "Empty"] and wb.properties.modified.year == 2026
    ws = wb["表"]
    assert [c.value for c in ws[1]][:4] == ["名称", "n", "x", "ok"] and ws.max_column == 34
    assert [c.value for c in ws[2]][:4] == ["ab", 1, 0.1, True]
    assert [c.value for c in ws[3]][:4] == ["=1+1", 2, None, False]
    assert ws["A3"].data_type == "s" and ws["A4"].value is None and ws["AH4"].value == 29
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb.endswith("E6EFE6") and not ws["A2"].font.b
    assert ws.freeze_panes == "A2" and ws.column_dimensions["A"].width == pytest.approx(8.4)
    assert wb["Empty"]["A1"].value == "未计算"
