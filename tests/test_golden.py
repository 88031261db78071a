"""Golden outputs: a whole ``circle15 run`` gives the committed bytes.

This is the refactoring guard: compounds.csv, summary.csv, sites.csv, scenarios.csv and the map's
data payload (every GeoJSON/JSON blob the page embeds) must stay byte-identical unless a change
*means* to alter them. Such a change regenerates the files with::

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

and says in its commit message what changed in the outputs and why.

Two areas: the embedded Huitian sample, and a second, generated area (two Haidian townships built
with :mod:`coverage.samplegen` from ``../shared/data``, with generated candidate sites; skipped
when ``../shared`` is absent).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from coverage.cli import main

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
SHARED = ROOT.parent / "shared" / "data"
WAYS = SHARED / "osm" / "beijing_osm2013_all_ways.gpkg"
TOWNSHIPS = SHARED / "boundaries" / "beijing_townships.gpkg"
SECOND_UNITS = ("海淀区清河街道", "海淀区西三旗街道")
CSV_FILES = ("compounds.csv", "summary.csv", "sites.csv", "scenarios.csv", "plan.csv",
             "utilisation.csv", "served.csv")
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

# Map blobs are `var circle15_data_<name> = <json>;` lines (see coverage.maps.page).
_DATA_LINE = re.compile(r"^var circle15_data_([A-Za-z0-9_]+) = (.*);$", re.M)


def map_payload(html_text: str) -> dict[str, object]:
    """Every data blob the map embeds, by name, parsed as JSON."""
    return {m.group(1): json.loads(m.group(2)) for m in _DATA_LINE.finditer(html_text)}


def _run(config: Path, out: Path) -> dict[str, bytes]:
    map_path = out / "map.html"
    assert main(["-q", "run", str(config), "--out", str(out), "--map", str(map_path)]) == 0
    files = {name: (out / name).read_bytes() for name in CSV_FILES if (out / name).exists()}
    payload = map_payload(map_path.read_text(encoding="utf-8"))
    assert payload, "the map embeds no data blob (has the map's data format changed?)"
    files["map_payload.json"] = (json.dumps(payload, ensure_ascii=False, indent=0,
                                            sort_keys=True) + "\n").encode("utf-8")
    return files


def _compare(name: str, produced: dict[str, bytes]) -> None:
    folder = GOLDEN / name
    if UPDATE:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for file, data in produced.items():
            (folder / file).write_bytes(data)
        pytest.skip(f"golden files of {name} rewritten")
    expected = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert sorted(produced) == sorted(expected), "a different set of output files"
    for file, data in expected.items():
        assert produced[file] == data, (
            f"{name}/{file} differs from the golden output; if the change is intended, "
            "rerun with UPDATE_GOLDEN=1 and explain it in the commit message")


def test_huitian_outputs_are_golden(tmp_path):
    _compare("huitian", _run(ROOT / "data" / "huitian" / "area.toml", tmp_path / "out"))


@pytest.mark.skipif(not (WAYS.exists() and TOWNSHIPS.exists()),
                    reason="../shared/data is absent (CI has it beside the repo as ../shared)")
def test_generated_area_outputs_are_golden(tmp_path):
    import geopandas as gpd

    from coverage.samplegen import build_sample

    towns = gpd.read_file(TOWNSHIPS)
    towns = towns.assign(name=towns["县"] + towns["乡"])
    units = towns[towns["name"].isin(SECOND_UNITS)]
    assert len(units) == len(SECOND_UNITS)
    config = build_sample(units, WAYS, tmp_path / "area", name="清河–西三旗（示例）")
    # Siting on generated candidates, so sites.csv and scenarios.csv are exercised too.
    text = config.read_text(encoding="utf-8")
    text = text.replace('key = "elderly_station"', 'key = "elderly_station"\nnew_sites = 3', 1)
    text += "\n[candidates]\ngenerate = true\nspacing_m = 300\n"
    config.write_text(text, encoding="utf-8")
    _compare("qinghe_xisanqi", _run(config, tmp_path / "out"))
