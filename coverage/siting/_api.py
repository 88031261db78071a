"""Siting's public functions: greedy ranking, exact best k sites, set covers, the plan and its
table (see :mod:`coverage.siting` for the words used)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import SolverError
from ._exact import Exact, worst
from ._problem import (
    RANKING_COLUMNS,
    SitingPlan,
    SitingResult,
    _prepare,
    _Problem,
    _require_candidates,
)

log = logging.getLogger("coverage.siting")

def _result(
    p: _Problem,
    method: str,
    selected: Sequence[int] | np.ndarray,
    gains: Sequence[float] | np.ndarray,
    status: str,
    objective: float | None,
    t0: float,
    **extra: Any,
) -> SitingResult:
    gains_arr = np.asarray(gains, dtype=np.float64)
    return SitingResult(
        method=method,
        selected=np.asarray(selected, dtype=np.intp),
        gains=gains_arr,
        demand_covered=p.demand_base + float(gains_arr.sum()),
        demand_total=p.demand_total,
        demand_base=p.demand_base,
        demand_reachable=p.demand_reachable,
        status=status,
        objective=objective,
        solve_s=time.perf_counter() - t0,
        **extra,
    )


# --- greedy ------------------------------------------------------------------------------------


def _greedy(A: sp.csr_array, w: np.ndarray, k: int, tol: float) -> tuple[list[int], list[float]]:
    """Greedy max-coverage on ``A`` (float 0/1 CSR) with weights ``w``.

    Gains are updated incrementally through the CSC form: opening site ``i`` subtracts, from
    every candidate, the weight of the columns ``i`` newly covers. Near-ties (within ``tol``)
    are settled on exactly recomputed gains, lowest index first, so the result does not depend
    on floating-point update order.
    """
    n = A.shape[0]
    if n == 0 or k <= 0:
        return [], []
    w = w.astype(np.float64, copy=True)
    csc = A.tocsc()
    gains = A @ w
    open_ = np.zeros(n, dtype=bool)
    indptr, indices = A.indptr, A.indices
    selected: list[int] = []
    gain_list: list[float] = []
    while len(selected) < k:
        masked = np.where(open_, -np.inf, gains)
        best = float(masked.max())
        if not best > tol:
            break
        near = np.flatnonzero(masked >= best - 2 * tol)
        if len(near) > 1:
            exact = A[near] @ w
            i = int(near[np.flatnonzero(exact >= exact.max() - tol)[0]])
        else:
            i = int(near[0])
        cols = indices[indptr[i] : indptr[i + 1]]
        new_cols = cols[w[cols] > 0]
        gain = float(w[new_cols].sum())
        if not gain > tol:  # stale incremental value; exact gain is zero
            gains[i] = 0.0
            continue
        selected.append(i)
        gain_list.append(gain)
        open_[i] = True
        gains -= csc[:, new_cols] @ w[new_cols]
        w[new_cols] = 0.0
    return selected, gain_list


def greedy_ranking(cover: Any, demand: Any, covered: Any, k: int | None = None) -> SitingResult:
    """Rank candidate sites by the uncovered demand each adds, greedily.

    Parameters
    ----------
    cover : scipy.sparse matrix or array of bool, shape (n_candidates, n_compounds)
        True where candidate ``i`` brings compound ``j`` within the category's walking time.
    demand : array of float, shape (n_compounds,)
        Residents served per compound (>= 0).
    covered : array of bool, shape (n_compounds,)
        Compounds already covered by existing facilities (never counted as a gain).
    k : int, optional
        Stop after ``k`` sites. None ranks every candidate that still adds demand.

    Returns
    -------
    SitingResult
        ``method="greedy"``, ``status="greedy"``; ``objective`` is the newly covered demand.
        Ranking stops early when no remaining candidate adds anything, so fewer than ``k``
        sites may be returned. Ties are broken by the lowest candidate index.

    Raises
    ------
    SolverError
        If ``cover`` has no rows (no candidates).
    """
    t0 = time.perf_counter()
    if k is not None and k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    p = _prepare(cover, demand, covered)
    _require_candidates(p, "greedy ranking")
    limit = p.n_candidates if k is None else min(k, p.n_candidates)
    selected, gains = _greedy(p.A, p.w, limit, p.tol)
    res = _result(p, "greedy", selected, gains, "greedy", float(sum(gains)), t0, k=k)
    log.info(
        "greedy: %d candidates x %d compounds -> %d sites, +%.1f demand (%.1f%% covered), %.3f s",
        p.n_candidates,
        p.n_compounds,
        res.n_sites,
        res.demand_gained,
        res.coverage_pct,
        res.solve_s,
    )
    return res


def _order_selection(p: _Problem, chosen: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Put a chosen set in greedy rank order; drop members that add nothing."""
    chosen = np.unique(np.asarray(chosen, dtype=np.intp))
    order, gains = _greedy(p.A[chosen], p.w, len(chosen), p.tol)
    return chosen[order], gains




def solve_mclp(
    cover: Any,
    demand: Any,
    covered: Any,
    k: int,
    *,
    time_limit_s: float = 60.0,
    accept_time_limit: bool = False,
) -> SitingResult:
    """The provably best set of at most ``k`` new sites (maximal covering location problem).

    Maximises demand newly covered, with compounds already covered by existing facilities held
    fixed. Before solving, the model is reduced without changing its optimum: covered,
    zero-demand and unreachable compounds are dropped, candidates whose coverage is contained
    in another's are dropped, compounds covered by the same candidates are merged, and
    compounds only one candidate covers become that candidate's objective weight. The MILP
    (binary ``x_i`` per site, continuous ``0 <= y_j <= sum_{i covers j} x_i``,
    ``sum x_i <= k``) is solved by branch and bound on HiGHS's simplex (``highspy``; see
    :mod:`coverage.siting._bnb`) from a good incumbent (greedy and LP rounding, improved by
    1-swaps): when the incumbent meets the LP bound no branching happens; variables the LP's
    reduced costs exclude are fixed at every node. The gap closed is below one resident for
    integer demands (so the optimum is exact), 1e-9 of the total otherwise. When ``k`` reaches
    the set-cover LP bound, the fewest sites covering every reachable compound are found first;
    if there are at most ``k`` of them they are returned, never a larger set with redundant
    sites.

    Parameters
    ----------
    cover, demand, covered
        As in :func:`greedy_ranking`.
    k : int
        Maximum number of new sites (>= 0).
    time_limit_s : float
        Solver time limit in seconds.
    accept_time_limit : bool
        Return the best set found (``status="time_limit"``) instead of raising when the time
        limit is hit.

    Returns
    -------
    SitingResult
        ``method="optimal"``; ``objective`` is the newly covered demand. Sites adding nothing
        are omitted, so fewer than ``k`` may be returned. Among several optimal sets the
        solver's choice is deterministic for a given input but not necessarily the lowest
        indices.

    Raises
    ------
    SolverError
        No candidates; solver failure; time limit (unless accepted).
    """
    t0 = time.perf_counter()
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    p = _prepare(cover, demand, covered)
    _require_candidates(p, "optimal siting")
    return _optimal(Exact(p, time_limit_s, accept_time_limit), k, t0)


def _optimal(ex: Exact, k: int, t0: float) -> SitingResult:
    p = ex.p
    chosen, status = ex.mclp(k, "optimal siting")
    selected, gains = _order_selection(p, chosen)
    res = _result(p, "optimal", selected, gains, status, float(sum(gains)), t0, k=k)
    log.info(
        "optimal (MCLP, k=%d): %d candidates x %d compounds -> %d sites, +%.1f demand "
        "(%.1f%% covered), %s, %.2f s",
        k,
        p.n_candidates,
        p.n_compounds,
        res.n_sites,
        res.demand_gained,
        res.coverage_pct,
        status,
        res.solve_s,
    )
    return res


# --- set cover ---------------------------------------------------------------------------------


def solve_set_cover(
    cover: Any,
    demand: Any,
    covered: Any,
    target_share: float,
    *,
    basis: str = "reachable",
    time_limit_s: float = 60.0,
    accept_time_limit: bool = False,
) -> SitingResult:
    """The fewest new sites so that covered demand reaches a target share.

    First minimises the number of sites ``m`` subject to covered demand (existing included)
    >= ``target_share`` x basis demand; then, among sets of ``m`` sites, picks one covering the
    most demand (an MCLP with ``k = m``).

    Parameters
    ----------
    cover, demand, covered
        As in :func:`greedy_ranking`.
    target_share : float
        Share to reach, 0 < share <= 1 (0.95 = 95 %).
    basis : {"reachable", "total"}
        ``"reachable"``: share of demand any candidate or existing facility can cover (always
        feasible). ``"total"``: share of all demand (may be infeasible).
    time_limit_s, accept_time_limit
        As in :func:`solve_mclp` (per MILP solve).

    Returns
    -------
    SitingResult
        ``method="set_cover"``; ``objective`` is the number of new sites (0 and an empty
        selection when existing facilities already reach the target).

    Raises
    ------
    SolverError
        No candidates; target not reachable by any choice of candidates; solver failure.
    """
    t0 = time.perf_counter()
    if not 0.0 < target_share <= 1.0:
        raise ValueError(f"target_share must be in (0, 1], got {target_share}")
    if basis not in ("reachable", "total"):
        raise ValueError(f"basis must be 'reachable' or 'total', got {basis!r}")
    p = _prepare(cover, demand, covered)
    _require_candidates(p, f"set cover ({100 * target_share:g}% of {basis} demand)")
    return _set_cover(Exact(p, time_limit_s, accept_time_limit), target_share, basis, t0)


def _set_cover(ex: Exact, target_share: float, basis: str, t0: float) -> SitingResult:
    p = ex.p
    what = f"set cover ({100 * target_share:g}% of {basis} demand)"
    basis_demand = p.demand_reachable if basis == "reachable" else p.demand_total
    target = target_share * basis_demand
    need = target - p.demand_base
    extra = {"target_share": target_share, "basis": basis}
    if need <= p.tol:
        return _result(p, "set_cover", [], [], "optimal", 0.0, t0, **extra)
    if need > p.demand_gainable + p.tol:
        best = 100.0 * p.demand_reachable / p.demand_total
        raise SolverError(
            f"{what}: infeasible. Even with every candidate site open only {best:.1f}% of "
            f"demand is covered. Lower the target, use basis='reachable', or add candidates."
        )
    if need >= p.demand_gainable - p.tol:
        # every gainable compound must be covered; no set of any size covers more
        chosen, status = ex.full_cover(what)
    else:
        m, _, status = ex.min_sites(need, what)
        # among all sets of m sites, take one covering the most demand (still reaches target)
        chosen, status2 = ex.mclp(m, what)
        status = worst(status, status2)
    selected, gains = _order_selection(p, chosen)
    if p.demand_base + sum(gains) < target - p.tol:  # pragma: no cover - solver tolerance guard
        raise SolverError(f"{what}: solver returned a set below the target (numerical trouble)")
    res = _result(p, "set_cover", selected, gains, status, float(len(selected)), t0, **extra)
    log.info(
        "%s: %d candidates x %d compounds -> %d sites (%.1f%% of all demand covered), %.2f s",
        what,
        p.n_candidates,
        p.n_compounds,
        res.n_sites,
        res.coverage_pct,
        res.solve_s,
    )
    return res


# --- plan and tables ---------------------------------------------------------------------------


def plan_sites(
    cover: Any,
    demand: Any,
    covered: Any,
    k: int,
    *,
    targets: Sequence[float] = (0.95, 1.0),
    basis: str = "reachable",
    time_limit_s: float = 60.0,
    accept_time_limit: bool = False,
) -> SitingPlan:
    """Greedy ranking, greedy top-``k``, exact best ``k`` and set covers for one category.

    Parameters
    ----------
    cover, demand, covered
        As in :func:`greedy_ranking`.
    k : int
        New sites wanted (the category's ``new_sites``).
    targets : sequence of float
        Set-cover target shares (default 95 % and 100 %).
    basis, time_limit_s, accept_time_limit
        As in :func:`solve_set_cover`.

    Returns
    -------
    SitingPlan
    """
    ranking = greedy_ranking(cover, demand, covered)
    n = min(k, ranking.n_sites)
    greedy = SitingResult(
        method="greedy",
        selected=ranking.selected[:n].copy(),
        gains=ranking.gains[:n].copy(),
        demand_covered=ranking.demand_base + float(ranking.gains[:n].sum()),
        demand_total=ranking.demand_total,
        demand_base=ranking.demand_base,
        demand_reachable=ranking.demand_reachable,
        status="greedy",
        objective=float(ranking.gains[:n].sum()),
        k=k,
        solve_s=ranking.solve_s,
    )
    # One exact solver for every question of this category: the reduction, the full cover and
    # each k's MCLP are computed once and shared (e.g. the 100 % cover decides a large k).
    p = _prepare(cover, demand, covered)
    _require_candidates(p, "optimal siting")
    ex = Exact(p, time_limit_s, accept_time_limit)
    covers: dict[float, SitingResult] = {}
    if 1.0 in targets:
        covers[1.0] = _set_cover(ex, 1.0, basis, time.perf_counter())
    optimal = _optimal(ex, k, time.perf_counter())
    for t in targets:
        if float(t) not in covers:
            covers[float(t)] = _set_cover(ex, float(t), basis, time.perf_counter())
    covers = {float(t): covers[float(t)] for t in targets}
    plan = SitingPlan(ranking=ranking, greedy=greedy, optimal=optimal, set_cover=covers)
    log.info(
        "siting k=%d: greedy +%.1f, optimal +%.1f (gap %.1f, greedy %s optimal)",
        k,
        greedy.demand_gained,
        optimal.demand_gained,
        plan.greedy_gap,
        "is" if plan.greedy_is_optimal else "is not",
    )
    return plan


def ranking_table(
    result: SitingResult, candidates: pd.DataFrame, category_key: str
) -> pd.DataFrame:
    """The rows of ``sites.csv`` for one selection.

    Parameters
    ----------
    result : SitingResult
    candidates : pandas.DataFrame
        Candidate sites in the row order of ``cover`` (row ``i`` = candidate index ``i``), with
        columns ``id``, ``name``, ``lon``, ``lat`` (WGS-84 degrees, for display only).
    category_key : str

    Returns
    -------
    pandas.DataFrame
        Columns ``rank`` (1-based), ``candidate_id``, ``name``, ``category``, ``lon``, ``lat``,
        ``method``, ``gain_demand``, ``cumulative_demand_covered`` (existing coverage
        included), ``cumulative_coverage_pct`` (of all demand).
    """
    missing = [c for c in ("id", "name", "lon", "lat") if c not in candidates.columns]
    if missing:
        raise ValueError(f"candidates lacks columns {missing}")
    if len(result.selected) and int(result.selected.max()) >= len(candidates):
        raise ValueError("result selects candidate indices beyond the candidates table")
    rows = candidates.iloc[result.selected]
    cum = result.cumulative_demand_covered
    if result.demand_total > 0:
        # 2 decimals, as written (and as summary.csv's coverage_pct): the map and the report
        # show the same number whether they read the run from memory or from its files.
        pct = np.round(100.0 * cum / result.demand_total, 2)
    else:
        pct = np.full(len(cum), np.nan)
    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(result.selected) + 1, dtype=np.int64),
            "candidate_id": rows["id"].to_numpy(),
            "name": rows["name"].to_numpy(),
            "category": category_key,
            "lon": rows["lon"].to_numpy(dtype=np.float64),
            "lat": rows["lat"].to_numpy(dtype=np.float64),
            "method": result.method,
            "gain_demand": result.gains,
            "cumulative_demand_covered": cum,
            "cumulative_coverage_pct": pct,
        }
    )
    return table[list(RANKING_COLUMNS)]
