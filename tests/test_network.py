"""Walk network loading: which ways are walkable, one-way streets, lengths in metres."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from pyproj import Geod

from coverage.access import snap_points
from coverage.errors import InputError
from coverage.network import load_walk_network
from coverage.osmtags import is_walkable
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


# --- bad network files: one corpus, each a clean InputError (CLI exit 2) ------------------------

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "huitian"
SAMPLE_STREETS = SAMPLE_DIR / "streets.osm"


def _sample_text() -> str:
    return SAMPLE_STREETS.read_text(encoding="utf-8")


def _first_street_node(text: str) -> str:
    """Id of the first node of the sample's first way (a walkable street)."""
    import re

    way = text[text.index("<way"):]
    return re.search(r'<nd ref="(-?\d+)"', way).group(1)


def _truncated(d: Path) -> Path:
    text = _sample_text()
    (d / "streets.osm").write_text(text[: len(text) // 2], encoding="utf-8")
    return d / "streets.osm"


def _no_walkable_way(d: Path) -> Path:
    import re

    text = re.sub(r'<tag k="highway" v="[^"]*"/>', '<tag k="building" v="yes"/>', _sample_text())
    (d / "streets.osm").write_text(text, encoding="utf-8")
    return d / "streets.osm"


def _missing_nodes(d: Path) -> Path:
    import re

    text = _sample_text()
    node = _first_street_node(text)
    text = re.sub(rf'\s*<node id="{node}"[^>]*/>', "", text, count=1)
    (d / "streets.osm").write_text(text, encoding="utf-8")
    return d / "streets.osm"


def _lat_abc(d: Path) -> Path:
    import re

    text = _sample_text()
    node = _first_street_node(text)
    text = re.sub(rf'(<node id="{node}" lat=")[^"]*"', r'\1abc"', text, count=1)
    (d / "streets.osm").write_text(text, encoding="utf-8")
    return d / "streets.osm"


HTML = ("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
        "<body><h1>502 Bad Gateway</h1><hr><center>nginx</center></body></html>\n")


def _html_graphml(d: Path) -> Path:
    (d / "streets.graphml").write_text(HTML, encoding="utf-8")
    return d / "streets.graphml"


def _html_osm(d: Path) -> Path:
    (d / "streets.osm").write_text(HTML, encoding="utf-8")
    return d / "streets.osm"


def _plain_graphml(d: Path) -> Path:
    import networkx as nx

    g = nx.Graph()
    g.add_edge("a", "b")
    nx.write_graphml(g, d / "streets.graphml")
    return d / "streets.graphml"


def _xml_named_pbf(d: Path) -> Path:
    (d / "streets.osm.pbf").write_bytes(SAMPLE_STREETS.read_bytes())
    return d / "streets.osm.pbf"


def _truncated_pbf(d: Path) -> Path:
    import osmium

    whole = d / "whole.osm.pbf"
    with osmium.SimpleWriter(str(whole)) as w:
        for obj in osmium.FileProcessor(str(SAMPLE_STREETS)):
            w.add(obj)
    data = whole.read_bytes()
    whole.unlink()
    (d / "streets.osm.pbf").write_bytes(data[: len(data) // 2])
    return d / "streets.osm.pbf"


def _polygon_gpkg(d: Path) -> Path:
    import geopandas as gpd

    gpd.read_file(SAMPLE_DIR / "boundaries.geojson").to_file(d / "streets.gpkg")
    return d / "streets.gpkg"


def _gpkg_without_highway(d: Path) -> Path:
    import geopandas as gpd
    from shapely.geometry import LineString

    gpd.GeoDataFrame({"name": ["a"]}, geometry=[LineString([(116.3, 40.07), (116.31, 40.07)])],
                     crs=4326).to_file(d / "streets.gpkg")
    return d / "streets.gpkg"


def _text_named_gpkg(d: Path) -> Path:
    (d / "streets.gpkg").write_text("not a geopackage", encoding="utf-8")
    return d / "streets.gpkg"


def _folder(d: Path) -> Path:
    (d / "streets.osm").mkdir()
    return d / "streets.osm"


def _missing_file(d: Path) -> Path:
    return d / "streets.osm"


def _shapefile(d: Path) -> Path:
    (d / "streets.shp").write_bytes(b"\0" * 100)
    return d / "streets.shp"


BAD_NETWORKS = {
    "truncated osm": (_truncated, r"truncated"),
    "no walkable way": (_no_walkable_way, r"holds no walkable street \(661 ways"),
    "missing nodes": (_missing_nodes, r"2 walkable ways refer to 1 node the file does not hold "
                                      r"\(way -?\d+ -> node \d+; .*complete_ways"),
    "lat abc": (_lat_abc, r"field 'lat': node -?\d+ has lat='abc', not a number"),
    "html osm": (_html_osm, r"web page \(HTML\)"),
    "html graphml": (_html_graphml, r"web page \(HTML\), not GraphML"),
    "graphml not from osmnx": (_plain_graphml, r"not a street graph saved by osmnx"),
    "xml named pbf": (_xml_named_pbf, r"is OSM XML, not the binary \.osm\.pbf.*rename it to "
                                      r"streets\.osm"),
    "truncated pbf": (_truncated_pbf, r"cannot be read as \.osm\.pbf .*truncated or damaged"),
    "polygon gpkg": (_polygon_gpkg, r"holds MultiPolygon.* geometries, not street lines"),
    "gpkg without highway": (_gpkg_without_highway, r"no highway column"),
    "text named gpkg": (_text_named_gpkg, r"cannot be read as a GeoPackage"),
    "folder": (_folder, r"is a folder, not a file"),
    "missing file": (_missing_file, r"file not found"),
    "shapefile": (_shapefile, r"not a network file type"),
}


@pytest.mark.parametrize("case", BAD_NETWORKS)
def test_bad_network_file_is_an_input_error(tmp_path: Path, case: str) -> None:
    make, problem = BAD_NETWORKS[case]
    path = make(tmp_path)
    with pytest.raises(InputError) as exc:
        load_walk_network(path, CRS)
    msg = str(exc.value)
    assert msg.count(str(path)) >= 1, msg  # names the file
    assert re.search(problem, msg, re.S), msg
    assert "Fix:" in msg


@pytest.mark.parametrize("case", ["truncated osm", "missing nodes", "lat abc", "html graphml",
                                  "xml named pbf", "polygon gpkg", "no walkable way"])
def test_bad_network_file_exits_2_from_run(tmp_path: Path, case: str,
                                           capsys: pytest.CaptureFixture) -> None:
    import shutil

    from coverage.cli import main

    area = tmp_path / "huitian"
    shutil.copytree(SAMPLE_DIR, area)
    make, problem = BAD_NETWORKS[case]
    network = make(area)
    cfg = area / "area.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(
        'network = "streets.osm"', f'network = "{network.name}"'), encoding="utf-8")
    assert main(["-q", "run", str(cfg), "--out", str(tmp_path / "out"),
                 "--map", str(tmp_path / "map.html")]) == 2
    err = capsys.readouterr().err
    assert network.name in err and re.search(problem, err, re.S), err
    assert "Fix:" in err and "Traceback" not in err and "bug" not in err
