"""The report's charts as PNG bytes: unit x category heat map, before/after bars, sensitivity.

Every label goes through :class:`~coverage.report.fonts.ChartText`, so a machine without a CJK
font draws ids and English, never empty boxes.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pandas as pd

from .. import style
from .._i18n import cat_label
from ..config import AreaConfig
from ._labels import tr
from .fonts import ChartText, font_context
from .tables import ReportTables

__all__ = ["png", "render_charts"]


def png(fig: Any, dpi: int) -> bytes:
    """The figure as PNG bytes (no timestamp in the metadata)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _labels(config: AreaConfig, text: ChartText) -> dict[str, str]:
    return {c.key: text.safe(cat_label(c, text.lang), c.key) for c in config.categories}


def _heatmap(piv: pd.DataFrame, config: AreaConfig, text: ChartText, dpi: int) -> bytes:
    from matplotlib.figure import Figure

    words = text.words_lang
    labels = _labels(config, text)
    units = [tr("all_units", words) if u == "ALL" else text.unit(u) for u in piv.index]
    cols = [labels[k] for k in piv.columns]
    fig = Figure(figsize=(max(5.0, 0.75 * len(cols) + 2.5), 0.42 * len(units) + 2.0))
    ax = fig.add_subplot()
    data = piv.to_numpy(float)
    im = ax.imshow(data, cmap="RdYlBu", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=35, ha="right")
    ax.set_yticks(range(len(units)), units)
    for (i, j), v in np.ndenumerate(data):
        dark = not math.isnan(v) and (v < 15 or v > 85)
        ax.text(j, i, "–" if math.isnan(v) else f"{v:.0f}", ha="center", va="center",
                fontsize=8, color="white" if dark else "black")
    fig.colorbar(im, ax=ax, label="%")
    ax.set_title(tr("chart_unit_cov", words), fontsize=11)
    return png(fig, dpi)


def _before_after(ba: pd.DataFrame, config: AreaConfig, text: ChartText, dpi: int) -> bytes:
    from matplotlib.figure import Figure

    words = text.words_lang
    labels = _labels(config, text)
    fig = Figure(figsize=(max(5.0, 0.7 * len(ba) + 2.5), 3.6))
    ax = fig.add_subplot()
    x = np.arange(len(ba))
    series = [("existing", "scenario_existing", style.NO_DATA_COLOUR)]
    if ba["with_proposed"].notna().any():
        series.append(("with_proposed", "scenario_with_proposed", style.PROPOSED_COLOUR))
    if "optimal" in ba and ba["optimal"].notna().any():
        series.append(("optimal", "scenario_chart_optimal", style.OPTIMAL_COLOUR))
    width = 0.8 / len(series)
    for i, (col, key, colour) in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, ba[col], width, label=tr(key, words),
               color=colour, edgecolor="#555", linewidth=0.4)
    ax.set_xticks(x, [labels[k] for k in ba.index], rotation=35, ha="right")
    ax.set_ylim(0, 115)
    ax.set_ylabel("%")
    ax.legend(loc="upper right", ncol=len(series), fontsize=8)
    ax.set_title(tr("chart_before_after", words), fontsize=11)
    return png(fig, dpi)


def _sensitivity(sens: pd.DataFrame, config: AreaConfig, text: ChartText, varied: str,
                 dpi: int) -> bytes:
    """Small multiples: one panel per category, existing solid, with proposed dashed."""
    from matplotlib.figure import Figure

    words = text.words_lang
    labels = _labels(config, text)
    cats = [c for c in config.categories if (sens["category"] == c.key).any()]
    ncol = 4 if len(cats) > 6 else min(3, len(cats))
    nrow = math.ceil(len(cats) / ncol)
    fig = Figure(figsize=(2.35 * ncol + 0.6, 1.85 * nrow + 0.9), layout="constrained")
    axes = fig.subplots(nrow, ncol, sharex=True, sharey=True, squeeze=False)
    xcol = "minutes" if varied == "minutes" else "speed_m_s"
    for ax, cat in zip(axes.flat, cats, strict=False):
        s = sens[(sens["category"] == cat.key) & (sens["varied"] == varied)]
        colour = style.category_colour(config.categories.index(cat))
        for scenario, ls in (("existing", "-"), ("with_proposed", "--")):
            g = s[s["scenario"] == scenario]
            if len(g):
                ax.plot(g[xcol], g["coverage_pct"], ls, color=colour, linewidth=1.6,
                        label=tr(f"scenario_{scenario}", words))
        own = cat.minutes if varied == "minutes" else cat.speed_m_s
        ax.axvline(own, color=style.BOUNDARY_COLOUR, linewidth=0.8, linestyle=":")
        at = s[s["at_config"] & (s["scenario"] == "existing")]
        ax.plot(at[xcol], at["coverage_pct"], "o", color=colour, markersize=4)
        ax.set_title(labels[cat.key], fontsize=8.5)
        ax.set_ylim(0, 103)
        ax.grid(alpha=0.3, linewidth=0.5)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(cats):]:
        ax.set_visible(False)
    axis = "sens_minutes_axis" if varied == "minutes" else "speed"
    fig.supxlabel(tr(axis, words), fontsize=9)
    fig.supylabel(tr("pop_weighted_pct", words), fontsize=9)
    fig.suptitle(tr(f"sens_{varied}_title", words), fontsize=11)
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, [*names], loc="outside upper right", ncol=2, fontsize=8, frameon=False)
    return png(fig, dpi)


def render_charts(t: ReportTables, config: AreaConfig, text: ChartText, *,
                  dpi: int = 110) -> dict[str, bytes]:
    """PNG bytes of the charts: ``unit``, ``ba``, ``sens_minutes``, ``sens_speed`` (when present).

    Parameters
    ----------
    t : ReportTables
    config : AreaConfig
    text : ChartText
        Fonts at hand and the report's language.
    dpi : int
        Resolution (110 for the HTML, 200 or more for print).
    """
    out: dict[str, bytes] = {}
    with font_context(text):
        if t.chart_unit is not None and t.chart_unit.size:
            out["unit"] = _heatmap(t.chart_unit, config, text, dpi)
        if t.chart_ba is not None and len(t.chart_ba):
            out["ba"] = _before_after(t.chart_ba, config, text, dpi)
        if len(t.sensitivity):
            out["sens_minutes"] = _sensitivity(t.sensitivity, config, text, "minutes", dpi)
            out["sens_speed"] = _sensitivity(t.sensitivity, config, text, "speed", dpi)
    return out
