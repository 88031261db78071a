"""The joint plan: which stock space becomes which facility, all categories at once, with
capacities.

Modules: ``records`` the inputs and answers (pure data), ``model`` the joint MILP, ``serving``
who is served by whom once the spaces are chosen, ``solve`` the joint and independent plans,
``stage`` the stage of a run (inputs, walking reach, tables)."""

from .records import Assignment, CategoryOutcome, JointOutcome, PlanCategory
from .serving import assign
from .solve import double_booked, solve_independent, solve_joint

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
