"""Tiled runs give exactly the untiled compounds.csv (coverage.tiles)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coverage import tiles as tiles_mod
from coverage.config import load_config
from coverage.errors import ConfigError
from coverage.inputs import load_inputs
from coverage.outputs import write_coverage
from coverage.pipeline import analyze
from coverage.tiles import analyze_tiled, grid_shape, halo_m, make_tiles

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
WAYS = SHARED / "osm" / "beijing_osm2013_all_ways.gpkg"
TOWNSHIPS = SHARED / "boundaries" / "beijing_townships.gpkg"
needs_shared = pytest.mark.skipif(
    not (WAYS.exists() and TOWNSHIPS.exists()),
    reason="../shared/data is absent (CI has it beside the repo as ../shared)")


def _write(result, out: Path) -> tuple[bytes, bytes]:
    write_coverage(result, out)
    return (out / "compounds.csv").read_bytes(), (out / "summary.csv").read_bytes()


@pytest.fixture(scope="module")
def untiled(sample_inputs, tmp_path_factory):
    return _write(analyze(sample_inputs, isochrones=False), tmp_path_factory.mktemp("untiled"))


@pytest.mark.parametrize("n", [4, 9])
def test_tiled_huitian_equals_untiled(sample_inputs, untiled, tmp_path, n):
    tiled = analyze_tiled(sample_inputs, n)
    assert len(make_tiles(sample_inputs, n)) > 1  # really split
    assert _write(tiled, tmp_path) == untiled
    assert tiled.isochrones == {}


def test_facilities_and_islands_match_untiled(sample_inputs, sample_result):
    tiled = analyze_tiled(sample_inputs, 4)
    cols = ["id", "snap_dist_m", "off_network", "on_island"]
    assert tiled.facilities[cols].equals(sample_result.facilities[cols])
    assert tiled.islands[["layer", "id"]].equals(sample_result.islands[["layer", "id"]])


def test_a_too_small_halo_changes_results(sample_inputs, untiled, tmp_path, monkeypatch):
    """The equality above is not a tautology: tiles cut too tight give other walking times."""
    monkeypatch.setattr(tiles_mod, "halo_m", lambda cfg: 400.0)
    compounds_csv, _ = _write(analyze_tiled(sample_inputs, 4), tmp_path)
    assert compounds_csv != untiled[0]


def test_halo_covers_the_longest_reported_walk(sample_config):
    # 60 min at the fastest category speed (1.0 m/s) + gate tolerance + max snap + 1 m
    assert halo_m(sample_config) == pytest.approx(3600 + 30 + 300 + 1)


def test_grid_shape_prefers_square_cells():
    assert grid_shape(4, 10, 10) == (2, 2)
    assert grid_shape(6, 30, 20) == (3, 2)
    assert grid_shape(6, 20, 30) == (2, 3)
    assert grid_shape(6, 10, 60) == (1, 6)
    assert grid_shape(5, 10, 10) in {(5, 1), (1, 5)}


def test_config_tiles_key(tmp_path):
    text = (ROOT / "data" / "huitian" / "area.toml").read_text(encoding="utf-8")
    base = ROOT / "data" / "huitian"
    text = text.replace('boundaries = "boundaries.geojson"',
                        f'boundaries = "{base / "boundaries.geojson"}"')
    for name in ("streets.osm", "facilities.csv", "proposed_2020.csv", "compounds.geojson",
                 "candidates.csv"):
        text = text.replace(f'"{name}"', f'"{base / name}"')
    good = tmp_path / "good.toml"
    good.write_text(text.replace("[area]\n", "[area]\ntiles = 4\n", 1), encoding="utf-8")
    assert load_config(good).tiles == 4
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("[area]\n", "[area]\ntiles = 0\n", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="tiles"):
        load_config(bad)


@needs_shared
def test_tiled_beijing_area_equals_untiled(tmp_path):
    """Six Haidian townships (~45 km², a .gpkg network read per tile by bounding box)."""
    import geopandas as gpd

    from coverage.samplegen import build_sample

    t = gpd.read_file(TOWNSHIPS)
    names = ["中关村街道", "海淀街道", "北太平庄街道", "花园路街道", "学院路街道", "燕园街道"]
    units = t[(t["县"] == "海淀区") & t["乡"].isin(names)].rename(columns={"乡": "name"})
    assert len(units) == len(names)
    cfg = load_config(build_sample(units, WAYS, tmp_path / "area", name="海淀 示例"))
    inputs = load_inputs(cfg)
    assert len(inputs.compounds) > 150
    untiled = _write(analyze(inputs, isochrones=False), tmp_path / "untiled")
    tiled = analyze_tiled(inputs, 6)
    assert _write(tiled, tmp_path / "tiled") == untiled
