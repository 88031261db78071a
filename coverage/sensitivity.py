"""How coverage changes with the walking-time threshold and the walking speed.

The question every reviewer asks of a 15-minute analysis — "and at 10 minutes? and for people
who walk slower?" — is answered from the distances the run already has: a compound's walking
time ``walk_min_<key>`` was measured at the category's speed, so its walking distance is

    dist_m = walk_min × 60 × speed_m_s (category's speed)

and the compound is covered at another threshold ``minutes`` and speed ``v`` when
``dist_m ≤ minutes × 60 × v`` (the same rule and tolerance as the run itself:
:func:`coverage.metrics.within_walk`). No shortest-path search runs again, so one curve point
costs a comparison per compound.

Distances are known up to the run's search limit ``max_walk_min`` at the category's speed. A curve
point whose walking distance is beyond that limit is a lower bound (``within_search`` is False);
with the default limit of 60 minutes this never happens on the default grids.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .config import Category
from .metrics import SCENARIOS, coverage_pct, within_walk
from .results import Results

__all__ = ["COLUMNS", "MINUTES_GRID", "SPEED_GRID", "compound_distance_m", "sensitivity"]

log = logging.getLogger(__name__)

#: Walking-time thresholds of the minutes curve (minutes), at the category's own speed.
MINUTES_GRID: tuple[float, ...] = tuple(float(m) for m in range(5, 31))
#: Walking speeds of the speed curve (m/s), at the category's own minutes.
SPEED_GRID: tuple[float, ...] = tuple(round(0.6 + 0.05 * i, 2) for i in range(17))

#: Columns of :func:`sensitivity` (and of ``sensitivity.csv``).
COLUMNS = ("category", "scenario", "varied", "minutes", "speed_m_s", "walk_m", "population",
           "population_covered", "coverage_pct", "at_config", "within_search")


def compound_distance_m(results: Results, cat: Category, scenario: str = "existing") -> np.ndarray:
    """Each compound's walking distance to the nearest facility of ``cat`` (m; inf = beyond).

    Recovered from ``walk_min_<key>`` (minutes at the category's speed).
    """
    col = f"walk_min_{cat.key}{SCENARIOS[scenario]}"
    walk_min = pd.to_numeric(results.compounds[col], errors="coerce").to_numpy(float)
    dist = cat.cutoff_m(walk_min)  # minutes at the category's speed -> metres
    return np.where(np.isfinite(dist), dist, np.inf)


def _points(cat: Category, minutes: Sequence[float],
            speeds: Sequence[float]) -> list[tuple[str, Category]]:
    """The curve points as (varied, category with that threshold and speed), config's included."""
    mins = sorted({float(m) for m in minutes} | {float(cat.minutes)})
    spds = sorted({float(v) for v in speeds} | {float(cat.speed_m_s)})
    return ([("minutes", dataclasses.replace(cat, minutes=m)) for m in mins]
            + [("speed", dataclasses.replace(cat, speed_m_s=v)) for v in spds])


def _curve(results: Results, cat: Category, scenario: str,
           points: list[tuple[str, Category]]) -> list[dict[str, object]]:
    dist = compound_distance_m(results, cat, scenario)
    demand = pd.to_numeric(results.compounds[cat.demand], errors="coerce").fillna(0)
    demand_arr = demand.to_numpy(float)
    pop = float(demand_arr.sum())
    search_m = cat.cutoff_m(results.config.max_walk_min)
    rows = []
    for varied, c in points:
        covered = within_walk(dist, c.walk_m)  # the run's own coverage rule
        pop_cov = float(demand_arr[covered].sum())
        rows.append({
            "category": cat.key, "scenario": scenario, "varied": varied,
            "minutes": c.minutes, "speed_m_s": c.speed_m_s, "walk_m": round(c.walk_m, 1),
            "population": round(pop), "population_covered": round(pop_cov),
            # rounded exactly as summary.csv's coverage_pct
            "coverage_pct": coverage_pct(demand_arr, covered),
            "at_config": c.minutes == cat.minutes and c.speed_m_s == cat.speed_m_s,
            "within_search": c.walk_m <= search_m,
        })
    return rows


def sensitivity(results: Results, *, minutes: Sequence[float] = MINUTES_GRID,
                speeds: Sequence[float] = SPEED_GRID) -> pd.DataFrame:
    """Population-weighted coverage against walking minutes and against walking speed.

    Parameters
    ----------
    results : Results
        A run's results (compounds inside the units with ``walk_min_<key>`` columns).
    minutes : sequence of float
        Thresholds of the minutes curve (min), each at the category's own speed.
    speeds : sequence of float
        Speeds of the speed curve (m/s), each at the category's own minutes.

    Returns
    -------
    DataFrame
        One row per category × scenario (``existing``, and ``with_proposed`` when the run had
        proposed stations) × curve point, columns :data:`COLUMNS`. ``varied`` is ``minutes`` or
        ``speed``; the config's own threshold is in both curves with ``at_config`` True, and its
        ``coverage_pct`` equals ``summary.csv``'s whole-area value. ``walk_m`` is the walking
        distance the point allows (m). ``within_search`` False marks a lower bound (the point
        walks farther than the run searched).
    """
    scenarios = ["existing"] + (["with_proposed"] if results.has_proposed else [])
    rows: list[dict[str, object]] = []
    for cat in results.config.categories:
        points = _points(cat, minutes, speeds)
        for scenario in scenarios:
            rows += _curve(results, cat, scenario, points)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    beyond = table[~table["within_search"].astype(bool)]
    if len(beyond):
        log.warning("sensitivity: %d curve points walk farther than the run searched "
                    "(walk.max_walk_min = %g); their coverage is a lower bound", len(beyond),
                    results.config.max_walk_min)
    return table
