"""Benchmark ``circle15 run``: the whole process (start-up, imports, every stage, writing),
as a planner runs it, on the Huitian sample (or another config).

Each run is a fresh ``python -m coverage.cli -v -q run CONFIG`` in a subprocess, into a
temporary output folder and map, timed from start to exit. The per-stage breakdown comes from
the run's own log lines (``stage NAME: S s``, logged at ``-v`` by the CLI for loading and by
:mod:`coverage.runall` for the others); "start-up and the rest" is the process time outside the
stages (interpreter start, imports, argument parsing, committing the run). Prints min and median
over ``--runs`` (>= 3) runs.

The runs use Python's bytecode cache as a planner's machine does: the child runs without
``PYTHONDONTWRITEBYTECODE`` (some shells set it), and one untimed run first writes the cache for
the current code (its time is printed apart: the first run after an install or a change also
compiles the package's modules).

Target (issue 14): <= 2.5 s for the whole process on the Huitian sample.

Usage::

    .venv/bin/python scripts/bench_run.py [--config data/huitian/area.toml] [--runs 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench import child_env, header, min_median

ROOT = Path(__file__).resolve().parents[1]
STAGE_LINE = re.compile(r"stage (?P<name>[^:]+): (?P<s>[0-9.]+) s")


def one_run(config: Path, work: Path, tree: Path = ROOT) -> tuple[float, dict[str, float]]:
    """Wall time of one whole ``circle15 run`` process and its stages' times (seconds), with the
    ``coverage`` package of ``tree`` (a checkout; default this one)."""
    cmd = [sys.executable, "-m", "coverage.cli", "-v", "-q", "run", str(config), "--out",
           str(work / "out"), "--map", str(work / "map.html")]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tree, env=child_env(tree), capture_output=True, text=True,
                          timeout=900)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"circle15 run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    stages = {m["name"]: float(m["s"]) for m in STAGE_LINE.finditer(proc.stderr)}
    return wall, stages


def _serial_s(stages: dict[str, float]) -> float:
    """The stages' share of the wall time. The files thread (coverage.runall) writes inputs.gpkg
    while coverage, siting and the joint plan are computed, and the result files while the map
    and the report are built: of each pair, only the longer counts."""
    def total(*names: str) -> float:
        return sum(stages.get(n, 0.0) for n in names)

    computed, drawn = ("coverage", "siting", "joint plan"), ("map", "report")
    paired = {*computed, *drawn, "inputs.gpkg", "result files"}
    alone = sum(s for name, s in stages.items() if name not in paired)
    return (alone + max(total(*computed), total("inputs.gpkg"))
            + max(total(*drawn), total("result files")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "data" / "huitian" / "area.toml")
    parser.add_argument("--runs", type=int, default=3, help="runs (>= 3)")
    args = parser.parse_args(argv)
    runs = max(3, args.runs)
    print(header(f"circle15 run {args.config} (whole process, {runs} runs)"))
    walls: list[float] = []
    stages: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_run_") as tmp:
        first, _ = one_run(args.config.resolve(), Path(tmp))
        print(f"untimed first run (writes the bytecode cache if missing): {first:.2f} s")
        for _ in range(runs):
            wall, seen = one_run(args.config.resolve(), Path(tmp))
            walls.append(wall)
            for name, s in seen.items():
                stages.setdefault(name, []).append(s)
            stages.setdefault("start-up and the rest", []).append(wall - _serial_s(seen))
    print(f"\n{'step':<28} {'min / median (s)':>18}   (on a second thread: inputs.gpkg beside "
          "the computation, result files beside map and report)")
    for name, times in sorted(stages.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"{name:<28} {min_median(times):>18}")
    print(f"{'whole process':<28} {min_median(walls):>18}   (target <= 2.5 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
