"""coverage.maps: the offline coverage map built from a results folder (no browser here)."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pytest
from _results_fixture import XSS_SCRIPT, make_config, make_results

from coverage.maps import build_map, write_map


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("maps")
    cfg = make_config(tmp)
    return cfg, make_results(tmp, cfg)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("maps_hostile")
    cfg = make_config(tmp)
    return cfg, make_results(tmp, cfg, hostile=True)


def _html(cfg, out, tmp_path, **kw) -> str:
    return write_map(cfg, out, tmp_path / "m.html", **kw).read_text(encoding="utf-8")


def _data_blobs(text: str) -> list:
    return [json.loads(m) for m in re.findall(r"var circle15_data_\w+ = (.*);\n", text)]


def test_map_is_self_contained(area, tmp_path):
    cfg, out = area
    text = _html(cfg, out, tmp_path)
    # no external scripts or stylesheets: Leaflet etc. are inline, so the page works offline
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+stylesheet", text)
    assert "L.map(" in text and "leaflet" in text.lower()
    assert "markerClusterGroup" in text
    assert "OpenStreetMap" in text  # attribution
    assert len(text.encode()) < 4_000_000


def test_layers_named_per_category_in_chinese_and_english(area, tmp_path):
    cfg, out = area
    zh = build_map(cfg, out)
    names = [c.layer_name for c in zh._children.values() if hasattr(c, "layer_name")]
    for want in ("全部类别", "全部类别（含规划站点）", "小区覆盖：养老驿站", "现有设施：菜市场",
                 "规划站点", "15 分钟步行范围：养老驿站", "10 分钟步行范围：菜市场",
                 "候选站点", "推荐站点（按增益排序）", "最优方案", "街道/地区边界"):
        assert want in names, want
    en = build_map(cfg, out, lang="en")
    names_en = [c.layer_name for c in en._children.values() if hasattr(c, "layer_name")]
    assert "All categories" in names_en and "Facilities: Wet market" in names_en
    assert not any(re.search(r"[\u4e00-\u9fff]", n) for n in names_en)
    # isochrones are off by default, the all-categories compounds layer on
    by_name = {c.layer_name: c for c in zh._children.values() if hasattr(c, "layer_name")}
    assert by_name["全部类别"].show and not by_name["15 分钟步行范围：养老驿站"].show


def test_compound_data_reprojected_rounded_and_coverage_bits(area, tmp_path):
    cfg, out = area
    text = _html(cfg, out, tmp_path)
    blobs = _data_blobs(text)
    comp = next(b for b in blobs if isinstance(b, dict) and len(b["features"]) == 10)
    f0 = comp["features"][0]
    x, y = f0["geometry"]["coordinates"][0][0]
    assert 116.2 < x < 116.5 and 40.0 < y < 40.1  # EPSG:4326, not metres
    assert all(len(str(v).split(".")[1]) <= 5 for v in (x, y))
    # coverage bits follow config order; C06 is not covered for elderly stations only,
    # and covered once the proposed station is built (see _results_fixture)
    by_name = {f["properties"]["t"]: f["properties"] for f in comp["features"]}
    assert by_name["天通苑东一区"]["c"] == "011"
    assert by_name["天通苑东一区"]["w"] == "111"
    assert by_name["清河营"]["c"] == "000"
    pop = by_name["新龙城"]["p"]
    assert "回龙观" in pop and "800" in pop and "150" in pop and "5.9" in pop


def test_data_text_escaped_everywhere(hostile, tmp_path):
    cfg, out = hostile
    text = _html(cfg, out, tmp_path)
    assert XSS_SCRIPT not in text and "<img src=x" not in text
    assert "onerror=alert(2)" in text  # present, but only as escaped text
    # inside script blocks, data JSON cannot close the script
    for blob in re.findall(r"var circle15_data_\w+ = (.*);\n", text):
        assert "</" not in blob and "<" not in blob
    blobs = json.dumps(_data_blobs(text), ensure_ascii=False)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in blobs
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in blobs


def test_missing_optional_layers(tmp_path):
    cfg = make_config(tmp_path)
    out = make_results(tmp_path, cfg, with_proposed=False, with_sites=False)
    m = build_map(cfg, out)
    names = [c.layer_name for c in m._children.values() if hasattr(c, "layer_name")]
    assert "全部类别" in names
    assert "规划站点" not in names and "候选站点" not in names and "最优方案" not in names
    assert "全部类别（含规划站点）" not in names


def test_write_map_atomic_and_unknown_lang(area, tmp_path):
    cfg, out = area
    target = tmp_path / "maps" / "area_coverage.html"
    assert write_map(cfg, out, target) == target
    assert target.stat().st_size > 100_000
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp left
    with pytest.raises(ValueError, match="unknown language"):
        build_map(cfg, out, lang="fr")


def test_huitian_scale_map_under_10_mb(tmp_path):
    """~1,000 compounds, ~1,500 facilities, 12 categories stay well under 10 MB."""
    import numpy as np
    import pandas as pd
    from shapely.geometry import Polygon, box

    from coverage.config import Category

    cfg0 = make_config(tmp_path)
    cats = tuple(Category(f"cat{i:02d}", f"类别{i}", f"Category {i}", 15, 1.0)
                 for i in range(12))
    from dataclasses import replace
    cfg = replace(cfg0, categories=cats)
    out = tmp_path / "big"
    out.mkdir()
    rng = np.random.default_rng(0)
    x0, y0 = 440_000, 4_430_000
    n = 1000
    xs, ys = rng.uniform(0, 12_000, n), rng.uniform(0, 9_000, n)
    comp = pd.DataFrame({"id": [f"C{i}" for i in range(n)],
                         "name": [f"小区{i}号院" for i in range(n)],
                         "unit": [f"单元{i % 7}" for i in range(n)],
                         "population": rng.integers(300, 5000, n),
                         "population_60plus": rng.integers(50, 900, n)})
    for c in cats:
        for suf in ("", "_with_proposed"):
            w = rng.uniform(1, 30, n).round(2)
            comp[f"walk_min_{c.key}{suf}"] = w
            comp[f"covered_{c.key}{suf}"] = w <= 15
    # 24-vertex polygons, like street blocks
    ang = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    geoms = [Polygon(np.c_[x0 + x + 60 * np.cos(ang), y0 + y + 45 * np.sin(ang)])
             for x, y in zip(xs, ys, strict=True)]
    gpkg = out / "coverage.gpkg"
    gpd.GeoDataFrame(comp, geometry=geoms, crs="EPSG:32650").to_file(gpkg, layer="compounds")
    gpd.GeoDataFrame({"name": [f"单元{i}" for i in range(7)]},
                     geometry=[box(x0 + i * 1700, y0, x0 + (i + 1) * 1700, y0 + 9000)
                               for i in range(7)], crs="EPSG:32650").to_file(
        gpkg, layer="boundaries")
    m = 1500
    gpd.GeoDataFrame({"id": range(m), "name": [f"设施{i}" for i in range(m)],
                      "category": [cats[i % 12].key for i in range(m)], "source": "osm",
                      "status": "existing", "snap_dist_m": 5.0, "off_network": False},
                     geometry=gpd.points_from_xy(x0 + rng.uniform(0, 12_000, m),
                                                 y0 + rng.uniform(0, 9_000, m)),
                     crs="EPSG:32650").to_file(gpkg, layer="facilities")
    for c in cats:  # an isochrone of ~60 facility buffers per category
        pts = gpd.GeoSeries(gpd.points_from_xy(x0 + rng.uniform(0, 12_000, 60),
                                               y0 + rng.uniform(0, 9_000, 60)))
        gpd.GeoDataFrame({"category": [c.key], "scenario": ["existing"]},
                         geometry=[pts.buffer(700, quad_segs=16).union_all()],
                         crs="EPSG:32650").to_file(gpkg, layer=f"isochrones_{c.key}")
    path = write_map(cfg, out, tmp_path / "big.html")
    size = path.stat().st_size
    assert size < 10_000_000, size
