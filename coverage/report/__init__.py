"""The site-selection report: ``report.html``, ``report.xlsx``, ``sensitivity.csv`` and, on
request, ``report.pdf`` — a pure function of a run's :class:`~coverage.results.Results`.

Modules: :mod:`.tables` (every table, as one :class:`ReportTables`), :mod:`.charts` (SVG heat map,
before/after, sensitivity curves), :mod:`.staticmaps` (SVG maps of the area),
:mod:`.html` (one self-contained page; a print variant for the PDF), :mod:`.xlsx`
(deterministic workbook), :mod:`.pdf` (WeasyPrint), :mod:`.fonts` (CJK font or ASCII fallback).
Every text from data is HTML-escaped; in the workbook, texts that start like a formula stay text.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .._i18n import check_lang
from ..io import write_csv, write_text
from ..results import Results
from .charts import render_charts
from .fonts import CJK_FONTS, ChartText, chart_text, find_cjk_font
from .html import Pictures, render_html
from .pdf import PdfUnavailable, write_pdf
from .staticmaps import report_maps
from .tables import ReportTables, build_tables, method_label, scenario_label
from .xlsx import write_xlsx

__all__ = [
    "CJK_FONTS",
    "PdfUnavailable",
    "ReportTables",
    "build_tables",
    "find_cjk_font",
    "method_label",
    "render_html",
    "scenario_label",
    "write_report",
    "write_xlsx",
]

log = logging.getLogger(__name__)


def _pictures(results: Results, t: ReportTables, text: ChartText) -> Pictures:
    """Charts and maps (SVG: vectors, the same pictures on screen and in print)."""
    charts = render_charts(t, results.config, text)
    maps = report_maps(results, text)
    return Pictures(charts=charts, maps=maps, unit_ids=dict(text.unit_ids))


def write_report(results: Results, out_dir: str | Path, *, lang: str = "zh",
                 pdf: bool = False) -> list[Path]:
    """Write the report files into ``out_dir`` (each atomically).

    Parameters
    ----------
    results : Results
        A run's results (:func:`coverage.results.read_results` or
        :func:`coverage.results.results_of`).
    out_dir : str or Path
        Folder to write into (the run's output folder).
    lang : {"zh", "en"}
    pdf : bool
        Also write ``report.pdf`` (needs WeasyPrint's system libraries; see :mod:`.pdf`).

    Returns
    -------
    list of Path
        ``report.html``, ``report.xlsx``, ``sensitivity.csv`` and, with ``pdf``, ``report.pdf``.
    """
    check_lang(lang)
    out = Path(out_dir)
    t = build_tables(results, lang=lang)
    font = chart_text(lang).font  # one lookup, one warning when there is no CJK font
    pics = _pictures(results, t, ChartText(font, lang))
    text = render_html(results.config, t, pics, lang=lang)
    paths = [write_text(out / "report.html", text), write_xlsx(t, out / "report.xlsx", lang=lang),
             write_csv(t.sensitivity, out / "sensitivity.csv")]
    if pdf:
        paths.append(write_pdf(render_html(results.config, t, pics, lang=lang,
                                           media="print"), out / "report.pdf"))
    log.info("report written: %s (%.0f kB)", paths[0], len(text.encode()) / 1e3)
    return paths
