#!/usr/bin/env python3
"""Benchmark: every Beijing township the 2013 network covers, serial vs a 2-worker LocalCluster.

Builds the illustrative township areas (coverage.samplegen), runs the batch ``--runs`` times
serially and ``--runs`` times on ``LocalCluster(n_workers=2, threads_per_worker=1)`` (fresh
output folders and caches every time; the cluster's start-up is not timed), checks that every
run wrote the same files with the same bytes (all of OUT: combined files, ``areas/``,
``split/``, ``.cache/``, manifest), and prints wall time (min / median), the speed-up of the
medians (target >= 1.7x), CPU seconds (user + sys) of this process and of the workers, peak
memory per process, network nodes per second per core and a paper estimate of the cost of 100
cities, with the date, the machine and the load average at the start and at the end. Wall
times need a quiet machine; the CPU seconds say where the work went even under load. Needs
``../shared/data`` (the Beijing network and township polygons; ``--shared DIR``).

Usage::

    .venv/bin/python scripts/bench_batch.py [--runs 3] [--shared ../shared/data]
        [--out /tmp/bench_batch]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "scripts"))
from _bench import header, min_median  # noqa: E402

from coverage import analyze, load_config, load_inputs  # noqa: E402
from coverage.batch import cluster_client, run_batch_file  # noqa: E402
from coverage.samplegen import build_sample, covered_units  # noqa: E402

# Paper estimate: walking-network nodes (unsimplified OSM, footways included) of a city.
CITY_NODES = {"small city (~0.2 M nodes)": 200_000, "large city (~1 M nodes)": 1_000_000,
              "megacity (~3 M nodes)": 3_000_000}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def _cpu_s() -> float:
    """CPU seconds (user + sys) of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _workers_cpu_s(client: Any) -> float:
    return sum(client.run(_cpu_s).values()) if client is not None else 0.0


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too): relative POSIX path -> SHA-256."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_batch"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    print(header("bench_batch: circle15 batch, serial vs LocalCluster", ("dask", "numpy")))
    ways = args.shared / "osm" / "beijing_osm2013_all_ways.gpkg"
    towns = gpd.read_file(args.shared / "boundaries" / "beijing_townships.gpkg")
    towns = covered_units(towns.assign(name=towns["县"] + towns["乡"]), ways)
    t0 = time.perf_counter()
    build_sample(towns, ways, args.out / "sample", name="bench")
    t_gen = time.perf_counter() - t0
    batch = args.out / "batch.toml"
    batch.write_text('[split]\nconfig = "sample/area.toml"\n', encoding="utf-8")

    rows = []
    trees: list[dict[str, str]] = []
    for mode in ("serial", "cluster"):
        client = cluster_client("local", args.workers) if mode == "cluster" else None
        walls, cpu_here, cpu_workers = [], [], []
        try:
            for run in range(args.runs):
                out = args.out / f"{mode}{run}"
                shutil.rmtree(out, ignore_errors=True)
                c0, w0 = _cpu_s(), _workers_cpu_s(client)
                t0 = time.perf_counter()
                res = run_batch_file(batch, out, client=client, progress=False)
                walls.append(time.perf_counter() - t0)
                cpu_here.append(_cpu_s() - c0)
                cpu_workers.append(_workers_cpu_s(client) - w0)
                trees.append(tree_digest(out))
            if client is not None:
                peaks = list(client.run(_peak_rss_mb).values())
            else:
                peaks = [_peak_rss_mb()]
        finally:
            if client is not None:
                client.close()
                client.cluster.close()
        ok = [o for o in res.outcomes if o.status == "ok"]
        rows.append({"mode": mode, "areas": len(ok), "failed": len(res.failed), "walls": walls,
                     "wall_s": statistics.median(walls),
                     "cpu_here": statistics.median(cpu_here),
                     "cpu_workers": statistics.median(cpu_workers),
                     "task_s": sum(o.seconds for o in ok),
                     "nodes": sum(o.nodes for o in ok),
                     "compounds": sum(o.compounds for o in ok),
                     "peak_mb": max(peaks)})
    differ = sorted({name for tr in trees[1:] for name in tr.keys() | trees[0].keys()
                     if tr.get(name) != trees[0].get(name)})
    same = not differ

    serial, cluster = rows
    print(f"{len(towns)} townships, illustrative inputs built in {t_gen:.1f} s; all "
          f"{len(trees[0])} files of OUT identical (bytes) in all {len(trees)} runs: {same}"
          + (f" (differ: {', '.join(differ[:10])})" if differ else ""))
    print(f"{'mode':<8} {'areas':>5} {'failed':>6} {'wall s min / median':>20} {'sum task s':>10} "
          f"{'CPU s here':>10} {'CPU s workers':>13} {'nodes':>9} {'compounds':>9} "
          f"{'peak MB/proc':>12}")
    for r in rows:
        print(f"{r['mode']:<8} {r['areas']:>5} {r['failed']:>6} {min_median(r['walls']):>20} "
              f"{r['task_s']:>10.1f} {r['cpu_here']:>10.1f} {r['cpu_workers']:>13.1f} "
              f"{r['nodes']:>9,} {r['compounds']:>9,} {r['peak_mb']:>12.0f}")
    print(f"speed-up with {args.workers} workers (medians): "
          f"{serial['wall_s'] / cluster['wall_s']:.2f}x (target >= 1.7x); load average at the "
          f"end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    small_rate = serial["nodes"] / serial["task_s"]
    print(f"\nmeasured, batch of small areas: {small_rate:,.0f} network nodes per second per core "
          "(whole pipeline per area)")
    # The same townships as ONE area: the rate a city-sized area runs at.
    cfg = load_config(args.out / "sample" / "area.toml")
    t0 = time.perf_counter()
    one = analyze(load_inputs(cfg), isochrones=False)
    big_s = time.perf_counter() - t0
    rate = one.network.n_nodes / big_s
    print(f"measured, all {len(towns)} townships as one area: {one.network.n_nodes:,} nodes, "
          f"{len(one.compounds):,} compounds in {big_s:.1f} s = {rate:,.0f} nodes per second per "
          "core (inputs + coverage of 12 categories x 2 scenarios, no isochrones)")
    print("paper estimate for 100 cities (time scales ~linearly with nodes at a fixed number of "
          "categories; one core per task):")
    for label, nodes in CITY_NODES.items():
        core_h = 100 * nodes / rate / 3600
        print(f"  100 x {label}: {core_h:,.1f} core-hours = {core_h / 32:,.2f} h on 32 cores")
    return 0 if same and not serial["failed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
