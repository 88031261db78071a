"""Validation of the input files and coverage.inputs.load_inputs on tiny hand-made areas.

Every test builds its own study area in tmp_path: two 0.01-degree squares near 116.35 E,
40.07 N (units 西区/东区), a few compounds, a facilities CSV and a stub OSM file.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point, Polygon, box

from coverage.config import load_config
from coverage.coords import wgs84_to_bd09, wgs84_to_gcj02
from coverage.errors import InputError, Problem
from coverage.inputs import COMPOUND_COLUMNS, load_inputs, summarize_inputs
from coverage.validate import locate_points, parse_points

GEOD = Geod(ellps="WGS84")
CRS = "EPSG:32650"

UNITS = gpd.GeoDataFrame(
    {"name": ["西区", "东区"]},
    geometry=[box(116.340, 40.065, 116.350, 40.075), box(116.350, 40.065, 116.360, 40.075)],
    crs="EPSG:4326",
)
COMPOUNDS = gpd.GeoDataFrame(
    {
        "id": ["001", "002", "003", "004"],
        "name": ["西苑", "东苑", "边上小区", "远方小区"],
        "population": [1000, 2000, 500, 800],
        "population_60plus": [200, 300, 100, 100],
    },
    geometry=[
        box(116.343, 40.068, 116.346, 40.071),  # in 西区
        box(116.353, 40.068, 116.356, 40.071),  # in 东区
        box(116.362, 40.068, 116.364, 40.070),  # ~170 m east of 东区: in the walk buffer
        box(116.500, 40.200, 116.502, 40.202),  # ~18 km away: ignored
    ],
    crs="EPSG:4326",
)
FAC_HEADER = "id,name,category,lon,lat\n"
FACILITIES = FAC_HEADER + (
    "001,西区养老驿站,elderly_station,116.345,40.070\n"
    "002,东区菜市场,wet_market,116.355,40.070\n"
)
OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="40.070" lon="116.340"/>
  <node id="2" lat="40.070" lon="116.350"/>
  <node id="3" lat="40.070" lon="116.360"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
</osm>
"""
TOML = """
[area]
name = "测试区"
crs = "EPSG:32650"
boundaries = "boundaries.geojson"
network = "network.osm"

[walk]
speed_m_s = 1.0

[[category]]
key = "elderly_station"
label = "养老驿站"
minutes = 15
demand = "population_60plus"

[[category]]
key = "wet_market"
label = "菜市场"
minutes = 10

[[facilities]]
path = "facilities.csv"
{facilities_extra}

[compounds]
path = "compounds.geojson"
{extra}
"""


def make_area(
    tmp: Path,
    *,
    facilities: str | bytes = FACILITIES,
    compounds: gpd.GeoDataFrame = COMPOUNDS,
    units: gpd.GeoDataFrame = UNITS,
    facilities_extra: str = "",
    extra: str = "",
    toml: str = TOML,
) -> Path:
    """Write a complete tiny study area into ``tmp`` and return its config path."""
    units.to_file(tmp / "boundaries.geojson", driver="GeoJSON", engine="pyogrio")
    compounds.to_file(tmp / "compounds.geojson", driver="GeoJSON", engine="pyogrio")
    if isinstance(facilities, str):
        facilities = facilities.encode("utf-8-sig")
    (tmp / "facilities.csv").write_bytes(facilities)
    (tmp / "network.osm").write_text(OSM, encoding="utf-8")
    cfg = tmp / "area.toml"
    cfg.write_text(toml.format(facilities_extra=facilities_extra, extra=extra), encoding="utf-8")
    return cfg


def problems_of(cfg: Path, *, strict: bool = False) -> list[Problem]:
    with pytest.raises(InputError) as ei:
        load_inputs(load_config(cfg), strict=strict)
    return ei.value.problems


def only(problems: list[Problem], **match) -> Problem:
    """The single problem whose attributes contain the given substrings / equal the values."""
    def ok(p: Problem) -> bool:
        for k, v in match.items():
            a = getattr(p, k)
            if isinstance(v, str) and k in ("problem", "fix"):
                if v not in a:
                    return False
            elif a != v:
                return False
        return True

    hits = [p for p in problems if ok(p)]
    assert len(hits) == 1, f"expected one problem matching {match}, got {hits} in {problems}"
    return hits[0]


# --- the good case ------------------------------------------------------------------------


def test_load_inputs_projects_once_and_assigns_units(tmp_path):
    inputs = load_inputs(load_config(make_area(tmp_path)))
    for layer in (inputs.boundaries, inputs.compounds, inputs.facilities, inputs.proposed):
        assert layer.crs.to_epsg() == 32650
    # a known distance: the two facilities are 0.01 deg apart on 40.07 N
    f = inputs.facilities.set_index("id")
    _, _, geodesic_m = GEOD.inv(116.345, 40.070, 116.355, 40.070)
    dist_m = f.geometry["001"].distance(f.geometry["002"])
    assert geodesic_m == pytest.approx(853.07, abs=0.05)
    assert dist_m == pytest.approx(geodesic_m, rel=1e-3)  # UTM scale error only
    # the units' union is ~1.7 x 1.1 km; load_area = union buffered by the longest walk (900 m)
    assert inputs.config.max_walk_m == 900
    assert inputs.study_area.area == pytest.approx(2 * 853.07 * 1111.0, rel=0.01)
    # ... holding every point within 900 m, and at most 0.121 % more (1.1 m)
    assert inputs.load_area.contains(inputs.study_area.buffer(900))
    assert not inputs.load_area.contains(inputs.study_area.buffer(901.2))

    c = inputs.compounds
    assert list(c.columns) == [*COMPOUND_COLUMNS, "geometry"]
    assert c["id"].tolist() == ["001", "002", "003"]  # "004" is far outside: dropped
    assert c["unit"].tolist() == ["西区", "东区", ""]
    assert c["in_area"].tolist() == [True, True, False]
    assert c["population"].tolist() == [1000.0, 2000.0, 500.0]
    assert c["population_60plus"].dtype == float
    assert f.loc["001", "category"] == "elderly_station"
    assert f.loc["001", "status"] == "existing" and f.loc["001", "source"] == "file"
    assert f.loc["002", "file"] == "facilities.csv" and f.loc["002", "row"] == 2
    assert inputs.proposed.empty and set(inputs.proposed.columns) == set(inputs.facilities.columns)
    assert inputs.candidates is None and inputs.gates is None

    text = summarize_inputs(inputs)
    assert "compounds: 3 (2 in the units), population 3,500" in text
    assert re.search(r"1 compounds\s+population\s+1,000\s+西区", text)
    assert re.search(r"1 compounds\s+population\s+2,000\s+东区", text)
    assert re.search(r"1 compounds\s+population\s+500\s+\(in no unit", text)
    assert "elderly_station" in text and "wet_market" in text


@pytest.mark.parametrize("system,forward", [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_gcj02_and_bd09_points_are_converted_before_use(tmp_path, system, forward):
    lon, lat = forward(np.array([116.345, 116.355]), np.array([40.070, 40.070]))
    csv = FAC_HEADER + (f"001,a,elderly_station,{float(lon[0])!r},{float(lat[0])!r}\n"
                        f"002,b,wet_market,{float(lon[1])!r},{float(lat[1])!r}\n")
    cfg = make_area(tmp_path, facilities=csv, facilities_extra=f'coords = "{system}"')
    f = load_inputs(load_config(cfg)).facilities
    _, _, err_m = GEOD.inv(f["lon"].to_numpy(), f["lat"].to_numpy(), [116.345, 116.355],
                           [40.070, 40.070])
    assert np.max(err_m) < 0.5
    # the raw offset is hundreds of metres, so an unconverted file would fail the check above
    _, _, raw_m = GEOD.inv(lon, lat, [116.345, 116.355], [40.070, 40.070])
    assert np.min(raw_m) > 100


def test_xlsx_and_gpkg_point_files(tmp_path):
    import openpyxl

    cfg = make_area(tmp_path, facilities_extra='sheet = "设施"')
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "设施"
    ws.append(["id", "name", "category", "lon", "lat"])
    ws.append(["007", "驿站", "elderly_station", 116.345, 40.07])
    wb.save(tmp_path / "facilities.xlsx")
    text = cfg.read_text(encoding="utf-8").replace("facilities.csv", "facilities.xlsx")
    cfg.write_text(text, encoding="utf-8")
    f = load_inputs(load_config(cfg)).facilities
    assert f["id"].tolist() == ["007"]

    pts = gpd.GeoDataFrame({"id": [5], "name": ["市场"], "category": ["wet_market"]},
                           geometry=[Point(116.355, 40.07)], crs="EPSG:4326").to_crs(CRS)
    pts.to_file(tmp_path / "facilities.gpkg", layer="pois", engine="pyogrio")
    cfg.write_text(text.replace("facilities.xlsx", "facilities.gpkg")
                   .replace('sheet = "设施"', 'layer = "pois"'), encoding="utf-8")
    f = load_inputs(load_config(cfg)).facilities
    assert f["id"].tolist() == ["5"]
    assert f["lon"].iloc[0] == pytest.approx(116.355, abs=1e-9)


# --- one test per kind of problem ---------------------------------------------------------


def test_missing_columns_are_named_with_a_rename_hint(tmp_path):
    csv = "id,name,category,经度,latitude\n1,a,wet_market,116.35,40.07\n"
    ps = problems_of(make_area(tmp_path, facilities=csv))
    p = only(ps, field="lon")
    assert p.file == "facilities.csv" and p.row is None
    assert "missing column 'lon'" in p.problem and "rename column '经度' to 'lon'" in p.fix
    assert "rename column 'latitude' to 'lat'" in only(ps, field="lat").fix


def test_non_numeric_and_empty_coordinates(tmp_path):
    csv = FAC_HEADER + ("1,a,wet_market,116.35,40.07\n2,b,wet_market,116°21′,40.07\n"
                        "3,c,wet_market,,40.07\n")
    ps = problems_of(make_area(tmp_path, facilities=csv))
    p = only(ps, row=2)
    assert (p.file, p.field) == ("facilities.csv", "lon") and "is not a number" in p.problem
    assert "decimal degrees" in p.fix
    assert "lon is empty" in only(ps, row=3).problem
    assert len(ps) == 2


def test_out_of_range_coordinates(tmp_path):
    csv = FAC_HEADER + "1,a,wet_market,447000,4436000\n"
    p = only(problems_of(make_area(tmp_path, facilities=csv)), row=1)
    assert p.field == "lon/lat"
    assert "out of range" in p.problem and "projected metres" in p.problem


def test_swapped_lat_lon_out_of_range(tmp_path):
    csv = FAC_HEADER + "1,a,wet_market,116.35,40.07\n2,b,wet_market,40.07,116.35\n"
    p = only(problems_of(make_area(tmp_path, facilities=csv)), row=2)
    assert (p.file, p.field) == ("facilities.csv", "lon/lat")
    assert "lat/lon look swapped" in p.problem and "swap" in p.fix


def test_swapped_lat_lon_detected_by_study_area():
    # Near 50 E, 40 N both orders are valid coordinates; only the area tells them apart.
    crs = "EPSG:32639"
    area = gpd.GeoSeries([box(49.9, 39.9, 50.1, 40.1)], crs="EPSG:4326").to_crs(crs).iloc[0]
    table = gpd.pd.DataFrame({"id": ["a", "b"], "name": ["ok", "swapped"],
                              "category": ["x", "x"], "lon": ["50.0", "40.0"],
                              "lat": ["40.0", "50.0"]})
    layer, ps = parse_points(table, file="f.csv", kind="facilities", coords="wgs84",
                             categories=["x"])
    assert ps == []
    gdf, ps, dropped = locate_points(layer, file="f.csv", crs=crs, study_area=area, buffer_m=0)
    assert gdf["id"].tolist() == ["a"] and dropped.empty
    (p,) = ps
    assert (p.row, p.field) == (2, "lon/lat") and "lat/lon look swapped" in p.problem


OUTSIDE = FACILITIES + (
    "003,远处驿站,elderly_station,116.50,40.20\n"  # ~19 km away
    "004,边缘菜市场,wet_market,116.365,40.070\n"  # ~430 m east of 东区: inside the buffer
    "005,稍远菜市场,wet_market,116.375,40.070\n"  # ~1.28 km east: beyond the buffer
)


def _lonlat_at(xy: np.ndarray) -> tuple[float, float]:
    lon, lat = gpd.GeoSeries([Point(xy)], crs=CRS).to_crs("EPSG:4326").iloc[0].coords[0]
    return lon, lat


def test_the_study_area_reaches_the_longest_walk_at_its_corners(tmp_path):
    """Points 899.9 m from a corner of the units are kept, 900.1 m dropped: exact distances.

    A buffer of the units draws the reach's round corners as chords up to 1.1 m inside the
    900 m circle; the point 899.9 m out is chosen where the plain buffer leaves it out.
    """
    area = shapely.union_all(UNITS.to_crs(CRS).geometry.to_numpy())
    corner = np.array(max(area.exterior.coords, key=lambda c: c[0] + c[1]))  # north-east
    angles = np.radians(np.linspace(0.0, 90.0, 3601))
    ring = corner + 899.9 * np.column_stack([np.cos(angles), np.sin(angles)])
    gap = shapely.distance(area.buffer(900.0), shapely.points(ring))
    direction = (ring[np.argmax(gap)] - corner) / 899.9
    assert gap.max() > 0.5  # the plain buffer leaves this point out
    rows = [f"{name},{name},wet_market,{lon!r},{lat!r}\n" for name, lon, lat in (
        ("near", *_lonlat_at(corner + 899.9 * direction)),
        ("far", *_lonlat_at(corner + 900.1 * direction)))]
    inputs = load_inputs(load_config(make_area(tmp_path, facilities=FACILITIES + "".join(rows))))
    assert inputs.facilities["id"].tolist() == ["001", "002", "near"]
    assert inputs.dropped["id"].tolist() == ["far"]
    assert inputs.dropped["reason"].iat[0].startswith("0.00 km outside the study area")
    assert inputs.load_area.contains(shapely.points(corner + 900.0 * direction))


def test_points_outside_study_area_are_dropped_with_one_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        inputs = load_inputs(load_config(make_area(tmp_path, facilities=OUTSIDE)))
    assert inputs.facilities["id"].tolist() == ["001", "002", "004"]
    d = inputs.dropped
    assert d["row"].tolist() == [3, 5] and set(d["file"]) == {"facilities.csv"}
    assert d["id"].tolist() == ["003", "005"] and d["name"].tolist() == ["远处驿站", "稍远菜市场"]
    assert d["lon"].tolist() == ["116.500000", "116.375000"]
    _, _, east_m = GEOD.inv(116.360, 40.070, 116.375, 40.070)  # from the units' east edge
    assert d["reason"].iat[1] == (f"{(east_m - 900) / 1000:.2f} km outside the study area "
                                  "(the units plus a 900 m walk)")
    warnings = [r.getMessage() for r in caplog.records if "outside the study area" in
                r.getMessage() and "facilities.csv" in r.getMessage()]
    assert len(warnings) == 1 and "2 points" in warnings[0] and "dropped.csv" in warnings[0]


def test_points_outside_study_area_are_listed_when_strict(tmp_path):
    ps = problems_of(make_area(tmp_path, facilities=OUTSIDE), strict=True)
    assert [p.row for p in ps] == [3, 5]
    p3, p5 = ps
    assert p3.file == "facilities.csv" and p3.field == "lon/lat"
    assert "'003' (远处驿站)" in p3.problem and "outside the study area" in p3.problem
    assert "900 m walk" in p3.problem
    _, _, east_m = GEOD.inv(116.360, 40.070, 116.375, 40.070)  # from the units' east edge
    assert f"is {(east_m - 900) / 1000:.2f} km outside" in p5.problem  # 0.38 km
    assert 'coords = "gcj02"' in p5.fix


def test_duplicate_ids(tmp_path):
    csv = FACILITIES + "001,又一个,wet_market,116.356,40.071\n"
    p = only(problems_of(make_area(tmp_path, facilities=csv)), row=3)
    assert (p.file, p.field) == ("facilities.csv", "id")
    assert "duplicate id '001' (also in row 1)" in p.problem


def test_duplicate_ids_across_facilities_and_proposed(tmp_path):
    cfg = make_area(tmp_path, extra="")
    (tmp_path / "proposed.csv").write_text(FAC_HEADER + "002,新菜市场,wet_market,116.352,40.072\n",
                                           encoding="utf-8")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(
        "[compounds]", '[[proposed]]\npath = "proposed.csv"\n\n[compounds]'), encoding="utf-8")
    p = only(problems_of(cfg), field="id")
    assert (p.file, p.row) == ("proposed.csv", 1)
    assert "also in facilities.csv, row 2" in p.problem


def test_all_points_outside_is_an_error_with_hints(tmp_path):
    csv = FAC_HEADER + "1,a,wet_market,116.50,40.20\n2,b,wet_market,116.51,40.21\n"
    (p,) = problems_of(make_area(tmp_path, facilities=csv))
    assert (p.file, p.row, p.field) == ("facilities.csv", None, "lon/lat")
    assert "2 of its 2 points lie outside the study area" in p.problem
    assert "row 1 '1'" in p.problem and "gcj02" in p.fix


def test_rows_of_other_categories_are_left_out_with_one_warning(tmp_path, caplog):
    csv = FACILITIES + ("3,超市,supermarket,116.356,40.071\n4,超市2,supermarket,x,y\n"
                        "5,驿站?,elderly_statoin,116.356,40.071\n")
    with caplog.at_level(logging.WARNING):
        inputs = load_inputs(load_config(make_area(tmp_path, facilities=csv)))
    assert inputs.facilities["id"].tolist() == ["001", "002"]
    d = inputs.dropped
    assert d["row"].tolist() == [3, 4, 5]
    assert d["category"].tolist() == ["supermarket", "supermarket", "elderly_statoin"]
    assert d["lon"].tolist() == ["116.356", "x", "116.356"]  # as written
    assert set(d["reason"]) == {"category 'supermarket' is not in the config",
                                "category 'elderly_statoin' is not in the config"}
    (w,) = [r.getMessage() for r in caplog.records if "not in the config" in r.getMessage()]
    assert "3 rows" in w and "supermarket (2)" in w
    assert "elderly_statoin (1; did you mean elderly_station?)" in w


def test_unknown_and_empty_categories_when_strict(tmp_path):
    csv = FACILITIES + "3,超市,supermarket,116.356,40.071\n4,无类,,116.356,40.071\n"
    ps = problems_of(make_area(tmp_path, facilities=csv), strict=True)
    p = only(ps, row=3)
    assert p.field == "category" and "unknown category 'supermarket'" in p.problem
    assert p.fix == "use one of: elderly_station, wet_market"
    assert "category is empty" in only(ps, row=4).problem


def test_category_may_be_given_by_its_label(tmp_path):
    csv = FAC_HEADER + "1,a,养老驿站,116.345,40.07\n2,b,菜市场,116.355,40.07\n"
    f = load_inputs(load_config(make_area(tmp_path, facilities=csv))).facilities
    assert f["category"].tolist() == ["elderly_station", "wet_market"]


def test_candidates_may_leave_category_empty(tmp_path):
    (tmp_path / "cand.csv").write_text(
        "id,name,category,lon,lat\nc1,空地,,116.345,40.072\nc2,底商,wet_market,116.356,40.072\n",
        encoding="utf-8")
    cfg = make_area(tmp_path, extra='\n[candidates]\npath = "cand.csv"\ncoords = "wgs84"\n')
    inputs = load_inputs(load_config(cfg))
    assert inputs.candidates["category"].tolist() == ["", "wet_market"]
    assert inputs.candidates["status"].tolist() == ["candidate", "candidate"]
    # an empty category counts as a candidate for every category
    text = summarize_inputs(inputs)
    assert re.search(r"wet_market\s+1 /\s+0 /\s+2\s+菜市场", text)
    assert re.search(r"elderly_station\s+1 /\s+0 /\s+1\s+养老驿站", text)


def test_capacity_must_be_a_number(tmp_path):
    csv = "id,name,category,lon,lat,capacity\n1,a,wet_market,116.35,40.07,很多\n" \
          "2,b,wet_market,116.35,40.07,1,200\n"
    ps = problems_of(make_area(tmp_path, facilities=csv.replace("1,200", '"1,200"')))
    p = only(ps, field="capacity")
    assert p.row == 1 and "'很多'" in p.problem


@pytest.mark.parametrize(("value", "words"), [("很大", "'很大'"), ("-20", "'-20'"),
                                             ("200m2", "'200m2'")])
def test_floor_area_must_be_a_number_of_square_metres(tmp_path, value, words):
    csv = (f"id,name,category,lon,lat,floor_area_m2\n1,a,wet_market,116.35,40.07,{value}\n"
           "2,b,wet_market,116.35,40.07,\"1,200\"\n3,c,wet_market,116.35,40.07,\n")
    ps = problems_of(make_area(tmp_path, facilities=csv))
    p = only(ps, field="floor_area_m2")
    assert p.row == 1 and words in p.problem and "square metres" in p.fix


def test_floor_area_and_capacity_are_read_as_numbers(tmp_path):
    csv = ("id,name,category,lon,lat,capacity,floor_area_m2\n"
           "1,a,wet_market,116.35,40.07,\"1,500\",250\n2,b,wet_market,116.35,40.07,,\n")
    fac = load_inputs(load_config(make_area(tmp_path, facilities=csv))).facilities
    assert fac["capacity"].tolist()[0] == 1500.0 and np.isnan(fac["capacity"].tolist()[1])
    assert fac["floor_area_m2"].tolist()[0] == 250.0 and np.isnan(fac["floor_area_m2"].iloc[1])


def test_empty_polygon_is_an_error_and_invalid_polygon_is_repaired(tmp_path, caplog):
    bowtie = Polygon([(116.343, 40.072), (116.346, 40.074), (116.346, 40.072),
                      (116.343, 40.074)])
    assert not bowtie.is_valid
    comp = COMPOUNDS.copy()
    comp.loc[len(comp)] = ["005", "蝴蝶", 10, 1, bowtie]
    cfg = make_area(tmp_path, compounds=comp)
    with caplog.at_level(logging.WARNING, logger="coverage.validate"):
        inputs = load_inputs(load_config(cfg))
    c = inputs.compounds.set_index("id")
    assert c.geometry["005"].is_valid and c.geometry["005"].area > 0
    assert "compounds.geojson, row 5: invalid polygon (Self-intersection" in caplog.text

    comp.loc[len(comp)] = ["006", "空", 10, 1, Polygon()]
    ps = problems_of(make_area(tmp_path, compounds=comp))
    p = only(ps, row=6)
    assert (p.file, p.field) == ("compounds.geojson", "geometry") and p.problem == "empty geometry"


def test_non_polygon_boundaries_are_refused(tmp_path):
    units = UNITS.copy()
    units.loc[len(units)] = ["线", shapely.LineString([(116.34, 40.06), (116.36, 40.06)])]
    p = only(problems_of(make_area(tmp_path, units=units)), row=3)
    assert (p.file, p.field) == ("boundaries.geojson", "geometry")
    assert "LineString, not a polygon" in p.problem


def test_boundaries_need_unique_names(tmp_path):
    units = UNITS.copy()
    units["name"] = ["同名", "同名"]
    p = only(problems_of(make_area(tmp_path, units=units)), field="name")
    assert p.row == 2 and "duplicate name '同名'" in p.problem


def test_negative_and_non_numeric_population(tmp_path):
    comp = COMPOUNDS.copy()
    comp["population"] = comp["population"].astype(object)
    comp.loc[0, "population"] = -5
    comp.loc[1, "population"] = "约两千"
    ps = problems_of(make_area(tmp_path, compounds=comp))
    p1 = only(ps, row=1)
    assert (p1.file, p1.field) == ("compounds.geojson", "population")
    assert "is negative" in p1.problem
    p2 = only(ps, row=2)
    assert p2.field == "population" and "'约两千' is not a number" in p2.problem


def test_population_with_thousands_separator_is_accepted(tmp_path):
    comp = COMPOUNDS.copy()
    comp["population"] = ["1,000", "2000", "500", "800"]
    inputs = load_inputs(load_config(make_area(tmp_path, compounds=comp)))
    assert inputs.compounds["population"].tolist() == [1000.0, 2000.0, 500.0]


def test_missing_demand_column_named_by_a_category(tmp_path):
    comp = COMPOUNDS.drop(columns=["population_60plus"])
    p = only(problems_of(make_area(tmp_path, compounds=comp)), field="population_60plus")
    assert p.file == "compounds.geojson" and p.row is None
    assert "categories elderly_station use as demand" in p.problem


def test_population_60plus_optional_when_no_category_uses_it(tmp_path, caplog):
    comp = COMPOUNDS.drop(columns=["population_60plus"])
    toml = TOML.replace('demand = "population_60plus"', "")
    with caplog.at_level(logging.WARNING):
        inputs = load_inputs(load_config(make_area(tmp_path, compounds=comp, toml=toml)))
    assert inputs.compounds["population_60plus"].isna().all()
    assert "no column 'population_60plus'" in caplog.text


def test_population_60plus_cannot_exceed_population(tmp_path):
    comp = COMPOUNDS.copy()
    comp.loc[1, "population_60plus"] = 5000
    p = only(problems_of(make_area(tmp_path, compounds=comp)), row=2)
    assert p.field == "population_60plus" and "exceeds population" in p.problem


def test_unit_column_is_kept_and_checked(tmp_path):
    comp = COMPOUNDS.copy()
    comp["unit"] = ["东区", "", "", "北区"]  # planner overrides 001; 002/003 by location
    ps = problems_of(make_area(tmp_path, compounds=comp))
    # 004 is dropped as far away only after its unit name is checked
    p = only(ps, field="unit")
    assert p.row == 4 and "unknown unit '北区'" in p.problem and "西区, 东区" in p.fix
    comp["unit"] = ["东区", "", "", ""]
    c = load_inputs(load_config(make_area(tmp_path, compounds=comp))).compounds
    assert c["unit"].tolist() == ["东区", "东区", ""]


def test_all_problems_across_files_are_raised_at_once(tmp_path):
    csv = FAC_HEADER + "1,a,shop,116.35,40.07\n1,b,wet_market,x,40.07\n"
    comp = COMPOUNDS.copy()
    comp.loc[0, "population"] = -1
    ps = problems_of(make_area(tmp_path, facilities=csv, compounds=comp), strict=True)
    files = {p.file for p in ps}
    assert files == {"facilities.csv", "compounds.geojson"}
    assert len(ps) == 3  # unknown category, non-numeric lon, negative population
    with pytest.raises(InputError) as ei:
        load_inputs(load_config(make_area(tmp_path, facilities=csv, compounds=comp)),
                    strict=True)
    msg = str(ei.value)
    assert msg.startswith("3 input problems")
    assert "facilities.csv, row 2, field 'lon'" in msg


def test_gbk_facilities_file_is_reported_not_crashed(tmp_path):
    ps = problems_of(make_area(tmp_path, facilities=FACILITIES.encode("gbk")))
    p = only(ps, file="facilities.csv")
    assert "GBK" in p.problem and "CSV UTF-8" in p.fix


def test_gates_are_read_and_clipped(tmp_path):
    (tmp_path / "gates.geojson").write_text(
        gpd.GeoDataFrame({"compound_id": ["001", "002"]},
                         geometry=[Point(116.3445, 40.068), Point(116.6, 40.3)],
                         crs="EPSG:4326").to_json(), encoding="utf-8")
    cfg = make_area(tmp_path, extra='gates = "gates.geojson"')
    g = load_inputs(load_config(cfg)).gates
    assert len(g) == 1 and g["compound_id"].tolist() == ["001"]
    assert g.crs.to_epsg() == 32650 and g["id"].iloc[0] != ""


def test_embedded_sample_if_present():
    cfg = Path(__file__).resolve().parents[1] / "data" / "huitian" / "area.toml"
    if not cfg.exists():
        pytest.skip("embedded sample data/huitian not built yet")
    inputs = load_inputs(load_config(cfg))
    assert len(inputs.boundaries) >= 1 and len(inputs.compounds) > 0
    assert inputs.compounds.crs == inputs.boundaries.crs
    assert "per unit" in summarize_inputs(inputs)


# --- the number rule, repeated problems, boundaries from a city-wide layer ------------------


@pytest.mark.parametrize(("cell", "value"), [
    ("1200", 1200.0), ("1,200", 1200.0), ("12,345.5", 12345.5), ("1，200", 1200.0),
    ("1.2", 1.2), ("12.5", 12.5), ("0.125", 0.125), ("1234.567", 1234.567), ("1e3", 1000.0),
    ("-5", -5.0), (1.235, 1.235), (1200, 1200.0), (np.float64(7.5), 7.5),
])
def test_parse_amount_reads_unambiguous_numbers(cell, value):
    from coverage.validate import parse_amount

    assert parse_amount(cell) == (value, None)


@pytest.mark.parametrize(("cell", "why"), [
    ("1.200", "ambiguous"), ("12.500", "ambiguous"), ("12,5", "ambiguous"),
    ("1,2345", "ambiguous"), ("1 200", "not a number"), ("很多", "not a number"),
    ("1e308", "not a plausible number"), ("1e309", "not a plausible number"),
    ("inf", "not a plausible number"), (1e308, "not a plausible number"),
])
def test_parse_amount_refuses_ambiguous_and_absurd_text(cell, why):
    from coverage.validate import parse_amount

    value, reason = parse_amount(cell)
    assert np.isnan(value) and why in reason


def test_parse_amount_empty_is_unknown_not_wrong():
    from coverage.validate import parse_amount

    for cell in ("", "  ", None, float("nan")):
        value, reason = parse_amount(cell)
        assert np.isnan(value) and reason is None


def test_group_problems_reports_one_problem_in_many_rows_once():
    from coverage.errors import format_rows
    from coverage.validate import group_problems

    same = [Problem("c.geojson", r, "unit", "unknown unit '清河街道'", "fix") for r in range(1, 33)]
    other = Problem("c.geojson", 40, "unit", "unknown unit 'x'", "fix")
    whole = Problem("c.geojson", None, "geometry", "none", "fix")
    out = group_problems([*same[:10], whole, other, *same[10:]])
    assert len(out) == 3
    assert out[0].rows == tuple(range(1, 33)) and out[0].row == 1
    assert str(out[0]).startswith("c.geojson, rows 1–32, field 'unit': unknown unit '清河街道'")
    assert out[1] is whole and out[2] is other
    assert format_rows([7, 1, 2, 3, 9, 10]) == "rows 1–3, 7, 9–10"
    assert format_rows([4]) == "row 4"


def test_repeated_unknown_unit_is_one_message(tmp_path):
    comp = COMPOUNDS.copy()
    comp["unit"] = ["清河街道", "清河街道", "东区", ""]
    (p,) = problems_of(make_area(tmp_path, compounds=comp))
    assert p.rows == (1, 2) and "unknown unit '清河街道'" in p.problem


TOWNSHIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "boundaries" / \
    "beijing_townships.gpkg"


@pytest.mark.skipif(not TOWNSHIPS.exists(), reason="needs ../shared/data (township layer)")
def test_units_picked_from_the_city_wide_township_layer():
    from coverage.io import read_table
    from coverage.validate import parse_boundaries

    table = read_table(TOWNSHIPS)
    units, ps = parse_boundaries(table, file="t.gpkg", crs=CRS, name_field="乡",
                                 names=["回龙观镇", "东小口镇"])
    assert ps == [] and units["name"].tolist() == ["东小口镇", "回龙观镇"]  # file order
    assert units.crs == CRS and (units.area > 1e6).all()
    _, ps = parse_boundaries(table, file="t.gpkg", crs=CRS, name_field="乡",
                             names=["回龙观", "霍营街道", "清河"])
    (p,) = ps
    assert p.field == "乡" and "no unit named '回龙观', '清河'" in p.problem
    assert "回龙观 -> 回龙观镇" in p.fix


def test_boundaries_name_field_and_names_in_the_config(tmp_path):
    units = UNITS.rename(columns={"name": "乡"})
    units["县"] = ["甲区", "乙区"]
    extra = gpd.GeoDataFrame({"乡": ["远区"], "县": ["丙区"]},
                             geometry=[box(117.0, 41.0, 117.01, 41.01)], crs="EPSG:4326")
    layer = gpd.GeoDataFrame(gpd.pd.concat([units, extra], ignore_index=True), crs="EPSG:4326")
    comp = COMPOUNDS.copy()
    comp["unit"] = ["西区", "东区", "远区", ""]  # 远区 is in the layer but not picked
    cfg = make_area(tmp_path, compounds=comp, toml=TOML.replace(
        'network = "network.osm"',
        'network = "network.osm"\nname_field = "乡"\nnames = ["西区", "东区"]'))
    layer.to_file(tmp_path / "boundaries.geojson", driver="GeoJSON", engine="pyogrio")
    inputs = load_inputs(load_config(cfg))
    assert inputs.boundaries["name"].tolist() == ["西区", "东区"]
    c = inputs.compounds.set_index("id")
    assert c.loc["003", "unit"] == "" and not c.loc["003", "in_area"]  # another unit's


def test_units_without_compounds_warn_and_stay_in_the_summary(tmp_path, caplog):
    from coverage.metrics import unit_summary

    comp = COMPOUNDS.iloc[[0, 2, 3]].reset_index(drop=True)  # nothing in 东区
    with caplog.at_level(logging.WARNING):
        inputs = load_inputs(load_config(make_area(tmp_path, compounds=comp)))
    assert any("1 unit holds no compound: 东区" in r.getMessage() for r in caplog.records)
    c = inputs.compounds[inputs.compounds["in_area"]].copy()
    c["covered_wet_market"] = True
    cat = load_config(tmp_path / "area.toml").category("wet_market")
    s = unit_summary(c, (cat,), inputs.boundaries["name"])
    east = s[(s["unit"] == "东区") & (s["scenario"] == "existing")].iloc[0]
    assert east["compounds"] == 0 and east["population"] == 0 and np.isnan(east["coverage_pct"])
    assert s["unit"].drop_duplicates().tolist() == ["东区", "西区", "ALL"]


def test_check_study_opens_the_network_and_checks_candidates(tmp_path):
    from coverage.inputs import check_study

    toml = TOML.replace("minutes = 10\n", "minutes = 10\nnew_sites = 1\n")
    cfg = load_config(make_area(tmp_path, toml=toml))
    with pytest.raises(InputError) as ei:
        check_study(cfg)
    (p,) = ei.value.problems
    assert p.field == "candidates" and "no candidate sites" in p.problem
    assert "generate = true" in p.fix
    study = check_study(cfg, generate=True)  # generated candidates need none in advance
    assert study.network.n_nodes == 3 and len(study.inputs.facilities) == 2
    assert check_study(cfg, site_categories=[]).network.n_nodes == 3

    (tmp_path / "cand.csv").write_text(
        "id,name,category,lon,lat\nc1,a,elderly_station,116.345,40.072\n", encoding="utf-8")
    cfg = load_config(make_area(tmp_path, toml=toml,
                                extra='\n[candidates]\npath = "cand.csv"\n'))
    with pytest.raises(InputError) as ei:
        check_study(cfg)
    (p,) = ei.value.problems
    assert "category 'wet_market'" in p.problem and "no candidate site" in p.problem

    (tmp_path / "network.osm").write_text(OSM[:150], encoding="utf-8")  # truncated
    with pytest.raises(InputError) as ei:
        check_study(cfg, site_categories=[])
    assert ei.value.problems[0].file.endswith("network.osm")


def test_category_key_accepts_labels(tmp_path):
    from coverage.errors import ConfigError

    cfg = load_config(make_area(tmp_path))
    assert cfg.category_key("养老驿站") == "elderly_station"
    assert cfg.category_key("wet_market") == "wet_market"
    with pytest.raises(ConfigError, match="elderly_station"):
        cfg.category_key("超市")
