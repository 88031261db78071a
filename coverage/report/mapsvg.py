"""Drawing a static map as SVG: a canvas in typographic points with the map's frame, layers
built from shapely geometry in bulk (one path per layer), marker symbols, text with a halo, and
the furniture every map has (scale bar, north arrow, title, legend, credit).

Hand-written SVG, as the report's charts are (:mod:`.charts`): a map is a few hundred street
lines, polygons and symbols, which take milliseconds to write (matplotlib's artists, text layout
and PNG encoding took about a third of a second per map), and stay sharp at any zoom on screen
and as vectors in WeasyPrint's PDF. Output is deterministic (fixed number formats, ids from the
map's key). Sizes follow matplotlib's conventions so the symbols look as they did: a marker's
size is its diameter in points, a dash pattern is in line widths.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from .maplabels import nice_length, text_width_pt, wrap

__all__ = ["Canvas", "Symbol", "marker_svg"]

PT_PER_IN = 72.0
_FONT_TAIL = ("Noto Sans CJK SC,Source Han Sans SC,PingFang SC,Microsoft YaHei,"
              "WenQuanYi Zen Hei,DejaVu Sans,sans-serif")
_LINE_GAP = 1.25  # line height / font size
_HALO_ANGLES = tuple(math.radians(a) for a in range(0, 360, 45))
_STAR_INNER = 0.381966  # inner / outer radius of matplotlib's star marker


def n(x: float) -> str:
    """A coordinate in points: one decimal, no trailing zeros."""
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


def _coords(xy: np.ndarray) -> str:
    return " ".join(f"{n(x)},{n(y)}" for x, y in xy)


def marker_svg(kind: str, x: float, y: float, size: float, fill: str, *,
               edge: str = "none", edge_w: float = 0.0) -> str:
    """One marker centred on (x, y) points: ``o`` circle, ``D`` diamond, ``s`` square, ``*``
    star; ``size`` its diameter in points (matplotlib's markersize)."""
    r = size / 2
    stroke = (f' stroke="{edge}" stroke-width="{n(edge_w)}" stroke-linejoin="miter"'
              if edge != "none" and edge_w > 0 else "")
    if kind == "o":
        return f'<circle cx="{n(x)}" cy="{n(y)}" r="{n(r)}" fill="{fill}"{stroke}/>'
    if kind == "s":
        return (f'<rect x="{n(x - r)}" y="{n(y - r)}" width="{n(size)}" height="{n(size)}" '
                f'fill="{fill}"{stroke}/>')
    if kind == "D":
        pts = np.array([[x, y - r], [x + r, y], [x, y + r], [x - r, y]])
    else:  # "*": five points, the first straight up
        ang = np.radians(90 + 36 * np.arange(10))
        rad = np.where(np.arange(10) % 2 == 0, r, r * _STAR_INNER)
        pts = np.column_stack([x + rad * np.cos(ang), y - rad * np.sin(ang)])
    return f'<polygon points="{_coords(pts)}" fill="{fill}"{stroke}/>'


@dataclass(frozen=True)
class Symbol:
    """A legend symbol: ``line`` (colour, width, dashed), ``patch`` (fill colour, alpha) or
    ``marker`` (kind, size, fill, edge, edge width); ``under`` is drawn first (a star under a
    dot)."""

    kind: str
    colour: str
    size: float = 0.0
    alpha: float = 1.0
    dashed: bool = False
    marker: str = "o"
    edge: str = "none"
    edge_w: float = 0.0
    under: Symbol | None = None

    def svg(self, x: float, y: float, length: float) -> str:
        """The symbol in a legend row whose handle starts at x, centred on y (points)."""
        below = self.under.svg(x, y, length) if self.under is not None else ""
        if self.kind == "line":
            dash = (f' stroke-dasharray="{n(4 * self.size)} {n(2.5 * self.size)}"'
                    if self.dashed else "")
            return (f'{below}<line x1="{n(x)}" y1="{n(y)}" x2="{n(x + length)}" y2="{n(y)}" '
                    f'stroke="{self.colour}" stroke-width="{n(self.size)}"{dash}/>')
        if self.kind == "patch":
            h = 0.7 * length / 1.8
            return (f'{below}<rect x="{n(x)}" y="{n(y - h / 2)}" width="{n(length)}" '
                    f'height="{n(h)}" fill="{self.colour}" fill-opacity="{self.alpha:g}" '
                    'stroke="#444444" stroke-width="0.5"/>')
        return below + marker_svg(self.marker, x + length / 2, y, self.size, self.colour,
                                  edge=self.edge, edge_w=self.edge_w)


@dataclass
class Canvas:
    """A map being drawn, in points (72 per inch), y down.

    Attributes
    ----------
    width, height : float
        The picture's size (points).
    box : (left, top, width, height)
        The map frame inside it (points).
    extent : (x0, y0, x1, y1)
        The area shown in the frame (area CRS, metres).
    font : str
        Family list for ``font-family`` (the CJK font first when there is one).
    """

    width: float
    height: float
    box: tuple[float, float, float, float]
    extent: tuple[float, float, float, float]
    font: str
    body: list[str] = field(default_factory=list)
    legend: list[tuple[Symbol, str]] = field(default_factory=list)

    @classmethod
    def of(cls, fig_in: tuple[float, float], box_in: tuple[float, float, float, float],
           extent: tuple[float, float, float, float], font: str | None) -> Canvas:
        """A canvas of ``fig_in`` inches with the frame ``box_in`` (left, top, width, height;
        inches) showing ``extent``."""
        box = tuple(v * PT_PER_IN for v in box_in)
        family = f"{font},{_FONT_TAIL}" if font else _FONT_TAIL
        return cls(fig_in[0] * PT_PER_IN, fig_in[1] * PT_PER_IN,
                   box, extent, family)  # type: ignore[arg-type]

    @property
    def scale(self) -> float:
        """Points per metre."""
        return self.box[2] / (self.extent[2] - self.extent[0])

    def xy(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Area coordinates (metres) to points on the canvas."""
        k = self.scale
        return (self.box[0] + (np.asarray(x, float) - self.extent[0]) * k,
                self.box[1] + (self.extent[3] - np.asarray(y, float)) * k)

    # --- layers from geometry ------------------------------------------------------------------

    def _clip(self, geoms: Any) -> np.ndarray:
        x0, y0, x1, y1 = self.extent
        g = shapely.clip_by_rect(np.asarray(geoms, dtype=object), x0, y0, x1, y1)
        return g[~shapely.is_empty(g)]

    def _paths(self, geoms: np.ndarray, *, rings: bool) -> list[str]:
        """Path data of each geometry (its lines, or its polygons' rings closed), coordinates in
        tenths of a point (drawn under ``scale(.1)``): one ``d`` per geometry that has any."""
        parts, owner = shapely.get_parts(geoms, return_index=True)
        keep = shapely.get_type_id(parts) == (3 if rings else 1)  # clipping may add points
        parts, owner = parts[keep], owner[keep]
        if rings:
            parts, ring_of = shapely.get_rings(parts, return_index=True)
            owner = owner[ring_of]
        xy, idx = shapely.get_coordinates(parts, return_index=True)
        if not len(xy):
            return []
        px, py = self.xy(xy[:, 0], xy[:, 1])
        pts = [f"{a},{b}" for a, b in zip(np.rint(px * 10).astype(np.int64).tolist(),
                                          np.rint(py * 10).astype(np.int64).tolist(),
                                          strict=True)]
        starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]]).tolist()
        ends = [*starts[1:], len(pts)]
        tail = "Z" if rings else ""
        by_geom: dict[int, list[str]] = {}
        for s, e in zip(starts, ends, strict=True):
            by_geom.setdefault(int(owner[idx[s]]), []).append(
                f"M{pts[s]}L{' '.join(pts[s + 1:e])}{tail}")
        return ["".join(v) for _, v in sorted(by_geom.items())]

    def lines(self, geoms: Any, colour: str, width: float, *, dashed: bool = False) -> None:
        """Line geometries as one path (``dashed``: matplotlib's (4, 2.5) pattern)."""
        d = "".join(self._paths(self._clip(geoms), rings=False))
        if d:
            w = width * 10
            dash = f' stroke-dasharray="{n(4 * w)} {n(2.5 * w)}"' if dashed else ""
            self.body.append(f'<path transform="scale(.1)" d="{d}" fill="none" '
                             f'stroke="{colour}" stroke-width="{n(w)}" '
                             f'stroke-linejoin="round"{dash}/>')

    def polygons(self, geoms: Any, colour: str, alpha: float, *, edge: str = "#ffffff",
                 edge_w: float = 0.3) -> None:
        """Polygon geometries filled (each its own path, so overlaps add up as in matplotlib),
        with a thin edge; the fill and the edge take ``alpha``."""
        out = "".join(f'<path d="{d}"/>' for d in self._paths(self._clip(geoms), rings=True))
        if out:
            self.body.append(f'<g transform="scale(.1)" fill="{colour}" fill-rule="evenodd" '
                             f'opacity="{alpha:g}" stroke="{edge}" '
                             f'stroke-width="{n(edge_w * 10)}">{out}</g>')

    def markers(self, x: Any, y: Any, kind: str, size: float, fill: str, *,
                edge: str = "none", edge_w: float = 0.0) -> None:
        """Markers at area coordinates (``size``: diameter in points)."""
        px, py = self.xy(x, y)
        self.body += [marker_svg(kind, a, b, size, fill, edge=edge, edge_w=edge_w)
                      for a, b in zip(px, py, strict=True)]

    # --- text ----------------------------------------------------------------------------------

    def text(self, x: float, y: float, s: str, size: float, *,
             align: tuple[str, str] = ("middle", "center"), weight: str = "",
             colour: str = "#000000", halo: tuple[float, str] | None = None) -> None:
        """Text at (x, y) points; ``align``: SVG text-anchor (start, middle, end) and where y
        is on the lines (center, top or bottom); ``halo`` (width, colour) a stroke drawn under
        the letters; several lines split at newlines."""
        anchor, valign = align
        lines = s.split("\n")
        step = size * _LINE_GAP
        block = step * (len(lines) - 1)
        first = {"center": y - block / 2 + 0.35 * size, "top": y + 0.8 * size,
                 "bottom": y - block - 0.2 * size}[valign]
        bold = f' font-weight="{weight}"' if weight else ""
        head = f'<text font-size="{n(size)}" text-anchor="{anchor}"{bold}'

        def spans(dx: float, dy: float) -> str:
            return "".join(f'<tspan x="{n(x + dx)}" y="{n(first + dy + i * step)}">'
                           f"{html.escape(line)}</tspan>" for i, line in enumerate(lines))

        if halo is not None:  # copies shifted around the text (a stroked text is drawn with
            # lines joining its glyphs by WeasyPrint)
            r = halo[0] / 2
            self.body.append(f'<g fill="{halo[1]}">' + "".join(
                f"{head}>{spans(r * math.cos(a), r * math.sin(a))}</text>"
                for a in _HALO_ANGLES) + "</g>")
        self.body.append(f'{head} fill="{colour}">{spans(0.0, 0.0)}</text>')

    def at(self, x: Any, y: Any, s: str, size: float, **kw: Any) -> None:
        """:meth:`text` at area coordinates."""
        px, py = self.xy(x, y)
        self.text(float(px), float(py), s, size, **kw)

    # --- furniture -----------------------------------------------------------------------------

    def scale_bar(self, metres_label: str, km_label: str) -> None:
        """Two-segment black/white bar at the lower left, labelled in m or km."""
        x0, y0, x1, y1 = self.extent
        length = nice_length(x1 - x0)
        bx, by = x0 + 0.03 * (x1 - x0), y0 + 0.035 * (y1 - y0)
        h = 0.012 * self.box[3]
        px, py = self.xy(bx, by)
        half = length / 2 * self.scale
        for i, fill in enumerate(("#000000", "#ffffff")):
            self.body.append(f'<rect x="{n(float(px) + i * half)}" y="{n(float(py) - h)}" '
                             f'width="{n(half)}" height="{n(h)}" fill="{fill}" '
                             'stroke="#000000" stroke-width="0.8"/>')
        unit = km_label if length >= 1000 else metres_label
        value = f"{length / 1000:g}" if length >= 1000 else f"{length:g}"
        for x, label in ((float(px), "0"), (float(px) + 2 * half, f"{value} {unit}")):
            self.text(x, float(py) - 1.8 * h, label, 7.5, align=("middle", "bottom"),
                      halo=(2.5, "#ffffff"))

    def north_arrow(self, angle_deg: float, label: str) -> None:
        """An arrow pointing to true north (``angle_deg`` counter-clockwise from up) near the
        upper right corner, with ``label`` beyond its tip."""
        left, top, w, h = self.box
        cx, cy, length = left + 0.955 * w, top + 0.14 * h, 0.07 * h
        a = math.radians(angle_deg)
        ux, uy = -math.sin(a), -math.cos(a)  # y down
        tip = (cx + ux * length / 2, cy + uy * length / 2)
        tail = (cx - ux * length / 2, cy - uy * length / 2)
        head_l, head_w = 0.45 * length, 0.2 * length
        base = (tip[0] - ux * head_l, tip[1] - uy * head_l)
        head = np.array([tip, (base[0] - uy * head_w, base[1] + ux * head_w),
                         (base[0] + uy * head_w, base[1] - ux * head_w)])
        self.body.append(f'<line x1="{n(tail[0])}" y1="{n(tail[1])}" x2="{n(base[0])}" '
                         f'y2="{n(base[1])}" stroke="#000000" stroke-width="1.6"/>'
                         f'<polygon points="{_coords(head)}" fill="#000000"/>')
        self.text(cx + ux * length * 0.85, cy + uy * length * 0.85, label, 10, weight="bold",
                  halo=(2.5, "#ffffff"))

    def _legend_rows(self, title: str, x: float, y: float, width_em: float,
                     entries: Sequence[tuple[Symbol, str]]) -> float:
        """The legend's title and entries in one column from (x, y) down; returns the bottom."""
        size, handle = 8.5, 1.8 * 8.5
        if title:
            self.text(x, y, title, 9.5, align=("start", "top"))
        y += 9.5 * _LINE_GAP + 0.7 * size
        for sym, label in entries:
            lines = wrap(label, width_em)
            k = lines.count("\n") + 1
            mid = y + k * size * _LINE_GAP / 2
            self.body.append(sym.svg(x, mid, handle))
            self.text(x + handle + 0.8 * size, mid, lines, size, align=("start", "center"))
            y += k * size * _LINE_GAP + 0.7 * size
        return y

    def legend_column(self, title: str, heading: str, x: float) -> None:
        """Landscape: the title and then the legend in a column starting at x (points)."""
        lines = wrap(title, 13)
        self.text(x, 0.12 * PT_PER_IN, lines, 13, align=("start", "top"),
                  weight="bold")
        top = (0.12 + (lines.count("\n") + 1) * 0.26 + 0.25) * PT_PER_IN
        self._legend_rows(heading, x, top, 16.5, self.legend)

    def legend_band(self, title: str, heading: str, band_top: float) -> None:
        """Portrait: the title above the map, the legend in up to 4 columns under it."""
        self.text(self.width / 2, 0.22 * PT_PER_IN, title, 13, weight="bold")
        ncol = max(1, min(4, math.ceil(len(self.legend) / 3)))
        rows = math.ceil(len(self.legend) / ncol)
        cols = [self.legend[i * rows:(i + 1) * rows] for i in range(ncol)]
        widths = [max((text_width_pt(max(wrap(lb, 18).split("\n"), key=len), 8.5)
                       for _, lb in col), default=0.0) + 1.8 * 8.5 + 0.8 * 8.5 for col in cols]
        gap = 1.2 * 8.5
        x = (self.width - sum(widths) - gap * (ncol - 1)) / 2
        self.text(x, band_top + 4, heading, 9.5, align=("start", "top"))
        for col, w in zip(cols, widths, strict=True):
            self._legend_rows("", x, band_top + 4, 18, col)
            x += w + gap

    def svg(self, title: str, key: str) -> str:
        """The finished ``<svg>`` element (``class="map"``, sized in points, white ground)."""
        w, h = n(self.width), n(self.height)
        left, top, bw, bh = self.box
        frame = (f'<rect x="{n(left)}" y="{n(top)}" width="{n(bw)}" height="{n(bh)}" '
                 'fill="#ffffff"/>')
        return (f'<svg xmlns="http://www.w3.org/2000/svg" class="map" id="svg-{html.escape(key)}"'
                f' width="{w}pt" height="{h}pt" viewBox="0 0 {w} {h}" role="img" '
                f'font-family="{self.font}"><title>{html.escape(title)}</title>'
                f'<rect width="{w}" height="{h}" fill="#ffffff"/>{frame}'
                f'{"".join(self.body)}</svg>')
