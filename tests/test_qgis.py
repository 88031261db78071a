"""coverage.qgis: styles in coverage.gpkg and coverage.qgz, opened by a real QGIS.

PyQGIS lives in Debian's python3-qgis under /usr/bin/python3 (not the venv), so the check runs
there as a subprocess (tests/qgis_check.py) with QT_QPA_PLATFORM=offscreen. Outside CI the test
is skipped when QGIS is absent; in CI (``CI=true``) that is a failure (`make system-deps`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import zipfile
from pathlib import Path

import pytest

from coverage import style
from coverage.outputs import write_coverage
from coverage.planning import select_sites
from coverage.qgis import write_qgis
from coverage.results import read_results

SYSTEM_PYTHON = "/usr/bin/python3"
CHECK = Path(__file__).with_name("qgis_check.py")


def _has_qgis() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True,
                           timeout=120)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def project(sample_result, tmp_path_factory):
    out = tmp_path_factory.mktemp("qgis") / "out"
    write_coverage(sample_result, out, select_sites(sample_result))
    res = read_results(out, sample_result.config)
    paths = write_qgis(res, out)
    return res, out, paths


def test_styles_and_project_files(project, tmp_path):
    res, out, paths = project
    assert [p.name for p in paths] == ["coverage.gpkg", "coverage.qgz"]
    con = sqlite3.connect(out / "coverage.gpkg")
    rows = con.execute("SELECT f_table_name, styleName, useAsDefault, styleQML FROM "
                       "layer_styles").fetchall()
    kind = con.execute("SELECT data_type FROM gpkg_contents WHERE table_name = "
                       "'layer_styles'").fetchone()
    con.close()
    assert kind == ("attributes",)
    tables = {r[0] for r in rows}
    assert {"boundaries", "compounds", "facilities", "proposed", "selected_sites",
            "candidates"} <= tables
    defaults = [r[0] for r in rows if r[2] == 1]
    assert sorted(defaults) == sorted(tables)  # exactly one default per table
    qml = {(r[0], r[1]): r[3] for r in rows}
    # colours of coverage.style: covered / not covered and the optimal ring
    elderly = qml[("compounds", "covered_elderly_station")]
    for colour in (style.COVERED_COLOUR, style.UNCOVERED_COLOUR):
        rgb = ",".join(str(int(colour[i:i + 2], 16)) for i in (1, 3, 5))
        assert f'value="{rgb},' in elderly
    def rgb(colour):
        return ",".join(str(int(colour[i:i + 2], 16)) for i in (1, 3, 5))

    assert rgb(style.OPTIMAL_COLOUR) in qml[("selected_sites", "default")]
    # ranked sites and facilities in their category's colour, as on the web map
    index = {c.key: i for i, c in enumerate(res.config.categories)}
    for key in set(res.sites["category"]):
        assert f'value="{rgb(style.category_colour(index[key]))},' in qml[("selected_sites",
                                                                          "ranked")]
        assert f'value="{rgb(style.category_colour(index[key]))},' in qml[("facilities", key)]
    with zipfile.ZipFile(out / "coverage.qgz") as z:
        qgs = z.read("coverage.qgs").decode("utf-8")
    assert "./coverage.gpkg|layername=compounds" in qgs and str(out) not in qgs
    # same results, same bytes
    first = {p.name: p.read_bytes() for p in paths}
    again = write_qgis(res, out)
    assert {p.name: p.read_bytes() for p in again} == first


def test_real_qgis_opens_the_project(project, tmp_path):
    if not _has_qgis():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("python3-qgis missing in CI: `make system-deps` must install it")
        pytest.skip("QGIS (Debian python3-qgis) not installed")
    res, out, _ = project
    # the folder moves as a whole: relative paths must still resolve
    moved = tmp_path / "moved"
    out.rename(moved)
    png = tmp_path / "qgis.png"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["QT_QPA_PLATFORM"] = "offscreen"
    proc = subprocess.run([SYSTEM_PYTHON, str(CHECK), str(moved), str(png)], capture_output=True,
                          text=True, timeout=300, env=env)
    moved.rename(out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["read"] is True and seen["crs"] == res.config.crs
    layers = seen["layers"]
    bad = {k: v for k, v in layers.items() if not v["valid"]}
    assert not bad
    vectors = {k: v for k, v in layers.items() if v["provider"] == "ogr"}
    assert all(v["renderer"] == "RuleRenderer" for v in vectors.values())
    assert all(v["features"] > 0 for k, v in vectors.items() if not k.endswith("_optimal"))
    assert layers["circle15_units"]["labels"] and layers["circle15_sites_ranked"]["labels"]
    assert layers["circle15_compounds_all"]["rules"] == len(style.ALL_CATEGORIES_CLASSES)
    assert layers["circle15_osm_basemap"]["provider"] == "wms"
    assert "type=xyz" in layers["circle15_osm_basemap"]["source"]
    assert len(vectors) + 1 == len(layers)
    groups = [g["group"] for g in seen["tree"]]
    assert groups == ["规划与选址", "现有设施（按类别）", "覆盖情况（按类别）", "参考图层"]
    names = {g["group"]: [c["layer"] for c in g["children"]] for g in seen["tree"]}
    # ranked sites (numbered) over the optimal stars, as on the web map
    assert names["规划与选址"][:3] == ["推荐站点（按增益排序）", "最优方案", "规划站点"]
    assert len(names["现有设施（按类别）"]) == len(res.config.categories)
    assert names["参考图层"][-1] == "OpenStreetMap"
    assert res.streets is not None and "步行路网" in names["参考图层"]  # the walk network
    for table in ("compounds", "boundaries", "facilities", "selected_sites"):
        assert seen["standalone"][table] == {**seen["standalone"][table], "valid": True,
                                             "renderer": "RuleRenderer"}
    assert seen["standalone"]["compounds"]["styles"] == 1 + len(res.config.categories)
    assert png.exists() and seen["rendered_layers"] >= 5
    assert seen["non_white_share"] > 0.05 and seen["n_colours"] > 50  # drawn, not blank
