"""Faults and misuse around the output folder: never a traceback, never half a run, never two
runs mixed, never an unsafe file.

Two corpora, each easy to extend with one entry:

* ``USER_FAULTS``: command lines where the planner is at fault (exit 2, a message naming what
  and how to fix it, no traceback, nothing written);
* the fault tests below: kill -9 / SIGTERM / Ctrl-C mid-run, a full disk, a second run, results
  that no longer match, two runs byte for byte.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from _subproc import cli

from coverage.cli import main
from coverage.outputs import LOCK_NAME, MANIFEST, lock_output, read_manifest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "huitian"




def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) and its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(*folders: Path) -> list[str]:
    """Temporary files, staging folders or locks left in the folders."""
    found = []
    for folder in folders:
        if folder.is_dir():
            found += [p.name for p in folder.iterdir()
                      if ".tmp" in p.name or p.name.startswith(".run.") or p.name == LOCK_NAME]
    return found


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """One finished `circle15 run` of the sample (out folder and map), shared read-only."""
    base = tmp_path_factory.mktemp("first")
    out, map_path = base / "out", base / "maps" / "huitian.html"
    p = cli("-q", "run", str(SAMPLE / "area.toml"), "--out", str(out), "--map", str(map_path),
            cwd=base)
    assert p.returncode == 0, p.stderr
    return out, map_path


@pytest.fixture
def run_copy(first_run, tmp_path):
    """A private copy of the finished run (out folder + map)."""
    out, map_path = first_run
    dst = tmp_path / "out"
    shutil.copytree(out, dst)
    (tmp_path / "maps").mkdir()
    dst_map = tmp_path / "maps" / "huitian.html"
    shutil.copy2(map_path, dst_map)  # same layout: the manifest's "../maps/huitian.html" holds
    return dst, dst_map


# --- the planner is at fault: exit 2 before any work --------------------------------------------


@dataclass(frozen=True)
class UserFault:
    """One misuse: the arguments (``{tmp}`` is replaced by a fresh folder), a set-up, and what
    stderr must say."""

    name: str
    args: tuple[str, ...]
    says: tuple[str, ...]
    setup: Callable[[Path], None] = lambda tmp: None


def _file(name: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).write_text("not a folder", encoding="utf-8")


def _folder(name: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).mkdir()


def _read_only(name: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tmp / name).mkdir()
        (tmp / name).chmod(stat.S_IRUSR | stat.S_IXUSR)
    return setup


CFG = str(SAMPLE / "area.toml")
USER_FAULTS = [
    UserFault("negative k", ("sites", CFG, "--k", "-3", "--out", "{tmp}/o"),
              ("--k", "must be 1 or more")),
    UserFault("zero k", ("sites", CFG, "--k", "0", "--out", "{tmp}/o"), ("--k",)),
    UserFault("k not a number", ("sites", CFG, "--k", "three", "--out", "{tmp}/o"),
              ("not a whole number",)),
    UserFault("unknown --category", ("sites", CFG, "--category", "超市", "--out", "{tmp}/o"),
              ("no category '超市'", "elderly_station (社区养老服务驿站)", "Fix:")),
    UserFault("--out is a file", ("run", CFG, "--out", "{tmp}/o.txt"),
              ("o.txt", "this is a file, not a folder", "Fix:"), _file("o.txt")),
    UserFault("--out inside a file", ("analyze", CFG, "--out", "{tmp}/o.txt/sub"),
              ("is a file", "Fix:"), _file("o.txt")),
    UserFault("--out read-only", ("analyze", CFG, "--out", "{tmp}/ro"),
              ("read-only", "Fix:"), _read_only("ro")),
    UserFault("--out inside a read-only folder", ("analyze", CFG, "--out", "{tmp}/ro/new"),
              ("read-only", "Fix:"), _read_only("ro")),
    UserFault("--map is a folder", ("run", CFG, "--out", "{tmp}/o", "--map", "{tmp}/m"),
              ("this is a folder, not a file", "--map", "Fix:"), _folder("m")),
    UserFault("--map in a read-only folder", ("run", CFG, "--out", "{tmp}/o", "--map",
                                              "{tmp}/ro/m.html"),
              ("read-only", "--map"), _read_only("ro")),
    UserFault("config folder without area.toml", ("run", "{tmp}/empty", "--out", "{tmp}/o"),
              ("without an area.toml", "Fix:"), _folder("empty")),
    UserFault("batch --out is a file", ("batch", "{tmp}/b.toml", "--out", "{tmp}/o.txt"),
              ("this is a file",), _file("o.txt")),
    UserFault("batch --workers 0", ("batch", "{tmp}/b.toml", "--out", "{tmp}/o", "--workers",
                                    "0"), ("--workers",)),
]


@pytest.mark.parametrize("case", USER_FAULTS, ids=lambda c: c.name)
def test_user_faults_exit_2_before_any_work(case, tmp_path):
    case.setup(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in case.args]
    t0 = time.perf_counter()
    p = cli(*args, cwd=tmp_path)
    try:
        assert p.returncode == 2, p.stderr
        assert "Traceback" not in p.stderr
        for text in case.says:
            assert text in p.stderr, p.stderr
        assert time.perf_counter() - t0 < 20  # refused before loading anything
        assert not (tmp_path / "o").exists()  # nothing written
    finally:
        for p_ in tmp_path.rglob("*"):
            if p_.is_dir():
                p_.chmod(0o755)


def test_config_folder_uses_its_area_toml(sample_copy, tmp_path):
    p = cli("validate", str(sample_copy), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "OK" in p.stdout


# --- one writer at a time ----------------------------------------------------------------------


def test_second_run_fails_at_once_naming_the_lock(tmp_path):
    out = tmp_path / "out"
    with lock_output(out, command="circle15 run (the first)"):
        t0 = time.perf_counter()
        p = cli("analyze", str(SAMPLE / "area.toml"), "--out", str(out), cwd=tmp_path)
        assert p.returncode == 2, p.stderr
        assert time.perf_counter() - t0 < 15
        assert LOCK_NAME in p.stderr and "another circle15 process" in p.stderr
        assert f"pid {os.getpid()}" in p.stderr and "the first" in p.stderr
        assert "Traceback" not in p.stderr
    assert not out.exists()  # the lock's folder was new and is gone with the lock


# --- killed, terminated, interrupted, disk full ---------------------------------------------------


def _interruptible() -> None:
    """In the child: Ctrl-C as in a terminal. A suite started in the background by a shell
    without job control (`pytest ... &`, as CI scripts do) passes SIGINT on ignored, and
    Python then keeps ignoring it: the Ctrl-C cases would test nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_run(out: Path, map_path: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "coverage.cli", "-q", "run",
                             str(SAMPLE / "area.toml"), "--out", str(out), "--map",
                             str(map_path)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_interruptible)


def _wait_for_staging(out: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until the run has written its first file into its staging folder."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if any(p.is_file() for s in out.glob(".run.*") for p in s.iterdir()):
            return
        assert proc.poll() is None, proc.communicate(timeout=60)
        time.sleep(0.02)
    raise AssertionError("the run never started writing")


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM", "Ctrl-C"])
def test_run_killed_midway_leaves_the_folder_as_it_was(run_copy, tmp_path, how):
    out, map_path = run_copy
    before, map_before = snapshot(out), map_path.read_bytes()
    proc = _start_run(out, map_path, tmp_path)
    _wait_for_staging(out, proc)
    proc.send_signal({"kill -9": signal.SIGKILL, "SIGTERM": signal.SIGTERM,
                      "Ctrl-C": signal.SIGINT}[how])
    _, err = proc.communicate(timeout=60)
    if how == "kill -9":
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == (143 if how == "SIGTERM" else 130), err
        assert "Traceback" not in err and "the output folder is unchanged" in err
        assert leftovers(out, map_path.parent) == []  # cleaned up on the way out
    after = snapshot(out)
    assert {k: v for k, v in after.items() if not k.startswith(".")} == before
    assert map_path.read_bytes() == map_before
    assert read_manifest(out)["state"] == "complete"
    # the next run removes whatever a killed one left, and finishes normally
    p = cli("-q", "run", str(SAMPLE / "area.toml"), "--out", str(out), "--map", str(map_path),
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert leftovers(out, map_path.parent) == []
    assert sorted(snapshot(out)) == sorted(before)


def _loaded(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("library", ["libgeos", "libproj", "libgdal"])
def test_ctrl_c_during_start_up_prints_no_traceback(tmp_path, library):
    """Ctrl-C while the libraries load (the seconds before anything happens): no traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "coverage.cli", "validate",
                             str(SAMPLE / "area.toml")], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_interruptible)
    t0 = time.perf_counter()
    while not _loaded(proc.pid, library) and proc.poll() is None:
        assert time.perf_counter() - t0 < 60
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    assert proc.returncode in (0, 130), (proc.returncode, err)


def test_full_disk_exits_2_saying_so_and_changes_nothing(run_copy, monkeypatch, capsys):
    import coverage.outputs.write as outputs  # where write_coverage_files looks up write_gpkg

    out, _ = run_copy
    before = snapshot(out)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "coverage.gpkg"))

    monkeypatch.setattr(outputs, "write_gpkg", full)
    code = main(["-q", "analyze", str(SAMPLE / "area.toml"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "the disk is full" in err and "coverage.gpkg" in err and "Fix:" in err
    assert snapshot(out) == before
    assert leftovers(out) == []


# --- later commands never mix runs ---------------------------------------------------------------


def test_analyze_after_run_removes_the_old_report_and_map(run_copy, tmp_path):
    out, map_path = run_copy
    p = cli("-q", "analyze", str(SAMPLE / "area.toml"), "--out", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    names = {p.name for p in out.iterdir()}
    assert {"compounds.csv", "summary.csv", "coverage.gpkg", MANIFEST} <= names
    # the old run's sites, report and inputs are gone, and so is its map
    assert not names & {"sites.csv", "scenarios.csv", "report.html", "report.xlsx",
                        "inputs.gpkg"}
    assert not map_path.exists()
    assert "previous results" in p.stderr


def test_sites_after_run_removes_the_old_report_and_map(run_copy, tmp_path):
    """`sites` writes new sites: the old run's report, plan and map showed other sites."""
    out, map_path = run_copy
    p = cli("-q", "sites", str(SAMPLE / "area.toml"), "--out", str(out), "--k", "2",
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    names = {p.name for p in out.iterdir()}
    assert {"sites.csv", "scenarios.csv", "compounds.csv", MANIFEST} <= names
    assert not names & {"report.html", "report.xlsx", "report.pdf", "plan.csv",
                        "coverage.qgz"}
    assert not map_path.exists()
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert (sites[sites["method"] == "optimal"].groupby("category").size() == 2).all()


def test_a_run_into_a_copied_folder_keeps_the_originals_map(run_copy, tmp_path):
    """A planner copies OUT to try something: the copy's manifest names the same map, which
    belongs to the original folder, so a run into the copy must leave it alone."""
    out, map_path = run_copy
    copy = tmp_path / "out_try"
    shutil.copytree(out, copy)
    before = map_path.read_bytes()
    p = cli("-q", "analyze", str(SAMPLE / "area.toml"), "--out", str(copy), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert map_path.read_bytes() == before
    assert "kept" in p.stderr and str(map_path) in p.stderr
    assert not (copy / "report.html").exists()  # the copy's own old files are replaced
    # the original is untouched, and a run into it still removes its own stale map
    assert (out / "report.html").exists()
    p = cli("-q", "analyze", str(SAMPLE / "area.toml"), "--out", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert not map_path.exists()


def test_map_and_report_from_the_folder_rewrite_the_runs_own_bytes(run_copy, tmp_path):
    """`circle15 map` and `report` read the results back from their files (CSV: 3000.0 comes
    back as 3000) and give the map and report `run` wrote from memory, byte for byte."""
    out, map_path = run_copy
    again = tmp_path / "again.html"
    p = cli("-q", "map", str(SAMPLE / "area.toml"), "--out", str(out), "--map", str(again),
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert again.read_bytes() == map_path.read_bytes()
    names = ("report.html", "report.xlsx", "sensitivity.csv")
    before = {n: (out / n).read_bytes() for n in names}
    for n in names:
        (out / n).unlink()
    p = cli("-q", "report", str(SAMPLE / "area.toml"), "--out", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert [n for n in names if (out / n).read_bytes() != before[n]] == []


def test_files_of_the_planner_are_kept(run_copy, tmp_path):
    out, _ = run_copy
    (out / "notes.txt").write_text("我的笔记", encoding="utf-8")
    (out / "scenarios").mkdir()
    (out / "scenarios" / "a.toml").write_text("x = 1\n", encoding="utf-8")
    p = cli("-q", "analyze", str(SAMPLE / "area.toml"), "--out", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (out / "notes.txt").read_text(encoding="utf-8") == "我的笔记"
    assert (out / "scenarios" / "a.toml").exists()


def _refused(out: Path, config: Path, cwd: Path, *says: str) -> None:
    for command in ("map", "report"):
        p = cli(command, str(config), "--out", str(out), cwd=cwd)
        assert p.returncode == 2, p.stderr
        assert "Traceback" not in p.stderr
        for text in says:
            assert text in p.stderr, p.stderr


def test_map_and_report_refuse_a_truncated_compounds_csv(run_copy, tmp_path):
    out, _ = run_copy
    data = (out / "compounds.csv").read_bytes()
    (out / "compounds.csv").write_bytes(data[: len(data) // 2])
    _refused(out, SAMPLE / "area.toml", tmp_path, "compounds.csv", "changed since the run")


def test_map_and_report_refuse_results_of_another_config(run_copy, sample_copy, tmp_path):
    out, _ = run_copy
    cfg = sample_copy / "area.toml"
    text = cfg.read_text(encoding="utf-8")
    text += ('\n[[category]]\nkey = "library"\nlabel = "图书馆"\nminutes = 15\n')
    cfg.write_text(text, encoding="utf-8")
    _refused(out, cfg, tmp_path, "category 'library' was added to the config since the run")
    # a changed walking limit is refused too
    cfg.write_text(SAMPLE.joinpath("area.toml").read_text(encoding="utf-8").replace(
        "minutes = 15", "minutes = 14", 1), encoding="utf-8")
    _refused(out, cfg, tmp_path, "minutes was 15.0 in the run, is 14.0 now")


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# Everything that changes results, changed in a copy of the study area after the run: map and
# report refuse the run's results, naming the change and saying to run again.
STALE = [
    ("[plan] table", "area.toml", "[plan]\n", "[plan]\ntime_limit_s = 30\n",
     "plan.time_limit_s was 60.0 in the run, is 30.0 now"),
    ("[plan] categories", "area.toml", '"elderly_centre", "psych_station"]',
     '"elderly_centre"]', "plan.categories was"),
    ("category capacity", "area.toml", "capacity = 3000 ", "capacity = 2500 ",
     "category 'elderly_station': capacity was 3000.0 in the run, is 2500.0 now"),
    ("category min_floor_area_m2", "area.toml", "min_floor_area_m2 = 800 ",
     "min_floor_area_m2 = 700 ",
     "category 'elderly_centre': min_floor_area_m2 was 800.0 in the run, is 700.0 now"),
    ("category weight", "area.toml", 'key = "psych_station"\n',
     'key = "psych_station"\nweight = 2.0\n',
     "category 'psych_station': weight was 1.0 in the run, is 2.0 now"),
    ("candidates' floor areas", "candidates.csv", "candidate,,180,", "candidate,,120,",
     "the candidates file changed since the run"),
    ("facilities' capacities", "facilities.csv", "existing,4150,", "existing,4000,",
     "the facilities[0] file changed since the run"),
]


@pytest.mark.parametrize("case", STALE, ids=lambda c: c[0])
def test_map_and_report_refuse_results_the_config_no_longer_gives(case, run_copy, sample_copy,
                                                                 tmp_path):
    _, file, old, new, says = case
    out, _ = run_copy
    _replace(sample_copy / file, old, new)
    _refused(out, sample_copy / "area.toml", tmp_path, says, "again into this folder")


def test_map_and_report_refuse_results_of_a_changed_scenario(run_copy, tmp_path):
    from coverage.config import load_config
    from coverage.outputs import SCENARIO_FILES, seal_run

    out, _ = run_copy
    toml, sites = (out / name for name in SCENARIO_FILES)
    toml.write_text('[scenario]\nname = "a"\narea = "回天地区"\n', encoding="utf-8")
    sites.write_text('{"type": "FeatureCollection", "features": []}\n', encoding="utf-8")
    seal_run(out, load_config(SAMPLE))  # the results of this scenario, as a scenario run has
    assert read_manifest(out)["config"]["scenario"].keys() == set(SCENARIO_FILES)
    sites.write_text('{"type": "FeatureCollection", "features": [ ]}\n', encoding="utf-8")
    _refused(out, SAMPLE / "area.toml", tmp_path, "the scenario's sites.geojson changed",
             "--scenario")


def test_a_run_records_the_scenario_it_computed(sample_config, tmp_path):
    from coverage.outputs import SCENARIO_FILES, open_run

    for out, inside in ((tmp_path / "elsewhere", False), (tmp_path / "scenario", True)):
        out.mkdir()
        if inside:  # the scenario's own folder: its files are there before the run
            (out / SCENARIO_FILES[0]).write_text("[scenario]\n", encoding="utf-8")
        with open_run(out, config=sample_config) as run:
            if not inside:  # results elsewhere carry a copy of the scenario's files
                (run.dir / SCENARIO_FILES[0]).write_text("[scenario]\n", encoding="utf-8")
        recorded = read_manifest(out)["config"]["scenario"]
        assert list(recorded) == [SCENARIO_FILES[0]]
    with open_run(tmp_path / "plain", config=sample_config):
        pass
    assert read_manifest(tmp_path / "plain")["config"]["scenario"] == {}


def test_map_and_report_refuse_an_interrupted_commit(run_copy, tmp_path):
    out, _ = run_copy
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    manifest["state"] = "writing"  # what a process killed during the commit's renames leaves
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    _refused(out, SAMPLE / "area.toml", tmp_path, "interrupted")


def test_report_after_run_keeps_the_run_valid(run_copy, tmp_path):
    out, map_path = run_copy
    p = cli("-q", "report", str(SAMPLE / "area.toml"), "--out", str(out), "--lang", "en",
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    p = cli("-q", "map", str(SAMPLE / "area.toml"), "--out", str(out), "--map", str(map_path),
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    manifest = read_manifest(out)
    assert manifest["state"] == "complete" and "report.html" in manifest["files"]
    assert leftovers(out, map_path.parent) == []


# --- safe and reproducible files -----------------------------------------------------------------


def test_hostile_names_never_become_formulas_in_any_csv(sample_copy, tmp_path):
    comp = sample_copy / "compounds.geojson"
    data = json.loads(comp.read_text(encoding="utf-8"))
    hostile = ["=cmd|' /C calc'!A0", "+1+2", "-1+2", "@SUM(A1)", "=HYPERLINK(\"x\")"]
    for feature, name in zip(data["features"], hostile, strict=False):
        feature["properties"]["name"] = name
    comp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    cand = sample_copy / "candidates.csv"
    table = pd.read_csv(cand, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    table.loc[0, "name"] = "=1+1"
    table.to_csv(cand, index=False, encoding="utf-8")
    out = tmp_path / "out"
    p = cli("-q", "sites", str(sample_copy / "area.toml"), "--out", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    for csv_file in out.glob("*.csv"):
        cells = pd.read_csv(csv_file, dtype=str, keep_default_na=False,
                            encoding="utf-8-sig").to_numpy().ravel()
        assert not [c for c in cells if c[:1] in ("=", "+", "@")], csv_file.name
        assert not [c for c in cells if c[:1] == "-" and not c.lstrip("-").replace(
            ".", "", 1).isdigit()], csv_file.name
    names = pd.read_csv(out / "compounds.csv", dtype=str, encoding="utf-8-sig")["name"]
    assert set("'" + h for h in hostile) <= set(names)  # readable: the text after the '


def test_two_runs_give_the_same_bytes(first_run, tmp_path):
    out1, map1 = first_run
    out2, map2 = tmp_path / "out", tmp_path / "maps" / "huitian.html"
    p = cli("-q", "run", str(SAMPLE / "area.toml"), "--out", str(out2), "--map", str(map2),
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    one, two = snapshot(out1), snapshot(out2)
    assert sorted(one) == sorted(two)
    differ = sorted(name for name in one if one[name] != two[name])
    assert map1.read_bytes() == map2.read_bytes(), "the map differs between two runs"
    assert differ == [], f"differ between two runs: {differ}"


# --- batches ------------------------------------------------------------------------------------


def _fake_area_results(folder: Path, unit: str) -> Path:
    """A minimal finished area: its unit polygon and one summary row."""
    import geopandas as gpd
    from shapely.geometry import box

    folder.mkdir(parents=True)
    gpd.GeoDataFrame({"name": [unit]}, geometry=[box(442000, 4435000, 443000, 4436000)],
                     crs="EPSG:32650").to_file(folder / "coverage.gpkg", layer="boundaries")
    pd.DataFrame([{"unit": unit, "category": "wet_market", "scenario": "existing",
                   "compounds": 3, "compounds_uncovered": 1, "population": 900,
                   "population_covered": 600, "coverage_pct": 66.67}]).to_csv(
        folder / "summary.csv", index=False, encoding="utf-8-sig")
    return folder


def test_batch_rerun_drops_the_results_of_an_area_that_now_fails(tmp_path):
    from coverage.batch import AreaOutcome, run_batch_file

    batch = tmp_path / "batch.toml"
    batch.write_text('[[area]]\nconfig = "a/area.toml"\nname = "甲"\n'
                     '[[area]]\nconfig = "b/area.toml"\nname = "乙"\n', encoding="utf-8")
    results = {"甲": _fake_area_results(tmp_path / "res_a", "甲街道"),
               "乙": _fake_area_results(tmp_path / "res_b", "乙街道")}
    failing: set[str] = set()

    def runner(job, cache_root):
        if job.name in failing:
            return AreaOutcome(name=job.name, slug=job.slug, status="error",
                               error="1 input problem:\n  facilities.csv, row 2: bad")
        return AreaOutcome(name=job.name, slug=job.slug, status="ok",
                           results=str(results[job.name]))

    out = tmp_path / "out"
    res = run_batch_file(batch, out, runner=runner, progress=False)
    assert not res.failed and (out / "areas" / "002-乙" / "summary.csv").exists()
    stale = out / ".cache" / ".0a1b2c3d.0123abcd.tmp"  # an area task killed with kill -9
    stale.mkdir(parents=True)
    (stale / "summary.csv").write_text("half", encoding="utf-8")
    failing.add("乙")
    res = run_batch_file(batch, out, runner=runner, progress=False)
    assert not stale.exists()  # the next batch removes it
    assert [o.name for o in res.failed] == ["乙"]
    assert not (out / "areas" / "002-乙").exists()  # its old results are gone
    assert (out / "areas" / "001-甲" / "summary.csv").exists()
    import geopandas as gpd

    units = gpd.read_file(out / "batch_coverage.gpkg", layer="units")
    assert list(units["area"]) == ["甲"]
    summary = pd.read_csv(out / "batch_summary.csv", encoding="utf-8-sig")
    assert summary.loc[summary["area"] == "乙", "status"].tolist() == ["error"]
    failing.add("甲")  # nothing left to map: the combined map and GeoPackage go too
    run_batch_file(batch, out, runner=runner, progress=False)
    assert not (out / "batch_coverage.gpkg").exists() and not (out / "areas").exists()
    assert leftovers(out, out / ".cache") == []


def test_rows_left_out_of_a_district_wide_list_are_written_to_dropped_csv(sample_copy, tmp_path):
    fac = sample_copy / "facilities.csv"
    header = fac.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    row = dict.fromkeys(header, "")
    row.update({"id": "FAR-1", "name": "=远处驿站", "category": "elderly_station",
                "lon": "116.900000", "lat": "40.070000", "status": "existing"})
    with open(fac, "a", encoding="utf-8") as fh:
        fh.write(",".join(row[c] for c in header) + "\n")
    out = tmp_path / "out"
    p = cli("-q", "analyze", str(sample_copy), "--out", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    dropped = pd.read_csv(out / "dropped.csv", dtype=str, encoding="utf-8-sig")
    assert dropped["id"].tolist() == ["FAR-1"]
    assert dropped["name"].tolist() == ["'=远处驿站"]  # formula-safe like every CSV
    assert "outside the study area" in dropped["reason"].iat[0]
    assert "dropped.csv" in read_manifest(out)["files"]
    # a later run without such rows leaves no stale dropped.csv
    shutil.copy2(SAMPLE / "facilities.csv", fac)
    p = cli("-q", "analyze", str(sample_copy), "--out", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert not (out / "dropped.csv").exists()
