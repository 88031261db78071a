"""circle15 fetch, offline: a local Overpass/Nominatim replay server and a PBF built in the test.

The synthetic area (near Huilongguan, 116.33 E 40.07 N) has a 4 x 4 street grid (residential
rows, footway columns), a motorway the walk filter must drop, two ``landuse=residential``
compounds (one with two buildings, one without), a pharmacy, a bus stop, a gate and two unit
boundary relations (回龙观街道 west of the second grid column, 龙泽园街道 east of it).
"""

from __future__ import annotations

import http.server
import ipaddress
import json
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import geopandas as gpd
import pytest
from shapely.geometry import Polygon

from coverage.cli import main
from coverage.config import load_config
from coverage.errors import InputError
from coverage.fetch import (
    DEFAULT_M2_PER_PERSON,
    FetchError,
    FetchOptions,
    build_compounds,
    fetch_area,
    parse_bbox,
    parse_units,
    utm_crs,
)
from coverage.osmfile import read_graphml, read_streets
from coverage.osmtags import is_walkable as is_walkable_way
from coverage.osmtags import tags_match
from coverage.presets import load_preset

LON0, LAT0 = 116.330, 40.070
DX, DY = 0.002, 0.0018
UNIT_A, UNIT_B = "回龙观街道", "龙泽园街道"


# --- no internet in this module -------------------------------------------------------------


def _loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    real_create = socket.create_connection
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if not _loopback(address):
            raise AssertionError(f"test tried to reach {address}")
        return real_create(address, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            raise AssertionError(f"test tried to reach {address}")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            raise AssertionError(f"test tried to reach {address}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    # osmnx waits 1 s before each Nominatim request (usage policy); not against a local server
    import osmnx._nominatim

    monkeypatch.setattr(osmnx._nominatim.time, "sleep", lambda s: None)


def test_guard_blocks_public_addresses() -> None:
    with pytest.raises(AssertionError, match="tried to reach"):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)


# --- the synthetic OSM data set -------------------------------------------------------------


def _square(nodes: dict, x0: float, y0: float, x1: float, y1: float, start: int) -> list[int]:
    ids = []
    for k, (x, y) in enumerate([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]):
        nodes[start + k] = (x, y, {})
        ids.append(start + k)
    return [*ids, ids[0]]


def build_osm() -> tuple[dict, dict, dict]:
    """nodes {id: (lon, lat, tags)}, ways {id: (refs, tags)}, relations {id: (members, tags)}."""
    nodes: dict[int, tuple] = {}
    ways: dict[int, tuple] = {}
    rels: dict[int, tuple] = {}
    grid = {}
    nid = 1
    for i in range(4):
        for j in range(4):
            nodes[nid] = (LON0 + i * DX, LAT0 + j * DY, {})
            grid[i, j] = nid
            nid += 1
    for j in range(4):
        ways[100 + j] = ([grid[i, j] for i in range(4)],
                         {"highway": "residential", "name": f"回龙观{j}街"})
    for i in range(4):
        ways[104 + i] = ([grid[i, j] for j in range(4)], {"highway": "footway"})
    nodes[50] = (LON0 - 0.001, LAT0 - 0.001, {})
    nodes[51] = (LON0 + 0.007, LAT0 - 0.001, {})
    ways[150] = ([50, 51], {"highway": "motorway", "name": "京藏高速"})
    ways[300] = (_square(nodes, LON0 + 0.0002, LAT0 + 0.0002, LON0 + DX - 0.0002,
                         LAT0 + DY - 0.0002, 200), {"landuse": "residential", "name": "龙泽苑"})
    ways[301] = (_square(nodes, LON0 + 0.0005, LAT0 + 0.0005, LON0 + 0.0010, LAT0 + 0.0008, 210),
                 {"building": "apartments", "building:levels": "9"})
    ways[302] = (_square(nodes, LON0 + 0.0012, LAT0 + 0.0005, LON0 + 0.0017, LAT0 + 0.0008, 220),
                 {"building": "residential"})
    ways[303] = (_square(nodes, LON0 + DX + 0.0002, LAT0 + 0.0002, LON0 + 2 * DX - 0.0002,
                         LAT0 + DY - 0.0002, 230), {"landuse": "residential", "name": "回龙观小区"})
    nodes[400] = (LON0 + 0.001, LAT0 + 0.0002, {"barrier": "gate"})
    nodes[401] = (LON0 + DX * 1.5, LAT0 + DY * 1.5, {"amenity": "pharmacy", "name": "金象大药房"})
    nodes[402] = (LON0 + DX * 0.5, LAT0 + DY * 2.02, {"highway": "bus_stop", "name": "龙泽站"})
    ways[600] = (_square(nodes, LON0 - 0.0005, LAT0 - 0.0005, LON0 + DX, LAT0 + 3 * DY + 0.0005,
                         500), {})
    ways[601] = (_square(nodes, LON0 + DX, LAT0 - 0.0005, LON0 + 3 * DX + 0.0005,
                         LAT0 + 3 * DY + 0.0005, 510), {})
    for rid, wid, name in ((700, 600, UNIT_A), (701, 601, UNIT_B)):
        rels[rid] = ([("w", wid, "outer")], {"type": "boundary", "boundary": "administrative",
                                             "admin_level": "8", "name": name})
    return nodes, ways, rels


def unit_polygon(name: str) -> Polygon:
    nodes, ways, _rels = build_osm()
    wid = {UNIT_A: 600, UNIT_B: 601}[name]
    return Polygon([nodes[n][:2] for n in ways[wid][0]])


def overpass_json(query: str) -> dict[str, Any]:
    """Answer an osmnx Overpass query from the synthetic data (a small Overpass emulation)."""
    nodes, ways, rels = build_osm()
    out_nodes: set[int] = set()
    out_ways: set[int] = set()
    out_rels: set[int] = set()
    if re.search(r'\(way\["highway"\]', query):  # the walk network query
        out_ways = {w for w, (_, t) in ways.items() if is_walkable_way(t)}
    else:
        for kind, key, value in re.findall(r"\((node|way|relation)\['([^']+)'(?:='([^']+)')?\]"
                                           r"\(poly:", query):
            pool = {"node": {k: v[2] for k, v in nodes.items()},
                    "way": {k: v[1] for k, v in ways.items()},
                    "relation": {k: v[1] for k, v in rels.items()}}[kind]
            hits = {i for i, t in pool.items() if key in t and (not value or t[key] == value)}
            {"node": out_nodes, "way": out_ways, "relation": out_rels}[kind].update(hits)
    for r in out_rels:
        out_ways |= {ref for _, ref, _ in rels[r][0]}
    for w in out_ways:
        out_nodes |= set(ways[w][0])
    elements: list[dict[str, Any]] = []
    for n in sorted(out_nodes):
        x, y, t = nodes[n]
        el = {"type": "node", "id": n, "lat": y, "lon": x}
        if t:
            el["tags"] = t
        elements.append(el)
    for w in sorted(out_ways):
        refs, t = ways[w]
        el = {"type": "way", "id": w, "nodes": refs}
        if t:
            el["tags"] = t
        elements.append(el)
    for r in sorted(out_rels):
        members, t = rels[r]
        elements.append({"type": "relation", "id": r, "tags": t, "members": [
            {"type": "way", "ref": ref, "role": role} for _, ref, role in members]})
    return {"version": 0.6, "generator": "circle15 test replay", "elements": elements}


def nominatim_json(q: str) -> list[dict[str, Any]]:
    for rid, name in ((700, UNIT_A), (701, UNIT_B)):
        if q.split(",")[0].strip() == name:
            poly = unit_polygon(name)
            w, s, e, n = poly.bounds
            return [{
                "place_id": rid, "licence": "Data © OpenStreetMap contributors, ODbL 1.0.",
                "osm_type": "relation", "osm_id": rid, "lat": str(poly.centroid.y),
                "lon": str(poly.centroid.x), "class": "boundary", "type": "administrative",
                "place_rank": 16, "importance": 0.5, "addresstype": "suburb", "name": name,
                "display_name": f"{name}, 昌平区, 北京市, 中国",
                "boundingbox": [str(s), str(n), str(w), str(e)],
                "geojson": {"type": "Polygon",
                            "coordinates": [[list(c) for c in poly.exterior.coords]]},
            }]
    return []


STATUS = ("Connected as: 1\nCurrent time: 2025-01-01T00:00:00Z\nAnnounced endpoint: none\n"
          "Rate limit: 2\n2 slots available now.\nCurrently running queries:\n")


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, body: str, ctype: str = "application/json", code: int = 200) -> None:
        data = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        self.server.requests.append(("GET", url.path))
        if url.path.endswith("/status"):
            self._send(STATUS, "text/plain")
        elif url.path.endswith("/search"):
            q = parse_qs(url.query).get("q", [""])[0]
            self._send(json.dumps(nominatim_json(q), ensure_ascii=False))
        else:
            self._send("not found", "text/plain", 404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        query = parse_qs(self.rfile.read(length).decode("utf-8")).get("data", [""])[0]
        self.server.requests.append(("POST", query))
        if self.server.post_status != 200:
            self._send(json.dumps({"error": "busy"}), code=self.server.post_status)
        elif self.server.remark:
            self._send(json.dumps({"elements": [], "remark": "runtime error: Query timed out"}))
        else:
            self._send(json.dumps(overpass_json(query), ensure_ascii=False))


class _Server(http.server.ThreadingHTTPServer):
    requests: list[tuple[str, str]]
    remark: bool = False
    post_status: int = 200


@pytest.fixture
def osm_server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.requests = []
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def _endpoints(srv: _Server) -> dict[str, str]:
    port = srv.server_address[1]
    return {"overpass_url": f"http://127.0.0.1:{port}/api",
            "nominatim_url": f"http://127.0.0.1:{port}/nominatim/"}


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_pbf(path: Path) -> Path:
    import osmium
    from osmium.osm.mutable import Node, Relation, Way

    nodes, ways, rels = build_osm()
    with osmium.SimpleWriter(str(path)) as w:
        for i, (x, y, t) in sorted(nodes.items()):
            w.add_node(Node(id=i, location=osmium.osm.Location(x, y), tags=t, version=1))
        for i, (refs, t) in sorted(ways.items()):
            w.add_way(Way(id=i, nodes=refs, tags=t, version=1))
        for i, (members, t) in sorted(rels.items()):
            w.add_relation(Relation(id=i, members=members, tags=t, version=1))
    return path


# --- expected values by hand ------------------------------------------------------------------


def _area_m2(x0: float, y0: float, x1: float, y1: float) -> float:
    return float(gpd.GeoSeries([Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])],
                               crs="EPSG:4326").to_crs("EPSG:32650").area.iloc[0])


def expected_population() -> tuple[int, int]:
    floor = (_area_m2(LON0 + 0.0005, LAT0 + 0.0005, LON0 + 0.0010, LAT0 + 0.0008) * 9
             + _area_m2(LON0 + 0.0012, LAT0 + 0.0005, LON0 + 0.0017, LAT0 + 0.0008) * 6)
    land1 = _area_m2(LON0 + 0.0002, LAT0 + 0.0002, LON0 + DX - 0.0002, LAT0 + DY - 0.0002)
    land2 = _area_m2(LON0 + DX + 0.0002, LAT0 + 0.0002, LON0 + 2 * DX - 0.0002,
                     LAT0 + DY - 0.0002)
    return (round(floor / DEFAULT_M2_PER_PERSON),
            round(land2 * (floor / land1) / DEFAULT_M2_PER_PERSON))


def check_snapshot(out: Path) -> None:
    """Facts both the online and the PBF path must produce."""
    cfg = load_config(out / "area.toml")
    assert cfg.crs == "EPSG:32650"
    assert cfg.category_keys == tuple(c["key"] for c in load_preset("gb50180"))
    assert cfg.category("pharmacy").walk_m == pytest.approx(300, abs=0.01)
    assert cfg.category("middle_school").walk_m == pytest.approx(1000, abs=0.01)
    assert cfg.category("pharmacy").osm == {"amenity": ("pharmacy",), "shop": ("chemist",)}
    assert cfg.gates is not None and cfg.gates.exists()

    bnd = gpd.read_file(out / "boundaries.geojson")
    assert sorted(bnd["name"]) == sorted([UNIT_A, UNIT_B])

    fac = gpd.read_file(out / "facilities.geojson")
    by_cat = dict(zip(fac["category"], fac["name"], strict=True))
    assert by_cat == {"pharmacy": "金象大药房", "bus_stop": "龙泽站"}
    ph = fac[fac["category"] == "pharmacy"].iloc[0]
    assert (ph["lon"], ph["lat"]) == pytest.approx((LON0 + DX * 1.5, LAT0 + DY * 1.5))

    comp = gpd.read_file(out / "compounds.geojson").set_index("name")
    pop1, pop2 = expected_population()
    assert comp.loc["龙泽苑", "unit"] == UNIT_A
    assert comp.loc["回龙观小区", "unit"] == UNIT_B
    assert comp.loc["龙泽苑", "population"] == pop1
    assert comp.loc["龙泽苑", "population_source"] == "buildings"
    assert comp.loc["龙泽苑", "n_levels_assumed"] == 1
    assert comp.loc["回龙观小区", "population"] == pop2
    assert comp.loc["回龙观小区", "population_source"] == "assumed_far"
    assert comp.loc["龙泽苑", "population_60plus"] == round(pop1 * 0.196)

    gates = gpd.read_file(out / "gates.geojson")
    assert list(gates["id"]) == ["n400"]

    g = read_graphml(out / "network.graphml")
    assert g.graph["crs"].lower() == "epsg:4326"
    assert set(range(1, 17)) <= set(g.nodes)
    assert 50 not in g and 51 not in g  # the motorway is not walkable
    assert g.has_edge(1, 5) and g.has_edge(5, 1)
    assert g.edges[1, 5, 0]["length"] == pytest.approx(170.3, abs=1.0)  # 0.002° lon at 40.07 N

    prov = (out / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "© OpenStreetMap contributors" in prov and "ODbL" in prov
    assert re.search(r"Fetched: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", prov)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


# --- tests --------------------------------------------------------------------------------


def test_fetch_online_end_to_end_and_cache(osm_server: _Server, tmp_path: Path) -> None:
    out = tmp_path / "data" / "hlg"
    cache = tmp_path / "cache"
    toml = fetch_area(FetchOptions(units=f"{UNIT_A}，{UNIT_B}", within="北京市昌平区", out=out,
                                   cache_folder=cache, retries=1, backoff_s=0.01,
                                   **_endpoints(osm_server)))
    assert toml == out / "area.toml"
    check_snapshot(out)
    searches = [p for m, p in osm_server.requests if m == "GET" and p.endswith("/search")]
    posts = [q for m, q in osm_server.requests if m == "POST"]
    assert len(searches) == 2 and len(posts) == 3
    assert any('way["highway"]' in q and "cycleway" in q for q in posts)  # walk filter sent
    assert len(list(cache.glob("*.json"))) == 5

    # pinned: with the server gone, the same fetch is served from osmnx's cache alone
    osm_server.shutdown()
    osm_server.server_close()
    out2 = tmp_path / "again"
    fetch_area(FetchOptions(units=(UNIT_A, UNIT_B), within="北京市昌平区", out=out2,
                            cache_folder=cache, retries=1, backoff_s=0.01,
                            **_endpoints(osm_server)))
    check_snapshot(out2)


def test_fetch_pbf_end_to_end(tmp_path: Path) -> None:
    pbf = write_pbf(tmp_path / "area.osm.pbf")
    out = tmp_path / "hlg"
    fetch_area(FetchOptions(units=(UNIT_A, UNIT_B), within="北京市", from_pbf=pbf, out=out))
    check_snapshot(out)
    prov = (out / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "sha256" in prov and "area.osm.pbf" in prov


def write_osm_xml(path: Path) -> Path:
    """The same synthetic data as OSM XML (nodes, ways, relations in id order)."""
    from xml.sax.saxutils import quoteattr

    nodes, ways, _rels = build_osm()

    def tags(t: dict) -> list[str]:
        return [f"  <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in t.items()]

    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    for i, (x, y, t) in sorted(nodes.items()):
        lines += [f'<node id="{i}" lat="{y!r}" lon="{x!r}">', *tags(t), "</node>"]
    for i, (refs, t) in sorted(ways.items()):
        lines += [f'<way id="{i}">', *(f'  <nd ref="{r}"/>' for r in refs), *tags(t), "</way>"]
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_pbf_and_xml_streets_are_the_same(tmp_path: Path) -> None:
    import numpy as np

    streets = read_streets(write_pbf(tmp_path / "area.osm.pbf"))
    assert len(streets.node_id) == 16 and len(streets.seg_u) == 24  # the 4 x 4 grid
    assert set(streets.seg_highway) == {"residential", "footway"}  # no motorway
    assert streets.n_ways == 8
    xml = read_streets(write_osm_xml(tmp_path / "area.osm"))
    for attr in ("node_id", "node_lonlat", "seg_u", "seg_v", "seg_way", "seg_name",
                 "seg_highway"):
        np.testing.assert_array_equal(getattr(xml, attr), getattr(streets, attr), err_msg=attr)


def test_pbf_graph_in_the_snapshot_is_what_osmnx_loads(tmp_path: Path) -> None:
    """network.graphml of a PBF fetch loads in osmnx, and circle15's own GraphML reader gives
    the same walk network as osmnx's loader."""
    import numpy as np
    import osmnx as ox

    from coverage.network import load_walk_network, walk_network_from_graph

    out = tmp_path / "hlg"
    fetch_area(FetchOptions(units=(UNIT_A, UNIT_B), within="北京市",
                            from_pbf=write_pbf(tmp_path / "area.osm.pbf"), out=out))
    by_osmnx = walk_network_from_graph(ox.load_graphml(out / "network.graphml"), "EPSG:32650")
    ours = load_walk_network(out / "network.graphml", "EPSG:32650")
    assert ours.n_edges == 24
    for attr in ("node_osmid", "node_xy", "edge_u", "edge_v", "edge_name", "edge_highway"):
        np.testing.assert_array_equal(getattr(ours, attr), getattr(by_osmnx, attr), err_msg=attr)


@pytest.mark.parametrize("writer", ["pyosmium", "osmium cat"])
def test_fetch_from_pbf_with_negative_ids(tmp_path: Path, writer: str,
                                          capsys: pytest.CaptureFixture) -> None:
    """The sample's streets (negative ids, as JOSM files have) as a PBF: fetch accepts it and
    keeps the same streets as the .osm reader."""
    from _osmdata import osmium_cat, to_pbf

    from coverage.network import WalkNetwork, load_walk_network

    streets = Path(__file__).resolve().parents[1] / "data" / "huitian" / "streets.osm"
    pbf = (to_pbf if writer == "pyosmium" else osmium_cat)(streets, tmp_path / "s.osm.pbf")
    out = tmp_path / "area"
    assert main(["fetch", "--from-pbf", str(pbf), "--bbox", "116.30,40.06,116.33,40.08",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    net = load_walk_network(out / "network.graphml", "EPSG:32650")
    whole = load_walk_network(streets, "EPSG:32650")
    assert net.n_edges > 300 and (net.node_osmid < 0).any()

    def pairs(n: WalkNetwork) -> set[tuple[int, ...]]:
        u, v = n.node_osmid[n.edge_u].tolist(), n.node_osmid[n.edge_v].tolist()
        return {tuple(sorted(p)) for p in zip(u, v, strict=True)}

    assert pairs(net) <= pairs(whole)  # the very same streets, clipped to the area


def test_offline_gives_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    port = _closed_port()
    out = tmp_path / "hlg"
    cache = tmp_path / "cache"
    with pytest.raises(FetchError) as exc:
        fetch_area(FetchOptions(units=UNIT_A, within="北京市昌平区", out=out, cache_folder=cache,
                                overpass_url=f"http://127.0.0.1:{port}/api",
                                nominatim_url=f"http://127.0.0.1:{port}/nominatim/",
                                retries=2, backoff_s=0.01))
    msg = str(exc.value)
    assert isinstance(exc.value, InputError)  # CLI exit code 2
    assert f"could not reach 127.0.0.1:{port}" in msg and "--from-pbf" in msg
    assert "2 attempt(s)" in msg
    assert not out.exists()
    assert not any(p.name.startswith(".hlg") for p in tmp_path.iterdir())
    # the Overpass path (bbox) fails fast too instead of osmnx's 60 s status back-off
    with pytest.raises(FetchError, match="could not reach"):
        fetch_area(FetchOptions(bbox=(LON0, LAT0, LON0 + 0.006, LAT0 + 0.005), out=out,
                                cache_folder=cache, overpass_url=f"http://127.0.0.1:{port}/api",
                                retries=1, backoff_s=0.01))
    assert not out.exists()
    assert not list(cache.glob("*.json")) if cache.exists() else True


def test_incomplete_overpass_answer_is_an_error_not_cached(osm_server: _Server,
                                                           tmp_path: Path) -> None:
    osm_server.remark = True
    out = tmp_path / "hlg"
    cache = tmp_path / "cache"
    with pytest.raises(FetchError, match="incomplete data"):
        fetch_area(FetchOptions(units=UNIT_A, out=out, cache_folder=cache, retries=1,
                                backoff_s=0.01, **_endpoints(osm_server)))
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    # only the Nominatim answer (complete) may be cached, never the Overpass remark
    cached = [json.loads(p.read_text(encoding="utf-8")) for p in cache.glob("*.json")]
    assert all(isinstance(c, list) for c in cached)


@pytest.mark.parametrize(("status", "message", "posts"),
                         [(503, r"could not reach 127\.0\.0\.1:\d+ .*\(HTTP 503, 2 attempt", 2),
                          (429, r"\(HTTP 429, 2 attempt", 2),
                          (400, r"the server answered HTTP 400", 1)])
def test_busy_or_refusing_server(osm_server: _Server, tmp_path: Path, status: int,
                                 message: str, posts: int) -> None:
    """HTTP 429/5xx are retried with backoff (not osmnx's unbounded 55 s waits), other errors
    end the fetch at once; nothing is cached or written."""
    osm_server.post_status = status
    cache = tmp_path / "cache"
    with pytest.raises(FetchError, match=message):
        fetch_area(FetchOptions(bbox=(LON0, LAT0, LON0 + 0.006, LAT0 + 0.005),
                                out=tmp_path / "hlg", cache_folder=cache, retries=2,
                                backoff_s=0.01, **_endpoints(osm_server)))
    assert len([1 for m, _ in osm_server.requests if m == "POST"]) == posts
    assert not (tmp_path / "hlg").exists() and not list(cache.glob("*.json"))


def test_existing_output_needs_force(osm_server: _Server, tmp_path: Path) -> None:
    out = tmp_path / "hlg"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FetchError, match="already exists"):
        fetch_area(FetchOptions(units=UNIT_A, out=out, cache_folder=tmp_path / "c",
                                **_endpoints(osm_server)))
    assert (out / "keep.txt").read_text() == "mine"
    fetch_area(FetchOptions(units=UNIT_A, out=out, cache_folder=tmp_path / "c", overwrite=True,
                            **_endpoints(osm_server)))
    assert not (out / "keep.txt").exists() and (out / "area.toml").exists()


def test_cli_arguments_and_overrides(osm_server: _Server, tmp_path: Path,
                                     capsys: pytest.CaptureFixture) -> None:
    over = tmp_path / "cats.toml"
    over.write_text('[[category]]\nkey = "pharmacy"\nlabel = "药店"\nminutes = 10\n'
                    'osm = { amenity = ["pharmacy"] }\n'
                    '[[category]]\nkey = "gates_cat"\nlabel = "门"\nminutes = 5\n'
                    'osm = { barrier = ["gate"] }\n', encoding="utf-8")
    ep = _endpoints(osm_server)
    assert main([
        "fetch", "--units", UNIT_A, "--preset", "beijing-elderly", "--config", str(over),
        "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c"),
        "--overpass-url", ep["overpass_url"], "--nominatim-url", ep["nominatim_url"],
        "--retries", "1", "--m2-per-person", "40",
    ]) == 0
    assert "circle15 run" in capsys.readouterr().out
    cfg = load_config(tmp_path / "o" / "area.toml")
    assert cfg.category_keys == ("elderly_station", "elderly_centre", "psych_station",
                                 "health_station", "pharmacy", "gates_cat")
    assert cfg.category("pharmacy").walk_m == pytest.approx(600)
    assert cfg.category("elderly_station").demand == "population_60plus"
    fac = gpd.read_file(tmp_path / "o" / "facilities.geojson")
    assert sorted(fac["category"]) == ["gates_cat", "pharmacy"]
    comp = gpd.read_file(tmp_path / "o" / "compounds.geojson")
    assert list(comp["name"]) == ["龙泽苑"]  # only compounds of the fetched unit


def test_argument_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(FetchError, match="exactly one"):
        FetchOptions(out=tmp_path / "x")
    with pytest.raises(FetchError, match="exactly one"):
        FetchOptions(units="a", bbox="1,2,3,4", out=tmp_path / "x")
    with pytest.raises(FetchError, match="west,south,east,north"):
        parse_bbox("116.4,40.1,116.3,40.0")
    with pytest.raises(FetchError, match="m2-per-person"):
        FetchOptions(units="a", out=tmp_path / "x", m2_per_person=0)
    with pytest.raises(FetchError, match="not found"):
        fetch_area(FetchOptions(units="a", from_pbf=tmp_path / "none.osm.pbf",
                                out=tmp_path / "x"))
    # on the command line: exit code 2 and the message, no traceback
    assert main(["fetch", "--units", "a", "--bbox", "1,2,3,4", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "exactly one of --units" in err and "Traceback" not in err


def test_small_helpers() -> None:
    assert parse_units("回龙观街道，龙泽园街道、史各庄街道; 霍营街道") == (
        "回龙观街道", "龙泽园街道", "史各庄街道", "霍营街道")
    assert utm_crs(116.33, 40.07) == "EPSG:32650"
    assert utm_crs(121.47, 31.23) == "EPSG:32651"
    assert utm_crs(-70.6, -33.4) == "EPSG:32719"
    osm = {"amenity": ["school"]}
    assert tags_match({"amenity": "school", "name": "回龙观中心小学"}, osm, "小学")
    assert not tags_match({"amenity": "school", "name": "回龙观中学"}, osm, "小学")
    assert not tags_match({"amenity": "pharmacy"}, osm)
    assert tags_match({"entrance": "main"}, {"entrance": True})
    assert is_walkable_way({"highway": "footway"})
    assert not is_walkable_way({"highway": "motorway_link"})
    assert not is_walkable_way({"highway": "residential", "foot": "no"})
    assert not is_walkable_way({"highway": "service", "access": "private"})
    assert not is_walkable_way({"building": "yes"})


def test_district_wide_residential_polygon_is_dropped() -> None:
    big = Polygon([(LON0, LAT0), (LON0 + 0.01, LAT0), (LON0 + 0.01, LAT0 + 0.01),
                   (LON0, LAT0 + 0.01)])
    small = Polygon([(LON0 + 0.001, LAT0 + 0.001), (LON0 + 0.002, LAT0 + 0.001),
                     (LON0 + 0.002, LAT0 + 0.002), (LON0 + 0.001, LAT0 + 0.002)])
    res = [{"osm_type": "way", "osm_id": 1, "tags": {"landuse": "residential"}, "geometry": big},
           {"osm_type": "way", "osm_id": 2, "tags": {"landuse": "residential", "name": "小",
                                                      "population": "1234"},
            "geometry": small}]
    bnd = gpd.GeoDataFrame({"name": ["U"]}, geometry=[big.buffer(0.001)], crs="EPSG:4326")
    comp, stats = build_compounds(res, [], bnd, "EPSG:32650")
    assert list(comp["id"]) == ["w2"] and stats["dropped_containers"] == 1
    assert comp["population"].iloc[0] == 1234
    assert comp["population_source"].iloc[0] == "osm_tag"
