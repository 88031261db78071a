"""Styles inside ``coverage.gpkg``: the GeoPackage's ``layer_styles`` table, which QGIS reads
when a layer is opened (a default per table, and one named style per layer), written so that
the same styles give the same bytes."""

from __future__ import annotations

import shutil
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

from ..io import atomic_path
from .layers import LayerSpec
from .symbology import QGIS_VERSION, Rule, style_body


def qml(spec: LayerSpec) -> str:
    """A QGIS style file (QML) for one layer."""
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="Symbology|Labeling")
    style_body(root, spec.rules, spec.label)
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
