"""The embedded Huitian sample (data/huitian/): loads, is consistent, rebuilds byte-identically."""

from __future__ import annotations

import csv
import filecmp
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from coverage.config import load_config
from coverage.coords import gcj02_to_wgs84

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "huitian"
SHARED = ROOT.parent / "shared" / "data"
CRS_M = "EPSG:32650"
UNITS = {"回龙观街道", "龙泽园街道", "史各庄街道", "霍营街道", "天通苑北街道", "天通苑南街道",
         "东小口镇"}
TOTAL_POPULATION = 860_000  # documented in PROVENANCE.md
BUILT = ("streets.osm", "boundaries.geojson", "compounds.geojson", "facilities.csv",
         "proposed_2020.csv", "candidates.csv")


def _rows(name: str) -> list[dict[str, str]]:
    with open(SAMPLE / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE / "boundaries.geojson").to_crs(CRS_M)


@pytest.fixture(scope="module")
def compounds() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE / "compounds.geojson").to_crs(CRS_M)


@pytest.fixture(scope="module")
def street_lines() -> shapely.Geometry:
    """All ways of streets.osm as one metric MultiLineString (parsed with the stdlib)."""
    import xml.etree.ElementTree as ET

    from pyproj import Transformer

    root = ET.parse(SAMPLE / "streets.osm").getroot()
    xy = {n.get("id"): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    fwd = Transformer.from_crs("EPSG:4326", CRS_M, always_xy=True)
    lines = []
    for w in root.iter("way"):
        pts = np.asarray([xy[nd.get("ref")] for nd in w.iter("nd")])
        x, y = fwd.transform(pts[:, 0], pts[:, 1])
        lines.append(shapely.LineString(np.column_stack([x, y])))
    return shapely.MultiLineString(lines)


def test_config_loads_with_all_categories():
    cfg = load_config(SAMPLE / "area.toml")
    assert cfg.name == "回天地区"
    assert cfg.crs == "EPSG:32650"
    assert set(cfg.category_keys) == {
        "elderly_station", "elderly_centre", "psych_station", "health_station",
        "community_service", "wet_market", "convenience_store", "pharmacy", "kindergarten",
        "primary_school", "park_sports", "bus_stop"}
    es = cfg.category("elderly_station")
    assert (es.minutes, es.speed_m_s, es.demand, es.new_sites) == (15, 0.9, "population_60plus", 6)
    assert cfg.category("elderly_centre").new_sites == 2
    assert cfg.category("psych_station").new_sites == 2
    assert [p.coords for p in cfg.proposed] == ["gcj02"]
    assert cfg.candidates is not None and cfg.candidates.coords == "wgs84"


def test_streets_load_with_osmnx_and_cover_the_buffered_units(units):
    import osmnx as ox

    g = ox.graph_from_xml(SAMPLE / "streets.osm", simplify=False, retain_all=True)
    assert 3000 < g.number_of_nodes() < 5000
    lon = np.array([d["x"] for _, d in g.nodes(data=True)])
    # the buffered units reach 116.236 E, west of the shared bbox file's 116.25 E
    assert lon.min() < 116.245
    assert (SAMPLE / "streets.osm").stat().st_size < 3_000_000


def test_seven_units_with_exact_names(units):
    assert set(units["name"]) == UNITS and len(units) == 7
    assert list(units["name"]) == sorted(units["name"])
    assert units.is_valid.all()
    # the units tile the area without overlaps (pairwise overlap < 0.1 ha)
    for i in range(7):
        for j in range(i + 1, 7):
            assert units.geometry.iloc[i].intersection(units.geometry.iloc[j]).area < 1000
    assert 60e6 < units.area.sum() < 68e6  # ~64 km2


def test_compounds_valid_inside_their_unit_with_unique_ids(compounds, units):
    assert len(compounds) > 100
    assert compounds.is_valid.all()
    assert compounds.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert compounds["id"].is_unique
    prefix = {"回龙观街道": "HLG", "龙泽园街道": "LZY", "史各庄街道": "SGZ", "霍营街道": "HY",
              "天通苑北街道": "TTB", "天通苑南街道": "TTN", "东小口镇": "DXK"}
    for cid, unit in zip(compounds["id"], compounds["unit"], strict=True):
        assert re.fullmatch(prefix[unit] + r"-\d{3}", cid)
    by_name = dict(zip(units["name"], units.geometry, strict=True))
    inside = [g.intersection(by_name[u]).area / g.area
              for g, u in zip(compounds.geometry, compounds["unit"], strict=True)]
    assert min(inside) > 0.99
    area_ha = compounds.area / 1e4
    assert area_ha.min() >= 0.99 and area_ha.max() <= 80.5


def test_compound_populations_are_positive_ints_summing_to_the_total(compounds):
    pop, old = compounds["population"], compounds["population_60plus"]
    assert pop.dtype.kind == "i" and old.dtype.kind == "i"
    assert (pop > 0).all() and (old > 0).all() and (old < pop).all()
    assert pop.sum() == TOTAL_POPULATION
    assert abs(old.sum() / pop.sum() - 0.15) < 0.001


def test_facility_categories_are_configured_and_ids_unique():
    keys = set(load_config(SAMPLE / "area.toml").category_keys)
    rows = _rows("facilities.csv")
    assert list(rows[0]) == ["id", "name", "category", "lon", "lat", "status", "capacity",
                             "source"]
    assert {r["category"] for r in rows} == keys  # every category has existing facilities
    assert len({r["id"] for r in rows}) == len(rows)
    assert {r["source"] for r in rows if r["category"] == "bus_stop"} == {"osm2013"}
    assert {r["source"] for r in rows if r["category"] != "bus_stop"} == {"illustrative"}
    cand = _rows("candidates.csv")
    assert len(cand) >= 120 and all(r["category"] == "" for r in cand)
    assert len({r["id"] for r in cand}) == len(cand)


def test_facilities_sit_on_streets(street_lines):
    from pyproj import Transformer

    fwd = Transformer.from_crs("EPSG:4326", CRS_M, always_xy=True)
    rows = [r for r in _rows("facilities.csv") if r["source"] == "illustrative"]
    rows += _rows("candidates.csv")
    x, y = fwd.transform([float(r["lon"]) for r in rows], [float(r["lat"]) for r in rows])
    d = shapely.distance(shapely.points(x, y), street_lines)
    assert d.max() < 25  # 5-20 m off a centreline


def test_proposed_coordinates_are_gcj02(street_lines):
    from pyproj import Transformer

    rows = _rows("proposed_2020.csv")
    counts = {k: sum(r["category"] == k for r in rows)
              for k in ("elderly_station", "elderly_centre", "psych_station")}
    assert counts == {"elderly_station": 6, "elderly_centre": 2, "psych_station": 2}
    assert all(r["status"] == "planned" for r in rows)
    lon = np.array([float(r["lon"]) for r in rows])
    lat = np.array([float(r["lat"]) for r in rows])
    fwd = Transformer.from_crs("EPSG:4326", CRS_M, always_xy=True)
    raw = shapely.distance(shapely.points(*fwd.transform(lon, lat)), street_lines)
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    back = shapely.distance(shapely.points(*fwd.transform(wlon, wlat)), street_lines)
    assert back.max() < 30  # converted back: on a street (5-20 m off a centreline)
    # read as WGS-84, the GCJ-02 values are a GCJ-sized shift (~500-700 m) away and mostly
    # off the streets
    shift = np.hypot(*(np.asarray(fwd.transform(lon, lat)) - np.asarray(fwd.transform(wlon, wlat))))
    assert (shift > 400).all() and (shift < 900).all()
    # Read as WGS-84 most of them sit farther from a street than once converted back (in a
    # dense street grid a shifted point can still land near some other street).
    assert (raw > back).mean() >= 0.8 and raw.max() > 60


@pytest.mark.skipif(not (SHARED / "osm" / "beijing_osm2013_all_ways.gpkg").exists(),
                    reason="../shared/data is absent: cannot rebuild the sample "
                           "(CI has it beside the repo as ../shared)")
def test_builder_is_deterministic(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_huitian_sample.py"),
                    "--shared", str(SHARED), "--out", str(tmp_path)],
                   check=True, capture_output=True, timeout=300)
    for name in BUILT:
        assert filecmp.cmp(tmp_path / name, SAMPLE / name, shallow=False), name


def test_the_loader_accepts_every_row(sample_config):
    """No point is rejected (e.g. farther from the units than the longest walk)."""
    from coverage.inputs import load_inputs

    inp = load_inputs(sample_config)
    assert len(inp.compounds) == len(gpd.read_file(SAMPLE / "compounds.geojson"))
    assert len(inp.facilities) == len(_rows("facilities.csv"))
    assert len(inp.proposed) == 10 and len(inp.candidates) == len(_rows("candidates.csv"))
