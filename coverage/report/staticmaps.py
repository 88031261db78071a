"""Static maps for the report and the PDF, drawn as SVG from the run's layers.

No basemap tiles are downloaded: the walk network (``results.streets``), unit boundaries and
compounds are the map. Each map has a title, unit names, a scale bar, a north arrow (true north,
which differs from the projected grid's "up" by the meridian convergence), a legend and the OSM
credit. Symbols, colours (:mod:`coverage.style`) and legend words (:mod:`coverage._i18n`) are
the web map's: dots in the category's colour for facilities, a purple diamond marked P for a
planned station, a numbered circle in the category's colour for a ranked site, a gold star for
the optimal selection, a square in the category's colour for the joint plan, dashed unit
boundaries. The drawing is :mod:`.mapsvg`'s (vectors, sharp on screen and in the PDF); names,
wrapping and label places are :mod:`.maplabels`'.

* :func:`overview_map`: every compound coloured by how many categories it lacks, the planned
  stations and the optimal new sites of every sited category.
* :func:`category_map`: one sited category: compounds within its walk or not, its facilities,
  the planned stations, the greedy-ranked sites numbered by rank and the optimal ones starred.
* :func:`plan_map`: the joint plan: which candidate space becomes which facility.

Every map has the same frame (:func:`map_layout`): the picture is drawn at the size it is
printed, on an A4 landscape page with the legend at the right when the area is wider than tall,
else on an A4 portrait page with the legend below. What all maps of an area share (the frame,
the unit boundaries, where each unit's name may go, true north) is computed once
(:func:`map_base`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import style
from .._i18n import cat_label
from ..config import Category
from ..results import Results
from ._labels import tr
from .fonts import ChartText
from .maplabels import UnitPlaces, label_xy, text_width_pt, true_north_deg, unit_places
from .mapsvg import Canvas, Symbol
from .tables import site_points

__all__ = ["MAX_RANKED", "MapBase", "MapImage", "MapLayout", "category_map", "map_base",
           "map_layout", "overview_map", "plan_map", "report_maps", "sited_categories"]

#: At most this many greedy-ranked sites are numbered on a map (the rest are in the table).
MAX_RANKED = 25

# The printable area of an A4 page with the report's margins (inches), less the room the maps
# section's heading, note and each figure's caption take.
_LANDSCAPE_BOX_IN = (10.4, 5.0)
_PORTRAIT_BOX_IN = (7.1, 8.4)
_TITLE_IN = 0.45
_LEGEND_RIGHT_IN = 2.55  # legend column beside the map (landscape)
_LEGEND_BELOW_IN = 1.15  # legend band under the map (portrait)
_UNIT_PT = 9.0  # unit names
_DARK = "#222222"
_WHITE = "#ffffff"


@dataclass(frozen=True)
class MapImage:
    """One static map: its key (``overview``, a category key or ``plan``), title, the picture
    (a complete ``<svg>`` element) and its size as printed (inches)."""

    key: str
    title: str
    svg: str
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
    def box_in(self) -> tuple[float, float, float, float]:
        """The map frame in the picture: left, top, width, height (inches)."""
        if self.landscape:
            return 0.0, 0.0, self.map_w_in, self.map_h_in
        fig_w, fig_h = self.fig_size_in
        return ((fig_w - self.map_w_in) / 2, fig_h - _LEGEND_BELOW_IN - self.map_h_in,
                self.map_w_in, self.map_h_in)

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


@dataclass(frozen=True)
class MapBase:
    """What every map of an area shares: the frame, the walk network and the unit boundaries
    (each shared edge once, so its dashes stay dashes) as SVG, each unit's name with the places
    it may take, and the angle of true north (degrees counter-clockwise from up)."""

    layout: MapLayout
    streets: str
    edges: str
    names: list[tuple[str, UnitPlaces, float, float]]
    north_deg: float


def _canvas(layout: MapLayout, font: str | None) -> Canvas:
    return Canvas.of(layout.fig_size_in, layout.box_in, layout.extent, font)


def _layer_svg(layout: MapLayout, geoms: Any, colour: str, width: float, *,
               dashed: bool = False) -> str:
    """A line layer's SVG in the frame of ``layout`` ("" when there is nothing to draw)."""
    c = _canvas(layout, None)
    c.lines(geoms, colour, width, dashed=dashed)
    return "".join(c.body)


def map_base(results: Results, text: ChartText) -> MapBase:
    """The :class:`MapBase` of the area's maps."""
    layout = map_layout(results)
    b = results.boundaries
    edges = shapely.line_merge(shapely.union_all(b.boundary.to_numpy()))
    streets = results.streets
    street_svg = (_layer_svg(layout, streets.geometry.to_numpy(), style.STREET_COLOUR, 0.45)
                  if streets is not None and len(streets) else "")
    edge_svg = _layer_svg(layout, [edges], style.BOUNDARY_COLOUR, 1.1, dashed=True)
    m = layout.m_per_pt
    names = []
    for name, geom in zip(b["name"], b.geometry, strict=True):
        label = text.unit(name)
        w, h = (text_width_pt(label, _UNIT_PT) + 4) * m, (_UNIT_PT + 3) * m
        names.append((label, unit_places(geom, w, h), w, h))
    return MapBase(layout, street_svg, edge_svg, names,
                   true_north_deg(results.config.crs, layout.extent))


def sited_categories(results: Results) -> list[Category]:
    """Categories with ranked or selected sites, in config order."""
    if not results.has_sites or results.sites is None:
        return []
    keys = set(results.sites["category"].astype(str))
    return [c for c in results.config.categories if c.key in keys]


# --- one map being drawn -----------------------------------------------------------------------

@dataclass
class _Map:
    """A map being drawn: its canvas, the shared base, and the marks unit names avoid
    (x, y, radius in metres)."""

    canvas: Canvas
    base: MapBase
    text: ChartText
    streets: bool = False
    marks: list[tuple[float, float, float]] = field(default_factory=list)

    def t(self, key: str, **fmt: Any) -> str:
        """A label in the pictures' language."""
        return str(tr(key, self.text.words_lang, **fmt))

    def add(self, symbol: Symbol, label: str) -> None:
        self.canvas.legend.append((symbol, label))

    def mark(self, xs: Any, ys: Any, size_pt: float) -> None:
        """Remember markers of ``size_pt`` (points across) for label placement."""
        r = size_pt / 2 * self.base.layout.m_per_pt
        self.marks += [(float(x), float(y), r) for x, y in zip(xs, ys, strict=True)]


def _start(results: Results, text: ChartText, base: MapBase | None) -> _Map:
    base = base or map_base(results, text)
    layout = base.layout
    c = _Map(_canvas(layout, text.font), base, text)
    if base.streets:  # the walk network under everything
        c.canvas.body.append(base.streets)
        c.streets = True
    return c


def _units(c: _Map) -> None:
    """The units' names, placed clear of the sites' symbols, and the legend entries of the
    streets and the unit boundaries (drawn under the symbols by :func:`_compounds_by`)."""
    if c.streets:
        c.add(Symbol("line", style.STREET_COLOUR, 0.9), c.t("streets"))
    c.add(Symbol("line", style.BOUNDARY_COLOUR, 1.2, dashed=True), c.t("units_legend"))
    marks = np.array(c.marks, dtype=float).reshape(-1, 3)
    obstacles = (shapely.union_all(shapely.buffer(shapely.points(marks[:, :2]), marks[:, 2],
                                                  quad_segs=8))
                 if len(marks) else None)
    for label, places, w, h in c.base.names:
        x, y = label_xy(places, obstacles)
        c.canvas.at(x, y, label, _UNIT_PT, weight="bold", colour=style.BOUNDARY_COLOUR,
                    halo=(3.0, _WHITE))
        box = shapely.box(x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        obstacles = box if obstacles is None else shapely.union(obstacles, box)


def _finish(c: _Map, title: str, key: str) -> str:
    """Unit names, scale bar, north arrow, credit, title and legend: the finished SVG."""
    _units(c)
    cv, layout = c.canvas, c.base.layout
    cv.scale_bar(c.t("metres"), c.t("km"))
    cv.north_arrow(c.base.north_deg, c.t("north"))
    left, top, w, h = cv.box
    cv.text(left + 0.995 * w, top + 0.995 * h, c.t("attribution"), 6.5,
            align=("end", "bottom"), colour="#444444", halo=(2.0, _WHITE))
    if layout.landscape:
        cv.legend_column(title, c.t("legend"), (layout.map_w_in + 0.15) * 72)
    else:
        cv.legend_band(title, c.t("legend"), top + h + 4)
    return cv.svg(title, key)


# --- layers ------------------------------------------------------------------------------------

def _points(layer: gpd.GeoDataFrame | None, key: str | None = None) -> gpd.GeoDataFrame:
    if layer is None or not len(layer):
        return gpd.GeoDataFrame(geometry=[])
    if key is not None and "category" in layer:
        layer = layer[layer["category"].astype(str) == key]
    if "off_network" in layer:
        layer = layer[~layer["off_network"].fillna(False).astype(bool)]
    return layer


def _compounds_by(c: _Map, results: Results, classes: np.ndarray,
                  legend: list[tuple[str, str]], alpha: float) -> None:
    """Compounds filled by class (index into ``legend``: colour, label), then the dashed unit
    boundaries over them (under every symbol); the legend lists the classes present with their
    counts, as the web map's does."""
    geoms = results.compounds.geometry.to_numpy()
    for i, (colour, label) in enumerate(legend):
        sel = classes == i
        if not sel.any():
            continue
        c.canvas.polygons(geoms[sel], colour, alpha)
        c.add(Symbol("patch", colour, alpha=alpha), f"{label} ({int(sel.sum()):,})")
    c.canvas.body.append(c.base.edges)


def _dots(c: _Map, pts: gpd.GeoDataFrame, colour: str, label: str) -> None:
    """Existing facilities: dots in the category's colour, white rim, dark outline."""
    if not len(pts):
        return
    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    c.canvas.markers(x, y, "o", 6.5, _DARK)
    c.canvas.markers(x, y, "o", 4.9, colour, edge=_WHITE, edge_w=1.0)
    c.add(Symbol("marker", colour, 6.5, edge=_WHITE, edge_w=1.0), label)
    c.mark(x, y, 4.0)


def _proposed(c: _Map, results: Results, key: str | None) -> None:
    """Planned stations: purple diamonds marked P."""
    prop = _points(results.proposed, key)
    if not len(prop):
        return
    x, y = prop.geometry.x.to_numpy(), prop.geometry.y.to_numpy()
    c.canvas.markers(x, y, "D", 15.5, _DARK)
    c.canvas.markers(x, y, "D", 12.0, style.PROPOSED_COLOUR, edge=_WHITE, edge_w=1.1)
    for xi, yi in zip(x, y, strict=True):
        c.canvas.at(xi, yi, "P", 5.5, weight="bold", colour=_WHITE)
    c.add(Symbol("marker", style.PROPOSED_COLOUR, 11.3, marker="D", edge=_WHITE, edge_w=1.0),
          c.t("proposed_diamond"))
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


def _stars(c: _Map, pts: pd.DataFrame, label: str, dot: str | None = None) -> None:
    """The optimal selection: gold stars (under a ranked site's number, when it has one); with
    ``dot``, a dot of that colour in each star says which category it is for."""
    if not len(pts):
        return
    x, y = pts["x"].to_numpy(float), pts["y"].to_numpy(float)
    c.canvas.markers(x, y, "*", 23.7, style.OPTIMAL_COLOUR, edge="#000000", edge_w=0.9)
    star = Symbol("marker", style.OPTIMAL_COLOUR, 17.0, marker="*", edge="#000000",
                  edge_w=0.8)
    if dot is None:
        c.add(star, label)
    else:
        c.canvas.markers(x, y, "o", 5.5, dot, edge="#000000", edge_w=0.6)
        c.add(Symbol("marker", dot, 4.5, edge="#000000", edge_w=0.5, under=star), label)
    c.mark(x, y, 22.0)


def _numbered(c: _Map, pts: pd.DataFrame, colour: str, label: str, *,
              marker: str = "o") -> None:
    """Numbered symbols in a category's colour (ranked sites: circles; the plan: squares)."""
    if not len(pts):
        return
    x, y = pts["x"].to_numpy(float), pts["y"].to_numpy(float)
    c.canvas.markers(x, y, marker, 15.8, _DARK)
    c.canvas.markers(x, y, marker, 13.0, colour, edge=_WHITE, edge_w=1.3)
    for xi, yi, rank in zip(x, y, pts["rank"], strict=True):
        c.canvas.at(xi, yi, str(rank), 6.5, weight="bold", colour=_WHITE,
                    halo=(1.0, _DARK))
    c.add(Symbol("marker", colour, 10.0, marker=marker, edge=_WHITE, edge_w=1.2), label)
    c.mark(x, y, 16.0)


# --- the maps ----------------------------------------------------------------------------------

def _colour(results: Results, key: str) -> str:
    index = {c.key: i for i, c in enumerate(results.config.categories)}
    return style.category_colour(index.get(key, 0))


def _label(results: Results, key: str, text: ChartText) -> str:
    cat = next((c for c in results.config.categories if c.key == key), None)
    return text.safe(cat_label(cat, text.lang), key) if cat is not None else text.safe(key, key)


def category_map(results: Results, cat: Category, text: ChartText, *,
                 base: MapBase | None = None) -> str:
    """SVG of one category: coverage, facilities, planned stations, ranked and optimal sites."""
    c = _start(results, text, base)
    covered = results.compounds[f"covered_{cat.key}"].fillna(False).astype(bool).to_numpy()
    legend = [(style.COVERED_COLOUR, c.t("legend_compounds", what=c.t(
                   "cat_within", minutes=cat.minutes))),
              (style.UNCOVERED_COLOUR, c.t("legend_compounds", what=c.t(
                   "cat_beyond", minutes=cat.minutes)))]
    _compounds_by(c, results, np.where(covered, 0, 1), legend, alpha=0.72)
    label = _label(results, cat.key, text)
    colour = _colour(results, cat.key)
    _dots(c, _points(results.facilities, cat.key), colour, c.t("facilities_cat", label=label))
    _proposed(c, results, cat.key)
    _stars(c, _site_points(results, cat.key, "optimal"), c.t("optimal_sites"))
    _numbered(c, _site_points(results, cat.key, "greedy").head(MAX_RANKED), colour,
              c.t("ranked_pin"))
    return _finish(c, c.t("map_category", label=label, minutes=cat.minutes), cat.key)


def _missing_classes(results: Results, c: _Map) -> tuple[np.ndarray, list[tuple[str, str]]]:
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


def overview_map(results: Results, text: ChartText, *, base: MapBase | None = None) -> str:
    """SVG of all categories: compounds by categories missing, planned and optimal sites."""
    c = _start(results, text, base)
    classes, legend = _missing_classes(results, c)
    _compounds_by(c, results, classes, legend, alpha=0.85)
    _proposed(c, results, None)
    for cat in sited_categories(results):
        _stars(c, _site_points(results, cat.key, "optimal"),
               c.t("optimal_star", label=_label(results, cat.key, text)),
               dot=_colour(results, cat.key))
    return _finish(c, c.t("map_overview"), "overview")


def plan_map(results: Results, text: ChartText, *, base: MapBase | None = None) -> str | None:
    """SVG of the joint plan: each new facility a square in its category's colour with its rank,
    over the compounds by categories missing; None when the run made no plan."""
    if results.plan is None or not len(results.plan.joint_sites):
        return None
    c = _start(results, text, base)
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
    return _finish(c, c.t("plan_layer"), "plan")


def report_maps(results: Results, text: ChartText) -> list[MapImage]:
    """The overview map, one map per sited category (config order), then the joint plan's."""
    base = map_base(results, text)
    words = text.words_lang
    drawn: list[tuple[str, str, str | None]] = [
        ("overview", tr("map_overview", words), overview_map(results, text, base=base))]
    for cat in sited_categories(results):
        title = tr("map_category", words, label=_label(results, cat.key, text),
                   minutes=cat.minutes)
        drawn.append((cat.key, title, category_map(results, cat, text, base=base)))
    drawn.append(("plan", tr("plan_layer", words), plan_map(results, text, base=base)))
    fig_w, fig_h = base.layout.fig_size_in
    return [MapImage(key, title, svg, fig_w, fig_h, landscape=base.layout.landscape)
            for key, title, svg in drawn if svg is not None]
