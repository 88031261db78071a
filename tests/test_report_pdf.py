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
    out = tmp_path_factory.mktemp("pdf")
    write_coverage(sample_result, out, select_sites(sample_result))
    res = read_results(out, sample_result.config)
    paths = write_report(res, out, pdf=True)
    assert paths[-1].name == "report.pdf"
    return res, paths[-1]


def test_pdf_pages_size_and_text(pdf):
    from pypdf import PdfReader

    res, path = pdf
    reader = PdfReader(path)
    n = len(reader.pages)
    # title/contents ... tables, 4 map pages (overview + 3 sited categories), sensitivity
    assert 14 <= n <= 40, n
    for page in reader.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(w - 595.28) < 1 and abs(h - 841.89) < 1  # A4 portrait, points
    text = "\n".join(p.extract_text() for p in reader.pages)
    flat = re.sub(r"\s+", "", text)
    for title in ("回天地区15分钟生活圈覆盖评估报告", "现状与选址地图", "敏感性分析", "未覆盖小区",
                  "推荐站点与最优方案", "数据溯源与局限性"):
        assert title in flat, title
    for unit in res.boundaries["name"]:
        assert unit in flat, unit
    for name in res.sites.loc[res.sites["method"] == "optimal", "name"]:
        assert re.sub(r"\s+", "", name) in flat, name
    assert "1/" in flat and f"{n}/{n}" in flat  # page numbers "k / n"
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
    assert first.shape == page.shape and first.shape[0] > first.shape[1]  # portrait
    # page 1 carries text (dark pixels); the map page is mostly picture: many grey levels
    assert (first < 128).mean() > 0.005
    assert len(np.unique(page)) > 64 and (page < 250).mean() > 0.04
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                           timeout=60).stdout
    assert "Noto-Sans-CJK" in fonts or "NotoSansCJK" in fonts
    assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:] if line.strip())


def test_cli_report_pdf(pdf, capsys):
    from coverage.cli import main

    res, path = pdf
    path.unlink()
    assert main(["-q", "report", str(res.config.source), "--out", str(path.parent),
                 "--pdf"]) == 0
    printed = capsys.readouterr().out
    assert "report.pdf" in printed and "coverage.qgz" in printed and path.stat().st_size > 0
