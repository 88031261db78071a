"""All of a study area's input files -> one validated, projected :class:`StudyInputs`.

:func:`load_inputs` reads every file named by the config, converts GCJ-02/BD-09 coordinates to
WGS-84, projects everything once to ``config.crs`` and checks it all (see
:mod:`coverage.validate` for the rules). It raises a single
:class:`~coverage.errors.InputError` listing every problem in every file, so a planner can fix
them in one pass. :func:`summarize_inputs` renders the counts for ``circle15 validate``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from .config import AreaConfig, PointSource
from .errors import InputError, Problem
from .io import cell_text, read_table
from .validate import (
    POINT_COLUMNS,
    check_duplicate_ids,
    locate_points,
    parse_boundaries,
    parse_compounds,
    parse_points,
    plan_input_problems,
)

__all__ = ["COMPOUND_COLUMNS", "StudyInputs", "load_inputs", "summarize_inputs"]

log = logging.getLogger(__name__)

COMPOUND_COLUMNS = ("id", "name", "unit", "population", "population_60plus", "in_area")
"""Leading columns of :attr:`StudyInputs.compounds` (then any extra demand columns, geometry)."""


@dataclass(frozen=True)
class StudyInputs:
    """The validated inputs of one study area, all in ``config.crs`` (metres).

    Attributes
    ----------
    config : AreaConfig
    boundaries : GeoDataFrame
        ``name, geometry`` (unit polygons).
    study_area : shapely geometry
        Union of the units.
    load_area : shapely geometry
        ``study_area`` buffered by ``config.max_walk_m``: load network and facilities here.
    compounds : GeoDataFrame
        ``id`` (str), ``name``, ``unit`` ("" = in no unit), ``population``,
        ``population_60plus`` (float, NaN when the file has no such column), any other demand
        column named by a category (float), ``in_area`` (bool: in a unit), polygon geometry.
    facilities, proposed : GeoDataFrame
        ``id`` (str), ``name``, ``category``, ``status``, ``capacity`` (in the category's demand
        unit) and ``floor_area_m2`` (m²) (float, NaN = unknown), ``source``, ``file``, ``row``
        (1-based row in that file), ``lon``, ``lat`` (WGS-84 degrees after any GCJ-02/BD-09
        conversion), point geometry. ``proposed`` is empty (same
        columns) when the config names no proposed files.
    candidates : GeoDataFrame or None
        Same columns; ``category`` "" means any category. None when no candidates file.
    gates : GeoDataFrame or None
        ``id`` (str), ``compound_id`` (str, "" if not given), point geometry; None when not
        configured. Gates outside ``load_area`` are dropped.
    """

    config: AreaConfig
    boundaries: gpd.GeoDataFrame
    study_area: BaseGeometry
    load_area: BaseGeometry
    compounds: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    proposed: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame | None
    gates: gpd.GeoDataFrame | None


def _display(path: Path, config: AreaConfig) -> str:
    """The file name as the planner wrote it: relative to the config folder when possible."""
    try:
        return str(Path(path).resolve().relative_to(config.folder.resolve()))
    except ValueError:
        return str(path)


def _read(path: Path, config: AreaConfig, problems: list[Problem], *,
          layer: str | None = None, sheet: str | None = None) -> pd.DataFrame | None:
    try:
        return read_table(path, layer=layer, sheet=sheet, file=_display(path, config))
    except InputError as exc:
        problems.extend(exc.problems)
        return None


def _empty_points(crs: str) -> gpd.GeoDataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in POINT_COLUMNS})
    for c in ("capacity", "floor_area_m2", "lon", "lat"):
        df[c] = df[c].astype(float)
    df["row"] = df["row"].astype("int64")
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _points(sources: tuple[PointSource, ...], kind: str, config: AreaConfig,
            load_area: BaseGeometry | None, problems: list[Problem]) -> gpd.GeoDataFrame:
    parts = []
    for src in sources:
        file = _display(src.path, config)
        table = _read(src.path, config, problems, layer=src.layer, sheet=src.sheet)
        if table is None:
            continue
        labels = {**{c.label_en: c.key for c in config.categories},
                  **{c.label: c.key for c in config.categories}}
        layer, ps = parse_points(table, file=file, kind=kind, coords=src.coords,
                                 categories=config.category_keys, labels=labels)
        problems.extend(ps)
        gdf, ps = locate_points(layer, file=file, crs=config.crs, load_area=load_area,
                                buffer_m=config.max_walk_m)
        problems.extend(ps)
        log.debug("%s: %d %s (coords %s)", file, len(gdf), kind, src.coords)
        parts.append(gdf)
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty_points(config.crs)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=config.crs)


def _gates(path: Path, config: AreaConfig, load_area: BaseGeometry | None,
           problems: list[Problem]) -> gpd.GeoDataFrame | None:
    file = _display(path, config)
    table = _read(path, config, problems)
    if table is None:
        return None
    layer, ps = parse_points(table, file=file, kind="gates", coords="wgs84", categories=())
    problems.extend(ps)
    gdf, ps = locate_points(layer, file=file, crs=config.crs, load_area=load_area,
                            buffer_m=config.max_walk_m, outside="drop")
    problems.extend(ps)
    ids = [i or f"gate{r}" for i, r in zip(gdf["id"], gdf["row"], strict=True)]
    comp = [""] * len(gdf)
    if "compound_id" in table.columns:
        texts = [cell_text(v) for v in table["compound_id"].tolist()]
        comp = [texts[int(r) - 1] for r in gdf["row"]]
    return gpd.GeoDataFrame({"id": ids, "compound_id": comp}, geometry=gdf.geometry.values,
                            crs=config.crs)


def _assign_units(compounds: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame,
                  load_area: BaseGeometry, file: str, problems: list[Problem]
                  ) -> gpd.GeoDataFrame:
    """Fill ``unit`` from the unit containing each compound's representative point; set
    ``in_area``; drop compounds wholly outside ``load_area``."""
    out = compounds.copy()
    rep = out.geometry.representative_point()
    x, y = rep.x.to_numpy(), rep.y.to_numpy()
    spatial = np.full(len(out), "", dtype=object)
    for name, geom in zip(boundaries["name"], boundaries.geometry, strict=True):
        hit = (spatial == "") & shapely.intersects_xy(geom, x, y)
        spatial[hit] = name
    known = list(boundaries["name"])
    given = out["unit"].to_numpy(dtype=object)
    for g, row in zip(given, out["row"], strict=True):
        if g != "" and g not in known:
            problems.append(Problem(file, int(row), "unit", f"unknown unit {g!r}",
                                    f"use a name from the boundaries file: {', '.join(known)} "
                                    "(or leave it empty to assign by location)"))
    out["unit"] = np.where(given != "", given, spatial).astype(object)
    out["in_area"] = out["unit"] != ""
    near = shapely.intersects(load_area, out.geometry.values)
    if (~near).any():
        log.warning("%s: %d compounds lie outside the study area (units + walk buffer) and are "
                    "ignored", file, int((~near).sum()))
    if len(out) and not near.any():
        problems.append(Problem(
            file, None, "geometry", f"none of the {len(out)} compounds lies in the study area",
            "check that the compounds file covers the units (right file? right CRS?)"))
    out = out.loc[near].reset_index(drop=True)
    edge = int((~out["in_area"]).sum())
    if edge:
        log.warning("%s: %d compounds lie outside every unit; they are kept (unit \"\", "
                    "in_area False) but not counted in unit coverage", file, edge)
    return out


def load_inputs(config: AreaConfig) -> StudyInputs:
    """Read, convert, project and validate every input file of a study area.

    Parameters
    ----------
    config : AreaConfig
        From :func:`coverage.config.load_config`.

    Returns
    -------
    StudyInputs
        Everything in ``config.crs``.

    Raises
    ------
    InputError
        Listing every problem found in every file (file, row, field, problem, fix).
    """
    crs = config.crs
    problems: list[Problem] = []

    # units first: they define the study area every other check needs
    b_file = _display(config.boundaries, config)
    table = _read(config.boundaries, config, problems)
    if table is not None:
        boundaries, ps = parse_boundaries(table, file=b_file, crs=crs)
        problems.extend(ps)
    else:
        boundaries = gpd.GeoDataFrame({"name": pd.Series(dtype=object)},
                                      geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    study_area: BaseGeometry | None = None
    load_area: BaseGeometry | None = None
    if len(boundaries):
        study_area = shapely.union_all(boundaries.geometry.values)
        load_area = study_area.buffer(config.max_walk_m)

    # compounds
    demand: dict[str, list[str]] = {}
    for cat in config.categories:
        demand.setdefault(cat.demand, []).append(cat.key)
    c_file = _display(config.compounds, config)
    table = _read(config.compounds, config, problems, layer=config.compounds_layer)
    compounds: gpd.GeoDataFrame | None = None
    if table is not None:
        compounds, ps = parse_compounds(table, file=c_file, crs=crs, demand=demand)
        problems.extend(ps)
        if load_area is not None:
            compounds = _assign_units(compounds, boundaries, load_area, c_file, problems)

    # points
    facilities = _points(config.facilities, "facilities", config, load_area, problems)
    proposed = _points(config.proposed, "proposed", config, load_area, problems)
    problems.extend(check_duplicate_ids([facilities, proposed]))
    candidates = None
    n_before = len(problems)
    if config.candidates is not None:
        candidates = _points((config.candidates,), "candidates", config, load_area, problems)
        problems.extend(check_duplicate_ids([candidates]))
    if config.candidates is not None and len(problems) == n_before:  # else those come first
        problems.extend(plan_input_problems(config, candidates,
                                            _display(config.candidates.path, config)))
    gates = _gates(config.gates, config, load_area, problems) if config.gates else None

    if problems:
        raise InputError(problems)
    assert compounds is not None and study_area is not None and load_area is not None
    extra = [c for c in demand if c not in COMPOUND_COLUMNS]
    compounds = compounds[[*COMPOUND_COLUMNS, *extra, compounds.geometry.name]]
    inputs = StudyInputs(
        config=config,
        boundaries=boundaries,
        study_area=study_area,
        load_area=load_area,
        compounds=compounds,
        facilities=facilities,
        proposed=proposed,
        candidates=candidates,
        gates=gates,
    )
    log.info("inputs: %d units, %d compounds (%d in units), %d facilities, %d proposed%s",
             len(boundaries), len(compounds), int(compounds["in_area"].sum()), len(facilities),
             len(proposed), "" if candidates is None else f", {len(candidates)} candidates")
    return inputs


def summarize_inputs(inputs: StudyInputs) -> str:
    """Plain-text summary for ``circle15 validate``: counts per layer, category and unit."""
    cfg = inputs.config
    comp = inputs.compounds
    lines = [
        f"{cfg.name}  (CRS {cfg.crs})",
        f"units: {len(inputs.boundaries)}, {inputs.study_area.area / 1e6:.2f} km²; "
        f"data loaded within {cfg.max_walk_m:.0f} m of them "
        f"({inputs.load_area.area / 1e6:.2f} km²)",
        f"compounds: {len(comp)} ({int(comp['in_area'].sum())} in the units), "
        f"population {comp['population'].sum():,.0f}"
        + ("" if comp["population_60plus"].isna().all()
           else f", aged 60+ {comp['population_60plus'].sum():,.0f}"),
        "",
        "per unit:",
    ]
    for name in inputs.boundaries["name"]:
        sel = comp[comp["unit"] == name]
        lines.append(f"  {len(sel):5d} compounds  population {sel['population'].sum():>10,.0f}"
                     f"  {name}")
    edge = comp[~comp["in_area"]]
    if len(edge):
        lines.append(f"  {len(edge):5d} compounds  population {edge['population'].sum():>10,.0f}"
                     "  (in no unit: near the edge)")
    lines += ["", "facilities per category (existing / proposed / candidates):"]
    kw = max(len(k) for k in cfg.category_keys)
    cand = inputs.candidates
    for cat in cfg.categories:
        n_f = int((inputs.facilities["category"] == cat.key).sum())
        n_p = int((inputs.proposed["category"] == cat.key).sum())
        n_c = "-" if cand is None else str(int(cand["category"].isin([cat.key, ""]).sum()))
        lines.append(f"  {cat.key:<{kw}}  {n_f:4d} / {n_p:3d} / {n_c:>4}  {cat.label} "
                     f"({cat.minutes:g} min = {cat.walk_m:.0f} m, demand {cat.demand})")
    lines.append("")
    lines.append(f"facilities: {len(inputs.facilities)}; proposed: {len(inputs.proposed)}; "
                 f"candidates: {'none' if cand is None else len(cand)}"
                 + ("; generated candidates: on" if cfg.generate_candidates else ""))
    if inputs.gates is not None:
        lines.append(f"compound gates: {len(inputs.gates)}")
    return "\n".join(lines) + "\n"
