"""QGIS symbology as XML: symbols, rule-based renderers and labels (a layer's look, written for
the project and for the GeoPackage's styles alike)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from .. import style

#: QGIS version the XML is written for (3.22 LTR, Debian bookworm); later versions read it.
QGIS_VERSION = "3.22.16-Białowieża"
_FONT = "Noto Sans CJK SC"


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
    """A polygon fill of ``colour`` (``#rrggbb``) with an outline ``width_mm`` mm wide."""
    return Symbol("fill", {
        "color": _rgba(colour), "style": "no" if no_fill else "solid",
        "outline_color": _rgba(outline), "outline_style": "dash" if dashed else "solid",
        "outline_width": f"{width_mm:g}", "outline_width_unit": "MM", "joinstyle": "bevel"},
        alpha)


def marker(shape: str, colour: str, *, size_mm: float = 2.2, stroke: str = "#000000",
           stroke_mm: float = 0.2, no_fill: bool = False) -> Symbol:
    """A point marker (QGIS shape name, e.g. ``circle``, ``star``) ``size_mm`` mm across."""
    return Symbol("marker", {
        "name": shape, "color": "0,0,0,0" if no_fill else _rgba(colour), "size": f"{size_mm:g}",
        "size_unit": "MM", "outline_color": _rgba(stroke), "outline_style": "solid",
        "outline_width": f"{stroke_mm:g}", "outline_width_unit": "MM", "angle": "0",
        "scale_method": "diameter", "vertical_anchor_point": "1", "horizontal_anchor_point": "1"})


def line(colour: str, *, width_mm: float = 0.2) -> Symbol:
    """A solid line of ``colour``, ``width_mm`` mm wide."""
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



def style_body(parent: ET.Element, rules: list[Rule], label: Label | None) -> None:
    """The renderer and labels of a layer, into a <maplayer> or a QML <qgis> element."""
    parent.set("labelsEnabled", "1" if label is not None else "0")
    parent.append(_renderer(rules))
    if label is not None:
        parent.append(_labeling(label))
    ET.SubElement(parent, "blendMode").text = "0"
    ET.SubElement(parent, "featureBlendMode").text = "0"
    ET.SubElement(parent, "layerOpacity").text = "1"
