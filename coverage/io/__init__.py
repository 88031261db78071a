"""Reading the planner's files and writing results atomically.

Readers
-------
:func:`read_table` dispatches on the file suffix:

* ``.csv`` / ``.txt``: UTF-8 text, with or without a byte-order mark. Every cell is read as a
  string (so an id such as ``001`` keeps its leading zeros); :mod:`coverage.validate` parses
  numbers. A file that is not UTF-8 is refused with the fix "save it as UTF-8 (Excel: CSV UTF-8)";
  GBK/GB18030 files (what Chinese Excel writes by default) are recognised and named as such.
* ``.xlsx`` / ``.xlsm``: read with openpyxl; optional ``sheet`` (default: the first *visible*
  sheet, with a warning when the workbook has several). Text cells are strings like the CSV
  reader's; numeric cells stay numbers (typed numbers are never ambiguous).
* Every text cell is stripped; control characters are removed (tabs and line breaks become a
  space) with a warning naming file, rows and field. A CSV row with more values than the
  header has columns (an unquoted comma, e.g. ``116,2678``) is one error listing the rows.
* ``.geojson`` / ``.json``: GeoJSON is WGS-84 by definition (RFC 7946); a legacy ``crs`` member
  is honoured. Coordinates that are not degrees are refused.
* ``.gpkg``: optional ``layer`` (required when the file holds several layers). A layer without a
  CRS is refused: circle15 will not guess what the numbers mean.
* ``.shp``: read like GPKG (a shapefile without ``.prj`` is refused).

Writers
-------
Every file circle15 writes goes through this module.

* :func:`atomic_path` yields a temporary path in the target's folder and renames it over the
  target only when the ``with`` block succeeds, so an interrupted run never leaves a
  half-written result; :func:`write_text` and :func:`write_bytes` use it. Temporary names follow
  one pattern (``.<stem>.<8 hex>.tmp<suffix>``), so :func:`remove_stale_temp` can clear what a
  killed process left behind.
* :func:`write_csv` writes UTF-8 *with* a byte-order mark (``utf-8-sig``): these CSVs are meant
  for planners, and Excel on Chinese Windows only shows Chinese text correctly with the BOM.
  Python, pandas and QGIS read such files transparently. Text cells are safe from formula
  injection (:func:`formula_safe`).
* :func:`write_gpkg` writes all layers or none, with fixed metadata (same data, same bytes) and
  GeoPackage version 1.2, which every GDAL/QGIS in use opens without a warning.
* :func:`write_geojson` writes a layer as WGS-84 GeoJSON text, deterministically.
* :func:`sha256_file` hashes a file; :func:`read_toml` reads a TOML file (BOM accepted) and
  :func:`toml_value` writes a TOML value.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import hashlib
import io as _io
import json
import logging
import math
import os
import re
import shutil
import sys
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ..errors import ConfigError, InputError, Problem, format_rows

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "CSV_ENCODING",
    "GPKG_VERSION",
    "atomic_folder",
    "atomic_path",
    "cell_text",
    "formula_safe",
    "parse_toml",
    "read_csv",
    "read_table",
    "read_toml",
    "read_vector",
    "read_xlsx",
    "remove_path",
    "remove_stale_temp",
    "replace_folder",
    "sha256_file",
    "strip_control",
    "temp_path",
    "toml_value",
    "write_bytes",
    "write_csv",
    "write_geojson",
    "write_gpkg",
    "write_text",
]

log = logging.getLogger(__name__)

CSV_ENCODING = "utf-8-sig"
"""Encoding of every CSV circle15 writes: UTF-8 with a byte-order mark, so Excel shows Chinese."""

_TEXT_SUFFIXES = (".csv", ".txt")
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_GEOJSON_SUFFIXES = (".geojson", ".json")
_OGR_SUFFIXES = (".gpkg", ".shp")
_UTF8_FIX = (
    "save it as UTF-8 (Excel: File > Save As > 'CSV UTF-8 (Comma delimited)'; "
    "WPS/Notepad: choose encoding UTF-8)"
)


def _fail(file: str, problem: str, fix: str, *, row: int | None = None,
          field: str | None = None) -> InputError:
    return InputError([Problem(file, row, field, problem, fix)])


# --- text / spreadsheet -------------------------------------------------------------------


def _decode(raw: bytes, file: str) -> str:
    """UTF-8 (BOM optional) bytes -> text; anything else is an :class:`InputError`."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n")  # 0 = header line, n = n-th data row
        row = line if line > 0 else None
        try:
            raw.decode("gb18030")
        except UnicodeDecodeError:
            kind = "text in an unknown encoding"
        else:
            kind = ("GBK/GB18030 text (the default of Chinese Excel and WPS), "
                    "not UTF-8")
        raise _fail(
            file,
            f"cannot read the file: it is {kind} (first undecodable byte at byte "
            f"{exc.start})",
            _UTF8_FIX,
            row=row,
        ) from None


def _read_bytes(path: Path, file: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise _fail(file, "file not found", "check the path in the config") from None
    except IsADirectoryError:
        raise _fail(file, "this is a folder, not a file",
                    "name the file inside it in the config") from None
    except OSError as exc:
        raise _fail(file, f"cannot read the file ({exc.strerror})",
                    "check the path and its permissions") from None


def _csv_rows(text: str, file: str) -> list[list[str]]:
    """CSV text -> non-blank rows of stripped cells (header first)."""
    try:
        rows = list(csv.reader(_io.StringIO(text, newline=""), skipinitialspace=True))
    except csv.Error as exc:
        raise _fail(file, f"not a valid CSV table ({exc})",
                    "check the row named for a stray comma or quote") from None
    return [[c.strip() for c in r] for r in rows if any(c.strip() for c in r)]


def _check_widths(rows: list[list[str]], file: str) -> None:
    """One problem for every data row with more values than the header has columns."""
    header = rows[0]
    while header and header[-1] == "":
        header = header[:-1]
    width = len(header)
    wide = [i for i, r in enumerate(rows[1:], start=1)
            if any(c != "" for c in r[width:])]
    if not wide:
        return
    example = rows[wide[0]]
    raise InputError([Problem(
        file, wide[0] if len(wide) == 1 else None, None,
        f"{len(example)} values but the header names {width} columns "
        f"({', '.join(header)}): a value holds an unquoted comma, "
        "so every later value moved one column to the right",
        "write decimals with a point (116.2678, not 116,2678) and put text that contains a "
        'comma in double quotes ("a, b"), then save again',
        rows=tuple(wide))])


def read_csv(path: str | Path, *, file: str | None = None) -> pd.DataFrame:
    """Read a CSV file with every cell as a stripped string.

    Parameters
    ----------
    path : str or Path
        The CSV file (UTF-8, with or without BOM).
    file : str, optional
        Name used for the file in error messages (default: ``path``).

    Returns
    -------
    pandas.DataFrame
        String columns with stripped names and values; empty cells are ``""``; blank lines are
        skipped; control characters are removed (warning naming the rows).

    Raises
    ------
    InputError
        The file is missing or a folder, not UTF-8 (GBK files are named as such), empty, not
        parseable CSV, or a row holds more values than the header has columns (one message
        listing the rows: usually an unquoted comma such as the decimal comma in ``116,2678``).
    """
    path = Path(path)
    file = file or str(path)
    rows = _csv_rows(_decode(_read_bytes(path, file), file), file)
    if not rows:
        raise _fail(file, "the file is empty", "add a header row and data rows")
    _check_widths(rows, file)
    header = rows[0]
    while header and header[-1] == "":
        header = header[:-1]
    width = len(header)
    data = [(r + [""] * width)[:width] for r in rows[1:]]
    return _clean_cells(pd.DataFrame(data, columns=_unique_names(header), dtype=object), file)


def _unique_names(header: Sequence[object]) -> list[str]:
    """Column names, stripped; a repeated name gets ``.1``, ``.2`` (as pandas does)."""
    out: list[str] = []
    for name in (cell_text(h) for h in header):
        new, k = name, 0
        while new in out:
            k += 1
            new = f"{name}.{k}"
        out.append(new)
    return out


# C0/C1 control characters (Excel cannot store most of them; they break CSV readers and
# terminals). Tabs and line breaks inside a cell become a space.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BREAKS = re.compile(r"[\t\r\n]+")


def strip_control(text: str) -> str:
    """``text`` without control characters (tabs and line breaks become one space)."""
    return _CONTROL.sub("", _BREAKS.sub(" ", text)).strip()


def _clean_column(values: list[Any], file: str, col: str) -> list[Any]:
    """Text stripped of control characters (one warning naming the rows); others untouched."""
    dirty: list[int] = []
    out = list(values)
    for i, v in enumerate(values):
        if isinstance(v, str):
            out[i] = strip_control(v)
            if out[i] != v.strip():
                dirty.append(i + 1)
    if dirty:
        log.warning("%s, %s, field '%s': control characters (e.g. line breaks) removed from "
                    "the text; check it", file, format_rows(dirty), col)
    return out


def _clean_cells(df: pd.DataFrame, file: str) -> pd.DataFrame:
    """Stripped text cells ("" for empty, dates as ISO text), numbers kept, control characters
    removed."""
    df = df.copy()
    df.columns = _unique_names(list(df.columns))
    for col in df.columns:
        values = [v if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v
                  else v if isinstance(v, str) else cell_text(v) for v in df[col].tolist()]
        df[col] = pd.Series(_clean_column(values, file, col), index=df.index, dtype=object)
    return df.reset_index(drop=True)


def cell_text(value: object) -> str:
    """One cell value as the text a planner would see (numbers without a spurious ``.0``)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    return str(value).strip()


def _worksheet(wb: Any, sheet: str | None, file: str) -> Any:
    """The named sheet, else the first visible one (warning when there are several)."""
    if sheet is not None:
        if sheet not in wb.sheetnames:
            raise _fail(file, f"no sheet named {sheet!r}",
                        f"use one of: {', '.join(wb.sheetnames)}", field="sheet")
        return wb[sheet]
    visible = [ws for ws in wb.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
    if not visible:
        raise _fail(file, "the workbook has no visible sheet",
                    "unhide the sheet with the data (Excel: right-click a tab > Unhide)")
    if len(wb.worksheets) > 1:
        hidden = [ws.title for ws in wb.worksheets if ws not in visible]
        log.warning("%s: the workbook has %d sheets (%s%s); reading the first visible one, "
                    "'%s'. To read another, set sheet = \"...\" for this file in the config",
                    file, len(wb.worksheets), ", ".join(wb.sheetnames),
                    f"; hidden: {', '.join(hidden)}" if hidden else "", visible[0].title)
    return visible[0]


def read_xlsx(path: str | Path, *, sheet: str | None = None,
              file: str | None = None) -> pd.DataFrame:
    """Read one sheet of an Excel workbook.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` workbook.
    sheet : str, optional
        Sheet name; default the first *visible* sheet (a warning names the sheets when the
        workbook has several: a hidden first sheet often holds old data).
    file : str, optional
        Name used for the file in error messages.

    Returns
    -------
    pandas.DataFrame
        Like :func:`read_csv`: the first non-empty row is the header, fully empty rows are
        dropped, text cells are stripped strings ("" when empty), control characters removed;
        but numeric cells stay numbers (a typed 1.2 is never mistaken for text "1.200").

    Raises
    ------
    InputError
        Missing file, unknown sheet, no visible sheet, or not a workbook.
    """
    import openpyxl

    path = Path(path)
    file = file or str(path)
    if not path.exists():
        raise _fail(file, "file not found", "check the path in the config")
    if path.is_dir():
        raise _fail(file, "this is a folder, not a file", "name the file inside it in the config")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for bad files
        raise _fail(file, f"cannot open the workbook ({exc})",
                    "save it from Excel as .xlsx") from None
    try:
        rows = [list(r) for r in _worksheet(wb, sheet, file).iter_rows(values_only=True)]
    finally:
        wb.close()
    rows = [r for r in rows if any(cell_text(v) != "" for v in r)]
    if not rows:
        raise _fail(file, "the sheet is empty", "add a header row and data rows")
    header = rows[0]
    while header and cell_text(header[-1]) == "":
        header = header[:-1]
    width = len(header)
    data = [(r + [None] * width)[:width] for r in rows[1:]]
    return _clean_cells(pd.DataFrame(data, columns=_unique_names(header), dtype=object), file)


# --- vector files -------------------------------------------------------------------------


def read_vector(path: str | Path, *, layer: str | None = None,
                file: str | None = None) -> gpd.GeoDataFrame:
    """Read a GeoJSON, GeoPackage or shapefile layer.

    Parameters
    ----------
    path : str or Path
        The file.
    layer : str, optional
        Layer name (GeoPackage). Needed when the file holds more than one layer.
    file : str, optional
        Name used for the file in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        In the file's own CRS (GeoJSON without a ``crs`` member: EPSG:4326). Attribute columns
        keep the types the file declares; geometry may contain empties/invalids (the validator
        reports them).

    Raises
    ------
    InputError
        Missing file, unknown or ambiguous layer, a GeoPackage/shapefile layer without CRS,
        GeoJSON whose coordinates are not degrees, or a file GDAL cannot read.
    """
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    path = Path(path)
    file = file or str(path)
    if not path.exists():
        raise _fail(file, "file not found", "check the path in the config")
    if path.is_dir():
        raise _fail(file, "this is a folder, not a file", "name the file inside it in the config")
    is_geojson = path.suffix.lower() in _GEOJSON_SUFFIXES
    try:
        layers = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise _fail(file, f"cannot read the file ({exc})",
                    "check it opens in QGIS; GeoJSON must be UTF-8") from None
    if layer is not None and layer not in layers:
        raise _fail(file, f"no layer named {layer!r}", f"use one of: {', '.join(layers)}",
                    field="layer")
    if layer is None and len(layers) > 1:
        raise _fail(file, f"the file holds {len(layers)} layers",
                    f"name one in the config with layer = ..., one of: {', '.join(layers)}",
                    field="layer")
    try:
        with warnings.catch_warnings():  # mixed-type columns are validated cell by cell
            warnings.filterwarnings("ignore", message="Could not parse column")
            gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (DataSourceError, DataLayerError, UnicodeDecodeError, ValueError) as exc:
        raise _fail(file, f"cannot read the file ({exc})",
                    "check it opens in QGIS; text must be UTF-8") from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise _fail(file, "the layer has no geometry column", "export it with geometries")
    if gdf.crs is None:
        if is_geojson:
            gdf = gdf.set_crs("EPSG:4326")
        else:
            raise _fail(
                file,
                "the layer has no coordinate reference system (CRS)",
                "assign the CRS in QGIS (Layer Properties > Source > Assigned CRS, e.g. "
                "EPSG:4326 for longitude/latitude) and save it again",
                field="geometry",
            )
    if is_geojson and gdf.crs.is_geographic and len(gdf) and not gdf.geometry.is_empty.all():
        minx, miny, maxx, maxy = gdf.total_bounds
        if min(minx, miny) < -180 or maxx > 180 or maxy > 90:
            raise _fail(
                file,
                "coordinates are not longitude/latitude degrees (GeoJSON must be WGS-84)",
                "export the layer as GeoJSON with CRS EPSG:4326, or use a GeoPackage",
                field="geometry",
            )
    for col in gdf.columns:
        if col != gdf.geometry.name and gdf[col].dtype == object:
            gdf[col] = pd.Series(_clean_column(gdf[col].tolist(), file, str(col)),
                                 index=gdf.index, dtype=object)
    return gdf.reset_index(drop=True)


def read_table(path: str | Path, *, sheet: str | None = None, layer: str | None = None,
               file: str | None = None) -> pd.DataFrame:
    """Read any supported input file (dispatch on suffix).

    Returns a :class:`pandas.DataFrame` of text cells for CSV (XLSX: text and numbers) and a
    :class:`geopandas.GeoDataFrame` for GeoJSON/GPKG/SHP; see the module docstring.

    Raises
    ------
    InputError
        Unsupported suffix, or any error of the specific reader.
    """
    path = Path(path)
    file = file or str(path)
    if path.is_dir():
        raise _fail(file, "this is a folder, not a file", "name the file inside it in the config")
    suffix = path.suffix.lower()
    if suffix in _TEXT_SUFFIXES:
        return read_csv(path, file=file)
    if suffix in _XLSX_SUFFIXES:
        return read_xlsx(path, sheet=sheet, file=file)
    if suffix in _GEOJSON_SUFFIXES or suffix in _OGR_SUFFIXES:
        return read_vector(path, layer=layer, file=file)
    if suffix == ".xls":
        raise _fail(file, "old .xls workbooks are not supported",
                    "save it from Excel as .xlsx or as CSV UTF-8")
    raise _fail(file, f"unsupported file type {suffix or '(none)'!r}",
                "use .csv (UTF-8), .xlsx, .geojson or .gpkg")


# --- atomic writers -----------------------------------------------------------------------

_TMP_MARK = ".tmp"
_SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")
# `.<stem>.<8 hex>.tmp<suffix>` plus SQLite's side files: what atomic_path (and a killed
# process) leaves; never a name a planner would choose.
_TEMP_NAME = re.compile(r"^\..*\.[0-9a-f]{8}\.tmp(\.[^./]*)?(-journal|-wal|-shm)?$")


def temp_path(path: str | Path) -> Path:
    """A fresh temporary name next to ``path``, keeping its suffix (see :func:`atomic_path`)."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}{_TMP_MARK}{path.suffix}")


def remove_path(path: Path) -> None:
    """Remove a file or a folder tree; a missing path is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_stale_temp(folder: str | Path, *, stem: str | None = None) -> list[Path]:
    """Remove the temporary files and folders a killed process left in ``folder``.

    Only names of the form :func:`temp_path` makes (and their SQLite ``-journal``/``-wal``/
    ``-shm`` files) are touched. Call it while holding the folder's lock (see
    :mod:`coverage.outputs`), so another process's temporary files are never removed.

    Parameters
    ----------
    folder : str or Path
    stem : str, optional
        Only temporary files of this target stem (e.g. ``huitian_coverage`` in a shared
        ``maps/`` folder).

    Returns
    -------
    list of Path
        What was removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    gone = []
    own = None if stem is None else re.compile(rf"^\.{re.escape(stem)}\.[0-9a-f]{{8}}\.tmp")
    for p in sorted(folder.iterdir()):
        if _TEMP_NAME.match(p.name) and (own is None or own.match(p.name)):
            remove_path(p)
            gone.append(p)
    if gone:
        log.info("removed %d temporary files left in %s by an interrupted run", len(gone),
                 folder)
    return gone


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` if the block succeeds.

    The temporary file keeps ``path``'s suffix (so format drivers recognise it) and lives in
    the same folder (so :func:`os.replace` is an atomic rename). On an exception (also
    ``KeyboardInterrupt`` and the CLI's termination signal) the temporary file is removed and
    ``path`` is left untouched.

    Parameters
    ----------
    path : str or Path
        Final destination. Its folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        for p in (tmp, *(tmp.with_name(tmp.name + s) for s in _SQLITE_SIDE_FILES)):
            remove_path(p)
        raise


def replace_folder(src: Path, dest: Path) -> None:
    """Put the folder (or file) ``src`` in place of ``dest``, replacing what is there.

    A folder is swapped in by two renames in the same parent folder (``dest`` moved aside to a
    temporary name, ``src`` renamed to ``dest``, the old one removed), so ``dest`` is never
    half old, half new; a process killed between the renames leaves the old folder under a
    temporary name, which :func:`remove_stale_temp` clears.
    """
    if src.is_dir() and dest.exists():
        old = temp_path(dest)
        os.replace(dest, old)
        os.replace(src, dest)
        remove_path(old)
    else:
        os.replace(src, dest)


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; put it in place of ``path`` if the block
    succeeds (see :func:`replace_folder`), remove it otherwise.

    Temporary folders that a killed process left beside ``path`` are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp(path.parent, stem=path.name)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{_TMP_MARK}")  # a folder: no suffix
    tmp.mkdir()
    try:
        yield tmp
        replace_folder(tmp, path)
    except BaseException:
        remove_path(tmp)
        raise


def write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (``\n`` line ends on every platform); return it."""
    return write_bytes(path, text.encode(encoding))


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


# OWASP "CSV Injection": a cell starting with = + - @ tab or carriage return is run as a
# formula by Excel/LibreOffice/WPS. Full-width forms are included: Chinese spreadsheet apps
# convert them; leading blanks are skipped because some apps trim them before parsing.
_FORMULA_START = frozenset("=+-@\t\r\n\0＝＋－＠")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def formula_safe(text: str) -> str:
    """Text that a spreadsheet will show as text, never run as a formula (OWASP).

    A value whose first non-blank character is one of ``= + - @``, a tab, a carriage return,
    a line feed, NUL or a full-width ``＝ ＋ － ＠`` gets a leading apostrophe (``'=1+1``):
    Excel, WPS and LibreOffice then show the text as it is (the apostrophe visible at most),
    and the original is the text without its first character. A plain number such as ``-3.5``
    is left alone: it is not a formula.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    first = text.lstrip(" \u3000")[:1]
    if first in _FORMULA_START and first and not _PLAIN_NUMBER.fullmatch(text.strip()):
        return "'" + text
    return text


def _csv_cell(value: object, protect: bool) -> object:
    if not isinstance(value, str):
        return value
    # A bare carriage return would end the row for CSV readers (rows end in "\n" and only
    # cells holding "\n" get quoted): a line break in a cell is written as "\n".
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return formula_safe(value) if protect else value


def _csv_frame(df: pd.DataFrame, protect: bool) -> pd.DataFrame:
    """Text cells and column names as written; numeric columns cannot hold formulas."""
    out = df.copy()
    for col in out.columns:
        values = out[col]
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            out[col] = values.map(lambda v: _csv_cell(v, protect))
    out.columns = [_csv_cell(c, protect) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: str | Path, *, float_format: str | None = None,
              protect_formulas: bool = True) -> Path:
    """Write a table for planners: UTF-8 with BOM (opens in Excel with Chinese intact), no index.

    Parameters
    ----------
    df : DataFrame
        Geometry columns, if any, are dropped.
    path : str or Path
    float_format : str, optional
        As in :meth:`pandas.DataFrame.to_csv`.
    protect_formulas : bool
        Neutralise text that a spreadsheet would run as a formula (:func:`formula_safe`). Only
        a CSV that circle15 itself reads back as an input file may turn this off.

    Returns
    -------
    Path
    """
    path = Path(path)
    if isinstance(df, gpd.GeoDataFrame):
        df = pd.DataFrame(df.drop(columns=df.geometry.name))
    df = _csv_frame(df, protect_formulas)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, encoding=CSV_ENCODING, float_format=float_format,
                  lineterminator="\n")
    return path


def _gpkg_date() -> str:
    """The fixed GeoPackage ``last_change`` date: ``SOURCE_DATE_EPOCH`` if set, else 1970."""
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0") or 0)
    stamp = _dt.datetime.fromtimestamp(epoch, tz=_dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@contextlib.contextmanager
def _gdal_options(options: Mapping[str, str]) -> Iterator[None]:
    """Set GDAL config options for the block and restore the previous values after it."""
    import pyogrio

    before = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(dict(options))
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


GPKG_VERSION = "1.2"
"""GeoPackage version written: QGIS 3.22 with GDAL 3.6 warns on the 1.4 newer GDALs write."""


def write_gpkg(path: str | Path, layers: Mapping[str, gpd.GeoDataFrame], *,
               progress: bool = False) -> Path:
    """Write several layers into one GeoPackage atomically (all or nothing).

    The same layers give the same bytes: the ``last_change`` dates are fixed (1970-01-01, or
    ``SOURCE_DATE_EPOCH``).

    Parameters
    ----------
    path : str or Path
        Destination ``.gpkg``; an existing file is replaced only after every layer is written.
    layers : mapping of str to GeoDataFrame
        Layer name -> data. Every layer must have a CRS. Empty layers are written with their
        columns.
    progress : bool
        Show a progress bar over the layers.
    """
    from tqdm.auto import tqdm

    path = Path(path)
    for name, gdf in layers.items():
        if gdf.crs is None:
            raise ValueError(f"layer {name!r} has no CRS; refusing to write it")
    # SQLite flushes to disk after every transaction by default, which is most of the time of
    # a multi-layer write. The temporary file is thrown away on any failure, so it is written
    # without those flushes and made durable once, when finished, before the rename.
    with atomic_path(path) as tmp, _gdal_options({"OGR_CURRENT_DATE": _gpkg_date(),
                                                  "OGR_SQLITE_SYNCHRONOUS": "OFF"}):
        for i, (name, gdf) in enumerate(tqdm(layers.items(), desc=f"writing {path.name}",
                                             unit="layer", disable=not progress)):
            options = {"dataset_options": {"VERSION": GPKG_VERSION}} if i == 0 else {}
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", **options)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
    log.debug("wrote %s (%d layers)", path, len(layers))
    return path


def write_geojson(gdf: gpd.GeoDataFrame, path: str | Path, *,
                  only_if_changed: bool = False) -> Path:
    """Write a layer as GeoJSON in WGS-84 (RFC 7946), atomically and deterministically.

    Parameters
    ----------
    gdf : GeoDataFrame
        Any CRS; converted to EPSG:4326.
    path : str or Path
    only_if_changed : bool
        Leave an existing file with the same content untouched (keeps its modification time,
        which caches key on).
    """
    path = Path(path)
    text = gdf.to_crs(4326).to_json(ensure_ascii=False, drop_id=True) + "\n"
    if only_if_changed and path.is_file() and path.read_text(encoding="utf-8") == text:
        return path
    return write_text(path, text)


# --- hashing and TOML ---------------------------------------------------------------------


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def parse_toml(text: str, *, file: str) -> dict[str, Any]:
    """Parse TOML text (the one place with Python 3.10's ``tomli`` fallback).

    Raises
    ------
    ConfigError
        Not valid TOML (naming ``file`` and the position).
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(Problem(file, None, None, f"not valid TOML ({exc})",
                                  "fix the TOML syntax at the position given")) from None


def read_toml(path: str | Path, *, file: str | None = None,
              what: str = "file") -> dict[str, Any]:
    """Read a TOML file (UTF-8, a byte-order mark is accepted).

    Parameters
    ----------
    path : str or Path
    file : str, optional
        Name used for the file in error messages (default: ``path``).
    what : str
        What the file is, for messages ("config file not found").

    Raises
    ------
    ConfigError
        Missing file, a folder, unreadable, not UTF-8, or not valid TOML (with the position).
    """
    path = Path(path)
    file = file or str(path)

    def fail(problem: str, fix: str) -> ConfigError:
        return ConfigError(Problem(file, None, None, problem, fix))

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail(f"{what} not found", "check the path") from None
    except IsADirectoryError:
        raise fail("this is a folder, not a file", f"give the path of the {what} in it") from None
    except OSError as exc:
        raise fail(f"cannot read the {what} ({exc.strerror or exc})",
                   "check the path and its permissions") from None
    try:
        text = raw.decode("utf-8-sig")  # a BOM (Windows Notepad) is fine
    except UnicodeDecodeError:
        raise fail("the file is not UTF-8 text", "save it as UTF-8") from None
    return parse_toml(text, file=file)


def toml_value(value: object, *, float_digits: int | None = None) -> str:
    """A Python value as a TOML value (strings, numbers, booleans, lists, inline tables).

    Parameters
    ----------
    value : object
    float_digits : int, optional
        Round floats to this many decimals (default: exact ``repr``).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value if float_digits is None else round(value, float_digits))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(x, float_digits=float_digits) for x in value) + "]"
    if isinstance(value, Mapping):
        items = (f"{_toml_key(str(k))} = {toml_value(x, float_digits=float_digits)}"
                 for k, x in value.items())
        return "{ " + ", ".join(items) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)
