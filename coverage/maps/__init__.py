"""Interactive maps: one self-contained HTML page each, working offline.

* :func:`build_map` / :func:`write_map`: the area map, a pure function of a
  :class:`~coverage.results.Results` (from :func:`~coverage.results.read_results` or
  :func:`~coverage.results.results_of`). Compounds coloured by one colouring at a time (all
  categories or one category; existing or with the proposed stations), facilities, walk areas,
  proposed stations, candidate / ranked / optimal sites, unit boundaries and the walk network
  as grouped layers, a title bar (area, scenario, date), and a legend that shows what is on.
* :func:`write_overview_map`: the batch overview of many units (``circle15 batch``).

The page is built layer by layer into a :class:`~coverage.maps.page.MapDocument` from one
:class:`~coverage.maps.context.MapContext` (see :mod:`coverage.maps.layers`); Leaflet and its
plugin are vendored in ``coverage/assets`` and inlined. Same results, same bytes: no random ids
and no clock (the date is :func:`coverage.results.results_date`).

Extending: a layer builder is ``def add_plan(ctx: MapContext, doc: MapDocument) -> None``; it
reads ``ctx.results``, calls ``doc.add_data(name, json_able)`` and ``doc.add_layer(Layer(...))``
with a kind the page script draws (``markers``, ``polygons``, ``lines``, ``points``) and legend
symbols; pass it as ``build_map(results, extra_layers=(add_plan,))``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._i18n import tr
from ..io import write_text
from ..results import Results, results_date
from .context import MapContext
from .layers import AREA_LAYERS, BASEMAP, CATEGORIES, REFERENCE, SCENARIO, SITES, LayerBuilder
from .overview import build_overview_map, write_overview_map
from .page import Group, Layer, MapDocument

__all__ = [
    "AREA_LAYERS",
    "Group",
    "Layer",
    "LayerBuilder",
    "MapContext",
    "MapDocument",
    "build_map",
    "build_overview_map",
    "write_map",
    "write_overview_map",
]

log = logging.getLogger(__name__)

#: Initial view when the results hold no geometry at all (Beijing).
_FALLBACK_BOUNDS = [[39.9, 116.3], [40.0, 116.4]]


def _bounds(results: Results) -> list[list[float]]:
    frames = [g for g in (results.boundaries, results.compounds, results.facilities)
              if g is not None and len(g)]
    if not frames:
        log.warning("results have no boundaries, compounds or facilities: empty map")
        return _FALLBACK_BOUNDS
    b = np.array([g.to_crs(4326).total_bounds for g in frames])
    return [[round(float(b[:, 1].min()), 5), round(float(b[:, 0].min()), 5)],
            [round(float(b[:, 3].max()), 5), round(float(b[:, 2].max()), 5)]]


def page_labels(ctx: MapContext) -> dict[str, str]:
    """The words the page script shows, in the map's language.

    Templates keep their ``{name}`` / ``{name:g}`` / ``{name:,}`` fields: the page fills them.
    """
    keys = ("layers", "legend", "hide", "show_panel", "col_colour", "col_facilities",
            "col_walk_area", "unit", "population", "population_60plus", "category", "walk_min",
            "limit_min", "walk_min_proposed", "tiles_failed", "tiles_failed_streets",
            "scenario_existing",
            "scenario_with_proposed", "beyond", "beyond_note", "n_of_cats", "cat_within",
            "cat_beyond", "legend_compounds", "cell_popup", "source", "status", "off_network")
    return {k: str(tr(k, ctx.lang)) for k in keys}


def _groups(ctx: MapContext, doc: MapDocument) -> None:
    doc.add_group(Group(CATEGORIES, ctx.t("grp_colouring"), kind="categories",
                        options={"all_label": ctx.t("colour_all")}))
    if ctx.results.has_proposed:
        doc.add_group(Group(SCENARIO, ctx.t("grp_scenario"), kind="radio", options={
            "state": "scenario",
            "items": [{"value": "existing", "label": ctx.t("scenario_existing")},
                      {"value": "with_proposed", "label": ctx.t("scenario_with_proposed")}]}))
    doc.add_group(Group(SITES, ctx.t("grp_sites")))
    doc.add_group(Group(REFERENCE, ctx.t("grp_reference")))
    doc.add_group(Group(BASEMAP, ctx.t("grp_basemap"), kind="radio", options={
        "state": "base",
        "items": [{"value": "osm", "label": ctx.t("basemap_osm")},
                  {"value": "none", "label": ctx.t("basemap_none")}]}))


def build_map(results: Results, *, lang: str = "zh",
              extra_layers: Sequence[LayerBuilder] = (), progress: bool = False) -> MapDocument:
    """Build the interactive coverage map of one study area.

    Parameters
    ----------
    results : Results
        The run's results (:func:`~coverage.results.read_results` or
        :func:`~coverage.results.results_of`).
    lang : {"zh", "en"}
        Language of every label the map adds (names from data are shown as they are).
    extra_layers : sequence of callables
        Further layer builders ``(ctx, doc) -> None``, drawn after the standard ones.
    progress : bool
        Show a progress bar over the layer builders.

    Returns
    -------
    MapDocument
        Render with :meth:`~coverage.maps.page.MapDocument.render` or write with
        :func:`write_map`.

    Raises
    ------
    ValueError
        For an unknown ``lang``.
    """
    ctx = MapContext(results, lang)
    date = results_date(results)
    doc = MapDocument(
        title=str(results.config.name), lang=lang, bounds=_bounds(results),
        subtitle=[date] if date else [], labels=page_labels(ctx),
        state={"colour": "all", "scenario": "existing", "base": "osm"},
        extra={"attribution": ctx.t("attribution")},
    )
    _groups(ctx, doc)
    from tqdm.auto import tqdm

    for build in tqdm((*AREA_LAYERS, *extra_layers), desc="building the map", unit="layer",
                      disable=not progress):
        build(ctx, doc)
    log.info("map: %d layers, %d data blobs", len(doc.layers), len(doc.data))
    return doc


def write_map(results: Results, path: str | Path, *, lang: str = "zh",
              extra_layers: Sequence[LayerBuilder] = (), progress: bool = False) -> Path:
    """Build the map and write it atomically to ``path`` (one self-contained HTML file).

    ``progress`` shows a progress bar over the layers (see :func:`build_map`).

    Returns
    -------
    Path
        ``path``.
    """
    text = build_map(results, lang=lang, extra_layers=extra_layers, progress=progress).render()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, text)
    log.info("map written: %s (%.1f MB)", path, len(text.encode("utf-8")) / 1e6)
    return path
