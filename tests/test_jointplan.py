"""Tests of coverage.jointplan (records, model, serving, solve): exact answers checked by brute
force over all assignments of spaces to categories, with served demand from an independent
max-flow (networkx)."""

from __future__ import annotations

import itertools
from functools import cache

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from coverage.jointplan import (
    PlanCategory,
    assign,
    double_booked,
    solve_independent,
    solve_joint,
)
from coverage.siting import solve_mclp

# --- helpers ------------------------------------------------------------------------------------


def _reach(rng: np.random.Generator, rows: int, cols: int, density: float) -> sp.csr_array:
    """Random distances (m) within reach; some exactly 0 (a space at a compound's gate)."""
    mask = rng.random((rows, cols)) < density
    dist = np.round(rng.uniform(0, 900, (rows, cols)))
    dist[rng.random((rows, cols)) < 0.05] = 0.0
    r, c = np.nonzero(mask)
    return sp.csr_array((dist[r, c], (r, c)), shape=(rows, cols))


def _instance(seed: int, *, capacities: bool | str, n_spaces: int = 8, n_comp: int = 30,
              n_cats: int = 3) -> list[PlanCategory]:
    """Random categories; ``capacities="tight"``: new facilities small enough to fill up, so
    many plans serve the most and the tie-break (most demand within reach) decides."""
    rng = np.random.default_rng(seed)
    floor = rng.choice([80.0, 150.0, 400.0, np.nan], n_spaces)
    cats = []
    for c in range(n_cats):
        n_old = int(rng.integers(0, 3))
        need = [0.0, 100.0, 300.0][c % 3]
        demand = rng.integers(0, 20, n_comp).astype(float)
        cap_new = np.full(n_spaces, np.inf)
        cap_old = np.full(n_old, np.inf)
        if capacities == "tight":  # one small capacity for every new facility (as a category's)
            cap_new = np.full(n_spaces, float(rng.integers(4, 12)))
        elif capacities:
            cap_new = rng.integers(5, 60, n_spaces).astype(float)
            cap_new[rng.random(n_spaces) < 0.2] = np.inf
            cap_old = rng.integers(5, 40, n_old).astype(float)
        cats.append(PlanCategory(
            key=f"c{c}",
            reach_new=_reach(rng, n_spaces, n_comp, rng.uniform(0.1, 0.35)),
            reach_old=_reach(rng, n_old, n_comp, 0.15),
            demand=demand,
            k=int(rng.integers(1, 3)),
            eligible=np.nan_to_num(floor, nan=0.0) >= need,
            capacity_new=cap_new,
            capacity_old=cap_old,
            weight=float(rng.choice([1.0, 1.0, 2.0, 0.5])),
        ))
    return cats


def maxflow_served(cat: PlanCategory, open_new: tuple[int, ...]) -> float:
    """Most demand servable from the existing facilities and ``open_new`` (networkx max flow)."""
    g = nx.DiGraph()
    big = float(cat.demand.sum()) + 1.0
    for j, d in enumerate(cat.demand):
        g.add_edge("s", ("j", j), capacity=float(d))
    facilities = [("old", o, cat.reach_old, cat.capacity_old[o])
                  for o in range(cat.reach_old.shape[0])]
    facilities += [("new", i, cat.reach_new, cat.capacity_new[i]) for i in open_new]
    for kind, i, reach, cap in facilities:
        row = sp.csr_array(reach)
        for j in row.indices[row.indptr[i]:row.indptr[i + 1]]:
            g.add_edge(("j", int(j)), (kind, i), capacity=big)
        g.add_edge((kind, i), "t", capacity=float(min(cap, big)))
    if "t" not in g:
        return 0.0
    return float(nx.maximum_flow_value(g, "s", "t"))


def covered_demand(cat: PlanCategory, open_new: tuple[int, ...]) -> float:
    """Demand within reach of an existing facility or one of ``open_new``."""
    hit = np.zeros(cat.n_compounds, bool)
    hit[sp.coo_array(cat.reach_old).col] = True
    for i in open_new:
        row = sp.csr_array(cat.reach_new)
        hit[row.indices[row.indptr[i]:row.indptr[i + 1]]] = True
    return float(cat.demand[hit].sum())


def brute_force(cats: list[PlanCategory]) -> tuple[float, float]:
    """Best plan over every assignment of spaces to categories: the most weighted served
    demand, and among such plans the most weighted demand within reach."""

    @cache
    def value(c: int, subset: tuple[int, ...]) -> tuple[float, float]:
        w = cats[c].weight
        return w * maxflow_served(cats[c], subset), w * covered_demand(cats[c], subset)

    options = []
    for c, cat in enumerate(cats):
        ok = np.flatnonzero(cat.eligible)
        subs = [s for size in range(min(cat.k, len(ok)) + 1)
                for s in itertools.combinations(ok.tolist(), size)]
        options.append([(set(s), value(c, s)) for s in subs])
    plans = []
    for combo in itertools.product(*options):
        sets = [s for s, _ in combo]
        if sum(len(s) for s in sets) != len(set().union(*sets)):
            continue  # a space used twice
        plans.append((sum(v[0] for _, v in combo), sum(v[1] for _, v in combo)))
    served = max(p[0] for p in plans)
    return served, max(p[1] for p in plans if p[0] >= served - 1e-6)


def weighted_served(plan, cats) -> float:
    return sum(c.weight * plan.categories[c.key].plan.served_total for c in cats)


def weighted_covered(plan, cats) -> float:
    return sum(c.weight * float(c.demand[plan.categories[c.key].plan.covered].sum())
               for c in cats)


def check_feasible(plan, cats) -> None:
    used = plan.space_use()
    assert all(len(keys) == 1 for keys in used.values())
    for cat in cats:
        out = plan.categories[cat.key]
        assert len(out.selected) <= cat.k
        assert cat.eligible[out.selected].all()
        a = out.plan
        assert np.all(a.served <= cat.demand + 1e-6)
        assert np.all(a.load_new <= cat.capacity_new[a.open_new] + 1e-6)
        assert np.all(a.load_old <= cat.capacity_old + 1e-6)
        assert a.served_total == pytest.approx(a.load_new.sum() + a.load_old.sum(), abs=1e-6)
        # the claimed served demand is achievable and maximal for the chosen spaces
        assert a.served_total == pytest.approx(
            maxflow_served(cat, tuple(int(i) for i in out.selected)), abs=1e-5)
        assert out.gains.sum() == pytest.approx(out.gain, abs=1e-5)
        assert np.all(out.gains > 0)


# --- exactness ----------------------------------------------------------------------------------


@pytest.mark.parametrize("capacities", [False, True, "tight"])
@pytest.mark.parametrize("seed", range(12))
def test_joint_plan_equals_brute_force(seed, capacities):
    cats = _instance(seed, capacities=capacities)
    plan = solve_joint(cats)
    assert plan.status == "optimal"
    check_feasible(plan, cats)
    served, covered = brute_force(cats)
    assert weighted_served(plan, cats) == pytest.approx(served, abs=1e-5)
    assert weighted_covered(plan, cats) == pytest.approx(covered, abs=1e-5)


@pytest.mark.parametrize("capacities", [False, True, "tight"])
def test_independent_answers_bound_the_joint_plan(capacities):
    for seed in range(12):
        cats = _instance(seed, capacities=capacities)
        joint = solve_joint(cats)
        alone = solve_independent(cats)
        for cat in cats:
            served, covered = brute_force([cat])
            got = alone.categories[cat.key].plan
            assert got.served_total * cat.weight == pytest.approx(served, abs=1e-5)
            assert cat.weight * cat.demand[got.covered].sum() == pytest.approx(covered, abs=1e-5)
        assert alone.objective >= joint.objective - 1e-6
        if not double_booked(alone):  # no conflict: the independent answers are a joint plan
            assert alone.objective == pytest.approx(joint.objective, abs=1e-5)


def test_one_category_without_capacities_is_the_mclp_of_siting():
    for seed in range(20):
        cat = _instance(seed, capacities=False, n_cats=1)[0]
        cat = PlanCategory(**{**cat.__dict__, "eligible": np.ones(cat.n_spaces, bool)})
        plan = solve_joint([cat]).categories[cat.key]
        covered = np.zeros(cat.n_compounds, bool)
        covered[sp.coo_array(cat.reach_old).col] = True
        reach = sp.csr_array(cat.reach_new)
        cover = sp.csr_array((np.ones(reach.nnz, bool), reach.indices, reach.indptr),
                             shape=reach.shape)  # astype(bool) would drop 0 m distances
        mclp = solve_mclp(cover, cat.demand, covered, cat.k)
        assert plan.plan.served_total == pytest.approx(mclp.demand_covered, abs=1e-9)
        assert plan.gain == pytest.approx(mclp.demand_gained, abs=1e-9)


# --- hand-built cases ---------------------------------------------------------------------------


def _cat(key, rows, n_comp, demand, k, **kw) -> PlanCategory:
    n_spaces = len(rows)
    r = [i for i, cols in enumerate(rows) for _ in cols]
    c = [j for cols in rows for j in cols]
    reach = sp.csr_array((np.full(len(c), 100.0), (r, c)), shape=(n_spaces, n_comp))
    defaults = dict(
        reach_old=sp.csr_array((0, n_comp)), eligible=np.ones(n_spaces, bool),
        capacity_new=np.full(n_spaces, np.inf), capacity_old=np.zeros(0),
    )
    defaults.update(kw)
    return PlanCategory(key=key, reach_new=reach, demand=np.asarray(demand, float), k=k,
                        **defaults)


def test_double_booking_case():
    # Space 0 is the best space for both categories. Alone, each takes it (20 + 20 = 40).
    # Together one of them must move: A to space 1 (15) + B in 0 (20) = 35 beats
    # A in 0 (20) + B to space 2 (5) = 25.
    a = _cat("a", [[0, 1], [2], []], 3, [10, 10, 15], k=1)
    b = _cat("b", [[0, 1], [], [2]], 3, [10, 10, 5], k=1)
    alone = solve_independent([a, b])
    assert alone.categories["a"].selected.tolist() == [0]
    assert alone.categories["b"].selected.tolist() == [0]
    assert double_booked(alone) == {0: ["a", "b"]}
    assert alone.objective == pytest.approx(40.0)
    joint = solve_joint([a, b])
    assert joint.categories["a"].selected.tolist() == [1]
    assert joint.categories["b"].selected.tolist() == [0]
    assert double_booked(joint) == {}
    assert joint.objective == pytest.approx(35.0)
    assert joint.objective == pytest.approx(brute_force([a, b])[0])


def test_floor_area_keeps_a_category_out_of_small_spaces():
    # the only space reaching everyone is too small for the centre
    cat = _cat("centre", [[0, 1, 2], [0]], 3, [5, 5, 5], k=1, eligible=np.array([False, True]))
    out = solve_joint([cat]).categories["centre"]
    assert out.selected.tolist() == [1]
    assert out.gain == pytest.approx(5.0)


def test_hand_checkable_capacity():
    # Two compounds (60 and 50 residents aged 60+) 100 m and 200 m from one station of 80
    # places: 80 served, 30 not; the nearer compound is served in full.
    reach_old = sp.csr_array(([100.0, 200.0], ([0, 0], [0, 1])), shape=(1, 2))
    cat = PlanCategory(key="s", reach_new=sp.csr_array((0, 2)), reach_old=reach_old,
                       demand=np.array([60.0, 50.0]), k=0, eligible=np.zeros(0, bool),
                       capacity_new=np.zeros(0), capacity_old=np.array([80.0]))
    a = assign(cat)
    assert a.served_total == pytest.approx(80.0)
    assert a.served.tolist() == pytest.approx([60.0, 20.0])
    assert a.load_old.tolist() == pytest.approx([80.0])
    assert a.nearest_old.tolist() == pytest.approx([110.0])  # 137.5 % of capacity
    assert a.covered.tolist() == [True, True]


def test_capacity_sends_residents_to_the_nearest_facility_with_room():
    # A (cap 50) is nearest to both compounds; B (unlimited) is farther. Compound 0 (40) is
    # 100 m from A; compound 1 (30) 150 m from A and 400 m from B. Serve everyone, walking the
    # least: compound 0 all at A, compound 1 10 at A and 20 at B.
    reach_old = sp.csr_array(([100.0, 150.0, 400.0], ([0, 0, 1], [0, 1, 1])), shape=(2, 2))
    cat = PlanCategory(key="s", reach_new=sp.csr_array((0, 2)), reach_old=reach_old,
                       demand=np.array([40.0, 30.0]), k=0, eligible=np.zeros(0, bool),
                       capacity_new=np.zeros(0), capacity_old=np.array([50.0, np.inf]))
    a = assign(cat)
    assert a.served.tolist() == pytest.approx([40.0, 30.0])
    assert a.load_old.tolist() == pytest.approx([50.0, 20.0])
    assert a.nearest_old.tolist() == pytest.approx([70.0, 0.0])


def test_capacity_makes_a_second_space_worth_more_than_a_bigger_reach():
    # Capacity 10 per station. Space 0 reaches 30 residents, spaces 1 and 2 reach 10 each
    # elsewhere. Uncapacitated, k=2 would take space 0 (+ one of the others); capacitated
    # space 0 can serve only 10, so any two spaces serve 20.
    cat = _cat("s", [[0, 1, 2], [3], [4]], 5, [10, 10, 10, 10, 10], k=2,
               capacity_new=np.full(3, 10.0))
    out = solve_joint([cat]).categories["s"]
    assert out.gain == pytest.approx(20.0)
    assert out.plan.load_new.tolist() == pytest.approx([10.0, 10.0])


# --- without capacities the results are today's coverage -----------------------------------------


def _covered(cat: PlanCategory, open_new) -> np.ndarray:
    hit = np.zeros(cat.n_compounds, bool)
    hit[sp.coo_array(cat.reach_old).col] = True
    rows = sp.csr_array(cat.reach_new)[np.asarray(open_new, dtype=np.intp)]
    hit[sp.coo_array(rows).col] = True
    return hit


@pytest.mark.parametrize("seed", range(10))
def test_infinite_capacities_give_uncapacitated_coverage_exactly(seed):
    cats = _instance(seed, capacities=False)
    huge = float(sum(c.demand.sum() for c in cats)) * 10
    for cat in cats:
        base = assign(cat)
        assert np.array_equal(base.covered, _covered(cat, []))
        assert np.array_equal(base.served, np.where(base.covered, cat.demand, 0.0))
        # finite capacities nobody can exhaust take the LP path and give the same answer
        roomy = PlanCategory(**{**cat.__dict__, "capacity_new": np.full(cat.n_spaces, huge),
                                "capacity_old": np.full(cat.reach_old.shape[0], huge)})
        assert np.allclose(assign(roomy).served, base.served, atol=1e-6)
        assert np.allclose(assign(roomy).load_old, base.load_old, atol=1e-6)
    plan = solve_joint(cats)
    for cat in cats:
        out = plan.categories[cat.key]
        assert np.array_equal(out.plan.served,
                              np.where(_covered(cat, out.selected), cat.demand, 0.0))


def test_bad_arrays_are_bugs_not_input_errors():
    cat = _instance(0, capacities=False, n_cats=1)[0]
    with pytest.raises(ValueError, match="demand"):
        PlanCategory(**{**cat.__dict__, "demand": -cat.demand - 1})
    with pytest.raises(ValueError, match="weight"):
        PlanCategory(**{**cat.__dict__, "weight": 0.0})
    with pytest.raises(ValueError, match="duplicate"):
        solve_joint([cat, cat])


def test_a_model_that_disagrees_with_the_assignment_is_never_reported(monkeypatch):
    from coverage.errors import SolverError
    from coverage.jointplan import model

    cats = _instance(3, capacities=True)
    real = model.choose

    def off_by_five(*args, **kw):
        chosen, status, served = real(*args, **kw)
        return chosen, status, None if served is None else served + 5.0

    monkeypatch.setattr(model, "choose", off_by_five)
    with pytest.raises(SolverError, match="numerical trouble"):
        solve_joint(cats)


# --- fast paths: exact max flow, lazy ranking, shared outcomes ------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_integer_max_flow_equals_the_assignment_lp(seed):
    """The served total by scipy's integer max flow equals the assignment LP's (and networkx's
    max flow); fractional demand or capacity is left to the LP."""
    from coverage.jointplan import serving

    rng = np.random.default_rng(seed)
    for cat in _instance(seed, capacities="tight" if seed % 2 else True):
        for size in (0, 1, 2, 4):
            open_new = np.sort(rng.choice(cat.n_spaces, size, replace=False))
            dist, cap = serving._facilities(cat, open_new)
            fast = serving._max_flow_served(dist, cap, cat.demand)
            lp = assign(cat, open_new, nearest=False).served_total
            assert fast == pytest.approx(lp, abs=1e-6)
            assert fast == pytest.approx(maxflow_served(cat, tuple(open_new.tolist())))
            if not dist.nnz:  # no facility within reach of anyone: nothing served, exactly
                assert fast == 0.0
                continue
            half = np.where(np.isfinite(cap), cap + 0.5, cap)
            if np.isfinite(cap).any():
                assert serving._max_flow_served(dist, half, cat.demand) is None
            assert serving._max_flow_served(dist, cap, cat.demand + 0.25) is None


def _eager_rank(cat: PlanCategory, chosen: np.ndarray, tol: float):
    """Every space evaluated at every step (the textbook greedy; ties: lowest index)."""
    order: list[int] = []
    gains: list[float] = []
    current = maxflow_served(cat, ())
    left = [int(i) for i in np.sort(chosen)]
    while left:
        values = [maxflow_served(cat, tuple(sorted([*order, i]))) for i in left]
        best = int(np.argmax(values))
        if values[best] - current <= tol:
            break
        order.append(left.pop(best))
        gains.append(values[best] - current)
        current = values[best]
    return order, gains


@pytest.mark.parametrize("seed", range(20))
def test_lazy_ranking_equals_evaluating_every_space(seed):
    """The ranking skips spaces whose earlier gain cannot win; the order and gains are the
    textbook greedy's, ties (common when new facilities fill up) to the lowest index."""
    from coverage.jointplan.serving import rank

    rng = np.random.default_rng(seed)
    for cat in _instance(seed, capacities="tight" if seed % 2 else True, n_spaces=10):
        chosen = np.sort(rng.choice(cat.n_spaces, int(rng.integers(1, 7)), replace=False))
        order, gains = rank(cat, chosen, 1e-6)
        want_order, want_gains = _eager_rank(cat, chosen, 1e-6)
        assert order.tolist() == want_order
        np.testing.assert_allclose(gains, want_gains, atol=1e-6)


@pytest.mark.parametrize("capacities", [False, True, "tight"])
def test_a_shared_outcome_cache_changes_no_answer(capacities):
    from coverage.jointplan.solve import OutcomeCache

    for seed in range(6):
        cats = _instance(seed, capacities=capacities)
        cache = OutcomeCache()
        joint = solve_joint(cats, cache=cache)
        indep = solve_independent(cats, cache=cache)
        for plan, fresh in ((joint, solve_joint(cats)), (indep, solve_independent(cats))):
            for key, got in plan.categories.items():
                want = fresh.categories[key]
                assert got.selected.tolist() == want.selected.tolist()
                np.testing.assert_array_equal(got.gains, want.gains)
                np.testing.assert_array_equal(got.plan.served, want.plan.served)
                np.testing.assert_array_equal(got.plan.load_new, want.plan.load_new)
