"""The batch overview map: every unit of every area, coloured by coverage, one category at a time.

Units are coloured in fixed classes of population-weighted coverage (10 % steps above 50 %;
ColorBrewer YlOrRd reversed: the least covered are the darkest, see
:data:`coverage.style.OVERVIEW_CLASSES`); a
radio group picks the category (or the mean over categories); each unit has a name label and a
popup with its coverage for every category.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from .. import style
from .._i18n import check_lang, tr
from ..io import write_text
from .display import SIMPLIFY_M, feature_collection, lonlat, num, text, to_display
from .page import Group, Layer, MapDocument

__all__ = ["MEAN_KEY", "build_overview_map", "write_overview_map"]

#: The colouring by the mean over categories.
MEAN_KEY = "_mean"
_PREFIX = "coverage_pct_"


def _classes() -> list[dict[str, Any]]:
    """The colour classes, each with its range as a label (``"20–40%"``)."""
    upper = [lo for lo, _ in style.OVERVIEW_CLASSES[1:]] + [100.0]
    return [{"lower": lo, "colour": col, "label": f"< {hi:g}%" if lo == 0 else f"{lo:g}–{hi:g}%"}
            for (lo, col), hi in zip(style.OVERVIEW_CLASSES, upper, strict=True)]


def _values(row: Any, keys: list[str]) -> dict[str, float | None]:
    vals: dict[str, float | None] = {k: num(getattr(row, f"{_PREFIX}{k}"), 1) for k in keys}
    ok = [v for v in vals.values() if v is not None]
    vals[MEAN_KEY] = round(float(np.mean(ok)), 1) if ok else None
    return vals


def _label_points(units: gpd.GeoDataFrame) -> tuple[list[float], list[float]]:
    from shapely.ops import polylabel

    proj = units.to_crs(units.estimate_utm_crs())
    pts = []
    for g in proj.geometry:
        part = max(g.geoms, key=lambda p: p.area) if hasattr(g, "geoms") else g
        pts.append(polylabel(part, tolerance=max(1.0, part.length / 500)))
    xy = np.array([[p.x, p.y] for p in pts]).reshape(-1, 2)
    return lonlat(xy, proj.crs)


def build_overview_map(units: gpd.GeoDataFrame, *, title: str, lang: str = "zh",
                       labels: Mapping[str, str] | None = None) -> MapDocument:
    """The overview page of a batch's units.

    Parameters
    ----------
    units : GeoDataFrame
        One row per unit: ``area``, ``unit``, ``coverage_pct_<key>`` per category (existing
        facilities, %), any CRS.
    title : str
        The batch's name.
    lang : {"zh", "en"}
    labels : mapping, optional
        Category key -> display name in ``lang`` (default: the key).
    """
    check_lang(lang)
    labels = dict(labels or {})
    keys = [c[len(_PREFIX):] for c in units.columns if c.startswith(_PREFIX)]
    names = {k: labels.get(k, k) for k in keys}
    names[MEAN_KEY] = str(tr("ov_mean", lang))
    disp = to_display(units.to_crs(3857), SIMPLIFY_M["overview"])
    props = []
    for r in disp.itertuples():
        vals = _values(r, keys)
        rows = [[names[k], "–" if vals[k] is None else f"{vals[k]:.1f}%"] for k in keys]
        rows.append([names[MEAN_KEY], "–" if vals[MEAN_KEY] is None
                     else f"{vals[MEAN_KEY]:.1f}%"])
        props.append({"n": text(r.unit), "title": f"{text(r.area)} / {text(r.unit)}",
                      "rows": rows, "v": vals})
    b = disp.total_bounds if len(disp) else np.array([116.3, 39.9, 116.4, 40.0])
    doc = MapDocument(
        title=str(tr("batch_title", lang, title=title)), lang=lang,
        bounds=[[round(float(b[1]), 5), round(float(b[0]), 5)],
                [round(float(b[3]), 5), round(float(b[2]), 5)]],
        labels={k: str(tr(k, lang)) for k in ("layers", "legend", "hide", "show_panel",
                                               "tiles_failed")},
        state={"colour": MEAN_KEY, "scenario": "existing", "base": "osm"},
        extra={"title_state": "colour"},
    )
    doc.add_group(Group("colour", str(tr("ov_colour_by", lang)), kind="radio", options={
        "state": "colour",
        "items": [{"value": k, "label": names[k]} for k in (MEAN_KEY, *keys)]}))
    doc.add_group(Group("reference", str(tr("grp_reference", lang))))
    doc.add_group(Group("basemap", str(tr("grp_basemap", lang)), kind="radio", options={
        "state": "base",
        "items": [{"value": "osm", "label": str(tr("basemap_osm", lang))},
                  {"value": "none", "label": str(tr("basemap_none", lang))}]}))
    data = doc.add_data("units", feature_collection(disp, props))
    lon, lat = _label_points(units) if len(units) else ([], [])
    unit_labels = doc.add_data("unit_labels", {"x": lon, "y": lat,
                                               "t": [p["n"] for p in props]})
    doc.add_layer(Layer(
        "units", "choropleth", "reference", str(tr("ov_labels", lang)), data,
        options={"classes": _classes(), "nodata": style.NO_DATA_COLOUR,
                 "nodata_label": str(tr("no_data", lang)), "names": names,
                 "heading": str(tr("ov_coverage", lang)), "labels": unit_labels,
                 "style": {"color": "#444444", "weight": 1, "fillOpacity": 0.75}},
    ))
    return doc


def write_overview_map(units: gpd.GeoDataFrame, path: str | Path, *, title: str,
                       lang: str = "zh", labels: Mapping[str, str] | None = None) -> Path:
    """Write :func:`build_overview_map` atomically to ``path`` (one offline HTML file)."""
    path = Path(path)
    write_text(path, build_overview_map(units, title=title, lang=lang, labels=labels).render())
    return path
