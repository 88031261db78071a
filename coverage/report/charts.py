"""The report's charts as inline SVG: unit x category heat map, before/after bars, sensitivity.

Hand-written SVG rather than matplotlib: a chart is a few dozen rectangles, lines and labels, so
writing them directly takes milliseconds (matplotlib's layout engine and PNG encoding took
seconds per run), and the charts stay sharp at any zoom and in the PDF (WeasyPrint draws SVG as
vectors). Label widths are estimated from the characters (a CJK character is one em wide, others
about 0.6 em), which is enough to reserve the margins. Every label goes through
:class:`~coverage.report.fonts.ChartText`, so the charts name units and categories exactly as the
static maps do. Output is deterministic: fixed number formats, no ids from memory addresses.
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import style
from .._i18n import cat_label
from ..config import AreaConfig
from ._labels import tr
from .fonts import ChartText
from .tables import ReportTables

__all__ = ["RDYLBU", "colour_of", "render_charts", "text_width_px"]

#: ColorBrewer RdYlBu (11 classes), red (0 %) to blue (100 %): the heat map's colours, as
#: matplotlib's ``RdYlBu`` interpolates them.
RDYLBU = ("#a50026", "#d73027", "#f46d43", "#fdae61", "#fee090", "#ffffbf", "#e0f3f8",
          "#abd9e9", "#74add1", "#4575b4", "#313695")

_FONT = ('font-family="Noto Sans CJK SC,Source Han Sans SC,PingFang SC,Microsoft YaHei,'
         'WenQuanYi Zen Hei,sans-serif"')
_GRID = "#dddddd"
_AXIS = "#555555"


def text_width_px(text: str, size_px: float) -> float:
    """Estimated width of ``text`` in pixels at ``size_px``: one em per wide (CJK) character,
    0.6 em per other character."""
    return size_px * sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6
                         for ch in text)


def colour_of(value_pct: float) -> str:
    """The heat map's colour of a percentage (0-100; NaN: white), interpolated in RDYLBU."""
    if math.isnan(value_pct):
        return "#ffffff"
    pos = min(max(value_pct, 0.0), 100.0) / 100.0 * (len(RDYLBU) - 1)
    i = min(int(pos), len(RDYLBU) - 2)
    lo, hi = _rgb(RDYLBU[i]), _rgb(RDYLBU[i + 1])
    f = pos - i
    return "#" + "".join(f"{round(a + (b - a) * f):02x}" for a, b in zip(lo, hi, strict=True))


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _n(x: float) -> str:
    """A coordinate: one decimal, no trailing zeros."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, s: str, size: float, *, anchor: str = "start",
          weight: str = "", colour: str = "#222222", rotate: float = 0.0) -> str:
    rot = f' transform="rotate({_n(rotate)} {_n(x)} {_n(y)})"' if rotate else ""
    bold = f' font-weight="{weight}"' if weight else ""
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" text-anchor="{anchor}" '
            f'fill="{colour}"{bold}{rot}>{html.escape(s)}</text>')


def _svg(width: float, height: float, title: str, body: Sequence[str]) -> str:
    w, h = math.ceil(width), math.ceil(height)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{w}" height="{h}" '
            f'viewBox="0 0 {w} {h}" role="img" {_FONT}><title>{html.escape(title)}</title>'
            f'<rect width="{w}" height="{h}" fill="#ffffff"/>{"".join(body)}</svg>')


def _labels(config: AreaConfig, text: ChartText) -> dict[str, str]:
    return {c.key: text.safe(cat_label(c, text.lang), c.key) for c in config.categories}


def _rotated_depth(labels: Sequence[str], size: float) -> float:
    """Height a label row rotated by 35 degrees takes below the axis (px)."""
    longest = max((text_width_px(s, size) for s in labels), default=0.0)
    return longest * math.sin(math.radians(35)) + size * 1.5


def _y_axis(x0: float, y_of: dict[float, float], x1: float, size: float) -> list[str]:
    """Horizontal grid lines with their values at the left of the plot (``y_of``: value -> px)."""
    out = []
    for value, y in y_of.items():
        out.append(f'<line x1="{_n(x0)}" y1="{_n(y)}" x2="{_n(x1)}" y2="{_n(y)}" '
                   f'stroke="{_GRID}" stroke-width="0.7"/>')
        out.append(_text(x0 - 4, y + size * 0.35, f"{value:g}", size, anchor="end"))
    return out


# --- heat map ------------------------------------------------------------------------------------

_CELL_W, _CELL_H, _TICK_PX = 58.0, 24.0, 12.0


def _heatmap(piv: pd.DataFrame, config: AreaConfig, text: ChartText) -> str:
    words = text.words_lang
    labels = _labels(config, text)
    units = [tr("all_units", words) if u == "ALL" else text.unit(u) for u in piv.index]
    cols = [labels[k] for k in piv.columns]
    data = piv.to_numpy(float)
    left = max(text_width_px(u, _TICK_PX) for u in units) + 14
    top = 34.0
    grid_w, grid_h = _CELL_W * len(cols), _CELL_H * len(units)
    bottom = top + grid_h + _rotated_depth(cols, _TICK_PX)
    bar_x = left + grid_w + 18
    title = tr("chart_unit_cov", words)
    body = [_text(left + grid_w / 2, 20, title, 14, anchor="middle")]
    for (i, j), v in np.ndenumerate(data):
        x, y = left + j * _CELL_W, top + i * _CELL_H
        dark = not math.isnan(v) and (v < 15 or v > 85)
        body.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(_CELL_W)}" '
                    f'height="{_n(_CELL_H)}" fill="{colour_of(v)}"/>')
        body.append(_text(x + _CELL_W / 2, y + _CELL_H / 2 + 4, "–" if math.isnan(v)
                          else f"{v:.0f}", 11, anchor="middle",
                          colour="#ffffff" if dark else "#000000"))
    body.append(f'<rect x="{_n(left)}" y="{_n(top)}" width="{_n(grid_w)}" '
                f'height="{_n(grid_h)}" fill="none" stroke="{_AXIS}" stroke-width="0.8"/>')
    for i, u in enumerate(units):
        body.append(_text(left - 6, top + (i + 0.5) * _CELL_H + 4, u, _TICK_PX, anchor="end"))
    for j, c in enumerate(cols):
        x, y = left + (j + 0.5) * _CELL_W, top + grid_h + 12
        body.append(_text(x, y, c, _TICK_PX, anchor="end", rotate=-35))
    body += _colour_bar(bar_x, top, grid_h)
    return _svg(bar_x + 60, bottom + 8, title, body)


def _colour_bar(x: float, top: float, height: float) -> list[str]:
    """A vertical 0-100 % scale in the heat map's colours (one gradient stop per class of the
    palette, 0 % at the bottom)."""
    stops = "".join(f'<stop offset="{10 * i}%" stop-color="{c}"/>'
                    for i, c in enumerate(RDYLBU))
    out = [f'<defs><linearGradient id="circle15-heat" x1="0" y1="1" x2="0" y2="0">{stops}'
           "</linearGradient></defs>",
           f'<rect x="{_n(x)}" y="{_n(top)}" width="14" height="{_n(height)}" '
           f'fill="url(#circle15-heat)" stroke="{_AXIS}" stroke-width="0.8"/>']
    for value in range(0, 101, 20):
        y = top + height * (1 - value / 100)
        out.append(f'<line x1="{_n(x + 14)}" y1="{_n(y)}" x2="{_n(x + 18)}" y2="{_n(y)}" '
                   f'stroke="{_AXIS}" stroke-width="0.8"/>')
        out.append(_text(x + 21, y + 4, str(value), 11))
    out.append(_text(x + 7, top - 6, "%", 11, anchor="middle"))
    return out


# --- before / after ------------------------------------------------------------------------------


def _legend(x_right: float, y: float, items: Sequence[tuple[str, str]], size: float) -> list[str]:
    """A one-row legend ending at ``x_right``: (label, SVG of a 16 x 10 px swatch at 0, 0)."""
    widths = [22 + text_width_px(label, size) + 12 for label, _ in items]
    x = x_right - sum(widths)
    out = []
    for (label, swatch), w in zip(items, widths, strict=True):
        out.append(f'<g transform="translate({_n(x)} {_n(y - 8)})">{swatch}</g>')
        out.append(_text(x + 22, y + 1, label, size))
        x += w
    return out


def _before_after(ba: pd.DataFrame, config: AreaConfig, text: ChartText) -> str:
    words = text.words_lang
    labels = _labels(config, text)
    series = [("existing", "scenario_existing", style.NO_DATA_COLOUR)]
    if ba["with_proposed"].notna().any():
        series.append(("with_proposed", "scenario_with_proposed", style.PROPOSED_COLOUR))
    if "optimal" in ba and ba["optimal"].notna().any():
        series.append(("optimal", "scenario_chart_optimal", style.OPTIMAL_COLOUR))
    names = [labels[k] for k in ba.index]
    group_w = max(20.0 * len(series) + 18, 56.0)
    left, top, plot_h = 46.0, 54.0, 230.0
    plot_w = group_w * len(names)
    bottom = top + plot_h + _rotated_depth(names, _TICK_PX)
    title = tr("chart_before_after", words)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - v / 115)

    body = [_text(left + plot_w / 2, 20, title, 14, anchor="middle")]
    body += _y_axis(left, {v: y_of(v) for v in range(0, 101, 20)}, left + plot_w, 11)
    bar_w = 0.8 * group_w / len(series)
    for j, _ in enumerate(names):
        for i, (col, _key, colour) in enumerate(series):
            v = float(ba[col].iloc[j])
            if math.isnan(v):
                continue
            x = left + (j + 0.1) * group_w + i * bar_w
            body.append(f'<rect x="{_n(x)}" y="{_n(y_of(v))}" width="{_n(bar_w)}" '
                        f'height="{_n(y_of(0) - y_of(v))}" fill="{colour}" stroke="{_AXIS}" '
                        'stroke-width="0.4"/>')
    body.append(f'<path d="M{_n(left)} {_n(top)}V{_n(y_of(0))}H{_n(left + plot_w)}" '
                f'fill="none" stroke="{_AXIS}" stroke-width="0.8"/>')
    for j, name in enumerate(names):
        body.append(_text(left + (j + 0.5) * group_w, y_of(0) + 12, name, _TICK_PX,
                          anchor="end", rotate=-35))
    body.append(_text(14, top + plot_h / 2, "%", 11, anchor="middle", rotate=-90))
    swatch = '<rect width="16" height="10" fill="{}" stroke="#555555" stroke-width="0.4"/>'
    body += _legend(left + plot_w, 42, [(tr(key, words), swatch.format(colour))
                                        for _, key, colour in series], 11)
    legend_w = sum(34 + text_width_px(tr(key, words), 11) for _, key, _ in series)
    return _svg(max(left + plot_w, legend_w + 10) + 10, bottom + 8, title, body)


# --- sensitivity ---------------------------------------------------------------------------------

_PANEL_W, _PANEL_H, _PANEL_GAP_X, _PANEL_GAP_Y = 190.0, 120.0, 18.0, 42.0


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values between lo and hi (steps of 1, 2 or 5 x 10^k)."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _panel(sens: pd.DataFrame, own: float, colour: str, xcol: str,
           frame: tuple[float, float, float, float]) -> list[str]:
    """One category's curves in the panel ``frame`` (x0, y0, x_min, x_max)."""
    x0, y0, lo, hi = frame

    def px(x: float) -> float:
        return x0 + _PANEL_W * (x - lo) / (hi - lo) if hi > lo else x0 + _PANEL_W / 2

    def py(v: float) -> float:
        return y0 + _PANEL_H * (1 - v / 103)

    out = []
    for v in range(0, 101, 20):
        out.append(f'<line x1="{_n(x0)}" y1="{_n(py(v))}" x2="{_n(x0 + _PANEL_W)}" '
                   f'y2="{_n(py(v))}" stroke="{_GRID}" stroke-width="0.5"/>')
    out.append(f'<line x1="{_n(px(own))}" y1="{_n(y0)}" x2="{_n(px(own))}" '
               f'y2="{_n(y0 + _PANEL_H)}" stroke="{style.BOUNDARY_COLOUR}" stroke-width="0.8" '
               'stroke-dasharray="1.5 2"/>')
    for scenario, dash in (("existing", ""), ("with_proposed", ' stroke-dasharray="6 3"')):
        g = sens[sens["scenario"] == scenario].sort_values(xcol)
        if len(g):
            pts = " ".join(f"{_n(px(x))},{_n(py(v))}"
                           for x, v in zip(g[xcol], g["coverage_pct"], strict=True))
            out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" '
                       f'stroke-width="1.6"{dash}/>')
    at = sens[sens["at_config"] & (sens["scenario"] == "existing")]
    for x, v in zip(at[xcol], at["coverage_pct"], strict=True):
        out.append(f'<circle cx="{_n(px(x))}" cy="{_n(py(v))}" r="3" fill="{colour}"/>')
    out.append(f'<rect x="{_n(x0)}" y="{_n(y0)}" width="{_n(_PANEL_W)}" '
               f'height="{_n(_PANEL_H)}" fill="none" stroke="{_AXIS}" stroke-width="0.8"/>')
    return out


def _sensitivity(sens: pd.DataFrame, config: AreaConfig, text: ChartText, varied: str) -> str:
    """Small multiples: one panel per category, existing solid, with proposed dashed."""
    words = text.words_lang
    labels = _labels(config, text)
    cats = [c for c in config.categories if (sens["category"] == c.key).any()]
    ncol = 4 if len(cats) > 6 else min(3, len(cats))
    nrow = math.ceil(len(cats) / ncol)
    xcol = "minutes" if varied == "minutes" else "speed_m_s"
    s_all = sens[sens["varied"] == varied]
    lo, hi = float(s_all[xcol].min()), float(s_all[xcol].max())
    left, top = 62.0, 74.0
    title = tr(f"sens_{varied}_title", words)
    width = left + ncol * _PANEL_W + (ncol - 1) * _PANEL_GAP_X + 12
    body = [_text(width / 2, 20, title, 14, anchor="middle")]
    for k, cat in enumerate(cats):
        r, c = divmod(k, ncol)
        x0 = left + c * (_PANEL_W + _PANEL_GAP_X)
        y0 = top + r * (_PANEL_H + _PANEL_GAP_Y)
        s = s_all[s_all["category"] == cat.key]
        own = cat.minutes if varied == "minutes" else cat.speed_m_s
        colour = style.category_colour(config.categories.index(cat))
        body.append(_text(x0 + _PANEL_W / 2, y0 - 6, labels[cat.key], 11.5, anchor="middle"))
        body += _panel(s, own, colour, xcol, (x0, y0, lo, hi))
        if c == 0:  # shared y axis: values on the first column
            for v in range(0, 101, 20):
                y = y0 + _PANEL_H * (1 - v / 103)
                body.append(_text(x0 - 4, y + 3.5, str(v), 10, anchor="end"))
        if k + ncol >= len(cats):  # shared x axis: values under the lowest panel of a column
            for x in _ticks(lo, hi):
                xp = x0 + _PANEL_W * (x - lo) / (hi - lo) if hi > lo else x0 + _PANEL_W / 2
                body.append(_text(xp, y0 + _PANEL_H + 13, f"{x:g}", 10, anchor="middle"))
    height = top + nrow * _PANEL_H + (nrow - 1) * _PANEL_GAP_Y + 46
    axis = "sens_minutes_axis" if varied == "minutes" else "speed"
    body.append(_text(left + (width - left) / 2, height - 10, tr(axis, words), 12,
                      anchor="middle"))
    body.append(_text(16, top + (height - top) / 2, tr("pop_weighted_pct", words), 12,
                      anchor="middle", rotate=-90))
    line = '<line x1="0" y1="5" x2="16" y2="5" stroke="{}" stroke-width="1.6"{}/>'
    colour = style.category_colour(0)
    body += _legend(width - 12, 42, [
        (tr("scenario_existing", words), line.format(colour, "")),
        (tr("scenario_with_proposed", words), line.format(colour, ' stroke-dasharray="6 3"')),
    ], 11)
    return _svg(width, height, title, body)


def render_charts(t: ReportTables, config: AreaConfig, text: ChartText) -> dict[str, str]:
    """SVG markup of the charts: ``unit``, ``ba``, ``sens_minutes``, ``sens_speed`` (when
    present), each a complete ``<svg>`` element to place inline in the report.

    Parameters
    ----------
    t : ReportTables
    config : AreaConfig
    text : ChartText
        The report's language and the ASCII ids of units when there is no CJK font.
    """
    out: dict[str, str] = {}
    if t.chart_unit is not None and t.chart_unit.size:
        out["unit"] = _heatmap(t.chart_unit, config, text)
    if t.chart_ba is not None and len(t.chart_ba):
        out["ba"] = _before_after(t.chart_ba, config, text)
    if len(t.sensitivity):
        out["sens_minutes"] = _sensitivity(t.sensitivity, config, text, "minutes")
        out["sens_speed"] = _sensitivity(t.sensitivity, config, text, "speed")
    return out
