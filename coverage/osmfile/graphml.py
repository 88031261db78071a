"""GraphML saved by osmnx (``network.graphml`` of ``circle15 fetch``), read with networkx alone."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from ..osmtags import WALK_RULE_TAGS
from .osmxml import sniff
from .raw import fail, is_html

if TYPE_CHECKING:
    import networkx as nx


def _literal(value: str) -> Any:
    # osmnx writes the merged tags of a simplified edge as a Python list literal.
    if value.startswith("[") and value.endswith("]"):
        import ast

        try:
            return ast.literal_eval(value)
        except (SyntaxError, ValueError):
            return value
    return value


def read_graphml(path: str | Path) -> nx.MultiDiGraph:
    """A street graph saved by osmnx (``save_graphml``), read with networkx alone.

    The node ids, ``x``/``y``, the tags the walk rule reads, ``name``, ``length`` and
    ``geometry`` are converted as ``osmnx.load_graphml`` converts them; other attributes stay
    text.

    Raises
    ------
    InputError
        The file is missing, a web page, or not GraphML (message: file, problem, fix).
    """
    import networkx as nx
    import shapely

    path = Path(path)
    fix = "give a .graphml file saved by osmnx (e.g. the network.graphml of circle15 fetch)"
    if is_html(sniff(path)):
        raise fail(str(path), "is a web page (HTML), not GraphML (a failed download?)", fix)
    try:
        g = nx.read_graphml(path, node_type=int, force_multigraph=True)
    except ElementTree.ParseError as exc:
        truncated = "no element found" in str(exc)
        raise fail(str(path), "ends in the middle: it is truncated" if truncated
                   else f"cannot be read as GraphML ({exc})", fix) from None
    except (nx.NetworkXError, ValueError, KeyError, TypeError) as exc:
        raise fail(str(path), f"is not a street graph saved by osmnx ({type(exc).__name__}: "
                   f"{exc})", fix) from None
    converted = (*WALK_RULE_TAGS, "name")
    for _, _, data in g.edges(data=True):
        for key in converted:
            if isinstance(data.get(key), str):
                data[key] = _literal(data[key])
        if "length" in data:
            data["length"] = float(data["length"])
        if "geometry" in data:
            data["geometry"] = shapely.from_wkt(data["geometry"])
    for node, data in g.nodes(data=True):
        try:
            data["x"], data["y"] = float(data["x"]), float(data["y"])
        except (KeyError, ValueError):
            raise fail(str(path), f"node {node} has no numeric x/y coordinates", fix) from None
    return g
