"""Batch split: which points an area folder gets (no shared data needed)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely

from coverage.batch.split import _point_subset, _PointSource


def test_an_area_gets_the_points_within_reach_exactly(tmp_path):
    """Points are kept by their exact distance to the area's polygon: a buffered polygon draws
    its arcs as chords, up to r (1 - cos(pi / 64)) = 1.2 m inside a 1,000 m reach at a corner,
    and lost a facility there (one that serves the area when a category walks the whole reach)."""
    area = shapely.box(0.0, 0.0, 500.0, 500.0)
    reach_m = 1000.0
    angle = math.radians(180 + 45) + math.pi / 64  # between two of a buffer's arc vertices
    at = [reach_m - 0.5, reach_m + 0.5, 10.0]  # from the corner (0, 0); the last one inside
    xy = np.array([[d * math.cos(angle), d * math.sin(angle)] for d in at[:2]] + [[10.0, 10.0]])
    assert np.allclose(shapely.distance(area, shapely.points(xy)), [at[0], at[1], 0.0])
    table = pd.DataFrame({"id": ["near", "far", "inside", "unlocated"]})
    source = _PointSource(table, rows=np.array([0, 1, 2]), xy=xy)
    name = _point_subset(source, area, reach_m, tmp_path, "facilities1")
    kept = pd.read_csv(tmp_path / name, encoding="utf-8-sig")["id"].tolist()
    # an unlocated row stays, so the area's own check reports it
    assert kept == ["near", "inside", "unlocated"]
    assert not shapely.contains_xy(area.buffer(reach_m), *xy[0])  # what the buffer lost
