"""QGIS hand-off: styles inside ``coverage.gpkg`` and a ready ``coverage.qgz`` project.

* Every layer of ``coverage.gpkg`` gets a default style in the GeoPackage's ``layer_styles``
  table, the table QGIS reads when a layer is opened (drag the file into QGIS: it is styled).
  The compounds layer also carries one named style per category ("covered / not covered"),
  selectable in QGIS's Styles menu.
* ``coverage.qgz`` is a QGIS project beside it that opens every layer from the GeoPackage by a
  relative path (move or e-mail the folder as a whole), grouped as *plan and sites*, *facilities
  by category*, *coverage by category* and *reference*, styled like the web map, with labels on
  unit names and site ranks, and an OpenStreetMap XYZ basemap (off by default: it needs
  internet).

Colours come from :mod:`coverage.style`. Both files are written as XML by this module (no QGIS
needed to write them); the test suite opens them with a real QGIS (Debian's ``python3-qgis``).
Same results, same bytes: no timestamps, fixed ids.
"""

from __future__ import annotations

import io
import logging
import shutil
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .. import style
from .._i18n import cat_label, check_lang
from ..config import Category
from ..io import atomic_path, write_bytes
from ..report._labels import tr
from ..results import GPKG, Results

__all__ = [
    "QGIS_VERSION",
    "LayerSpec",
    "layer_specs",
    "write_layer_styles",
    "write_qgis",
    "write_qgis_project",
]

log = logging.getLogger(__name__)

#: QGIS version the XML is written for (3.22 LTR, Debian bookworm); later versions read it.
QGIS_VERSION = "3.22.16-Białowieża"
OSM_XYZ = ("type=xyz&url=https://tile.openstreetmap.org/{z}/{x}/{y}.png&zmax=19&zmin=0"
           "&crs=EPSG:3857")
_FONT = "Noto Sans CJK SC"
_GEOM = {"fill": "Polygon", "marker": "Point", "line": "Line"}


# --- symbols and renderers (QGIS XML) ----------------------------------------------------------

def _rgba(colour: str, alpha: float = 1.0) -> str:
    """``#rrggbb`` -> QGIS's ``r,g,b,a``."""
    c = colour.lstrip("#")
    r, g, b = (int(c[i:i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _options(parent: ET.Element, props: dict[str, str]) -> None:
    opt = ET.SubElement(parent, "Option", type="Map")
    for k, v in props.items():
        ET.SubElement(opt, "Option", name=k, type="QString", value=v)


@dataclass(frozen=True)
class Symbol:
    """One QGIS symbol: ``kind`` fill / marker / line and its symbol-layer properties."""

    kind: str
    props: dict[str, str]
    alpha: float = 1.0

    def xml(self, name: str) -> ET.Element:
        sym = ET.Element("symbol", type=self.kind, name=name, alpha=f"{self.alpha:g}",
                         clip_to_extent="1", force_rhr="0")
        cls = {"fill": "SimpleFill", "marker": "SimpleMarker", "line": "SimpleLine"}[self.kind]
        layer = ET.SubElement(sym, "layer", {"class": cls, "enabled": "1", "locked": "0",
                                             "pass": "0"})
        _options(layer, self.props)
        return sym


def fill(colour: str, *, outline: str = "#ffffff", width_mm: float = 0.15,
         alpha: float = 1.0, no_fill: bool = False, dashed: bool = False) -> Symbol:
    return Symbol("fill", {
        "color": _rgba(colour), "style": "no" if no_fill else "solid",
        "outline_color": _rgba(outline), "outline_style": "dash" if dashed else "solid",
        "outline_width": f"{width_mm:g}", "outline_width_unit": "MM", "joinstyle": "bevel"},
        alpha)


def marker(shape: str, colour: str, *, size_mm: float = 2.2, stroke: str = "#000000",
           stroke_mm: float = 0.2, no_fill: bool = False) -> Symbol:
    return Symbol("marker", {
        "name": shape, "color": "0,0,0,0" if no_fill else _rgba(colour), "size": f"{size_mm:g}",
        "size_unit": "MM", "outline_color": _rgba(stroke), "outline_style": "solid",
        "outline_width": f"{stroke_mm:g}", "outline_width_unit": "MM", "angle": "0",
        "scale_method": "diameter", "vertical_anchor_point": "1", "horizontal_anchor_point": "1"})


def line(colour: str, *, width_mm: float = 0.2) -> Symbol:
    return Symbol("line", {
        "line_color": _rgba(colour), "line_width": f"{width_mm:g}", "line_width_unit": "MM",
        "line_style": "solid", "capstyle": "round", "joinstyle": "round"})


@dataclass(frozen=True)
class Rule:
    """One rule of a rule-based renderer: a QGIS filter expression (None = everything else)."""

    label: str
    symbol: Symbol
    filter: str | None = None


@dataclass(frozen=True)
class Label:
    """Labels of a layer: a field or expression, size in points, placed on the feature."""

    expression: str
    size_pt: float = 10.0
    bold: bool = True
    colour: str = style.BOUNDARY_COLOUR
    is_expression: bool = False
    #: QGIS's label placement: 1 over the point (site ranks), 4 "horizontal" (a polygon's name
    #: wherever inside it it collides least with other labels and with site symbols)
    placement: int = 1


def _renderer(rules: list[Rule]) -> ET.Element:
    r = ET.Element("renderer-v2", type="RuleRenderer", symbollevels="0", enableorderby="0",
                   forceraster="0", referencescale="-1")
    root = ET.SubElement(r, "rules", key="root")
    symbols = ET.SubElement(r, "symbols")
    for i, rule in enumerate(rules):
        attrs = {"key": f"r{i}", "symbol": str(i), "label": rule.label}
        if rule.filter is None:
            attrs["filter"] = "ELSE"
        else:
            attrs["filter"] = rule.filter
        ET.SubElement(root, "rule", attrs)
        symbols.append(rule.symbol.xml(str(i)))
    return r


def _labeling(label: Label) -> ET.Element:
    lab = ET.Element("labeling", type="simple")
    settings = ET.SubElement(lab, "settings", calloutType="simple")
    ts = ET.SubElement(settings, "text-style", {
        "fieldName": label.expression, "isExpression": "1" if label.is_expression else "0",
        "fontFamily": _FONT, "fontSize": f"{label.size_pt:g}", "fontSizeUnit": "Point",
        "fontWeight": "75" if label.bold else "50", "fontItalic": "0",
        "textColor": _rgba(label.colour), "textOpacity": "1", "multilineHeight": "1",
        "namedStyle": "Bold" if label.bold else "Regular", "blendMode": "0",
        "allowHtml": "0", "capitalization": "0"})
    ET.SubElement(ts, "text-buffer", {
        "bufferDraw": "1", "bufferSize": "0.8", "bufferSizeUnits": "MM",
        "bufferColor": "255,255,255,255", "bufferOpacity": "1", "bufferNoFill": "1",
        "bufferJoinStyle": "128", "bufferBlendMode": "0"})
    ET.SubElement(settings, "text-format", wrapChar="", multilineAlign="1", plussign="0",
                  formatNumbers="0", decimals="0")
    ET.SubElement(settings, "placement", placement=str(label.placement), dist="0",
                  offsetType="0",
                  quadOffset="4", xOffset="0", yOffset="0", priority="5",
                  placementFlags="10", centroidWhole="0", centroidInside="1")
    ET.SubElement(settings, "rendering", obstacle="1", displayAll="1", scaleVisibility="0",
                  upsidedownLabels="0", limitNumLabels="0", drawLabels="1", fontLimitPixelSize="0",
                  zIndex="0", labelPerPart="0", mergeLines="0", minFeatureSize="0")
    return lab


# --- the layers --------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerSpec:
    """One layer of the project: a GeoPackage table (optionally filtered) and how it looks.

    Attributes
    ----------
    id : str
        Fixed layer id in the project.
    table : str
        Layer (table) name in ``coverage.gpkg``.
    name : str
        Display name.
    group : str
        Layer-tree group key: ``plan``, ``facilities``, ``coverage`` or ``reference``.
    kind : str
        ``fill``, ``marker`` or ``line``.
    rules : list of Rule
    subset : str or None
        OGR filter (SQL WHERE) on the table.
    label : Label or None
    visible : bool
        Checked when the project opens.
    style_name : str
        Name of the style in ``layer_styles``; ``default`` marks the table's default style.
    """

    id: str
    table: str
    name: str
    group: str
    kind: str
    rules: list[Rule]
    subset: str | None = None
    label: Label | None = None
    visible: bool = True
    style_name: str = "default"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _coverage_rules(cat: Category, lang: str) -> list[Rule]:
    col = _q(f"covered_{cat.key}")
    within = tr("cat_within", lang, minutes=cat.minutes)
    beyond = tr("cat_beyond", lang, minutes=cat.minutes)
    return [Rule(tr("legend_compounds", lang, what=within), fill(style.COVERED_COLOUR, alpha=0.8),
                 f"coalesce({col}, 0) = 1"),
            Rule(tr("legend_compounds", lang, what=beyond), fill(style.UNCOVERED_COLOUR,
                                                                 alpha=0.8), None)]


def _overview_rules(results: Results, lang: str) -> list[Rule]:
    """Compounds by the number of categories they lack, as the web map and the report's maps
    class them (:func:`coverage.style.missing_class`: a compound missing every category is in
    the last class, which then reads "no category within reach" when the area has fewer
    categories than that class's bound)."""
    n = len(results.config.categories)
    missing = f"({n} - coalesce({_q('n_categories_covered')}, 0))"
    classes = style.ALL_CATEGORIES_CLASSES
    rules = []
    for i, (lower, colour, key) in enumerate(classes):
        if i + 1 < len(classes):
            expr = f"{missing} >= {lower} AND {missing} < {min(classes[i + 1][0], n)}"
            label = tr(key, lang)
        else:
            expr = f"{missing} >= {min(lower, n)} AND {missing} > 0"
            label = tr("missing_all" if n < lower else key, lang)
        rules.append(Rule(label, fill(colour, alpha=0.85), expr))
    return rules


def _plan_layer(results: Results, lang: str) -> LayerSpec:
    """The joint plan's new facilities: a square per space in its category's colour, ranked."""
    assert results.plan is not None
    keys = list(dict.fromkeys(results.plan.joint_sites["category"].astype(str)))
    index = {c.key: i for i, c in enumerate(results.config.categories)}
    rules = [Rule(cat_label(results.config.category(k), lang),
                  marker("square", style.category_colour(index[k]), size_mm=4.2,
                         stroke="#ffffff", stroke_mm=0.35),
                  f"{_q('category')} = {_lit(k)}") for k in keys if k in index]
    return LayerSpec("plan_joint", "plan_sites", tr("plan_layer", lang), "plan", "marker",
                     rules, subset=f"{_q('method')} = 'joint_plan'",
                     label=Label("rank", size_pt=7.5), style_name="joint_plan")


def _ranked_rules(results: Results, lang: str) -> list[Rule]:
    """Ranked sites: a circle in each sited category's colour (the web map's pins)."""
    sited = set(results.sites["category"].astype(str)) if results.sites is not None else set()
    return [Rule(cat_label(c, lang), marker("circle", style.category_colour(i), size_mm=4.2,
                                            stroke="#ffffff", stroke_mm=0.35),
                 f"{_q('category')} = {_lit(c.key)}")
            for i, c in enumerate(results.config.categories) if c.key in sited]


def _site_layers(results: Results, lang: str, tables: set[str]) -> list[LayerSpec]:
    """The plan group, top first: the joint plan, ranked sites (numbered), the optimal
    selection (gold stars, under the ranked sites' numbers), planned stations, candidates."""
    out = []
    if "plan_sites" in tables and results.plan is not None and len(results.plan.joint_sites):
        out.append(_plan_layer(results, lang))  # the plan on top: it answers the plan's question
    if "selected_sites" in tables:
        method = _q("method")
        out.append(LayerSpec(
            "sites_ranked", "selected_sites", tr("ranked_sites", lang), "plan", "marker",
            _ranked_rules(results, lang), subset=f"{method} = 'greedy'",
            label=Label("rank", size_pt=7.5), style_name="ranked"))
        out.append(LayerSpec(
            "sites_optimal", "selected_sites", tr("optimal_sites", lang), "plan", "marker",
            [Rule(tr("optimal_sites", lang), marker("star", style.OPTIMAL_COLOUR, size_mm=9.0,
                                                    stroke_mm=0.3))],
            subset=f"{method} = 'optimal'", style_name="optimal"))
    if "proposed" in tables and results.has_proposed:
        out.append(LayerSpec(
            "proposed", "proposed", tr("proposed", lang), "plan", "marker",
            [Rule(tr("proposed_diamond", lang), marker("diamond", style.PROPOSED_COLOUR,
                                                       size_mm=3.6, stroke="#ffffff",
                                                       stroke_mm=0.4))]))
    if "candidates" in tables:
        out.append(LayerSpec(
            "candidates", "candidates", tr("candidates", lang), "plan", "marker",
            [Rule(tr("candidate_ring", lang), marker("circle", "#ffffff", size_mm=1.8,
                                                     stroke="#525252", stroke_mm=0.35))],
            visible=False))
    return out


def layer_specs(results: Results, tables: set[str], lang: str = "zh") -> list[LayerSpec]:
    """Every layer of the project, top (drawn last) to bottom, for the tables in the GeoPackage.

    Parameters
    ----------
    results : Results
    tables : set of str
        Layer names present in ``coverage.gpkg``.
    lang : {"zh", "en"}
    """
    check_lang(lang)
    cfg = results.config
    sited = set(results.sites["category"].astype(str)) if results.has_sites and \
        results.sites is not None else set()
    specs = _site_layers(results, lang, tables)
    for i, cat in enumerate(cfg.categories):
        colour = style.category_colour(i)
        specs.append(LayerSpec(
            f"facilities_{cat.key}", "facilities", tr("facilities_cat", lang,
                                                      label=cat_label(cat, lang)),
            "facilities", "marker",
            [Rule(cat_label(cat, lang), marker("circle", colour, size_mm=2.4,
                                               stroke="#ffffff", stroke_mm=0.35))],
            subset=f"{_q('category')} = {_lit(cat.key)}", visible=cat.key in sited,
            style_name=cat.key))
    specs.append(LayerSpec("compounds_all", "compounds", tr("all_categories", lang),
                           "coverage", "fill", _overview_rules(results, lang)))
    for cat in cfg.categories:
        specs.append(LayerSpec(
            f"compounds_{cat.key}", "compounds", tr("compounds_cat", lang,
                                                    label=cat_label(cat, lang)),
            "coverage", "fill", _coverage_rules(cat, lang), visible=False,
            style_name=f"covered_{cat.key}"))
    for i, cat in enumerate(cfg.categories):
        if f"isochrones_{cat.key}" in tables:
            specs.append(LayerSpec(
                f"isochrones_{cat.key}", f"isochrones_{cat.key}",
                tr("isochrones_cat", lang, minutes=cat.minutes, label=cat_label(cat, lang)),
                "coverage", "fill",
                [Rule(tr("scenario_existing", lang),
                      fill(style.category_colour(i), outline=style.category_colour(i),
                           width_mm=0.3, alpha=0.25), f"{_q('scenario')} = 'existing'")],
                visible=False))
    specs.append(LayerSpec("units", "boundaries", tr("units", lang), "reference", "fill",
                           [Rule(tr("units_legend", lang),
                                 fill("#ffffff", outline=style.BOUNDARY_COLOUR, width_mm=0.5,
                                      no_fill=True, dashed=True))],
                           label=Label("name", size_pt=10, placement=4)))
    if "streets" in tables:
        specs.append(LayerSpec("streets", "streets", tr("streets", lang), "reference",
                               "line", [Rule(tr("streets", lang),
                                             line(style.STREET_COLOUR, width_mm=0.18))]))
    return specs


# --- styles in the GeoPackage ------------------------------------------------------------------

def _style_body(spec: LayerSpec, parent: ET.Element) -> None:
    """The renderer and labels of a layer, into a <maplayer> or a QML <qgis> element."""
    parent.set("labelsEnabled", "1" if spec.label is not None else "0")
    parent.append(_renderer(spec.rules))
    if spec.label is not None:
        parent.append(_labeling(spec.label))
    ET.SubElement(parent, "blendMode").text = "0"
    ET.SubElement(parent, "featureBlendMode").text = "0"
    ET.SubElement(parent, "layerOpacity").text = "1"


def qml(spec: LayerSpec) -> str:
    """A QGIS style file (QML) for one layer."""
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="Symbology|Labeling")
    _style_body(spec, root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode")


_LAYER_STYLES_SQL = """CREATE TABLE layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
  f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
  styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME)"""


def _table_defaults(specs: list[LayerSpec]) -> dict[str, LayerSpec]:
    """The default style of each table: its one unfiltered layer, or all its filtered layers'
    rules together (facilities of every category, optimal and ranked sites)."""
    out: dict[str, LayerSpec] = {}
    for spec in specs:
        if spec.table in out and out[spec.table].subset is None:
            continue
        if spec.subset is None:
            out[spec.table] = spec
            continue
        prev = out.get(spec.table)
        rules = [Rule(r.label, r.symbol, spec.subset if r.filter is None else
                      f"({spec.subset}) AND ({r.filter})") for r in spec.rules]
        out[spec.table] = LayerSpec(
            spec.table, spec.table, spec.table, spec.group, spec.kind,
            (prev.rules if prev else []) + rules, subset=spec.subset,
            label=prev.label if prev and prev.label else spec.label)
    return out


def _styles_rows(specs: list[LayerSpec]) -> list[tuple[str, str, str, int]]:
    """(table, style name, QML, default?): each table's default, then every layer's own."""
    defaults = _table_defaults(specs)
    rows = [(t, "default", qml(d), 1) for t, d in defaults.items()]
    rows += [(s.table, s.style_name, qml(s), 0) for s in specs if s.style_name != "default"]
    return rows


def write_layer_styles(gpkg: str | Path, specs: list[LayerSpec]) -> Path:
    """Put the layers' styles into the GeoPackage's ``layer_styles`` table (atomically).

    An existing ``layer_styles`` table is replaced. The table is registered in
    ``gpkg_contents`` as attributes, with the date the GeoPackage's layers carry.
    """
    gpkg = Path(gpkg)
    with atomic_path(gpkg) as tmp:
        shutil.copyfile(gpkg, tmp)
        con = sqlite3.connect(tmp)
        try:
            cur = con.cursor()
            geom_col = dict(cur.execute(
                "SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
            stamp = cur.execute("SELECT max(last_change) FROM gpkg_contents").fetchone()[0]
            # Rows are replaced, not the table: restyling then leaves the schema (and the
            # file's schema cookie) as it was, so the same styles give the same bytes.
            exists = cur.execute("SELECT count(*) FROM sqlite_master WHERE name = "
                                 "'layer_styles'").fetchone()[0]
            if not exists:
                cur.execute(_LAYER_STYLES_SQL)
            cur.execute("DELETE FROM layer_styles")
            cur.execute("DELETE FROM sqlite_sequence WHERE name = 'layer_styles'")
            cur.execute("DELETE FROM gpkg_contents WHERE table_name = 'layer_styles'")
            for i, (table, name, text, default) in enumerate(_styles_rows(specs), start=1):
                cur.execute(
                    "INSERT INTO layer_styles (id, f_table_catalog, f_table_schema, "
                    "f_table_name, f_geometry_column, styleName, styleQML, styleSLD, "
                    "useAsDefault, description, owner, ui, update_time) VALUES "
                    "(?, '', '', ?, ?, ?, ?, '', ?, 'circle15', '', '', ?)",
                    (i, table, geom_col.get(table, "geom"), name, text, default, stamp))
            cur.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, "
                        "description, last_change) VALUES ('layer_styles', 'attributes', "
                        "'layer_styles', 'QGIS layer styles (circle15)', ?)", (stamp,))
            con.commit()
            con.execute("VACUUM")  # canonical page layout, whatever the file held before
        finally:
            con.close()
        _reset_change_counter(tmp)
    return gpkg


def _reset_change_counter(path: Path) -> None:
    """Set SQLite's header counters to 1, so that restyling the same GeoPackage gives the same
    bytes (each write or VACUUM bumps them; only connections open during a change use them, and
    none is open on the temporary file)."""
    with open(path, "r+b") as f:
        # file change counter, schema cookie, version-valid-for number
        for offset in (24, 40, 92):
            f.seek(offset)
            f.write((1).to_bytes(4, "big"))


# --- the project -------------------------------------------------------------------------------

def _srs(parent: ET.Element, crs: str) -> None:
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    srs = ET.SubElement(parent, "spatialrefsys", nativeFormat="Wkt")
    ET.SubElement(srs, "wkt").text = c.to_wkt()
    auth = c.to_authority()
    ET.SubElement(srs, "authid").text = f"{auth[0]}:{auth[1]}" if auth else crs
    ET.SubElement(srs, "description").text = c.name
    ET.SubElement(srs, "geographicflag").text = "true" if c.is_geographic else "false"


def _source(spec: LayerSpec) -> str:
    src = f"./{GPKG}|layername={spec.table}"
    return src + (f"|subset={spec.subset}" if spec.subset else "")


def _layer_id(spec: LayerSpec) -> str:
    # QGIS keeps a layer id from the file only when it is longer than 10 characters
    return f"circle15_{spec.id}"


def _maplayer(spec: LayerSpec, crs: str) -> ET.Element:
    ml = ET.Element("maplayer", type="vector", geometry=_GEOM[spec.kind],
                    autoRefreshEnabled="0", refreshOnNotifyEnabled="0",
                    hasScaleBasedVisibilityFlag="0", styleCategories="AllStyleCategories")
    ET.SubElement(ml, "id").text = _layer_id(spec)
    ET.SubElement(ml, "datasource").text = _source(spec)
    ET.SubElement(ml, "layername").text = spec.name
    _srs(ET.SubElement(ml, "srs"), crs)
    ET.SubElement(ml, "provider", encoding="UTF-8").text = "ogr"
    _style_body(spec, ml)
    return ml


def _basemap() -> ET.Element:
    ml = ET.Element("maplayer", type="raster", autoRefreshEnabled="0",
                    hasScaleBasedVisibilityFlag="0", styleCategories="AllStyleCategories")
    ET.SubElement(ml, "id").text = "circle15_osm_basemap"
    ET.SubElement(ml, "datasource").text = OSM_XYZ
    ET.SubElement(ml, "layername").text = "OpenStreetMap"
    _srs(ET.SubElement(ml, "srs"), "EPSG:3857")
    ET.SubElement(ml, "provider").text = "wms"
    return ml


_GROUPS = ("plan", "facilities", "coverage", "reference")
_GROUP_LABELS = {"plan": "qgis_group_plan", "facilities": "qgis_group_facilities",
                 "coverage": "qgis_group_coverage", "reference": "grp_reference"}


def _tree(root: ET.Element, specs: list[LayerSpec], lang: str) -> None:
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    for g in _GROUPS:
        grp = ET.SubElement(tree, "layer-tree-group", name=tr(_GROUP_LABELS[g], lang),
                            checked="Qt::Checked", expanded="1" if g != "facilities" else "0")
        ET.SubElement(grp, "customproperties")
        for spec in [s for s in specs if s.group == g]:
            ET.SubElement(grp, "layer-tree-layer", id=_layer_id(spec), name=spec.name,
                          source=_source(spec), providerKey="ogr", expanded="0",
                          checked="Qt::Checked" if spec.visible else "Qt::Unchecked")
        if g == "reference":
            ET.SubElement(grp, "layer-tree-layer", id="circle15_osm_basemap", name="OpenStreetMap",
                          source=OSM_XYZ, providerKey="wms", expanded="0",
                          checked="Qt::Unchecked")


def project_xml(results: Results, specs: list[LayerSpec], lang: str = "zh") -> str:
    """The ``.qgs`` project XML."""
    cfg = results.config
    title = tr("report_title", lang, area=cfg.name)
    root = ET.Element("qgis", projectname=title, version=QGIS_VERSION)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    _srs(ET.SubElement(root, "projectCrs"), cfg.crs)
    _tree(root, specs, lang)
    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "meters"
    ext = ET.SubElement(canvas, "extent")
    x0, y0, x1, y1 = results.boundaries.total_bounds
    pad = 0.05 * max(x1 - x0, y1 - y0)
    for k, v in zip(("xmin", "ymin", "xmax", "ymax"), (x0 - pad, y0 - pad, x1 + pad, y1 + pad),
                    strict=True):
        ET.SubElement(ext, k).text = f"{v:.2f}"
    ET.SubElement(canvas, "rotation").text = "0"
    _srs(ET.SubElement(canvas, "destinationsrs"), cfg.crs)
    layers = ET.SubElement(root, "projectlayers")
    for spec in specs:
        layers.append(_maplayer(spec, cfg.crs))
    layers.append(_basemap())
    props = ET.SubElement(root, "properties")
    paths = ET.SubElement(props, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    srs = ET.SubElement(props, "SpatialRefSys")  # QGIS reads <projectCrs> only with this on
    ET.SubElement(srs, "ProjectionsEnabled", type="int").text = "1"
    ET.SubElement(srs, "ProjectCrs", type="QString").text = cfg.crs
    ET.indent(root, space=" ")
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            + ET.tostring(root, encoding="unicode") + "\n")


def _qgz(project: str) -> bytes:
    """The project zipped as QGIS saves a ``.qgz`` (fixed entry time: same input, same bytes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("coverage.qgs", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        z.writestr(info, project.encode("utf-8"))
    return buf.getvalue()


def write_qgis_project(results: Results, out_dir: str | Path, specs: list[LayerSpec], *,
                       lang: str = "zh") -> Path:
    """Write ``coverage.qgz`` into ``out_dir`` (beside ``coverage.gpkg``)."""
    return write_bytes(Path(out_dir) / "coverage.qgz", _qgz(project_xml(results, specs, lang)))


def write_qgis(results: Results, out_dir: str | Path, *, lang: str = "zh") -> list[Path]:
    """Style ``out_dir/coverage.gpkg`` for QGIS and write ``out_dir/coverage.qgz``.

    Parameters
    ----------
    results : Results
        The run's results (their layers are in ``out_dir/coverage.gpkg``).
    out_dir : str or Path
        The run's output folder.
    lang : {"zh", "en"}
        Language of layer, group and legend names.

    Returns
    -------
    list of Path
        ``coverage.gpkg`` (restyled) and ``coverage.qgz``.
    """
    import pyogrio

    out = Path(out_dir)
    gpkg = out / GPKG
    tables = {str(n) for n in pyogrio.list_layers(gpkg)[:, 0]}
    specs = layer_specs(results, tables, lang)
    paths = [write_layer_styles(gpkg, specs),
             write_qgis_project(results, out, specs, lang=lang)]
    log.info("QGIS project written: %s (%d layers)", paths[1], len(specs) + 1)
    return paths
