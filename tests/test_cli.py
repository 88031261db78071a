"""The circle15 command as a planner runs it: exit codes, messages, outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from _subproc import cli

from coverage.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "huitian"


def test_validate_prints_counts(capsys):
    assert main(["validate", str(SAMPLE / "area.toml")]) == 0
    out = capsys.readouterr().out
    assert "回龙观街道" in out and "elderly_station" in out and "OK" in out


def test_run_writes_every_output(tmp_path):
    out = tmp_path / "out"
    maps = tmp_path / "m.html"
    p = cli("-q", "run", str(SAMPLE / "area.toml"), "--out", str(out), "--map", str(maps),
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    for name in ("inputs.gpkg", "coverage.gpkg", "compounds.csv", "summary.csv", "sites.csv",
                 "scenarios.csv", "report.html", "report.xlsx", "islands.csv",
                 "sensitivity.csv", "coverage.qgz"):
        assert (out / name).stat().st_size > 0, name
    assert maps.stat().st_size > 0
    assert "社区养老服务驿站" in p.stdout and "new sites" in p.stdout
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert {"greedy", "optimal"} <= set(sites["method"])
    assert not list(out.glob("*.tmp*")) and not list(out.glob(".*"))


def test_bad_input_exits_2_naming_file_row_field_and_fix(sample_copy, tmp_path):
    fac = sample_copy / "facilities.csv"
    lines = fac.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    lon_i, lat_i = header.index("lon"), header.index("lat")
    cells = lines[3].split(",")
    cells[lon_i], cells[lat_i] = cells[lat_i], cells[lon_i]  # data row 3: lat/lon swapped
    lines[3] = ",".join(cells)
    fac.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    p = cli("run", str(sample_copy / "area.toml"), "--out", str(out), cwd=tmp_path)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert "facilities.csv, row 3" in p.stderr and "swapped" in p.stderr
    assert "Fix:" in p.stderr
    assert not out.exists() or not any(out.iterdir())  # nothing half-written


def test_config_errors_name_the_key(sample_copy, tmp_path):
    cfg = sample_copy / "area.toml"
    text = cfg.read_text(encoding="utf-8").replace("[walk]", "[walk]\nspeeed_m_s = 1.0", 1)
    cfg.write_text(text, encoding="utf-8")
    p = cli("validate", str(cfg), cwd=tmp_path)
    assert p.returncode == 2
    assert "walk.speeed_m_s" in p.stderr and "unknown key" in p.stderr


def test_map_and_report_need_results(tmp_path):
    p = cli("map", str(SAMPLE / "area.toml"), "--out", str(tmp_path / "none"), cwd=tmp_path)
    assert p.returncode == 2 and "run `circle15 run`" in p.stderr and "Traceback" not in p.stderr


def test_sites_without_candidates_is_an_input_error(sample_copy, tmp_path):
    cfg = sample_copy / "area.toml"
    text = cfg.read_text(encoding="utf-8")
    start = text.index("[candidates]")
    end = text.find("\n[", start + 1)
    cfg.write_text(text[:start] + (text[end:] if end > 0 else ""), encoding="utf-8")
    p = cli("-q", "sites", str(cfg), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert "no candidate sites" in p.stderr and "generate" in p.stderr
    p = cli("-q", "sites", str(cfg), "--out", str(tmp_path / "o"), "--generate-candidates",
            "--category", "养老照料中心", "--k", "2", cwd=tmp_path)  # a label works as a key
    assert p.returncode == 0, p.stderr
    sites = pd.read_csv(tmp_path / "o" / "sites.csv", encoding="utf-8-sig")
    assert set(sites["category"]) == {"elderly_centre"}
    assert sites["candidate_id"].str.startswith("GEN-").all()


def test_global_options_after_the_command_progress_and_dask_logs(capsys):
    """-q and -v count after the subcommand too; without -q the inputs are read with a
    progress bar, -q hides it; Dask's INFO log (a cluster's chatter) only with -v, other
    libraries' only with -vv."""
    import logging

    assert main(["validate", str(SAMPLE)]) == 0
    assert "reading inputs" in capsys.readouterr().err
    assert logging.getLogger("distributed").level == logging.WARNING
    assert main(["validate", str(SAMPLE), "-q"]) == 0
    assert "reading inputs" not in capsys.readouterr().err
    assert main(["validate", str(SAMPLE), "-q", "-v"]) == 0
    assert logging.getLogger("distributed").level == logging.INFO
    assert logging.getLogger("pyogrio").level == logging.WARNING
    try:
        assert main(["-v", "validate", str(SAMPLE), "-q", "-v"]) == 0  # counted anywhere
        assert logging.getLogger("pyogrio").level == logging.DEBUG
    finally:
        assert main(["validate", str(SAMPLE), "-q"]) == 0  # the levels back to the default
        capsys.readouterr()


def test_the_command_ends_quickly_but_completely(tmp_path):
    """``circle15`` skips the interpreter's teardown only when nothing else runs: its output and
    log are complete, its exit code is the command's, and a thread still working keeps the
    process alive until it is done."""
    import subprocess
    import sys

    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "coverage.cli", "-v", "run",
                        "data/huitian/area.toml", "--out", str(out), "--map",
                        str(tmp_path / "map.html")], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.rstrip().splitlines()[-1].startswith("done in")
    assert "stage load:" in p.stderr.splitlines()[-1]  # the log's last line, flushed
    bad = subprocess.run([sys.executable, "-m", "coverage.cli", "-q", "run",
                          str(tmp_path / "missing.toml")], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2 and "config file not found" in bad.stderr
    # a non-daemon thread still working when the command returns: the process waits for it
    done = tmp_path / "thread-done"
    script = ("import sys, threading, time\n"
              "from coverage.cli import console_main\n"
              f"threading.Thread(target=lambda: (time.sleep(1.0), open({str(done)!r}, 'w')"
              ".close())).start()\n"
              f"sys.argv = ['circle15', '-q', 'run', {str(tmp_path / 'missing.toml')!r}]\n"
              "console_main()\n")
    p = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2 and "config file not found" in p.stderr
    assert done.exists()
    # a profiler writes its results at exit: ``python -m cProfile -o F -m coverage.cli`` keeps F
    stats = tmp_path / "run.prof"
    p = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(stats), "-m",
                        "coverage.cli", "-q", "run", str(tmp_path / "missing.toml")], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert "config file not found" in p.stderr  # (cProfile's own exit code is 0)
    assert stats.stat().st_size > 0
