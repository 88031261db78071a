"""The joint plan: which stock space becomes which facility, all categories at once, with
capacities (see :mod:`coverage.jointplan.model`)."""

from .model import (
    Assignment,
    CategoryOutcome,
    JointOutcome,
    PlanCategory,
    assign,
    double_booked,
    solve_independent,
    solve_joint,
)

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
