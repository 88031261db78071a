"""Combining a batch: each area's results under ``areas/`` and the combined files."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..errors import ConfigError, InputError
from ..io import write_csv, write_gpkg
from ..outputs import LOCK_NAME, csv_table
from .jobs import DONE, AreaJob, AreaOutcome

__all__ = ["AREA_COLUMNS", "SUMMARY_COLUMNS", "BatchResult", "area_tables", "combine_results"]

SUMMARY_COLUMNS = ["area", "unit", "category", "scenario", "compounds", "population",
                   "population_covered", "coverage_pct", "status", "error"]
COVERAGE_PREFIX = "coverage_pct_"
"""Prefix of the units layer's coverage column of each category."""
AREA_COLUMNS = ["area", "status", "error", "compounds", "nodes", "results", "config"]
"""Columns of ``batch_areas.csv``. Nothing about how a run went (wall times, whether an area
came from the cache, which can differ when a worker dies): the same inputs give the same bytes.
Those are logged (``-v``) and in :class:`AreaOutcome`."""


@dataclass
class BatchResult:
    """A finished batch: outcomes in batch order and the files written."""

    outcomes: list[AreaOutcome]
    summary: pd.DataFrame
    units: gpd.GeoDataFrame
    paths: list[Path]
    seconds: float

    @property
    def failed(self) -> list[AreaOutcome]:
        return [o for o in self.outcomes if o.status != "ok"]


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(src, dst)
    return dst


def area_tables(o: AreaOutcome) -> tuple[pd.DataFrame, gpd.GeoDataFrame | None]:
    """An ok area's rows of batch_summary.csv and of the units layer."""
    s = pd.read_csv(Path(o.results) / "summary.csv", encoding="utf-8-sig", dtype={"unit": str})
    s.insert(0, "area", o.name)
    s["status"], s["error"] = "ok", ""
    return s, _area_units(o, s)


def _area_units(o: AreaOutcome, summary: pd.DataFrame) -> gpd.GeoDataFrame | None:
    import pyogrio

    gpkg = Path(o.results) / "coverage.gpkg"
    if not gpkg.exists():
        return None
    bnd = pyogrio.read_dataframe(gpkg, layer="boundaries")
    ex = summary[(summary["scenario"] == "existing") & (summary["unit"] != "ALL")]
    wide = ex.pivot_table(index="unit", columns="category", values="coverage_pct",
                          aggfunc="first", sort=False)
    pop = ex.groupby("unit", sort=False)["population"].first()  # first category's demand
    units = bnd.rename(columns={"name": "unit"})
    units.insert(0, "area", o.name)
    for key in dict.fromkeys(ex["category"]):
        units[f"{COVERAGE_PREFIX}{key}"] = units["unit"].map(wide[key]).astype(float)
    units["population"] = units["unit"].map(pop)
    return units.to_crs(4326)


def _config_name(config: Path, root: Path) -> str:
    """``config`` relative to ``root`` (POSIX separators) if inside it, else as it is."""
    try:
        return Path(config).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(config)


def _category_labels(jobs: Sequence[AreaJob], lang: str, keys: Sequence[str]) -> dict[str, str]:
    """Category key -> display name in ``lang`` for ``keys``, from the areas' configs (first
    one wins); reads configs only until every key has its name (usually the first one)."""
    from .._i18n import cat_label
    from ..config import load_config

    labels: dict[str, str] = {}
    for job in jobs:
        if labels.keys() >= set(keys):
            break
        try:
            cfg = load_config(job.config)
        except (ConfigError, InputError, OSError):
            continue  # that area failed anyway; its keys stay as they are
        for cat in cfg.categories:
            labels.setdefault(cat.key, cat_label(cat, lang))
    return labels


def combine_results(outcomes: Sequence[AreaOutcome], jobs: Sequence[AreaJob], out: Path, *,
                    title: str = "circle15 batch", lang: str = "zh", root: Path | None = None,
                    ) -> tuple[pd.DataFrame, gpd.GeoDataFrame, list[Path]]:
    """Copy each area's results to ``out/areas/<slug>/`` and write the combined files.

    ``out`` is the staging folder of the batch's run (see :func:`run_batch_file`): what it
    does not hold (an area that failed this time, a combined file with no data) is not part of
    the batch's outputs any more. The overview map (``batch_map.html``) is in ``lang``.
    ``root`` is the batch's output folder (default ``out``): area configs inside it (split
    mode) are named relative to it in ``batch_areas.csv``, so that the same batch gives the
    same bytes in any folder.
    """
    from ..maps import write_overview_map

    rows = []
    unit_parts = []
    area_rows = []
    for o, job in zip(outcomes, jobs, strict=True):
        dest = out / "areas" / o.slug
        if o.status == "ok":
            if dest.exists():
                shutil.rmtree(dest)
            # Hard links, not copies: cached results are written once (atomically) and never
            # changed in place, so the two names can share the bytes.
            shutil.copytree(o.results, dest, ignore=shutil.ignore_patterns(DONE, LOCK_NAME),
                            copy_function=_link_or_copy)
            s, units = o.tables if o.tables is not None else area_tables(o)
            rows.append(s)
            if units is not None:
                unit_parts.append(units)
        else:
            rows.append(pd.DataFrame([{"area": o.name, "status": "error", "error": o.error}]))
        area_rows.append({"area": o.name, "status": o.status, "error": o.error,
                          "compounds": o.compounds, "nodes": o.nodes,
                          "results": f"areas/{o.slug}" if o.status == "ok" else "",
                          "config": _config_name(job.config, root or out)})
    summary = (pd.concat(rows, ignore_index=True).reindex(columns=SUMMARY_COLUMNS)
               if rows else pd.DataFrame(columns=SUMMARY_COLUMNS))
    units = (gpd.GeoDataFrame(pd.concat(unit_parts, ignore_index=True), geometry="geometry",
                              crs=4326) if unit_parts
             else gpd.GeoDataFrame({"area": [], "unit": []}, geometry=[], crs=4326))
    paths = [write_csv(csv_table(summary), out / "batch_summary.csv"),
             write_csv(pd.DataFrame(area_rows, columns=AREA_COLUMNS), out / "batch_areas.csv")]
    if len(units):
        keys = [c.removeprefix(COVERAGE_PREFIX) for c in units.columns
                if c.startswith(COVERAGE_PREFIX)]
        paths.append(write_gpkg(out / "batch_coverage.gpkg", {"units": units}))
        paths.append(write_overview_map(units, out / "batch_map.html", title=title, lang=lang,
                                        labels=_category_labels(jobs, lang, keys)))
    return summary, units, paths

