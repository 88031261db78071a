"""``report.xlsx``: one sheet per report table, headers in the report's language.

Texts from data that start like a formula (``=``, ``+``, ``-``, ``@``) are stored as plain text,
so no cell runs as a formula. The file is deterministic: the workbook's created/modified stamps
and every zip entry's time are fixed (``SOURCE_DATE_EPOCH`` when set), so the same results give
the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
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


def _xl_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, Beyond):
        return str(v)
    if isinstance(v, np.generic):
        return v.item()
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


def _fill_sheet(ws: Any, df: pd.DataFrame) -> None:
    from openpyxl.styles import Font, PatternFill

    ws.append([str(c) for c in df.columns])
    for c in ws[1]:
        c.font, c.fill = Font(bold=True), PatternFill("solid", fgColor="E6EFE6")
    for row in df.itertuples(index=False):
        ws.append([_xl_value(v) for v in row])
    for col in ws.iter_cols(min_row=2):
        for c in col:
            # data text that looks like a formula stays text (no formula injection)
            if isinstance(c.value, str) and c.value[:1] in ("=", "+", "-", "@"):
                c.data_type = "s"
    ws.freeze_panes = "A2"
    for i, c in enumerate(df.columns, start=1):
        width = max([len(str(c))] + [len(str(v)) for v in df.iloc[:200, i - 1]])
        ws.column_dimensions[ws.cell(1, i).column_letter].width = min(60, width * 1.6 + 2)


def _deterministic(raw: bytes, stamp: dt.datetime) -> bytes:
    """The workbook's zip again, every entry's time set to ``stamp``, and the document's
    "modified" property (openpyxl writes the time of saving) set to ``stamp`` too."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    core = src.read("docProps/core.xml").decode("utf-8")
    saved = core.split("<dcterms:modified", 1)[1].split(">", 1)[1].split("<", 1)[0]
    core = core.replace(saved, stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))
    out = io.BytesIO()
    when = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute,
            stamp.second)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=when)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            data = (core.encode("utf-8") if info.filename == "docProps/core.xml"
                    else src.read(info.filename))
            dst.writestr(entry, data)
    return out.getvalue()


def write_xlsx(t: ReportTables, path: str | Path, *, lang: str = "zh") -> Path:
    """Write one sheet per table (headers in ``lang``) atomically to ``path``; return it."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    sheets = [("sheet_method", t.method), ("sheet_sources", t.sources),
              ("sheet_unit_cov", t.unit_cov), ("sheet_pop_cov", t.pop_cov),
              ("sheet_uncovered", t.uncovered), ("sheet_sites", t.sites),
              ("sheet_scenarios", t.scenarios),
              ("sheet_sensitivity", _sensitivity_sheet(t.sensitivity, lang))]
    if t.plan is not None:
        sheets += [("sheet_plan", t.plan.summary), ("sheet_plan_spaces", t.plan.spaces),
                   ("sheet_plan_overloaded", t.plan.overloaded)]
    for key, df in sheets:
        ws = wb.create_sheet(tr(key, lang)[:31])
        if df is None:
            ws.append([tr("not_computed", lang)])
        else:
            _fill_sheet(ws, df)
    stamp = _stamp()
    wb.properties.creator = "circle15"
    wb.properties.created = stamp
    buf = io.BytesIO()
    wb.save(buf)
    return write_bytes(path, _deterministic(buf.getvalue(), stamp))

