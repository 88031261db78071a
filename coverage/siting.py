"""Where new facilities should go: greedy ranking, exact maximal covering and set cover.

Every function here is pure and works on arrays; the street network never appears. The caller
(the pipeline) builds, for one category,

``cover``
    a ``scipy.sparse`` CSR boolean matrix of shape ``(n_candidates, n_compounds)``, True where
    candidate site ``i`` would bring compound ``j`` within the category's walking time (network
    distance);
``demand``
    a float array ``(n_compounds,)`` of residents the category serves (e.g. people aged 60+), >= 0;
``covered``
    a bool array ``(n_compounds,)``: compounds already within reach of an existing (and, if the
    caller wishes, a proposed) facility. These are fixed: they never count as a gain.

Words used below
----------------
gain
    Demand of compounds that are not yet covered and that a site (or a set) would cover.
gainable demand
    Demand of uncovered compounds that at least one candidate covers.
reachable demand
    Demand already covered plus gainable demand: all that any candidate or existing facility
    can cover. Set-cover targets are shares of it (``basis="reachable"``, the default).

Three selections
----------------
:func:`greedy_ranking`
    Repeatedly add the site with the largest gain (ties: lowest candidate index). A ranking a
    planner can read top-down; each prefix is a good, not necessarily best, set.
:func:`solve_mclp`
    The provably best set of at most ``k`` new sites (maximal covering location problem, MILP
    solved by HiGHS through :func:`scipy.optimize.milp`).
:func:`solve_set_cover`
    The fewest new sites that reach a target share of demand; among such sets, one covering
    the most demand.

:func:`plan_sites` runs all three for one category and reports the greedy gap.

Empty problems
--------------
* No candidate sites at all (``cover`` has 0 rows): :class:`~coverage.errors.SolverError`
  from every function -- new sites were asked for but there is nothing to choose from.
* ``k == 0``, everything reachable already covered, or no candidate covers any uncovered
  demand: an *empty selection* (``selected`` is empty, ``objective`` 0.0, ``status``
  "optimal" for the exact methods since choosing nothing is then provably optimal).
* A set-cover target that no choice of candidates can reach (only possible with
  ``basis="total"``): :class:`~coverage.errors.SolverError` naming the best share possible.
* The MILP solver failing, or hitting its time limit (unless ``accept_time_limit=True``):
  :class:`~coverage.errors.SolverError`.
* Wrong shapes, negative or non-finite demand, ``k < 0``: :class:`ValueError` (a bug in the
  caller, not in the planner's data).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from .errors import SolverError

__all__ = [
    "RANKING_COLUMNS",
    "SitingPlan",
    "SitingResult",
    "greedy_gap",
    "greedy_ranking",
    "plan_sites",
    "ranking_table",
    "solve_mclp",
    "solve_set_cover",
]

log = logging.getLogger(__name__)

RANKING_COLUMNS = (
    "rank",
    "candidate_id",
    "name",
    "category",
    "lon",
    "lat",
    "method",
    "gain_demand",
    "cumulative_demand_covered",
    "cumulative_coverage_pct",
)

_REL_TOL = 1e-9  # demand differences below this share of total demand count as ties / zero


_MILP_STATUS = {
    0: "optimal",
    1: "time_limit",
    2: "infeasible",
    3: "unbounded",
    4: "solver_error",
}


@dataclass(frozen=True)
class SitingResult:
    """One method's selection of new sites for one category.

    Attributes
    ----------
    method : str
        ``"greedy"``, ``"optimal"`` (exact MCLP) or ``"set_cover"``.
    selected : numpy.ndarray of int
        Candidate indices (rows of ``cover``) in rank order: each site is the one adding the
        most demand given those before it (ties: lowest index). Sites adding nothing are never
        listed.
    gains : numpy.ndarray of float
        Demand newly covered by each selected site, given the sites before it (residents).
    demand_covered : float
        Demand covered once the selected sites are open, including demand already covered.
    demand_total : float
        All demand of the category (residents).
    demand_base : float
        Demand already covered before any new site (by existing facilities).
    demand_reachable : float
        ``demand_base`` plus the demand any candidate could cover.
    status : str
        ``"greedy"`` for the heuristic (never ``"optimal"``, even when it happens to be: see
        :attr:`SitingPlan.greedy_is_optimal`); ``"optimal"`` when the exact method proved
        optimality; ``"time_limit"`` for the best set found when the solver ran out of time and
        the caller accepted it.
    objective : float or None
        Greedy/optimal: demand newly covered by the selection (residents). Set cover: number
        of new sites.
    k : int or None
        Site budget asked for (greedy/optimal), or None (ranking of all, set cover).
    target_share : float or None
        Set cover only: the share of ``basis`` demand to reach (0-1).
    basis : str or None
        Set cover only: ``"reachable"`` or ``"total"``.
    solve_s : float
        Wall time of the method in seconds.
    """

    method: str
    selected: np.ndarray
    gains: np.ndarray
    demand_covered: float
    demand_total: float
    demand_base: float
    demand_reachable: float
    status: str
    objective: float | None
    k: int | None = None
    target_share: float | None = None
    basis: str | None = None
    solve_s: float = 0.0

    @property
    def n_sites(self) -> int:
        """Number of selected sites."""
        return len(self.selected)

    @property
    def demand_gained(self) -> float:
        """Demand newly covered by the selected sites (residents)."""
        return float(self.demand_covered - self.demand_base)

    @property
    def coverage_pct(self) -> float:
        """Covered share of all demand, in percent (NaN when there is no demand at all)."""
        if self.demand_total <= 0:
            return math.nan
        return 100.0 * self.demand_covered / self.demand_total

    @property
    def reachable_coverage_pct(self) -> float:
        """Covered share of reachable demand, in percent (NaN when nothing is reachable)."""
        if self.demand_reachable <= 0:
            return math.nan
        return 100.0 * self.demand_covered / self.demand_reachable

    @property
    def is_optimal(self) -> bool:
        """True only when an exact method proved its selection optimal."""
        return self.status == "optimal"

    @property
    def cumulative_demand_covered(self) -> np.ndarray:
        """Covered demand after each selected site in rank order (residents)."""
        return self.demand_base + np.cumsum(self.gains)


@dataclass(frozen=True)
class SitingPlan:
    """All siting results of one category (see :func:`plan_sites`).

    Attributes
    ----------
    ranking : SitingResult
        Greedy ranking of every candidate with a positive gain.
    greedy : SitingResult
        The first ``k`` sites of the ranking.
    optimal : SitingResult
        The exact best set of at most ``k`` sites.
    set_cover : dict of float to SitingResult
        For each target share, the fewest sites reaching it.
    """

    ranking: SitingResult
    greedy: SitingResult
    optimal: SitingResult
    set_cover: dict[float, SitingResult] = field(default_factory=dict)

    @property
    def greedy_gap(self) -> float:
        """Demand the optimal set covers beyond the greedy one with the same ``k`` (>= 0)."""
        return greedy_gap(self.optimal, self.greedy)

    @property
    def greedy_is_optimal(self) -> bool:
        """True when the greedy set of ``k`` sites covers as much as the proven optimum."""
        tol = _REL_TOL * max(1.0, self.optimal.demand_total)
        return self.optimal.is_optimal and self.greedy_gap <= tol

    def results(self) -> list[SitingResult]:
        """The selections to report: greedy top-k, optimal, then each set cover."""
        return [self.greedy, self.optimal, *self.set_cover.values()]


# --- input handling --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    """Validated inputs restricted to the columns that matter (uncovered, demand > 0, coverable)."""

    A: sp.csr_array  # float 0/1, (n_candidates, n_cols)
    w: np.ndarray  # demand of the kept columns
    demand_total: float
    demand_base: float
    demand_reachable: float
    n_compounds: int

    @property
    def n_candidates(self) -> int:
        return int(self.A.shape[0])

    @property
    def demand_gainable(self) -> float:
        return float(self.w.sum())

    @property
    def tol(self) -> float:
        return _REL_TOL * max(1.0, self.demand_total)


def _prepare(cover: Any, demand: Any, covered: Any) -> _Problem:
    """Check shapes and values; keep only columns a new site could gain."""
    matrix = sp.csr_array(cover, dtype=bool) if not sp.issparse(cover) else sp.csr_array(cover)
    if matrix.ndim != 2:
        raise ValueError(f"cover must be 2-D (n_candidates, n_compounds), got {matrix.ndim}-D")
    matrix = matrix.astype(bool)
    matrix.eliminate_zeros()
    n_comp = matrix.shape[1]
    d = np.asarray(demand, dtype=np.float64)
    c = np.asarray(covered)
    if d.shape != (n_comp,):
        raise ValueError(f"demand has shape {d.shape}, expected ({n_comp},) to match cover")
    if c.shape != (n_comp,):
        raise ValueError(f"covered has shape {c.shape}, expected ({n_comp},) to match cover")
    if c.dtype != bool:
        raise ValueError(f"covered must be a bool array, got dtype {c.dtype}")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("demand must be finite and >= 0 for every compound")
    coverable = np.zeros(n_comp, dtype=bool)
    coverable[matrix.indices] = True
    keep = coverable & ~c & (d > 0)
    cols = np.flatnonzero(keep)
    sub = matrix[:, cols].astype(np.float64).tocsr()
    sub.sort_indices()
    base = float(d[c].sum())
    gainable = float(d[cols].sum())
    return _Problem(
        A=sub,
        w=d[cols].copy(),
        demand_total=float(d.sum()),
        demand_base=base,
        demand_reachable=base + gainable,
        n_compounds=n_comp,
    )


def _require_candidates(p: _Problem, what: str) -> None:
    if p.n_candidates == 0:
        raise SolverError(
            f"{what}: empty problem, there are no candidate sites to choose from. "
            "Give a candidates file or let circle15 generate candidates."
        )


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


# --- reduction ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reduced:
    """A smaller equivalent model: kept candidates, single-cover weights, merged columns."""

    rows: np.ndarray  # original candidate indices kept
    x_weight: np.ndarray  # demand covered only by that candidate (per kept row)
    A_multi: sp.csr_array  # (n_rows, n_multi) 0/1: merged columns covered by >= 2 rows
    w_multi: np.ndarray


def _undominated_rows(A: sp.csr_array, block: int = 256) -> np.ndarray:
    """Rows whose column set is not contained in another row's (equal sets: lowest index kept).

    A row contained in another can always be swapped for it without losing coverage, so
    dropping it keeps every optimum value of both MCLP and set cover.
    """
    n = A.shape[0]
    size = np.diff(A.indptr)
    keep = size > 0
    At = A.T.tocsc()
    for start in range(0, n, block):
        stop = min(n, start + block)
        overlap = (A[start:stop] @ At).tocoo()  # (block, n): |row_a & row_b|
        a = overlap.row + start
        b = overlap.col
        contained = (a != b) & (overlap.data >= size[a] - 0.5)
        beats = (size[b] > size[a]) | ((size[b] == size[a]) & (b < a))
        keep[a[contained & beats]] = False
    return np.flatnonzero(keep)


def _reduce(p: _Problem) -> _Reduced:
    rows = _undominated_rows(p.A)
    csc = p.A[rows].tocsc()
    csc.sort_indices()
    n_rows = len(rows)
    x_weight = np.zeros(n_rows)
    groups: dict[bytes, int] = {}
    multi_cols: list[np.ndarray] = []
    multi_w: list[float] = []
    for j in range(csc.shape[1]):
        members = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        if len(members) == 1:
            x_weight[members[0]] += p.w[j]
            continue
        # every kept column is covered by a kept row (a dominating row covers a superset)
        key = members.tobytes()
        g = groups.get(key)
        if g is None:
            groups[key] = len(multi_cols)
            multi_cols.append(members)
            multi_w.append(float(p.w[j]))
        else:
            multi_w[g] += float(p.w[j])
    if multi_cols:
        lengths = [len(m) for m in multi_cols]
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.concatenate(multi_cols)
        data = np.ones(len(indices))
        A_multi = sp.csc_array((data, indices, indptr), shape=(n_rows, len(multi_cols))).tocsr()
    else:
        A_multi = sp.csr_array((n_rows, 0), dtype=np.float64)
    return _Reduced(rows, x_weight, A_multi, np.asarray(multi_w, dtype=np.float64))


def _run_milp(
    c: np.ndarray,
    constraints: list[LinearConstraint],
    integrality: np.ndarray,
    bounds: Bounds,
    time_limit_s: float,
    accept_time_limit: bool,
    what: str,
) -> tuple[np.ndarray, str]:
    """A MILP through :func:`scipy.optimize.milp` (HiGHS), status checked (coverage.jointplan
    uses it; the siting solves below use highspy, which takes a starting solution)."""
    res = milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=bounds,
        options={"time_limit": float(time_limit_s), "mip_rel_gap": 1e-9, "presolve": True},
    )
    status = _MILP_STATUS.get(int(res.status), f"status {res.status}")
    if res.status == 0 and res.x is not None:
        return np.asarray(res.x), status
    if res.status == 1 and res.x is not None and accept_time_limit:
        log.warning(
            "%s: time limit of %.0f s reached; using the best set found (not proven optimal, "
            "MIP gap %s)",
            what,
            time_limit_s,
            getattr(res, "mip_gap", "unknown"),
        )
        return np.asarray(res.x), status
    hint = (
        f" Raise time_limit_s (now {time_limit_s:g} s) or use the greedy ranking."
        if res.status == 1
        else ""
    )
    raise SolverError(
        f"{what}: HiGHS did not find a proven optimum ({status}: {res.message}).{hint}"
    )


# --- exact solves (HiGHS through highspy) ------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """One HiGHS run: status ("optimal", "time_limit", "infeasible", ...), solution, objective
    (minimisation form) and the proven bound."""

    status: str
    x: np.ndarray | None
    objective: float
    bound: float
    message: str = ""


@dataclass(frozen=True)
class _Model:
    """Minimise ``c.x`` s.t. ``row_lo <= rows @ x <= row_hi``, ``col_lo <= x <= col_hi``;
    ``integer`` marks integer columns (None: the LP relaxation)."""

    c: np.ndarray
    rows: sp.csr_array
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray | None = None

    def relaxed(self) -> _Model:
        return dataclasses.replace(self, integer=None)


def _highs_run(model: _Model, *, start: np.ndarray | None = None, time_limit_s: float = 60.0,
               abs_gap: float = 0.0) -> _Run:
    """Solve ``model`` with HiGHS. ``start`` is a feasible point handed over as the first
    incumbent; a MIP stops when its gap is at most ``abs_gap``. An LP's ``x`` holds the
    values, then the reduced costs."""
    import highspy

    c, rows, row_lo, row_hi = model.c, model.rows, model.row_lo, model.row_hi
    col_lo, col_hi, integer = model.col_lo, model.col_hi, model.integer

    # The bare binding: the Python wrapper prints a banner before options can be set.
    h = highspy._Highs()  # type: ignore[attr-defined]  # private: not in highspy's stubs
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    if integer is not None:
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", float(abs_gap))
        # The model is already reduced (dominated sites, merged compounds), and HiGHS's
        # presolve found nothing more on the benchmark while costing a quarter of the time.
        h.setOptionValue("presolve", "off")
    lp = highspy.HighsLp()
    n = len(c)
    lp.num_col_ = n
    lp.num_row_ = rows.shape[0]
    lp.col_cost_ = np.asarray(c, dtype=np.float64)
    lp.col_lower_ = np.asarray(col_lo, dtype=np.float64)
    lp.col_upper_ = np.asarray(col_hi, dtype=np.float64)
    inf = highspy.kHighsInf
    lp.row_lower_ = np.where(np.isfinite(row_lo), row_lo, -inf).astype(np.float64)
    lp.row_upper_ = np.where(np.isfinite(row_hi), row_hi, inf).astype(np.float64)
    m = sp.csr_array(rows, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = m.shape[0]
    lp.a_matrix_.start_ = m.indptr.astype(np.int32)
    lp.a_matrix_.index_ = m.indices.astype(np.int32)
    lp.a_matrix_.value_ = m.data
    if integer is not None:
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else
                           highspy.HighsVarType.kContinuous for i in integer]
    h.passModel(lp)
    if start is not None and integer is not None:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=np.float64).tolist()
        h.setSolution(sol)
    h.run()
    model_status = h.getModelStatus()
    status = {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kTimeLimit: "time_limit",
        highspy.HighsModelStatus.kInfeasible: "infeasible",
        highspy.HighsModelStatus.kUnbounded: "unbounded",
    }.get(model_status, "solver_error")
    info = h.getInfo()
    has_x = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    sol = h.getSolution()
    x = np.asarray(sol.col_value) if has_x else None
    if integer is None and x is not None:
        x = np.concatenate([x, np.asarray(sol.col_dual)])  # LP: values then reduced costs
    bound = info.mip_dual_bound if integer is not None else info.objective_function_value
    return _Run(status, x, float(info.objective_function_value), float(bound),
                h.modelStatusToString(model_status))


def _checked(run: _Run, what: str, time_limit_s: float, accept_time_limit: bool) -> _Run:
    """The run if it proved its optimum (or hit the time limit and that is accepted)."""
    if run.status == "optimal" and run.x is not None:
        return run
    if run.status == "time_limit" and run.x is not None and accept_time_limit:
        log.warning("%s: time limit of %.0f s reached; using the best set found (not proven "
                    "optimal, bound %.1f, found %.1f)", what, time_limit_s, -run.bound,
                    -run.objective)
        return run
    hint = (f" Raise time_limit_s (now {time_limit_s:g} s) or use the greedy ranking."
            if run.status == "time_limit" else "")
    raise SolverError(
        f"{what}: HiGHS did not find a proven optimum ({run.status}: {run.message}).{hint}")


class _Exact:
    """Exact MCLP and set cover on one problem, each question solved once (cached).

    Every solve starts from a good incumbent (greedy, LP rounding, then 1-swap local search)
    and first checks the LP bound: when the incumbent meets it, the incumbent is optimal and
    no branch-and-bound runs. Otherwise variables whose LP reduced cost shows they cannot be
    in a better solution are fixed, and HiGHS gets the incumbent as its first solution. With
    integer demands (residents) objective values are integers, so a gap below 1 proves
    optimality.
    """

    def __init__(self, p: _Problem, time_limit_s: float, accept_time_limit: bool) -> None:
        self.p = p
        self.time_limit_s = time_limit_s
        self.accept = accept_time_limit
        self._red: _Reduced | None = None
        self._full: tuple[np.ndarray, str] | None = None
        self._mclp: dict[int, tuple[np.ndarray, str]] = {}
        w = p.w
        self.integral = bool(len(w) == 0 or (np.all(w == np.round(w)) and w.sum() < 2.0**52))
        self.step = 1.0 - 1e-6 if self.integral else p.tol  # smallest real improvement

    @property
    def red(self) -> _Reduced:
        if self._red is None:
            self._red = _reduce(self.p)
            r = self._red
            self._csr = r.A_multi.tocsr()
            self._csc = r.A_multi.tocsc()
        return self._red

    # -- evaluation and heuristics on the reduced model -----------------------------------

    def _value(self, x: np.ndarray) -> float:
        r = self.red
        hit = (self._csr.T @ x.astype(np.float64)) > 0
        return float(r.x_weight[x].sum() + r.w_multi[hit].sum())

    def _greedy(self, k: int, need: float = np.inf) -> np.ndarray:
        """Greedy on the reduced model: up to ``k`` rows, or until ``need`` demand."""
        r = self.red
        w = r.w_multi.copy()
        gains = r.x_weight + self._csr @ w
        x = np.zeros(len(r.rows), dtype=bool)
        total = 0.0
        while x.sum() < k and total < need - self.p.tol:
            g = np.where(x, -np.inf, gains)
            i = int(np.argmax(g))
            if not g[i] > self.p.tol:
                break
            x[i] = True
            total += float(g[i])
            cols = self._csr.indices[self._csr.indptr[i]:self._csr.indptr[i + 1]]
            new = cols[w[cols] > 0]
            gains -= self._csc[:, new] @ w[new]
            w[new] = 0.0
        return x

    def _swap(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """Best-improvement 1-swap local search (swap one open row for one closed row)."""
        r = self.red
        x = x.copy()
        value = self._value(x)
        for _ in range(10 * max(1, int(x.sum()))):
            count = self._csr.T @ x.astype(np.float64)
            uncovered = np.where(count == 0, r.w_multi, 0.0)
            best = (self.p.tol, -1, -1)
            for i in np.flatnonzero(x):
                cols = self._csr.indices[self._csr.indptr[i]:self._csr.indptr[i + 1]]
                lost = cols[count[cols] == 1]
                loss = r.x_weight[i] + r.w_multi[lost].sum()
                free = uncovered.copy()
                free[lost] = r.w_multi[lost]
                gain_in = r.x_weight + self._csr @ free
                gain_in[x] = -np.inf
                j = int(np.argmax(gain_in))
                if gain_in[j] - loss > best[0]:
                    best = (float(gain_in[j] - loss), int(i), j)
            if best[1] < 0:
                break
            x[best[1]], x[best[2]] = False, True
            value += best[0]
        return x, self._value(x)

    def _covers_all(self, x: np.ndarray) -> bool:
        return self._value(x) >= self.p.demand_gainable - self.p.tol

    # -- set cover of everything gainable -------------------------------------------------

    def full_cover(self, what: str) -> tuple[np.ndarray, str]:
        """Fewest candidates (original indices) covering every gainable compound."""
        if self._full is None:
            self._full = self._solve_full(what)
        return self._full

    def _solve_full(self, what: str) -> tuple[np.ndarray, str]:
        r = self.red
        n_r, n_m = len(r.rows), r.A_multi.shape[1]
        forced = r.x_weight > 0  # sole coverers of some compound must open
        if n_m == 0:
            return r.rows[forced], "optimal"
        # Incumbent: greedy by uncovered groups from the forced rows, minus redundant rows.
        x = self._greedy_cover(forced)
        # (n_m, n_r): each group's coverers; every group covered at least once
        model = _Model(np.ones(n_r), self._csc.T.tocsr(), np.ones(n_m), np.full(n_m, np.inf),
                       forced.astype(float), np.ones(n_r), np.ones(n_r, bool))
        lp = _checked(_highs_run(model.relaxed(), time_limit_s=self.time_limit_s), what,
                      self.time_limit_s, False)
        if x.sum() <= math.ceil(lp.objective - 1e-6):
            log.debug("%s: greedy cover of %d sites meets the LP bound", what, x.sum())
            return r.rows[x], "optimal"
        run = _highs_run(model, start=x.astype(float), time_limit_s=self.time_limit_s,
                         abs_gap=1.0 - 1e-6)
        run = _checked(run, what, self.time_limit_s, self.accept)
        assert run.x is not None
        chosen = run.x[:n_r] > 0.5
        if chosen.sum() > x.sum():  # pragma: no cover - HiGHS keeps its start
            chosen = x
        return r.rows[chosen], run.status

    def _greedy_cover(self, start: np.ndarray) -> np.ndarray:
        """Greedy set cover (most uncovered groups first), then drop rows made redundant."""
        x = start.copy()
        covered = (self._csr.T @ x.astype(np.float64)) > 0
        while not covered.all():
            gains = self._csr @ (~covered).astype(np.float64)
            gains[x] = -1
            i = int(np.argmax(gains))
            x[i] = True
            covered[self._csr.indices[self._csr.indptr[i]:self._csr.indptr[i + 1]]] = True
        count = self._csr.T @ x.astype(np.float64)
        for i in np.flatnonzero(x & ~start)[::-1]:
            cols = self._csr.indices[self._csr.indptr[i]:self._csr.indptr[i + 1]]
            if (count[cols] >= 2).all():
                x[i] = False
                count[cols] -= 1
        return x

    # -- maximal covering ------------------------------------------------------------------

    def mclp(self, k: int, what: str, start: np.ndarray | None = None) -> tuple[np.ndarray, str]:
        """An optimal set of at most ``k`` sites (original indices) and the status; when ``k``
        sites can cover every gainable compound, the fewest that do."""
        if k not in self._mclp:
            self._mclp[k] = self._solve_mclp(k, what, start)
        return self._mclp[k]

    def _solve_mclp(self, k: int, what: str, start: np.ndarray | None) -> tuple[np.ndarray, str]:
        p = self.p
        if k == 0 or p.demand_gainable <= p.tol:
            return np.empty(0, dtype=np.intp), "optimal"
        r = self.red
        n_r, n_m = len(r.rows), r.A_multi.shape[1]
        if k >= n_r or self._covers_all(self._greedy(k)):
            return self.full_cover(what)  # everything gainable: no set covers more
        c = -np.concatenate([r.x_weight, r.w_multi])
        link = sp.hstack([-self._csc.T.tocsr(), sp.identity(n_m, format="csr")], format="csr")
        budget = sp.csr_array(np.concatenate([np.ones(n_r), np.zeros(n_m)])[None, :])
        rows = sp.vstack([link, budget], format="csr")
        integer = np.concatenate([np.ones(n_r, bool), np.zeros(n_m, bool)])
        model = _Model(c, rows, np.full(n_m + 1, -np.inf),
                       np.concatenate([np.zeros(n_m), [float(k)]]),
                       np.zeros(n_r + n_m), np.ones(n_r + n_m), integer)
        lp = _checked(_highs_run(model.relaxed(), time_limit_s=self.time_limit_s), what,
                      self.time_limit_s, False)
        assert lp.x is not None
        bound = -lp.objective
        x_lp, reduced = lp.x[:n_r], lp.x[n_r + n_m:n_r + n_m + n_r]
        if bound >= p.demand_gainable - p.tol:
            full, status = self.full_cover(what)
            if len(full) <= k:
                return full, status
        # Incumbent: the better of greedy and LP rounding, each improved by 1-swaps.
        candidates = [self._greedy(k)]
        top = np.argsort(-x_lp, kind="stable")[:k]
        rounded = np.zeros(n_r, dtype=bool)
        rounded[top[x_lp[top] > 1e-9]] = True
        candidates.append(rounded)
        if start is not None:
            candidates.append(np.isin(r.rows, start))
        best_x, best_v = max((self._swap(x) for x in candidates), key=lambda t: t[1])
        margin = 1e-6 * max(1.0, abs(bound))
        if bound - best_v < self.step - margin:
            log.debug("%s: k=%d incumbent %.1f meets the LP bound %.1f", what, k, best_v, bound)
            return r.rows[best_x], "optimal"
        # Reduced-cost fixing: a row whose reduced cost exceeds the gap is at its LP value in
        # every solution better than the incumbent (kept only where the incumbent agrees, so
        # the incumbent stays a feasible start).
        gap = bound - best_v - self.step + margin
        fix0 = (x_lp <= 1e-9) & (reduced > gap) & ~best_x
        fix1 = (x_lp >= 1 - 1e-9) & (-reduced > gap) & best_x
        model = dataclasses.replace(
            model, col_lo=np.concatenate([fix1.astype(float), np.zeros(n_m)]),
            col_hi=np.concatenate([(~fix0).astype(float), np.ones(n_m)]))
        log.debug("%s: k=%d LP %.1f, incumbent %.1f, %d of %d sites fixed", what, k, bound,
                  best_v, int(fix0.sum() + fix1.sum()), n_r)
        y = ((self._csr.T @ best_x.astype(np.float64)) > 0).astype(np.float64)
        run = _highs_run(model, start=np.concatenate([best_x.astype(np.float64), y]),
                         time_limit_s=self.time_limit_s,
                         abs_gap=self.step if self.integral else p.tol)
        run = _checked(run, what, self.time_limit_s, self.accept)
        assert run.x is not None
        chosen = run.x[:n_r] > 0.5
        if self._value(chosen) < best_v:  # never worse than the incumbent handed over
            chosen = best_x
        if self._covers_all(chosen):  # pragma: no cover - caught by the LP bound above
            full, status = self.full_cover(what)
            return full, _worst(run.status, status)
        return r.rows[chosen], run.status

    # -- fewest sites for a target -----------------------------------------------------------

    def min_sites(self, need: float, what: str) -> tuple[int, np.ndarray, str]:
        """Fewest sites whose gain reaches ``need`` (< all gainable): count, one such set
        (original indices), status."""
        r = self.red
        n_r, n_m = len(r.rows), r.A_multi.shape[1]
        x = self._greedy(n_r, need=need)
        gain_row = sp.csr_array(np.concatenate([r.x_weight, r.w_multi])[None, :])
        link = sp.hstack([-self._csc.T.tocsr(), sp.identity(n_m, format="csr")], format="csr")
        rows = sp.vstack([gain_row, link], format="csr")
        integer = np.concatenate([np.ones(n_r, bool), np.zeros(n_m, bool)])
        model = _Model(np.concatenate([np.ones(n_r), np.zeros(n_m)]), rows,
                       np.concatenate([[need - self.p.tol], np.full(n_m, -np.inf)]),
                       np.concatenate([[np.inf], np.zeros(n_m)]),
                       np.zeros(n_r + n_m), np.ones(n_r + n_m), integer)
        lp = _checked(_highs_run(model.relaxed(), time_limit_s=self.time_limit_s), what,
                      self.time_limit_s, False)
        if x.sum() <= math.ceil(lp.objective - 1e-6):
            return int(x.sum()), r.rows[x], "optimal"
        y = ((self._csr.T @ x.astype(np.float64)) > 0).astype(np.float64)
        run = _highs_run(model, start=np.concatenate([x.astype(np.float64), y]),
                         time_limit_s=self.time_limit_s, abs_gap=1.0 - 1e-6)
        run = _checked(run, what, self.time_limit_s, self.accept)
        assert run.x is not None
        chosen = run.x[:n_r] > 0.5
        if chosen.sum() > x.sum():  # pragma: no cover - HiGHS keeps its start
            chosen = x
        return int(chosen.sum()), r.rows[chosen], run.status


# --- exact MCLP ----------------------------------------------------------------------------------


def _gain_of(p: _Problem, chosen: np.ndarray) -> float:
    """Demand newly covered by a set of candidates (residents)."""
    if len(chosen) == 0:
        return 0.0
    hit = np.asarray(p.A[chosen].sum(axis=0)).ravel() > 0
    return float(p.w[hit].sum())


def _worst(*statuses: str) -> str:
    return next((s for s in statuses if s != "optimal"), "optimal")


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
    ``sum x_i <= k``) is solved by HiGHS (``highspy``) from a good incumbent (greedy and LP
    rounding, improved by 1-swaps): when the incumbent meets the LP bound no branch-and-bound
    runs; otherwise variables the LP's reduced costs exclude are fixed first. The gap closed
    is below one resident for integer demands (so the optimum is exact), 1e-9 of the total
    otherwise. When ``k`` sites are enough to cover every reachable compound, the fewest sites
    doing so are returned (a set-cover solve), never a larger set with redundant sites.

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
    return _optimal(_Exact(p, time_limit_s, accept_time_limit), k, t0)


def _optimal(ex: _Exact, k: int, t0: float) -> SitingResult:
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
    return _set_cover(_Exact(p, time_limit_s, accept_time_limit), target_share, basis, t0)


def _set_cover(ex: _Exact, target_share: float, basis: str, t0: float) -> SitingResult:
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
        m, some, status = ex.min_sites(need, what)
        # among all sets of m sites, take one covering the most demand (still reaches target)
        chosen, status2 = ex.mclp(m, what, start=some)
        status = _worst(status, status2)
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


def greedy_gap(optimal: SitingResult, greedy: SitingResult) -> float:
    """Demand the optimal set covers beyond the greedy set (residents, >= 0 when both valid)."""
    return float(optimal.demand_covered - greedy.demand_covered)


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
    ex = _Exact(p, time_limit_s, accept_time_limit)
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
