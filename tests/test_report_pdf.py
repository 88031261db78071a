"""report.pdf on the real sample: WeasyPrint, A4, CJK text extractable, pages render.

Needs WeasyPrint's Pango and fonts-noto-cjk (``make system-deps``) and poppler-utils' pdftoppm.
Outside CI the tests are skipped when they are missing; in CI (``CI=true``) that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from coverage.outputs import write_coverage
from coverage.planning import select_sites
from coverage.report import PdfUnavailable, write_report
from coverage.report.fonts import find_cjk_font
from coverage.report.pdf import _weasyprint
from coverage.results import read_results

IN_CI = os.environ.get("CI", "").lower() == "true"


def _need(ok: bool, what: str) -> None:
    if not ok:
        if IN_CI:
            pytest.fail(f"{what} missing in CI: `make system-deps` must install it")
        pytest.skip(f"{what} not installed (make system-deps)")


@pytest.fixture(scope="module")
def pdf(sample_result, tmp_path_factory):
    try:
        _weasyprint()
        usable = True
    except PdfUnavailable:
        usable = False
    _need(usable, "WeasyPrint's Pango")
    _need(find_cjk_font(warn=False) is not None, "fonts-noto-cjk")
    from coverage.jointplan.stage import plan_joint

    out = tmp_path_factory.mktemp("pdf")
    # what `circle15 run --pdf` writes: coverage, sites and the config's joint plan
    plan = plan_joint(sample_result, sample_result.config.plan)
    write_coverage(sample_result, out, select_sites(sample_result), plan=plan)
    res = read_results(out, sample_result.config)
    paths = write_report(res, out, pdf=True)
    assert paths[-1].name == "report.pdf"
    return res, paths[-1]


A4_PT = (595.28, 841.89)


def _sizes(reader) -> list[str]:
    """Each page's orientation, asserting it is A4."""
    out = []
    for page in reader.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert (abs(w - A4_PT[0]) < 1 and abs(h - A4_PT[1]) < 1) or \
            (abs(w - A4_PT[1]) < 1 and abs(h - A4_PT[0]) < 1), (w, h)
        out.append("landscape" if w > h else "portrait")
    return out


def _map_pages(reader) -> list[int]:
    """1-based numbers of the pages holding a static map (figure captions 图 1, 图 2...)."""
    return [i + 1 for i, p in enumerate(reader.pages)
            if re.search(r"图\d+", re.sub(r"\s+", "", p.extract_text()))]


def test_pdf_pages_size_and_text(pdf):
    from pypdf import PdfReader

    res, path = pdf
    reader = PdfReader(path)
    n = len(reader.pages)
    # title/contents ... tables, 5 map pages (overview + 3 sited categories + joint plan),
    # sensitivity, sites, plan
    assert 18 <= n <= 40, n
    # the Huitian area is wider than tall: one map a page on A4 landscape, the rest portrait
    maps = _map_pages(reader)
    n_maps = 1 + res.sites["category"].nunique() + (res.plan is not None)
    assert len(maps) == n_maps == 5 and maps == list(range(maps[0], maps[0] + n_maps))
    orient = _sizes(reader)
    assert [i + 1 for i, o in enumerate(orient) if o == "landscape"] == maps
    text = "\n".join(p.extract_text() for p in reader.pages)
    flat = re.sub(r"\s+", "", text)
    for title in ("回天地区15分钟生活圈覆盖评估报告", "现状与选址地图", "敏感性分析", "未覆盖小区",
                  "推荐站点与最优方案", "联合方案：存量空间统筹布局", "数据溯源与局限性"):
        assert title in flat, title
    for unit in res.boundaries["name"]:
        assert unit in flat, unit
    for name in res.sites.loc[res.sites["method"] == "optimal", "name"]:
        assert re.sub(r"\s+", "", name) in flat, name
    for name in res.plan.joint_sites["name"]:
        assert re.sub(r"\s+", "", name) in flat, name
    assert "1/" in flat and f"{n}/{n}" in flat  # page numbers "k / n"
    assert "点击表头排序" not in flat  # the screen's "click to sort" stays off paper
    fonts = {str(f) for p in reader.pages for f in
             (p["/Resources"].get_object().get("/Font") or {}).values()}
    assert fonts  # fonts embedded (checked by name below with pdffonts when available)


def _render(path, page: int, tmp_path) -> np.ndarray:
    from PIL import Image

    prefix = tmp_path / f"page{page}"
    subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", "60", "-png",
                    str(path), str(prefix)], check=True, capture_output=True, timeout=120)
    png = next(tmp_path.glob(f"page{page}*.png"))
    return np.asarray(Image.open(png).convert("L"))


def test_pdf_first_page_and_a_map_page_render(pdf, tmp_path):
    _need(shutil.which("pdftoppm") is not None, "poppler-utils (pdftoppm)")
    from pypdf import PdfReader

    _, path = pdf
    reader = PdfReader(path)
    map_page = next(i + 1 for i, p in enumerate(reader.pages)
                    if "全部类别：每个小区缺少的类别数" in re.sub(r"\s+", "", p.extract_text()))
    first = _render(path, 1, tmp_path)
    page = _render(path, map_page, tmp_path)
    assert first.shape[0] > first.shape[1] and page.shape[1] > page.shape[0]  # A4 / landscape
    assert first.shape == page.shape[::-1]
    # page 1 carries text (dark pixels); the map page is mostly picture: many grey levels
    assert (first < 128).mean() > 0.005
    assert len(np.unique(page)) > 64 and (page < 250).mean() > 0.04
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                           timeout=60).stdout
    assert "Noto-Sans-CJK" in fonts or "NotoSansCJK" in fonts
    assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:] if line.strip())
    # maps and charts are vectors (SVG drawn by WeasyPrint): no raster picture to blur in print
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True,
                             text=True, timeout=60, check=True).stdout.splitlines()[2:]
    assert not [r for r in listing if r.strip()], listing


def test_cli_report_pdf(pdf, capsys):
    from coverage.cli import main

    res, path = pdf
    path.unlink()
    assert main(["-q", "report", str(res.config.source), "--out", str(path.parent),
                 "--pdf"]) == 0
    printed = capsys.readouterr().out
    assert "report.pdf" in printed and "coverage.qgz" in printed and path.stat().st_size > 0


def test_english_pdf_every_landscape_page_holds_a_map(pdf, tmp_path):
    """The English note is longer: the maps' heading still shares its page with the first map
    (no page holding a heading alone), and every landscape page is a map page."""
    from pypdf import PdfReader

    res, _ = pdf
    path = write_report(res, tmp_path, lang="en", pdf=True)[-1]
    reader = PdfReader(path)
    maps = [i + 1 for i, p in enumerate(reader.pages)
            if re.search(r"Figure \d+\.", p.extract_text())]
    assert len(maps) == 5
    assert [i + 1 for i, o in enumerate(_sizes(reader)) if o == "landscape"] == maps
    assert "Maps: coverage and sites" in reader.pages[maps[0] - 1].extract_text()


def test_long_tables_repeat_their_header_on_every_page(pdf):
    """The uncovered compounds' table runs over several pages; each page it fills starts again
    with the column headers (thead as a table header group), and no row is lost."""
    from pypdf import PdfReader

    from coverage.report import build_tables

    res, path = pdf
    flat = [re.sub(r"\s+", "", p.extract_text()) for p in PdfReader(path).pages]
    first = next(i for i, t in enumerate(flat) if "未覆盖小区" in t and "未覆盖类别数" in t)
    end = next(i for i in range(first + 1, len(flat)) if "推荐站点与最优方案" in flat[i])
    assert end - first >= 2  # the table does break across pages
    for i in range(first, end):
        assert "名称单元人口60岁以上人口未覆盖类别数" in flat[i], i + 1
    text = "".join(flat[first:end + 1])
    names = build_tables(res).uncovered.iloc[:, 0]
    assert len(names) > 40
    for name in names:
        assert re.sub(r"\s+", "", name) in text, name
