"""Compound access points: gates when present, else boundary crossings/nodes and centroid."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from coverage.access import compound_access_points, island_report, snap_points
from coverage.metrics import compound_distance
from coverage.network import build_walk_network
from coverage.reach import nearest_source_distances

CRS = "EPSG:32650"


def grid_network():
    """A 3x3 grid of 100 m blocks: nodes (0..300, 0..300) every 100 m."""
    xs, ys = np.meshgrid(np.arange(4) * 100.0, np.arange(4) * 100.0)
    xy = np.column_stack([xs.ravel(), ys.ravel()])
    idx = np.arange(16).reshape(4, 4)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    return build_walk_network(xy, u, v, crs=CRS)


def test_street_block_is_reached_at_its_corner_nodes():
    net = grid_network()
    block = shapely.box(100, 100, 200, 200)  # the central block, streets all round
    ap = compound_access_points(net, np.array([block]))
    xy = ap.snap.point_xy(net)
    corners = {(100.0, 100.0), (200.0, 100.0), (100.0, 200.0), (200.0, 200.0)}
    on_boundary = {tuple(p) for p, k in zip(xy, ap.kind, strict=True) if k == "boundary"}
    assert corners <= on_boundary
    # and the centroid's nearest street point (50 m away) is an access point too
    cen = ap.kind == "centroid"
    assert cen.sum() == 1 and ap.snap.off_m[cen][0] == pytest.approx(50.0)


def test_crossing_way_gives_mid_edge_access_point():
    net = grid_network()
    # A compound straddling the street x=100 between y=0 and y=100: the street crosses its
    # boundary at (100, 40) and (100, 60).
    comp = shapely.box(60, 40, 140, 60)
    ap = compound_access_points(net, np.array([comp]))
    xy = {tuple(np.round(p, 6)) for p in ap.snap.point_xy(net)[ap.kind == "boundary"]}
    assert (100.0, 40.0) in xy and (100.0, 60.0) in xy


def test_gates_replace_boundary_access():
    net = grid_network()
    block = shapely.box(100, 100, 200, 200)
    facility = snap_points(net, [[100.0, 0.0]])  # south-west of the block
    no_gate = compound_access_points(net, np.array([block]))
    d0, _ = nearest_source_distances(net, facility, no_gate.snap, 1e9)
    # nearest corner (100,100) is 100 m away
    assert compound_distance(no_gate.compound, d0, 1)[0] == pytest.approx(100.0)
    # One gate, on the north side at (150, 200): 100 (to corner) + 100 up + 50 along = 250 m
    gated = compound_access_points(net, np.array([block]), gates_xy=np.array([[150.0, 200.0]]))
    assert set(gated.kind) == {"gate"}
    d1, _ = nearest_source_distances(net, facility, gated.snap, 1e9)
    assert compound_distance(gated.compound, d1, 1)[0] == pytest.approx(250.0)


def test_compound_far_from_streets_counts_its_off_network_walk():
    net = grid_network()
    far = shapely.box(500, 500, 520, 520)  # no street touches it
    ap = compound_access_points(net, np.array([far]))
    assert list(ap.kind) == ["centroid"]
    facility = snap_points(net, [[300.0, 300.0]])
    d, _ = nearest_source_distances(net, facility, ap.snap, 1e9)
    assert d[0] == pytest.approx(np.hypot(210.0, 210.0))


def test_snap_ties_go_to_lowest_edge_and_island_report():
    xy = np.array([[0, 0], [100, 0], [0, 10], [100, 10.0]])
    net = build_walk_network(xy, [0, 2], [1, 3], crs=CRS)  # two parallel streets 10 m apart
    s = snap_points(net, [[50.0, 5.0]])
    assert s.edge[0] == 0 and s.off_m[0] == pytest.approx(5.0)
    on_island, gap = island_report(net, snap_points(net, [[50.0, 10.0]]))
    # equal component sizes: the main one is component 0 (edge 0), so edge 1 is the island
    assert on_island[0] and gap[0] == pytest.approx(10.0)


def test_street_boundary_crossings_equal_geos_intersection():
    """The numpy segment-against-ring crossings are GEOS's intersection points, pair by pair:
    random streets against compounds with holes, multipolygons and vertices on streets."""
    from coverage.access import _segment_ring_points

    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 1000, (300, 2))
    u = rng.integers(0, 300, 400)
    v = (u + rng.integers(1, 299, 400)) % 300
    net = build_walk_network(xy, u, v, crs=CRS)
    centres = rng.uniform(100, 900, (40, 2))
    shells = shapely.buffer(shapely.points(centres), rng.uniform(30, 120, 40), quad_segs=3)
    holes = shapely.buffer(shapely.points(centres), 15.0, quad_segs=2)
    polys = np.concatenate([
        shapely.difference(shells[:20], holes[:20]),            # polygons with a hole
        [shapely.union(shells[20], shapely.box(0, 0, 50, 50))],  # a multipolygon
        shells[21:],
        [shapely.Polygon([net.node_xy[0], net.node_xy[1], net.node_xy[2]])],  # on street nodes
    ])
    boundaries = shapely.boundary(polys)
    c_i, e_i = net.edge_tree.query(boundaries, predicate="intersects")
    cross = shapely.crosses(net.edge_lines[e_i], boundaries[c_i])
    e_x, c_x = e_i[cross], c_i[cross]
    assert len(e_x) > 100
    pair, got = _segment_ring_points(net, e_x, boundaries, c_x)
    want, which = shapely.get_coordinates(
        shapely.intersection(net.edge_lines[e_x], boundaries[c_x]), return_index=True)
    for i in range(len(e_x)):
        a, b = got[pair == i], want[which == i]
        assert len(a) and len(b)
        # the same points (a crossing through a ring vertex is found from both its segments)
        d = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
        assert d.min(axis=1).max() < 1e-6 and d.min(axis=0).max() < 1e-6
