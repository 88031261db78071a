"""The report as one self-contained HTML page (screen) or the page WeasyPrint prints (PDF).

Styles, pictures (inline SVG) and a small table-sorting script are inline, so the file
opens offline and can be e-mailed. Every text from data is HTML-escaped. The print variant adds
A4 page rules: page numbers, repeated table headers, no row split across pages, and one map a
page, each printed at the size it was drawn (on landscape pages when the area is wider than tall).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..config import AreaConfig
from ._labels import output_date, tr
from .plan import plan_html
from .staticmaps import MapImage
from .tables import Beyond, ReportTables, SiteBlocks

__all__ = ["Pictures", "render_html"]


@dataclass(frozen=True)
class Pictures:
    """The report's pictures: charts by name (inline SVG), static maps in order (SVG), ASCII ids
    given to units."""

    charts: dict[str, str] = field(default_factory=dict)
    maps: list[MapImage] = field(default_factory=list)
    unit_ids: dict[str, str] = field(default_factory=dict)


def _cell(v: Any) -> tuple[str, str]:
    """(display text, sort value) for one table cell, both HTML-escaped."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–", ""
    if isinstance(v, Beyond):
        return html.escape(str(v)), "1e12"
    if isinstance(v, (bool, np.bool_)):
        return ("✓" if v else "✗"), str(int(v))
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}", str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        text = f"{f:,.0f}" if f.is_integer() and abs(f) >= 1000 else f"{f:,.10g}"
        # 3000.0 in memory is 3000 when read back from a CSV: one key for both, so `circle15
        # report` rewrites the run's own bytes
        return text, str(int(f)) if f.is_integer() else repr(f)
    s = html.escape(str(v), quote=True)
    return s, s


def _table(df: pd.DataFrame | None, lang: str, *, sortable: bool = False,
           table_id: str = "") -> str:
    if df is None:
        return f'<p class="nc">{tr("not_computed", lang)}</p>'
    cls = ' class="sortable"' if sortable else ""
    tid = f' id="{html.escape(table_id)}"' if table_id else ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            text, key = _cell(v)
            num = (isinstance(v, (int, float, np.integer, np.floating, Beyond))
                   and not isinstance(v, bool))
            cells.append(f'<td data-v="{key}"{" class=n" if num else ""}>{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table{cls}{tid}><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
 "WenQuanYi Zen Hei",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;
 line-height:1.55}
h1{font-size:1.6em;border-bottom:3px solid #2e9e44;padding-bottom:.3em}
h2{font-size:1.25em;margin-top:2em;border-left:5px solid #2e9e44;padding-left:.5em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f4f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th.asc::after{content:" ▲"}table.sortable th.desc::after{content:" ▼"}
.nc{color:#a60;font-style:italic}.meta{color:#666}img{max-width:100%}
h3{font-size:1.05em;margin-top:1.4em}summary{cursor:pointer;margin:1em 0;font-weight:600}
#uncovered td:nth-child(-n+2){white-space:nowrap}
nav ol{columns:2}dl.kv{display:grid;grid-template-columns:max-content auto;gap:2px 1em}
dl.kv dt{font-weight:600}dl.kv dd{margin:0}
figure{margin:1.2em 0}figcaption{color:#444;font-size:.92em;margin-top:.3em}
figure.chart{margin:.6em 0}svg.chart{display:block;max-width:100%;height:auto}
svg.map{display:block;margin:0 auto;max-width:100%;height:auto}
p.note{color:#555;font-size:.9em}
@media print{nav{display:none}h2{break-after:avoid}table{break-inside:auto}}
"""

# Print rules for WeasyPrint (A4): page numbers, table headers repeated on every page, rows and
# pictures never split, each map on a page of its own at its drawn size (landscape pages for a
# wide area), no "click to sort" on paper.
_PRINT_CSS = """
@page{size:A4;margin:16mm 14mm 18mm 14mm;
 @bottom-center{content:counter(page) " / " counter(pages);font-size:8.5pt;color:#555;
  font-family:"Noto Sans CJK SC","Noto Sans CJK JP",sans-serif}
 @top-right{content:string(title);font-size:8pt;color:#777;
  font-family:"Noto Sans CJK SC","Noto Sans CJK JP",sans-serif}}
@page:first{@top-right{content:none}}
body{max-width:none;margin:0;padding:0;font-size:9.5pt;line-height:1.45;
 font-family:"Noto Sans CJK SC","Noto Sans CJK JP",sans-serif}
h1{string-set:title content();font-size:17pt}
h2{font-size:13pt;break-after:avoid;margin-top:1.2em}h3{break-after:avoid}
nav{display:block}nav ol{columns:1}
section.major{break-before:page}
table{font-size:8pt;width:100%;break-inside:auto}
thead{display:table-header-group}tr,img{break-inside:avoid}
th,td{padding:2px 4px}
@page landscape{size:A4 landscape}
section.landscape{page:landscape}
figure.map{break-inside:avoid;margin:0}figure.map+figure.map{break-before:page}
figure.map svg{display:block;margin:0 auto;max-width:100%;height:auto}
figure.map figcaption{text-align:center}
.sort-hint{display:none}div.keep{break-inside:avoid}
figure.chart{break-inside:avoid}svg.chart{max-height:235mm}
details>summary{display:none}
"""

_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function (t) {
  t.querySelectorAll('th').forEach(function (th, i) {
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('asc');
      t.querySelectorAll('th').forEach(function (h) { h.classList.remove('asc', 'desc'); });
      th.classList.add(asc ? 'asc' : 'desc');
      var tb = t.tBodies[0], rows = Array.prototype.slice.call(tb.rows);
      rows.sort(function (a, b) {
        var x = a.cells[i].getAttribute('data-v'), y = b.cells[i].getAttribute('data-v');
        var nx = parseFloat(x), ny = parseFloat(y), r;
        if (x === '' && y !== '') { r = 1; } else if (y === '' && x !== '') { r = -1; }
        else if (!isNaN(nx) && !isNaN(ny)) { r = nx - ny; } else { r = x.localeCompare(y); }
        return asc ? r : -r;
      });
      rows.forEach(function (r) { tb.appendChild(r); });
    });
  });
});
"""




def _map_svg(svg: str, width_in: float = 0.0) -> str:
    """A map (a complete ``<svg class="map">`` element) inline; on paper ``width_in`` wide."""
    if not width_in:
        return svg
    return svg.replace('<svg ', f'<svg style="width:{width_in:.3f}in" ', 1)


def _chart(svg: str, label: str) -> str:
    """A chart (a complete ``<svg>`` element) placed inline, named for screen readers."""
    return f'<figure class="chart" aria-label="{html.escape(label)}">{svg}</figure>'


def _sites_html(blocks: SiteBlocks | None, lang: str) -> str:
    if blocks is None:
        return _table(None, lang)
    e = html.escape
    out = [f'<p>{tr("sites_note", lang)}</p>', f'<h3>{tr("sites_summary", lang)}</h3>',
           _table(blocks.summary, lang, table_id="sites-summary")]
    for i, (name, tbl) in enumerate(blocks.rankings):
        out.append(f"<h3>{e(tr('ranking_of', lang, label=name))}</h3>")
        out.append(_table(tbl, lang, sortable=True, table_id=f"ranking-{i + 1}"))
    if blocks.other is not None:
        out.append(f"<details><summary>{tr('set_cover_lists', lang)}</summary>"
                   f"<h3>{tr('set_cover_lists', lang)}</h3>"
                   f"{_table(blocks.other, lang, sortable=True, table_id='set-cover')}"
                   "</details>")
    return "".join(out)


def _unit_key(pics: Pictures, lang: str) -> str:
    """With no CJK font, which ASCII id in the pictures is which unit."""
    if not pics.unit_ids:
        return ""
    items = ", ".join(f"{i} = {n}" for n, i in pics.unit_ids.items())
    return (f'<p class="note">{html.escape(tr("font_fallback", lang))} '
            f'{html.escape(tr("unit_key", lang, items=items))}</p>')


def _maps_html(pics: Pictures, lang: str, *, printing: bool) -> str:
    """The maps, numbered; on paper each at the size it was drawn (inches)."""
    if not pics.maps:
        return _table(None, lang)
    out = [f'<p>{html.escape(tr("maps_note", lang))}</p>', _unit_key(pics, lang)]
    for i, m in enumerate(pics.maps, start=1):
        cap = html.escape(tr("map_fig", lang, n=i, title=m.title))
        img = _map_svg(m.svg, width_in=m.width_in if printing else 0.0)
        out.append(f'<figure class="map" id="map-{html.escape(m.key)}">'
                   f"{img}<figcaption>{cap}</figcaption></figure>")
    return "".join(out)


def _sensitivity_html(t: ReportTables, pics: Pictures, lang: str) -> str:
    e = html.escape
    out = [f'<p>{e(tr("sens_note", lang))}</p><div class="charts">']
    for key, title in (("sens_minutes", "sens_minutes_axis"), ("sens_speed", "speed")):
        if key in pics.charts:
            out.append(_chart(pics.charts[key], tr(title, lang)))
    out.append("</div>")
    for df, head in ((t.sensitivity_minutes, "sens_table"),
                     (t.sensitivity_speed, "sens_speed_table")):
        if df is not None:  # one row per category: kept on one page with its heading
            out.append(f'<div class="keep"><h3>{e(tr(head, lang))}</h3>{_table(df, lang)}</div>')
    if not t.sensitivity["within_search"].astype(bool).all():
        out.append(f'<p class="note">{e(tr("sens_lower_bound", lang))}</p>')
    out.append(f'<p class="note">{e(tr("sens_csv", lang))}</p>')
    return "".join(out)


def _sections(t: ReportTables, pics: Pictures, lang: str,
              printing: bool) -> list[tuple[str, str, str]]:
    """(id, title, HTML body) of every section, in reading order."""
    e = html.escape
    kv = "".join(f"<dt>{e(k)}</dt><dd>{_cell(v)[0]}</dd>" for k, v in t.area)
    unit_body = _table(t.unit_cov, lang)
    if t.unit_cov is not None:
        unit_body = f'<p class="meta">{tr("pct_table_note", lang)}</p>' + unit_body
    if "unit" in pics.charts:
        unit_body += _chart(pics.charts["unit"], tr("chart_unit_cov", lang)) + _unit_key(pics,
                                                                                      lang)
    unc = t.uncovered
    if unc is not None and not len(unc):
        unc_body = f"<p>{tr('none_uncovered', lang)}</p>"
    else:
        unc_body = (f'<p class="meta sort-hint">{tr("sort_hint", lang)}</p>'
                    if unc is not None else "")
        unc_body += _table(unc, lang, sortable=True, table_id="uncovered")
    scen_body = _table(t.scenarios, lang)
    if "ba" in pics.charts:
        scen_body += _chart(pics.charts["ba"], tr("chart_before_after", lang))
    lims = "".join(f"<li>{e(x)}</li>" for x in (*t.notes, *tr_list("limitations", lang)))
    return [
        ("area", tr("sec_area", lang), f'<dl class="kv">{kv}</dl>'),
        ("sources", tr("sec_sources", lang),
         _table(t.sources, lang) + f'<p>{tr("osm_credit", lang)}</p>'),
        ("method", tr("sec_method", lang),
         f"<p>{tr('method_text', lang)}</p>" + _table(t.method, lang)),
        ("unit-coverage", tr("sec_unit_cov", lang), unit_body),
        ("population-coverage", tr("sec_pop_cov", lang), _table(t.pop_cov, lang)),
        ("maps", tr("sec_maps", lang), _maps_html(pics, lang, printing=printing)),
        ("sensitivity", tr("sec_sensitivity", lang), _sensitivity_html(t, pics, lang)),
        ("uncovered", tr("sec_uncovered", lang), unc_body),
        ("sites", tr("sec_sites", lang), _sites_html(t.site_blocks, lang)),
        *([("plan", tr("sec_plan", lang), plan_html(t.plan, lang, _table))]
          if t.plan is not None else []),
        ("scenarios", tr("sec_scenarios", lang), scen_body),
        ("provenance", tr("sec_provenance", lang),
         f"<p>{tr('osm_credit', lang)}</p><ul>{lims}</ul>"),
    ]


def tr_list(key: str, lang: str) -> tuple[str, ...]:
    """A label that is a tuple of sentences (e.g. the limitations)."""
    from .. import _i18n

    return tuple(_i18n.tr(key, lang))


_MAJOR = {"maps", "sensitivity", "uncovered", "sites", "plan", "provenance"}


def _section_class(sid: str, pics: Pictures) -> str:
    """Print classes: major sections start a page; the maps' section may be landscape."""
    classes = ["major"] if sid in _MAJOR else []
    if sid == "maps" and pics.maps and pics.maps[0].landscape:
        classes.append("landscape")
    return f' class="{" ".join(classes)}"' if classes else ""


def render_html(config: AreaConfig, t: ReportTables, pics: Pictures, *, lang: str = "zh",
                media: str = "screen") -> str:
    """The report as one self-contained HTML string.

    Parameters
    ----------
    config : AreaConfig
    t : ReportTables
    pics : Pictures
        Charts and maps (SVG), placed inline.
    lang : {"zh", "en"}
    media : {"screen", "print"}
        ``print`` adds the A4 page rules used for the PDF and leaves out the script.

    The date line appears only when :func:`~coverage.report._labels.output_date` gives one.
    """
    e = html.escape
    title = tr("report_title", lang, area=config.name)
    printing = media == "print"
    secs = _sections(t, pics, lang, printing)
    toc = "".join(f'<li><a href="#{sid}">{e(name)}</a></li>' for sid, name, _ in secs)
    parts = "".join(
        f'<section id="{sid}"{_section_class(sid, pics) if printing else ""}>'
        f"<h2>{e(name)}</h2>{content}</section>" for sid, name, content in secs)
    date = output_date()
    meta = f"<p class=meta>{tr('generated', lang)}: {date}</p>" if date else ""
    css = _CSS + (_PRINT_CSS if printing else "")
    script = "" if printing else f"<script>{_SORT_JS}</script>"
    return (
        f'<!DOCTYPE html>\n<html lang="{"en" if lang == "en" else "zh-CN"}"><head>'
        f'<meta charset="utf-8"><meta name="viewport" content="width=device-width,'
        f'initial-scale=1"><title>{e(title)}</title><style>{css}</style></head><body>'
        f"<h1>{e(title)}</h1>{meta}"
        f"<nav><b>{tr('toc', lang)}</b><ol>{toc}</ol></nav>{parts}"
        f"{script}</body></html>\n"
    )
