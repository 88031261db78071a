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
* The LP solver failing, or the search hitting its time limit (unless ``accept_time_limit=True``):
  :class:`~coverage.errors.SolverError`.
* Wrong shapes, negative or non-finite demand, ``k < 0``: :class:`ValueError` (a bug in the
  caller, not in the planner's data).

Modules
-------
``_problem``  results, plans, input checks and the model reduction;
``_bnb``      the branch and bound (LP relaxation with lazy coverage rows, Lagrangian bounds);
``_exact``    one category's exact questions, each solved once;
``_api``      the public functions;
``milp``      the package's one MILP wrapper (HiGHS through highspy), also used by the joint
              plan.
"""

from __future__ import annotations

from ._api import (
    greedy_ranking,
    plan_sites,
    ranking_table,
    solve_mclp,
    solve_set_cover,
)
from ._problem import (
    RANKING_COLUMNS,
    SitingPlan,
    SitingResult,
    greedy_gap,
)
from .milp import MilpModel, MilpSolution, solve_milp

__all__ = [
    "RANKING_COLUMNS",
    "MilpModel",
    "MilpSolution",
    "SitingPlan",
    "SitingResult",
    "greedy_gap",
    "greedy_ranking",
    "plan_sites",
    "ranking_table",
    "solve_mclp",
    "solve_milp",
    "solve_set_cover",
]
