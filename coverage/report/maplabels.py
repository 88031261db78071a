"""Text on the report's static maps: where a unit's name goes, how a legend label wraps, how
wide a text is, the scale bar's length and the direction of true north.

Pure functions of geometry and strings (no drawing), shared by :mod:`.mapsvg` and
:mod:`.staticmaps`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

__all__ = ["UnitPlaces", "label_xy", "nice_length", "text_width_pt", "true_north_deg",
           "unit_places", "wrap"]

_NICE_M = (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000)


def text_width_pt(text: str, size_pt: float) -> float:
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


@dataclass(frozen=True)
class UnitPlaces:
    """The places a unit's name may take (label boxes centred on candidate points) and how much
    of each box leaves the unit: the part of :func:`label_xy` that does not depend on the
    marks, computed once per unit and label size and reused by every map of a report."""

    pts: np.ndarray
    boxes: np.ndarray
    outside: np.ndarray
    box_area: float


def _clip(geom: Any, centres: np.ndarray, width_m: float, height_m: float) -> np.ndarray:
    """``geom`` clipped to the boxes of ``width_m`` x ``height_m`` around ``centres`` (as
    exact as intersecting with the boxes, and much faster for a detailed outline)."""
    w, h = width_m / 2, height_m / 2
    return np.array([shapely.clip_by_rect(geom, x - w, y - h, x + w, y + h)
                     for x, y in centres.tolist()], dtype=object)


def _size(places: UnitPlaces) -> tuple[float, float]:
    x0, y0, x1, y1 = shapely.bounds(places.boxes[0])
    return x1 - x0, y1 - y0


def unit_places(geom: Any, width_m: float, height_m: float) -> UnitPlaces:
    """:class:`UnitPlaces` of a unit's name of ``width_m`` x ``height_m`` (metres)."""
    pts = _label_candidates(geom)
    boxes = shapely.box(pts[:, 0] - width_m / 2, pts[:, 1] - height_m / 2,
                        pts[:, 0] + width_m / 2, pts[:, 1] + height_m / 2)
    box_area = width_m * height_m
    shapely.prepare(geom)
    outside = np.zeros(len(pts))
    out = ~shapely.contains_properly(geom, boxes)  # only boxes across the edge are clipped
    outside[out] = 1 - shapely.area(_clip(geom, pts[out], width_m, height_m)) / box_area
    return UnitPlaces(pts, boxes, outside, box_area)


def label_xy(places: UnitPlaces, obstacles: Any) -> tuple[float, float]:
    """Where a unit's name covers the fewest marks (and other names) and stays inside its unit,
    as near its natural place (:func:`_label_candidates`) as that allows."""
    pts = places.pts
    covered = np.zeros(len(pts))
    if obstacles is not None:  # only boxes that touch an obstacle are intersected with it
        shapely.prepare(obstacles)
        hit = shapely.intersects(obstacles, places.boxes)
        w, h = _size(places)
        covered[hit] = shapely.area(_clip(obstacles, pts[hit], w, h)) / places.box_area
    dist = np.hypot(pts[:, 0] - pts[0, 0], pts[:, 1] - pts[0, 1]) / math.sqrt(places.box_area)
    # covering a mark matters most, then leaving the unit, then the distance from home
    score = 8 * np.round(covered, 2) + 2 * np.round(np.maximum(places.outside - 0.15, 0), 2) + \
        0.05 * dist
    best = int(np.argmin(score))
    return float(pts[best, 0]), float(pts[best, 1])


def nice_length(span_m: float) -> float:
    """A round length (metres) of about a fifth of ``span_m``, for the scale bar."""
    target = span_m / 5
    return float(max([n for n in _NICE_M if n <= target] or [_NICE_M[0]]))


def true_north_deg(crs: Any, extent: tuple[float, float, float, float]) -> float:
    """Angle (degrees, counter-clockwise from the map's up) of true north at the map centre."""
    from pyproj import Transformer

    cx, cy = (extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    to_xy = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    lon, lat = to_ll.transform(cx, cy)
    nx, ny = to_xy.transform(lon, lat + 0.01)
    return math.degrees(math.atan2(-(nx - cx), ny - cy))


_CJK = "\u2e80-\u9fff\uff00-\uffef\u3000-\u303f"
# a bracketed group, one CJK glyph, a word, or spaces: the pieces a label breaks between
_TOKEN = re.compile(rf"\([^)]*\)|（[^）]*）|[{_CJK}]|[^\s{_CJK}(（]+|\s+|.")


def wrap(label: str, width_em: float) -> str:
    """Break a label into lines of about ``width_em`` (:func:`text_width_pt`): after its colon
    when it is too long and has one, then between CJK glyphs, words or bracketed groups, never
    inside a word, number or bracket."""
    if text_width_pt(label, 1.0) <= width_em:
        return label
    head, colon, rest = [*re.split(r"(：|: )", label, maxsplit=1), "", ""][:3]
    if colon and text_width_pt(head + colon, 1.0) <= width_em:
        return (head + colon).rstrip() + "\n" + wrap(rest, width_em)
    lines, line = [], ""
    for tok in _TOKEN.findall(label):
        if line.strip() and text_width_pt(line + tok, 1.0) > width_em and not tok.isspace():
            lines.append(line.rstrip())
            line = ""
        line += tok if line or not tok.isspace() else ""
    return "\n".join([*lines, line])
