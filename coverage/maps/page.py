"""A map page: named data blobs, layer groups, layers and their legend, rendered to one HTML file.

:class:`MapDocument` is what every map circle15 draws is built into, layer by layer (the area map
in :mod:`coverage.maps.layers`, the batch overview in :mod:`coverage.maps.overview`, the joint
plan and the web workspace add their own layers the same way). :meth:`MapDocument.render` writes
one self-contained page: Leaflet, its marker-cluster plugin and circle15's own map script and
style (``coverage/assets/``, vendored from the npm registry with their licences) are inlined, so
the page works offline; only basemap tiles need a connection.

The page is a pure function of the document: no random element ids, no clock. Each data blob is
one line ``var circle15_data_<name> = <json>;`` and the page description one line
``var circle15_spec = <json>;``. JSON is embedded with ``<``, ``>`` and ``&`` written as
``\\u003c`` etc., so no text from data can close the script; the map script inserts every text
with HTML escaping (or as DOM text), so nothing from data can run as script.

Layer kinds (renderers in ``circle15_map.js``) and their ``options``:

``compounds``
    Polygons coloured by the page state (``colour``: ``"all"`` or a category key;
    ``scenario``). Properties per feature: ``n`` name, ``id``, ``u`` unit, ``p``/``a``
    population / 60+, ``c``/``cp`` coverage bits per category (existing / with proposed),
    ``w``/``wp`` walking minutes per category (null = beyond the search limit).
``polygons``
    Styled GeoJSON areas (``style``: Leaflet path options); with ``scenario_field`` only the
    features whose property equals the current scenario are drawn; with ``hatch`` (a colour)
    filled with diagonal lines, so colours under them stay readable.
``lines``
    Styled GeoJSON lines (``style``).
``labels``
    Text labels at points (``{"x": [...], "y": [...], "t": [...]}``), drawn under the markers
    and never catching the mouse, so a label never hides a site.
``points``
    Many small points in columns (``{"x", "y", "k", "n", "pop"}``, ``k`` = category index);
    options ``category`` (index to draw), ``colour``, ``cluster``; aggregated grid cells
    (``cells``: ``{"x", "y", "k", "count"}``) drawn as grey squares with their count.
``markers``
    GeoJSON points drawn as a symbol (``symbol``: a symbol dict as in the legend), text from a
    property (``text_field``); popups from the ``title``/``rows`` properties.

A symbol is ``{"shape": ..., "colour": ..., "text": ...}`` with shape one of ``fill``,
``hatch``, ``outline``, ``line``, ``dot``, ``cluster``, ``cell``, ``diamond``, ``pin``,
``star``, ``square``, ``ring``; the map and the legend draw symbols with the same function, so
the legend shows what is drawn.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

__all__ = ["Group", "Layer", "MapDocument", "asset_text", "js_json"]

_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.M)

#: Assets inlined into every page, in load order.
STYLES = ("leaflet.css", "MarkerCluster.css", "circle15_map.css")
SCRIPTS = ("leaflet.js", "leaflet.markercluster.js", "circle15_map.js")


def js_json(value: Any) -> str:
    """JSON for embedding in a ``<script>``: no ``<``, ``>`` or ``&`` can end the script.

    Compact, key order as given (deterministic for deterministic input), NaN refused.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def asset_text(name: str) -> str:
    """The text of a vendored asset in ``coverage/assets/`` (source-map comments removed)."""
    text = resources.files("coverage").joinpath("assets", name).read_text(encoding="utf-8")
    text = _SOURCE_MAP.sub("", text)
    if name.endswith(".js") and "</script" in text.lower():  # pragma: no cover - asset check
        raise ValueError(f"asset {name} cannot be inlined: it contains </script")
    return text


@dataclass
class Group:
    """A titled group of layers in the layer panel.

    ``kind`` is ``"layers"`` (one checkbox per layer) or ``"categories"`` (the area map's
    category table: a colouring radio, a facilities and a walk-area checkbox per category).
    """

    key: str
    title: str
    kind: str = "layers"
    collapsed: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "kind": self.kind,
                "collapsed": self.collapsed, "options": self.options}


@dataclass
class Layer:
    """One switchable layer: a renderer (``kind``), its data blob and its legend entries.

    ``legend`` entries are ``{"symbol": {...}, "text": ...}``; the legend shows them while the
    layer is on. ``key`` names the layer in ``window.circle15Layers`` (scripts and tests).
    """

    key: str
    kind: str
    group: str
    label: str
    data: str
    show: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    legend: list[dict[str, Any]] = field(default_factory=list)

    def spec(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "group": self.group, "label": self.label,
                "data": self.data, "show": self.show, "options": self.options,
                "legend": self.legend}


@dataclass
class MapDocument:
    """Everything one map page shows; build it with :meth:`add_data` / :meth:`add_layer`.

    Attributes
    ----------
    title : str
        Page title (area name); shown in the title bar with ``subtitle`` parts.
    lang : str
        ``"zh"`` or ``"en"`` (the page's ``lang`` attribute).
    bounds : list
        ``[[south, west], [north, east]]`` in degrees: the initial view.
    subtitle : list of str
        Further title-bar parts (e.g. the date); the scenario is added by the page.
    labels : dict
        Words the page script needs (panel, legend, popups), already in ``lang``.
    state : dict
        Initial page state (``colour``, ``scenario``, ``base``).
    """

    title: str
    lang: str
    bounds: list[list[float]]
    subtitle: list[str] = field(default_factory=list)
    labels: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def add_data(self, name: str, value: Any) -> str:
        """Embed ``value`` (JSON-able) as blob ``name``; returns ``name`` for :class:`Layer`."""
        if not _NAME.match(name) or name in self.data:
            raise ValueError(f"data blob name {name!r} is invalid or already used")
        self.data[name] = value
        return name

    def add_group(self, group: Group) -> Group:
        if any(g.key == group.key for g in self.groups):
            raise ValueError(f"group {group.key!r} already added")
        self.groups.append(group)
        return group

    def group(self, key: str) -> Group | None:
        return next((g for g in self.groups if g.key == key), None)

    def add_layer(self, layer: Layer) -> Layer:
        """Add a layer (its group and data blob must exist; keys are unique)."""
        if any(lay.key == layer.key for lay in self.layers):
            raise ValueError(f"layer {layer.key!r} already added")
        if self.group(layer.group) is None:
            raise ValueError(f"layer {layer.key!r}: no group {layer.group!r}")
        if layer.data not in self.data:
            raise ValueError(f"layer {layer.key!r}: no data blob {layer.data!r}")
        self.layers.append(layer)
        return layer

    def layer(self, key: str) -> Layer | None:
        return next((lay for lay in self.layers if lay.key == key), None)

    def spec(self) -> dict[str, Any]:
        """The page description the map script reads (everything but the data blobs)."""
        return {"title": self.title, "subtitle": self.subtitle, "lang": self.lang,
                "bounds": self.bounds, "labels": self.labels, "state": self.state,
                "groups": [g.spec() for g in self.groups],
                "layers": [lay.spec() for lay in self.layers], **self.extra}

    def render(self) -> str:
        """The whole page as HTML text (deterministic)."""
        styles = "\n".join(f"<style>\n{asset_text(n)}\n</style>" for n in STYLES)
        scripts = "\n".join(f"<script>\n{asset_text(n)}\n</script>" for n in SCRIPTS)
        data = "\n".join(f"var circle15_data_{name} = {js_json(value)};"
                         for name, value in self.data.items())
        title = html.escape(" · ".join([self.title, *self.subtitle]), quote=True)
        return (
            "<!DOCTYPE html>\n"
            f'<html lang="{html.escape(self.lang, quote=True)}">\n<head>\n'
            '<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n{styles}\n</head>\n<body>\n"
            '<div id="c15-app"></div>\n'
            f"{scripts}\n<script>\n{data}\n"
            f"var circle15_spec = {js_json(self.spec())};\n"
            "circle15Map(document.getElementById('c15-app'), circle15_spec);\n"
            "</script>\n</body>\n</html>\n"
        )
