"""Walk network loading: which ways are walkable, one-way streets, lengths in metres."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pyproj import Geod

from coverage.access import snap_points
from coverage.network import is_walkable, load_walk_network
from coverage.reach import nearest_source_distances

CRS = "EPSG:32650"
LON0, LAT0 = 116.35, 40.07


def _osm(tmp_path, ways):
    """Write an OSM XML file: nodes on a 0.001-degree grid, ways as (node ids, tags)."""
    nodes = sorted({n for ids, _ in ways for n in ids})
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for n in nodes:
        lines.append(f'  <node id="{n}" lat="{LAT0}" lon="{LON0 + 0.001 * n:.7f}" version="1"/>')
    for i, (ids, tags) in enumerate(ways, start=1):
        lines.append(f'  <way id="{i}" version="1">')
        lines += [f'    <nd ref="{n}"/>' for n in ids]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path = tmp_path / "net.osm"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("tags", "walkable"),
    [
        ({"highway": "residential"}, True),
        ({"highway": "trunk"}, True),
        ({"highway": "motorway"}, False),
        ({"highway": "motorway_link"}, False),
        ({"highway": "platform"}, False),
        ({"highway": "construction"}, False),
        ({"highway": "residential", "foot": "no"}, False),
        ({"highway": "service", "access": "no"}, False),
        ({"highway": "service", "access": "private"}, False),
        ({"highway": "service", "access": "no", "foot": "yes"}, True),
        ({"highway": "pedestrian", "area": "yes"}, False),
        ({"highway": ["residential", "motorway"]}, True),
        ({"highway": "service", "service": "private"}, False),
        ({"highway": "secondary", "sidewalk": "separate"}, False),
        ({"highway": "secondary", "sidewalk:left": "separate"}, False),
        ({"highway": "secondary", "sidewalk": "both"}, True),
        ({"highway": "rest_area"}, False),
        ({}, False),
    ],
)
def test_is_walkable(tags, walkable):
    assert is_walkable(tags) is walkable


def test_oneway_streets_are_walked_both_ways_and_motorways_dropped(tmp_path):
    path = _osm(tmp_path, [
        ([1, 2, 3], {"highway": "residential", "oneway": "yes"}),
        ([3, 4], {"highway": "motorway"}),
        ([4, 5], {"highway": "tertiary", "oneway": "-1"}),
    ])
    net = load_walk_network(path, CRS)
    assert sorted(net.node_osmid.tolist()) == [1, 2, 3, 4, 5]
    assert net.n_edges == 3
    # Against the one-way direction: from node 3 back to node 1 is walkable.
    geod = Geod(ellps="WGS84")
    want = geod.line_length([LON0 + 0.001, LON0 + 0.003], [LAT0, LAT0])
    i1, i3 = (int(np.flatnonzero(net.node_osmid == k)[0]) for k in (1, 3))
    src = snap_points(net, net.node_xy[[i3]])
    tgt = snap_points(net, net.node_xy[[i1]])
    d, _ = nearest_source_distances(net, src, tgt, 1e9)
    # UTM lengths differ from geodesic ones by the zone's scale factor (< 0.1 %).
    assert d[0] == pytest.approx(want, rel=1e-3)
    # The motorway is gone, so node 4/5 form an island reached from nowhere else.
    assert len(net.component_size) == 2


def test_clip_keeps_edges_with_one_end_inside(tmp_path):
    import shapely

    path = _osm(tmp_path, [([1, 2, 3, 4, 5, 6], {"highway": "residential"})])
    full = load_walk_network(path, CRS)
    i3 = int(np.flatnonzero(full.node_osmid == 3)[0])
    area = shapely.Point(full.node_xy[i3]).buffer(10)
    clipped = load_walk_network(path, CRS, clip_to=area)
    assert sorted(clipped.node_osmid.tolist()) == [2, 3, 4]


def test_unreadable_network_is_an_input_error(tmp_path):
    from coverage.errors import InputError

    bad = tmp_path / "bad.osm"
    bad.write_text("not xml", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.osm"):
        load_walk_network(bad, CRS)


BEIJING_WAYS = (Path(__file__).resolve().parents[2] / "shared" / "data" / "osm"
                / "beijing_osm2013_all_ways.gpkg")


@pytest.mark.skipif(not BEIJING_WAYS.exists(),
                    reason="../shared/data is absent (CI has it beside the repo)")
def test_clipped_gpkg_read_equals_whole_file_read():
    """Reading only the ways near the area gives the very same network, edge order included
    (snapping breaks ties by edge index)."""
    import geopandas as gpd
    import shapely

    from coverage.network import walk_network_from_ways

    centre = shapely.Point(451000, 4428000)  # central Beijing, EPSG:32650
    area = centre.buffer(3000)
    part = load_walk_network(BEIJING_WAYS, CRS, clip_to=area)
    whole = walk_network_from_ways(gpd.read_file(BEIJING_WAYS), CRS, clip_to=area)
    assert part.n_edges > 1000
    for attr in ("node_xy", "node_osmid", "edge_u", "edge_v", "edge_length_m", "edge_name"):
        np.testing.assert_array_equal(getattr(part, attr), getattr(whole, attr), err_msg=attr)
