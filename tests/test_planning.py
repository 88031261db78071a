"""The siting stage: network coverage matrix, candidate generation, scenarios."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from _reference import reference_pairwise
from scipy.spatial import cKDTree

from coverage.access import snap_points
from coverage.errors import InputError
from coverage.metrics import compound_distance
from coverage.planning import compound_distance_matrix, generate_candidates, select_sites


def test_coverage_matrix_equals_independent_dijkstra(sample_result):
    r = sample_result
    cand = r.inputs.candidates.iloc[:12]
    snap = snap_points(r.network, shapely.get_coordinates(cand.geometry.to_numpy()))
    n = len(r.inputs.compounds)
    got = compound_distance_matrix(r.network, snap, r.access.compound, r.access.snap, n, 900.0)
    ref = reference_pairwise(r.network, snap, r.access.snap, 900.0)
    want = np.vstack([compound_distance(r.access.compound, row, n) for row in ref])
    dense = np.full(want.shape, np.inf)
    coo = got.tocoo()
    dense[coo.row, coo.col] = coo.data
    np.testing.assert_array_equal(np.isinf(dense), np.isinf(want))
    ok = np.isfinite(want)
    assert ok.sum() > 0
    np.testing.assert_allclose(dense[ok], want[ok], atol=1e-6, rtol=0)


@pytest.fixture(scope="module")
def outcome(sample_result):
    return select_sites(sample_result)


def test_sites_for_the_categories_that_ask(outcome, sample_result):
    asked = {c.key: c.new_sites for c in sample_result.config.categories if c.new_sites}
    assert set(outcome.plans) == set(asked)
    for key, plan in outcome.plans.items():
        assert plan.optimal.n_sites <= asked[key]
        assert plan.optimal.demand_gained >= plan.greedy.demand_gained - 1e-6
        assert plan.optimal.status == "optimal"


def test_scenarios_follow_from_the_selected_sites(outcome, sample_result):
    comp = sample_result.compounds
    sc = outcome.scenarios.set_index(["category", "scenario"])
    for key, plan in outcome.plans.items():
        cat = sample_result.config.category(key)
        demand = comp[cat.demand].to_numpy(float)
        base = comp[f"covered_{key}"].to_numpy(bool)
        exist = sc.loc[(key, "existing")]
        assert exist.demand_covered == pytest.approx(demand[base].sum(), abs=0.1)
        opt = sc.loc[(key, f"optimal_{cat.new_sites}")]
        assert opt.demand_covered == pytest.approx(demand[base].sum() + plan.optimal.demand_gained,
                                                   abs=0.1)
        gr = sc.loc[(key, f"greedy_{cat.new_sites}")]
        assert gr.demand_covered <= opt.demand_covered + 1e-6
        assert opt.sites_added == plan.optimal.n_sites


def test_sites_table_ranks_by_marginal_gain(outcome):
    greedy = outcome.sites[outcome.sites["method"] == "greedy"]
    for _, t in greedy.groupby("category"):
        gains = t.sort_values("rank")["gain_demand"].to_numpy()
        assert (np.diff(gains) <= 1e-6).all() and (gains > 0).all()
        cum = t.sort_values("rank")["cumulative_demand_covered"].to_numpy()
        assert (np.diff(cum) > 0).all()
    assert len(outcome.selected_sites) > 0


def test_generated_candidates_are_on_streets_and_spaced(sample_result):
    r = sample_result
    uncovered = ~r.compounds["covered_elderly_centre"].to_numpy(bool)
    polys = r.compounds.geometry.to_numpy()[uncovered]
    gen = generate_candidates(r.network, polys, 200.0, crs=r.config.crs)
    assert len(gen) > 10
    xy = shapely.get_coordinates(gen.geometry.to_numpy())
    pairs = cKDTree(xy).query_pairs(200.0 - 1e-6)
    assert not pairs
    snap = snap_points(r.network, xy)
    assert snap.off_m.max() < 1e-6
    zone = shapely.union_all(shapely.buffer(polys, 15.0))
    assert shapely.contains_xy(zone, xy[:, 0], xy[:, 1]).all()
    assert gen["id"].is_unique


def test_no_candidates_is_an_input_error(sample_result):
    import dataclasses

    r = dataclasses.replace(sample_result,
                            inputs=dataclasses.replace(sample_result.inputs, candidates=None))
    with pytest.raises(InputError, match="no candidate sites"):
        select_sites(r)
