"""The siting stage: candidate sites -> network coverage matrix -> ranked and optimal new sites.

The coverage matrix reuses the engine (:func:`coverage.reach.pairwise_distances`) and the
compounds' access points from the coverage stage, so walking distance has one implementation.
The optimisation itself is in :mod:`coverage.siting`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from tqdm.auto import tqdm

from .access import Snapped, snap_layer
from .config import Category
from .constants import DIST_TOL_M
from .errors import InputError, Problem
from .network import WalkNetwork
from .pipeline import CoverageResult
from .reach import pairwise_distances
from .siting import RANKING_COLUMNS, SitingPlan, plan_sites, ranking_table
from .validate import candidate_problems

__all__ = [
    "SitingOutcome",
    "candidate_sites",
    "compound_distance_matrix",
    "generate_candidates",
    "scenario_row",
    "select_sites",
]

log = logging.getLogger(__name__)

SCENARIO_COLUMNS = ["category", "scenario", "sites_added", "demand_covered", "coverage_pct",
                    "compounds_uncovered"]


@dataclass
class SitingOutcome:
    """Results of the siting stage.

    Attributes
    ----------
    candidates : GeoDataFrame
        All candidate sites considered (file and generated), with snap information.
    plans : dict of category key -> SitingPlan
    sites : DataFrame
        Rows of ``sites.csv`` (ranking, optimal and set-cover selections).
    scenarios : DataFrame
        Rows of ``scenarios.csv``.
    selected_sites : GeoDataFrame
        The selected sites as points (layer ``selected_sites``).
    """

    candidates: gpd.GeoDataFrame
    plans: dict[str, SitingPlan]
    sites: pd.DataFrame
    scenarios: pd.DataFrame
    selected_sites: gpd.GeoDataFrame


def generate_candidates(net: WalkNetwork, areas: np.ndarray, spacing_m: float, *, crs: str,
                        start: int = 1) -> gpd.GeoDataFrame:
    """Candidate points on walkable streets in or along the given (uncovered) areas.

    Points are laid every ``spacing_m / 4`` along the main network's edges that touch the
    areas, then thinned greedily (in a fixed order) so that no two are closer than
    ``spacing_m``.

    Parameters
    ----------
    net : WalkNetwork
    areas : array of polygons
        Uncovered compounds, in ``crs``.
    spacing_m : float
        Minimum distance between generated candidates (m).
    """
    cols = ["id", "name", "category", "status", "source", "geometry"]
    if len(areas) == 0:
        return gpd.GeoDataFrame({c: [] for c in cols[:-1]}, geometry=[], crs=crs)
    zone = shapely.union_all(shapely.buffer(np.asarray(areas, dtype=object), 15.0))
    edges = net.edge_tree.query(zone, predicate="intersects")
    edges = np.sort(edges[net.component[net.edge_u[edges]] == net.main_component])
    step = spacing_m / 4.0
    pts = []
    for e in edges:
        length = net.edge_length_m[e]
        n = max(int(length // step), 1)
        t = (np.arange(n) + 0.5) / n
        a, b = net.node_xy[net.edge_u[e]], net.node_xy[net.edge_v[e]]
        pts.append(a + (b - a) * t[:, None])
    if not pts:
        return gpd.GeoDataFrame({c: [] for c in cols[:-1]}, geometry=[], crs=crs)
    xy = np.concatenate(pts)
    xy = xy[shapely.contains_xy(zone, xy[:, 0], xy[:, 1])]
    from scipy.spatial import cKDTree  # only for generated candidates: a slow import

    tree = cKDTree(xy)
    taken = np.zeros(len(xy), bool)
    blocked = np.zeros(len(xy), bool)
    for i in range(len(xy)):
        if blocked[i]:
            continue
        taken[i] = True
        blocked[tree.query_ball_point(xy[i], spacing_m - 1e-9)] = True
    xy = xy[taken]
    ids = [f"GEN-{i:04d}" for i in range(start, start + len(xy))]
    return gpd.GeoDataFrame(
        {"id": ids, "name": [f"生成候选点 {i[4:]}" for i in ids], "category": "",
         "status": "candidate", "source": "generated"},
        geometry=shapely.points(xy), crs=crs,
    )


def compound_distance_matrix(
    net: WalkNetwork, sources: Snapped, access_compound: np.ndarray, access: Snapped,
    n_compounds: int, cutoff_m: float, *, progress: bool = False,
) -> sp.csr_matrix:
    """Walking distance from each source to each compound (minimum over its access points).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_sources, n_compounds)
        Metres, for pairs within ``cutoff_m``; test membership with the sparsity pattern.
    """
    batch = 256
    parts = []
    starts = range(0, len(sources), batch)
    for start in tqdm(starts, desc="candidate reach", disable=not progress, unit="batch"):
        idx = np.arange(start, min(start + batch, len(sources)))
        d = pairwise_distances(net, sources.take(idx), access, cutoff_m).tocoo()
        key = (d.row.astype(np.int64) + start) * n_compounds + access_compound[d.col]
        order = np.lexsort((d.data, key))
        key, vals = key[order], d.data[order]
        first = np.unique(key, return_index=True)[1]
        parts.append((key[first], vals[first]))
    if not parts:
        return sp.csr_matrix((len(sources), n_compounds))
    keys = np.concatenate([p[0] for p in parts])
    vals = np.concatenate([p[1] for p in parts])
    return sp.csr_matrix((vals, (keys // n_compounds, keys % n_compounds)),
                         shape=(len(sources), n_compounds))


def _category_candidates(candidates: gpd.GeoDataFrame, key: str) -> np.ndarray:
    cat = candidates["category"].fillna("").astype(str).to_numpy()
    usable = ~candidates["off_network"].to_numpy(bool)
    return np.flatnonzero(((cat == "") | (cat == key)) & usable)


def scenario_row(cat: Category, scenario: str, sites: int, covered: np.ndarray,
                 demand: np.ndarray) -> dict[str, object]:
    """One row of ``scenarios.csv``: demand covered (within the walk) in one scenario."""
    total = float(demand.sum())
    got = float(demand[covered].sum())
    return {
        "category": cat.key, "scenario": scenario, "sites_added": sites,
        "demand_covered": round(got, 1),
        "coverage_pct": round(100.0 * got / total, 2) if total > 0 else np.nan,
        "compounds_uncovered": int((~covered).sum()),
    }


def candidate_sites(result: CoverageResult, cats: list[Category], *,
                    generate: bool | None = None, given_proposed: bool = False,
                    ) -> tuple[gpd.GeoDataFrame, Snapped]:
    """Every candidate site for new facilities of ``cats``, attached to the network.

    The ``[candidates]`` file's sites, then (with ``generate``, default the config's
    ``[candidates] generate``) sites generated on the streets of compounds not covered for
    some category of ``cats`` (``given_proposed``: not even with the planned stations).

    Returns
    -------
    candidates : GeoDataFrame
        ``id, name, category, status, source``, ``capacity`` and ``floor_area_m2`` when the
        file has them, ``lon, lat`` (WGS-84, 6 decimals) and the columns of
        :func:`~coverage.access.snap_layer`; in the area CRS.
    snapped : Snapped
        Their attachments to the network (off-network ones included).

    Raises
    ------
    InputError
        If ``cats`` is not empty and there is no candidate site.
    """
    cfg = result.config
    comp = result.compounds
    crs = cfg.crs
    suffix = "_with_proposed" if given_proposed else ""
    parts = []
    if result.inputs.candidates is not None and len(result.inputs.candidates):
        parts.append(result.inputs.candidates)  # `source` is "file" unless the file says
    if generate if generate is not None else cfg.generate_candidates:
        uncovered = np.zeros(len(comp), bool)
        for cat in cats:
            uncovered |= ~comp[f"covered_{cat.key}{suffix}"].to_numpy(bool)
        gen = generate_candidates(result.network, comp.geometry.to_numpy()[uncovered],
                                  cfg.candidate_spacing_m, crs=crs)
        log.info("generated %d candidate sites in uncovered areas", len(gen))
        parts.append(gen)
    cand_cols = ["id", "name", "category", "status", "source", "capacity", "floor_area_m2",
                 "geometry"]
    if parts:
        candidates = gpd.GeoDataFrame(
            pd.concat([p[[c for c in cand_cols if c in p.columns]] for p in parts],
                      ignore_index=True), geometry="geometry", crs=crs)
    else:
        candidates = gpd.GeoDataFrame({c: [] for c in cand_cols[:5]}, geometry=[], crs=crs)
    problems = candidate_problems(str(cfg.source), candidates, [c.key for c in cats],
                                  generate=False)  # generated sites are in `candidates` now
    if problems:
        raise InputError(problems)
    lonlat = candidates.geometry.to_crs(4326)
    candidates["lon"] = np.round(lonlat.x.to_numpy(), 6)
    candidates["lat"] = np.round(lonlat.y.to_numpy(), 6)
    return snap_layer(result.network, candidates, cfg.max_snap_m)


def select_sites(
    result: CoverageResult,
    *,
    categories: list[str] | None = None,
    k: int | None = None,
    generate: bool | None = None,
    given_proposed: bool = False,
    progress: bool = False,
) -> SitingOutcome:
    """Rank candidate sites and choose new ones for each category that asks for them.

    Parameters
    ----------
    result : CoverageResult
        The coverage stage's result (network, access points, coverage flags).
    categories : list of str, optional
        Category keys to site (default: those with ``new_sites > 0``).
    k : int, optional
        New sites per category (default: the category's ``new_sites``).
    generate : bool, optional
        Also generate candidates on the network in uncovered areas (default: the config's
        ``[candidates] generate``).
    given_proposed : bool
        Treat the planned (``[[proposed]]``) stations as already built.

    Raises
    ------
    InputError
        If new sites are asked for but there are no candidate sites, or a key is unknown.
    """
    cfg = result.config
    keys = categories or [c.key for c in cfg.categories if c.new_sites > 0]
    unknown = [key for key in keys if key not in cfg.category_keys]
    if unknown:
        raise InputError(Problem(str(cfg.source), None, "category",
                                 f"unknown category {', '.join(unknown)}",
                                 f"use one of: {', '.join(cfg.category_keys)}"))
    cats = [cfg.category(key) for key in keys]
    suffix = "_with_proposed" if given_proposed else ""
    comp = result.compounds
    candidates, cand_snap = candidate_sites(result, cats, generate=generate,
                                            given_proposed=given_proposed)

    # Distances once, to the longest walk of the categories sited; thresholds per category.
    all_comp = result.inputs.compounds.reset_index(drop=True)
    in_area = np.flatnonzero(all_comp["in_area"].to_numpy(bool))
    cutoff = max((c.walk_m for c in cats), default=0.0)
    dist = compound_distance_matrix(
        result.network, cand_snap, result.access.compound, result.access.snap, len(all_comp),
        cutoff, progress=progress,
    )[:, in_area].tocsr()

    plans: dict[str, SitingPlan] = {}
    site_tables = []
    scen_rows = []
    selected_rows = []
    for cat in cats:
        rows = _category_candidates(candidates, cat.key)
        within = dist[rows].copy()
        within.data = (within.data <= cat.walk_m + DIST_TOL_M).astype(float)
        within.eliminate_zeros()
        cover = within.astype(bool).tocsr()
        demand = comp[cat.demand].fillna(0).to_numpy(float)
        base = comp[f"covered_{cat.key}{suffix}"].to_numpy(bool)
        n_new = k if k is not None else cat.new_sites
        plan = plan_sites(cover, demand, base, n_new)
        plans[cat.key] = plan
        table_src = candidates.iloc[rows].reset_index(drop=True)
        for res in (plan.ranking, plan.optimal, *plan.set_cover.values()):
            t = ranking_table(res, table_src, cat.key)
            if res.method == "set_cover":
                t["method"] = f"set_cover_{round(100 * (res.target_share or 0))}"
            site_tables.append(t)
        existing = comp[f"covered_{cat.key}"].to_numpy(bool)
        with_prop = comp[f"covered_{cat.key}_with_proposed"].to_numpy(bool)
        n_prop = int(((result.proposed["category"] == cat.key)
                      & ~result.proposed["off_network"]).sum())
        scen_rows.append(scenario_row(cat, "existing", 0, existing, demand))
        scen_rows.append(scenario_row(cat, "with_proposed", n_prop, with_prop, demand))
        for label, res in (("optimal", plan.optimal), ("greedy", plan.greedy)):
            chosen = res.selected
            cov = base | np.asarray(cover[chosen].sum(axis=0)).ravel().astype(bool)
            scen_rows.append(scenario_row(
                cat, f"{'with_proposed_' if given_proposed else ''}{label}_{n_new}",
                len(chosen), cov, demand))
        for res in (plan.optimal, plan.greedy):
            for rank, i in enumerate(res.selected, start=1):
                row = table_src.iloc[int(i)]
                selected_rows.append({
                    "rank": rank, "candidate_id": row["id"], "name": row["name"],
                    "category": cat.key, "method": res.method,
                    "gain_demand": float(res.gains[rank - 1]), "geometry": row.geometry,
                })
        log.info("%s: optimal %d sites +%.0f %s (greedy gap %.0f)", cat.key,
                 plan.optimal.n_sites, plan.optimal.demand_gained, cat.demand, plan.greedy_gap)
    sites = (pd.concat(site_tables, ignore_index=True) if site_tables
             else pd.DataFrame(columns=list(RANKING_COLUMNS)))
    sel_cols = ["rank", "candidate_id", "name", "category", "method", "gain_demand", "geometry"]
    selected = gpd.GeoDataFrame(pd.DataFrame(selected_rows, columns=sel_cols),
                                geometry="geometry", crs=cfg.crs)
    return SitingOutcome(candidates=candidates, plans=plans, sites=sites,
                         scenarios=pd.DataFrame(scen_rows, columns=SCENARIO_COLUMNS),
                         selected_sites=selected)
