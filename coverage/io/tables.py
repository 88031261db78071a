"""Tables: the planner's CSV and XLSX files in, formula-safe CSV out.

* ``.csv`` / ``.txt`` (:func:`read_csv`): UTF-8 text, with or without a byte-order mark. Every
  cell is read as a string (so an id such as ``001`` keeps its leading zeros);
  :mod:`coverage.validate` parses numbers. A file that is not UTF-8 is refused with the fix
  "save it as UTF-8 (Excel: CSV UTF-8)"; GBK/GB18030 files (what Chinese Excel writes by
  default) are recognised and named as such.
* ``.xlsx`` / ``.xlsm`` (:func:`read_xlsx`): read with openpyxl; optional ``sheet`` (default:
  the first *visible* sheet, with a warning when the workbook has several). Text cells are
  strings like the CSV reader's; numeric cells stay numbers (typed numbers are never
  ambiguous).
* Every text cell is stripped; control characters are removed (tabs and line breaks become a
  space) with a warning naming file, rows and field. A CSV row with more values than the
  header has columns (an unquoted comma, e.g. ``116,2678``) is one error listing the rows.
* :func:`write_csv` writes UTF-8 *with* a byte-order mark (``utf-8-sig``): these CSVs are meant
  for planners, and Excel on Chinese Windows only shows Chinese text correctly with the BOM.
  Python, pandas and QGIS read such files transparently. Text cells are safe from formula
  injection (:func:`formula_safe`).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io as _io
import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ..errors import InputError, Problem, format_rows
from .files import _check_file, _fail, _read_bytes, atomic_path

__all__ = [
    "CSV_ENCODING",
    "cell_text",
    "formula_safe",
    "read_csv",
    "read_xlsx",
    "strip_control",
    "write_csv",
]

log = logging.getLogger(__name__)

CSV_ENCODING = "utf-8-sig"
"""Encoding of every CSV circle15 writes: UTF-8 with a byte-order mark, so Excel shows Chinese."""

_TEXT_SUFFIXES = (".csv", ".txt")
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_UTF8_FIX = (
    "save it as UTF-8 (Excel: File > Save As > 'CSV UTF-8 (Comma delimited)'; "
    "WPS/Notepad: choose encoding UTF-8)"
)


# --- reading ------------------------------------------------------------------------------


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
    header = _header(rows[0])
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
    return _frame(rows, "", file)


def _header(row: Sequence[Any]) -> list[Any]:
    """The header row without its trailing empty cells."""
    header = list(row)
    while header and cell_text(header[-1]) == "":
        header.pop()
    return header


def _frame(rows: list[list[Any]], empty: object, file: str) -> pd.DataFrame:
    """Header row + data rows -> the cleaned table (short rows padded with ``empty``, cells
    beyond the header dropped)."""
    header = _header(rows[0])
    width = len(header)
    data = [(r + [empty] * width)[:width] for r in rows[1:]]
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
    _check_file(path, file)
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
    return _frame(rows, None, file)

# --- writing ------------------------------------------------------------------------------


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

