"""Siting's data: results, plans, and the validated and reduced problem behind every method."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import SolverError

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




def greedy_gap(optimal: SitingResult, greedy: SitingResult) -> float:
    """Demand the optimal set covers beyond the greedy set (residents, >= 0 when both valid)."""
    return float(optimal.demand_covered - greedy.demand_covered)


