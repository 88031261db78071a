"""The joint-plan stage: candidate spaces and existing facilities -> walking reach -> the joint
plan, each category's independent plan, and the tables a planner reads.

Walking reach reuses the engine through :func:`coverage.planning.compound_distance_matrix` (the
same candidate sites as :func:`coverage.planning.select_sites`, the compounds' access points of
the coverage stage), so walking distance has one implementation. The optimisation is in
:mod:`coverage.jointplan.solve`.

Rules (in the planner's terms)
------------------------------
* A space may host a category when it is on the walk network, its ``category`` is empty or
  that category, and its ``floor_area_m2`` is at least the category's ``min_floor_area_m2``
  (a space of unknown floor area hosts only categories without a minimum).
* Capacity of a facility (in the category's demand unit): its own ``capacity`` (file column),
  else the category's ``capacity``, else unlimited. The same rule for existing facilities and
  new ones; ``capacity_source`` in ``utilisation.csv`` says which applied.
* Only compounds inside the units count (as in siting): a facility near the edge also serves
  people beyond, so its real load can be higher than reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..access import snap_points
from ..config import AreaConfig, Category, PlanConfig, plan_problems
from ..errors import InputError, Problem
from ..metrics import within_walk
from ..pipeline import CoverageResult
from ..planning import SCENARIO_COLUMNS, candidate_sites, compound_distance_matrix, scenario_row
from .records import Assignment, JointOutcome, PlanCategory
from .solve import OutcomeCache, double_booked, solve_independent
from .solve import solve_joint as _solve_joint

__all__ = [
    "PLAN_COLUMNS",
    "SERVED_COLUMNS",
    "UTILISATION_COLUMNS",
    "PlanOutcome",
    "plan_joint",
    "planned_categories",
]

log = logging.getLogger(__name__)

PLAN_COLUMNS = ["method", "category", "rank", "space_id", "name", "unit", "floor_area_m2",
                "capacity", "demand_served", "gain", "double_booked", "lon", "lat"]
UTILISATION_COLUMNS = ["scenario", "category", "facility_id", "name", "kind", "unit",
                       "capacity", "capacity_source", "load", "utilisation_pct",
                       "nearest_demand", "nearest_pct", "over_capacity"]
SERVED_COLUMNS = ["unit", "category", "scenario", "compounds", "demand", "demand_covered",
                  "demand_served", "demand_unserved", "served_pct"]
JOINT = "joint_plan"
INDEPENDENT = "independent_plan"


@dataclass(frozen=True)
class PlanOutcome:
    """The joint-plan stage's results.

    Attributes
    ----------
    categories : tuple of Category
        The planned categories, in config order.
    spaces : GeoDataFrame
        Every candidate space (area CRS) with ``unit`` and ``eligible_<key>`` per category.
    joint, independent : JointOutcome
        The joint plan and each category planned alone (indices are rows of ``spaces``).
    plan : DataFrame
        ``plan.csv``: one row per new facility of either plan (``method``).
    utilisation : DataFrame
        ``utilisation.csv``: each facility's capacity and load, existing and with the plan.
    served : DataFrame
        ``served.csv``: demand covered, served and unserved per unit, category and scenario.
    scenarios : DataFrame
        Rows for ``scenarios.csv`` (columns of :data:`coverage.planning.SCENARIO_COLUMNS` and
        ``demand_served``).
    sites : GeoDataFrame
        The rows of ``plan`` as points (layer ``plan_sites``, area CRS).
    capacitated : bool
        True when some facility of a planned category has a finite capacity (coverage then
        means being served).
    """

    categories: tuple[Category, ...]
    spaces: gpd.GeoDataFrame
    joint: JointOutcome
    independent: JointOutcome
    plan: pd.DataFrame
    utilisation: pd.DataFrame
    served: pd.DataFrame
    scenarios: pd.DataFrame
    sites: gpd.GeoDataFrame
    capacitated: bool = False


    @property
    def gap(self) -> float:
        """Weighted served demand the independent answers claim beyond the joint plan (>= 0)."""
        return float(self.independent.objective - self.joint.objective)

    def double_booked(self) -> dict[str, list[str]]:
        """Space id -> categories the independent answers put into it (two or more)."""
        ids = self.spaces["id"].astype(str).to_numpy()
        return {str(ids[i]): keys for i, keys in double_booked(self.independent).items()}


def planned_categories(cfg: AreaConfig, keys: tuple[str, ...] | list[str] = ()) -> list[Category]:
    """The categories to plan: ``keys`` or, if empty, every one with ``new_sites > 0``.

    Raises
    ------
    InputError
        Unknown key, nothing to plan, a planned category with no new sites or weight 0.
    """
    keys = list(keys) or [c.key for c in cfg.categories if c.new_sites > 0]
    unknown = [k for k in keys if k not in cfg.category_keys]
    if unknown:
        raise InputError(Problem(str(cfg.source), None, "plan.categories",
                                 f"unknown category {', '.join(unknown)}",
                                 f"use one of: {', '.join(cfg.category_keys)}"))
    problems = plan_problems(cfg.categories, keys, str(cfg.source))
    if problems:
        raise InputError(problems)
    order = {k: i for i, k in enumerate(cfg.category_keys)}
    return [cfg.category(k) for k in sorted(set(keys), key=order.__getitem__)]


# --- inputs of the model ------------------------------------------------------------------------


def _column(layer: pd.DataFrame, name: str) -> np.ndarray:
    """A numeric column as float (NaN where unknown or when the layer has no such column)."""
    if name not in layer.columns:
        return np.full(len(layer), np.nan)
    return pd.to_numeric(layer[name], errors="coerce").to_numpy(dtype=float)


def eligible_spaces(spaces: pd.DataFrame, cat: Category) -> np.ndarray:
    """Which spaces may host a new facility of ``cat`` (bool per row)."""
    kind = spaces["category"].fillna("").astype(str).to_numpy()
    ok = ((kind == "") | (kind == cat.key)) & ~spaces["off_network"].to_numpy(bool)
    if cat.min_floor_area_m2 > 0:
        with np.errstate(invalid="ignore"):
            ok &= _column(spaces, "floor_area_m2") >= cat.min_floor_area_m2
    return ok


def capacities(layer: pd.DataFrame, cat: Category) -> tuple[np.ndarray, np.ndarray]:
    """Capacity of each facility of ``cat`` in ``layer`` and where it comes from.

    Returns
    -------
    capacity : ndarray of float
        The row's own capacity, else the category's, else ``inf`` (demand unit).
    source : ndarray of str
        ``"file"``, ``"category"`` or ``""`` (unlimited).
    """
    own = _column(layer, "capacity")
    has = np.isfinite(own)
    cap = np.where(has, own, np.inf if cat.capacity is None else float(cat.capacity))
    source = np.where(has, "file", "" if cat.capacity is None else "category")
    return cap, source


def _within(dist: sp.csr_matrix, limit_m: float) -> sp.csr_array:
    """Distances within ``limit_m`` (stored entries; a 0 m distance stays stored)."""
    coo = sp.coo_array(dist)
    keep = within_walk(coo.data, limit_m)  # the coverage rule of the coverage stage
    return sp.csr_array((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=coo.shape)


def _existing(result: CoverageResult, cat: Category, given_proposed: bool) -> gpd.GeoDataFrame:
    layers = [result.facilities] + ([result.proposed] if given_proposed else [])
    parts = [lay[(lay["category"] == cat.key).to_numpy() & ~lay["off_network"].to_numpy(bool)]
             for lay in layers]
    parts = [p.assign(kind="existing" if p is parts[0] else "proposed") for p in parts]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=result.config.crs)


@dataclass(frozen=True)
class _Reach:
    """Distances from candidate spaces to the compounds inside the units (m, longest walk)."""

    result: CoverageResult
    spaces: sp.csr_matrix
    in_area: np.ndarray

    def of(self, points: gpd.GeoDataFrame, limit_m: float) -> sp.csr_array:
        """Distances (m) from ``points`` to the compounds within ``limit_m``."""
        import shapely

        net, access = self.result.network, self.result.access
        snap = snap_points(net, shapely.get_coordinates(points.geometry.to_numpy()))
        n_all = len(self.result.inputs.compounds)
        dist = compound_distance_matrix(net, snap, access.compound, access.snap, n_all, limit_m)
        return _within(dist[:, self.in_area], limit_m)


@dataclass(frozen=True)
class _Planned:
    """One planned category: its model and the facilities behind the model's rows."""

    cat: Category
    model: PlanCategory
    old: gpd.GeoDataFrame  # existing facilities: rows of reach_old, with capacity(_source)
    source_new: np.ndarray  # capacity source of a new facility in each space


def _planned(result: CoverageResult, spaces: gpd.GeoDataFrame, reach: _Reach, cat: Category,
             given_proposed: bool) -> _Planned:
    old = _existing(result, cat, given_proposed)
    cap_new, source_new = capacities(spaces, cat)
    cap_old, source_old = capacities(old, cat)
    old = old.assign(capacity=cap_old, capacity_source=source_old,
                     unit=_units_of(old, result.inputs.boundaries))
    model = PlanCategory(
        key=cat.key,
        reach_new=_within(reach.spaces, cat.walk_m),
        reach_old=reach.of(old, cat.walk_m),
        demand=result.compounds[cat.demand].fillna(0).to_numpy(dtype=float),
        k=cat.new_sites,
        eligible=eligible_spaces(spaces, cat),
        capacity_new=cap_new,
        capacity_old=cap_old,
        weight=cat.weight,
    )
    return _Planned(cat, model, old, source_new)


def _units_of(points: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame) -> np.ndarray:
    """Name of the unit holding each point ("" outside every unit; first unit on a border)."""
    out = np.full(len(points), "", dtype=object)
    if len(points) == 0:
        return out
    pt, poly = boundaries.sindex.query(points.geometry.to_numpy(), predicate="intersects")
    order = np.lexsort((poly, pt))
    pt, poly = pt[order], poly[order]
    first = np.unique(pt, return_index=True)[1]
    out[pt[first]] = boundaries["name"].astype(str).to_numpy()[poly[first]]
    return out


# --- tables --------------------------------------------------------------------------------------


def _shown(capacity: Any) -> Any:
    """A capacity as the tables show it: unlimited (inf) is empty (NaN)."""
    return np.where(np.isfinite(capacity), capacity, np.nan)[()]


def _pct(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(whole) & (whole > 0), np.round(100.0 * part / whole, 2),
                        np.nan)


def _plan_rows(method: str, plan: JointOutcome, spaces: gpd.GeoDataFrame,
               planned: list[_Planned]) -> list[dict[str, object]]:
    booked = double_booked(plan)
    floor = _column(spaces, "floor_area_m2")
    rows: list[dict[str, object]] = []
    for p in planned:
        out = plan.categories[p.cat.key]
        loads = out.plan.load_new[np.searchsorted(out.plan.open_new, out.selected)]
        for rank, (i, gain, load) in enumerate(zip(out.selected.tolist(), out.gains, loads,
                                                   strict=True), 1):
            s = spaces.iloc[i]
            rows.append({
                "method": method, "category": p.cat.key, "rank": rank, "space_id": s["id"],
                "name": s["name"], "unit": s["unit"], "floor_area_m2": floor[i],
                "capacity": _shown(p.model.capacity_new[i]),
                "demand_served": round(float(load), 1),
                "gain": round(float(gain), 1), "double_booked": i in booked,
                "lon": s["lon"], "lat": s["lat"], "geometry": s.geometry,
            })
    return rows


def _utilisation(scenario: str, p: _Planned, a: Assignment,
                 spaces: gpd.GeoDataFrame) -> pd.DataFrame:
    new = spaces.iloc[a.open_new]
    cap = np.concatenate([p.model.capacity_old, p.model.capacity_new[a.open_new]])
    load = np.concatenate([a.load_old, a.load_new])
    nearest = np.concatenate([a.nearest_old, a.nearest_new])
    return pd.DataFrame({
        "scenario": scenario, "category": p.cat.key,
        "facility_id": [*p.old["id"].astype(str), *new["id"].astype(str)],
        "name": [*p.old["name"], *new["name"]],
        "kind": [*p.old["kind"], *["new"] * len(new)],
        "unit": [*p.old["unit"], *new["unit"]],
        "capacity": _shown(cap), "capacity_source": [*p.old["capacity_source"],
                                             *p.source_new[a.open_new]],
        "load": np.round(load, 1), "utilisation_pct": _pct(load, cap),
        "nearest_demand": np.round(nearest, 1), "nearest_pct": _pct(nearest, cap),
        "over_capacity": np.isfinite(cap) & (nearest > cap + 1e-9),
    }, columns=UTILISATION_COLUMNS)


def _served_rows(scenario: str, cat: Category, a: Assignment,
                 compounds: pd.DataFrame) -> list[dict[str, object]]:
    demand = compounds[cat.demand].fillna(0).to_numpy(dtype=float)
    unit = compounds["unit"].astype(str).to_numpy()
    rows: list[dict[str, object]] = []
    for name in [*sorted(set(unit)), "ALL"]:
        sel = np.ones(len(unit), bool) if name == "ALL" else unit == name
        total, served = float(demand[sel].sum()), float(a.served[sel].sum())
        rows.append({
            "unit": name, "category": cat.key, "scenario": scenario,
            "compounds": int(sel.sum()), "demand": round(total),
            "demand_covered": round(float(demand[sel & a.covered].sum())),
            "demand_served": round(served, 1), "demand_unserved": round(total - served, 1),
            "served_pct": round(100.0 * served / total, 2) if total > 0 else np.nan,
        })
    return rows


def _scenario_rows(p: _Planned, joint: JointOutcome, independent: JointOutcome,
                   compounds: pd.DataFrame) -> list[dict[str, object]]:
    demand = compounds[p.cat.demand].fillna(0).to_numpy(dtype=float)
    rows = []
    base = joint.categories[p.cat.key].base
    scenarios = (("existing", base), (JOINT, joint.categories[p.cat.key].plan),
                 (INDEPENDENT, independent.categories[p.cat.key].plan))
    for name, a in scenarios:
        row = scenario_row(p.cat, name, len(a.open_new), a.covered, demand)
        row["demand_served"] = round(a.served_total, 1)
        rows.append(row)
    return rows


def scenario_table(siting: pd.DataFrame | None, plan: PlanOutcome,
                   cfg: AreaConfig) -> pd.DataFrame:
    """``scenarios.csv``: siting's rows and the plan's, grouped by category in config order.

    The plan adds ``joint_plan`` and ``independent_plan`` rows and a ``demand_served`` column
    (demand served within the capacities; empty where the plan did not compute it). Siting's
    ``existing`` rows get their served demand; they equal the plan's in every other column.
    """
    cols = [*SCENARIO_COLUMNS, "demand_served"]
    ours = plan.scenarios.set_index(["category", "scenario"])["demand_served"]
    if siting is None:
        table = plan.scenarios[cols]
    else:
        keys = pd.MultiIndex.from_frame(siting[["category", "scenario"]])
        old = siting.assign(demand_served=ours.reindex(keys).to_numpy())
        new = plan.scenarios[~pd.MultiIndex.from_frame(plan.scenarios[["category", "scenario"]])
                             .isin(keys)]
        table = pd.concat([old[cols], new[cols]], ignore_index=True)
    order = {k: i for i, k in enumerate(cfg.category_keys)}
    table = table.assign(_c=table["category"].map(order), _n=np.arange(len(table)))
    return table.sort_values(["_c", "_n"]).drop(columns=["_c", "_n"]).reset_index(drop=True)


# --- the stage -----------------------------------------------------------------------------------


def plan_joint(result: CoverageResult, settings: PlanConfig | None = None, *,
               progress: bool = False) -> PlanOutcome:
    """Plan every planned category at once on the candidate spaces, with capacities.

    Parameters
    ----------
    result : CoverageResult
        The coverage stage's result (network, access points).
    settings : PlanConfig, optional
        What to plan (default: the config's ``[plan]`` table, or every category with
        ``new_sites > 0``).
    progress : bool
        Show progress bars for the walking distances.

    Raises
    ------
    InputError
        Unknown category, nothing to plan, no candidate spaces.
    """
    cfg = result.config
    settings = settings or cfg.plan or PlanConfig()
    cats = planned_categories(cfg, settings.categories)
    spaces, snap = candidate_sites(result, cats, given_proposed=settings.given_proposed)
    spaces = spaces.assign(unit=_units_of(spaces, result.inputs.boundaries))
    in_area = np.flatnonzero(result.inputs.compounds["in_area"].to_numpy(bool))
    n_all = len(result.inputs.compounds)
    dist = compound_distance_matrix(result.network, snap, result.access.compound,
                                    result.access.snap, n_all, max(c.walk_m for c in cats),
                                    progress=progress)
    reach = _Reach(result, dist[:, in_area].tocsr(), in_area)
    planned = [_planned(result, spaces, reach, c, settings.given_proposed) for c in cats]
    for p in planned:
        n_ok = int(p.model.eligible.sum())
        log.info("%s: %d of %d candidate spaces may host it", p.cat.key, n_ok, len(spaces))
        if n_ok == 0:
            log.warning("%s: no candidate space may host it (on the network, its category, "
                        "floor area >= %g m2): no new facility placed", p.cat.key,
                        p.cat.min_floor_area_m2)
    models = [p.model for p in planned]
    cache = OutcomeCache()  # the two plans share assignments where they agree
    joint = _solve_joint(models, time_limit_s=settings.time_limit_s, cache=cache)
    independent = solve_independent(models, time_limit_s=settings.time_limit_s, cache=cache)
    for p in planned:
        spaces[f"eligible_{p.cat.key}"] = p.model.eligible
    return _outcome(result, spaces, planned, joint, independent)


def _outcome(result: CoverageResult, spaces: gpd.GeoDataFrame, planned: list[_Planned],
             joint: JointOutcome, independent: JointOutcome) -> PlanOutcome:
    comp = result.compounds
    rows = (_plan_rows(JOINT, joint, spaces, planned)
            + _plan_rows(INDEPENDENT, independent, spaces, planned))
    sites = gpd.GeoDataFrame(pd.DataFrame(rows, columns=[*PLAN_COLUMNS, "geometry"]),
                             geometry="geometry", crs=result.config.crs)
    util = [_utilisation(name, p, a, spaces) for p in planned
            for name, a in (("existing", joint.categories[p.cat.key].base),
                            (JOINT, joint.categories[p.cat.key].plan))]
    served = [r for p in planned for name, a in (
        ("existing", joint.categories[p.cat.key].base), (JOINT, joint.categories[p.cat.key].plan))
        for r in _served_rows(name, p.cat, a, comp)]
    scen = [r for p in planned for r in _scenario_rows(p, joint, independent, comp)]
    out = PlanOutcome(
        categories=tuple(p.cat for p in planned), spaces=spaces, joint=joint,
        independent=independent, plan=pd.DataFrame(sites.drop(columns="geometry")),
        utilisation=pd.concat(util, ignore_index=True),
        served=pd.DataFrame(served, columns=SERVED_COLUMNS),
        scenarios=pd.DataFrame(scen, columns=[*SCENARIO_COLUMNS, "demand_served"]),
        sites=sites, capacitated=any(p.model.capacitated for p in planned),
    )
    log.info("joint plan: %s; weighted +%.0f served (independent answers +%.0f, %d spaces "
             "double-booked)", ", ".join(f"{p.cat.key} {len(joint.categories[p.cat.key].selected)}"
                                         for p in planned),
             joint.objective, independent.objective, len(out.double_booked()))
    return out
