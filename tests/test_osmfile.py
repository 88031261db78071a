"""The OSM file reader (coverage.osmfile): the same walk network osmnx's reader gave, for .osm
and .osm.pbf alike (negative ids included), without importing osmnx."""

from __future__ import annotations

import bz2
import gzip
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _osmdata import osmium_cat, to_pbf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverage.errors import InputError
from coverage.network import WalkNetwork, load_walk_network, walk_network_from_graph
from coverage.osmfile import read_streets
from coverage.osmtags import EXTRA_WAY_TAGS

ROOT = Path(__file__).resolve().parents[1]
STREETS = ROOT / "data" / "huitian" / "streets.osm"
SHARED_OSM = ROOT.parent / "shared" / "data" / "osm" / "huitian_bbox_roads_osm2013.osm"
CRS = "EPSG:32650"
ARRAYS = ("node_osmid", "node_xy", "edge_u", "edge_v", "edge_length_m", "edge_name",
          "edge_highway", "component", "component_size")


def osmnx_graph(path: Path, *, simplify: bool = False) -> Any:
    """osmnx's graph of an OSM XML file, with the tags the walk rule reads kept."""
    import osmnx as ox

    saved = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = sorted(set(saved) | set(EXTRA_WAY_TAGS))
    try:
        return ox.graph_from_xml(path, simplify=simplify, retain_all=True, bidirectional=True)
    finally:
        ox.settings.useful_tags_way = saved


def osmnx_network(path: Path) -> WalkNetwork:
    """The walk network as circle15 read .osm files before: through osmnx's own reader."""
    return walk_network_from_graph(osmnx_graph(path), CRS)


def assert_same_network(a: WalkNetwork, b: WalkNetwork) -> None:
    for attr in ARRAYS:
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr), err_msg=attr)
    assert (a.graph != b.graph).nnz == 0


# --- the same network as osmnx --------------------------------------------------------------


@pytest.mark.parametrize("path", [STREETS, SHARED_OSM], ids=["sample", "shared_bbox"])
def test_real_files_give_osmnx_network_exactly(path: Path) -> None:
    if not path.exists():
        pytest.skip("../shared/data is absent")
    assert_same_network(load_walk_network(path, CRS), osmnx_network(path))


def test_reading_an_osm_file_does_not_import_osmnx() -> None:
    code = ("import sys; from coverage.network import load_walk_network; "
            f"n = load_walk_network({str(STREETS)!r}, 'EPSG:32650'); "
            "print(n.n_edges, 'osmnx' in sys.modules, 'networkx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300).stdout.split()
    assert out == ["3621", "False", "False"]


TAGS = [
    {"highway": "residential", "name": "回龙观东大街"},
    {"highway": "footway"},
    {"highway": "residential", "name": "育知路", "oneway": "yes"},
    {"highway": "motorway", "name": "京藏高速"},
    {"highway": "platform"},
    {"highway": "service", "access": "private"},
    {"highway": "service", "access": "no", "foot": "yes"},
    {"highway": "pedestrian", "area": "yes"},
    {"landuse": "residential"},
    {"building": "yes"},
]


@st.composite
def osm_files(draw: st.DrawFn) -> tuple[str, int]:
    """Random OSM XML: shuffled (also negative) ids, shared and overlapping ways, repeated and
    consecutive duplicate nodes, walkable and other ways mixed."""
    ids = draw(st.lists(st.integers(-40, 40).filter(bool), min_size=2, max_size=10, unique=True))
    coords = {i: (116.3 + draw(st.integers(0, 10**5)) / 1e7 * 100,
                  40.05 + draw(st.integers(0, 10**5)) / 1e7 * 100) for i in ids}
    way_ids = draw(st.lists(st.integers(-30, 30), min_size=1, max_size=8, unique=True))
    ways = [(w, draw(st.lists(st.sampled_from(ids), min_size=1, max_size=6)),
             draw(st.sampled_from(TAGS))) for w in way_ids]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    node_lines = [f'<node id="{i}" lat="{coords[i][1]:.7f}" lon="{coords[i][0]:.7f}"/>'
                  for i in ids]
    way_lines = []
    for w, refs, tags in ways:
        way_lines += [f'<way id="{w}">', *(f'<nd ref="{r}"/>' for r in refs),
                      *(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()), "</way>"]
    ways_first = draw(st.booleans())
    lines += (way_lines + node_lines) if ways_first else (node_lines + way_lines)
    lines.append("</osm>")
    return "\n".join(lines), len(ways)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(osm_files())
def test_random_files_give_osmnx_network_exactly(tmp_path: Path, case: tuple[str, int]) -> None:
    text, _ = case
    path = tmp_path / "random.osm"
    path.write_text(text, encoding="utf-8")
    pbf = to_pbf(path, tmp_path / "random.osm.pbf")
    want = osmnx_network(path)
    if want.n_edges == 0:
        for p in (path, pbf):
            with pytest.raises(InputError, match=p.name):
                load_walk_network(p, CRS)
        return
    assert_same_network(load_walk_network(path, CRS), want)
    assert_same_network(load_walk_network(pbf, CRS), want)  # the PBF path accepts it too


# --- .osm.pbf: the same streets as the .osm they were made from ---------------------------------


def test_pbf_from_osmium_cat_equals_the_osm(tmp_path: Path) -> None:
    pbf = osmium_cat(STREETS, tmp_path / "streets.osm.pbf")
    streets = read_streets(pbf)
    assert (streets.node_id < 0).any() and (streets.node_id > 0).any()  # negative ids too
    assert_same_network(load_walk_network(pbf, CRS), load_walk_network(STREETS, CRS))


def test_pbf_written_by_pyosmium_with_negative_ids(tmp_path: Path) -> None:
    import osmium
    from osmium.osm.mutable import Node, Way

    pbf = tmp_path / "josm.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as w:
        for i, lon in ((-3, 116.300), (-2, 116.301), (5, 116.302)):
            w.add_node(Node(id=i, location=osmium.osm.Location(lon, 40.07)))
        w.add_way(Way(id=-1, nodes=[-3, -2, 5], tags={"highway": "residential"}))
        w.add_way(Way(id=-4, nodes=[-3, 5], tags={"highway": "motorway"}))
    net = load_walk_network(pbf, CRS)
    assert net.node_osmid.tolist() == [-3, -2, 5] and net.n_edges == 2
    assert read_streets(pbf, bbox=(116.3015, 40.0, 116.31, 40.1)).n_ways == 1
    with pytest.raises(InputError, match="no walkable street in the box"):
        read_streets(pbf, bbox=(117.0, 40.0, 117.1, 40.1))


def test_compressed_xml_and_deleted_objects(tmp_path: Path) -> None:
    text = STREETS.read_bytes()
    (tmp_path / "s.osm.bz2").write_bytes(bz2.compress(text))
    (tmp_path / "s.osm.gz").write_bytes(gzip.compress(text))
    want = load_walk_network(STREETS, CRS)
    for name in ("s.osm.bz2", "s.osm.gz"):
        assert_same_network(load_walk_network(tmp_path / name, CRS), want)
    # JOSM marks deletions it has not uploaded: those ways are not walked
    josm = tmp_path / "josm.osm"
    josm.write_text(
        '<osm version="0.6"><node id="-1" lat="40.07" lon="116.30"/>'
        '<node id="-2" lat="40.07" lon="116.301"/><node id="-3" lat="40.07" lon="116.302"/>'
        '<way id="-5"><nd ref="-1"/><nd ref="-2"/><tag k="highway" v="residential"/></way>'
        '<way id="-6" action="delete"><nd ref="-2"/><nd ref="-3"/>'
        '<tag k="highway" v="residential"/></way></osm>', encoding="utf-8")
    assert load_walk_network(josm, CRS).node_osmid.tolist() == [-1, -2]


def test_simplified_graphml_is_split_into_the_same_straight_streets(tmp_path: Path) -> None:
    """A simplified osmnx graph (edges with a geometry and merged tags) saved as GraphML:
    circle15's reader gives what osmnx's loader gives, and both directions of an edge share
    their inner vertices (each street segment once)."""
    import osmnx as ox

    g = osmnx_graph(STREETS, simplify=True)
    assert any("geometry" in d for _, _, d in g.edges(data=True))
    path = tmp_path / "simplified.graphml"
    ox.save_graphml(g, path)
    ours = load_walk_network(path, CRS)
    assert_same_network(ours, walk_network_from_graph(ox.load_graphml(path), CRS))
    # Every street of the unsimplified network is there once (simplification merges tags, so
    # a motorway_link joined to a secondary road becomes walkable: a few segments more).
    plain = load_walk_network(STREETS, CRS)

    def segments(n: WalkNetwork) -> set[tuple[tuple[float, float], ...]]:
        ends = np.round(n.node_xy, 6)
        return {tuple(sorted(map(tuple, ends[[a, b]].tolist())))
                for a, b in zip(n.edge_u, n.edge_v, strict=True)}

    assert segments(plain) <= segments(ours)
    assert plain.n_edges <= ours.n_edges <= plain.n_edges + 10
