"""Buffers that hold every point within a distance (load area, tile halos)."""

from __future__ import annotations

import numpy as np
import shapely

from coverage._geometry import buffer_covering, within_distance

# an L: five convex corners and one reflex corner at (1000, 1000)
L_SHAPE = shapely.Polygon([(0, 0), (2000, 0), (2000, 1000), (1000, 1000), (1000, 2000),
                           (0, 2000)])
ANGLES = np.radians(np.linspace(0.0, 360.0, 14401))


def _circle(centre: tuple[float, float], radius: float) -> np.ndarray:
    return shapely.points(np.asarray(centre) + radius * np.column_stack([np.cos(ANGLES),
                                                                          np.sin(ANGLES)]))


def test_a_covering_buffer_holds_every_point_within_the_distance():
    d = 900.0
    for corner in L_SHAPE.exterior.coords[:-1]:
        ring = _circle(corner, d - 1e-6)
        near = within_distance(L_SHAPE, ring, d)
        assert near.sum() > len(ring) // 5
        assert shapely.intersects(buffer_covering(L_SHAPE, d), ring[near]).all()
    # a plain buffer misses points at its convex corners: what the covering one is for
    ring = _circle((2000, 0), d - 0.1)
    assert not shapely.intersects(L_SHAPE.buffer(d), ring).all()
    # and it reaches at most 1 / cos(pi / 64) - 1 = 0.1206 % beyond the distance
    vertices = shapely.points(buffer_covering(L_SHAPE, d).exterior.coords)
    over = shapely.distance(L_SHAPE, vertices).max() - d
    assert 0.0 < over < 0.001207 * d


def test_a_covering_shrink_keeps_only_points_that_far_inside():
    d = 100.0
    ring = _circle((1000, 1000), d - 1e-3)  # around the reflex corner
    inside = shapely.contains(L_SHAPE, ring)
    assert not shapely.intersects(buffer_covering(L_SHAPE, -d), ring[inside]).any()
    assert shapely.intersects(L_SHAPE.buffer(-d), ring[inside]).any()  # the plain one keeps some
    deep = shapely.points([[500, 500], [1500, 500], [500, 1500]])
    assert shapely.contains(buffer_covering(L_SHAPE, -d), deep).all()


def test_within_distance_is_the_exact_distance():
    pts = shapely.points([[1000, 1000], [2000.0 + 50.0, 500.0], [2000.0 + 50.01, 500.0],
                          [2000 + 35.35, -35.35], [2000 + 35.36, -35.36]])
    assert within_distance(L_SHAPE, pts, 50.0).tolist() == [True, True, False, True, False]
    assert within_distance(L_SHAPE, pts[:2], 0.0).tolist() == [True, False]
