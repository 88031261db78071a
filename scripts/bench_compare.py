"""Side-by-side benchmark: this checkout against an earlier commit, runs interleaved.

This virtual machine's speed drifts (about twofold between sessions, see the speed probe in
every benchmark header), so a figure taken today cannot be set against one taken on another
day. This script measures both versions in the same time window, alternating run by run (base,
this, base, this, ...), and prints min and median of each and their ratio:

* ``run``: the whole ``circle15 run`` process on the Huitian sample (``bench_run.py``'s run).
* ``coverage-stage``: ``bench_coverage.py``'s part 2 (Beijing-wide ``analyze`` with isochrones;
  needs ``../shared/data``), its total per run.

The base commit is checked out into a temporary git worktree (removed afterwards); both use
this checkout's virtual environment, each importing its own ``coverage`` package.

Usage::

    .venv/bin/python scripts/bench_compare.py --base 24c9769 [--what run] [--runs 8]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _bench import child_env, header, min_median
from bench_run import one_run

ROOT = Path(__file__).resolve().parents[1]
TOTAL = re.compile(r"beijing 2013 whole network.*?total ([0-9.]+) / ([0-9.]+) s")


def _coverage_stage_once(tree: Path, shared: str) -> float:
    """Median total (s) of one ``bench_coverage.py`` part 2 call (3 runs inside) from ``tree``."""
    cmd = [sys.executable, str(tree / "scripts" / "bench_coverage.py"), "--skip-engine",
           "--skip-grid", "--runs", "3", "--shared", shared]
    done = subprocess.run(cmd, env=child_env(tree), check=True, capture_output=True, text=True)
    found = TOTAL.search(done.stdout)
    if found is None:
        raise SystemExit(f"no Beijing-wide figure in bench_coverage's output (is {shared} "
                         f"there?):\n{done.stdout[-2000:]}")
    return float(found.group(2))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the earlier commit (any git ref)")
    ap.add_argument("--what", choices=("run", "coverage-stage"), default="run")
    ap.add_argument("--runs", type=int, default=8, help="runs of each version (>= 3)")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args(argv)
    print(header(f"bench_compare: {args.what}, this checkout vs {args.base}"))
    with tempfile.TemporaryDirectory(prefix="circle15-compare-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base),
                        args.base], check=True, capture_output=True)
        try:
            trees = {f"base {args.base}": base, "this checkout": ROOT}
            times: dict[str, list[float]] = {label: [] for label in trees}
            work = Path(tmp) / "work"
            work.mkdir()
            sample = Path("data") / "huitian" / "area.toml"
            if args.what == "run":
                for tree in trees.values():  # untimed: writes each tree's bytecode cache
                    one_run(tree / sample, work, tree)
            for _ in range(args.runs):
                for label, tree in trees.items():
                    times[label].append(one_run(tree / sample, work, tree)[0]
                                        if args.what == "run"
                                        else _coverage_stage_once(tree, args.shared))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(base)], check=False, capture_output=True)
    unit = "whole process" if args.what == "run" else "median total of each 3-run call"
    print(f"\n{args.runs} runs of each, alternating; seconds ({unit}), min / median")
    for label, ts in times.items():
        print(f"  {label:<24} {min_median(ts)}")
    a, b = (statistics.median(ts) for ts in times.values())
    print(f"  this checkout / base (medians): {b / a:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
