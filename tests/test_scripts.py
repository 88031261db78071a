"""The planner scripts in scripts/ run on the public API and say true things."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_elderly_care_gaps(sample_result, tmp_path, capsys):
    script = _load("elderly_care_gaps")
    out = tmp_path / "gaps.csv"
    assert script.main([str(ROOT / "data" / "huitian" / "area.toml"), "--out", str(out)]) == 0
    gaps = pd.read_csv(out, encoding="utf-8-sig")
    comp = sample_result.compounds
    for key in ("elderly_station", "elderly_centre"):
        want = comp.loc[~comp[f"covered_{key}"], "population_60plus"].sum()
        assert gaps.loc[gaps["category"] == key, "population_60plus"].sum() == want
    text = capsys.readouterr().out
    assert "Optimal new sites" in text and "elderly_centre" in text
