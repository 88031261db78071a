"""The shipped category presets: complete, cited, consistent with the standards' distances."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coverage.config import load_config
from coverage.errors import ConfigError
from coverage.fetch import render_area_toml, union_tags
from coverage.presets import (
    PRESETS,
    load_preset,
    merge_categories,
    preset_info,
    validate_category,
)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_categories_are_complete(name: str) -> None:
    cats = load_preset(name)
    assert len(cats) >= 4
    keys = [c["key"] for c in cats]
    assert len(set(keys)) == len(keys)
    for c in cats:
        assert validate_category(c) == [], c["key"]
        assert re.fullmatch(r"[a-z0-9_]+", c["key"])
        assert re.search(r"[\u4e00-\u9fff]", c["label"]), "label must be Chinese"
        assert c["label_en"] and c["source"]
        assert all(isinstance(v, list) and v for v in c["osm"].values())
    info = preset_info(name)
    assert info["name"] == name and info["title"] and info["source"]


def test_gb50180_distances_follow_table_3_0_4() -> None:
    want = {"15min": (15, 1000), "10min": (10, 500), "5min": (5, 300)}
    levels = set()
    for c in load_preset("gb50180"):
        assert (c["minutes"], c["walk_m"]) == want[c["level"]], c["key"]
        assert "GB 50180-2018" in c["source"] and "3.0.4" in c["source"]
        levels.add(c["level"])
    assert levels == set(want)
    keys = {c["key"] for c in load_preset("gb50180")}
    assert {"kindergarten", "primary_school", "health_station", "pharmacy",
            "wet_market", "bus_stop"} <= keys


def test_gb50180_splits_schools_by_name() -> None:
    cats = {c["key"]: c for c in load_preset("gb50180")}
    prim, mid = cats["primary_school"]["name_pattern"], cats["middle_school"]["name_pattern"]
    assert re.search(prim, "回龙观中心小学") and not re.search(prim, "北京市昌平区第二中学")
    assert re.search(mid, "北京市昌平区第二中学") and not re.search(mid, "回龙观中心小学")


def test_mofcom_has_both_business_type_groups() -> None:
    cats = load_preset("mofcom")
    groups = {c["group"] for c in cats}
    assert groups == {"基本保障类", "品质提升类"}
    assert all(c["minutes"] == 15 and "walk_m" not in c for c in cats)
    basic = {c["key"] for c in cats if c["group"] == "基本保障类"}
    assert {"convenience_store", "wet_market", "breakfast", "pharmacy", "repair"} <= basic


def test_beijing_elderly_matches_sample_keys_and_demand() -> None:
    cats = {c["key"]: c for c in load_preset("beijing-elderly")}
    assert set(cats) == {"elderly_station", "elderly_centre", "psych_station", "health_station"}
    assert cats["elderly_station"]["demand"] == "population_60plus"
    assert cats["elderly_centre"]["demand"] == "population_60plus"
    assert cats["health_station"].get("demand", "population") == "population"


def test_unknown_preset_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="gb50180"):
        load_preset("gb99999")


def test_load_preset_returns_fresh_copies() -> None:
    a = load_preset("gb50180")
    a[0]["osm"]["amenity"].append("bogus")
    assert "bogus" not in load_preset("gb50180")[0]["osm"]["amenity"]


def test_merge_overrides_fields_and_appends_new_keys() -> None:
    base = load_preset("gb50180")
    merged = merge_categories(base, [
        {"key": "pharmacy", "minutes": 10, "osm": {"amenity": ["pharmacy"]}},
        {"key": "toilet", "label": "公厕", "minutes": 5, "osm": {"amenity": ["toilets"]}},
    ])
    by = {c["key"]: c for c in merged}
    assert by["pharmacy"]["minutes"] == 10 and "walk_m" not in by["pharmacy"]
    assert by["pharmacy"]["osm"] == {"amenity": ["pharmacy"]}
    assert by["pharmacy"]["label"] == "药店"  # untouched fields stay
    assert merged[-1]["key"] == "toilet" and merged[-1]["label_en"] == "公厕"
    assert len(merged) == len(base) + 1


def test_validate_category_reports_problems() -> None:
    bad = {"key": "Bad-Key", "label": "x", "label_en": "x", "minutes": 0, "osm": {},
           "source": "s", "colour": "red", "name_pattern": "("}
    problems = " | ".join(validate_category(bad))
    for part in ("Bad-Key", "minutes", "osm", "colour: unknown key", "name_pattern"):
        assert part in problems


@pytest.mark.parametrize("name", PRESETS)
def test_area_toml_of_each_preset_loads(name: str, tmp_path: Path) -> None:
    for f in ("boundaries.geojson", "network.graphml", "facilities.geojson",
              "compounds.geojson"):
        (tmp_path / f).write_text("", encoding="utf-8")
    cats = load_preset(name)
    text = render_area_toml(name="测试区", crs="EPSG:32650", categories=cats, speed_m_s=1.0,
                            has_gates=False, preset=name, fetched_at="2025-01-01T00:00:00+00:00")
    (tmp_path / "area.toml").write_text(text, encoding="utf-8")
    cfg = load_config(tmp_path / "area.toml")
    assert cfg.category_keys == tuple(c["key"] for c in cats)
    for c in cats:
        want_m = c.get("walk_m", c["minutes"] * 60.0)
        assert cfg.category(c["key"]).walk_m == pytest.approx(want_m, abs=0.01)
        cat = cfg.category(c["key"])
        assert cat.osm == {k: tuple(v) for k, v in c["osm"].items()}
        assert cat.source == c["source"]


@pytest.mark.parametrize("name", PRESETS)
def test_preset_tags_build_an_overpass_query(name: str) -> None:
    from osmnx._overpass import _create_overpass_features_query

    tags = union_tags(load_preset(name))
    query = _create_overpass_features_query("40.0 116.0 40.1 116.1", tags)
    for key, values in tags.items():
        for v in values:
            assert f"['{key}'='{v}']" in query
