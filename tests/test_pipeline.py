"""The coverage stage on the embedded Huitian sample (the real 2013 OSM streets)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import shapely
from _reference import exact_isochrone, reference_nearest, set_hausdorff_at_most

from coverage.access import Snapped, snap_layer
from coverage.metrics import compound_distance
from coverage.outputs import compounds_table, write_coverage
from coverage.pipeline import analyze


def _category_sources(result, key):
    fac = result.facilities
    snap = snap_layer(result.network, fac, result.config.max_snap_m)[1]
    use = (fac["category"].to_numpy() == key) & ~fac["off_network"].to_numpy(bool)
    return snap.take(np.flatnonzero(use))


@pytest.mark.parametrize("key", ["elderly_centre", "kindergarten"])
def test_compound_minutes_equal_independent_dijkstra_on_real_streets(sample_result, key):
    r = sample_result
    cat = r.config.category(key)
    sources = _category_sources(r, key)
    cutoff = r.config.max_walk_min * 60 * cat.speed_m_s
    point = reference_nearest(r.network, sources, r.access.snap, cutoff)
    n_all = len(r.inputs.compounds)
    want_m = compound_distance(r.access.compound, point, n_all)
    in_area = r.inputs.compounds["in_area"].to_numpy(bool)
    want_min = want_m[in_area] / cat.speed_m_s / 60
    got = r.compounds[f"walk_min_{key}"].to_numpy()
    np.testing.assert_array_equal(np.isnan(got), ~np.isfinite(want_min))
    ok = np.isfinite(want_min)
    # 1e-6 m expressed in minutes
    np.testing.assert_allclose(got[ok], want_min[ok], atol=1e-6 / cat.speed_m_s / 60, rtol=0)
    covered = r.compounds[f"covered_{key}"].to_numpy(bool)
    np.testing.assert_array_equal(covered, np.nan_to_num(want_m[in_area], nan=np.inf)
                                  <= cat.walk_m + 1e-6)
    assert 0 < covered.sum() < len(covered)  # the sample has gaps, or the test proves little


def test_output_columns_follow_the_contract(sample_result):
    keys = sample_result.config.category_keys
    table = compounds_table(sample_result.compounds)
    want = ["id", "name", "unit", "population", "population_60plus"]
    for suffix in ("", "_with_proposed"):
        for k in keys:
            want += [f"walk_min_{k}{suffix}", f"covered_{k}{suffix}"]
        want += [f"n_categories_covered{suffix}", f"all_covered{suffix}"]
    assert list(table.columns) == want
    n_cov = table[[f"covered_{k}" for k in keys]].sum(axis=1)
    assert (table["n_categories_covered"] == n_cov).all()
    assert (table["all_covered"] == (n_cov == len(keys))).all()


def test_proposed_stations_never_reduce_coverage(sample_result):
    c = sample_result.compounds
    for k in sample_result.config.category_keys:
        a = c[f"walk_min_{k}"].fillna(np.inf)
        b = c[f"walk_min_{k}_with_proposed"].fillna(np.inf)
        assert (b <= a + 1e-9).all()
    # the 2020 plan's elderly-care centres do close some gaps in the sample
    assert c["covered_elderly_centre_with_proposed"].sum() > c["covered_elderly_centre"].sum()


def test_summary_is_population_weighted_with_the_demand_column(sample_result):
    r = sample_result
    s = r.summary.set_index(["unit", "category", "scenario"])
    c = r.compounds
    for k in ("elderly_station", "wet_market"):
        cat = r.config.category(k)
        row = s.loc[("ALL", k, "existing")]
        assert row.population == round(c[cat.demand].sum())
        assert row.population_covered == round(c.loc[c[f"covered_{k}"], cat.demand].sum())
        assert row.compounds_uncovered == int((~c[f"covered_{k}"]).sum())
        per_unit = s.xs((k, "existing"), level=("category", "scenario")).drop(index="ALL")
        assert per_unit["population_covered"].sum() == pytest.approx(row.population_covered,
                                                                     abs=len(per_unit))
    assert set(r.summary["unit"]) == {*r.inputs.boundaries["name"], "ALL"}


def test_facility_outside_the_units_serves_homes_inside(sample_result):
    r = sample_result
    fac = r.inputs.facilities
    outside = ~fac.within(r.inputs.study_area)
    key = "convenience_store"
    only_outside = fac[(fac["category"] != key) | outside].reset_index(drop=True)
    assert ((only_outside["category"] == key).sum()) > 0
    inputs = dataclasses.replace(r.inputs, facilities=only_outside)
    res = analyze(inputs, network=r.network, isochrones=False)
    assert res.compounds[f"covered_{key}"].sum() > 0


def test_isochrones_contain_every_covered_compound_access(sample_result):
    r = sample_result
    key = "pharmacy"
    iso = r.isochrones[key].set_index("scenario").geometry["existing"]
    covered = r.compounds[f"covered_{key}"].to_numpy(bool)
    ids = set(r.compounds["id"][covered])
    all_ids = r.inputs.compounds["id"].to_numpy()
    # The best access point of each covered compound lies on a reached street.
    sources = _category_sources(r, key)
    d = reference_nearest(r.network, sources, Snapped(r.access.snap.edge, r.access.snap.along_m,
                                                      np.zeros(len(r.access.snap))), 1e9)
    pts = r.access.snap.point_xy(r.network)
    best = {}
    for i, c in enumerate(r.access.compound):
        total = d[i] + r.access.snap.off_m[i]
        if all_ids[c] in ids and total < best.get(c, (np.inf,))[0]:
            best[c] = (total, pts[i])
    inside = [iso.covers(shapely.Point(p)) for _, p in best.values()]
    assert all(inside) and len(inside) == len(ids)
    # and the isochrone is no hull: the study area is not all inside it
    assert iso.area < r.inputs.load_area.area


@pytest.mark.parametrize("key", ["elderly_centre", "wet_market"])
def test_isochrones_within_5m_of_exact_union_on_real_streets(sample_result, key):
    """Both scenarios' polygons against the exact union of buffered reachable street pieces
    (independent distances: networkx), on the real 2013 streets."""
    r = sample_result
    cat = r.config.category(key)
    buffer_m = r.config.isochrone_buffer_m
    iso = r.isochrones[key].set_index("scenario").geometry
    sources = _category_sources(r, key)
    prop = r.proposed
    prop_snap = snap_layer(r.network, prop, r.config.max_snap_m)[1]
    use = (prop["category"].to_numpy() == key) & ~prop["off_network"].to_numpy(bool)
    both = Snapped.concat([sources, prop_snap.take(np.flatnonzero(use))])
    for scenario, src in (("existing", sources), ("with_proposed", both)):
        want = exact_isochrone(r.network, src, cat.walk_m, buffer_m)
        got = iso[scenario]
        assert got.is_valid and not got.is_empty
        assert set_hausdorff_at_most(got, want, 5.0)
        assert set_hausdorff_at_most(got, want, 3.0)  # typically 2-3 m: GEOS smooths long lines
    if use.any():  # the planned stations reach more streets
        assert iso["with_proposed"].area > iso["existing"].area


def test_with_proposed_reuses_existing_when_nothing_is_planned(sample_result):
    r = sample_result
    planned = set(r.proposed.loc[~r.proposed["off_network"].to_numpy(bool), "category"])
    for cat in r.config.categories:
        reach = r.reach[cat.key]
        if cat.key in planned:
            assert reach.proposed_node_dist_m is not None
            # min(existing, proposed-only) is the nearest of all: a station never lengthens a walk
            assert (r.dist_m["with_proposed"][cat.key] <= r.dist_m["existing"][cat.key]).all()
        else:  # no second pass at all: the very same arrays
            assert reach.proposed_node_dist_m is None
            assert r.dist_m["with_proposed"][cat.key] is r.dist_m["existing"][cat.key]


def test_write_coverage_is_atomic(sample_result, tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_coverage(sample_result, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    import coverage.outputs.write as outputs  # where write_coverage_files looks up write_gpkg

    def boom(path, layers, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outputs, "write_gpkg", boom)
    with pytest.raises(RuntimeError):
        write_coverage(sample_result, out)
    assert {p.name for p in out.iterdir()} == set(before)
    assert (out / "coverage.gpkg").read_bytes() == before["coverage.gpkg"]
    table = pd.read_csv(out / "compounds.csv", encoding="utf-8-sig")
    assert len(table) == len(sample_result.compounds)
