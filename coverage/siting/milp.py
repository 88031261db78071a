"""The package's one MILP wrapper: a model as arrays, solved by HiGHS through highspy.

:func:`solve_milp` is what the joint plan (:mod:`coverage.jointplan`) calls, and siting for its
set-cover LP bound; siting's own branch and bound (:mod:`coverage.siting._bnb`) drives HiGHS's
simplex directly, as a warm-started LP (:func:`new_highs`).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import SolverError

__all__ = ["MilpModel", "MilpSolution", "new_highs", "solve_milp"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MilpModel:
    """Minimise ``c @ x`` subject to ``row_lo <= rows @ x <= row_hi`` and
    ``col_lo <= x <= col_hi``; ``integer`` marks the integer columns (None: a linear programme).

    Infinite bounds (``numpy.inf``) mean "no bound".
    """

    c: np.ndarray
    rows: Any  # scipy.sparse matrix, shape (n_rows, n_cols)
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray | None = None

    def relaxed(self) -> MilpModel:
        """The same model with every column continuous."""
        return dataclasses.replace(self, integer=None)


@dataclass(frozen=True)
class MilpSolution:
    """A HiGHS run: ``status`` ("optimal", "time_limit", ...), the solution ``x`` (None when
    there is none), its ``objective`` and the proven ``bound`` (minimisation form)."""

    status: str
    x: np.ndarray | None
    objective: float
    bound: float
    message: str = ""


def new_highs(*, time_limit_s: float = 60.0) -> Any:
    """A silent, deterministic, single-threaded HiGHS instance (the bare binding: highspy's
    Python wrapper prints a banner before options can be set)."""
    import highspy

    h = highspy._Highs()  # type: ignore[attr-defined]  # private: not in highspy's stubs
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    return h


def _pass_model(h: Any, model: MilpModel) -> None:
    import highspy

    inf = highspy.kHighsInf
    n = len(model.c)
    m = sp.csr_array(model.rows, dtype=np.float64)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = m.shape[0]
    lp.col_cost_ = np.asarray(model.c, dtype=np.float64)
    lp.col_lower_ = np.clip(np.asarray(model.col_lo, dtype=np.float64), -inf, inf)
    lp.col_upper_ = np.clip(np.asarray(model.col_hi, dtype=np.float64), -inf, inf)
    lp.row_lower_ = np.clip(np.asarray(model.row_lo, dtype=np.float64), -inf, inf)
    lp.row_upper_ = np.clip(np.asarray(model.row_hi, dtype=np.float64), -inf, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = m.shape[0]
    lp.a_matrix_.start_ = m.indptr.astype(np.int32)
    lp.a_matrix_.index_ = m.indices.astype(np.int32)
    lp.a_matrix_.value_ = m.data
    if model.integer is not None:
        kinds = highspy.HighsVarType
        lp.integrality_ = [kinds.kInteger if i else kinds.kContinuous for i in model.integer]
    h.passModel(lp)


_STATUS = {
    "kOptimal": "optimal",
    "kTimeLimit": "time_limit",
    "kInfeasible": "infeasible",
    "kUnbounded": "unbounded",
    "kUnboundedOrInfeasible": "unbounded",
}


def _run(model: MilpModel, *, start: np.ndarray | None, time_limit_s: float,
         gaps: tuple[float, float], presolve: bool) -> MilpSolution:
    import highspy

    h = new_highs(time_limit_s=time_limit_s)
    if model.integer is not None:
        h.setOptionValue("mip_rel_gap", float(gaps[0]))
        h.setOptionValue("mip_abs_gap", float(gaps[1]))
    h.setOptionValue("presolve", "on" if presolve else "off")
    _pass_model(h, model)
    if start is not None and model.integer is not None:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=np.float64).tolist()
        h.setSolution(sol)
    h.run()
    model_status = h.getModelStatus()
    status = _STATUS.get(str(model_status).rsplit(".", 1)[-1], "solver_error")
    info = h.getInfo()
    feasible = highspy.SolutionStatus.kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value) if info.primal_solution_status == feasible else None
    bound = info.mip_dual_bound if model.integer is not None else info.objective_function_value
    return MilpSolution(status, x, float(info.objective_function_value), float(bound),
                        h.modelStatusToString(model_status))


def solve_milp(model: MilpModel, *, what: str, time_limit_s: float = 60.0,
               accept_time_limit: bool = False, start: np.ndarray | None = None,
               gaps: tuple[float, float] = (1e-9, 1e-6), presolve: bool = True) -> MilpSolution:
    """Solve ``model`` with HiGHS and check the outcome.

    Parameters
    ----------
    model : MilpModel
    what : str
        What is being solved, for messages ("joint plan", ...).
    time_limit_s : float
        Solver time limit in seconds.
    accept_time_limit : bool
        Return the best solution found (``status="time_limit"``) instead of raising when the
        time limit is hit.
    start : numpy.ndarray, optional
        A feasible point handed to HiGHS as its first incumbent (a MIP only).
    gaps : (float, float)
        Relative and absolute MIP gaps at which HiGHS stops (the proof's tolerance).
    presolve : bool
        Let HiGHS presolve the model.

    Returns
    -------
    MilpSolution
        ``status`` is "optimal", or "time_limit" when accepted; ``x`` is never None.

    Raises
    ------
    SolverError
        Infeasible or unbounded model, solver failure, or the time limit (unless accepted).
    """
    run = _run(model, start=start, time_limit_s=time_limit_s, gaps=gaps, presolve=presolve)
    if run.status == "optimal" and run.x is not None:
        return run
    if run.status == "time_limit" and run.x is not None and accept_time_limit:
        log.warning("%s: time limit of %.0f s reached; using the best solution found (not "
                    "proven optimal, bound %g, found %g)", what, time_limit_s, run.bound,
                    run.objective)
        return run
    hint = (f" Raise time_limit_s (now {time_limit_s:g} s) or use the greedy ranking."
            if run.status == "time_limit" else "")
    raise SolverError(
        f"{what}: HiGHS did not find a proven optimum ({run.status}: {run.message}).{hint}")
