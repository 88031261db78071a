"""Batches of study areas (coverage.batch): serial == Dask cluster, failures, cache, lost workers.

Uses illustrative areas built from the 2013 Beijing network and township polygons in
../shared/data (skipped when absent). The cluster is a LocalCluster of 2 worker processes on
127.0.0.1.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from coverage.batch import (
    SUMMARY_COLUMNS,
    AreaJob,
    AreaOutcome,
    area_jobs,
    run_area,
    run_batch_file,
    split_areas,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
WAYS = SHARED / "osm" / "beijing_osm2013_all_ways.gpkg"
TOWNSHIPS = SHARED / "boundaries" / "beijing_townships.gpkg"
N_AREAS = 20
KILLED = 3  # index of the area whose first attempt kills its worker

pytestmark = pytest.mark.skipif(
    not (WAYS.exists() and TOWNSHIPS.exists()),
    reason="../shared/data is absent (CI has it beside the repo as ../shared)")


def kill_first_attempt(job: AreaJob, cache_root: Path, *, victim: str,
                       marker: str) -> AreaOutcome:
    """A task that kills its worker process the first time it runs ``victim``."""
    if job.name == victim and not os.path.exists(marker):
        Path(marker).write_text("killed once\n")
        os._exit(1)
    return run_area(job, cache_root)


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory) -> Path:
    """20 small illustrative townships + one with a broken facilities file, as [[area]]s."""
    import geopandas as gpd

    from coverage.samplegen import build_sample, covered_units

    root = tmp_path_factory.mktemp("batch")
    t = gpd.read_file(TOWNSHIPS)
    t = t.assign(name=t["县"] + t["乡"])
    t = covered_units(t, WAYS)
    small = t.assign(a=t.to_crs(32650).area).nsmallest(N_AREAS, "a")
    build_sample(small, WAYS, root / "city", name="北京 示例")
    configs = split_areas({"config": "city/area.toml"}, root, root / "prep")
    assert len(configs) == N_AREAS
    broken = root / "broken"
    broken.mkdir()
    src = configs[0][1].parent
    for f in src.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    text = (broken / "facilities1.csv").read_text(encoding="utf-8-sig").splitlines()
    cells = text[1].split(",")
    cells[3] = "not-a-longitude"
    text[1] = ",".join(cells)
    (broken / "facilities1.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    lines = ['[batch]\nname = "test"\n']
    for i, (name, cfg) in enumerate(configs):
        lines.append(f'[[area]]\nconfig = "{cfg}"\nname = "{name}"\n')
        if i == 5:
            lines.append(f'[[area]]\nconfig = "{broken / "area.toml"}"\nname = "BROKEN"\n')
    (root / "batch.toml").write_text("\n".join(lines), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def serial(batch_dir):
    return run_batch_file(batch_dir / "batch.toml", batch_dir / "serial", progress=False)


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("distributed")
    import cloudpickle

    from coverage.batch import cluster_client

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    c = cluster_client("local", 2)
    yield c
    c.close()
    c.cluster.close()


def test_two_local_clusters_at_once_share_no_port_and_warn_nothing(client):
    import warnings

    from coverage.batch import cluster_client

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Dask warns when its HTTP port is taken
        other = cluster_client("local", 1)
    try:
        servers = [c.cluster.scheduler.services["dashboard"] for c in (client, other)]
        assert [s.address for s in servers] == ["127.0.0.1", "127.0.0.1"]
        assert servers[0].port != servers[1].port
        assert other.submit(sum, [1, 2], pure=False).result() == 3
    finally:
        other.close()
        other.cluster.close()


def test_serial_batch_reports_the_broken_area_and_finishes_the_rest(serial, batch_dir):
    by_name = {o.name: o for o in serial.outcomes}
    assert len(by_name) == N_AREAS + 1
    bad = by_name.pop("BROKEN")
    assert bad.status == "error" and "facilities1.csv" in bad.error and "lon" in bad.error
    assert all(o.status == "ok" for o in by_name.values())
    summary = pd.read_csv(batch_dir / "serial" / "batch_summary.csv", encoding="utf-8-sig")
    assert list(summary.columns) == SUMMARY_COLUMNS
    row = summary[summary["area"] == "BROKEN"]
    assert len(row) == 1 and row["status"].iat[0] == "error"
    assert "not-a-longitude" in row["error"].iat[0] or "lon" in row["error"].iat[0]
    ok = summary[summary["status"] == "ok"]
    assert set(ok["area"]) == set(by_name)
    # the combined summary is each area's own summary.csv
    one = serial.outcomes[0]
    own = pd.read_csv(batch_dir / "serial" / "areas" / one.slug / "summary.csv",
                      encoding="utf-8-sig")
    mine = ok[ok["area"] == one.name].reset_index(drop=True)
    assert mine["coverage_pct"].equals(own["coverage_pct"])
    # one unit per area in the combined layer, with a coverage column per category
    assert len(serial.units) == N_AREAS
    assert "coverage_pct_elderly_station" in serial.units.columns
    html = (batch_dir / "serial" / "batch_map.html").read_text(encoding="utf-8")
    assert "cdn.jsdelivr" not in html and "L.geoJSON" in html
    # the overview map: Chinese by default, categories by their names, one radio per category
    assert '<html lang="zh">' in html and "各单元覆盖率" in html
    assert '"label":"社区养老服务驿站"' in html


def test_split_on_the_cluster_writes_the_same_files(batch_dir, client, tmp_path):
    serial = split_areas({"config": "city/area.toml"}, batch_dir, batch_dir / "prep")
    spread = split_areas({"config": "city/area.toml"}, batch_dir, tmp_path, client=client)
    assert [n for n, _ in spread] == [n for n, _ in serial]
    for (_, a), (_, b) in zip(serial, spread, strict=True):
        files = sorted(p.name for p in a.parent.iterdir())
        assert files == sorted(p.name for p in b.parent.iterdir())
        for name in files:
            assert (a.parent / name).read_bytes() == (b.parent / name).read_bytes(), name


def test_split_input_error_on_the_cluster_is_the_serial_one(batch_dir, client, tmp_path):
    from coverage.errors import InputError

    city = tmp_path / "city"
    city.mkdir()
    for f in (batch_dir / "city").iterdir():
        (city / f.name).write_bytes(f.read_bytes())
    # compounds given as a point table: read on a worker, reported as on the client
    toml = (city / "area.toml").read_text(encoding="utf-8")
    (city / "area.toml").write_text(toml.replace('"compounds.geojson"', '"facilities.csv"'),
                                    encoding="utf-8")
    with pytest.raises(InputError) as serial_error:
        split_areas({"config": "city/area.toml"}, tmp_path, tmp_path / "s")
    with pytest.raises(InputError) as cluster_error:
        split_areas({"config": "city/area.toml"}, tmp_path, tmp_path / "c", client=client)
    assert "compounds are not polygons" in str(serial_error.value)
    assert str(cluster_error.value) == str(serial_error.value)


def test_cluster_equals_serial_despite_a_killed_worker(serial, batch_dir, client, tmp_path):
    marker = tmp_path / "killed.txt"
    victim = serial.outcomes[KILLED].name
    runner = functools.partial(kill_first_attempt, victim=victim, marker=str(marker))
    res = run_batch_file(batch_dir / "batch.toml", batch_dir / "cluster", client=client,
                         progress=False, runner=runner)
    assert marker.exists()  # the victim's first attempt really killed a worker
    assert [o.status for o in res.outcomes] == [o.status for o in serial.outcomes]
    # every file of the folder, the cache included, has the same bytes
    assert_same_tree(batch_dir / "serial", batch_dir / "cluster")


def test_split_batch_gives_the_same_bytes_in_any_folder_serial_or_cluster(batch_dir, client,
                                                                           tmp_path):
    names = [o.name for o in area_jobs([(None, c) for c in sorted(
        (batch_dir / "prep" / "split").glob("*/area.toml"))][:3])]
    toml = tmp_path / "split.toml"
    toml.write_text(f'[split]\nconfig = "{batch_dir / "city" / "area.toml"}"\n'
                    f"names = {json.dumps(names, ensure_ascii=False)}\n", encoding="utf-8")
    run_batch_file(toml, tmp_path / "a", progress=False)
    run_batch_file(toml, tmp_path / "deeper" / "b", progress=False)
    run_batch_file(toml, tmp_path / "c", client=client, progress=False)
    areas = pd.read_csv(tmp_path / "a" / "batch_areas.csv", encoding="utf-8-sig")
    assert "seconds" not in areas.columns and len(areas) == 3
    assert all(c.startswith("split/") and c.endswith("/area.toml") for c in areas["config"])
    assert_same_tree(tmp_path / "a", tmp_path / "deeper" / "b")
    assert_same_tree(tmp_path / "a", tmp_path / "c")


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too): relative POSIX path -> bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_tree(a: Path, b: Path) -> None:
    ta, tb = tree(a), tree(b)
    assert sorted(ta) == sorted(tb)
    assert len(ta) > 10
    assert [n for n in ta if ta[n] != tb[n]] == []


def record_start(job: AreaJob, cache_root: Path, *, log: str) -> AreaOutcome:
    """A task that only notes when it started (one line per area, in start order)."""
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(job.name + "\n")
    return AreaOutcome(name=job.name, slug=job.slug, status="error", error="not run")


def pipeline_imported() -> bool:
    return "coverage.pipeline" in sys.modules and "coverage.inputs" in sys.modules


def test_one_worker_is_warmed_up_first_and_runs_the_biggest_areas_first(batch_dir, tmp_path):
    pytest.importorskip("distributed")
    import cloudpickle

    from coverage.batch import cluster_client, run_jobs
    from coverage.batch.run import warm_workers

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    configs = sorted((batch_dir / "prep" / "split").glob("*/area.toml"))
    jobs = area_jobs([(None, c) for c in configs])
    assert len({j.input_bytes for j in jobs}) > N_AREAS // 2  # sizes differ
    log = tmp_path / "started.txt"
    one = cluster_client("local", 1)
    try:
        assert not one.submit(pipeline_imported, pure=False).result()
        warm_workers(one)
        assert one.submit(pipeline_imported, pure=False).result()  # queued after the warm-up
        outcomes = run_jobs(jobs, tmp_path / "cache", client=one, progress=False,
                            runner=functools.partial(record_start, log=str(log)))
    finally:
        one.close()
        one.cluster.close()
    assert [o.name for o in outcomes] == [j.name for j in jobs]  # back in batch order
    started = log.read_text(encoding="utf-8").splitlines()
    assert started == [j.name for j in sorted(jobs, key=lambda j: -j.input_bytes)]


def test_tiles_on_the_cluster_equal_untiled(client, sample_inputs, sample_result):
    from coverage.tiles import analyze_tiled

    tiled = analyze_tiled(sample_inputs, 4, client=client)
    pd.testing.assert_frame_equal(tiled.summary, sample_result.summary)
    cols = [c for c in sample_result.compounds.columns if c != "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(tiled.compounds[cols]),
                                  pd.DataFrame(sample_result.compounds[cols]))


def test_rerun_resumes_from_the_cache(serial, batch_dir):
    calls = []

    def counting(job, cache_root):
        calls.append(job.name)
        return run_area(job, cache_root)

    before = tree(batch_dir / "serial")
    again = run_batch_file(batch_dir / "batch.toml", batch_dir / "serial", progress=False,
                           runner=counting)
    assert len(calls) == N_AREAS + 1  # every area asked; the finished ones answer from the cache
    assert all(o.cached for o in again.outcomes if o.status == "ok")
    assert [o.status for o in again.outcomes] == [o.status for o in serial.outcomes]
    assert tree(batch_dir / "serial") == before  # a resumed batch writes the same bytes


def test_cache_key_follows_input_bytes(batch_dir):
    cfg = batch_dir / "prep" / "split"
    folder = sorted(cfg.iterdir())[1]
    before = area_jobs([(None, folder / "area.toml")])[0].key
    assert before == area_jobs([(None, folder / "area.toml")])[0].key
    fac = folder / "facilities1.csv"
    original = fac.read_bytes()
    try:
        fac.write_bytes(original + b"\n")
        assert area_jobs([(None, folder / "area.toml")])[0].key != before
    finally:
        fac.write_bytes(original)
    assert area_jobs([(None, folder / "area.toml")], maps=True)[0].key != before


def test_cli_entry_point_exit_code_and_split_mode(serial, batch_dir, tmp_path, capsys):
    toml = tmp_path / "split.toml"
    names = [o for o in pd.read_csv(batch_dir / "serial" / "batch_areas.csv",
                                    encoding="utf-8-sig")["area"] if o != "BROKEN"][:2]
    toml.write_text(f'[split]\nconfig = "{batch_dir / "city" / "area.toml"}"\n'
                    f"names = [{', '.join(repr(n).replace(chr(39), chr(34)) for n in names)}]\n",
                    encoding="utf-8")
    from coverage.cli import main

    assert main(["-q", "batch", str(toml), "--out", str(tmp_path / "out"), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 areas done" in out
    html = (tmp_path / "out" / "batch_map.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "coverage by unit" in html
    summary = pd.read_csv(tmp_path / "out" / "batch_summary.csv", encoding="utf-8-sig")
    assert set(summary["area"]) == set(names)
    assert main(["batch", str(batch_dir / "batch.toml"), "--out",
                 str(batch_dir / "serial"), "-q"]) == 2  # the broken area
    out = capsys.readouterr().out
    assert "FAILED BROKEN:" in out
    # every problem of the failed area is printed, not only "1 input problem"
    broken = pd.read_csv(batch_dir / "serial" / "batch_areas.csv", encoding="utf-8-sig")
    error = broken.loc[broken["area"] == "BROKEN", "error"].iloc[0]
    for line in error.splitlines():
        assert line.strip() in out


def test_audit_script_runs_on_three_townships(tmp_path):
    import subprocess

    script = Path(__file__).resolve().parents[1] / "scripts" / "audit_beijing_townships.py"
    res = subprocess.run([sys.executable, str(script), "--shared", str(SHARED), "--out",
                          str(tmp_path), "--limit", "3"], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert "3 townships done" in res.stdout
    summary = pd.read_csv(tmp_path / "results" / "batch_summary.csv", encoding="utf-8-sig")
    assert summary["area"].nunique() == 3 and (summary["status"] == "ok").all()
    assert (tmp_path / "results" / "batch_map.html").exists()
