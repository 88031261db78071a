"""The results contract: a folder read back equals the run that wrote it (coverage.results)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coverage.errors import InputError
from coverage.outputs import write_coverage
from coverage.planning import select_sites
from coverage.results import read_results, results_of


@pytest.fixture(scope="module")
def written(sample_result, tmp_path_factory):
    siting = select_sites(sample_result)
    out = tmp_path_factory.mktemp("results")
    write_coverage(sample_result, out, siting)
    return results_of(sample_result, siting), read_results(out, sample_result.config)


def test_read_back_equals_memory(written):
    mem, disk = written
    assert disk.out_dir is not None and mem.out_dir is None
    for name in ("boundaries", "compounds", "facilities", "proposed", "candidates",
                 "selected_sites"):
        a, b = getattr(mem, name), getattr(disk, name)
        assert a.columns.drop("geometry").tolist() == b.columns.drop("geometry").tolist(), name
        assert len(a) == len(b), name
        assert a.crs == b.crs, name
        assert np.allclose(a.geometry.centroid.x, b.geometry.centroid.x), name
    walk = [c for c in mem.compounds.columns if c.startswith("walk_min_")]
    assert np.allclose(mem.compounds[walk].to_numpy(float), disk.compounds[walk].to_numpy(float),
                       equal_nan=True)
    pd.testing.assert_frame_equal(mem.summary.reset_index(drop=True), disk.summary,
                                  check_dtype=False)
    assert sorted(mem.isochrones) == sorted(disk.isochrones)
    assert len(mem.sites) == len(disk.sites) and len(mem.scenarios) == len(disk.scenarios)
    assert disk.has_sites and disk.has_proposed


def test_without_siting_the_optional_parts_are_none(sample_result, tmp_path):
    write_coverage(sample_result, tmp_path)
    r = read_results(tmp_path, sample_result.config)
    assert r.sites is None and r.scenarios is None and r.candidates is None
    assert not r.has_sites


def test_an_empty_folder_is_an_input_error(sample_config, tmp_path):
    with pytest.raises(InputError, match=r"coverage\.gpkg"):
        read_results(tmp_path, sample_config)
