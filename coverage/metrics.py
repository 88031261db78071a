"""Per-compound coverage and per-unit, population-weighted summaries."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .config import Category
from .constants import DIST_TOL_M

__all__ = [
    "SCENARIOS",
    "compound_distance",
    "coverage_columns",
    "coverage_pct",
    "unit_summary",
    "within_walk",
]

# Scenario name -> column suffix.
SCENARIOS = {"existing": "", "with_proposed": "_with_proposed"}


def compound_distance(
    compound_of_point: NDArray[np.intp], point_dist_m: NDArray[np.float64], n_compounds: int
) -> NDArray[np.float64]:
    """A compound's distance: the minimum over its access points (m, ``inf`` if none)."""
    out = np.full(n_compounds, np.inf)
    np.minimum.at(out, compound_of_point, point_dist_m)
    return out


def within_walk(dist_m: NDArray[np.float64], walk_m: float) -> NDArray[np.bool_]:
    """The coverage rule: True where a walking distance is within the walk (``walk_m``, m).

    A distance within :data:`~coverage.constants.DIST_TOL_M` above the walk still counts
    (rounding of edge lengths).
    """
    return np.asarray(dist_m) <= walk_m + DIST_TOL_M


def coverage_pct(demand: NDArray[np.float64], covered: NDArray[np.bool_]) -> float:
    """Population-weighted coverage in percent, rounded to 2 decimals as in ``summary.csv``.

    Parameters
    ----------
    demand : ndarray, shape (c,)
        Demand per compound (residents; NaN counts as 0 only if the caller filled it).
    covered : ndarray of bool, shape (c,)

    Returns
    -------
    float
        NaN when there is no demand at all.
    """
    pop = float(demand.sum())
    return round(100.0 * float(demand[covered].sum()) / pop, 2) if pop > 0 else np.nan


def coverage_columns(
    dist_m: dict[str, NDArray[np.float64]], categories: tuple[Category, ...], suffix: str = ""
) -> pd.DataFrame:
    """Walking minutes and coverage flags per compound and category.

    Parameters
    ----------
    dist_m : dict of category key -> ndarray, shape (c,)
        Compound walking distance to the nearest facility (m; ``inf`` = beyond the cutoff).
    categories : tuple of Category
    suffix : str
        Appended to every column name (``""`` or ``"_with_proposed"``).

    Returns
    -------
    DataFrame
        ``walk_min_<key>`` (NaN when unreachable) and ``covered_<key>`` per category, then
        ``n_categories_covered`` and ``all_covered``.
    """
    cols: dict[str, object] = {}
    covered = []
    for cat in categories:
        d = dist_m[cat.key]
        walk_min = cat.minutes_of(d)
        cols[f"walk_min_{cat.key}{suffix}"] = np.where(np.isfinite(walk_min), walk_min, np.nan)
        cov = within_walk(d, cat.walk_m)
        cols[f"covered_{cat.key}{suffix}"] = cov
        covered.append(cov)
    n_cov = np.sum(covered, axis=0).astype(int) if covered else np.zeros(0, int)
    cols[f"n_categories_covered{suffix}"] = n_cov
    cols[f"all_covered{suffix}"] = n_cov == len(categories)
    return pd.DataFrame(cols)


def unit_summary(compounds: pd.DataFrame, categories: tuple[Category, ...],
                 units: Iterable[str] = ()) -> pd.DataFrame:
    """Population-weighted coverage per unit, category and scenario, plus ``unit = ALL`` rows.

    Parameters
    ----------
    compounds : DataFrame
        One row per compound *inside the units* with ``unit``, the demand columns and the
        ``covered_<key>[<suffix>]`` columns of :func:`coverage_columns`.
    categories : tuple of Category
    units : iterable of str
        Every unit of the area: a unit without compounds gets rows too (0 compounds, empty
        coverage), so the table lists every unit.

    Returns
    -------
    DataFrame
        unit, category, scenario, compounds, compounds_uncovered, population,
        population_covered, coverage_pct. ``population`` is the category's demand column (e.g.
        residents aged 60+ for elderly care).
    """
    rows = []
    units = sorted(set(compounds["unit"].astype(str)) | {str(u) for u in units})
    for scenario, suffix in SCENARIOS.items():
        for cat in categories:
            col = f"covered_{cat.key}{suffix}"
            if col not in compounds:
                continue
            covered = compounds[col].astype(bool).to_numpy()
            demand = compounds[cat.demand].fillna(0).to_numpy(dtype=float)
            unit = compounds["unit"].astype(str).to_numpy()
            for name in [*units, "ALL"]:
                sel = np.ones(len(unit), bool) if name == "ALL" else unit == name
                d_sel, c_sel = demand[sel], covered[sel]
                rows.append({
                    "unit": name,
                    "category": cat.key,
                    "scenario": scenario,
                    "compounds": int(sel.sum()),
                    "compounds_uncovered": int((~c_sel).sum()),
                    "population": round(float(d_sel.sum())),
                    "population_covered": round(float(d_sel[c_sel].sum())),
                    "coverage_pct": coverage_pct(d_sel, c_sel),
                })
    return pd.DataFrame(rows, columns=[
        "unit", "category", "scenario", "compounds", "compounds_uncovered", "population",
        "population_covered", "coverage_pct",
    ])
