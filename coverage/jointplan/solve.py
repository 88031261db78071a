"""The joint plan and each category's independent plan, checked and ranked.

:func:`solve_joint` chooses the spaces of every planned category at once
(:mod:`coverage.jointplan.model`), :func:`solve_independent` each category alone; both then
assign demand to facilities and rank the chosen spaces (:mod:`coverage.jointplan.serving`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np

from ..errors import SolverError
from . import model
from .records import (
    LP_REL_TOL,
    REL_TOL,
    Assignment,
    CategoryOutcome,
    JointOutcome,
    PlanCategory,
)
from .serving import assign, rank

__all__ = ["OutcomeCache", "double_booked", "solve_independent", "solve_joint"]

log = logging.getLogger(__name__)


class OutcomeCache:
    """Each category's outcome per set of chosen spaces, computed once.

    The joint and the independent plans often choose the same spaces for a category, and both
    start from the same existing facilities; give one cache to both (for the same
    :class:`PlanCategory` objects: they are told apart by identity) and each assignment and
    ranking is computed once. The answers are those computed without a cache.
    """

    def __init__(self) -> None:
        self._base: dict[int, tuple[PlanCategory, Assignment]] = {}
        self._seen: dict[tuple[int, bytes], tuple[PlanCategory, CategoryOutcome]] = {}

    def base(self, cat: PlanCategory) -> Assignment:
        """Existing facilities only."""
        if id(cat) not in self._base:  # the record is kept so that its id stays its own
            self._base[id(cat)] = cat, assign(cat, np.empty(0, dtype=np.intp))
        return self._base[id(cat)][1]

    def outcome(self, cat: PlanCategory, chosen: np.ndarray) -> CategoryOutcome:
        """The chosen spaces ranked, and the assignments before and after."""
        chosen = np.sort(np.asarray(chosen, dtype=np.intp))
        key = (id(cat), chosen.astype(np.int64).tobytes())
        if key not in self._seen:
            # LP served totals carry HiGHS's feasibility tolerance (1e-7 per row): a gain below
            # a millionth of the demand is noise there, exactly zero without capacities.
            share = LP_REL_TOL * 10 if cat.capacitated else REL_TOL
            tol = share * max(1.0, float(np.sum(cat.demand)))
            selected, gains = rank(cat, chosen, tol)
            self._seen[key] = cat, CategoryOutcome(key=cat.key, selected=selected, gains=gains,
                                                   base=self.base(cat),
                                                   plan=assign(cat, selected))
        return self._seen[key][1]


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
        fixed = model.reached_by(cat.reach_old, unlimited) & (np.asarray(cat.demand) > 0)
        served = outcomes[cat.key].plan.served_total
        expected += cat.weight * (served - float(np.asarray(cat.demand)[fixed].sum()))
        scale += cat.weight * float(np.sum(cat.demand))
    if abs(expected - model_served) > 10 * LP_REL_TOL * scale:
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
                accept_time_limit: bool = False,
                cache: OutcomeCache | None = None) -> JointOutcome:
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
    cache : OutcomeCache, optional
        Shared with :func:`solve_independent` on the same categories.

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
    chosen, status, model_served = model.choose(cats, time_limit_s, accept_time_limit)
    cache = OutcomeCache() if cache is None else cache
    outcomes = {c.key: cache.outcome(c, chosen[c.key]) for c in cats}
    _check_served(cats, outcomes, model_served)
    out = JointOutcome(categories=outcomes, weights={c.key: c.weight for c in cats},
                       status=status, solve_s=time.perf_counter() - t0)
    log.info("joint plan: %d categories, %d spaces -> %d new facilities, weighted +%.1f "
             "served (%s, %.2f s)", len(cats), cats[0].n_spaces if cats else 0,
             sum(len(c.selected) for c in outcomes.values()), out.objective, status, out.solve_s)
    return out


def solve_independent(cats: Sequence[PlanCategory], *, time_limit_s: float = 60.0,
                      accept_time_limit: bool = False,
                      cache: OutcomeCache | None = None) -> JointOutcome:
    """Each category's best plan on its own, as if the others did not need spaces.

    Without finite capacities this is :func:`coverage.siting.solve_mclp` on the eligible
    spaces; with capacities the joint model with one category. The sum of the weighted gains
    bounds the joint plan's from above; the answers may put two categories into one space
    (see :func:`double_booked`). Parameters as :func:`solve_joint`'s.
    """
    from ..siting import solve_mclp

    t0 = time.perf_counter()
    cache = OutcomeCache() if cache is None else cache
    _check_keys(cats)
    outcomes: dict[str, CategoryOutcome] = {}
    statuses = []
    for cat in cats:
        rows = model.useful_spaces(cat)
        model_served: float | None = None  # only the joint model's answer is checked
        if cat.capacitated or not len(rows):
            chosen, status, model_served = model.choose([cat], time_limit_s, accept_time_limit)
            pick = chosen[cat.key]
        else:
            covered = model.reached_by(cat.reach_old, np.arange(cat.reach_old.shape[0]))
            res = solve_mclp(model.reach_pattern(cat.reach_new)[rows], cat.demand, covered, cat.k,
                             time_limit_s=time_limit_s, accept_time_limit=accept_time_limit)
            pick, status = rows[res.selected], res.status
        statuses.append(status)
        outcomes[cat.key] = cache.outcome(cat, pick)
        _check_served([cat], outcomes, model_served)
    status = next((s for s in statuses if s != "optimal"), "optimal")
    return JointOutcome(categories=outcomes, weights={c.key: c.weight for c in cats},
                        status=status, solve_s=time.perf_counter() - t0)


def double_booked(plan: JointOutcome) -> dict[int, list[str]]:
    """Spaces that a plan puts more than one category into: space index -> category keys."""
    return {i: keys for i, keys in sorted(plan.space_use().items()) if len(keys) > 1}
