"""Who is served by whom in one category once the spaces are chosen, and the spaces' rank.

Once the spaces are chosen, who is served by whom is a linear programme per category
(:func:`assign`): first the most demand served, then, among assignments serving that much,
the fewest person-metres walked, so residents go to the nearest facility with room. Without
finite capacities this is exactly "covered = within reach of a facility, served by the
nearest one".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import maximum_flow

from ..errors import SolverError
from ..siting.milp import MilpModel, solve_milp
from .records import REL_TOL, Assignment, PlanCategory

__all__ = ["assign", "rank"]

log = logging.getLogger(__name__)


def _nearest(dist: sp.csr_array, n_comp: int) -> tuple[np.ndarray, np.ndarray]:
    """Per compound, the row with the smallest stored distance (-1 if none) and that distance.

    Ties go to the lower row index.
    """
    coo = sp.coo_array(dist)
    best = np.full(n_comp, -1, dtype=np.intp)
    best_d = np.full(n_comp, np.inf)
    if coo.nnz:
        order = np.lexsort((coo.row, coo.data, coo.col))
        col, first = np.unique(coo.col[order], return_index=True)
        best[col] = coo.row[order][first]
        best_d[col] = coo.data[order][first]
    return best, best_d


def _facilities(cat: PlanCategory, open_new: np.ndarray) -> tuple[sp.csr_array, np.ndarray]:
    """Existing facilities then open spaces: distances (rows) and capacities."""
    dist = sp.vstack([sp.csr_array(cat.reach_old),
                      sp.csr_array(cat.reach_new)[open_new]], format="csr")
    cap = np.concatenate([np.asarray(cat.capacity_old, dtype=float),
                          np.asarray(cat.capacity_new, dtype=float)[open_new]])
    return sp.csr_array(dist), cap


def _flow_lp(dist: sp.csr_array, cap: np.ndarray, demand: np.ndarray, cols: np.ndarray, *,
             nearest: bool = True) -> np.ndarray:
    """Demand served along each stored pair of ``dist`` whose compound is in ``cols``.

    Phase 1 maximises served demand within the capacities; phase 2 (``nearest=True``) keeps
    that much served and minimises person-metres walked. Returns the flow aligned with
    ``sp.coo_array(dist)``'s entries (0 outside ``cols``).
    """
    coo = sp.coo_array(dist)
    use = np.flatnonzero(np.isin(coo.col, cols))
    out = np.zeros(len(coo.data))
    f, j, dm = coo.row[use], coo.col[use], coo.data[use]
    n = len(f)
    if n == 0:
        return out
    comps, jj = np.unique(j, return_inverse=True)
    blocks = [sp.csr_array((np.ones(n), (jj, np.arange(n))), shape=(len(comps), n))]
    hi = [demand[comps]]
    fin = np.flatnonzero(np.isfinite(cap[f]))
    if len(fin):
        facs, ff = np.unique(f[fin], return_inverse=True)
        blocks.append(sp.csr_array((np.ones(len(fin)), (ff, fin)), shape=(len(facs), n)))
        hi.append(cap[facs])
    a = sp.vstack(blocks, format="csr")
    b_ub = np.concatenate(hi)
    lo, hi_x = np.zeros(n), demand[j]
    first = solve_milp(MilpModel(-np.ones(n), a, np.full(len(b_ub), -np.inf), b_ub, lo, hi_x),
                       what="assignment LP")
    x = first.x
    assert x is not None  # solve_milp raises when there is no solution
    if nearest:
        # keep phase 1's served demand (HiGHS holds it to its feasibility tolerance, 1e-7)
        a2 = sp.vstack([a, sp.csr_array(-np.ones((1, n)))], format="csr")
        b2 = np.concatenate([b_ub, [first.objective]])
        try:
            second = solve_milp(MilpModel(dm, a2, np.full(len(b2), -np.inf), b2, lo, hi_x),
                                what="assignment LP, nearest facility")
            assert second.x is not None
            x = second.x
        except SolverError as exc:  # numerically at the edge: keep phase 1's (equally served)
            log.debug("%s; using phase 1", exc)
    out[use] = np.clip(x, 0.0, demand[j])
    return out


def assign(cat: PlanCategory, open_new: Sequence[int] | np.ndarray = (), *,
           nearest: bool = True) -> Assignment:
    """Serve each compound's demand from the open facilities within its walking reach.

    Existing facilities are always open. Maximises served demand with no facility beyond its
    capacity, then sends residents to the nearest facility with room (fewest person-metres).
    Without finite capacities every compound within reach is fully served by its nearest
    facility.

    Parameters
    ----------
    cat : PlanCategory
    open_new : sequence of int
        Spaces opened as new facilities of this category.
    nearest : bool
        Send residents to the nearest facility with room (a second LP). False stops after the
        first: the served total is the same, the split between facilities arbitrary.

    Returns
    -------
    Assignment
    """
    open_idx = np.unique(np.asarray(open_new, dtype=np.intp))
    dist, cap = _facilities(cat, open_idx)
    n_old = cat.reach_old.shape[0]
    d = np.asarray(cat.demand, dtype=float)
    n_comp = len(d)
    near, _ = _nearest(dist, n_comp)
    covered = near >= 0
    nearest_load = np.bincount(near[covered], weights=d[covered], minlength=len(cap))
    if not np.isfinite(cap).any():
        served = np.where(covered, d, 0.0)
        load = nearest_load
    else:
        cols = np.flatnonzero(covered & (d > 0))
        flow = _flow_lp(dist, cap, d, cols, nearest=nearest)
        coo = sp.coo_array(dist)
        served = np.minimum(np.bincount(coo.col, weights=flow, minlength=n_comp), d)
        load = np.bincount(coo.row, weights=flow, minlength=len(cap))
    return Assignment(open_new=open_idx, served=served, covered=covered,
                      load_new=load[n_old:], load_old=load[:n_old],
                      nearest_new=nearest_load[n_old:], nearest_old=nearest_load[:n_old])


_INT32_MAX = 2**31 - 1  # scipy's maximum_flow takes int32 capacities


def _max_flow_served(dist: sp.csr_array, cap: np.ndarray, demand: np.ndarray) -> float | None:
    """The most demand the facilities (rows of ``dist``) can serve, as an exact integer max flow.

    Network: source -> compound (its demand) -> each facility within reach (the compound's
    demand) -> sink (the facility's capacity; unlimited = all demand). Its value is the first
    phase of :func:`assign`'s LP, without the LP solver's tolerances. None when a demand or a
    finite capacity is not a whole number, or the demand is too large for int32.
    """
    coo = sp.coo_array(dist)
    d = np.asarray(demand, dtype=float)
    pair = d[coo.col] > 0
    fac, comp = coo.row[pair], coo.col[pair]
    if len(fac) == 0:
        return 0.0
    comps, jj = np.unique(comp, return_inverse=True)
    dc = d[comps]
    total = float(dc.sum())
    finite = np.isfinite(cap)
    if (total > _INT32_MAX or np.any(dc != np.round(dc))
            or np.any(cap[finite] != np.round(cap[finite]))):
        return None
    n_c, n_f = len(comps), len(cap)
    sink = 1 + n_c + n_f
    to_sink = np.where(finite, np.minimum(cap, total), total)
    rows = np.concatenate([np.zeros(n_c, np.int64), 1 + jj, 1 + n_c + np.arange(n_f)])
    cols = np.concatenate([1 + np.arange(n_c), 1 + n_c + fac, np.full(n_f, sink)])
    caps = np.concatenate([dc, dc[jj], to_sink]).astype(np.int32)
    graph = sp.csr_array((caps, (rows, cols)), shape=(sink + 1, sink + 1))
    return float(maximum_flow(graph, 0, sink).flow_value)


def _served(cat: PlanCategory, open_new: np.ndarray) -> float:
    """Demand served with the existing facilities and the spaces ``open_new`` open."""
    if np.isfinite(np.asarray(cat.capacity_new, dtype=float)[open_new]).any() or np.isfinite(
            cat.capacity_old).any():
        dist, cap = _facilities(cat, np.unique(np.asarray(open_new, dtype=np.intp)))
        value = _max_flow_served(dist, cap, cat.demand)
        if value is not None:
            return value
    return assign(cat, open_new, nearest=False).served_total


def rank(cat: PlanCategory, chosen: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Order chosen spaces greedily by served demand added; drop those adding nothing.

    Each step takes the space adding the most (ties, within a billionth of the demand: the
    lowest space index). Served demand is submodular in the set of open facilities (a max-flow
    value; coverage without capacities): a space's gain never grows as others open, so its
    gain in an earlier step bounds it now, and a space whose bound cannot reach the best
    found (or only tie it from a higher index) is not evaluated again (lazy greedy, the same
    order as evaluating all). Once no space adds anything, the rest together add nothing.
    """
    eps = REL_TOL * max(1.0, float(np.sum(cat.demand)))
    order: list[int] = []
    gains: list[float] = []
    current = _served(cat, np.empty(0, dtype=np.intp))
    bound = {int(i): np.inf for i in chosen}  # gain bound per space left
    while bound:
        values: dict[int, float] = {}
        best = -1
        for i in sorted(bound, key=lambda s: (-bound[s], s)):
            if values:
                reach = current + bound[i]
                if reach < values[best] - eps or (i > best and reach <= values[best] + eps):
                    continue
            values[i] = _served(cat, np.array([*order, i], dtype=np.intp))
            bound[i] = values[i] - current
            top = max(values.values())
            best = min(s for s, v in values.items() if v >= top - eps)
        if values[best] - current <= tol:
            break
        order.append(best)
        gains.append(values[best] - current)
        current = values[best]
        del bound[best]
    return np.array(order, dtype=np.intp), np.array(gains, dtype=float)
