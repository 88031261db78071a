"""The study-area config: every key good, mistyped, out of range and unknown.

Each case changes one key of a small valid config and checks either the parsed value or the
single problem it causes (the key named, what is wrong, a fix).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from coverage.config import AreaConfig, Category, load_config, parse_category
from coverage.constants import DIST_TOL_M, GATE_TOL_M, SPEED_RANGE_M_S
from coverage.errors import ConfigError
from coverage.io import toml_value

FILES = ("boundaries.geojson", "streets.osm", "facilities.csv", "proposed.csv",
         "compounds.geojson", "candidates.csv", "gates.geojson")

BASE: dict[str, Any] = {
    "area": {"name": "测试区", "crs": "EPSG:32650", "boundaries": "boundaries.geojson",
             "network": "streets.osm"},
    "walk": {"speed_m_s": 1.0},
    "category": [
        {"key": "elderly_station", "label": "养老驿站", "minutes": 15, "speed_m_s": 0.9,
         "demand": "population_60plus", "new_sites": 2},
        {"key": "wet_market", "label": "菜市场", "minutes": 10},
    ],
    "facilities": [{"path": "facilities.csv"}],
    "compounds": {"path": "compounds.geojson"},
}


def dump(raw: dict[str, Any]) -> str:
    """A config dict as TOML text (tables, arrays of tables, values)."""
    lines: list[str] = []
    for section, value in raw.items():
        tables = value if isinstance(value, list) else [value]
        if not isinstance(value, (dict, list)) or (isinstance(value, list) and (
                not value or not isinstance(value[0], dict))):
            lines.append(f"{section} = {toml_value(value)}")
            continue
        for t in tables:
            lines.append(f"[[{section}]]" if isinstance(value, list) else f"[{section}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in t.items()]
            lines.append("")
    # bare keys must come before the first table: move them up
    bare = [x for x in lines if not x.startswith("[") and "=" in x and x.split(" =")[0] in raw]
    rest = [x for x in lines if x not in bare]
    return "\n".join(bare + rest) + "\n"


def write(tmp: Path, raw: dict[str, Any], *, text: str | None = None) -> Path:
    for f in FILES:
        (tmp / f).write_text("", encoding="utf-8")
    cfg = tmp / "area.toml"
    cfg.write_text(dump(raw) if text is None else text, encoding="utf-8")
    return cfg


def with_key(where: str, value: Any) -> dict[str, Any]:
    """BASE with ``section[.index].key`` set (``_DELETE`` removes it)."""
    raw = copy.deepcopy(BASE)
    section, _, key = where.partition(".")
    index = None
    if "[" in section:
        section, index_s = section.rstrip("]").split("[")
        index = int(index_s)
    table = raw.setdefault(section, [{}] if index is not None else {})
    if index is not None:
        table = table[index]
    if value is _DELETE:
        table.pop(key, None)
    else:
        table[key] = value
    return raw


class _Delete:
    def __repr__(self) -> str:  # stable test ids across xdist workers
        return "<deleted>"


_DELETE = _Delete()


def problems(tmp: Path, raw: dict[str, Any]) -> list:
    with pytest.raises(ConfigError) as ei:
        load_config(write(tmp, raw))
    return ei.value.problems


def one_problem(tmp: Path, raw: dict[str, Any], field: str, *parts: str):
    ps = problems(tmp, raw)
    assert len(ps) == 1, "\n".join(map(str, ps))
    p = ps[0]
    assert p.field == field, str(p)
    for part in parts:
        assert part in p.problem or part in p.fix, str(p)
    assert p.fix, str(p)
    return p


def test_base_config_loads(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, BASE))
    assert isinstance(cfg, AreaConfig)
    assert cfg.category_keys == ("elderly_station", "wet_market")
    es = cfg.category("elderly_station")
    assert (es.minutes, es.speed_m_s, es.demand, es.new_sites) == (
        15.0, 0.9, "population_60plus", 2)
    assert cfg.category("wet_market").speed_m_s == 1.0  # [walk] speed_m_s is the default
    assert cfg.max_walk_m == pytest.approx(810.0)
    assert (cfg.max_snap_m, cfg.max_walk_min, cfg.isochrone_buffer_m, cfg.tiles) == (
        300.0, 60.0, 50.0, 1)
    assert cfg.candidates is None and not cfg.generate_candidates and cfg.proposed == ()


# key -> (good value, attribute check) ------------------------------------------------------

GOOD: list[tuple[str, Any, Any]] = [
    ("area.name", "回天", lambda c: c.name == "回天"),
    ("area.crs", "EPSG:32651", lambda c: c.crs == "EPSG:32651"),
    ("area.isochrone_buffer_m", 30, lambda c: c.isochrone_buffer_m == 30.0),
    ("area.tiles", 4, lambda c: c.tiles == 4),
    ("area.boundaries_layer", "townships", lambda c: c.boundaries_layer == "townships"),
    ("area.name_field", "乡", lambda c: c.name_field == "乡"),
    ("area.names", ["回龙观镇", "东小口镇"], lambda c: c.unit_names == ("回龙观镇", "东小口镇")),
    ("walk.speed_m_s", 1.2, lambda c: c.speed_m_s == 1.2
     and c.category("wet_market").speed_m_s == 1.2),
    ("walk.max_snap_m", 150, lambda c: c.max_snap_m == 150.0),
    ("walk.max_walk_min", 90, lambda c: c.max_walk_min == 90.0),
    ("category[1].label_en", "Wet market", lambda c: c.category("wet_market").label_en
     == "Wet market"),
    ("category[1].minutes", 12.5, lambda c: c.category("wet_market").minutes == 12.5),
    ("category[1].speed_m_s", 0.8, lambda c: c.category("wet_market").speed_m_s == 0.8),
    ("category[1].walk_m", 500, lambda c: c.category("wet_market").walk_m == pytest.approx(500)),
    ("category[1].demand", "households", lambda c: c.category("wet_market").demand
     == "households"),
    ("category[1].new_sites", 3, lambda c: c.category("wet_market").new_sites == 3),
    ("category[1].min_floor_area_m2", 150, lambda c: c.category("wet_market").min_floor_area_m2
     == 150.0),
    ("category[1].capacity", 40, lambda c: c.category("wet_market").capacity == 40.0),
    ("category[1].weight", 2, lambda c: c.category("wet_market").weight == 2.0),
    ("category[1].osm", {"amenity": ["marketplace"], "shop": True},
     lambda c: c.category("wet_market").osm == {"amenity": ("marketplace",), "shop": True}),
    ("category[1].name_pattern", "菜市场|农贸", lambda c: c.category("wet_market").name_pattern
     == "菜市场|农贸"),
    ("category[1].source", "GB 50180-2018", lambda c: c.category("wet_market").source
     == "GB 50180-2018"),
    ("category[1].level", "10min", lambda c: c.category("wet_market").level == "10min"),
    ("category[1].group", "基本保障类", lambda c: c.category("wet_market").group == "基本保障类"),
    ("facilities[0].coords", "gcj02", lambda c: c.facilities[0].coords == "gcj02"),
    ("facilities[0].layer", "pts", lambda c: c.facilities[0].layer == "pts"),
    ("facilities[0].sheet", "Sheet2", lambda c: c.facilities[0].sheet == "Sheet2"),
    ("proposed[0].path", "proposed.csv", lambda c: c.proposed[0].path.name == "proposed.csv"),
    ("compounds.layer", "blocks", lambda c: c.compounds_layer == "blocks"),
    ("compounds.gates", "gates.geojson", lambda c: c.gates is not None
     and c.gates.name == "gates.geojson"),
    ("candidates.path", "candidates.csv", lambda c: c.candidates is not None),
    ("candidates.coords", "bd09", lambda c: c.candidates is not None
     and c.candidates.coords == "bd09"),
    ("candidates.layer", "sites", lambda c: c.candidates is not None
     and c.candidates.layer == "sites"),
    ("candidates.sheet", "候选", lambda c: c.candidates is not None
     and c.candidates.sheet == "候选"),
    ("candidates.generate", True, lambda c: c.generate_candidates is True),
    ("candidates.spacing_m", 120, lambda c: c.candidate_spacing_m == 120.0),
    ("plan.categories", ["elderly_station"],
     lambda c: c.plan is not None and c.plan.categories == ("elderly_station",)),
    ("plan.given_proposed", True, lambda c: c.plan is not None and c.plan.given_proposed),
    ("plan.time_limit_s", 30, lambda c: c.plan is not None and c.plan.time_limit_s == 30.0),
]


@pytest.mark.parametrize(("where", "value", "check"), GOOD, ids=[g[0] for g in GOOD])
def test_good_value(tmp_path: Path, where: str, value: Any, check: Any) -> None:
    raw = with_key(where, value)
    if where in ("candidates.coords", "candidates.layer", "candidates.sheet"):
        raw["candidates"]["path"] = "candidates.csv"
    assert check(load_config(write(tmp_path, raw)))


# key -> (bad value, words the message must contain) ----------------------------------------

BAD: list[tuple[str, Any, str, tuple[str, ...]]] = [
    # (where, value, field named, message parts)
    ("area.name", 5, "area.name", ("not a text value",)),
    ("area.name", " ", "area.name", ("not a text value",)),
    ("area.crs", "EPSG:4326", "area.crs", ("not a projected CRS", "EPSG:32650")),
    ("area.crs", "no such crs", "area.crs", ("not a known CRS",)),
    ("area.boundaries", "nope.geojson", "area.boundaries", ("not found",)),
    ("area.boundaries", 3, "area.boundaries", ("not a file path",)),
    ("area.network", ".", "area.network", ("is a folder",)),
    ("area.isochrone_buffer_m", "50", "area.isochrone_buffer_m", ("not a number", "50")),
    ("area.isochrone_buffer_m", -1, "area.isochrone_buffer_m", ("out of range",)),
    ("area.tiles", 2.5, "area.tiles", ("not a whole number",)),
    ("area.tiles", 0, "area.tiles", ("out of range", "between 1 and")),
    ("area.tiles", True, "area.tiles", ("not a whole number",)),
    ("area.colour", "red", "area.colour", ("unknown key", "crs")),
    ("area.boundaries_layer", 1, "area.boundaries_layer", ("not a text value",)),
    ("area.name_field", "", "area.name_field", ("not a text value",)),
    ("area.names", "回龙观镇", "area.names", ("not a list of unit names", "names = [")),
    ("area.names", ["a", 1], "area.names", ("not a list of unit names",)),
    ("area.names", ["a", "a"], "area.names", ("listed twice",)),
    ("walk.speed_m_s", 4.5, "walk.speed_m_s", ("out of range", "0.3", "3", "m/s")),
    ("walk.speed_m_s", "1.0", "walk.speed_m_s", ("not a number",)),
    ("walk.speed_m_s", 1e308, "walk.speed_m_s", ("out of range",)),
    ("walk.max_snap_m", 0, "walk.max_snap_m", ("out of range", "greater than 0")),
    ("walk.max_snap_m", [300], "walk.max_snap_m", ("not a number",)),
    ("walk.max_walk_min", 2000, "walk.max_walk_min", ("out of range", "1440")),
    ("walk.max_walk_min", 10, "category[0] (elderly_station).minutes",
     ("exceeds walk.max_walk_min",)),
    ("walk.speeed_m_s", 1.0, "walk.speeed_m_s", ("unknown key", "speed_m_s")),
    ("category[1].key", "Wet-Market", "category[1].key", ("not a valid key",)),
    ("category[1].key", "elderly_station", "category[1] (elderly_station).key",
     ("duplicate category key",)),
    ("category[1].key", _DELETE, "category[1].key", ("missing required key",)),
    ("category[1].label", 7, "category[1] (wet_market).label", ("not a text value",)),
    ("category[1].label_en", False, "category[1] (wet_market).label_en", ("not a text value",)),
    ("category[1].minutes", 0, "category[1] (wet_market).minutes", ("out of range",)),
    ("category[1].minutes", "15", "category[1] (wet_market).minutes", ("not a number",)),
    ("category[1].minutes", float("nan"), "category[1] (wet_market).minutes", ("out of range",)),
    ("category[1].speed_m_s", 0.1, "category[1] (wet_market).speed_m_s", ("out of range",)),
    ("category[1].walk_m", 5000, "category[1] (wet_market).walk_m", ("not a walking speed",)),
    ("category[1].walk_m", -5, "category[1] (wet_market).walk_m", ("out of range",)),
    ("category[1].demand", 1, "category[1] (wet_market).demand", ("not a text value",)),
    ("category[1].new_sites", -1, "category[1] (wet_market).new_sites", ("out of range",)),
    ("category[1].new_sites", 2.0, "category[1] (wet_market).new_sites",
     ("not a whole number",)),
    ("category[1].new_sites", "6", "category[1] (wet_market).new_sites",
     ("not a whole number",)),
    ("category[1].min_floor_area_m2", -5, "category[1] (wet_market).min_floor_area_m2",
     ("out of range", "at least 0")),
    ("category[1].min_floor_area_m2", "200", "category[1] (wet_market).min_floor_area_m2",
     ("not a number",)),
    ("category[1].capacity", 0, "category[1] (wet_market).capacity", ("out of range",)),
    ("category[1].capacity", "fifty", "category[1] (wet_market).capacity", ("not a number",)),
    ("category[1].weight", -1, "category[1] (wet_market).weight", ("out of range",)),
    ("category[1].weight", "x", "category[1] (wet_market).weight", ("not a number",)),
    ("category[1].osm", {}, "category[1] (wet_market).osm", ("not an OSM tag filter",)),
    ("category[1].osm", {"amenity": "marketplace"}, "category[1] (wet_market).osm",
     ("not an OSM tag filter",)),
    ("category[1].name_pattern", "(", "category[1] (wet_market).name_pattern",
     ("not a regular expression",)),
    ("category[1].source", 1, "category[1] (wet_market).source", ("not a text value",)),
    ("category[1].level", 1, "category[1] (wet_market).level", ("not a text value",)),
    ("category[1].group", 1, "category[1] (wet_market).group", ("not a text value",)),
    ("category[1].colour", "red", "category[1].colour", ("unknown key", "minutes")),
    ("facilities[0].path", "missing.csv", "facilities[0].path", ("not found",)),
    ("facilities[0].coords", "utm", "facilities[0].coords", ("unknown coordinate system",
                                                             "gcj02")),
    ("facilities[0].layer", 1, "facilities[0].layer", ("not a text value",)),
    ("facilities[0].sheet", 1, "facilities[0].sheet", ("not a text value",)),
    ("facilities[0].file", "x", "facilities[0].file", ("unknown key", "path")),
    ("proposed[0].coords", "wgs", "proposed[0].coords", ("unknown coordinate system",)),
    ("compounds.path", "nope.geojson", "compounds.path", ("not found",)),
    ("compounds.layer", 2, "compounds.layer", ("not a text value",)),
    ("compounds.gates", "nope.geojson", "compounds.gates", ("not found",)),
    ("compounds.pop", "x", "compounds.pop", ("unknown key",)),
    ("candidates.generate", "false", "candidates.generate", ("not true or false",)),
    ("candidates.generate", 1, "candidates.generate", ("not true or false",)),
    ("candidates.spacing_m", -200, "candidates.spacing_m", ("out of range",)),
    ("candidates.coords", "bd-09", "candidates.coords", ("without a candidates file",)),
    ("candidates.layer", "x", "candidates.layer", ("without a candidates file",)),
    ("candidates.path", "nope.csv", "candidates.path", ("not found",)),
    ("candidates.sheet", "x", "candidates.sheet", ("without a candidates file",)),
    ("candidates.radius", 1, "candidates.radius", ("unknown key",)),
    ("plan.categories", ["pharmacy"], "plan.categories", ("unknown category", "wet_market")),
    ("plan.categories", "elderly_station", "plan.categories", ("not a list",)),
    ("plan.categories", [], "plan.categories", ("not a list",)),
    ("plan.categories", ["wet_market"], "category (wet_market).new_sites",
     ("is 0", "new_sites = N")),
    ("plan.given_proposed", "yes", "plan.given_proposed", ("not true or false",)),
    ("plan.time_limit_s", 0, "plan.time_limit_s", ("out of range",)),
    ("plan.k", 6, "plan.k", ("unknown key", "categories")),
]


@pytest.mark.parametrize(("where", "value", "field", "parts"), BAD,
                         ids=[f"{b[0]}={b[1]!r}" for b in BAD])
def test_bad_value(tmp_path: Path, where: str, value: Any, field: str,
                   parts: tuple[str, ...]) -> None:
    if where == "proposed[0].coords":
        raw = with_key("proposed[0].path", "proposed.csv")
        raw["proposed"][0]["coords"] = value
    else:
        raw = with_key(where, value)
    one_problem(tmp_path, raw, field, *parts)


def test_every_key_has_a_good_and_a_bad_case() -> None:
    from coverage.config.sections import SECTIONS

    def name(where: str) -> str:
        section, key = where.split(".")
        section = section.split("[")[0]
        return f"{'facilities' if section == 'proposed' else section}.{key}"

    good = {name(w) for w, *_ in GOOD}
    bad = {name(w) for w, *_ in BAD}
    for s in SECTIONS.values():
        if s.name == "proposed":  # the same keys as facilities
            continue
        for key in s.required_keys | s.optional_keys:
            full = f"{s.name}.{key}"
            assert full in bad, f"no bad case for {full}"
            if key not in {"key", "label", "path", "boundaries", "network"}:
                assert full in good, f"no good case for {full}"


def test_no_plan_unless_asked_or_implied(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, BASE)).plan is None
    # a category with new sites and a capacity (or a minimum floor area) asks for the plan
    cfg = load_config(write(tmp_path, with_key("category[0].capacity", 1500)))
    assert cfg.plan is not None and cfg.plan.categories == ("elderly_station",)
    cfg = load_config(write(tmp_path, with_key("category[1].capacity", 1500)))
    assert cfg.plan is None  # wet_market places no new facility


def test_plan_refuses_a_category_of_weight_0(tmp_path: Path) -> None:
    raw = with_key("category[0].weight", 0)
    raw["plan"] = {}
    one_problem(tmp_path, raw, "category (elderly_station).weight", "is 0", "weight > 0")


def test_plan_with_nothing_to_place(tmp_path: Path) -> None:
    raw = with_key("category[0].new_sites", 0)
    raw["plan"] = {}
    one_problem(tmp_path, raw, "plan", "nothing to plan", "new_sites = N")


def test_category_walk_m_and_speed_together_are_refused(tmp_path: Path) -> None:
    raw = with_key("category[0].walk_m", 800)
    one_problem(tmp_path, raw, "category[0] (elderly_station).walk_m", "both walk_m and speed_m_s")


def test_sections_must_be_tables(tmp_path: Path) -> None:
    raw = copy.deepcopy(BASE)
    raw["area"] = "x"
    raw["walk"] = 1.0
    ps = problems(tmp_path, raw)
    by = {p.field: p for p in ps}
    assert set(by) == {"area", "walk"}, ps
    assert "not a table" in by["area"].problem and "[area]" in by["area"].fix
    assert "not a table" in by["walk"].problem


def test_missing_and_unknown_sections(tmp_path: Path) -> None:
    raw = copy.deepcopy(BASE)
    del raw["compounds"]
    raw["plans"] = {"x": 1}
    ps = problems(tmp_path, raw)
    assert {p.field for p in ps} == {"compounds", "plans"}
    assert any("missing required section" in p.problem for p in ps)
    assert any("unknown section" in p.problem for p in ps)


def test_empty_category_list(tmp_path: Path) -> None:
    raw = copy.deepcopy(BASE)
    raw["category"] = []
    one_problem(tmp_path, raw, "category", "no categories configured")


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    raw = with_key("walk.speed_m_s", 5)
    raw["area"]["tiles"] = 0
    raw["category"][1]["capacity"] = -1
    raw["candidates"] = {"generate": "yes"}
    fields = {p.field for p in problems(tmp_path, raw)}
    assert fields == {"walk.speed_m_s", "area.tiles", "category[1] (wet_market).capacity",
                      "candidates.generate"}


def test_bom_is_accepted(tmp_path: Path) -> None:
    cfg = write(tmp_path, BASE)
    cfg.write_bytes(b"\xef\xbb\xbf" + cfg.read_bytes())
    assert load_config(cfg).name == "测试区"


def test_folder_uses_its_area_toml_and_other_folders_are_refused(tmp_path: Path) -> None:
    write(tmp_path, BASE)
    assert load_config(tmp_path).source == (tmp_path / "area.toml").resolve()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=r"folder without an area\.toml"):
        load_config(empty)


def test_unreadable_configs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes("[area]\nname = '回天'\n".encode("gbk"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(bad)
    bad.write_text("[area\nname = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


# --- categories: one schema, one conversion -------------------------------------------------


def test_cutoff_and_minutes_are_inverse() -> None:
    cat = Category("x", "x", "x", 15.0, 0.9)
    assert cat.cutoff_m() == cat.walk_m == 15 * 60 * 0.9
    assert cat.cutoff_m(60) == 60 * 60 * 0.9
    assert cat.cutoff_m(10, 1.2) == 10 * 60 * 1.2
    assert cat.minutes_of(810.0) == pytest.approx(15.0)
    assert cat.minutes_of(cat.cutoff_m(37.5)) == pytest.approx(37.5)


def test_walk_m_sets_the_speed_exactly() -> None:
    for minutes, walk_m in ((15, 1000), (10, 500), (5, 300)):
        cat, ps = parse_category({"key": "k", "label": "l", "minutes": minutes,
                                  "walk_m": walk_m})
        assert ps == []
        assert cat.walk_m == walk_m


def test_parse_category_extra_required_keys() -> None:
    _, ps = parse_category({"key": "k", "label": "l", "minutes": 5}, required=("osm", "source"))
    assert {p.field for p in ps} == {"category.osm", "category.source"}


def test_category_is_hashable_and_compares_by_value() -> None:
    a, _ = parse_category({"key": "k", "label": "l", "minutes": 5, "osm": {"a": ["b"]}})
    b, _ = parse_category({"key": "k", "label": "l", "minutes": 5, "osm": {"a": ["b"]}})
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1


def test_shared_constants() -> None:
    from coverage import access, tiles

    assert SPEED_RANGE_M_S == (0.3, 3.0)
    assert tiles.GATE_TOL_M == GATE_TOL_M
    assert access.compound_access_points.__defaults__ is None  # keyword-only
    assert access.compound_access_points.__kwdefaults__["gate_tol_m"] == GATE_TOL_M
    assert DIST_TOL_M == 1e-6
