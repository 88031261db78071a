"""Exact maximal covering and set cover for one category, each question solved once.

:class:`Exact` holds one problem's reduction, its set-cover LP bound, the fewest sites covering
everything and a cache of answers, so that :func:`plan_sites` asking the 100 % cover, the best
``k`` sites and the 95 % cover solves each question once; every question is searched on an LP
relaxation of its own, so each answer equals a fresh solve's. When ``k`` reaches the set-cover
LP bound the full cover is tried first: if it needs no more than ``k`` sites it is the answer
(nothing covers more, and no smaller set covers as much).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from ..errors import SolverError
from ._bnb import CoverLP, Goal, Outcome, Problem, Search
from ._problem import _Problem, _reduce, _Reduced
from .milp import MilpModel, solve_milp

log = logging.getLogger("coverage.siting")


def worst(*statuses: str) -> str:
    """The first status that is not "optimal" (else "optimal")."""
    return next((s for s in statuses if s != "optimal"), "optimal")


class Exact:
    """Exact MCLP and set cover on one problem (see :mod:`coverage.siting._bnb`).

    Every search starts from a good incumbent (greedy, improved by 1-swaps; the root LP's
    rounding too) and proves it optimal, or improves it, by branch and bound. With integer
    demands (residents) objective values are integers, so a bound less than one above the best
    proves it optimal; otherwise the proof holds to 1e-9 of the total demand.
    """

    def __init__(self, p: _Problem, time_limit_s: float, accept_time_limit: bool) -> None:
        self.p = p
        self.time_limit_s = time_limit_s
        self.accept = accept_time_limit
        self._red: _Reduced | None = None
        self._prob: Problem | None = None
        self._full: tuple[np.ndarray, str] | None = None
        self._full_lower: int | None = None
        self._packing: int | None = None
        self._mclp: dict[int, tuple[np.ndarray, str]] = {}
        w = p.w
        self.integral = bool(len(w) == 0 or (np.all(w == np.round(w)) and w.sum() < 2.0**52))
        self.step = 1.0 - 1e-6 if self.integral else p.tol  # smallest real improvement

    @property
    def red(self) -> _Reduced:
        if self._red is None:
            self._red = _reduce(self.p)
        return self._red

    @property
    def prob(self) -> Problem:
        if self._prob is None:
            r = self.red
            self._prob = Problem(r.x_weight, r.A_multi.tocsr(), r.A_multi.tocsc(), r.w_multi)
        return self._prob

    def new_lp(self) -> CoverLP:
        """A fresh LP relaxation for one question: each answer is then the same whatever was
        asked before (a warm LP shared across questions would steer ties)."""
        return CoverLP(self.prob.v, self.prob.csc, self.prob.w)

    # -- heuristics on the reduced model --------------------------------------------------

    def _value(self, x: np.ndarray) -> float:
        return self.prob.value(x)

    def _greedy(self, k: int, need: float = np.inf) -> np.ndarray:
        """Greedy on the reduced model: up to ``k`` rows, or until ``need`` demand."""
        q = self.prob
        w = q.w.copy()
        gains = q.v + q.csr @ w
        x = np.zeros(q.n, dtype=bool)
        total = 0.0
        while x.sum() < k and total < need - self.p.tol:
            g = np.where(x, -np.inf, gains)
            i = int(np.argmax(g))
            if not g[i] > self.p.tol:
                break
            x[i] = True
            total += float(g[i])
            cols = q.csr.indices[q.csr.indptr[i]:q.csr.indptr[i + 1]]
            new = cols[w[cols] > 0]
            gains -= q.csc[:, new] @ w[new]
            w[new] = 0.0
        return x

    def _swap(self, x: np.ndarray) -> np.ndarray:
        """Best-improvement 1-swap local search (swap one open row for one closed row)."""
        q = self.prob
        x = x.copy()
        for _ in range(10 * max(1, int(x.sum()))):
            count = q.csc.T @ x.astype(np.float64)
            uncovered = np.where(count == 0, q.w, 0.0)
            best = (self.p.tol, -1, -1)
            for i in np.flatnonzero(x):
                cols = q.csr.indices[q.csr.indptr[i]:q.csr.indptr[i + 1]]
                lost = cols[count[cols] == 1]
                loss = q.v[i] + q.w[lost].sum()
                free = uncovered.copy()
                free[lost] = q.w[lost]
                gain_in = q.v + q.csr @ free
                gain_in[x] = -np.inf
                j = int(np.argmax(gain_in))
                if gain_in[j] - loss > best[0]:
                    best = (float(gain_in[j] - loss), int(i), j)
            if best[1] < 0:
                break
            x[best[1]], x[best[2]] = False, True
        return x

    def _covers_all(self, x: np.ndarray) -> bool:
        return self._value(x) >= self.p.demand_gainable - self.p.tol

    def _greedy_cover(self, start: np.ndarray) -> np.ndarray:
        """Greedy set cover (most uncovered groups first), then drop rows made redundant."""
        q = self.prob
        x = start.copy()
        covered = (q.csc.T @ x.astype(np.float64)) > 0
        while not covered.all():
            gains = q.csr @ (~covered).astype(np.float64)
            gains[x] = -1
            i = int(np.argmax(gains))
            x[i] = True
            covered[q.csr.indices[q.csr.indptr[i]:q.csr.indptr[i + 1]]] = True
        count = q.csc.T @ x.astype(np.float64)
        for i in np.flatnonzero(x & ~start)[::-1]:
            cols = q.csr.indices[q.csr.indptr[i]:q.csr.indptr[i + 1]]
            if (count[cols] >= 2).all():
                x[i] = False
                count[cols] -= 1
        return x

    # -- searches ------------------------------------------------------------------------

    def _goal(self, k: int, t0: float, *, need: float | None = None) -> Goal:
        deadline = t0 + self.time_limit_s
        if need is None:  # best set: stop early only when everything is covered
            return Goal(k, self.step, deadline, stop_at=self.prob.total - self.p.tol)
        return Goal(k, self.step, deadline, floor=need, stop_at=need)

    def _search(self, goal: Goal, start: np.ndarray | None, what: str, lp: CoverLP) -> Outcome:
        return self._run(Search(self.prob, lp, goal, start, improve=self._swap), what)

    def _run(self, search: Search, what: str) -> Outcome:
        out = search.run()
        goal = search.goal
        log.debug("%s: k=%d %s, %d nodes, %d LPs, %d of %d coverage rows", what, goal.k,
                  out.status, out.nodes, out.lps, out.rows, len(self.prob.w))
        if out.status == "time_limit":
            if not self.accept:
                raise SolverError(
                    f"{what}: no proven optimum within the time limit. Raise time_limit_s "
                    f"(now {self.time_limit_s:g} s) or use the greedy ranking.")
            log.warning("%s: time limit of %.0f s reached; using the best set found (not "
                        "proven optimal)", what, self.time_limit_s)
        return out

    # -- fewest sites for a target ----------------------------------------------------------

    def _lower_count(self, need: float, upper: int, t0: float, lp: CoverLP) -> int:
        """The fewest sites whose LP bound reaches ``need`` (no fewer can), by bisection."""
        lo, hi = 1, upper  # hi always reaches need (a solution of that size does)
        while lo < hi:
            mid = (lo + hi) // 2
            if Search(self.prob, lp, self._goal(mid, t0, need=need), None).reaches_floor():
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _fewest(self, need: float, upper: np.ndarray, lower: int, what: str,
                lp: CoverLP) -> tuple[np.ndarray, str]:
        """Fewest sites (reduced rows, bool) whose demand reaches ``need``, from a solution
        ``upper`` that does and a count ``lower`` that no fewer sites reach (searches on
        ``lp``)."""
        t0 = time.perf_counter()
        for m in range(lower, int(upper.sum())):
            x = self._swap(self._greedy(m))
            if self._value(x) >= need:  # the heuristic reaches it with the fewest possible
                return x, "optimal"
            out = self._search(self._goal(m, t0, need=need), x, what, lp)
            if out.value >= need:
                return out.x, out.status
            if out.status != "optimal":  # out of time: the known solution stands, unproven
                return upper, out.status
        return upper, "optimal"

    def packing_lower(self) -> int:
        """A quick bound: no fewer sites cover every gainable compound.

        Groups whose sets of covering sites are pairwise disjoint need one site each (taken
        greedily, groups with the fewest covering sites first); sole coverers must open too.
        """
        if self._packing is None:
            q = self.prob
            csc = q.csc
            used = np.zeros(q.n, dtype=bool)
            count = 0
            for g in np.argsort(np.diff(csc.indptr), kind="stable"):
                members = csc.indices[csc.indptr[g]:csc.indptr[g + 1]]
                if not used[members].any():
                    used[members] = True
                    count += 1
            self._packing = max(1, count, int((q.v > 0).sum()))
        return self._packing

    def full_lower(self) -> int:
        """No fewer sites cover every gainable compound: the set-cover LP bound, rounded up.

        Sole coverers of some compound (``v > 0``) must open; the other sites must cover the
        groups those leave. The LP solved is the dual of that set cover (a packing: weights
        ``y_g >= 0`` on groups, at most 1 summed around every free site), whose optimum equals
        the primal's and which HiGHS solves several times faster (fewer rows: sites, not
        groups).
        """
        if self._full_lower is None:
            q = self.prob
            forced = q.v > 0
            left = (q.csc.T @ forced.astype(np.float64)) == 0  # groups no forced site covers
            rows = q.csr[~forced][:, left]
            n_groups = int(left.sum())
            if n_groups == 0:
                self._full_lower = max(1, int(forced.sum()))
                return self._full_lower
            model = MilpModel(-np.ones(n_groups), rows, np.full(rows.shape[0], -np.inf),
                              np.ones(rows.shape[0]), np.zeros(n_groups),
                              np.full(n_groups, np.inf))
            try:
                lp = solve_milp(model, what="set cover (LP bound)",
                                time_limit_s=self.time_limit_s, presolve=False)
            except SolverError:  # out of time: the forced sites are a weaker but true bound
                self._full_lower = max(1, int(forced.sum()))
            else:  # the margin covers HiGHS's tolerances (the objective counts 0/1 sites)
                self._full_lower = max(1, int(forced.sum()) + math.ceil(-lp.objective - 1e-4))
        return self._full_lower

    def full_cover(self, what: str) -> tuple[np.ndarray, str]:
        """Fewest candidates (original indices) covering every gainable compound.

        Every group is in its LP (all must be covered).
        """
        if self._full is None:
            r = self.red
            forced = r.x_weight > 0  # sole coverers of some compound must open
            if r.A_multi.shape[1] == 0:
                self._full = r.rows[forced], "optimal"
            else:
                q = self.prob
                x, status = self._fewest(q.total - self.p.tol, self._greedy_cover(forced),
                                         self.full_lower(), what, self.new_lp())
                self._full = r.rows[x], status
        return self._full

    def min_sites(self, need: float, what: str) -> tuple[int, np.ndarray, str]:
        """Fewest sites whose gain reaches ``need`` (< all gainable): count, one such set
        (original indices), status."""
        upper = self._greedy(self.prob.n, need=need)
        lp = self.new_lp()
        lower = self._lower_count(need, int(upper.sum()), time.perf_counter(), lp)
        x, status = self._fewest(need, upper, lower, what, lp)
        return int(x.sum()), self.red.rows[x], status

    # -- maximal covering ------------------------------------------------------------------

    def mclp(self, k: int, what: str) -> tuple[np.ndarray, str]:
        """An optimal set of at most ``k`` sites (original indices) and the status; when ``k``
        sites can cover every gainable compound, the fewest that do."""
        if k not in self._mclp:
            self._mclp[k] = self._solve_mclp(k, what)
        return self._mclp[k]

    def _solve_mclp(self, k: int, what: str) -> tuple[np.ndarray, str]:
        t0 = time.perf_counter()
        p = self.p
        if k == 0 or p.demand_gainable <= p.tol:
            return np.empty(0, dtype=np.intp), "optimal"
        greedy = self._greedy(k)
        if k >= self.prob.n or self._covers_all(greedy):
            return self.full_cover(what)  # everything gainable: no set covers more
        if k >= self.packing_lower() and k >= self.full_lower():
            # k sites may cover everything: then the fewest that do
            full, status = self.full_cover(what)
            if len(full) <= k:
                return full, status
        out = self._search(self._goal(k, t0), self._swap(greedy), what, self.new_lp())
        return self.red.rows[out.x], out.status
