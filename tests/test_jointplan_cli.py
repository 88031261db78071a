"""``circle15 plan`` and the joint plan's inputs, outputs and errors through the command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from coverage.cli import main
from coverage.config import load_config
from coverage.results import read_results


@pytest.fixture()
def area(sample_copy: Path) -> Path:
    """A copy of the sample study area (its files may be edited; conftest's ``sample_copy``)."""
    return sample_copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_plan_command_writes_the_plan_and_results_read_it_back(area, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["-q", "plan", str(area / "area.toml"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Joint plan (elderly_station 6, elderly_centre 2, psych_station 2" in text
    assert "would put two facilities into CAND-054 (elderly_station, psych_station)" in text
    for name in ("plan.csv", "utilisation.csv", "served.csv", "scenarios.csv"):
        assert (out / name).exists(), name
    res = read_results(out, load_config(area / "area.toml"))
    assert res.plan is not None
    joint = res.plan.joint_sites
    assert sorted(joint["category"].value_counts().items()) == [
        ("elderly_centre", 2), ("elderly_station", 6), ("psych_station", 2)]
    assert set(res.plan.double_booked["space_id"]) == {"CAND-054"}
    plan = pd.read_csv(out / "plan.csv", encoding="utf-8-sig", dtype={"space_id": str})
    assert list(plan.columns) == ["method", "category", "rank", "space_id", "name", "unit",
                                  "floor_area_m2", "capacity", "demand_served", "gain",
                                  "double_booked", "lon", "lat"]
    assert res.scenarios is not None
    assert {"joint_plan", "independent_plan"} <= set(res.scenarios["scenario"])
    # a later run without the plan leaves no stale plan files behind
    assert main(["-q", "analyze", str(area / "area.toml"), "--out", str(out)]) == 0
    assert not (out / "plan.csv").exists() and not (out / "utilisation.csv").exists()


def test_plan_of_one_category_from_the_command_line(area, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["-q", "plan", str(area / "area.toml"), "--out", str(out),
                 "--category", "psych_station"]) == 0
    plan = pd.read_csv(out / "plan.csv", encoding="utf-8-sig")
    assert set(plan["category"]) == {"psych_station"}
    assert "no space used twice" in capsys.readouterr().out


@pytest.mark.parametrize(("value", "words"), [
    ("大约三百", "'大约三百'"), ("-5", "'-5'")])
def test_bad_floor_area_is_refused_by_validate(area, capsys, value, words):
    _edit(area / "candidates.csv", ",candidate,,180,illustrative", f",candidate,,{value},"
          "illustrative")
    assert main(["validate", str(area / "area.toml")]) == 2
    err = capsys.readouterr().err
    assert "candidates.csv, row 1, field 'floor_area_m2'" in err and words in err
    assert "square metres" in err


def test_floor_area_missing_where_needed(area, capsys):
    text = (area / "candidates.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    head = lines[0].split(",")
    i = head.index("floor_area_m2")
    rows = [",".join(c for k, c in enumerate(line.split(",")) if k != i) for line in lines]
    (area / "candidates.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["validate", str(area / "area.toml")]) == 2
    err = capsys.readouterr().err
    assert "field 'floor_area_m2'" in err and "elderly_centre" in err
    assert "min_floor_area_m2" in err  # the fix names both ways out


def test_unknown_plan_category(area, capsys):
    _edit(area / "area.toml", 'categories = ["elderly_station", "elderly_centre", '
          '"psych_station"]', 'categories = ["elderly_station", "nursing_home"]')
    assert main(["validate", str(area / "area.toml")]) == 2
    err = capsys.readouterr().err
    assert "plan.categories" in err and "nursing_home" in err


@pytest.mark.parametrize("value", ["-3", "二十"])
def test_bad_capacity_is_refused(area, capsys, value):
    _edit(area / "facilities.csv", "elderly_station,116.267839,40.095770,existing,4150,",
          f"elderly_station,116.267839,40.095770,existing,{value},")
    assert main(["validate", str(area / "area.toml")]) == 2
    err = capsys.readouterr().err
    assert "facilities.csv, row 1, field 'capacity'" in err and f"'{value}'" in err
    assert "demand unit" in err
