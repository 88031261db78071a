"""The coverage rule and its summaries (coverage.metrics) on hand-checkable numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from coverage.config import Category
from coverage.constants import DIST_TOL_M
from coverage.metrics import coverage_columns, coverage_pct, unit_summary, within_walk

# 10 minutes at 1.0 m/s: 600 m; 5 minutes at 1.2 m/s: 360 m
SHOP = Category(key="shop", label="商店", label_en="shop", minutes=10, speed_m_s=1.0)
CARE = Category(key="care", label="驿站", label_en="care", minutes=5, speed_m_s=1.2,
                demand="population_60plus")


def test_within_walk_counts_the_limit_and_its_tolerance_only():
    walk = SHOP.walk_m
    assert walk == 600.0
    d = np.array([0.0, 599.9, 600.0, 600.0 + DIST_TOL_M / 2, 600.0 + 2 * DIST_TOL_M, np.inf])
    assert within_walk(d, walk).tolist() == [True, True, True, True, False, False]


def test_coverage_pct_is_population_weighted_and_nan_without_demand():
    demand = np.array([100.0, 300.0, 0.0, 600.0])
    covered = np.array([True, False, True, True])
    assert coverage_pct(demand, covered) == 70.0  # (100 + 0 + 600) / 1000
    assert coverage_pct(np.array([1.0, 2.0]), np.array([True, False])) == 33.33  # 2 decimals
    assert math.isnan(coverage_pct(np.zeros(2), np.array([True, True])))
    assert math.isnan(coverage_pct(np.zeros(0), np.zeros(0, bool)))


def test_coverage_columns_minutes_flags_and_counts():
    dist = {"shop": np.array([120.0, 600.0, 601.0, np.inf]),
            "care": np.array([360.0, 100.0, np.inf, 10.0])}
    cols = coverage_columns(dist, (SHOP, CARE), suffix="_with_proposed")
    assert list(cols.columns) == [
        "walk_min_shop_with_proposed", "covered_shop_with_proposed",
        "walk_min_care_with_proposed", "covered_care_with_proposed",
        "n_categories_covered_with_proposed", "all_covered_with_proposed"]
    np.testing.assert_allclose(cols["walk_min_shop_with_proposed"], [2.0, 10.0, 601 / 60, np.nan])
    np.testing.assert_allclose(cols["walk_min_care_with_proposed"],
                               [5.0, 100 / 72, np.nan, 10 / 72])
    assert cols["covered_shop_with_proposed"].tolist() == [True, True, False, False]
    assert cols["covered_care_with_proposed"].tolist() == [True, True, False, True]
    assert cols["n_categories_covered_with_proposed"].tolist() == [2, 2, 0, 1]
    assert cols["all_covered_with_proposed"].tolist() == [True, True, False, False]


def test_unit_summary_per_unit_all_and_empty_units():
    compounds = pd.DataFrame({
        "unit": ["A", "A", "B"],
        "population": [1000.0, 3000.0, 500.0],
        "population_60plus": [100.0, np.nan, 50.0],  # unknown demand counts as 0
        "covered_shop": [True, False, True],
        "covered_care": [False, True, True],
        "covered_shop_with_proposed": [True, True, True],
    })
    s = unit_summary(compounds, (SHOP, CARE), units=["A", "B", "C"])
    row = s.set_index(["unit", "category", "scenario"])
    assert row.loc[("A", "shop", "existing"), "coverage_pct"] == 25.0
    assert row.loc[("A", "shop", "existing"), "compounds_uncovered"] == 1
    assert row.loc[("ALL", "shop", "existing"), "population_covered"] == 1500
    assert row.loc[("ALL", "shop", "existing"), "coverage_pct"] == 33.33
    assert row.loc[("A", "care", "existing"), "population"] == 100  # the 60+ column, NaN as 0
    assert row.loc[("A", "care", "existing"), "coverage_pct"] == 0.0
    assert row.loc[("ALL", "care", "existing"), "coverage_pct"] == 33.33  # 50 of 150
    assert row.loc[("ALL", "shop", "with_proposed"), "coverage_pct"] == 100.0
    # no with_proposed column for care: no such rows; a unit without compounds is listed
    assert ("ALL", "care", "with_proposed") not in row.index
    empty = row.loc[("C", "shop", "existing")]
    assert empty["compounds"] == 0 and empty["population"] == 0
    assert math.isnan(empty["coverage_pct"])
    assert sorted(set(s["unit"])) == ["A", "ALL", "B", "C"]
