"""The joint MILP: which spaces each planned category opens, all categories at once.

Inputs are :class:`coverage.jointplan.records.PlanCategory` records (pure arrays); the answer
of :func:`choose` is the chosen spaces per category.

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
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..siting import MilpModel, solve_milp
from .records import LP_REL_TOL, PlanCategory

__all__ = ["choose", "reach_pattern", "reached_by", "useful_spaces"]

log = logging.getLogger(__name__)


# --- sparse helpers ------------------------------------------------------------------------------


def reach_pattern(m: sp.csr_array | sp.csr_matrix) -> sp.csr_array:
    """Boolean pattern of the stored entries (explicit zeros count: distance 0 is within reach)."""
    m = sp.csr_array(m)
    out = sp.csr_array((np.ones(len(m.indices), bool), m.indices.copy(), m.indptr.copy()),
                       shape=m.shape)
    out.sum_duplicates()
    return out


def reached_by(m: sp.csr_array, rows: np.ndarray) -> np.ndarray:
    """Columns reached by any of ``rows`` (bool per column)."""
    hit = np.zeros(m.shape[1], bool)
    if len(rows):
        sub = reach_pattern(m)[np.asarray(rows, dtype=np.intp)]
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
        covered = np.asarray(self.obj2)
        one = np.array_equal(covered, served)  # no capacities: within reach = served
        # the MILP minimises: negate the demand. When a second MILP picks the plan, only the
        # first's optimal value matters, and HiGHS finds it 3-8 times faster without presolve
        # (on the Huitian sample); the plan itself comes from a presolved solve either way.
        first = solve_milp(dataclasses.replace(model, c=-served), what="joint plan",
                           time_limit_s=time_limit_s, accept_time_limit=accept_time_limit,
                           presolve=one)
        assert first.x is not None  # solve_milp raises when there is no solution
        if one:
            return first.x, first.status
        best = float(served @ first.x)
        # the first plan keeps its own served demand: HiGHS starts from it as an incumbent
        keep = sp.vstack([a, sp.csr_array(served[None, :])], format="csr")
        second = solve_milp(
            dataclasses.replace(model, c=-covered, rows=keep,
                                row_lo=np.append(model.row_lo, best - LP_REL_TOL * max(1.0, best)),
                                row_hi=np.append(model.row_hi, np.inf)),
            what="joint plan (most demand within reach)", time_limit_s=time_limit_s,
            accept_time_limit=accept_time_limit, start=first.x)
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
    fixed = reached_by(cat.reach_old, np.flatnonzero(unlimited_old))
    new_t = reach_pattern(cat.reach_new)[spaces].T.tocsr()
    old_t = reach_pattern(cat.reach_old)[np.flatnonzero(~unlimited_old)].T.tocsr()
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
    fixed = reached_by(cat.reach_old, np.arange(cat.reach_old.shape[0]))
    new_t = reach_pattern(cat.reach_new)[spaces].T.tocsr()
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


def useful_spaces(cat: PlanCategory) -> np.ndarray:
    """Eligible spaces that reach at least one compound with demand (and have capacity)."""
    reach = reach_pattern(cat.reach_new)
    d = np.asarray(cat.demand, dtype=float)
    has = np.asarray(reach.astype(np.float64) @ (d > 0).astype(np.float64)).ravel() > 0
    ok = np.asarray(cat.eligible, bool) & has & (np.asarray(cat.capacity_new) > 0)
    return np.flatnonzero(ok) if cat.k > 0 else np.empty(0, dtype=np.intp)


def choose(cats: Sequence[PlanCategory], time_limit_s: float,
            accept_time_limit: bool) -> tuple[dict[str, np.ndarray], str, float | None]:
    """Solve the joint MILP: the chosen spaces per category, the solver status and the
    weighted served demand the model counts (that of compounds the model holds; None when
    there is no space to choose and nothing was solved)."""
    b = _Builder()
    x_of: dict[tuple[int, str], int] = {}
    spaces = {c.key: useful_spaces(c) for c in cats}
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

