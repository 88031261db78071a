"""The joint plan as arrays: every planned category at once on one stock of spaces, with capacity.

Pure functions; the street network never appears. For each planned category the caller gives a
:class:`PlanCategory`:

``reach_new`` / ``reach_old``
    ``scipy.sparse`` CSR matrices of walking distances in metres, shape ``(n_spaces,
    n_compounds)`` for the candidate spaces and ``(n_old, n_compounds)`` for the category's
    existing facilities. A *stored entry* (explicit zeros included) means "within the
    category's walking limit"; its value is the distance, used only to send residents to the
    nearer of two facilities when both have room.
``demand``
    Residents the category serves per compound (its demand unit, e.g. residents aged 60+).
``capacity_new`` / ``capacity_old``
    How much demand one facility can serve, in the same unit; ``inf`` = unlimited.
``eligible``
    Which spaces may host the category (floor area, the candidate's own category, on the
    network).
``k``, ``weight``
    Up to ``k`` new facilities; the category's served demand counts ``weight`` times in the
    objective (a dimensionless factor, 1 by default).

The model (a capacitated maximal covering location problem over several categories)
----------------------------------------------------------------------------------------
Binary ``x[i, c]`` opens space ``i`` as a facility of category ``c``; continuous ``z[f, j, c]``
is the demand of compound ``j`` served by facility ``f`` (an open space or an existing
facility) within walking reach; ``u[j, c]`` in [0, 1] is the share of ``j`` served by open
spaces of unlimited capacity::

    maximise   sum_c weight_c * ( sum_j d_jc u_jc + sum_{f,j} z_fjc )
    subject to sum_c x_ic <= 1                      each space hosts at most one facility
               sum_i x_ic <= k_c                    at most k_c new facilities per category
               u_jc <= sum_{i unlimited, reaches j} x_ic
               d_jc u_jc + sum_f z_fjc <= d_jc       nobody is served twice
               sum_j z_fjc <= cap_f x_fc  (new)  or  <= cap_f  (existing)
               z_fjc <= d_jc x_fc                   (new; tightens the LP relaxation)

With capacities, many plans can serve the same demand (every new facility full); among them
a second MILP (the first's served demand kept, to HiGHS's tolerance of 1e-7 of it) picks one
bringing the most weighted demand within walking reach (``v[g, c] <= sum of the x that reach
pool g``), so the plan also closes the gaps in reach. Without capacities served and within reach
are the same and one solve suffices.

Compounds within reach of an existing facility of unlimited capacity are served already and
leave the model. Compounds with the same facilities within reach are pooled (the model is
symmetric in them, so this is exact); a pool reached by a single unlimited space and nothing
else becomes that space's objective weight. Without any finite capacity the model *is* the
maximal covering location problem of :mod:`coverage.siting` with the two sharing constraints
added (spaces dominated by another space cannot be dropped here: the better space may be
taken by another category). HiGHS solves it exactly through :func:`coverage.siting.solve_milp`,
the package's MILP wrapper (status checked, relative gap 1e-9).

Once the spaces are chosen, who is served by whom is a linear programme per category
(:func:`assign`): first the most demand served, then, among assignments serving that much,
the fewest person-metres walked, so residents go to the nearest facility with room. Without
finite capacities this is exactly "covered = within reach of a facility, served by the
nearest one".
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from ..errors import SolverError
from ..siting import MilpModel, solve_milp

__all__ = [
    "Assignment",
    "CategoryOutcome",
    "JointOutcome",
    "PlanCategory",
    "assign",
    "double_booked",
    "solve_independent",
    "solve_joint",
]

log = logging.getLogger(__name__)

_REL_TOL = 1e-9  # demand differences below this share of total demand count as zero
_LP_REL_TOL = 1e-7  # HiGHS's primal feasibility tolerance: LP served totals are this exact


@dataclass(frozen=True)
class PlanCategory:
    """One planned category's inputs (see the module docstring for the meaning of each array).

    Attributes
    ----------
    key : str
    reach_new : scipy.sparse.csr_array, shape (n_spaces, n_compounds)
        Walking distance (m) from each candidate space to each compound within the limit.
    reach_old : scipy.sparse.csr_array, shape (n_old, n_compounds)
        The same for the category's existing facilities.
    demand : ndarray of float, shape (n_compounds,)
        Demand per compound, >= 0 (the category's demand unit).
    k : int
        New facilities allowed (>= 0).
    eligible : ndarray of bool, shape (n_spaces,)
        Spaces that may host this category.
    capacity_new : ndarray of float, shape (n_spaces,)
        Capacity of a new facility of this category in each space (demand unit; inf =
        unlimited).
    capacity_old : ndarray of float, shape (n_old,)
        Capacity of each existing facility (inf = unlimited).
    weight : float
        Factor on this category's served demand in the objective (> 0).
    """

    key: str
    reach_new: sp.csr_array
    reach_old: sp.csr_array
    demand: np.ndarray
    k: int
    eligible: np.ndarray
    capacity_new: np.ndarray
    capacity_old: np.ndarray
    weight: float = 1.0

    def __post_init__(self) -> None:
        n_spaces, n_comp = self.reach_new.shape
        checks = [
            (self.reach_old.shape[1] == n_comp, "reach_old has another number of compounds"),
            (np.shape(self.demand) == (n_comp,), "demand does not match reach_new's columns"),
            (np.shape(self.eligible) == (n_spaces,), "eligible does not match reach_new's rows"),
            (np.shape(self.capacity_new) == (n_spaces,), "capacity_new does not match spaces"),
            (np.shape(self.capacity_old) == (self.reach_old.shape[0],),
             "capacity_old does not match reach_old's rows"),
            (self.k >= 0, f"k must be >= 0, got {self.k}"),
            (math.isfinite(self.weight) and self.weight > 0, "weight must be > 0"),
            (bool(np.all(np.isfinite(self.demand)) and np.all(np.asarray(self.demand) >= 0)),
             "demand must be finite and >= 0"),
            (bool(np.all(np.asarray(self.capacity_new) >= 0)
                  and np.all(np.asarray(self.capacity_old) >= 0)), "capacities must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"category {self.key}: {message}")

    @property
    def n_spaces(self) -> int:
        return int(self.reach_new.shape[0])

    @property
    def n_compounds(self) -> int:
        return int(self.reach_new.shape[1])

    @property
    def capacitated(self) -> bool:
        """True when some facility (existing or a possible new one) has a finite capacity."""
        new = np.asarray(self.capacity_new)[np.asarray(self.eligible, bool)]
        return bool(np.isfinite(new).any() or np.isfinite(self.capacity_old).any())


@dataclass(frozen=True)
class Assignment:
    """Who is served by whom in one category, given the open facilities.

    Attributes
    ----------
    open_new : ndarray of int
        Open spaces (sorted space indices).
    served : ndarray of float, shape (n_compounds,)
        Demand served per compound (<= demand).
    covered : ndarray of bool, shape (n_compounds,)
        Within walking reach of at least one open facility (served or not).
    load_new, load_old : ndarray of float
        Demand served by each open space (aligned with ``open_new``) and each existing
        facility (<= capacity).
    nearest_new, nearest_old : ndarray of float
        Demand for which the facility is the nearest open one within reach (ties: existing
        before new, then the lower index): what would come if nobody were turned away. May
        exceed the capacity.
    """

    open_new: np.ndarray
    served: np.ndarray
    covered: np.ndarray
    load_new: np.ndarray
    load_old: np.ndarray
    nearest_new: np.ndarray
    nearest_old: np.ndarray

    @property
    def served_total(self) -> float:
        return float(self.served.sum())


@dataclass(frozen=True)
class CategoryOutcome:
    """One category's new facilities and what they change.

    Attributes
    ----------
    key : str
    selected : ndarray of int
        Chosen spaces in rank order: each adds the most served demand given those before it.
        Spaces that would add nothing are not listed.
    gains : ndarray of float
        Served demand each selected space adds, given those before it (demand unit).
    base : Assignment
        Existing facilities only.
    plan : Assignment
        Existing facilities and the selected spaces.
    """

    key: str
    selected: np.ndarray
    gains: np.ndarray
    base: Assignment
    plan: Assignment

    @property
    def gain(self) -> float:
        """Served demand added by the selected spaces (demand unit)."""
        return float(self.plan.served_total - self.base.served_total)


@dataclass(frozen=True)
class JointOutcome:
    """A plan for several categories.

    Attributes
    ----------
    categories : dict of key -> CategoryOutcome
    weights : dict of key -> float
    status : str
        ``"optimal"`` when HiGHS proved optimality; ``"time_limit"`` when the caller accepted
        the best plan found in time.
    solve_s : float
        Wall time (s) of the whole solve, assignments included.
    """

    categories: dict[str, CategoryOutcome]
    weights: dict[str, float]
    status: str
    solve_s: float = 0.0

    @property
    def objective(self) -> float:
        """Weighted served demand added by the plan (sum over categories of weight x gain)."""
        return float(sum(self.weights[k] * c.gain for k, c in self.categories.items()))

    def space_use(self) -> dict[int, list[str]]:
        """Space index -> the category keys placed in it (one, in a joint plan)."""
        use: dict[int, list[str]] = {}
        for key, cat in self.categories.items():
            for i in cat.selected:
                use.setdefault(int(i), []).append(key)
        return use


# --- sparse helpers ------------------------------------------------------------------------------


def _pattern(m: sp.csr_array | sp.csr_matrix) -> sp.csr_array:
    """Boolean pattern of the stored entries (explicit zeros count: distance 0 is within reach)."""
    m = sp.csr_array(m)
    out = sp.csr_array((np.ones(len(m.indices), bool), m.indices.copy(), m.indptr.copy()),
                       shape=m.shape)
    out.sum_duplicates()
    return out


def _reached(m: sp.csr_array, rows: np.ndarray) -> np.ndarray:
    """Columns reached by any of ``rows`` (bool per column)."""
    hit = np.zeros(m.shape[1], bool)
    if len(rows):
        sub = _pattern(m)[np.asarray(rows, dtype=np.intp)]
        hit[sub.indices] = True
    return hit


# --- the MILP ------------------------------------------------------------------------------------


@dataclass
class _Builder:
    """Variables, objective and constraint triplets of the joint MILP, grown category by
    category."""

    obj: list[float] = field(default_factory=list)  # served demand (weighted)
    obj2: list[float] = field(default_factory=list)  # covered demand (weighted): tie-break
    lb: list[float] = field(default_factory=list)
    ub: list[float] = field(default_factory=list)
    integer: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    cols: list[int] = field(default_factory=list)
    vals: list[float] = field(default_factory=list)
    row_lb: list[float] = field(default_factory=list)
    row_ub: list[float] = field(default_factory=list)

    def var(self, obj: float, ub: float, *, integer: bool = False, obj2: float = 0.0) -> int:
        self.obj.append(obj)
        self.obj2.append(obj2)
        self.lb.append(0.0)
        self.ub.append(ub)
        self.integer.append(int(integer))
        return len(self.obj) - 1

    def row(self, terms: Sequence[tuple[int, float]], lo: float, hi: float) -> None:
        r = len(self.row_lb)
        for col, val in terms:
            self.rows.append(r)
            self.cols.append(col)
            self.vals.append(val)
        self.row_lb.append(lo)
        self.row_ub.append(hi)

    def solve(self, time_limit_s: float, accept_time_limit: bool) -> tuple[np.ndarray, str]:
        """Most served demand; among such plans, most demand within reach (two MILPs)."""
        n = len(self.obj)
        a = sp.csr_array((self.vals, (self.rows, self.cols)), shape=(len(self.row_lb), n))
        model = MilpModel(np.zeros(n), a, np.array(self.row_lb), np.array(self.row_ub),
                          np.asarray(self.lb), np.asarray(self.ub),
                          np.asarray(self.integer, dtype=bool))
        served = np.asarray(self.obj)
        # the MILP minimises: negate the demand
        first = solve_milp(dataclasses.replace(model, c=-served), what="joint plan",
                           time_limit_s=time_limit_s, accept_time_limit=accept_time_limit)
        assert first.x is not None  # solve_milp raises when there is no solution
        covered = np.asarray(self.obj2)
        if np.array_equal(covered, served):  # no capacities: within reach = served
            return first.x, first.status
        best = float(served @ first.x)
        keep = sp.vstack([a, sp.csr_array(served[None, :])], format="csr")
        second = solve_milp(
            dataclasses.replace(model, c=-covered, rows=keep,
                                row_lo=np.append(model.row_lo, best - _LP_REL_TOL * max(1.0, best)),
                                row_hi=np.append(model.row_hi, np.inf)),
            what="joint plan (most demand within reach)", time_limit_s=time_limit_s,
            accept_time_limit=accept_time_limit)
        assert second.x is not None
        return second.x, next((s for s in (first.status, second.status) if s != "optimal"),
                              "optimal")


def _pools(cat: PlanCategory, spaces: np.ndarray) -> tuple[list[tuple[bytes, bytes, bytes]],
                                                           np.ndarray]:
    """Pool the compounds the model needs by the facilities within their reach.

    Returns each pool's signature (unlimited spaces, finite spaces, finite existing facilities;
    as int64 bytes, indices into ``spaces`` and the existing facilities) and its demand.
    """
    unlimited_old = ~np.isfinite(cat.capacity_old)
    fixed = _reached(cat.reach_old, np.flatnonzero(unlimited_old))
    new_t = _pattern(cat.reach_new)[spaces].T.tocsr()
    old_t = _pattern(cat.reach_old)[np.flatnonzero(~unlimited_old)].T.tocsr()
    finite_old = np.flatnonzero(~unlimited_old)
    cap_new = np.asarray(cat.capacity_new, dtype=float)[spaces]
    inf_new = ~np.isfinite(cap_new)
    d = np.asarray(cat.demand, dtype=float)
    reached = np.diff(new_t.indptr) > 0
    keep = np.flatnonzero((d > 0) & ~fixed & (reached | (np.diff(old_t.indptr) > 0)))
    pools: dict[tuple[bytes, bytes, bytes], float] = {}
    for j in keep:
        sp_j = new_t.indices[new_t.indptr[j]:new_t.indptr[j + 1]].astype(np.int64)
        sp_j.sort()
        old_j = finite_old[old_t.indices[old_t.indptr[j]:old_t.indptr[j + 1]]].astype(np.int64)
        old_j.sort()
        key = (sp_j[inf_new[sp_j]].tobytes(), sp_j[~inf_new[sp_j]].tobytes(), old_j.tobytes())
        pools[key] = pools.get(key, 0.0) + float(d[j])
    return list(pools), np.array(list(pools.values()), dtype=float)


def _reach_pools(cat: PlanCategory, spaces: np.ndarray) -> dict[bytes, float]:
    """Compounds no existing facility reaches, pooled by the spaces that reach them (demand)."""
    fixed = _reached(cat.reach_old, np.arange(cat.reach_old.shape[0]))
    new_t = _pattern(cat.reach_new)[spaces].T.tocsr()
    d = np.asarray(cat.demand, dtype=float)
    pools: dict[bytes, float] = {}
    for j in np.flatnonzero((d > 0) & ~fixed & (np.diff(new_t.indptr) > 0)):
        key = np.sort(new_t.indices[new_t.indptr[j]:new_t.indptr[j + 1]].astype(np.int64))
        pools[key.tobytes()] = pools.get(key.tobytes(), 0.0) + float(d[j])
    return pools


def _add_reach(b: _Builder, cat: PlanCategory, spaces: np.ndarray, xs: list[int]) -> None:
    """The tie-break: demand brought within reach (second objective) of a capacitated category."""
    for key, dem in _reach_pools(cat, spaces).items():
        members = np.frombuffer(key, np.int64)
        if len(members) == 1:
            b.obj2[xs[members[0]]] += cat.weight * dem
            continue
        v = b.var(0.0, 1.0, obj2=cat.weight * dem)
        b.row([(v, 1.0), *((xs[i], -1.0) for i in members)], -np.inf, 0.0)


def _add_served(b: _Builder, cat: PlanCategory, spaces: np.ndarray, xs: list[int]) -> None:
    """Served demand (first objective); for an uncapacitated category also the second."""
    w = cat.weight
    same = 0.0 if cat.capacitated else 1.0  # without capacities served = within reach
    cap_new = np.asarray(cat.capacity_new, dtype=float)
    z_of: dict[tuple[str, int], list[int]] = {}  # facility -> its z variables
    for (inf_b, fin_b, old_b), dem in zip(*_pools(cat, spaces), strict=True):
        inf_s = np.frombuffer(inf_b, np.int64)
        fin_s = np.frombuffer(fin_b, np.int64)
        old_f = np.frombuffer(old_b, np.int64)
        if len(inf_s) == 1 and not len(fin_s) and not len(old_f):
            b.obj[xs[inf_s[0]]] += w * dem  # u = x at the optimum
            b.obj2[xs[inf_s[0]]] += same * w * dem
            continue
        served = []
        if len(inf_s):
            u = b.var(w * dem, 1.0, obj2=same * w * dem)
            b.row([(u, 1.0), *((xs[s], -1.0) for s in inf_s)], -np.inf, 0.0)
            served.append((u, dem))
        for s in fin_s:
            z = b.var(w, dem)
            z_of.setdefault(("new", int(s)), []).append(z)
            b.row([(z, 1.0), (xs[s], -dem)], -np.inf, 0.0)  # z <= d x
            served.append((z, 1.0))
        for o in old_f:
            z = b.var(w, dem)
            z_of.setdefault(("old", int(o)), []).append(z)
            served.append((z, 1.0))
        if len(served) > 1:  # a single variable is bounded by its own upper bound
            b.row(served, -np.inf, dem)
    for (kind, f), zs in z_of.items():
        if kind == "new":
            b.row([*((z, 1.0) for z in zs), (xs[f], -float(cap_new[spaces[f]]))], -np.inf, 0.0)
        else:
            b.row([(z, 1.0) for z in zs], -np.inf, float(cat.capacity_old[f]))


def _add_category(b: _Builder, cat: PlanCategory, spaces: np.ndarray,
                  x_of: dict[tuple[int, str], int]) -> None:
    """Add one category's variables and rows; ``x_of`` maps (space, key) to x's index."""
    xs = [b.var(0.0, 1.0, integer=True) for _ in spaces]
    for i, v in zip(spaces, xs, strict=True):
        x_of[(int(i), cat.key)] = v
    b.row([(v, 1.0) for v in xs], -np.inf, float(cat.k))
    _add_served(b, cat, spaces, xs)
    if cat.capacitated:
        _add_reach(b, cat, spaces, xs)


def _useful_spaces(cat: PlanCategory) -> np.ndarray:
    """Eligible spaces that reach at least one compound with demand (and have capacity)."""
    reach = _pattern(cat.reach_new)
    d = np.asarray(cat.demand, dtype=float)
    has = np.asarray(reach.astype(np.float64) @ (d > 0).astype(np.float64)).ravel() > 0
    ok = np.asarray(cat.eligible, bool) & has & (np.asarray(cat.capacity_new) > 0)
    return np.flatnonzero(ok) if cat.k > 0 else np.empty(0, dtype=np.intp)


def _choose(cats: Sequence[PlanCategory], time_limit_s: float,
            accept_time_limit: bool) -> tuple[dict[str, np.ndarray], str, float | None]:
    """Solve the joint MILP: the chosen spaces per category, the solver status and the
    weighted served demand the model counts (that of compounds the model holds; None when
    there is no space to choose and nothing was solved)."""
    b = _Builder()
    x_of: dict[tuple[int, str], int] = {}
    spaces = {c.key: _useful_spaces(c) for c in cats}
    for cat in cats:
        _add_category(b, cat, spaces[cat.key], x_of)
    by_space: dict[int, list[int]] = {}
    for (i, _key), v in x_of.items():
        by_space.setdefault(i, []).append(v)
    for vs in by_space.values():
        if len(vs) > 1:
            b.row([(v, 1.0) for v in vs], -np.inf, 1.0)
    if not x_of:
        return {c.key: np.empty(0, dtype=np.intp) for c in cats}, "optimal", None
    log.debug("joint plan MILP: %d variables (%d binary), %d rows", len(b.obj),
              sum(b.integer), len(b.row_lb))
    x, status = b.solve(time_limit_s, accept_time_limit)
    chosen = {c.key: np.array(sorted(i for i in spaces[c.key] if x[x_of[(int(i), c.key)]] > 0.5),
                              dtype=np.intp) for c in cats}
    return chosen, status, float(np.asarray(b.obj) @ x)


# --- assignment ----------------------------------------------------------------------------------


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
    bounds = np.column_stack([np.zeros(n), demand[j]])
    first = linprog(-np.ones(n), A_ub=a, b_ub=b_ub, bounds=bounds, method="highs")
    if first.status != 0:
        raise SolverError(f"assignment LP failed: {first.message}")
    x = np.asarray(first.x)
    if nearest:
        # keep phase 1's served demand (HiGHS holds it to its feasibility tolerance, 1e-7)
        a2 = sp.vstack([a, sp.csr_array(-np.ones((1, n)))], format="csr")
        second = linprog(dm, A_ub=a2, b_ub=np.concatenate([b_ub, [float(first.fun)]]),
                         bounds=bounds, method="highs")
        if second.status == 0:
            x = np.asarray(second.x)
        else:  # numerically at the edge: keep phase 1's (equally served) assignment
            log.debug("assignment LP, nearest facility: %s; using phase 1", second.message)
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


def _served(cat: PlanCategory, open_new: np.ndarray) -> float:
    return assign(cat, open_new, nearest=False).served_total


def _rank(cat: PlanCategory, chosen: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Order chosen spaces greedily by served demand added; drop those adding nothing.

    Served demand is submodular in the set of open facilities (a max-flow value; coverage
    without capacities), so once no space adds anything, the rest together add nothing either.
    """
    order: list[int] = []
    gains: list[float] = []
    current = _served(cat, np.empty(0, dtype=np.intp))
    left = [int(i) for i in chosen]
    while left:
        values = [_served(cat, np.array([*order, i], dtype=np.intp)) for i in left]
        best = int(np.argmax(values))  # ties: lowest space index (left is sorted)
        if values[best] - current <= tol:
            break
        order.append(left.pop(best))
        gains.append(values[best] - current)
        current = values[best]
    return np.array(order, dtype=np.intp), np.array(gains, dtype=float)


def _outcome(cat: PlanCategory, chosen: np.ndarray) -> CategoryOutcome:
    # LP served totals carry HiGHS's feasibility tolerance (1e-7 per row): a gain below a
    # millionth of the demand is noise there, exactly zero without capacities.
    share = _LP_REL_TOL * 10 if cat.capacitated else _REL_TOL
    tol = share * max(1.0, float(np.sum(cat.demand)))
    selected, gains = _rank(cat, np.sort(chosen), tol)
    return CategoryOutcome(key=cat.key, selected=selected, gains=gains,
                           base=assign(cat, np.empty(0, dtype=np.intp)),
                           plan=assign(cat, selected))


def _check_served(cats: Sequence[PlanCategory], outcomes: dict[str, CategoryOutcome],
                  model_served: float | None) -> None:
    """The MILP's served demand must be what the assignment of the chosen spaces serves.

    The model leaves out compounds an existing facility of unlimited capacity serves already;
    the assignment counts them. A difference beyond the solvers' tolerances means the model
    and the assignment disagree (numerical trouble or a bug): never report such a plan.
    """
    if model_served is None:
        return
    expected = 0.0
    scale = 1.0
    for cat in cats:
        unlimited = np.flatnonzero(~np.isfinite(cat.capacity_old))
        fixed = _reached(cat.reach_old, unlimited) & (np.asarray(cat.demand) > 0)
        served = outcomes[cat.key].plan.served_total
        expected += cat.weight * (served - float(np.asarray(cat.demand)[fixed].sum()))
        scale += cat.weight * float(np.sum(cat.demand))
    if abs(expected - model_served) > 10 * _LP_REL_TOL * scale:
        raise SolverError(
            f"joint plan: the solver counts {model_served:,.3f} weighted served demand, the "
            f"assignment of its spaces {expected:,.3f} (numerical trouble); not reported")


def _check_keys(cats: Sequence[PlanCategory]) -> None:
    keys = [c.key for c in cats]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate category keys in {keys}")
    if len({c.n_spaces for c in cats}) > 1:
        raise ValueError("every category must be given the same spaces (rows of reach_new)")


def solve_joint(cats: Sequence[PlanCategory], *, time_limit_s: float = 60.0,
                accept_time_limit: bool = False) -> JointOutcome:
    """The best plan for all categories at once (exact).

    Each space hosts at most one new facility and only a category it is eligible for; each
    category gets at most ``k`` new facilities; the weighted served demand is maximised.

    Parameters
    ----------
    cats : sequence of PlanCategory
        The planned categories, all over the same spaces (rows of ``reach_new``).
    time_limit_s : float
        HiGHS time limit (s).
    accept_time_limit : bool
        Return the best plan found (status ``"time_limit"``) instead of raising when the
        time limit is hit.

    Returns
    -------
    JointOutcome

    Raises
    ------
    SolverError
        HiGHS failed or hit the time limit (unless accepted).
    """
    t0 = time.perf_counter()
    _check_keys(cats)
    chosen, status, model_served = _choose(cats, time_limit_s, accept_time_limit)
    outcomes = {c.key: _outcome(c, chosen[c.key]) for c in cats}
    _check_served(cats, outcomes, model_served)
    out = JointOutcome(categories=outcomes, weights={c.key: c.weight for c in cats},
                       status=status, solve_s=time.perf_counter() - t0)
    log.info("joint plan: %d categories, %d spaces -> %d new facilities, weighted +%.1f "
             "served (%s, %.2f s)", len(cats), cats[0].n_spaces if cats else 0,
             sum(len(c.selected) for c in outcomes.values()), out.objective, status, out.solve_s)
    return out


def solve_independent(cats: Sequence[PlanCategory], *, time_limit_s: float = 60.0,
                      accept_time_limit: bool = False) -> JointOutcome:
    """Each category's best plan on its own, as if the others did not need spaces.

    Without finite capacities this is :func:`coverage.siting.solve_mclp` on the eligible
    spaces; with capacities the joint model with one category. The sum of the weighted gains
    bounds the joint plan's from above; the answers may put two categories into one space
    (see :func:`double_booked`).
    """
    from ..siting import solve_mclp

    t0 = time.perf_counter()
    _check_keys(cats)
    outcomes: dict[str, CategoryOutcome] = {}
    statuses = []
    for cat in cats:
        rows = _useful_spaces(cat)
        if cat.capacitated or not len(rows):
            chosen, status, model_served = _choose([cat], time_limit_s, accept_time_limit)
            pick = chosen[cat.key]
        else:
            covered = _reached(cat.reach_old, np.arange(cat.reach_old.shape[0]))
            res = solve_mclp(_pattern(cat.reach_new)[rows], cat.demand, covered, cat.k,
                             time_limit_s=time_limit_s, accept_time_limit=accept_time_limit)
            pick, status = rows[res.selected], res.status
        statuses.append(status)
        outcomes[cat.key] = _outcome(cat, pick)
        if cat.capacitated or not len(rows):
            _check_served([cat], outcomes, model_served)
    status = next((s for s in statuses if s != "optimal"), "optimal")
    return JointOutcome(categories=outcomes, weights={c.key: c.weight for c in cats},
                        status=status, solve_s=time.perf_counter() - t0)


def double_booked(plan: JointOutcome) -> dict[int, list[str]]:
    """Spaces that a plan puts more than one category into: space index -> category keys."""
    return {i: keys for i, keys in sorted(plan.space_use().items()) if len(keys) > 1}
