"""The bad-input corpus: a copy of the sample, broken one way per case, run as a planner would.

Every case in ``BAD_INPUTS`` breaks a fresh copy of ``data/huitian`` (a function of the copy's
folder) and states what the planner must read. For each case, ``validate`` and ``run``:

* exit with ``code`` (2: bad input), never a traceback;
* print every text of ``says`` (file, row, field, what, fix);
* print the *same* message (whatever ``run`` rejects on input, ``validate`` rejects first);
* leave the output folder exactly as it was (``run`` into a folder holding a planner's file).

``WARNINGS`` are inputs that are accepted with a warning (exit 0 from ``validate``); ``warns``
must appear in the log, and with ``strict`` the same input must be refused with ``says``.

To add a case: one ``Bad(...)`` line, usually built from the helpers ``edit``, ``cell``,
``features``, ``section`` and ``write`` below. Faults around the output folder (kill, lock,
full disk, read-only ``--out``) live in ``tests/test_faults.py``.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from coverage.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "huitian"

Break = Callable[[Path], None]


# --- ways to break the copy -------------------------------------------------------------------


def edit(name: str, old: str, new: str, count: int = 1) -> Break:
    """Replace text in a file of the copy (``old`` must be there)."""
    def apply(d: Path) -> None:
        text = (d / name).read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {name}"
        (d / name).write_text(text.replace(old, new, count), encoding="utf-8")
    return apply


def cell(name: str, row: int, column: str, value: str) -> Break:
    """Set one cell of a CSV of the copy (``row`` 1 = first data row), written as given."""
    def apply(d: Path) -> None:
        lines = (d / name).read_text(encoding="utf-8").splitlines()
        header = lines[0].split(",")
        cells = lines[row].split(",")
        cells[header.index(column)] = value
        lines[row] = ",".join(cells)
        (d / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return apply


def features(file: str, rows: Iterable[int], **props: object) -> Break:
    """Set properties of GeoJSON features of the copy (``rows`` 1-based)."""
    def apply(d: Path) -> None:
        data = json.loads((d / file).read_text(encoding="utf-8"))
        for r in rows:
            data["features"][r - 1]["properties"].update(props)
        (d / file).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return apply


def section(name: str, replacement: str = "") -> Break:
    """Replace a whole ``[name]`` table of area.toml (``replacement`` goes on top of the file,
    where a bare key must stand)."""
    def apply(d: Path) -> None:
        text = (d / "area.toml").read_text(encoding="utf-8")
        start = text.index(f"\n[{name}]\n")
        end = text.find("\n[", start + 1)
        text = text[:start] + (text[end:] if end > 0 else "\n")
        (d / "area.toml").write_text(replacement + "\n" + text, encoding="utf-8")
    return apply


def write(name: str, data: str | bytes) -> Break:
    def apply(d: Path) -> None:
        (d / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return apply


def sub(name: str, pattern: str, repl: str, count: int = 1) -> Break:
    """Replace a regular expression's matches in a file of the copy (it must match)."""
    def apply(d: Path) -> None:
        text = (d / name).read_text(encoding="utf-8")
        new, n = re.subn(pattern, repl, text, count=count)
        assert n, f"{pattern!r} not in {name}"
        (d / name).write_text(new, encoding="utf-8")
    return apply


def _drop_a_street_node(d: Path) -> None:
    """The first node of the first way removed (an extract cut without complete ways)."""
    text = (d / "streets.osm").read_text(encoding="utf-8")
    node = re.search(r'<nd ref="(-?\d+)"', text[text.index("<way"):]).group(1)
    sub("streets.osm", rf'\s*<node id="{node}"[^>]*/>', "")(d)


def both(*breaks: Break) -> Break:
    def apply(d: Path) -> None:
        for b in breaks:
            b(d)
    return apply


def _gbk(d: Path) -> None:
    text = (d / "facilities.csv").read_text(encoding="utf-8")
    (d / "facilities.csv").write_bytes(text.encode("gb18030"))


def _tiny_units(d: Path) -> None:
    """The units shrunk to 1 m squares on a street, compounds without a unit column: no
    compound lies in a unit (though many are within a walk of one)."""
    data = json.loads((d / "boundaries.geojson").read_text(encoding="utf-8"))
    x, y = 116.267839, 40.095770  # facility ES-001, a street front
    for i, f in enumerate(data["features"]):
        x0 = x + i * 2e-5
        ring = [[x0, y], [x0 + 1e-5, y], [x0 + 1e-5, y + 1e-5], [x0, y + 1e-5], [x0, y]]
        f["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    (d / "boundaries.geojson").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    comp = json.loads((d / "compounds.geojson").read_text(encoding="utf-8"))
    for f in comp["features"]:
        f["properties"].pop("unit")
    (d / "compounds.geojson").write_text(json.dumps(comp, ensure_ascii=False), encoding="utf-8")


def _population_as_text(d: Path) -> None:
    """Populations typed as text (as a spreadsheet export does), one of them "1.200"."""
    data = json.loads((d / "compounds.geojson").read_text(encoding="utf-8"))
    for f in data["features"]:
        f["properties"]["population"] = str(f["properties"]["population"])
    data["features"][0]["properties"]["population"] = "1.200"
    data["features"][0]["properties"]["population_60plus"] = 180
    (d / "compounds.geojson").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _all_facilities_moved(d: Path) -> None:
    """Every facility 1 degree east (a file for another city)."""
    lines = (d / "facilities.csv").read_text(encoding="utf-8").splitlines()
    i = lines[0].split(",").index("lon")
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        cells[i] = f"{float(cells[i]) + 1:.6f}"
        out.append(",".join(cells))
    (d / "facilities.csv").write_text("\n".join(out) + "\n", encoding="utf-8")


def _xlsx_with_hidden_first_sheet(d: Path) -> None:
    """proposed_2020.csv as a workbook whose hidden first sheet holds stale rows."""
    lines = [r.split(",") for r in (d / "proposed_2020.csv").read_text(
        encoding="utf-8").splitlines()]
    wb = openpyxl.Workbook()
    old = wb.active
    old.title = "2019旧表"
    old.append(lines[0])
    old.append(["OLD-1", "旧站", "elderly_station", "1", "2", "planned", "", "old"])
    old.sheet_state = "hidden"
    ws = wb.create_sheet("2020规划")
    for r in lines:
        ws.append(r)
    wb.save(d / "proposed.xlsx")
    edit("area.toml", 'path = "proposed_2020.csv"', 'path = "proposed.xlsx"')(d)


# --- the corpus ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """One broken input: how to break the copy, what the planner must read."""

    name: str
    breaks: Break
    says: tuple[str, ...]
    code: int = 2
    strict: bool = False
    one_problem: bool = False  # the message reports exactly one problem


BAD_INPUTS = [
    # the config
    Bad("area is not a table", section("area", 'area = "x"'),
        ("area.toml", "field 'area'", "not a table", "[area]")),
    Bad("walk is not a table", section("walk", "walk = 1.0"),
        ("field 'walk'", "not a table", "[walk]"), one_problem=True),
    Bad("boolean as text", edit("area.toml", 'coords = "wgs84"\n\n# The joint',
                                'coords = "wgs84"\ngenerate = "false"\n\n# The joint'),
        ("candidates.generate", "'false' is not true or false", "generate = false"),
        one_problem=True),
    Bad("speed in km/h", edit("area.toml", "[walk]\nspeed_m_s = 1.0", "[walk]\nspeed_m_s = 4.5"),
        ("walk.speed_m_s", "out of range", "3"), one_problem=True),
    Bad("misspelt key", edit("area.toml", "[walk]\n", "[walk]\nspeeed_m_s = 1.0\n"),
        ("walk.speeed_m_s", "unknown key", "speed_m_s"), one_problem=True),
    Bad("minutes as text", edit("area.toml", "minutes = 15", 'minutes = "15"'),
        ("category[0] (elderly_station).minutes", "not a number"), one_problem=True),
    Bad("negative new_sites", edit("area.toml", "new_sites = 6", "new_sites = -1"),
        ("elderly_station).new_sites", "out of range")),
    Bad("input path is a folder", edit("area.toml", 'boundaries = "boundaries.geojson"',
                                       'boundaries = "."'),
        ("area.boundaries", "is a folder"), one_problem=True),
    Bad("unknown unit names", edit("area.toml", 'network = "streets.osm"',
                                   'network = "streets.osm"\nnames = ["回龙观", "霍营街道"]'),
        ("boundaries.geojson", "field 'name'", "no unit named '回龙观'", "回龙观街道"),
        one_problem=True),
    # point files
    Bad("lat/lon swapped", both(cell("facilities.csv", 3, "lon", "40.093024"),
                                cell("facilities.csv", 3, "lat", "116.267643")),
        ("facilities.csv, row 3", "swapped", "Fix:"), one_problem=True),
    Bad("unquoted decimal comma shifts the row", cell("facilities.csv", 1, "lon", "116,267839"),
        ("facilities.csv, row 1", "9 values but the header names 8 columns", "116.2678"),
        one_problem=True),
    Bad("negative capacity", cell("facilities.csv", 2, "capacity", "-5"),
        ("facilities.csv, row 2, field 'capacity'", "negative", "demand unit"),
        one_problem=True),
    Bad("ambiguous capacity", cell("facilities.csv", 2, "capacity", "1.200"),
        ("facilities.csv, row 2, field 'capacity'", "ambiguous", "1200 or 1,200"),
        one_problem=True),
    Bad("floor area as words", cell("candidates.csv", 1, "floor_area_m2", "很大"),
        ("candidates.csv, row 1, field 'floor_area_m2'", "'很大' is not a number",
         "square metres"), one_problem=True),
    Bad("duplicate id", cell("facilities.csv", 2, "id", "ES-001"),
        ("facilities.csv, row 2, field 'id'", "duplicate id 'ES-001' (also in row 1)"),
        one_problem=True),
    Bad("empty category", cell("facilities.csv", 4, "category", ""),
        ("facilities.csv, row 4, field 'category'", "category is empty", "elderly_station"),
        one_problem=True),
    Bad("GBK text", _gbk, ("facilities.csv", "GBK/GB18030", "UTF-8"), one_problem=True),
    Bad("every facility outside the area", _all_facilities_moved,
        ("facilities.csv, field 'lon/lat'", "1076 of its 1076 points lie outside",
         "the nearest, row", "gcj02"), one_problem=True),
    Bad("strict: a point outside", cell("facilities.csv", 5, "lon", "117.5"),
        ("facilities.csv, row 5, field 'lon/lat'", "outside the study area"), strict=True,
        one_problem=True),
    Bad("strict: a category not in the config", cell("facilities.csv", 6, "category", "bank"),
        ("facilities.csv, row 6, field 'category'", "unknown category 'bank'"), strict=True,
        one_problem=True),
    # compounds and units
    Bad("population 1.200", _population_as_text,
        ("compounds.geojson, row 1, field 'population'", "ambiguous", "1.2 or 1200"),
        one_problem=True),
    Bad("population 12,5", features("compounds.geojson", [2], population="12,5"),
        ("compounds.geojson, row 2, field 'population'", "ambiguous"), one_problem=True),
    Bad("population 1e308", features("compounds.geojson", [3], population=1e308),
        ("compounds.geojson, row 3, field 'population'", "not a plausible number"),
        one_problem=True),
    Bad("one unknown unit in 32 rows", features("compounds.geojson", range(1, 33),
                                                unit="清河街道"),
        ("compounds.geojson, rows 1–32, field 'unit'", "unknown unit '清河街道'"),
        one_problem=True),
    Bad("no compound inside any unit", _tiny_units,
        ("compounds.geojson, field 'geometry'", "compounds near the units lies inside a unit",
         "same area")),
    Bad("compounds of units not picked are outside, others unknown",
        both(edit("area.toml", 'network = "streets.osm"',
                  'network = "streets.osm"\nnames = ["霍营街道", "回龙观街道"]'),
             features("compounds.geojson", [1, 2], unit="清河街道")),
        ("compounds.geojson, rows 1–2, field 'unit'", "unknown unit '清河街道'"),
        one_problem=True),
    # what the run needs beyond the files
    Bad("new sites without candidates", both(section("candidates"), section("plan")),
        ("area.toml, field 'candidates'", "no candidate sites", "generate = true"),
        one_problem=True),
    Bad("truncated street network", write("streets.osm", (SAMPLE / "streets.osm").read_bytes()
                                          [:20000]),
        ("streets.osm", "Fix:"), one_problem=True),
    Bad("network file is a web page", both(
        write("streets.graphml", "<html><body>404 Not Found</body></html>"),
        edit("area.toml", 'network = "streets.osm"', 'network = "streets.graphml"')),
        ("streets.graphml", "Fix:"), one_problem=True),
    Bad("a node's latitude is text", sub("streets.osm", r'(<node id="-?\d+" lat=")[^"]*"',
                                         r'\1abc"'),
        ("streets.osm, field 'lat'", "has lat='abc', not a number", "Fix:"), one_problem=True),
    Bad("no walkable street", sub("streets.osm", r'<tag k="highway" v="[^"]*"\s*/>',
                                  '<tag k="building" v="yes"/>', count=0),
        ("streets.osm", "holds no walkable street", "Fix:"), one_problem=True),
    Bad("ways refer to missing nodes", _drop_a_street_node,
        ("streets.osm", "the file does not hold", "complete_ways"), one_problem=True),
    Bad("OSM XML named .osm.pbf", both(
        lambda d: shutil.copy(d / "streets.osm", d / "streets.osm.pbf"),
        edit("area.toml", 'network = "streets.osm"', 'network = "streets.osm.pbf"')),
        ("streets.osm.pbf", "is OSM XML, not the binary .osm.pbf", "rename it"),
        one_problem=True),
    Bad("polygons given as the street network",
        edit("area.toml", 'network = "streets.osm"', 'network = "boundaries.geojson"'),
        ("boundaries.geojson", "Fix:"), one_problem=True),
]


@dataclass(frozen=True)
class Warned:
    """An input accepted with a warning (``validate`` exits 0)."""

    name: str
    breaks: Break
    warns: tuple[str, ...]
    says_strict: tuple[str, ...] = ()  # with --strict: refused with these texts


WARNINGS = [
    Warned("district-wide facility list",
           both(cell("facilities.csv", 5, "lon", "117.5"), cell("facilities.csv", 6, "lon",
                                                               "117.6")),
           ("facilities.csv: 2 points lie outside the study area", "dropped.csv"),
           ("facilities.csv, row 5", "outside the study area")),
    Warned("categories not in the config",
           both(cell("facilities.csv", 6, "category", "bank"),
                cell("facilities.csv", 7, "category", "elderly_statoin")),
           ("facilities.csv: 2 rows of categories not in the config", "bank (1)",
            "did you mean elderly_station?"),
           ("facilities.csv, row 6, field 'category'", "unknown category 'bank'")),
    Warned("control character in a name", cell("facilities.csv", 3, "name", "驿站\x07三号"),
           ("facilities.csv, row 3, field 'name': control characters",)),
    Warned("control character in a compound name (GeoJSON)",
           features("compounds.geojson", [2], name="小区\x07\x1b[31m二号"),
           ("compounds.geojson, row 2, field 'name': control characters",)),
    Warned("header-only proposed file", write("proposed_2020.csv",
                                              "id,name,category,lon,lat,status,capacity,source\n"),
           ("proposed_2020.csv: the file has a header but no rows",)),
    Warned("header-only facilities file",
           write("facilities.csv", (SAMPLE / "facilities.csv").read_text(
               encoding="utf-8").splitlines()[0] + "\n"),
           ("no existing facility of category elderly_station", "every compound is uncovered",
            "no existing facility of category bus_stop")),
    Warned("a category without facilities",
           edit("area.toml", "[[facilities]]", '[[category]]\nkey = "library"\nlabel = "图书馆"\n'
                "minutes = 15\n\n[[facilities]]"),
           ("no existing facility of category library",)),
    Warned("workbook with a hidden first sheet", _xlsx_with_hidden_first_sheet,
           ("proposed.xlsx: the workbook has 2 sheets", "hidden: 2019旧表", "'2020规划'")),
    Warned("a facility far from any street", cell("facilities.csv", 1, "lat", "40.0975"),
           ("facilities.csv, row 1: facility 'ES-001'", "from the nearest walkable street")),
    Warned("config with a byte-order mark",
           lambda d: (d / "area.toml").write_bytes(b"\xef\xbb\xbf" + (d / "area.toml")
                                                   .read_bytes()), ()),
]


# --- the runner ------------------------------------------------------------------------------


@pytest.fixture
def area(sample_copy: Path) -> Path:
    """The copy of the sample that a case breaks (conftest's ``sample_copy``)."""
    return sample_copy


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["-q", *args])
    return code, capsys.readouterr().err


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _problem_count(message: str) -> int:
    m = re.search(r"(\d+) input problems?:", message)
    return int(m.group(1)) if m else -1


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: c.name)
def test_bad_input_is_refused_alike_by_validate_and_run(case: Bad, area: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    case.breaks(area)
    strict = ("--strict",) if case.strict else ()
    code_v, err_v = _cli(capsys, "validate", str(area / "area.toml"), *strict)
    out = tmp_path / "out"
    out.mkdir()
    (out / "我的笔记.txt").write_text("the planner's own file", encoding="utf-8")
    before = _snapshot(out)
    code_r, err_r = _cli(capsys, "run", str(area / "area.toml"), "--out", str(out), *strict)

    for code, err in ((code_v, err_v), (code_r, err_r)):
        assert code == case.code, err
        assert "Traceback" not in err and "This is a bug" not in err, err
        for text in case.says:
            assert text in err, f"{text!r} not in:\n{err}"
    assert err_v == err_r  # validate says what run would say
    if case.one_problem:
        assert _problem_count(err_v) == 1, err_v
    assert _snapshot(out) == before  # the output folder is as it was


@pytest.mark.parametrize("case", WARNINGS, ids=lambda c: c.name)
def test_accepted_with_a_warning(case: Warned, area: Path, capsys: pytest.CaptureFixture[str],
                                 caplog: pytest.LogCaptureFixture) -> None:
    case.breaks(area)
    with caplog.at_level(logging.WARNING, logger="coverage"):
        code, err = _cli(capsys, "validate", str(area / "area.toml"))
    assert code == 0, err
    log = "\n".join(r.getMessage() for r in caplog.records)
    for text in case.warns:
        assert text in log, f"{text!r} not in:\n{log}"
    if case.says_strict:
        code, err = _cli(capsys, "validate", str(area / "area.toml"), "--strict")
        assert code == 2 and "Traceback" not in err, err
        for text in case.says_strict:
            assert text in err, f"{text!r} not in:\n{err}"


def test_dropped_rows_are_written_to_dropped_csv(area: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    both(cell("facilities.csv", 5, "lon", "117.5"), cell("facilities.csv", 6, "category",
                                                          "bank"))(area)
    out = tmp_path / "out"
    code, err = _cli(capsys, "run", str(area / "area.toml"), "--out", str(out), "--map",
                     str(tmp_path / "m.html"))
    assert code == 0, err
    d = pd.read_csv(out / "dropped.csv", encoding="utf-8-sig", dtype=str)
    assert list(d.columns) == ["file", "row", "id", "name", "category", "lon", "lat", "reason"]
    assert d["row"].tolist() == ["6", "5"]  # categories first (while parsing), then locations
    assert d["id"].tolist() == ["ES-006", "ES-005"]
    assert "bank" in d["reason"].iat[0] and "outside the study area" in d["reason"].iat[1]
