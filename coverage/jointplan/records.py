"""The joint plan's records: one planned category's inputs and the answers (pure data).

The street network never appears. For each planned category the caller gives a
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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["Assignment", "CategoryOutcome", "JointOutcome", "PlanCategory"]

REL_TOL = 1e-9  # demand differences below this share of total demand count as zero
LP_REL_TOL = 1e-7  # HiGHS's primal feasibility tolerance: LP served totals are this exact


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

