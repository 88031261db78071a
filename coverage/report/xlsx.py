"""``report.xlsx``: one sheet per report table, headers in the report's language.

Written directly as Office Open XML (a zip of a few XML parts), as the report's pictures are
written as SVG: a handful of plain tables does not need a spreadsheet library (openpyxl's import
and writer took about a fifth of the report's time). Headers are bold on a light green fill,
the first row is frozen, columns are as wide as their texts (up to 60). Texts are inline
strings, never formulas, so data text that starts like a formula (``=``, ``+``, ``-``, ``@``)
stays text. The file is deterministic: the workbook's created/modified stamps and every zip
entry's time are fixed (``SOURCE_DATE_EPOCH`` when set), so the same results give the same
bytes.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io import write_bytes
from ..results import source_date
from ._labels import tr
from .tables import Beyond, ReportTables

__all__ = ["write_xlsx"]

_FIXED = dt.datetime(2000, 1, 1)  # the stamp used when no SOURCE_DATE_EPOCH is given
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0

_STYLES = (
    f'{_HEAD}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="00E6EFE6"/><bgColor indexed="64"/>'
    "</patternFill></fill></fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    "</cellStyleXfs>"
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" '
    'applyFill="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>")


def _xl_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, Beyond):
        return str(v)
    if isinstance(v, np.generic):
        return _xl_value(v.item())
    return v


def _sensitivity_sheet(sens: pd.DataFrame, lang: str) -> pd.DataFrame:
    s = sens.copy()
    s["varied"] = [tr(f"varied_{v}", lang) for v in s["varied"]]
    heads = {"category": "category", "scenario": "scenario", "varied": "varied",
             "minutes": "minutes", "speed_m_s": "speed", "walk_m": "walk_m",
             "population": "demand_population", "population_covered": "population_covered",
             "coverage_pct": "pop_weighted_pct", "at_config": "at_config",
             "within_search": "within_search"}
    return s.rename(columns={k: tr(v, lang) for k, v in heads.items()})


def _stamp() -> dt.datetime:
    """The workbook's created/modified time: the date rule's day (00:00 UTC), else fixed."""
    day = source_date()
    return dt.datetime.fromisoformat(day) if day else _FIXED


def _column(i: int) -> str:
    """Spreadsheet column letters of 1-based column ``i`` (1 -> A, 27 -> AA)."""
    out = ""
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _num(v: float) -> str:
    """A number as spreadsheets store it (16 significant digits, as openpyxl wrote them)."""
    return "%.16g" % v  # noqa: UP031 - the same digits as the reference writer


def _is_number(v: Any) -> bool:
    """A value (after :func:`_xl_value`) stored as a number cell."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _cell(ref: str, v: Any, style: int = 0) -> str:
    """One ``<c>``: a number, a boolean or an inline string (never a formula); "" for none."""
    v = _xl_value(v)
    s = f' s="{style}"' if style else ""
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(v)}</v></c>'
    if _is_number(v):
        return f'<c r="{ref}"{s}><v>{_num(v)}</v></c>'
    text = html.escape(_NOT_XML.sub("", str(v)), quote=False)
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _width(values: Iterable[Any]) -> float:
    """A column's width from its longest text, numbers as the cells store them (3000.0 in
    memory and 3000 read back from a CSV give one width)."""
    def text(v: Any) -> str:
        v = _xl_value(v)
        return _num(v) if _is_number(v) else str(v)
    return min(60.0, max(len(text(v)) for v in values) * 1.6 + 2)


def _sheet_xml(df: pd.DataFrame | None, missing: str) -> str:
    """A worksheet: bold header row on a fill, frozen, then the rows; or one note cell."""
    if df is None:
        rows = f'<row r="1">{_cell("A1", missing)}</row>'
        return f'{_HEAD}<worksheet xmlns="{_MAIN}"><sheetData>{rows}</sheetData></worksheet>'
    cols = [_column(i) for i in range(1, df.shape[1] + 1)]
    head = "".join(_cell(f"{c}1", str(h), 1) for c, h in zip(cols, df.columns, strict=True))
    out = [f'<row r="1">{head}</row>']
    for r, row in enumerate(df.itertuples(index=False, name=None), start=2):
        cells = "".join(_cell(f"{c}{r}", v) for c, v in zip(cols, row, strict=True))
        if cells:
            out.append(f'<row r="{r}">{cells}</row>')
    widths = "".join(
        f'<col min="{i}" max="{i}" width="{_num(_width([h, *df.iloc[:200, i - 1]]))}" '
        'customWidth="1"/>' for i, h in enumerate(df.columns, start=1))
    view = ('<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
            'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/>'
            "</sheetView></sheetViews>")
    cols_xml = f"<cols>{widths}</cols>" if widths else ""
    return (f'{_HEAD}<worksheet xmlns="{_MAIN}">{view}{cols_xml}'
            f'<sheetData>{"".join(out)}</sheetData></worksheet>')


def _package(names: Sequence[str], stamp: dt.datetime) -> dict[str, str]:
    """The parts around the sheets: content types, relationships, workbook, properties."""
    n = len(names)
    when = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    sheets = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="'
                     'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                     for i in range(1, n + 1))
    return {
        "[Content_Types].xml": (
            f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-'
            'package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-'
            f'officedocument.extended-properties+xml"/>{sheets}</Types>'),
        "_rels/.rels": (
            f'{_HEAD}<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
            'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL}/extended-properties" '
            'Target="docProps/app.xml"/></Relationships>'),
        "docProps/app.xml": (
            f'{_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
            'extended-properties"><Application>circle15</Application></Properties>'),
        "docProps/core.xml": (
            f'{_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>circle15'
            f'</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">{when}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{when}</dcterms:modified>'
            "</cp:coreProperties>"),
        "xl/workbook.xml": (
            f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/>'
            "</bookViews><sheets>" + "".join(
                f'<sheet name="{html.escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
                for i, name in enumerate(names, start=1)) + "</sheets></workbook>"),
        "xl/_rels/workbook.xml.rels": (
            f'{_HEAD}<Relationships xmlns="{_PKG_REL}">' + "".join(
                f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" '
                f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
            + f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
            "</Relationships>"),
        "xl/styles.xml": _STYLES,
    }


def _zip(parts: dict[str, str], stamp: dt.datetime) -> bytes:
    """The parts as a zip with every entry's time ``stamp`` (deterministic bytes)."""
    when = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute,
            stamp.second)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, text in parts.items():
            entry = zipfile.ZipInfo(name, date_time=when)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, text.encode("utf-8"))
    return out.getvalue()


def write_xlsx(t: ReportTables, path: str | Path, *, lang: str = "zh") -> Path:
    """Write one sheet per table (headers in ``lang``) atomically to ``path``; return it."""
    sheets = [("sheet_method", t.method), ("sheet_sources", t.sources),
              ("sheet_unit_cov", t.unit_cov), ("sheet_pop_cov", t.pop_cov),
              ("sheet_uncovered", t.uncovered), ("sheet_sites", t.sites),
              ("sheet_scenarios", t.scenarios),
              ("sheet_sensitivity", _sensitivity_sheet(t.sensitivity, lang))]
    if t.plan is not None:
        sheets += [("sheet_plan", t.plan.summary), ("sheet_plan_spaces", t.plan.spaces),
                   ("sheet_plan_overloaded", t.plan.overloaded)]
    stamp = _stamp()
    parts = _package([tr(key, lang)[:31] for key, _ in sheets], stamp)
    missing = tr("not_computed", lang)
    for i, (_, df) in enumerate(sheets, start=1):
        parts[f"xl/worksheets/sheet{i}.xml"] = _sheet_xml(df, missing)
    return write_bytes(path, _zip(parts, stamp))
