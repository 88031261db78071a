"""Interactive coverage map: one self-contained HTML file that works offline.

The map reads a results folder (see the results contract: ``coverage.gpkg`` with layers in the
area CRS) and draws, in EPSG:4326:

* unit boundaries with permanent name labels;
* compounds coloured covered / not covered, one layer per category plus an "all categories"
  layer (and "all categories with proposed" when proposed stations exist);
* existing facilities per category (clustered, coloured and numbered per category), proposed
  stations, walking isochrones per category (off by default), candidate sites, ranked sites and
  the optimal selection;
* layer control, legend, scale bar, full-screen button and OpenStreetMap attribution.

Leaflet and its plugins are embedded in the HTML (via the ``folium-offline`` package, import
name ``offlinefolium``), so the vector layers display with no internet access; only basemap
tiles need a connection. Every text that comes from data (OSM names, planners' files, config
labels) is HTML-escaped before it reaches the page, and data blobs are embedded as JSON with
``<``, ``>`` and ``&`` written as ``\\u003c`` etc., so nothing from data can run as script.
Compound data is embedded once and shared by all compound layers, keeping the file small.
"""

from __future__ import annotations

import html
import json
import logging
import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from ._i18n import cat_label, check_lang, tr
from .config import AreaConfig, Category
from .io import write_text

if TYPE_CHECKING:  # pragma: no cover
    import folium
    import geopandas as gpd

__all__ = ["CATEGORY_COLOURS", "build_map", "read_layer", "write_map"]

log = logging.getLogger(__name__)

#: Display colours, one per category in config order (cycled beyond 12).
CATEGORY_COLOURS = (
    "#1f77b4", "#ff7f0e", "#9467bd", "#d62728", "#8c564b", "#e377c2",
    "#17becf", "#bcbd22", "#2ca02c", "#7f7f7f", "#393b79", "#ad494a",
)
COVERED_COLOUR = "#2e9e44"
PARTIAL_COLOUR = "#f0a020"
UNCOVERED_COLOUR = "#d7301f"
#: The "all categories" layer: share of categories covered -> fill colour. Every category is
#: COVERED_COLOUR, none is UNCOVERED_COLOUR; in between, these bins (lower bound, colour).
SHARE_COLOURS = ((0.75, "#a6d96a"), (0.5, PARTIAL_COLOUR), (0.0, "#f46d43"))

#: Simplification tolerances for display (metres, in the area CRS) and coordinate decimals
#: (5 decimals of a degree is about 1 m).
SIMPLIFY_M = {"compounds": 1.0, "boundaries": 5.0, "isochrones": 8.0}
COORD_DECIMALS = 5

_CLUSTER_JS = [("markerclusterjs", "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/"
                "1.1.0/leaflet.markercluster.js")]
_CLUSTER_CSS = [
    ("markerclustercss",
     "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css"),
    ("markerclusterdefaultcss",
     "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
     "MarkerCluster.Default.css"),
]


# --- reading results -----------------------------------------------------------------------------

def read_layer(out_dir: Path, layer: str, config: AreaConfig) -> gpd.GeoDataFrame | None:
    """Read one layer of ``out_dir/coverage.gpkg`` in the area CRS, or None if it is absent.

    A layer without a CRS is assumed to be in ``config.crs`` (logged as a warning).
    """
    import geopandas as gpd
    import pyogrio

    gpkg = Path(out_dir) / "coverage.gpkg"
    if not gpkg.exists():
        log.warning("no %s: map/report layers will be empty", gpkg)
        return None
    names = {str(n) for n in pyogrio.list_layers(gpkg)[:, 0]}
    if layer not in names:
        log.debug("layer %s not in %s", layer, gpkg)
        return None
    gdf = gpd.read_file(gpkg, layer=layer)
    if gdf.crs is None:
        log.warning("layer %s has no CRS; assuming %s", layer, config.crs)
        gdf = gdf.set_crs(config.crs)
    return gdf


def _display(gdf: gpd.GeoDataFrame, tolerance_m: float = 0.0) -> gpd.GeoDataFrame:
    """Simplify (in metres, projected CRS), reproject to EPSG:4326 and round coordinates."""
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].copy()
    if tolerance_m > 0 and gdf.crs is not None and gdf.crs.is_projected:
        gdf["geometry"] = gdf.geometry.simplify(tolerance_m, preserve_topology=True)
    gdf = gdf.to_crs(4326)
    gdf["geometry"] = shapely.transform(
        gdf.geometry.values, lambda xy: np.round(xy, COORD_DECIMALS))
    return gdf


def _features(gdf: gpd.GeoDataFrame, props: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``gdf``'s geometries with the given properties."""
    feats = [
        {"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": p}
        for g, p in zip(gdf.geometry, props, strict=True)
    ]
    return {"type": "FeatureCollection", "features": feats}


def _js(value: Any) -> str:
    """JSON for embedding in a ``<script>``: no ``<``, ``>`` or ``&`` can end the script."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _e(value: Any) -> str:
    """HTML-escape any value from data (None and NaN become an empty string)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def _fmt_min(value: Any, lang: str, max_min: float | None = None) -> str:
    """Walking minutes with 1 decimal; NaN (nothing within ``max_min``) as "> max_min"."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if math.isnan(v):
        return tr("beyond", lang, minutes=max_min) if max_min else tr("unreachable", lang)
    return f"{v:.1f}"


def _fmt_int(value: Any) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(v) else f"{round(v):,}"


def _colour(i: int) -> str:
    return CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]


# --- Leaflet elements ----------------------------------------------------------------------------

def _element_classes():
    """Build the custom folium element classes (folium imported lazily, at map-building time)."""
    from branca.element import MacroElement
    from offlinefolium.elements import JSCSSMixin
    from offlinefolium.map import Layer
    from offlinefolium.template import Template

    class JsonData(MacroElement):
        """``var <name> = <json>;`` so several layers can share one data blob."""

        _template = Template(
            "{% macro script(this, kwargs) %}\n"
            "var {{ this.get_name() }} = {{ this.data }};\n"
            "{% endmacro %}"
        )

        def __init__(self, data: Any) -> None:
            super().__init__()
            self._name = "Circle15Data"
            self.data = _js(data)

    class GeoJsonLayer(Layer):
        """An ``L.geoJSON`` layer over shared data with JS style / feature hooks.

        Tooltips and popups come from the features' ``tt`` (or else ``t``) / ``p``
        properties, which hold HTML already escaped in Python (``t`` is the feature's name).
        The layer is registered in ``window.circle15Layers`` under ``key`` (used by tests and
        for scripting).
        """

        _template = Template(
            "{% macro script(this, kwargs) %}\n"
            "var {{ this.get_name() }} = L.geoJSON({{ this.data_name }}, {\n"
            "  {% if this.filter_js %}filter: {{ this.filter_js }},{% endif %}\n"
            "  {% if this.style_js %}style: {{ this.style_js }},{% endif %}\n"
            "  {% if this.point_js %}pointToLayer: {{ this.point_js }},{% endif %}\n"
            "  interactive: {{ this.interactive|tojson }},\n"
            "  onEachFeature: function (f, l) {\n"
            "    var p = f.properties || {};\n"
            "    if (p.tt || p.t) { l.bindTooltip(p.tt || p.t, {{ this.tooltip_opts }}); }\n"
            "    if (p.p) { l.bindPopup(p.p, {maxWidth: 420}); }\n"
            "  }\n"
            "});\n"
            "window.circle15Layers = window.circle15Layers || {};\n"
            "window.circle15Layers[{{ this.key|tojson }}] = {{ this.get_name() }};\n"
            "{% endmacro %}"
        )

        def __init__(self, key: str, name: str, data_name: str, *, style_js: str = "",
                     point_js: str = "", filter_js: str = "", show: bool = True,
                     interactive: bool = True, tooltip_opts: dict | None = None) -> None:
            super().__init__(name=name, overlay=True, control=True, show=show)
            self._name = "Circle15GeoJson"
            self.key, self.data_name = key, data_name
            self.style_js, self.point_js, self.filter_js = style_js, point_js, filter_js
            self.interactive = interactive
            self.tooltip_opts = _js(tooltip_opts or {"sticky": True})

    class ClusterLayer(JSCSSMixin, Layer):
        """Clustered ``L.marker`` points from a shared array, coloured per category."""

        default_js = _CLUSTER_JS
        default_css = _CLUSTER_CSS
        _template = Template(
            "{% macro script(this, kwargs) %}\n"
            "var {{ this.get_name() }} = L.markerClusterGroup({\n"
            "  showCoverageOnHover: false, maxClusterRadius: 40,\n"
            "  iconCreateFunction: function (c) { return L.divIcon({\n"
            "    className: 'c15-cluster', iconSize: [30, 30], html: '<div style=\"border-color:'"
            " + {{ this.colour|tojson }} + '\">' + c.getChildCount() + '</div>'}); }\n"
            "});\n"
            "{{ this.data_name }}.forEach(function (f) {\n"
            "  if (f.k !== {{ this.cat_key|tojson }}) { return; }\n"
            "  var m = L.marker([f.y, f.x], {icon: L.divIcon({className: 'c15-fac',"
            " iconSize: [20, 20], html: {{ this.icon_html|tojson }}})});\n"
            "  m.bindTooltip(f.t); m.bindPopup(f.p);\n"
            "  {{ this.get_name() }}.addLayer(m);\n"
            "});\n"
            "window.circle15Layers = window.circle15Layers || {};\n"
            "window.circle15Layers[{{ this.key|tojson }}] = {{ this.get_name() }};\n"
            "{% endmacro %}"
        )

        def __init__(self, key: str, name: str, data_name: str, cat_key: str, colour: str,
                     icon_html: str, *, show: bool = True) -> None:
            super().__init__(name=name, overlay=True, control=True, show=show)
            self._name = "Circle15Cluster"
            self.key, self.data_name, self.cat_key = key, data_name, cat_key
            self.colour, self.icon_html = colour, icon_html

    class Legend(MacroElement):
        """A bottom-left Leaflet control holding pre-escaped legend HTML."""

        _template = Template(
            "{% macro script(this, kwargs) %}\n"
            "var {{ this.get_name() }} = L.control({position: 'bottomleft'});\n"
            "{{ this.get_name() }}.onAdd = function () {\n"
            "  var d = L.DomUtil.create('div', 'c15-legend');\n"
            "  d.innerHTML = {{ this.html }};\n"
            "  L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);\n"
            "  return d; };\n"
            "{{ this.get_name() }}.addTo({{ this._parent.get_name() }});\n"
            "{% endmacro %}"
        )

        def __init__(self, html_text: str) -> None:
            super().__init__()
            self._name = "Circle15Legend"
            self.html = _js(html_text)

    return JsonData, GeoJsonLayer, ClusterLayer, Legend


def _css(lang: str) -> str:
    layers = tr("layers", lang).replace('"', "")
    return f"""<style>
.leaflet-control-layers-toggle{{background-image:none!important;width:auto!important;
 height:auto!important;padding:6px 10px;font:600 14px/1.2 sans-serif;color:#222;
 text-decoration:none}}
.leaflet-control-layers-toggle::after{{content:"\\2630  {layers}"}}
.leaflet-control-layers-list{{max-height:70vh;overflow-y:auto;overflow-x:hidden;
 font:13px/1.5 sans-serif}}
.c15-legend{{background:rgba(255,255,255,.92);padding:8px 10px;border-radius:6px;
 font:12px/1.5 sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3);max-height:45vh;overflow-y:auto}}
.c15-legend b{{display:block;margin-top:4px}}
.c15-sw{{display:inline-block;width:14px;height:14px;margin-right:6px;vertical-align:-2px;
 border:1px solid #555;border-radius:2px}}
.c15-dot,.c15-fac div,.c15-prop div,.c15-site div{{display:inline-flex;align-items:center;
 justify-content:center;color:#fff;font:700 11px/1 sans-serif;border:2px solid #fff;
 box-shadow:0 0 2px rgba(0,0,0,.6)}}
.c15-dot,.c15-fac div{{width:16px;height:16px;border-radius:50%}}
.c15-dot{{margin-right:6px;vertical-align:-3px}}
.c15-prop div{{width:18px;height:18px;border-radius:3px;border:2px dashed #000}}
.c15-site div{{min-width:20px;height:20px;padding:0 3px;border-radius:10px;border-color:#000}}
.c15-site.c15-optimal div{{border:3px solid #ffd700;box-shadow:0 0 0 2px #000,
 0 0 8px 3px #ffd700}}
.c15-cluster div{{width:22px;height:22px;border-radius:50%;color:#222;background:#fff;
 display:flex;align-items:center;justify-content:center;font:700 11px sans-serif;
 border:4px solid;box-shadow:0 0 2px rgba(0,0,0,.6)}}
.c15-lg div{{display:inline-flex;vertical-align:-5px}}
.c15-unit-label{{background:rgba(255,255,255,.75);border:0;box-shadow:none;
 font:600 13px sans-serif;color:#333}}
.c15-pop table{{border-collapse:collapse;margin-top:4px}}
.c15-pop td,.c15-pop th{{border:1px solid #ccc;padding:1px 5px;font-size:12px}}
.c15-pop .ok{{color:{COVERED_COLOUR}}}.c15-pop .no{{color:{UNCOVERED_COLOUR};font-weight:600}}
</style>"""


# --- popups (all data text escaped here) ---------------------------------------------------------

def _n_covered(row: Any, cats: tuple[Category, ...], suffix: str = "") -> int:
    return sum(bool(row.get(f"covered_{c.key}{suffix}", False)) for c in cats)


def _compound_popup(row: Any, cats: tuple[Category, ...], lang: str, with_prop: bool,
                    max_min: float | None = None) -> str:
    n = _n_covered(row, cats)
    head = (f'<div class="c15-pop"><b>{_e(row.get("name"))}</b>'
            f' <small>{_e(row.get("id"))}</small><br>'
            f'{tr("unit", lang)}: {_e(row.get("unit"))}<br>'
            f'{tr("population", lang)}: {_fmt_int(row.get("population"))}'
            f' · {tr("population_60plus", lang)}: {_fmt_int(row.get("population_60plus"))}'
            f'<br><b>{tr("n_of_cats", lang, n=n, total=len(cats))}</b>')
    cols = [tr("category", lang), tr("walk_min", lang), tr("limit_min", lang)]
    if with_prop:
        cols.append(tr("walk_min_proposed", lang))
    rows = ["<tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>"]
    for cat in cats:
        cov = bool(row.get(f"covered_{cat.key}", False))
        cells = [
            _e(cat_label(cat, lang)),
            f'<span class="{"ok" if cov else "no"}">'
            f'{_fmt_min(row.get(f"walk_min_{cat.key}"), lang, max_min)}</span>',
            f"≤ {cat.minutes:g}",
        ]
        if with_prop:
            covp = bool(row.get(f"covered_{cat.key}_with_proposed", cov))
            cells.append(f'<span class="{"ok" if covp else "no"}">'
                         f'{_fmt_min(row.get(f"walk_min_{cat.key}_with_proposed"), lang, max_min)}'
                         "</span>")
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    note = (f'<small>{tr("beyond_note", lang, minutes=max_min)}</small>'
            if max_min and any(_fmt_min(row.get(f"walk_min_{c.key}{suf}"), lang, max_min)
                               .startswith(">") for c in cats
                               for suf in ("", "_with_proposed")
                               if f"walk_min_{c.key}{suf}" in row)
            else "")
    return head + "<table>" + "".join(rows) + "</table>" + note + "</div>"


def _point_popup(row: Any, cat_text: str, lang: str) -> str:
    parts = [f'<div class="c15-pop"><b>{_e(row.get("name"))}</b>',
             f'{tr("category", lang)}: {_e(cat_text)}']
    status = row.get("status")
    if status not in (None, ""):
        shown = (tr(f"status_{status}", lang) if status in ("existing", "proposed", "planned")
                 else status)
        parts.append(f'{tr("status", lang)}: {_e(shown)}')
    if row.get("source") not in (None, ""):
        parts.append(f'{tr("source", lang)}: {_e(row.get("source"))}')
    if bool(row.get("off_network", False)):
        parts.append(f'<span class="no">{tr("off_network", lang)}</span>')
    return "<br>".join(parts) + "</div>"


def _bits(df: Any, cols: list[str]) -> list[str]:
    """Per row, a string of '1'/'0' for each boolean column (missing column -> '0')."""
    out = []
    arrays = [df[c].fillna(False).astype(bool).to_numpy() if c in df else
              np.zeros(len(df), bool) for c in cols]
    for i in range(len(df)):
        out.append("".join("1" if a[i] else "0" for a in arrays))
    return out


# --- the map -------------------------------------------------------------------------------------

def build_map(config: AreaConfig, out_dir: Path, *, lang: str = "zh") -> folium.Map:
    """Build the interactive coverage map from a results folder.

    Parameters
    ----------
    config : AreaConfig
        The study area (categories give minutes, speeds and labels).
    out_dir : Path
        Results folder holding ``coverage.gpkg`` (layers in the area CRS) and optionally
        ``sites.csv``.
    lang : {"zh", "en"}
        Label language.

    Returns
    -------
    folium.Map
        An ``offlinefolium`` map (folium API, assets embedded); save with :func:`write_map`.
    """
    import offlinefolium as folium
    from offlinefolium import plugins

    check_lang(lang)
    out_dir = Path(out_dir)
    JsonData, GeoJsonLayer, ClusterLayer, Legend = _element_classes()
    cats = config.categories
    colours = {c.key: _colour(i) for i, c in enumerate(cats)}
    number = {c.key: i + 1 for i, c in enumerate(cats)}
    labels = {c.key: cat_label(c, lang) for c in cats}

    bnd = read_layer(out_dir, "boundaries", config)
    comp = read_layer(out_dir, "compounds", config)
    fac = read_layer(out_dir, "facilities", config)
    prop = read_layer(out_dir, "proposed", config)
    cand = read_layer(out_dir, "candidates", config)
    sel = read_layer(out_dir, "selected_sites", config)

    # map frame: bounds of whatever exists
    frames = [g for g in (bnd, comp, fac) if g is not None and len(g)]
    if frames:
        b = np.array([g.to_crs(4326).total_bounds for g in frames])
        bounds = [[float(b[:, 1].min()), float(b[:, 0].min())],
                  [float(b[:, 3].max()), float(b[:, 2].max())]]
    else:
        log.warning("results in %s have no boundaries, compounds or facilities", out_dir)
        bounds = [[39.9, 116.3], [40.0, 116.4]]
    m = folium.Map(
        location=[(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2],
        zoom_start=13, tiles=None, control_scale=True, prefer_canvas=False,
    )
    folium.TileLayer(
        "OpenStreetMap", name="OpenStreetMap", control=True,
        attr='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
             "contributors",
    ).add_to(m)
    m.get_root().header.add_child(folium.Element(_css(lang)), name="circle15_css")
    m.get_root().header.add_child(
        folium.Element(f"<title>{_e(config.name)}</title>"), name="circle15_title")

    # --- compounds: one shared data blob, several styled layers
    with_prop = prop is not None and len(prop) > 0
    if comp is not None and len(comp):
        cd = _display(comp, SIMPLIFY_M["compounds"])
        recs = cd.drop(columns="geometry").to_dict("records")
        keys = [c.key for c in cats]
        bits = _bits(cd, [f"covered_{k}" for k in keys])
        bits_p = _bits(cd, [f"covered_{k}_with_proposed" for k in keys])
        max_min = config.max_walk_min
        props = [
            {"t": _e(r.get("name")) or _e(r.get("id")),
             "tt": (_e(r.get("name")) or _e(r.get("id")))
             + f' · {tr("n_of_cats", lang, n=b_.count("1"), total=len(cats))}',
             "p": _compound_popup(r, cats, lang, with_prop, max_min), "c": b_, "w": bp}
            for r, b_, bp in zip(recs, bits, bits_p, strict=True)
        ]
        data = JsonData(_features(cd, props))
        m.add_child(data, name="circle15_compounds_data")
        n_cat = len(cats)

        def all_style(field: str) -> str:
            # all categories -> green, none -> red, in between by share (SHARE_COLOURS)
            share = "".join(f"q >= {lo} ? {json.dumps(col)} : " for lo, col in SHARE_COLOURS)
            return (
                "function (f) { var s = f.properties." + field + ", n = (s.match(/1/g) || [])"
                ".length, q = n / " + str(n_cat) + "; var c = n === " + str(n_cat) + " ? "
                + json.dumps(COVERED_COLOUR) + " : (n === 0 ? " + json.dumps(UNCOVERED_COLOUR)
                + " : (" + share + json.dumps(SHARE_COLOURS[-1][1]) + ")); "
                "return {color: '#333', weight: 1, fillColor: c, fillOpacity: 0.6, "
                "className: 'c15-compound'}; }"
            )

        GeoJsonLayer("compounds_all", _e(tr("all_categories", lang)), data.get_name(),
                     style_js=all_style("c"), show=True).add_to(m)
        if with_prop:
            GeoJsonLayer("compounds_all_with_proposed",
                         _e(tr("all_categories_proposed", lang)), data.get_name(),
                         style_js=all_style("w"), show=False).add_to(m)
        for i, cat in enumerate(cats):
            style = (
                "function (f) { var ok = f.properties.c.charAt(" + str(i) + ") === '1'; "
                "return {color: '#333', weight: 1, fillOpacity: 0.6, className: "
                "'c15-compound', fillColor: ok ? " + json.dumps(COVERED_COLOUR) + " : "
                + json.dumps(UNCOVERED_COLOUR) + "}; }"
            )
            GeoJsonLayer(f"compounds_{cat.key}",
                         _e(tr("compounds_cat", lang, label=labels[cat.key])),
                         data.get_name(), style_js=style, show=False).add_to(m)
        log.info("map: %d compounds in %d compound layers", len(cd), n_cat + 1 + with_prop)
    else:
        log.warning("no compounds layer in %s: the map shows no coverage", out_dir)

    # --- unit boundaries with permanent name labels
    if bnd is not None and len(bnd):
        bd = _display(bnd, SIMPLIFY_M["boundaries"])
        names = bd["name"] if "name" in bd else [""] * len(bd)
        data = JsonData(_features(bd, [{"t": _e(n)} for n in names]))
        m.add_child(data, name="circle15_boundaries_data")
        GeoJsonLayer(
            "boundaries", _e(tr("units", lang)), data.get_name(),
            style_js="function () { return {color: '#222', weight: 2.5, fill: false, "
                     "dashArray: '6 4', className: 'c15-boundary'}; }",
            interactive=False,
            tooltip_opts={"permanent": True, "direction": "center",
                          "className": "c15-unit-label"},
        ).add_to(m)

    # --- existing facilities, clustered per category
    if fac is not None and len(fac):
        fd = _display(fac)
        known = fd["category"].isin(colours) if "category" in fd else np.zeros(len(fd), bool)
        if (~known).any():
            log.warning("map: %d facilities have a category not in the config; not drawn",
                        int((~known).sum()))
        fd = fd[known]
        pts = [
            {"x": float(g.x), "y": float(g.y), "k": r["category"],
             "t": _e(r.get("name")) or _e(labels[r["category"]]),
             "p": _point_popup(r, labels[r["category"]], lang)}
            for g, r in zip(fd.geometry, fd.drop(columns="geometry").to_dict("records"),
                            strict=True)
        ]
        data = JsonData(pts)
        m.add_child(data, name="circle15_facilities_data")
        # 12 categories of facilities at once hide the compounds: show the categories being
        # sited (new_sites > 0), or the first one; the rest are a click away.
        shown = {c.key for c in cats if c.new_sites} or {cats[0].key}
        for cat in cats:
            if not (fd["category"] == cat.key).any():
                continue
            icon = (f'<div style="background:{colours[cat.key]}">{number[cat.key]}</div>')
            ClusterLayer(f"facilities_{cat.key}",
                         _e(tr("facilities_cat", lang, label=labels[cat.key])),
                         data.get_name(), cat.key, colours[cat.key], icon,
                         show=cat.key in shown).add_to(m)

    # --- proposed stations (distinct: dashed squares marked P)
    if with_prop:
        pd_ = _display(prop)
        props = [
            {"t": _e(r.get("name")),
             "p": _point_popup(r, labels.get(r.get("category"), r.get("category")), lang),
             "col": colours.get(r.get("category"), "#000")}
            for r in pd_.drop(columns="geometry").to_dict("records")
        ]
        data = JsonData(_features(pd_, props))
        m.add_child(data, name="circle15_proposed_data")
        GeoJsonLayer(
            "proposed", _e(tr("proposed", lang)), data.get_name(),
            point_js="function (f, ll) { return L.marker(ll, {icon: L.divIcon({className: "
                     "'c15-prop', iconSize: [22, 22], html: '<div style=\"background:' + "
                     "f.properties.col + '\">P</div>'})}); }",
        ).add_to(m)

    # --- isochrones per category (off by default)
    for cat in cats:
        iso = read_layer(out_dir, f"isochrones_{cat.key}", config)
        if iso is None or not len(iso):
            continue
        idd = _display(iso, SIMPLIFY_M["isochrones"])
        scen = idd["scenario"] if "scenario" in idd else ["existing"] * len(idd)
        data = JsonData(_features(idd, [{"s": str(s)} for s in scen]))
        m.add_child(data, name=f"circle15_iso_{cat.key}_data")
        col = json.dumps(colours[cat.key])
        GeoJsonLayer(
            f"isochrones_{cat.key}",
            _e(tr("isochrones_cat", lang, minutes=cat.minutes, label=labels[cat.key])),
            data.get_name(), show=False, interactive=False,
            style_js="function (f) { var p = f.properties.s === 'with_proposed'; return {color: "
                     + col + ", weight: p ? 2 : 1, dashArray: p ? '6 6' : null, fill: !p, "
                     "fillColor: " + col + ", fillOpacity: 0.15, className: 'c15-iso'}; }",
        ).add_to(m)

    # --- candidates, ranked sites, optimal selection
    _add_sites(m, config, out_dir, cand, sel, lang, labels, colours, JsonData, GeoJsonLayer)

    # --- legend, controls
    m.add_child(Legend(_legend_html(cats, lang, colours, number, with_prop)))
    plugins.Fullscreen(title=tr("fullscreen", lang),
                       title_cancel=tr("exit_fullscreen", lang)).add_to(m)
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    m.fit_bounds(bounds)
    return m


def _add_sites(m, config, out_dir, cand, sel, lang, labels, colours, JsonData,
               GeoJsonLayer) -> None:
    import pandas as pd

    if cand is not None and len(cand):
        cd = _display(cand)
        props = [
            {"t": _e(r.get("name")) or _e(r.get("id")),
             "p": (f'<div class="c15-pop"><b>{_e(r.get("name"))}</b><br>'
                   f'{tr("candidate_id", lang)}: {_e(r.get("id"))}<br>'
                   f'{tr("category", lang)}: {_e(labels.get(r.get("category"), r.get("category")))}'
                   f'<br>{tr("source", lang)}: {_e(r.get("source"))}</div>')}
            for r in cd.drop(columns="geometry").to_dict("records")
        ]
        data = JsonData(_features(cd, props))
        m.add_child(data, name="circle15_candidates_data")
        GeoJsonLayer(
            "candidates", _e(tr("candidates", lang)), data.get_name(), show=False,
            point_js="function (f, ll) { return L.circleMarker(ll, {radius: 4, color: '#555', "
                     "weight: 1, fillColor: '#fff', fillOpacity: 0.9}); }",
        ).add_to(m)

    if sel is None or not len(sel):
        return
    sites_csv = out_dir / "sites.csv"
    extra = None
    if sites_csv.exists():
        s = pd.read_csv(sites_csv, encoding="utf-8")
        if {"candidate_id", "method", "cumulative_coverage_pct"} <= set(s.columns):
            extra = s.set_index(["method", "candidate_id"])["cumulative_coverage_pct"]
            extra = extra[~extra.index.duplicated()]
    sd = _display(sel)
    for method in ("greedy", "optimal", "set_cover"):
        part = sd[sd["method"] == method] if "method" in sd else sd.iloc[0:0]
        if not len(part):
            continue
        props = []
        for r in part.drop(columns="geometry").to_dict("records"):
            cat_key = r.get("category")
            cum = extra.get((method, r.get("candidate_id"))) if extra is not None else None
            lines = [
                f'<div class="c15-pop"><b>{_e(r.get("name"))}</b>',
                f'{tr("category", lang)}: {_e(labels.get(cat_key, cat_key))}',
                f'{tr("method", lang)}: {tr("method_" + method, lang)}',
                f'{tr("rank", lang)}: {_fmt_int(r.get("rank"))}',
                f'{tr("gain", lang)}: {_fmt_int(r.get("gain_demand"))}',
            ]
            if cum is not None and not (isinstance(cum, float) and math.isnan(cum)):
                lines.append(f'{tr("cum_pct", lang)}: {float(cum):.1f}')
            props.append({
                "t": f'#{_fmt_int(r.get("rank"))} {_e(labels.get(cat_key, cat_key))} · '
                     f'{_e(r.get("name"))} (+{_fmt_int(r.get("gain_demand"))})',
                "p": "<br>".join(lines) + "</div>",
                "r": _fmt_int(r.get("rank")),
                "col": colours.get(cat_key, "#000"),
            })
        data = JsonData(_features(part, props))
        m.add_child(data, name=f"circle15_sites_{method}_data")
        cls = "c15-site" + (" c15-optimal" if method == "optimal" else "")
        key = {"greedy": "ranked_sites", "optimal": "optimal_sites",
               "set_cover": "set_cover_sites"}[method]
        GeoJsonLayer(
            f"sites_{method}", _e(tr(key, lang)), data.get_name(),
            show=method != "set_cover",
            point_js="function (f, ll) { return L.marker(ll, {zIndexOffset: 1000, icon: "
                     "L.divIcon({className: " + json.dumps(cls) + ", iconSize: [26, 26], "
                     "html: '<div style=\"background:' + f.properties.col + '\">' + "
                     "f.properties.r + '</div>'})}); }",
        ).add_to(m)


def _legend_html(cats, lang, colours, number, with_prop: bool) -> str:
    sw = '<span class="c15-sw" style="background:{}"></span>{}<br>'
    parts = [f"<b>{tr('all_categories', lang)}</b>",
             sw.format(COVERED_COLOUR, tr("all_covered", lang)),
             *(sw.format(col, tr(key, lang)) for (_, col), key in
               zip(SHARE_COLOURS, ("most_covered", "half_covered", "few_covered"), strict=True)),
             sw.format(UNCOVERED_COLOUR, tr("none_covered", lang)),
             f"<b>{tr('category', lang)}</b>",
             sw.format(COVERED_COLOUR, tr("covered", lang)),
             sw.format(UNCOVERED_COLOUR, tr("uncovered", lang)),
             f"<b>{tr('facility', lang)}</b>"]
    for cat in cats:
        parts.append(f'<span class="c15-dot" style="background:{colours[cat.key]}">'
                     f'{number[cat.key]}</span>{_e(cat_label(cat, lang))} '
                     f"({cat.minutes:g} min)<br>")
    parts.append('<span class="c15-cluster c15-lg"><div style="border-color:#888">7</div>'
                 f"</span> {tr('cluster_legend', lang)}<br>")
    if with_prop:
        parts.append('<span class="c15-prop"><div style="background:#888">P</div></span> '
                     f"{tr('proposed', lang)}<br>")
    parts.append('<span class="c15-site c15-optimal"><div style="background:#888">1'
                 f"</div></span> {tr('optimal_sites', lang)}<br>")
    parts.append(f"<small>{tr('with_proposed_dashed', lang)} ({tr('walk_area', lang)})</small>")
    return "".join(parts)


def write_map(config: AreaConfig, out_dir: Path, map_path: Path, *, lang: str = "zh") -> Path:
    """Build the map and write it atomically to ``map_path`` (one self-contained HTML file).

    Returns
    -------
    Path
        ``map_path``.
    """
    m = build_map(config, out_dir, lang=lang)
    text = m.get_root().render()
    map_path = Path(map_path)
    write_text(map_path, text)
    log.info("map written: %s (%.1f MB)", map_path, len(text.encode("utf-8")) / 1e6)
    return map_path
