"""The distance engine against an independent networkx Dijkstra, and hand-checkable cases."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from _reference import (
    exact_isochrone,
    reference_nearest,
    reference_pairwise,
    set_hausdorff_at_most,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverage.access import Snapped, snap_points
from coverage.network import build_walk_network
from coverage.reach import (
    ARC_TOLERANCE_M,
    TILE_M,
    isochrone_polygon,
    nearest_source_distances,
    pairwise_distances,
    reach_intervals,
    reach_lines,
    reachable_segments,
    source_node_distances,
)

CRS = "EPSG:32650"


def line_network(n: int = 3, step: float = 100.0):
    """Nodes 0..n on the x axis, ``step`` metres apart."""
    xy = np.column_stack([np.arange(n + 1) * step, np.zeros(n + 1)])
    return build_walk_network(xy, np.arange(n), np.arange(1, n + 1), crs=CRS)


@st.composite
def random_case(draw):
    n = draw(st.integers(2, 25))
    # Coordinates on a 1 cm grid: denormal floats are not street coordinates.
    coord = st.integers(0, 100_000).map(lambda c: c / 100)
    xy = np.array(draw(st.lists(st.tuples(coord, coord), min_size=n, max_size=n)))
    m = draw(st.integers(1, 3 * n))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                          min_size=m, max_size=m))
    u, v = np.array(edges).T
    if np.all(u == v):
        u, v = np.array([0]), np.array([1])
    net = build_walk_network(xy, u, v, crs=CRS)
    pts = st.lists(st.tuples(st.floats(-100, 1100), st.floats(-100, 1100)), min_size=0,
                   max_size=8)
    src = np.array(draw(pts), dtype=float).reshape(-1, 2)
    tgt = np.array(draw(pts.filter(len)), dtype=float).reshape(-1, 2)
    cutoff = draw(st.sampled_from([150.0, 600.0, 5000.0]))
    return net, snap_points(net, src), snap_points(net, tgt), cutoff


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_case())
def test_nearest_matches_networkx_on_random_graphs(case):
    net, src, tgt, cutoff = case
    got, _ = nearest_source_distances(net, src, tgt, cutoff)
    want = reference_nearest(net, src, tgt, cutoff)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], atol=1e-6, rtol=0)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_case(), st.integers(1, 4))
def test_pairwise_matches_networkx_on_random_graphs(case, batch):
    net, src, tgt, cutoff = case
    got = pairwise_distances(net, src, tgt, cutoff, batch_size=batch)
    want = reference_pairwise(net, src, tgt, cutoff)
    dense = np.full(want.shape, np.inf)
    coo = got.tocoo()
    dense[coo.row, coo.col] = coo.data
    np.testing.assert_array_equal(np.isinf(dense), np.isinf(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(dense[fin], want[fin], atol=1e-6, rtol=0)
    # The nearest-source pass is the row-wise minimum of the pairwise matrix.
    nearest, _ = nearest_source_distances(net, src, tgt, cutoff)
    np.testing.assert_allclose(np.where(np.isfinite(nearest), nearest, -1),
                               np.where(np.isfinite(dense.min(axis=0, initial=np.inf)),
                                        dense.min(axis=0, initial=np.inf), -1), atol=1e-6)


def test_snap_mid_edge_counts_partial_lengths_and_off_network_distance():
    net = line_network(2)  # 0 --100-- 1 --100-- 2
    src = snap_points(net, [[30.0, 40.0]])  # 40 m off the street, 30 m from node 0
    assert src.edge[0] == 0
    assert src.along_m[0] == pytest.approx(30.0)
    assert src.off_m[0] == pytest.approx(40.0)
    tgt = snap_points(net, [[180.0, 0.0], [10.0, -5.0]])
    d, node_d = nearest_source_distances(net, src, tgt, 1e9)
    assert d[0] == pytest.approx(40 + 70 + 80)  # off + rest of edge 0 + 80 m into edge 1
    assert d[1] == pytest.approx(40 + 20 + 5)   # same edge: straight along it
    np.testing.assert_allclose(node_d, [70.0, 110.0, 210.0])


def test_facility_exactly_at_node_and_threshold():
    net = line_network(3)
    src = snap_points(net, [[0.0, 0.0]])
    assert src.off_m[0] == 0.0
    tgt = snap_points(net, [[300.0, 0.0], [300.0, 1e-7]])
    d, _ = nearest_source_distances(net, src, tgt, 300.0)
    assert d[0] == pytest.approx(300.0)  # exactly at the cutoff: still reached
    assert np.isfinite(d[0])


def test_islands_are_kept_and_unreachable_from_the_main_network():
    xy = np.array([[0, 0], [100, 0], [200, 0], [1000, 0], [1050, 0.0]])
    net = build_walk_network(xy, [0, 1, 3], [1, 2, 4], crs=CRS)
    assert len(net.component_size) == 2
    assert net.n_nodes == 5  # the island is not dropped
    src = snap_points(net, [[0.0, 0.0]])
    tgt = snap_points(net, [[1020.0, 0.0]])
    d, _ = nearest_source_distances(net, src, tgt, 1e9)
    assert np.isinf(d[0])


def test_no_sources_means_unreachable():
    net = line_network(2)
    tgt = snap_points(net, [[50.0, 0.0]])
    d, node_d = nearest_source_distances(net, Snapped.concat([]), tgt, 1000.0)
    assert np.isinf(d).all() and np.isinf(node_d).all()


def test_reachable_segments_cut_at_exact_remaining_distance():
    # T-shape: 0-1-2 along x, 1-3 up; source at the middle of edge 0-1, off 10 m.
    xy = np.array([[0, 0], [100, 0], [200, 0], [100, 100.0]])
    net = build_walk_network(xy, [0, 1, 1], [1, 2, 3], crs=CRS)
    src = snap_points(net, [[50.0, 10.0]])
    node_d = source_node_distances(net, src, 1e9)
    segs = reachable_segments(net, node_d, src, radius_m=70.0)
    reached = shapely.union_all(segs)
    # 60 m to node 1, so 10 m more along each of the other two edges; node 0 also at 60 m.
    assert reached.length == pytest.approx(100 + 10 + 10)
    assert reached.covers(shapely.Point(110, 0)) and not reached.covers(shapely.Point(111, 0))
    assert reached.covers(shapely.Point(100, 10)) and not reached.covers(shapely.Point(100, 11))
    iso = isochrone_polygon(segs, 5.0)
    assert iso.contains(shapely.Point(114, 0)) and not iso.contains(shapely.Point(116, 0))
    # No hull: the empty corner between the arms is not inside the isochrone.
    assert not iso.contains(shapely.Point(150, 50))


def test_reachable_segments_equal_points_within_radius():
    """Every sampled point on a segment is within the radius by the engine's own distances."""
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 1000, (40, 2))
    u = rng.integers(0, 40, 120)
    v = rng.integers(0, 40, 120)
    net = build_walk_network(xy, u, v, crs=CRS)
    src = snap_points(net, rng.uniform(0, 1000, (3, 2)))
    node_d = source_node_distances(net, src, 1e9)
    radius = 400.0
    segs = reachable_segments(net, node_d, src, radius)
    reached = shapely.union_all(segs)
    probes = snap_points(net, rng.uniform(0, 1000, (300, 2)))
    on_street = Snapped(probes.edge, probes.along_m, np.zeros(len(probes)))
    d, _ = nearest_source_distances(net, src, on_street, 1e9)
    pts = shapely.points(on_street.point_xy(net))
    inside = shapely.dwithin(pts, reached, 1e-6)
    clear = np.abs(d - radius) > 1e-3  # ignore probes exactly at the boundary
    np.testing.assert_array_equal(inside[clear], (d <= radius)[clear])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_case(), st.sampled_from([30.0, 120.0, 400.0]), st.sampled_from([5.0, 50.0]),
       st.sampled_from([TILE_M, 97.0, 330.0]))
def test_isochrone_within_5m_of_exact_union_on_random_graphs(case, radius, buffer_m, tile_m):
    # Tiles of 97 m and 330 m cut the 1 km graphs into many: pieces, holes and necks across
    # tile borders must come out as in one dissolve.
    net, src, _, _ = case
    node_d = source_node_distances(net, src, radius)
    lines = reach_lines(net, node_d, src, radius)
    got = isochrone_polygon(lines, buffer_m, tile_m=tile_m, tiled_from=0)
    want = exact_isochrone(net, src, radius, buffer_m)
    assert got.is_valid
    assert set_hausdorff_at_most(got, want, 5.0)
    # In fact each region is within the chord tolerance of the other (GEOS also smooths a
    # buffered line's input, by ~1 % of the distance: 2 % bounds it). This is the distance
    # between the regions; their boundaries can lie farther apart where two buffers only just
    # touch (a neck open in one, closed in the other), which changes no place by more.
    assert set_hausdorff_at_most(got, want, ARC_TOLERANCE_M + 0.02 * buffer_m)
    assert got.is_empty == want.is_empty
    # The strokes cover exactly the reached pieces, no more, no less.
    pieces = reachable_segments(net, node_d, src, radius)
    assert shapely.length(lines).sum() == pytest.approx(shapely.length(pieces).sum(), abs=1e-6)
    if len(pieces):
        assert shapely.hausdorff_distance(shapely.union_all(lines), shapely.union_all(pieces),
                                          densify=0.1) < 1e-6


def test_isochrone_of_a_self_crossing_stroke_misses_nothing():
    """A stroke from the Beijing-wide network (local metres) that doubles back across itself:
    GEOS buffers it whole with 5,400 m2 missing beyond 5 m; the polygon must not."""
    xy = [[963.5, 555.1], [907.4, 578.9], [886.1, 590.4], [869.5, 603.0], [855.6, 627.1],
          [881.2, 604.9], [892.2, 597.7], [911.0, 588.7], [950.5, 570.5], [970.9, 563.4],
          [1002.7, 547.7], [1022.3, 550.6], [1040.7, 556.7], [1067.8, 569.3], [1087.8, 580.0],
          [1106.3, 589.7], [1124.4, 603.5], [1134.2, 617.8], [1102.1, 598.5], [1081.6, 586.9],
          [1048.2, 570.9], [1021.8, 563.3], [1002.7, 547.7], [982.4, 549.6], [963.5, 555.1]]
    line = shapely.LineString(xy)
    assert not line.is_simple
    segments = shapely.linestrings(np.stack([xy[:-1], xy[1:]], axis=1))
    want = shapely.union_all(shapely.buffer(segments, 50.0, quad_segs=64))
    for tiled_from in (0, 10**9):
        got = isochrone_polygon(np.array([line]), 50.0, tile_m=97.0, tiled_from=tiled_from)
        assert got.is_valid
        assert set_hausdorff_at_most(got, want, ARC_TOLERANCE_M + 0.02 * 50.0)


@pytest.mark.parametrize("tile_m", [TILE_M, 250.0, 173.0])
def test_isochrone_of_a_block_grid_keeps_every_hole(tile_m):
    """A 10 x 10 grid of 120 m blocks buffered by 50 m: a 20 m hole in every block, whether the
    hole lies inside a tile, across a tile border or on a tile corner."""
    side = 11
    xy = np.array([[x, y] for y in range(side) for x in range(side)], dtype=float) * 120.0
    xy += np.random.default_rng(0).normal(0, 1.5, xy.shape) + 1000.0
    idx = np.arange(side * side).reshape(side, side)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    net = build_walk_network(xy, u, v, crs=CRS)
    src = snap_points(net, [[1000.0 + 600, 1000.0 + 600]])
    node_d = source_node_distances(net, src, 1e9)
    lines = reach_lines(net, node_d, src, 1e6)
    got = isochrone_polygon(lines, 50.0, tile_m=tile_m, tiled_from=0)
    want = exact_isochrone(net, src, 1e6, 50.0)
    assert got.is_valid and got.geom_type == "Polygon"
    assert shapely.get_num_interior_rings(got) == shapely.get_num_interior_rings(want) == 100
    assert set_hausdorff_at_most(got, want, ARC_TOLERANCE_M + 0.02 * 50.0)
    # The same lines give the same polygon, vertex for vertex, on one thread or two.
    again = isochrone_polygon(lines, 50.0, tile_m=tile_m, tiled_from=0, threads=1)
    assert shapely.to_wkb(again) == shapely.to_wkb(got)
    # Untiled (few vertices) and tiled dissolves give the same region.
    assert set_hausdorff_at_most(isochrone_polygon(lines, 50.0), got, 1e-6)


def test_reach_intervals_are_disjoint_and_merged():
    # Two sources on one 100 m edge: their reaches overlap and join the ends' reaches.
    net = line_network(1)
    src = snap_points(net, [[30.0, 0.0], [60.0, 0.0]])
    node_d = source_node_distances(net, src, 1e9)
    edge, start, end = reach_intervals(net, node_d, src, 25.0)
    np.testing.assert_array_equal(edge, [0])
    np.testing.assert_allclose([start[0], end[0]], [5.0, 85.0])
    edge, start, end = reach_intervals(net, node_d, src, 10.0)
    np.testing.assert_allclose(np.column_stack([start, end]), [[20.0, 40.0], [50.0, 70.0]])
    # A street grid reached whole: every edge one full interval, one stroke per grid line.
    xy = np.array([[x, y] for y in range(4) for x in range(4)], dtype=float) * 100
    u = [i for i in range(16) if i % 4 < 3] + list(range(12))
    v = [i + 1 for i in range(16) if i % 4 < 3] + [i + 4 for i in range(12)]
    grid = build_walk_network(xy, u, v, crs=CRS)
    src = snap_points(grid, [[150.0, 150.0]])
    node_d = source_node_distances(grid, src, 1e9)
    edge, start, end = reach_intervals(grid, node_d, src, 1e6)
    assert len(edge) == grid.n_edges and (start == 0).all()
    np.testing.assert_allclose(end, grid.edge_length_m[edge])
    lines = reach_lines(grid, node_d, src, 1e6)
    # Chained through the nodes: fewer lines than the 8 grid lines, the same 2,400 m of street.
    assert len(lines) <= 8
    assert shapely.length(lines).sum() == pytest.approx(2400.0)
    assert shapely.union_all(lines).equals(shapely.union_all(grid.edge_lines))


@pytest.mark.parametrize("seed", range(5))
def test_trails_follow_the_pairs_at_nodes(seed):
    """Every piece in exactly one trail; consecutive pieces meet at paired half-edges; an open
    trail runs from one free end to the other; a closed loop comes back to where it started."""
    from coverage.reach import _pair_at_nodes, _walk_trails

    rng = np.random.default_rng(seed)
    k, n_nodes = 300, 60
    end_a, end_b = rng.integers(0, n_nodes, k), rng.integers(0, n_nodes, k)
    end_a = np.where(rng.random(k) < 0.1, n_nodes + np.arange(k), end_a)  # free ends
    end_b = np.where(rng.random(k) < 0.1, n_nodes + k + np.arange(k), end_b)
    partner = _pair_at_nodes(end_a, end_b, rng.uniform(0, 100, (k, 2, 2)))
    order, flip, trail = _walk_trails(partner, k)
    assert sorted(order) == list(range(k))
    entry = 2 * order + flip  # half-edge each piece is entered by
    n_loops = 0
    for t in np.unique(trail):
        e = entry[trail == t]
        assert (partner[e[1:]] == (e[:-1] ^ 1)).all()  # each step crosses a pair
        if partner[e[0]] < 0:
            assert partner[e[-1] ^ 1] < 0  # open: free end to free end
        else:
            assert partner[e[0]] == e[-1] ^ 1  # closed: the last piece leads back to the first
            n_loops += 1
    assert np.diff(trail).min() >= 0 and n_loops > 0
