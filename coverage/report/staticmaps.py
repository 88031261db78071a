"""Static maps for the report and the PDF, drawn with matplotlib from the run's layers.

No basemap tiles are downloaded: the walk network (``results.streets``), unit boundaries and
compounds are the map. Each map has a title, unit names, a scale bar, a north arrow (true north,
which differs from the projected grid's "up" by the meridian convergence), a legend and the OSM
credit. Symbols, colours (:mod:`coverage.style`) and legend words (:mod:`coverage._i18n`) are
the web map's: dots in the category's colour for facilities, a purple diamond marked P for a
planned station, a numbered circle in the category's colour for a ranked site, a gold star for
the optimal selection, a square in the category's colour for the joint plan, dashed unit
boundaries.

* :func:`overview_map`: every compound coloured by how many categories it lacks, the planned
  stations and the optimal new sites of every sited category.
* :func:`category_map`: one sited category: compounds within its walk or not, its facilities,
  the planned stations, the greedy-ranked sites numbered by rank and the optimal ones starred.
* :func:`plan_map`: the joint plan: which candidate space becomes which facility.

Every map has the same frame (:func:`map_layout`): the figure is drawn at the size it is printed,
on an A4 landscape page with the legend at the right when the area is wider than tall, else on
an A4 portrait page with the legend below.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .. import style
from .._i18n import cat_label
from ..config import Category
from ..results import Results
from ._labels import tr
from .fonts import ChartText, font_context
from .tables import site_points

__all__ = ["MAX_RANKED", "MapImage", "MapLayout", "category_map", "map_layout", "overview_map",
           "plan_map", "report_maps", "sited_categories"]

#: At most this many greedy-ranked sites are numbered on a map (the rest are in the table).
MAX_RANKED = 25

# The printable area of an A4 page with the report's margins (inches), less the room the maps
# section's heading, note and each figure's caption take.
_LANDSCAPE_BOX_IN = (10.4, 5.0)
_PORTRAIT_BOX_IN = (7.1, 8.4)
_TITLE_IN = 0.45
_LEGEND_RIGHT_IN = 2.55  # legend column beside the map (landscape)
_LEGEND_BELOW_IN = 1.15  # legend band under the map (portrait)
_NICE_M = (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000)
_UNIT_PT = 9.0  # unit names
_DARK = "#222222"


@dataclass(frozen=True)
class MapImage:
    """One static map: its key (``overview``, a category key or ``plan``), title, PNG bytes,
    and its size as printed (inches; the PNG is drawn at that size)."""

    key: str
    title: str
    png: bytes
    width_in: float = 0.0
    height_in: float = 0.0
    landscape: bool = False


@dataclass(frozen=True)
class MapLayout:
    """The frame every map of an area shares.

    Attributes
    ----------
    extent : (x0, y0, x1, y1)
        The map's extent in the area CRS (metres): the units' bounds plus a margin, widened to
        the map box's shape.
    map_w_in, map_h_in : float
        The map box (inches).
    landscape : bool
        True: A4 landscape page, legend at the right; False: A4 portrait, legend below.
    """

    extent: tuple[float, float, float, float]
    map_w_in: float
    map_h_in: float
    landscape: bool

    @property
    def fig_size_in(self) -> tuple[float, float]:
        if self.landscape:  # title and legend in a column beside the map
            return self.map_w_in + _LEGEND_RIGHT_IN, self.map_h_in
        return max(self.map_w_in, 5.5), _TITLE_IN + self.map_h_in + _LEGEND_BELOW_IN

    @property
    def m_per_pt(self) -> float:
        """Metres on the ground per typographic point on the map."""
        return (self.extent[2] - self.extent[0]) / (self.map_w_in * 72)


def _fit(width_m: float, height_m: float, box_w: float, box_h: float) -> tuple[float, float]:
    scale = min(box_w / width_m, box_h / height_m)
    return width_m * scale, height_m * scale


def map_layout(results: Results) -> MapLayout:
    """The frame of the area's maps: an area wider than tall is drawn for an A4 landscape page
    with the title and legend in a column at the right, any other for a portrait page with the
    title above and the legend below."""
    x0, y0, x1, y1 = results.boundaries.total_bounds
    pad = 0.04 * max(x1 - x0, y1 - y0, 1.0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    w_m, h_m = x1 - x0, y1 - y0
    landscape = w_m >= h_m
    map_w, map_h = (_fit(w_m, h_m, _LANDSCAPE_BOX_IN[0] - _LEGEND_RIGHT_IN, _LANDSCAPE_BOX_IN[1])
                    if landscape else
                    _fit(w_m, h_m, _PORTRAIT_BOX_IN[0],
                         _PORTRAIT_BOX_IN[1] - _TITLE_IN - _LEGEND_BELOW_IN))
    cx, cy, scale = (x0 + x1) / 2, (y0 + y1) / 2, w_m / map_w  # metres per inch
    extent = (cx - scale * map_w / 2, cy - scale * map_h / 2, cx + scale * map_w / 2,
              cy + scale * map_h / 2)
    return MapLayout(tuple(float(v) for v in extent), float(map_w),  # type: ignore[arg-type]
                     float(map_h), bool(landscape))


def sited_categories(results: Results) -> list[Category]:
    """Categories with ranked or selected sites, in config order."""
    if not results.has_sites or results.sites is None:
        return []
    keys = set(results.sites["category"].astype(str))
    return [c for c in results.config.categories if c.key in keys]


# --- drawing helpers ---------------------------------------------------------------------------

def _halo(width: float = 2.5, colour: str = "white") -> list[Any]:
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width, foreground=colour)]


@dataclass
class _Canvas:
    """A map being drawn: figure, axes, frame, legend entries, and the marks unit names avoid
    (x, y, radius in metres)."""

    fig: Any
    ax: Any
    layout: MapLayout
    text: ChartText
    dpi: int
    entries: list[tuple[Any, str]] = field(default_factory=list)
    streets: bool = False
    marks: list[tuple[float, float, float]] = field(default_factory=list)

    @property
    def words(self) -> str:
        return self.text.words_lang

    def t(self, key: str, **fmt: Any) -> str:
        """A label in the pictures' language (``$`` escaped: no mathtext)."""
        return str(tr(key, self.words, **fmt)).replace("$", r"\$")

    def add(self, handle: Any, label: str) -> None:
        """A legend entry (a handle, or a tuple of handles drawn on top of each other)."""
        self.entries.append((handle, label))

    def mark(self, xs: Any, ys: Any, size_pt: float) -> None:
        """Remember markers of ``size_pt`` (points across) for label placement."""
        r = size_pt / 2 * self.layout.m_per_pt
        self.marks += [(float(x), float(y), r) for x, y in zip(xs, ys, strict=True)]


def _canvas(text: ChartText, layout: MapLayout, dpi: int) -> _Canvas:
    from matplotlib.figure import Figure

    fig_w, fig_h = layout.fig_size_in
    fig = Figure(figsize=(fig_w, fig_h))
    left = 0.0 if layout.landscape else (fig_w - layout.map_w_in) / 2
    bottom = 0.0 if layout.landscape else _LEGEND_BELOW_IN
    ax = fig.add_axes((left / fig_w, bottom / fig_h, layout.map_w_in / fig_w,
                       layout.map_h_in / fig_h))
    x0, y0, x1, y1 = layout.extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()
    return _Canvas(fig, ax, layout, text, dpi)


def _streets(c: _Canvas, results: Results) -> None:
    """The walk network under everything (its legend entry comes last, with the units')."""
    streets = results.streets
    if streets is None or not len(streets):
        return
    streets.plot(ax=c.ax, color=style.STREET_COLOUR, linewidth=0.45, zorder=1)
    c.streets = True


def _line(colour: str, *, width: float = 1.2, dashed: bool = False) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([], [], color=colour, linewidth=width,
                  linestyle=(0, (4, 2.5)) if dashed else "-")


def _patch(colour: str, alpha: float = 1.0) -> Any:
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, edgecolor="#444", linewidth=0.5, alpha=alpha)


def _marker(**kw: Any) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([], [], linestyle="none", **kw)


def _text_width_pt(text: str, size_pt: float) -> float:
    """Rough advance of ``text`` at ``size_pt`` (CJK glyphs 1 em, others 0.55 em)."""
    return size_pt * sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.55
                         for ch in text)


def _label_candidates(geom: Any) -> np.ndarray:
    """Points to try for a unit's name: first its natural place (the centroid of its largest
    part when that lies well inside, else the part's pole of inaccessibility), then a grid of
    points inside that part."""
    from shapely.ops import polylabel

    part = max(shapely.get_parts(geom), key=lambda p: p.area)
    pole = polylabel(part, tolerance=max(1.0, part.length / 500))
    centre = part.centroid
    depth = part.boundary.distance
    home = centre if part.contains(centre) and depth(centre) >= 0.6 * depth(pole) else pole
    bx0, by0, bx1, by1 = part.bounds
    gx, gy = np.meshgrid(np.linspace(bx0, bx1, 17)[1:-1], np.linspace(by0, by1, 17)[1:-1])
    grid = shapely.points(gx.ravel(), gy.ravel())
    inside = grid[shapely.contains(part, grid)]
    return np.array([[home.x, home.y], *shapely.get_coordinates(inside)])


def _label_xy(geom: Any, width_m: float, height_m: float, obstacles: Any) -> tuple[float, float]:
    """Where a unit's name covers the fewest marks (and other names) and stays inside its unit,
    as near its natural place (:func:`_label_candidates`) as that allows."""
    pts = _label_candidates(geom)
    boxes = shapely.box(pts[:, 0] - width_m / 2, pts[:, 1] - height_m / 2,
                        pts[:, 0] + width_m / 2, pts[:, 1] + height_m / 2)
    box_area = width_m * height_m
    covered = (shapely.area(shapely.intersection(boxes, obstacles)) / box_area
               if obstacles is not None else np.zeros(len(pts)))
    outside = 1 - shapely.area(shapely.intersection(boxes, geom)) / box_area
    dist = np.hypot(pts[:, 0] - pts[0, 0], pts[:, 1] - pts[0, 1]) / math.sqrt(box_area)
    # covering a mark matters most, then leaving the unit, then the distance from home
    score = 8 * np.round(covered, 2) + 2 * np.round(np.maximum(outside - 0.15, 0), 2) + \
        0.05 * dist
    best = int(np.argmin(score))
    return float(pts[best, 0]), float(pts[best, 1])


def _units(c: _Canvas, results: Results) -> None:
    """Dashed unit boundaries (each shared edge drawn once, so its dashes stay dashes) and the
    units' names, placed clear of the sites' symbols."""
    b = results.boundaries
    edges = shapely.line_merge(shapely.union_all(b.boundary.to_numpy()))
    gpd.GeoSeries([edges], crs=b.crs).plot(ax=c.ax, color=style.BOUNDARY_COLOUR, linewidth=1.1,
                                           zorder=4, linestyle=(0, (4, 2.5)))
    if c.streets:
        c.add(_line(style.STREET_COLOUR, width=0.9), c.t("streets"))
    c.add(_line(style.BOUNDARY_COLOUR, dashed=True), c.t("units_legend"))
    discs = [shapely.Point(x, y).buffer(r, 8) for x, y, r in c.marks]
    m = c.layout.m_per_pt
    for name, geom in zip(b["name"], b.geometry, strict=True):
        label = c.text.unit(name)
        w, h = (_text_width_pt(label, _UNIT_PT) + 4) * m, (_UNIT_PT + 3) * m
        obstacles = shapely.union_all(discs) if discs else None
        x, y = _label_xy(geom, w, h, obstacles)
        c.ax.text(x, y, label, ha="center", va="center", fontsize=_UNIT_PT, fontweight="bold",
                  color=style.BOUNDARY_COLOUR, path_effects=_halo(3), zorder=6.5)
        discs.append(shapely.box(x - w / 2, y - h / 2, x + w / 2, y + h / 2))


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    return float(max([n for n in _NICE_M if n <= target] or [_NICE_M[0]]))


def _scale_bar(c: _Canvas) -> None:
    """Two-segment black/white bar at the lower left, labelled in m or km."""
    from matplotlib.patches import Rectangle

    x0, y0, x1, y1 = c.layout.extent
    length = _nice_length(x1 - x0)
    h = 0.012 * (y1 - y0)
    bx, by = x0 + 0.03 * (x1 - x0), y0 + 0.035 * (y1 - y0)
    for i in range(2):
        c.ax.add_patch(Rectangle((bx + i * length / 2, by), length / 2, h, zorder=10,
                                 facecolor="black" if i == 0 else "white", edgecolor="black",
                                 linewidth=0.8))
    unit = c.t("km") if length >= 1000 else c.t("metres")
    value = f"{length / 1000:g}" if length >= 1000 else f"{length:g}"
    for x, label in ((bx, "0"), (bx + length, f"{value} {unit}")):
        c.ax.text(x, by + 1.8 * h, label, ha="center", va="bottom", fontsize=7.5, zorder=10,
                  path_effects=_halo())


def _true_north_deg(results: Results, extent: tuple[float, float, float, float]) -> float:
    """Angle (degrees, counter-clockwise from the map's up) of true north at the map centre."""
    cx, cy = (extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2
    to_ll = Transformer.from_crs(results.config.crs, "EPSG:4326", always_xy=True)
    to_xy = Transformer.from_crs("EPSG:4326", results.config.crs, always_xy=True)
    lon, lat = to_ll.transform(cx, cy)
    nx, ny = to_xy.transform(lon, lat + 0.01)
    return math.degrees(math.atan2(-(nx - cx), ny - cy))


def _north_arrow(c: _Canvas, results: Results) -> None:
    angle = math.radians(_true_north_deg(results, c.layout.extent))
    ux, uy = -math.sin(angle), math.cos(angle)
    x, y, size = 0.955, 0.86, 0.07
    c.ax.annotate("", xy=(x + ux * size / 2, y + uy * size / 2),
                  xytext=(x - ux * size / 2, y - uy * size / 2), xycoords="axes fraction",
                  arrowprops={"arrowstyle": "-|>,head_width=0.45,head_length=0.9",
                              "color": "black", "linewidth": 1.6}, zorder=10)
    c.ax.text(x + ux * size * 0.85, y + uy * size * 0.85, c.t("north"),
              transform=c.ax.transAxes, ha="center", va="center", fontsize=10,
              fontweight="bold", path_effects=_halo(), zorder=10)


_CJK = "\u2e80-\u9fff\uff00-\uffef\u3000-\u303f"
# a bracketed group, one CJK glyph, a word, or spaces: the pieces a label breaks between
_TOKEN = re.compile(rf"\([^)]*\)|（[^）]*）|[{_CJK}]|[^\s{_CJK}(（]+|\s+|.")


def _wrap(label: str, width_em: float) -> str:
    """Break a label into lines of about ``width_em`` (:func:`_text_width_pt`): after its colon
    when it is too long and has one, then between CJK glyphs, words or bracketed groups, never
    inside a word, number or bracket."""
    if _text_width_pt(label, 1.0) <= width_em:
        return label
    head, colon, rest = [*re.split(r"(：|: )", label, maxsplit=1), "", ""][:3]
    if colon and _text_width_pt(head + colon, 1.0) <= width_em:
        return (head + colon).rstrip() + "\n" + _wrap(rest, width_em)
    lines, line = [], ""
    for tok in _TOKEN.findall(label):
        if line.strip() and _text_width_pt(line + tok, 1.0) > width_em and not tok.isspace():
            lines.append(line.rstrip())
            line = ""
        line += tok if line or not tok.isspace() else ""
    return "\n".join([*lines, line])


def _finish(c: _Canvas, results: Results, title: str) -> bytes:
    """Unit names, scale bar, north arrow, title, legend and credit; the PNG at print size."""
    _units(c, results)
    _scale_bar(c)
    _north_arrow(c, results)
    fig, layout = c.fig, c.layout
    fig_w, fig_h = layout.fig_size_in
    handles = [h for h, _ in c.entries]
    labels = [_wrap(label, 16.5 if layout.landscape else 18) for _, label in c.entries]
    kw: dict[str, Any] = {"fontsize": 8.5, "frameon": False, "handlelength": 1.8,
                          "title": c.t("legend"), "title_fontsize": 9.5, "alignment": "left",
                          "labelspacing": 0.7}
    if layout.landscape:  # the column at the right: title, then the legend
        x = (layout.map_w_in + 0.15) / fig_w
        lines = _wrap(title, 13)
        fig.text(x, 1 - 0.12 / fig_h, lines, ha="left", va="top", fontsize=13,
                 fontweight="bold", linespacing=1.3)
        top = 0.12 + (lines.count("\n") + 1) * 0.26 + 0.25
        fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(x - 0.1 / fig_w,
                                                                      1 - top / fig_h), **kw)
    else:
        fig.text(0.5, 1 - 0.22 / fig_h, title, ha="center", va="center", fontsize=13,
                 fontweight="bold")
        fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.0),
                   ncol=min(4, math.ceil(len(handles) / 3)), columnspacing=1.2, **kw)
    c.ax.text(0.995, 0.005, c.t("attribution"), transform=c.ax.transAxes, ha="right",
              va="bottom", fontsize=6.5, color="#444", path_effects=_halo(2), zorder=10)
    return png(fig, c.dpi)


def png(fig: Any, dpi: int) -> bytes:
    """The figure as PNG bytes at its own size (no timestamp in the metadata).

    No ``bbox_inches="tight"``: the layout is fixed (:func:`map_layout`), so every map of an
    area keeps the same frame, and matplotlib does not lay every artist out twice to measure
    it (that took a third of the maps' time).
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


# --- layers ------------------------------------------------------------------------------------

def _points(layer: gpd.GeoDataFrame | None, key: str | None = None) -> gpd.GeoDataFrame:
    if layer is None or not len(layer):
        return gpd.GeoDataFrame(geometry=[])
    if key is not None and "category" in layer:
        layer = layer[layer["category"].astype(str) == key]
    if "off_network" in layer:
        layer = layer[~layer["off_network"].fillna(False).astype(bool)]
    return layer


def _compounds_by(c: _Canvas, results: Results, classes: np.ndarray,
                  legend: list[tuple[str, str]], alpha: float) -> None:
    """Compounds filled by class (index into ``legend``: colour, label); the legend lists the
    classes present with their counts, as the web map's does."""
    for i, (colour, label) in enumerate(legend):
        sel = classes == i
        if not sel.any():
            continue
        results.compounds[sel].plot(ax=c.ax, color=colour, alpha=alpha, edgecolor="white",
                                    linewidth=0.3, zorder=2)
        c.add(_patch(colour, alpha), f"{label} ({int(sel.sum()):,})")


def _dots(c: _Canvas, pts: gpd.GeoDataFrame, colour: str, label: str) -> None:
    """Existing facilities: dots in the category's colour, white rim, dark outline."""
    if not len(pts):
        return
    x, y = pts.geometry.x, pts.geometry.y
    c.ax.scatter(x, y, s=42, color=_DARK, linewidth=0, zorder=5)
    c.ax.scatter(x, y, s=24, color=colour, edgecolor="white", linewidth=1.0, zorder=5.1)
    c.add(_marker(marker="o", markersize=6.5, markerfacecolor=colour, markeredgecolor="white",
                  markeredgewidth=1.0), label)
    c.mark(x, y, 4.0)


def _proposed(c: _Canvas, results: Results, key: str | None) -> None:
    """Planned stations: purple diamonds marked P."""
    prop = _points(results.proposed, key)
    if not len(prop):
        return
    x, y = prop.geometry.x, prop.geometry.y
    c.ax.scatter(x, y, marker="D", s=120, color=_DARK, linewidth=0, zorder=7)
    c.ax.scatter(x, y, marker="D", s=72, color=style.PROPOSED_COLOUR, edgecolor="white",
                 linewidth=1.1, zorder=7.1)
    for xi, yi in zip(x, y, strict=True):
        c.ax.text(xi, yi, "P", ha="center", va="center", fontsize=5.5, fontweight="bold",
                  color="white", zorder=7.2)
    c.add(_marker(marker="D", markersize=8, markerfacecolor=style.PROPOSED_COLOUR,
                  markeredgecolor="white", markeredgewidth=1.0), c.t("proposed_diamond"))
    c.mark(x, y, 11.0)


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


def _stars(c: _Canvas, pts: pd.DataFrame, label: str, dot: str | None = None) -> None:
    """The optimal selection: gold stars (under a ranked site's number, when it has one); with
    ``dot``, a dot of that colour in each star says which category it is for."""
    if not len(pts):
        return
    c.ax.scatter(pts["x"], pts["y"], marker="*", s=560, color=style.OPTIMAL_COLOUR,
                 edgecolor="black", linewidth=0.9, zorder=7.5)
    star = {"marker": "*", "markersize": 17, "markerfacecolor": style.OPTIMAL_COLOUR,
            "markeredgecolor": "black", "markeredgewidth": 0.8}
    if dot is None:
        c.add(_marker(**star), label)
    else:
        c.ax.scatter(pts["x"], pts["y"], s=30, color=dot, edgecolor="black", linewidth=0.6,
                     zorder=7.6)
        c.add((_marker(**star), _marker(marker="o", markersize=4.5, markerfacecolor=dot,
                                        markeredgecolor="black", markeredgewidth=0.5)), label)
    c.mark(pts["x"], pts["y"], 22.0)


def _numbered(c: _Canvas, pts: pd.DataFrame, colour: str, label: str, *,
              marker: str = "o") -> None:
    """Numbered symbols in a category's colour (ranked sites: circles; the plan: squares)."""
    if not len(pts):
        return
    c.ax.scatter(pts["x"], pts["y"], marker=marker, s=250, color=_DARK, linewidth=0, zorder=8)
    c.ax.scatter(pts["x"], pts["y"], marker=marker, s=170, color=colour, edgecolor="white",
                 linewidth=1.3, zorder=8.1)
    for r in pts.itertuples():
        c.ax.text(r.x, r.y, str(r.rank), ha="center", va="center", fontsize=6.5,
                  fontweight="bold", color="white", path_effects=_halo(1.4, _DARK),
                  zorder=8.5)
    c.add(_marker(marker=marker, markersize=10, markerfacecolor=colour,
                  markeredgecolor="white", markeredgewidth=1.2), label)
    c.mark(pts["x"], pts["y"], 16.0)


# --- the maps ----------------------------------------------------------------------------------

def _colour(results: Results, key: str) -> str:
    index = {c.key: i for i, c in enumerate(results.config.categories)}
    return style.category_colour(index.get(key, 0))


def _label(results: Results, key: str, text: ChartText) -> str:
    cat = next((c for c in results.config.categories if c.key == key), None)
    return text.safe(cat_label(cat, text.lang), key) if cat is not None else text.safe(key, key)


def category_map(results: Results, cat: Category, text: ChartText, *, dpi: int = 150,
                 layout: MapLayout | None = None) -> bytes:
    """PNG of one category: coverage, facilities, planned stations, ranked and optimal sites."""
    with font_context(text):  # the CJK font, or DejaVu Sans and ASCII words
        c = _canvas(text, layout or map_layout(results), dpi)
        _streets(c, results)
        covered = results.compounds[f"covered_{cat.key}"].fillna(False).astype(bool).to_numpy()
        legend = [(style.COVERED_COLOUR, c.t("legend_compounds", what=c.t(
                       "cat_within", minutes=cat.minutes))),
                  (style.UNCOVERED_COLOUR, c.t("legend_compounds", what=c.t(
                       "cat_beyond", minutes=cat.minutes)))]
        _compounds_by(c, results, np.where(covered, 0, 1), legend, alpha=0.72)
        label = _label(results, cat.key, text)
        colour = _colour(results, cat.key)
        _dots(c, _points(results.facilities, cat.key), colour,
              c.t("facilities_cat", label=label))
        _proposed(c, results, cat.key)
        _stars(c, _site_points(results, cat.key, "optimal"), c.t("optimal_sites"))
        _numbered(c, _site_points(results, cat.key, "greedy").head(MAX_RANKED), colour,
                  c.t("ranked_pin"))
        return _finish(c, results, c.t("map_category", label=label, minutes=cat.minutes))


def _missing_classes(results: Results, c: _Canvas) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Each compound's class of "categories missing" and the classes' (colour, label), as the
    web map draws them (:func:`coverage.style.missing_class`; the last class reads "no
    category within reach" when an area has fewer categories than its bound)."""
    comp = results.compounds
    cols = [f"covered_{k.key}" for k in results.config.categories if f"covered_{k.key}" in comp]
    missing = (~comp[cols].fillna(False).astype(bool).to_numpy()).sum(axis=1)
    classes = np.array([style.missing_class(int(n), len(cols)) for n in missing], dtype=int)
    legend = [(colour, c.t(key)) for _, colour, key in style.ALL_CATEGORIES_CLASSES]
    if len(cols) < style.ALL_CATEGORIES_CLASSES[-1][0]:
        legend[-1] = (legend[-1][0], c.t("missing_all"))
    return classes, legend


def overview_map(results: Results, text: ChartText, *, dpi: int = 150,
                 layout: MapLayout | None = None) -> bytes:
    """PNG of all categories: compounds by categories missing, planned and optimal sites."""
    with font_context(text):  # the CJK font, or DejaVu Sans and ASCII words
        c = _canvas(text, layout or map_layout(results), dpi)
        _streets(c, results)
        classes, legend = _missing_classes(results, c)
        _compounds_by(c, results, classes, legend, alpha=0.85)
        _proposed(c, results, None)
        for cat in sited_categories(results):
            _stars(c, _site_points(results, cat.key, "optimal"),
                   c.t("optimal_star", label=_label(results, cat.key, text)),
                   dot=_colour(results, cat.key))
        return _finish(c, results, c.t("map_overview"))


def plan_map(results: Results, text: ChartText, *, dpi: int = 150,
             layout: MapLayout | None = None) -> bytes | None:
    """PNG of the joint plan: each new facility a square in its category's colour with its rank,
    over the compounds by categories missing; None when the run made no plan."""
    with font_context(text):  # the CJK font, or DejaVu Sans and ASCII words
        if results.plan is None or not len(results.plan.joint_sites):
            return None
        c = _canvas(text, layout or map_layout(results), dpi)
        _streets(c, results)
        classes, legend = _missing_classes(results, c)
        _compounds_by(c, results, classes, legend, alpha=0.55)
        _proposed(c, results, None)
        joint = results.plan.joint_sites
        for key in dict.fromkeys(joint["category"].astype(str)):
            s = joint[joint["category"].astype(str) == key].sort_values("rank")
            pts = pd.DataFrame({"rank": s["rank"].astype(int).to_numpy(),
                                "x": s.geometry.x.to_numpy(), "y": s.geometry.y.to_numpy()})
            _numbered(c, pts, _colour(results, key),
                      c.t("plan_cat", label=_label(results, key, text)), marker="s")
        return _finish(c, results, c.t("plan_layer"))


def _size_in(data: bytes, dpi: int) -> tuple[float, float]:
    """Width and height (inches at ``dpi``) of a PNG, from its header."""
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return w / dpi, h / dpi


def report_maps(results: Results, text: ChartText, *, dpi: int = 150) -> list[MapImage]:
    """The overview map, one map per sited category (config order), then the joint plan's."""
    layout = map_layout(results)
    words = text.words_lang
    drawn: list[tuple[str, str, bytes | None]] = [
        ("overview", tr("map_overview", words), overview_map(results, text, dpi=dpi,
                                                              layout=layout))]
    for cat in sited_categories(results):
        title = tr("map_category", words, label=_label(results, cat.key, text),
                   minutes=cat.minutes)
        drawn.append((cat.key, title, category_map(results, cat, text, dpi=dpi, layout=layout)))
    drawn.append(("plan", tr("plan_layer", words), plan_map(results, text, dpi=dpi,
                                                             layout=layout)))
    return [MapImage(key, title, data, *_size_in(data, dpi), landscape=layout.landscape)
            for key, title, data in drawn if data is not None]
