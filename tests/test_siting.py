"""Tests of coverage.siting: exact answers checked by brute force over all subsets."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverage.errors import SolverError
from coverage.siting import (
    RANKING_COLUMNS,
    MilpModel,
    _bnb,
    greedy_ranking,
    plan_sites,
    ranking_table,
    solve_mclp,
    solve_milp,
    solve_set_cover,
)
from coverage.siting._problem import _undominated_rows

# --- helpers ------------------------------------------------------------------------------------


def _instance(seed: int, n_cand: int = 8, n_comp: int = 15, integer: bool = True):
    rng = np.random.default_rng(seed)
    density = rng.uniform(0.1, 0.4)
    a = rng.random((n_cand, n_comp)) < density
    if seed % 3 == 0:  # duplicated and contained rows exercise the model reduction
        a[1] = a[0]
        a[2] = a[0] & (rng.random(n_comp) < 0.5)
    demand = rng.integers(0, 20, n_comp).astype(float)
    if not integer:
        demand = demand * rng.uniform(0.5, 1.5, n_comp)
    covered = rng.random(n_comp) < 0.2
    return a, demand, covered


def _covered_demand(a: np.ndarray, demand: np.ndarray, covered: np.ndarray, subset) -> float:
    reach = covered.copy()
    if len(subset):
        reach |= a[list(subset)].any(axis=0)
    return float(demand[reach].sum())


def brute_force_mclp(a, demand, covered, k) -> float:
    """Best covered demand (existing included) over all subsets of at most k candidates."""
    n = a.shape[0]
    best = _covered_demand(a, demand, covered, ())
    for size in range(1, min(k, n) + 1):
        for subset in itertools.combinations(range(n), size):
            best = max(best, _covered_demand(a, demand, covered, subset))
    return best


def brute_force_min_sites(a, demand, covered, target) -> int | None:
    """Fewest candidates whose coverage (existing included) reaches target, or None."""
    n = a.shape[0]
    for size in range(n + 1):
        for subset in itertools.combinations(range(n), size):
            if _covered_demand(a, demand, covered, subset) >= target - 1e-9:
                return size
    return None


def naive_greedy(a, demand, covered, k):
    """Textbook greedy: recompute every gain each step, first index wins ties."""
    w = np.where(covered, 0.0, demand)
    sel, gains = [], []
    for _ in range(k):
        g = a.astype(float) @ w
        i = int(np.argmax(g))
        if g[i] <= 0:
            break
        sel.append(i)
        gains.append(float(g[i]))
        w[a[i]] = 0.0
    return sel, gains


# Classic: one big central site (4) vs two complementary ones (3 + 3).
# Greedy takes the central one, then gains 1: 5 of 6. Optimal k=2 takes the pair: 6 of 6.
TRAP = np.array(
    [
        [0, 1, 1, 0],  # central: covers the two heavy middle compounds
        [1, 1, 0, 0],  # left
        [0, 0, 1, 1],  # right
    ],
    dtype=bool,
)
TRAP_DEMAND = np.array([1.0, 2.0, 2.0, 1.0])
TRAP_COVERED = np.zeros(4, dtype=bool)


# --- exact MCLP ---------------------------------------------------------------------------------


@pytest.mark.parametrize("integer", [True, False])
def test_mclp_matches_brute_force_and_greedy_never_beats_it(integer):
    for seed in range(40):
        a, demand, covered = _instance(seed, integer=integer)
        cover = sp.csr_array(a)
        for k in (1, 2, 3):
            opt = solve_mclp(cover, demand, covered, k)
            best = brute_force_mclp(a, demand, covered, k)
            assert opt.status == "optimal"
            assert opt.demand_covered == pytest.approx(best, abs=1e-9), (seed, k)
            # the reported sites really cover what is claimed
            assert opt.demand_covered == pytest.approx(
                _covered_demand(a, demand, covered, opt.selected)
            )
            assert len(opt.selected) <= k
            assert len(set(opt.selected.tolist())) == len(opt.selected)
            if opt.demand_covered >= opt.demand_reachable - 1e-9:  # full: fewest sites
                assert opt.n_sites == brute_force_min_sites(a, demand, covered, best)
            else:  # partial: every one of the k sites is needed
                assert opt.n_sites == min(k, a.shape[0])
            greedy = greedy_ranking(cover, demand, covered, k=k)
            assert greedy.demand_covered <= opt.demand_covered + 1e-9
            assert greedy.status == "greedy" and not greedy.is_optimal


def test_greedy_trap_reports_gap_and_is_not_called_optimal():
    plan = plan_sites(sp.csr_array(TRAP), TRAP_DEMAND, TRAP_COVERED, 2)
    assert plan.greedy.selected.tolist() == [0, 1]  # central first, then left (tie: lowest)
    assert plan.greedy.gains.tolist() == [4.0, 1.0]
    assert sorted(plan.optimal.selected.tolist()) == [1, 2]
    assert plan.optimal.objective == 6.0
    assert plan.greedy_gap == pytest.approx(1.0)
    assert not plan.greedy_is_optimal
    assert plan.greedy.status == "greedy" and not plan.greedy.is_optimal
    assert plan.optimal.is_optimal
    assert plan.optimal.coverage_pct == pytest.approx(100.0)
    assert plan.greedy.coverage_pct == pytest.approx(100.0 * 5 / 6)


def test_greedy_optimal_on_disjoint_candidates_is_recognised():
    a = np.zeros((4, 8), dtype=bool)
    for i in range(4):
        a[i, 2 * i : 2 * i + 2] = True
    demand = np.array([5, 5, 1, 1, 3, 3, 2, 2], dtype=float)
    plan = plan_sites(sp.csr_array(a), demand, np.zeros(8, bool), 2)
    assert plan.greedy.selected.tolist() == [0, 2]
    assert plan.greedy_gap == pytest.approx(0.0)
    assert plan.greedy_is_optimal
    assert plan.greedy.status == "greedy"  # the label stays: it is a heuristic's result


def test_existing_coverage_is_fixed_and_never_a_gain():
    # candidate 0 covers only compounds already served; candidate 1 covers one new compound
    a = np.array([[1, 1, 0], [0, 0, 1]], dtype=bool)
    demand = np.array([100.0, 100.0, 1.0])
    covered = np.array([True, True, False])
    for res in (
        greedy_ranking(sp.csr_array(a), demand, covered),
        solve_mclp(sp.csr_array(a), demand, covered, 2),
        solve_set_cover(sp.csr_array(a), demand, covered, 1.0),
    ):
        assert res.selected.tolist() == [1]
        assert res.gains.tolist() == [1.0]
        assert res.demand_base == 200.0
        assert res.demand_covered == 201.0


def test_mclp_accepts_dense_arrays_and_spopt_style_inputs_equally():
    a, demand, covered = _instance(4)
    dense = solve_mclp(a, demand, covered, 2)
    sparse = solve_mclp(sp.csr_matrix(a), demand, covered, 2)
    assert dense.demand_covered == sparse.demand_covered


# --- greedy -----------------------------------------------------------------------------------


def test_greedy_matches_textbook_greedy_including_ties():
    for seed in range(60):
        a, demand, covered = _instance(seed, n_cand=20, n_comp=40)
        res = greedy_ranking(sp.csr_array(a), demand, covered)
        sel, gains = naive_greedy(a, demand, covered, a.shape[0])
        assert res.selected.tolist() == sel, seed
        np.testing.assert_allclose(res.gains, gains)


def test_greedy_ranking_properties():
    a, demand, covered = _instance(7, n_cand=30, n_comp=60)
    full = greedy_ranking(sp.csr_array(a), demand, covered)
    assert np.all(full.gains > 0)
    assert np.all(np.diff(full.gains) <= 1e-12)  # submodular: gains never increase
    # the full ranking reaches all reachable demand
    reachable = demand[covered | a.any(axis=0)].sum()
    assert full.demand_reachable == pytest.approx(reachable)
    assert full.cumulative_demand_covered[-1] == pytest.approx(reachable)
    top3 = greedy_ranking(sp.csr_array(a), demand, covered, k=3)
    assert top3.selected.tolist() == full.selected[:3].tolist()
    assert top3.objective == pytest.approx(full.gains[:3].sum())


def test_greedy_tie_broken_by_lowest_index():
    a = np.array([[0, 1], [1, 0], [1, 0]], dtype=bool)  # all gain 1; 1 and 2 identical
    res = greedy_ranking(sp.csr_array(a), np.ones(2), np.zeros(2, bool))
    assert res.selected.tolist() == [0, 1]


def test_greedy_is_fast_on_bench_sized_instance():
    rng = np.random.default_rng(0)
    cover = sp.csr_array(rng.random((1000, 5000)) < 0.06)
    demand = rng.integers(1, 500, 5000).astype(float)
    covered = rng.random(5000) < 0.3
    res = greedy_ranking(cover, demand, covered)
    assert res.solve_s < 2.0  # well under a second in practice
    assert res.cumulative_demand_covered[-1] == pytest.approx(res.demand_reachable)


# --- set cover ----------------------------------------------------------------------------------


def test_set_cover_minimal_against_brute_force():
    for seed in range(30):
        a, demand, covered = _instance(seed)
        reachable = demand[covered | a.any(axis=0)].sum()
        for share in (0.5, 0.95, 1.0):
            res = solve_set_cover(sp.csr_array(a), demand, covered, share)
            want = brute_force_min_sites(a, demand, covered, share * reachable)
            assert res.n_sites == want, (seed, share)
            assert res.objective == want
            assert res.demand_covered >= share * reachable - 1e-9
            assert res.demand_covered == pytest.approx(
                _covered_demand(a, demand, covered, res.selected)
            )
            # among the minimal sets it covers the most
            assert res.demand_covered == pytest.approx(brute_force_mclp(a, demand, covered, want))


def test_set_cover_total_basis_infeasible_raises_clear_error():
    a = np.array([[1, 0, 0]], dtype=bool)
    demand = np.array([10.0, 10.0, 80.0])  # compound 2 unreachable by anything
    with pytest.raises(SolverError, match=r"infeasible.*10\.0%"):
        solve_set_cover(sp.csr_array(a), demand, np.zeros(3, bool), 0.95, basis="total")
    # the same target on reachable demand is fine
    res = solve_set_cover(sp.csr_array(a), demand, np.zeros(3, bool), 0.95)
    assert res.selected.tolist() == [0]
    assert res.reachable_coverage_pct == pytest.approx(100.0)


# --- empty problems and errors ------------------------------------------------------------------


def test_no_candidates_raises_solver_error():
    cover = sp.csr_array((0, 3), dtype=bool)
    args = (cover, np.ones(3), np.zeros(3, bool))
    with pytest.raises(SolverError, match="no candidate sites"):
        greedy_ranking(*args)
    with pytest.raises(SolverError, match="no candidate sites"):
        solve_mclp(*args, 2)
    with pytest.raises(SolverError, match="no candidate sites"):
        solve_set_cover(*args, 0.95)


def test_nothing_to_gain_and_k0_give_empty_optimal_selections():
    cover = sp.csr_array(TRAP)
    all_covered = np.ones(4, dtype=bool)
    for res in (
        solve_mclp(cover, TRAP_DEMAND, TRAP_COVERED, 0),
        solve_mclp(cover, TRAP_DEMAND, all_covered, 2),
        solve_mclp(cover, np.zeros(4), TRAP_COVERED, 2),
        solve_set_cover(cover, TRAP_DEMAND, all_covered, 1.0),
    ):
        assert res.n_sites == 0
        assert res.status == "optimal"
        assert res.objective == 0.0
    assert greedy_ranking(cover, TRAP_DEMAND, all_covered).n_sites == 0
    assert math.isnan(solve_mclp(cover, np.zeros(4), TRAP_COVERED, 1).coverage_pct)


def test_k_larger_than_useful_candidates_returns_only_useful_sites():
    res = solve_mclp(sp.csr_array(TRAP), TRAP_DEMAND, TRAP_COVERED, 10)
    assert res.demand_covered == 6.0
    assert res.n_sites == 2  # the central site adds nothing once left and right are open


def test_bad_arguments_raise_value_error():
    cover = sp.csr_array(TRAP)
    with pytest.raises(ValueError, match="demand has shape"):
        solve_mclp(cover, np.ones(3), TRAP_COVERED, 1)
    with pytest.raises(ValueError, match="covered must be a bool"):
        solve_mclp(cover, TRAP_DEMAND, np.zeros(4), 1)
    with pytest.raises(ValueError, match=">= 0"):
        solve_mclp(cover, -TRAP_DEMAND, TRAP_COVERED, 1)
    with pytest.raises(ValueError, match="k must be"):
        solve_mclp(cover, TRAP_DEMAND, TRAP_COVERED, -1)
    with pytest.raises(ValueError, match="target_share"):
        solve_set_cover(cover, TRAP_DEMAND, TRAP_COVERED, 1.5)


def test_solver_status_is_checked(monkeypatch):
    """An LP failure raises; the time limit raises, or, when accepted, says time_limit."""
    a, demand, covered = _instance(7, n_cand=30, n_comp=60)
    args = (sp.csr_array(a), demand, covered, 3)
    assert solve_mclp(*args).demand_covered < solve_mclp(*args[:3], 30).demand_covered
    with pytest.raises(SolverError, match="time_limit_s"):
        solve_mclp(*args, time_limit_s=0.0)
    res = solve_mclp(*args, time_limit_s=0.0, accept_time_limit=True)
    assert res.status == "time_limit" and not res.is_optimal
    # the incumbent (greedy improved by swaps) is returned, and covers what it claims
    assert res.demand_covered == pytest.approx(_covered_demand(a, demand, covered, res.selected))
    assert res.n_sites == 3
    monkeypatch.setattr(_bnb.CoverLP, "solve", lambda self, lo, hi, cutoff: ("Solve error",
                                                                             None, None))
    with pytest.raises(SolverError, match="Solve error"):
        solve_mclp(*args)


def test_model_reduction_drops_contained_and_duplicate_candidates():
    a = sp.csr_array(
        np.array([[1, 1, 0], [1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 1, 1]], dtype=float)
    )
    assert _undominated_rows(a).tolist() == [0, 5]  # {2} is inside {1, 2}
    # candidate 3 ({2}) is contained in 5 ({1, 2})
    a2 = sp.csr_array(np.array([[1, 1, 0], [0, 0, 1], [0, 1, 1]], dtype=float))
    assert _undominated_rows(a2).tolist() == [0, 2]


# --- table ------------------------------------------------------------------------------------


def test_ranking_table_columns_and_values():
    cands = pd.DataFrame(
        {
            "id": ["c0", "c1", "c2"],
            "name": ["中心", "<b>west</b>", "east"],
            "lon": [116.40, 116.39, 116.41],
            "lat": [40.07, 40.07, 40.07],
        }
    )
    res = solve_mclp(sp.csr_array(TRAP), TRAP_DEMAND, TRAP_COVERED, 2)
    table = ranking_table(res, cands, "elderly_station")
    assert tuple(table.columns) == RANKING_COLUMNS
    assert table["rank"].tolist() == [1, 2]
    assert table["method"].eq("optimal").all()
    assert table["category"].eq("elderly_station").all()
    assert table["gain_demand"].tolist() == [3.0, 3.0]
    assert table["candidate_id"].tolist() == ["c1", "c2"]  # equal gains: lower index first
    assert table["cumulative_demand_covered"].tolist() == [3.0, 6.0]
    np.testing.assert_allclose(table["cumulative_coverage_pct"], [50.0, 100.0])
    assert table["name"].tolist() == ["<b>west</b>", "east"]  # raw; escaping is the HTML's job


# --- agreement with PySAL spopt (test-only dependency) --------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_agrees_with_spopt_mclp():
    pytest.importorskip("spopt")
    pulp = pytest.importorskip("pulp")
    from spopt.locate import MCLP

    if "PULP_CBC_CMD" not in pulp.listSolvers(onlyAvailable=True):
        pytest.skip("CBC solver not available to pulp")
    big = 1e6
    for seed in range(6):
        a, demand, covered = _instance(seed, n_cand=12, n_comp=30)
        # spopt wants clients x facilities; existing coverage = one predefined facility column
        cost = np.where(np.vstack([a, covered]).T, 0.0, big)
        predefined = np.zeros(a.shape[0] + 1, dtype=int)
        predefined[-1] = 1
        k = 3
        model = MCLP.from_cost_matrix(
            cost,
            demand,
            service_radius=1.0,
            p_facilities=k + 1,
            predefined_facilities_arr=predefined,
        )
        model = model.solve(pulp.PULP_CBC_CMD(msg=False))
        spopt_obj = float(pulp.value(model.problem.objective))
        ours = solve_mclp(sp.csr_array(a), demand, covered, k)
        assert ours.demand_covered == pytest.approx(spopt_obj, abs=1e-6), seed


# --- the branch and bound against brute force and against HiGHS's own MILP ------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_cand=st.integers(1, 9), n_comp=st.integers(1, 14),
       k=st.integers(1, 5), integer=st.booleans())
def test_branch_and_bound_matches_brute_force(seed, n_cand, n_comp, k, integer):
    rng = np.random.default_rng(seed)
    a = rng.random((n_cand, n_comp)) < rng.uniform(0.1, 0.6)
    demand = rng.integers(0, 30, n_comp).astype(float)
    if not integer:
        demand *= rng.uniform(0.3, 1.7, n_comp)
    covered = rng.random(n_comp) < 0.2
    opt = solve_mclp(sp.csr_array(a), demand, covered, k)
    assert opt.status == "optimal"
    assert opt.demand_covered == pytest.approx(brute_force_mclp(a, demand, covered, k),
                                               rel=1e-12, abs=1e-9)
    assert opt.demand_covered == pytest.approx(_covered_demand(a, demand, covered, opt.selected))
    assert opt.n_sites <= k
    reachable = demand[covered | a.any(axis=0)].sum()
    res = solve_set_cover(sp.csr_array(a), demand, covered, 0.8)
    assert res.n_sites == brute_force_min_sites(a, demand, covered, 0.8 * reachable)


def _highs_mclp(a: np.ndarray, demand: np.ndarray, covered: np.ndarray, k: int) -> float:
    """The textbook MCLP MILP solved by HiGHS itself (an independent exact answer)."""
    keep = ~covered & a.any(axis=0) & (demand > 0)
    sub = sp.csr_array(a[:, keep].T.astype(float))  # (compounds, sites)
    n_site, n_comp = a.shape[0], int(keep.sum())
    rows = sp.vstack([sp.hstack([-sub, sp.identity(n_comp)]),
                      sp.hstack([sp.csr_array(np.ones((1, n_site))),
                                 sp.csr_array((1, n_comp))])], format="csr")
    model = MilpModel(np.concatenate([np.zeros(n_site), -demand[keep]]), rows,
                      np.full(n_comp + 1, -np.inf), np.concatenate([np.zeros(n_comp), [k]]),
                      np.zeros(n_site + n_comp), np.ones(n_site + n_comp),
                      np.concatenate([np.ones(n_site, bool), np.zeros(n_comp, bool)]))
    run = solve_milp(model, what="reference MCLP", gaps=(0.0, 1e-7))
    return float(demand[covered].sum() - run.objective)


@pytest.mark.parametrize(("seed", "shape", "ks"), [
    (seed, shape, ks) for seed in range(3)
    for shape, ks in (((120, 500, 1.6), (10, 13)), ((100, 400, 2.2), (7, 10)))])
def test_branch_and_bound_matches_highs_milp_on_larger_instances(seed, shape, ks):
    """Instances that branch (up to ~70 nodes): sites and compounds in a 10 x 10 square, a
    site covering the compounds within a radius, as in the benchmark."""
    n_site, n_comp, radius = shape
    rng = np.random.default_rng(100 + seed)
    sites, comps = rng.uniform(0, 10, (n_site, 2)), rng.uniform(0, 10, (n_comp, 2))
    a = np.linalg.norm(sites[:, None] - comps[None], axis=2) < radius
    demand = np.round(rng.lognormal(4.0, 0.7, n_comp))
    covered = rng.random(n_comp) < 0.1
    for k in ks:
        ours = solve_mclp(sp.csr_array(a), demand, covered, k)
        assert ours.status == "optimal"
        assert ours.demand_covered == pytest.approx(_highs_mclp(a, demand, covered, k), abs=1e-6)
        assert ours.demand_covered == pytest.approx(
            _covered_demand(a, demand, covered, ours.selected))


# --- full cover first, and one solver per question ---------------------------------------------


def _geometric(seed: int, n_site: int = 60, n_comp: int = 200, radius: float = 2.0):
    rng = np.random.default_rng(seed)
    sites, comps = rng.uniform(0, 10, (n_site, 2)), rng.uniform(0, 10, (n_comp, 2))
    a = np.linalg.norm(sites[:, None] - comps[None], axis=2) < radius
    demand = np.round(rng.lognormal(4.0, 0.7, n_comp))
    covered = rng.random(n_comp) < 0.1
    return a, demand, covered


@pytest.mark.parametrize("seed", range(4))
def test_k_at_or_above_the_minimum_full_cover_returns_that_cover(seed):
    """From the fewest sites covering everything upwards, every k returns that same cover,
    proven optimal; one fewer site cannot cover everything (HiGHS's MILP agrees)."""
    a, demand, covered = _geometric(seed)
    full = solve_set_cover(sp.csr_array(a), demand, covered, 1.0)
    m = full.n_sites
    reachable = demand[covered | a.any(axis=0)].sum()
    assert _highs_mclp(a, demand, covered, m - 1) < reachable - 0.5
    for k in (m, m + 1, m + 4, a.shape[0]):
        res = solve_mclp(sp.csr_array(a), demand, covered, k)
        assert res.status == "optimal"
        assert sorted(res.selected.tolist()) == sorted(full.selected.tolist())
        assert res.demand_covered == pytest.approx(reachable)
    below = solve_mclp(sp.csr_array(a), demand, covered, m - 1)
    assert below.demand_covered == pytest.approx(_highs_mclp(a, demand, covered, m - 1))


@pytest.mark.parametrize("seed", range(30))
def test_full_cover_lp_bound_never_exceeds_the_fewest_sites(seed):
    """The set-cover LP bound (solved as its dual) and the packing bound are true lower
    bounds: brute force."""
    from coverage.siting._exact import Exact
    from coverage.siting._problem import _prepare

    a, demand, covered = _instance(seed, n_cand=9, n_comp=16)
    p = _prepare(sp.csr_array(a), demand, covered)
    if p.demand_gainable <= 0:
        return
    reachable = demand[covered | a.any(axis=0)].sum()
    fewest = brute_force_min_sites(a, demand, covered, reachable)
    assert fewest is not None
    ex = Exact(p, 60.0, False)
    assert 1 <= ex.full_lower() <= fewest
    assert 1 <= ex.packing_lower() <= fewest


@pytest.mark.parametrize("seed", range(3))
def test_plan_answers_equal_fresh_solves(seed):
    """plan_sites answers every question from one cached solver; each answer is the one a
    fresh solve gives (same sites, same status), whatever the k."""
    a, demand, covered = _geometric(seed)
    cover = sp.csr_array(a)
    m = solve_set_cover(cover, demand, covered, 1.0).n_sites
    for k in (m - 3, m, m + 2):
        plan = plan_sites(cover, demand, covered, k)
        fresh = solve_mclp(cover, demand, covered, k)
        assert plan.optimal.selected.tolist() == fresh.selected.tolist()
        assert plan.optimal.status == fresh.status == "optimal"
        for share, res in plan.set_cover.items():
            again = solve_set_cover(cover, demand, covered, share)
            assert res.selected.tolist() == again.selected.tolist()
