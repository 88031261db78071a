"""coverage.maps: the offline map pages, built from Results (no browser here; see test_browser)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _results_fixture import XSS_IMG, XSS_SCRIPT, make_config, make_results
from _synthetic_results import synthetic_results
from shapely.geometry import box

from coverage import style
from coverage.maps import build_map, build_overview_map, write_map
from coverage.maps.display import geojson_geometry, grid_cells, point_budget
from coverage.results import read_results, results_date

_BLOB = re.compile(r"^var circle15_data_(\w+) = (.*);$", re.M)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("maps")
    cfg = make_config(tmp)
    return read_results(make_results(tmp, cfg), cfg)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("maps_hostile")
    cfg = make_config(tmp)
    return read_results(make_results(tmp, cfg, hostile=True), cfg)


def _blobs(text: str) -> dict[str, object]:
    return {m.group(1): json.loads(m.group(2)) for m in _BLOB.finditer(text)}


def _spec(text: str) -> dict:
    return json.loads(re.search(r"^var circle15_spec = (.*);$", text, re.M).group(1))


def test_page_is_self_contained_and_deterministic(results, tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    text = write_map(results, tmp_path / "a.html").read_text(encoding="utf-8")
    # no external scripts, styles or fonts: Leaflet and the plugin are inline (offline)
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+stylesheet", text)
    assert "cdn." not in text and "jsdelivr" not in text
    assert "L.map(" in text and "markerClusterGroup" in text and "circle15Map(" in text
    assert "OpenStreetMap" in text  # attribution
    # same results, same bytes: no random element ids, no clock
    again = write_map(results, tmp_path / "b.html").read_text(encoding="utf-8")
    assert again == text
    assert not re.search(r"[0-9a-f]{32}", text)
    assert len(text.encode()) < 1_500_000


def test_title_date_only_from_source_date_epoch_or_results(results, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert results_date(results) is None
    assert build_map(results).subtitle == []
    assert results_date(replace(results, run_date="2026-11-30")) == "2026-11-30"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")  # 2025-12-01 00:00 UTC
    assert build_map(results).subtitle == ["2025-12-01"]
    assert "回天地区（测试） · 2025-12-01" in build_map(results).render()


def test_layers_groups_and_defaults_in_both_languages(results):
    zh = build_map(results)
    keys = [lay.key for lay in zh.layers]
    assert keys == [
        "compounds", "isochrones_elderly_station", "isochrones_health_station",
        "isochrones_wet_market", "boundaries", "facilities_elderly_station",
        "facilities_health_station", "facilities_wet_market", "proposed", "candidates",
        "sites_greedy", "sites_optimal"]
    assert [g.title for g in zh.groups] == ["小区着色与各类别", "情景", "选址", "参考图层", "底图"]
    by_key = {lay.key: lay for lay in zh.layers}
    assert by_key["isochrones_wet_market"].label == "10 分钟步行范围：菜市场"
    assert by_key["facilities_wet_market"].label == "现有设施：菜市场"
    # on at first: compounds, sited categories' facilities (all three have new_sites), sites;
    # off: walk areas, candidates
    assert by_key["compounds"].show and by_key["sites_optimal"].show
    assert not by_key["isochrones_elderly_station"].show and not by_key["candidates"].show
    # the colouring is page state: one compound layer, one colouring at a time
    assert zh.state["colour"] == "all" and [k for k in keys if k.startswith("comp")] == [
        "compounds"]
    en = build_map(results, lang="en")
    texts = [g.title for g in en.groups] + [lay.label for lay in en.layers]
    texts += [e["text"] for lay in en.layers for e in lay.legend]
    assert "Facilities: Wet market" in texts and "New sites" in texts
    assert not any(re.search(r"[\u4e00-\u9fff]", t) for t in texts), texts
    with pytest.raises(ValueError, match="unknown language"):
        build_map(results, lang="fr")


def test_every_symbol_has_a_legend_entry(results):
    doc = build_map(results)
    shapes = {e["symbol"]["shape"] for lay in doc.layers for e in lay.legend}
    assert {"dot", "cluster", "diamond", "ring", "pin", "star", "hatch", "outline"} <= shapes
    for lay in doc.layers:
        if lay.kind == "markers":  # the drawn symbol is the legend's
            assert lay.options["symbol"]["shape"] in {e["symbol"]["shape"] for e in lay.legend}


def test_compound_data_reprojected_rounded_with_bits_classes_and_minutes(results, tmp_path):
    blobs = _blobs(write_map(results, tmp_path / "m.html").read_text(encoding="utf-8"))
    comp = blobs["compounds"]
    x, y = comp["features"][0]["geometry"]["coordinates"][0][0]
    assert 116.2 < x < 116.5 and 40.0 < y < 40.1  # EPSG:4326, not metres
    assert all(len(str(v).split(".")[1]) <= 5 for v in (x, y))
    by_name = {f["properties"]["n"]: f["properties"] for f in comp["features"]}
    # config order; C06 lacks only the elderly station, which the proposed station brings
    assert by_name["天通苑东一区"]["c"] == "011" and by_name["天通苑东一区"]["cp"] == "111"
    assert by_name["天通苑东一区"]["k"] == style.missing_class(1)
    assert by_name["天通苑东一区"]["kp"] == style.missing_class(0)
    # 清河营 reaches nothing: the loudest class even with only 3 categories
    assert by_name["清河营"]["c"] == "000"
    assert by_name["清河营"]["k"] == len(style.ALL_CATEGORIES_CLASSES) - 1
    assert by_name["清河营"]["w"] == [None, None, None]
    p = by_name["新龙城"]
    assert (p["u"], p["p"], p["a"]) == ("回龙观", 800, 150)
    assert p["w"][0] == round(results.compounds.set_index("name").loc[
        "新龙城", "walk_min_elderly_station"], 1)


def test_data_text_cannot_escape_the_script(hostile, tmp_path):
    text = write_map(hostile, tmp_path / "h.html").read_text(encoding="utf-8")
    assert XSS_SCRIPT not in text and "<img src=x" not in text
    for line in re.findall(r"^var circle15_\w+ = .*$", text, re.M):
        assert "<" not in line and ">" not in line
    blobs = json.dumps(_blobs(text), ensure_ascii=False)
    assert XSS_SCRIPT in blobs and XSS_IMG in blobs  # kept as data, escaped by the page


def test_missing_optional_layers(tmp_path):
    cfg = make_config(tmp_path)
    res = read_results(make_results(tmp_path, cfg, with_sites=False), cfg)
    doc = build_map(replace(res, proposed=res.proposed.iloc[0:0]))
    keys = {lay.key for lay in doc.layers}
    assert "compounds" in keys and not keys & {"proposed", "candidates", "sites_greedy"}
    assert doc.group("scenario") is None  # no proposed stations: no scenario to choose
    assert doc.layer("compounds").options["with_proposed"] is False


def test_extra_layer_builder(results):
    from coverage.maps import Layer

    def add_plan(ctx, doc):
        data = doc.add_data("plan", {"type": "FeatureCollection", "features": []})
        doc.add_layer(Layer("plan", "markers", "sites", "方案", data,
                            options={"symbol": {"shape": "square", "colour": "#000"}}))

    doc = build_map(results, extra_layers=(add_plan,))
    assert doc.layers[-1].key == "plan" and "var circle15_data_plan = " in doc.render()
    with pytest.raises(ValueError, match="already"):
        doc.add_data("plan", {})


def test_streets_layer_is_the_network_merged(sample_result):
    from coverage.network import street_lines

    net = sample_result.network
    streets = street_lines(net, simplify_m=0.0)
    assert len(streets) < net.n_edges / 2  # merged into street lines
    assert streets.crs == net.crs and set(streets.columns) == {"name", "highway", "geometry"}
    assert streets.geometry.length.sum() == pytest.approx(net.edge_length_m.sum(), rel=1e-9)
    # every edge lies on its street line
    lines = shapely.union_all(streets.geometry.to_numpy())
    mid = shapely.line_interpolate_point(net.edge_lines, 0.5, normalized=True)
    assert shapely.distance(mid, lines).max() < 1e-6
    simplified = street_lines(net)
    assert len(shapely.get_coordinates(simplified.geometry.to_numpy())) <= len(
        shapely.get_coordinates(streets.geometry.to_numpy()))
    assert street_lines(net).equals(street_lines(net))  # deterministic


def test_missing_class_all_missing_is_loudest():
    last = len(style.ALL_CATEGORIES_CLASSES) - 1
    assert [style.missing_class(n) for n in (0, 1, 2, 3, 4, 5, 6, 12)] == [
        0, 1, 2, 2, 3, 3, 4, 4]
    assert style.missing_class(3, 3) == last and style.missing_class(2, 3) == 2
    assert style.missing_class(0, 0) == 0


def test_grid_cells_and_point_budget():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 10_000, (5000, 2))
    cells = grid_cells(xy, 400)
    assert len(cells.count) <= 400 and cells.count.sum() == 5000
    assert cells.cell_m in (100.0, 200.0, 400.0, 800.0, 1600.0)
    assert len(grid_cells(xy, 10_000).count) > 400  # small cells when allowed
    # order-independent
    again = grid_cells(xy[::-1], 400)
    assert np.allclose(np.sort(cells.count), np.sort(again.count))
    assert point_budget([10, 50_000, 30_000, 5], 20_000) == [False, True, True, False]
    assert point_budget([10, 20], 20_000) == [False, False]


def test_huitian_scale_map_under_10_mb(tmp_path):
    """~1,000 compounds, ~1,500 facilities, 12 categories stay well under 10 MB."""
    path = write_map(synthetic_results(tmp_path, 1000, 1500), tmp_path / "big.html")
    assert path.stat().st_size < 10_000_000, path.stat().st_size


def test_100000_facilities_are_counted_in_cells_and_the_page_stays_small(tmp_path):
    res = synthetic_results(tmp_path, 200, 100_000, iso=False)
    doc = build_map(res)
    text = doc.render()
    assert len(text.encode()) < 10_000_000, len(text.encode())
    fac = _blobs(text)["facilities"]
    # every facility is drawn: as a point or inside a cell's count
    assert len(fac["x"]) + sum(fac["cells"]["count"]) == 100_000
    assert len(fac["x"]) + len(fac["cells"]["x"]) <= 25_000
    # and the legend says which categories are counted in cells
    cell_legends = [e["text"] for lay in doc.layers for e in lay.legend
                    if e["symbol"]["shape"] == "cell"]
    assert cell_legends and all("8,334" in t or "8,333" in t for t in cell_legends)
    for lay in doc.layers:  # a category drawn as cells has no dot in the legend
        shapes = [e["symbol"]["shape"] for e in lay.legend]
        assert lay.kind != "points" or (("cell" in shapes) != ("dot" in shapes)), shapes


def test_overview_map_classes_labels_and_popups(tmp_path):
    units = gpd.GeoDataFrame(
        {"area": ["甲区", "甲区", "乙区"], "unit": ["一街道", "二街道", XSS_SCRIPT],
         "coverage_pct_elderly_station": [12.5, 55.0, None],
         "coverage_pct_wet_market": [90.0, 100.0, 40.0]},
        geometry=[box(116.30, 40.00, 116.32, 40.02), box(116.32, 40.00, 116.34, 40.02),
                  box(116.34, 40.00, 116.36, 40.02)], crs=4326)
    labels = {"elderly_station": "养老驿站", "wet_market": "菜市场"}
    doc = build_overview_map(units, title="北京", labels=labels)
    text = doc.render()
    assert doc.title == "北京：各单元覆盖率" and 'lang="zh"' in text
    radio = doc.group("colour").options["items"]
    assert [i["label"] for i in radio] == ["各类别平均", "养老驿站", "菜市场"]
    lay = doc.layer("units")
    assert [c["lower"] for c in lay.options["classes"]] == [0, 50, 60, 70, 80, 90]
    assert [c["label"] for c in lay.options["classes"]][:2] == ["< 50%", "50–60%"]
    assert [c["colour"] for c in lay.options["classes"]] == [
        c for _, c in style.OVERVIEW_CLASSES]
    feats = _blobs(text)["units"]["features"]
    p = feats[0]["properties"]
    assert p["rows"] == [["养老驿站", "12.5%"], ["菜市场", "90.0%"], ["各类别平均", "51.2%"]]
    assert feats[2]["properties"]["v"]["elderly_station"] is None
    assert _blobs(text)["unit_labels"]["t"] == ["一街道", "二街道", XSS_SCRIPT]
    assert XSS_SCRIPT not in text
    en = build_overview_map(units, title="Beijing", lang="en", labels={"wet_market": "Market"})
    assert [i["label"] for i in en.group("colour").options["items"]] == [
        "Mean of categories", "elderly_station", "Market"]
    assert _spec(en.render())["lang"] == "en"


def test_same_page_from_memory_and_from_the_results_folder(sample_result, tmp_path):
    """`circle15 run` draws from memory, `circle15 map` from the folder: same bytes."""
    from coverage.outputs import write_coverage
    from coverage.results import results_of

    write_coverage(sample_result, tmp_path / "out")
    from_memory = build_map(results_of(sample_result)).render()
    from_folder = build_map(read_results(tmp_path / "out", sample_result.config)).render()
    assert from_memory == from_folder
    assert "var circle15_data_streets = " in from_folder


def test_geojson_geometry_is_shapelys_mapping_as_json():
    """The vectorised GeoJSON of (multi)polygons is the same JSON text as shapely's mapping:
    rings in order (exterior first), holes, several parts, and other types passed through."""
    rng = np.random.default_rng(3)
    geoms = []
    for _ in range(60):
        blobs = shapely.union_all(shapely.buffer(shapely.points(rng.uniform(0, 1000, (25, 2))),
                                                 rng.uniform(5.0, 90.0)))
        holes = shapely.union_all(shapely.buffer(shapely.points(rng.uniform(0, 1000, (6, 2))),
                                                 25.0))
        geoms.append(shapely.transform(shapely.difference(blobs, holes),
                                       lambda xy: np.round(xy / 7.3, 5)))
    geoms += [box(0, 0, 1, 1).difference(box(0.2, 0.2, 0.4, 0.4)),
              shapely.MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]),
              shapely.LineString([(0, 0), (1, 1)]), shapely.Point(1.5, 2.0)]
    kinds = {g.geom_type for g in geoms}
    assert {"Polygon", "MultiPolygon"} <= kinds
    assert any(len(shapely.get_parts(g)) > 1 and shapely.get_num_interior_rings(
        shapely.get_parts(g)).sum() > 0 for g in geoms)  # multi-part with holes exercised
    for g in geoms:
        assert json.dumps(geojson_geometry(g)) == json.dumps(shapely.geometry.mapping(g))
