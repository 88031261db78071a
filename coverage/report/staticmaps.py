"""Static maps for the report and the PDF, drawn with matplotlib from the run's layers.

No basemap tiles are downloaded: the walking network, unit boundaries and compounds are the map.
Each map has a title, unit names, a scale bar, a north arrow (true north, which differs from the
projected grid's "up" by the meridian convergence), a legend and the OSM credit. Colours come
from :mod:`coverage.style`, so they match the web map and the QGIS project.

* :func:`overview_map`: every compound coloured by how many categories it lacks, the planned
  stations and the optimal new sites of every sited category.
* :func:`category_map`: one sited category: compounds covered / not, its existing facilities,
  the planned stations, the greedy-ranked sites numbered by rank and the optimal ones ringed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from .. import style
from .._i18n import cat_label
from ..config import Category
from ..results import Results
from ._labels import tr
from .charts import png
from .fonts import ChartText, font_context
from .tables import site_points

__all__ = ["MAX_RANKED", "MapImage", "category_map", "overview_map", "report_maps",
           "sited_categories"]

#: At most this many greedy-ranked sites are numbered on a map (the rest are in the table).
MAX_RANKED = 25

# Inches: the map fits A4 portrait (17 cm text width) with the title above and legend below.
_MAP_WIDTH_IN = 6.7
_MAX_MAP_HEIGHT_IN = 7.4
_TITLE_IN = 0.45
_LEGEND_IN = 0.85
_NICE_M = (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000)


@dataclass(frozen=True)
class MapImage:
    """One static map: its key (``overview`` or a category key), title and PNG bytes."""

    key: str
    title: str
    png: bytes


def sited_categories(results: Results) -> list[Category]:
    """Categories with ranked or selected sites, in config order."""
    if not results.has_sites or results.sites is None:
        return []
    keys = set(results.sites["category"].astype(str))
    return [c for c in results.config.categories if c.key in keys]


# --- drawing helpers ---------------------------------------------------------------------------

def _halo(width: float = 2.5) -> list[Any]:
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width, foreground="white")]


def _frame(results: Results) -> tuple[Any, Any, tuple[float, float, float, float]]:
    """Figure, axes and extent (units' bounds plus a 4 % margin); the figure takes the
    extent's shape, with room for the title above and the legend below."""
    from matplotlib.figure import Figure

    x0, y0, x1, y1 = results.boundaries.total_bounds
    pad = 0.04 * max(x1 - x0, y1 - y0, 1.0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    width_in = _MAP_WIDTH_IN
    map_h = min(max(width_in * (y1 - y0) / (x1 - x0), 3.2), _MAX_MAP_HEIGHT_IN)
    if map_h == _MAX_MAP_HEIGHT_IN:  # tall area: narrower map, same page
        width_in = map_h * (x1 - x0) / (y1 - y0)
    # widen the extent to the map box so that the axes fill it exactly
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    scale = max((x1 - x0) / width_in, (y1 - y0) / map_h)  # metres per inch
    x0, x1 = cx - scale * width_in / 2, cx + scale * width_in / 2
    y0, y1 = cy - scale * map_h / 2, cy + scale * map_h / 2
    fig_w = max(width_in, _MAP_WIDTH_IN)
    fig_h = _TITLE_IN + map_h + _LEGEND_IN
    fig = Figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes(((fig_w - width_in) / 2 / fig_w, _LEGEND_IN / fig_h, width_in / fig_w,
                       map_h / fig_h))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()
    return fig, ax, (x0, y0, x1, y1)


def _streets(ax: Any, results: Results) -> bool:
    streets = results.streets
    if streets is None or not len(streets):
        return False
    streets.plot(ax=ax, color=style.STREET_COLOUR, linewidth=0.35, zorder=1)
    return True


def _units(ax: Any, results: Results, text: ChartText) -> None:
    b = results.boundaries
    b.boundary.plot(ax=ax, color=style.BOUNDARY_COLOUR, linewidth=1.1, zorder=4)
    for name, pt in zip(b["name"], b.geometry.representative_point(), strict=True):
        ax.text(pt.x, pt.y, text.unit(name), ha="center", va="center", fontsize=9,
                fontweight="bold", color=style.BOUNDARY_COLOUR, path_effects=_halo(3),
                zorder=6.5)  # under the sites: their numbers matter more


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    return float(max([n for n in _NICE_M if n <= target] or [_NICE_M[0]]))


def _scale_bar(ax: Any, extent: tuple[float, float, float, float], text: ChartText) -> None:
    """Two-segment black/white bar at the lower left, labelled in m or km."""
    from matplotlib.patches import Rectangle

    x0, y0, x1, y1 = extent
    length = _nice_length(x1 - x0)
    h = 0.012 * (y1 - y0)
    bx, by = x0 + 0.03 * (x1 - x0), y0 + 0.035 * (y1 - y0)
    for i in range(2):
        ax.add_patch(Rectangle((bx + i * length / 2, by), length / 2, h, zorder=10,
                               facecolor="black" if i == 0 else "white", edgecolor="black",
                               linewidth=0.8))
    words = text.words_lang
    unit = tr("km", words) if length >= 1000 else tr("metres", words)
    value = f"{length / 1000:g}" if length >= 1000 else f"{length:g}"
    for x, label in ((bx, "0"), (bx + length, f"{value} {unit}")):
        ax.text(x, by + 1.8 * h, label, ha="center", va="bottom", fontsize=7.5, zorder=10,
                path_effects=_halo())


def _true_north_deg(results: Results, extent: tuple[float, float, float, float]) -> float:
    """Angle (degrees, counter-clockwise from the map's up) of true north at the map centre."""
    cx, cy = (extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2
    to_ll = Transformer.from_crs(results.config.crs, "EPSG:4326", always_xy=True)
    to_xy = Transformer.from_crs("EPSG:4326", results.config.crs, always_xy=True)
    lon, lat = to_ll.transform(cx, cy)
    nx, ny = to_xy.transform(lon, lat + 0.01)
    return math.degrees(math.atan2(-(nx - cx), ny - cy))


def _north_arrow(ax: Any, results: Results, extent: tuple[float, float, float, float],
                 text: ChartText) -> None:
    angle = math.radians(_true_north_deg(results, extent))
    ux, uy = -math.sin(angle), math.cos(angle)
    x, y, size = 0.94, 0.86, 0.07
    ax.annotate("", xy=(x + ux * size / 2, y + uy * size / 2),
                xytext=(x - ux * size / 2, y - uy * size / 2), xycoords="axes fraction",
                arrowprops={"arrowstyle": "-|>,head_width=0.45,head_length=0.9",
                            "color": "black", "linewidth": 1.6}, zorder=10)
    ax.text(x + ux * size * 0.85, y + uy * size * 0.85, tr("north", text.words_lang),
            transform=ax.transAxes, ha="center", va="center", fontsize=10, fontweight="bold",
            path_effects=_halo(), zorder=10)


def _finish(fig: Any, ax: Any, results: Results, extent: tuple[float, float, float, float],
            text: ChartText, title: str, handles: list[Any]) -> None:
    _scale_bar(ax, extent, text)
    _north_arrow(ax, results, extent, text)
    fig_h = fig.get_figheight()
    fig.text(0.5, 1 - 0.25 / fig_h, title, ha="center", va="center", fontsize=12.5,
             fontweight="bold")
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 0.0), handlelength=1.6, columnspacing=1.4)
    credit = tr("osm_credit", text.words_lang)
    ax.text(0.995, 0.005, credit, transform=ax.transAxes, ha="right", va="bottom", fontsize=6,
            color="#444", path_effects=_halo(2), zorder=10)


def _legend_patch(colour: str, label: str, edge: str = "#555") -> Any:
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, edgecolor=edge, linewidth=0.5, label=label)


def _legend_marker(label: str, **kw: Any) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([], [], linestyle="none", label=label, **kw)


def _common_handles(text: ChartText, has_streets: bool) -> list[Any]:
    from matplotlib.lines import Line2D

    words = text.words_lang
    out = [Line2D([], [], color=style.BOUNDARY_COLOUR, linewidth=1.1,
                  label=tr("legend_units", words))]
    if has_streets:
        out.append(Line2D([], [], color=style.STREET_COLOUR, linewidth=0.8,
                          label=tr("legend_streets", words)))
    return out


def _points(layer: gpd.GeoDataFrame | None, key: str | None = None) -> gpd.GeoDataFrame:
    if layer is None or not len(layer):
        return gpd.GeoDataFrame(geometry=[])
    if key is not None and "category" in layer:
        layer = layer[layer["category"].astype(str) == key]
    if "off_network" in layer:
        layer = layer[~layer["off_network"].fillna(False).astype(bool)]
    return layer


def _plot_proposed(ax: Any, results: Results, key: str | None, text: ChartText,
                   handles: list[Any]) -> None:
    prop = _points(results.proposed, key)
    if not len(prop):
        return
    ax.scatter(prop.geometry.x, prop.geometry.y, marker="s", s=70, zorder=7,
               facecolor="white", edgecolor=style.PROPOSED_COLOUR, linewidth=2.2)
    handles.append(_legend_marker(tr("legend_proposed", text.words_lang), marker="s",
                                  markersize=7, markerfacecolor="white",
                                  markeredgecolor=style.PROPOSED_COLOUR, markeredgewidth=1.8))


def _site_points(results: Results, key: str, method: str) -> pd.DataFrame:
    """Sites of one category and method with x, y in the area CRS, by rank."""
    sites = results.sites
    if sites is None:
        return pd.DataFrame(columns=["rank", "x", "y"])
    s = sites[(sites["category"].astype(str) == key) & (sites["method"] == method)]
    s = s.sort_values("rank")
    pts = site_points(results, s)
    return pd.DataFrame({"rank": s["rank"].astype(int).to_numpy(),
                         "x": pts.x.to_numpy(), "y": pts.y.to_numpy()})


def _plot_optimal(ax: Any, pts: pd.DataFrame, text: ChartText, handles: list[Any]) -> None:
    if not len(pts):
        return
    ax.scatter(pts["x"], pts["y"], s=340, zorder=7.5, facecolor="none",
               edgecolor=style.OPTIMAL_COLOUR, linewidth=3.2)
    ax.scatter(pts["x"], pts["y"], s=430, zorder=7.4, facecolor="none",
               edgecolor=style.BOUNDARY_COLOUR, linewidth=0.7)
    handles.append(_legend_marker(tr("legend_optimal", text.words_lang), marker="o",
                                  markersize=13, markerfacecolor="none",
                                  markeredgecolor=style.OPTIMAL_COLOUR, markeredgewidth=3))


def _plot_ranked(ax: Any, pts: pd.DataFrame, text: ChartText, handles: list[Any]) -> None:
    pts = pts.head(MAX_RANKED)
    if not len(pts):
        return
    ax.scatter(pts["x"], pts["y"], s=150, zorder=8, facecolor=style.SITE_COLOUR,
               edgecolor="black", linewidth=0.7)
    for r in pts.itertuples():
        ax.text(r.x, r.y, str(r.rank), ha="center", va="center", fontsize=6.5,
                fontweight="bold", color="black", zorder=8.5)
    handles.append(_legend_marker(tr("legend_ranked", text.words_lang), marker="o",
                                  markersize=10, markerfacecolor=style.SITE_COLOUR,
                                  markeredgecolor="black"))


# --- the maps ----------------------------------------------------------------------------------

def category_map(results: Results, cat: Category, text: ChartText, *, dpi: int = 150) -> bytes:
    """PNG of one category: coverage, facilities, planned stations, ranked and optimal sites."""
    words = text.words_lang
    fig, ax, extent = _frame(results)
    has_streets = _streets(ax, results)
    comp = results.compounds
    covered = comp[f"covered_{cat.key}"].fillna(False).astype(bool).to_numpy()
    for mask, colour in ((covered, style.COVERED_COLOUR), (~covered, style.UNCOVERED_COLOUR)):
        if mask.any():
            comp[mask].plot(ax=ax, color=colour, alpha=0.72, edgecolor="white", linewidth=0.3,
                            zorder=2)
    handles = [_legend_patch(style.COVERED_COLOUR, tr("legend_covered", words)),
               _legend_patch(style.UNCOVERED_COLOUR, tr("legend_uncovered", words))]
    fac = _points(results.facilities, cat.key)
    colour = style.category_colour(results.config.categories.index(cat))
    if len(fac):
        ax.scatter(fac.geometry.x, fac.geometry.y, s=30, marker="^", zorder=6, color=colour,
                   edgecolor="black", linewidth=0.6)
        handles.append(_legend_marker(tr("legend_facility", words), marker="^", markersize=7,
                                      markerfacecolor=colour, markeredgecolor="black",
                                      markeredgewidth=0.6))
    _plot_proposed(ax, results, cat.key, text, handles)
    _plot_optimal(ax, _site_points(results, cat.key, "optimal"), text, handles)
    _plot_ranked(ax, _site_points(results, cat.key, "greedy"), text, handles)
    _units(ax, results, text)
    handles += _common_handles(text, has_streets)
    title = tr("map_category", words, label=text.safe(cat_label(cat, text.lang), cat.key),
               minutes=cat.minutes)
    _finish(fig, ax, results, extent, text, title, handles)
    return png(fig, dpi)


def _n_missing(results: Results) -> np.ndarray:
    comp = results.compounds
    cols = [f"covered_{c.key}" for c in results.config.categories if f"covered_{c.key}" in comp]
    covered = comp[cols].fillna(False).astype(bool).to_numpy()
    return (~covered).sum(axis=1)


def overview_map(results: Results, text: ChartText, *, dpi: int = 150) -> bytes:
    """PNG of all categories: compounds by categories missing, planned and optimal sites."""
    words = text.words_lang
    fig, ax, extent = _frame(results)
    has_streets = _streets(ax, results)
    classes = np.array([style.missing_class(int(n)) for n in _n_missing(results)], dtype=int)
    handles = []
    for i, (_, colour, key) in enumerate(style.ALL_CATEGORIES_CLASSES):
        sel = classes == i
        if sel.any():
            results.compounds[sel].plot(ax=ax, color=colour, alpha=0.85, edgecolor="white",
                                        linewidth=0.3, zorder=2)
        handles.append(_legend_patch(colour, tr(key, words)))
    _plot_proposed(ax, results, None, text, handles)
    optimal = [_site_points(results, c.key, "optimal") for c in sited_categories(results)]
    _plot_optimal(ax, pd.concat(optimal) if optimal else pd.DataFrame(), text, handles)
    _units(ax, results, text)
    handles += _common_handles(text, has_streets)
    _finish(fig, ax, results, extent, text, tr("map_overview", words), handles)
    return png(fig, dpi)


def report_maps(results: Results, text: ChartText, *, dpi: int = 150) -> list[MapImage]:
    """The overview map, then one map per sited category (config order)."""
    words = text.words_lang
    with font_context(text):
        out = [MapImage("overview", tr("map_overview", words), overview_map(results, text,
                                                                            dpi=dpi))]
        for cat in sited_categories(results):
            title = tr("map_category", words, label=text.safe(cat_label(cat, text.lang),
                                                               cat.key), minutes=cat.minutes)
            out.append(MapImage(cat.key, title, category_map(results, cat, text, dpi=dpi)))
    return out
