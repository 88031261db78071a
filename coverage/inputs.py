"""All of a study area's input files -> one validated, projected :class:`StudyInputs`.

:func:`load_inputs` reads every file named by the config, converts GCJ-02/BD-09 coordinates to
WGS-84, projects everything once to ``config.crs`` and checks it all (see
:mod:`coverage.validate` for the rules). It raises a single
:class:`~coverage.errors.InputError` listing every problem in every file (the same problem in
many rows once, with the rows), so a planner can fix them in one pass.

:func:`check_study` is what ``circle15 validate`` and ``circle15 run`` both call: the inputs,
the street network and the candidate sites siting will need. Whatever a run rejects on input,
validate rejects first, with the same message. :func:`summarize_inputs` renders the counts for
``circle15 validate``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ._geometry import buffer_covering, within_distance
from .access import snap_points
from .config import AreaConfig, PointSource
from .constants import FAR_FROM_STREET_M
from .errors import InputError, Problem
from .io import cell_text, read_table
from .network import WalkNetwork, load_walk_network
from .validate import (
    DROPPED_COLUMNS,
    candidate_problems,
    check_duplicate_ids,
    closest,
    empty_point_table,
    group_problems,
    locate_points,
    parse_boundaries,
    parse_compounds,
    parse_points,
    plan_input_problems,
)

__all__ = [
    "COMPOUND_COLUMNS",
    "Study",
    "StudyInputs",
    "check_study",
    "load_inputs",
    "load_network_for",
    "summarize_inputs",
    "warn_far_from_street",
]

log = logging.getLogger(__name__)

COMPOUND_COLUMNS = ("id", "name", "unit", "population", "population_60plus", "in_area")
"""Leading columns of :attr:`StudyInputs.compounds` (then any extra demand columns, geometry)."""


def _no_dropped() -> pd.DataFrame:
    return pd.DataFrame(columns=list(DROPPED_COLUMNS))


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
        ``study_area`` buffered by ``config.max_walk_m`` (holding every point that near, see
        :func:`coverage._geometry.buffer_covering`): load network and facilities here.
    compounds : GeoDataFrame
        ``id`` (str), ``name``, ``unit`` ("" = in no unit), ``population``,
        ``population_60plus`` (float, NaN when the file has no such column), any other demand
        column named by a category (float), ``in_area`` (bool: in a unit), polygon geometry.
    facilities, proposed : GeoDataFrame
        ``id`` (str), ``name``, ``category``, ``status``, ``capacity`` (float, in the
        category's demand unit; NaN = unknown), ``floor_area_m2`` (float, m²; NaN = unknown),
        ``source``, ``file``, ``row`` (1-based row in that file), ``lon``, ``lat`` (WGS-84
        degrees after any GCJ-02/BD-09 conversion), point geometry. ``proposed`` is empty (same
        columns) when the config names no proposed files.
    candidates : GeoDataFrame or None
        Same columns; ``category`` "" means any category. None when no candidates file.
    gates : GeoDataFrame or None
        ``id`` (str), ``compound_id`` (str, "" if not given), point geometry; None when not
        configured. Gates outside ``load_area`` are dropped.
    dropped : DataFrame
        Rows of the point files left out on purpose (district-wide lists): points outside the
        units plus the longest walk, rows of categories not in the config. Columns
        :data:`~coverage.validate.DROPPED_COLUMNS` (``file, row, id, name, category, lon, lat,
        reason``; lon/lat as written in the file). Written to ``dropped.csv``.
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
    dropped: pd.DataFrame = field(default_factory=_no_dropped)


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
    return gpd.GeoDataFrame(empty_point_table(), geometry=gpd.GeoSeries([], crs=crs), crs=crs)


@dataclass
class _Collected:
    """What loading gathers besides the layers: problems, rows left out."""

    problems: list[Problem] = field(default_factory=list)
    dropped: list[pd.DataFrame] = field(default_factory=list)


def _warn_other_categories(file: str, ignored: pd.DataFrame, config: AreaConfig) -> None:
    if not len(ignored):
        return
    choices = [*config.category_keys, *(c.label for c in config.categories)]
    parts = []
    for cat, n in sorted(Counter(ignored["category"]).items(), key=lambda kv: (-kv[1], kv[0])):
        near = closest(cat, choices, n=1, cutoff=0.8)
        parts.append(f"{cat} ({n}{f'; did you mean {near[0]}?' if near else ''})")
    log.warning("%s: %d rows of categories not in the config are left out: %s. They are listed "
                "in dropped.csv; add a [[category]] for those you need (--strict makes this an "
                "error)", file, len(ignored), ", ".join(parts))


def _warn_outside(file: str, dropped: pd.DataFrame, buffer_m: float) -> None:
    if len(dropped):
        log.warning("%s: %d points lie outside the study area (the units plus a %.0f m walk) and "
                    "are left out; they are listed in dropped.csv (--strict makes this an error)",
                    file, len(dropped), buffer_m)


def _point_file(src: PointSource, kind: str, config: AreaConfig, study_area: BaseGeometry | None,
                strict: bool, out: _Collected) -> gpd.GeoDataFrame | None:
    file = _display(src.path, config)
    table = _read(src.path, config, out.problems, layer=src.layer, sheet=src.sheet)
    if table is None:
        return None
    if len(table) == 0 and kind != "candidates":
        log.warning("%s: the file has a header but no rows: it adds no %s", file, kind)
    labels = {**{c.label_en: c.key for c in config.categories},
              **{c.label: c.key for c in config.categories}}
    layer, ps = parse_points(table, file=file, kind=kind, coords=src.coords,
                             categories=config.category_keys, labels=labels, strict=strict)
    out.problems.extend(ps)
    if layer.ignored is not None and len(layer.ignored):
        _warn_other_categories(file, layer.ignored, config)
        out.dropped.append(layer.ignored)
    gdf, ps, dropped = locate_points(layer, file=file, crs=config.crs, study_area=study_area,
                                     buffer_m=config.max_walk_m,
                                     outside="error" if strict else "warn")
    out.problems.extend(ps)
    _warn_outside(file, dropped, config.max_walk_m)
    if len(dropped):
        out.dropped.append(dropped)
    log.debug("%s: %d %s (coords %s)", file, len(gdf), kind, src.coords)
    return gdf


def _points(sources: tuple[PointSource, ...], kind: str, config: AreaConfig,
            study_area: BaseGeometry | None, strict: bool, out: _Collected) -> gpd.GeoDataFrame:
    parts = [_point_file(src, kind, config, study_area, strict, out) for src in sources]
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return _empty_points(config.crs)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=config.crs)


def _gates(path: Path, config: AreaConfig, study_area: BaseGeometry | None,
           problems: list[Problem]) -> gpd.GeoDataFrame | None:
    file = _display(path, config)
    table = _read(path, config, problems)
    if table is None:
        return None
    layer, ps = parse_points(table, file=file, kind="gates", coords="wgs84", categories=())
    problems.extend(ps)
    gdf, ps, _ = locate_points(layer, file=file, crs=config.crs, study_area=study_area,
                               buffer_m=config.max_walk_m, outside="drop")
    problems.extend(ps)
    ids = [i or f"gate{r}" for i, r in zip(gdf["id"], gdf["row"], strict=True)]
    comp = [""] * len(gdf)
    if "compound_id" in table.columns:
        texts = [cell_text(v) for v in table["compound_id"].tolist()]
        comp = [texts[int(r) - 1] for r in gdf["row"]]
    return gpd.GeoDataFrame({"id": ids, "compound_id": comp}, geometry=gdf.geometry.values,
                            crs=config.crs)


def _spatial_units(compounds: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame) -> np.ndarray:
    """The unit containing each compound's representative point ("" if none)."""
    rep = compounds.geometry.representative_point()
    x, y = rep.x.to_numpy(), rep.y.to_numpy()
    spatial = np.full(len(compounds), "", dtype=object)
    for name, geom in zip(boundaries["name"], boundaries.geometry, strict=True):
        hit = (spatial == "") & shapely.intersects_xy(geom, x, y)
        spatial[hit] = name
    return spatial


@dataclass(frozen=True)
class _Units:
    boundaries: gpd.GeoDataFrame
    study_area: BaseGeometry | None
    load_area: BaseGeometry | None
    others: frozenset[str] = frozenset()  # units of the layer not picked by [area] names
    ok: bool = True  # the boundaries were read without problems


def _unknown_units(given: np.ndarray, rows: pd.Series, units: _Units, file: str
                   ) -> list[Problem]:
    """A compound's ``unit`` must name a unit of the boundaries file."""
    if not units.ok:  # the units themselves are broken: their problems come first
        return []
    known = list(units.boundaries["name"])
    problems = []
    for g, row in zip(given, rows, strict=True):
        if g != "" and g not in known and g not in units.others:
            near = closest(str(g), known)
            problems.append(Problem(file, int(row), "unit", f"unknown unit {g!r}",
                                    f"use a name from the boundaries file"
                                    f"{' (closest: ' + ', '.join(near) + ')' if near else ''}: "
                                    f"{', '.join(known)} (or leave it empty to assign by "
                                    "location)"))
    return problems


def _where_compounds_lie(out: gpd.GeoDataFrame, study_area: BaseGeometry, buffer_m: float,
                         file: str) -> tuple[np.ndarray, list[Problem]]:
    """Compounds near the units (within ``buffer_m``), and the problem when none is in one."""
    near = within_distance(study_area, out.geometry.to_numpy(), buffer_m)
    if (~near).any():
        log.warning("%s: %d compounds lie outside the study area (units + walk buffer) and are "
                    "ignored", file, int((~near).sum()))
    if len(out) and not near.any():
        return near, [Problem(
            file, None, "geometry", f"none of the {len(out)} compounds lies in the study area",
            "check that the compounds file covers the units (right file? right CRS?)")]
    if near.any() and not out["in_area"].to_numpy(bool)[near].any():
        return near, [Problem(
            file, None, "geometry", f"none of the {int(near.sum())} compounds near the units "
            "lies inside a unit, so there is nothing to report coverage for",
            "check that the compounds file and the boundaries are of the same area")]
    return near, []


def _assign_units(compounds: gpd.GeoDataFrame, units: _Units, config: AreaConfig, file: str,
                  problems: list[Problem]) -> gpd.GeoDataFrame:
    """Fill ``unit`` from the unit containing each compound's representative point; set
    ``in_area``; drop compounds farther than the longest walk from the units.

    A compound whose ``unit`` names a unit of the layer that ``[area] names`` leaves out is
    outside the area (``unit`` "", not counted).
    """
    assert units.study_area is not None
    out = compounds.copy()
    given = out["unit"].to_numpy(dtype=object)
    problems.extend(_unknown_units(given, out["row"], units, file))
    spatial = _spatial_units(out, units.boundaries)
    elsewhere = np.isin(given, list(units.others))
    out["unit"] = np.where(elsewhere, "", np.where(given != "", given, spatial)).astype(object)
    out["in_area"] = out["unit"] != ""
    near, ps = _where_compounds_lie(out, units.study_area, config.max_walk_m, file)
    problems.extend(ps)
    out = out.loc[near].reset_index(drop=True)
    edge = int((~out["in_area"]).sum())
    if edge:
        log.warning("%s: %d compounds lie outside every unit; they are kept (unit \"\", "
                    "in_area False) but not counted in unit coverage", file, edge)
    return out


def _load_units(config: AreaConfig, problems: list[Problem]) -> _Units:
    """The unit polygons: they define the study area every other check needs."""
    crs = config.crs
    n_before = len(problems)
    table = _read(config.boundaries, config, problems, layer=config.boundaries_layer)
    boundaries = gpd.GeoDataFrame({"name": pd.Series(dtype=object)},
                                  geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    others: frozenset[str] = frozenset()
    field_ = config.name_field or "name"
    if table is not None:
        boundaries, ps = parse_boundaries(table, file=_display(config.boundaries, config),
                                          crs=crs, name_field=field_, names=config.unit_names)
        problems.extend(ps)
        if field_ in table.columns:
            others = frozenset(cell_text(v) for v in table[field_]) - set(boundaries["name"])
    ok = len(problems) == n_before
    if not len(boundaries):
        return _Units(boundaries, None, None, others, ok)
    study_area = shapely.union_all(boundaries.geometry.values)
    # every point within the longest walk of the units: a facility that far serves homes inside
    load_area = buffer_covering(study_area, config.max_walk_m)
    return _Units(boundaries, study_area, load_area, others, ok)


def _demand_columns(config: AreaConfig) -> dict[str, list[str]]:
    demand: dict[str, list[str]] = {}
    for cat in config.categories:
        demand.setdefault(cat.demand, []).append(cat.key)
    return demand


def _load_compounds(config: AreaConfig, units: _Units, problems: list[Problem]
                    ) -> gpd.GeoDataFrame | None:
    file = _display(config.compounds, config)
    table = _read(config.compounds, config, problems, layer=config.compounds_layer)
    if table is None:
        return None
    compounds, ps = parse_compounds(table, file=file, crs=config.crs,
                                    demand=_demand_columns(config))
    problems.extend(ps)
    if units.study_area is None:
        return compounds
    return _assign_units(compounds, units, config, file, problems)


def _warn_gaps(config: AreaConfig, inputs: StudyInputs) -> None:
    """Warnings about what the inputs lack: units without compounds, categories without
    facilities."""
    have = set(inputs.compounds.loc[inputs.compounds["in_area"], "unit"])
    empty = [u for u in inputs.boundaries["name"] if u not in have]
    if empty:
        log.warning("%d %s no compound: %s. They are listed in summary.csv with 0 "
                    "compounds; check the compounds file covers them", len(empty),
                    "unit holds" if len(empty) == 1 else "units hold", ", ".join(empty))
    counts = Counter(inputs.facilities["category"])
    missing = [c for c in config.categories if counts[c.key] == 0]
    for cat in missing:
        log.warning("no existing facility of category %s (%s): every compound is uncovered for "
                    "it until proposed or new sites are added", cat.key, cat.label)


def load_inputs(config: AreaConfig, *, strict: bool = False,
                progress: bool = False) -> StudyInputs:
    """Read, convert, project and validate every input file of a study area.

    Parameters
    ----------
    config : AreaConfig
        From :func:`coverage.config.load_config`.
    strict : bool
        Points outside the study area and rows of categories not in the config are errors
        (default: left out with one warning per file and listed in ``dropped``).
    progress : bool
        Show a progress bar over the layers read.

    Returns
    -------
    StudyInputs
        Everything in ``config.crs``.

    Raises
    ------
    InputError
        Listing every problem found in every file (file, row, field, problem, fix).
    """
    from tqdm.auto import tqdm

    out = _Collected()
    bar = tqdm(total=6, desc="reading inputs", unit="layer", disable=not progress)
    units = _load_units(config, out.problems)
    bar.update()
    compounds = _load_compounds(config, units, out.problems)
    bar.update()
    facilities = _points(config.facilities, "facilities", config, units.study_area, strict, out)
    bar.update()
    proposed = _points(config.proposed, "proposed", config, units.study_area, strict, out)
    bar.update()
    out.problems.extend(check_duplicate_ids([facilities, proposed]))
    candidates = None
    n_before = len(out.problems)
    if config.candidates is not None:
        candidates = _points((config.candidates,), "candidates", config, units.study_area,
                             strict, out)
        out.problems.extend(check_duplicate_ids([candidates]))
    if config.candidates is not None and len(out.problems) == n_before:  # else those first
        out.problems.extend(plan_input_problems(config, candidates,
                                                _display(config.candidates.path, config)))
    bar.update()
    gates = _gates(config.gates, config, units.study_area, out.problems) if config.gates else None
    bar.update()
    bar.close()
    if out.problems:
        raise InputError(group_problems(out.problems))
    assert compounds is not None and units.study_area is not None
    assert units.load_area is not None
    extra = [c for c in _demand_columns(config) if c not in COMPOUND_COLUMNS]
    compounds = compounds[[*COMPOUND_COLUMNS, *extra, compounds.geometry.name]]
    dropped = (pd.concat(out.dropped, ignore_index=True)[list(DROPPED_COLUMNS)] if out.dropped
               else _no_dropped())
    inputs = StudyInputs(
        config=config,
        boundaries=units.boundaries,
        study_area=units.study_area,
        load_area=units.load_area,
        compounds=compounds,
        facilities=facilities,
        proposed=proposed,
        candidates=candidates,
        gates=gates,
        dropped=dropped,
    )
    _warn_gaps(config, inputs)
    log.info("inputs: %d units, %d compounds (%d in units), %d facilities, %d proposed%s",
             len(units.boundaries), len(compounds), int(compounds["in_area"].sum()),
             len(facilities), len(proposed),
             "" if candidates is None else f", {len(candidates)} candidates")
    return inputs


# --- the whole check: inputs, network, candidates -----------------------------------------------


def load_network_for(inputs: StudyInputs) -> WalkNetwork:
    """The walk network of the units buffered by the longest walk of any category."""
    cfg = inputs.config
    return load_walk_network(cfg.network, cfg.crs, clip_to=inputs.load_area)


_ONE = {"facilities": "facility", "proposed": "planned station", "candidates": "candidate site"}


def warn_far_from_street(kind: str, layer: gpd.GeoDataFrame, snap_dist_m: np.ndarray,
                         max_snap_m: float) -> None:
    """One warning per point far from every walkable street: what, where, and what follows.

    Points beyond ``max_snap_m`` are left out of the analysis; points beyond
    :data:`~coverage.constants.FAR_FROM_STREET_M` are kept (the straight walk to the street
    counts) but are probably misplaced.
    """
    far = np.flatnonzero(np.asarray(snap_dist_m) > min(FAR_FROM_STREET_M, max_snap_m))
    for i in far:
        row = layer.iloc[int(i)]
        where = (f"{row['file']}, row {int(row['row'])}: " if "file" in layer.columns
                 else f"{kind} ")
        d = float(snap_dist_m[i])
        what = f"{_ONE.get(kind, kind)} {row['id']!r} ({row['name']})"
        if d > max_snap_m:
            log.warning("%s%s is %.0f m from the nearest walkable street, more than "
                        "walk.max_snap_m = %g m: it is left out of the analysis. Check its "
                        "coordinates, or raise max_snap_m", where, what, d, max_snap_m)
        else:
            log.warning("%s%s is %.0f m from the nearest walkable street; the straight walk to "
                        "the street counts. Check its coordinates (a point should lie on or "
                        "next to its street)", where, what, d)


@dataclass(frozen=True)
class Study:
    """A checked study area: its inputs and its street network (reuse it for the run)."""

    inputs: StudyInputs
    network: WalkNetwork


def check_study(config: AreaConfig, *, strict: bool = False,
                site_categories: Sequence[str] | None = None, generate: bool | None = None,
                check_streets: bool = False, progress: bool = False) -> Study:
    """Everything a run checks on input, in one place (``validate`` and ``run`` call this).

    Parameters
    ----------
    config : AreaConfig
    strict : bool
        See :func:`load_inputs`.
    site_categories : sequence of str, optional
        Categories siting will choose new sites for (default: those with ``new_sites > 0``).
    generate : bool, optional
        Candidates will be generated (default: ``[candidates] generate``).
    check_streets : bool
        Also warn about facilities, proposed stations and candidates far from every street
        (the run does this itself when it attaches them to the network).
    progress : bool
        Show a progress bar while the inputs are read.

    Returns
    -------
    Study

    Raises
    ------
    InputError
        Bad input files, a network file that cannot be read or has no walkable street in the
        area, or new sites asked for without candidate sites.
    """
    inputs = load_inputs(config, strict=strict, progress=progress)
    network = load_network_for(inputs)
    keys = (list(site_categories) if site_categories is not None
            else [c.key for c in config.categories if c.new_sites > 0])
    problems = candidate_problems(
        str(config.source), inputs.candidates, keys,
        generate=config.generate_candidates if generate is None else generate)
    if problems:
        raise InputError(problems)
    if check_streets:
        for kind in ("facilities", "proposed", "candidates"):
            layer = getattr(inputs, kind)
            if layer is not None and len(layer):
                snap = snap_points(network, shapely.get_coordinates(layer.geometry.to_numpy()))
                warn_far_from_street(kind, layer, snap.off_m, config.max_snap_m)
    return Study(inputs, network)


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
    if len(inputs.dropped):
        lines.append(f"left out on purpose (dropped.csv): {len(inputs.dropped)} rows")
    return "\n".join(lines) + "\n"
