"""Benchmark ``circle15 serve``: server time per edit against a full recompute.

For each area the workspace is loaded once; then ``--edits`` random edits (add a site on a
street, move one, delete one; random categories), ``--sliders`` slider moves (random minutes
5-30 and speed 0.6-1.4 m/s of a random category) and one optimise are sent through the
application (Starlette's in-process test client, so the time includes parsing, the lock, the
edit, the category's numbers and the JSON answer: the server's whole share of an edit). Each
run repeats the whole sequence; the script prints p50/p95 per run and min/median over runs.

Beside them: a *full recompute* of the same plan (the coverage stage, ``analyze``, from the
inputs with the plan's sites as proposed stations, on the already loaded network and without
isochrones: what each edit would cost without the workspace), and ``circle15 sites`` for the
optimised category (``select_sites``, the same exact solver).

Areas:

* ``huitian``: the embedded sample (data/huitian);
* ``beijing``: the whole 2013 Beijing network (../shared/data/osm/beijing_osm2013_all_ways.gpkg),
  every township it covers as one illustrative study area built with ``coverage.samplegen``,
  plus 500 candidate spaces on random streets (seeded). Skipped with a message without the file.

Targets (issue 10): add/move/delete <= 20 ms p95 on Huitian, <= 100 ms on Beijing-wide; a slider
<= 300 ms on Beijing-wide; optimise as fast as ``circle15 sites``.

Usage::

    .venv/bin/python scripts/bench_serve.py [--areas huitian,beijing] [--edits 200]
        [--sliders 30] [--runs 3] [--work DIR] [--seed 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy
import shapely
from pyproj import Transformer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coverage.config import load_config  # noqa: E402
from coverage.inputs import load_inputs  # noqa: E402
from coverage.pipeline import analyze  # noqa: E402
from coverage.planning import select_sites  # noqa: E402
from coverage.serve.app import create_app  # noqa: E402
from coverage.serve.scenario import scenario_inputs  # noqa: E402
from coverage.serve.workspace import Workspace  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
WAYS = SHARED / "osm" / "beijing_osm2013_all_ways.gpkg"
TOWNSHIPS = SHARED / "boundaries" / "beijing_townships.gpkg"


def beijing_area(work: Path, seed: int) -> Path | None:
    """The Beijing-wide illustrative area (built once into ``work``), with candidate spaces."""
    if not WAYS.exists() or not TOWNSHIPS.exists():
        print(f"beijing: skipped ({WAYS} or {TOWNSHIPS} not found)")
        return None
    import geopandas as gpd

    from coverage.network import read_ways
    from coverage.samplegen import build_sample, covered_units

    area = work / "beijing" / "area.toml"
    if area.exists():
        return area
    t0 = time.perf_counter()
    towns = gpd.read_file(TOWNSHIPS)
    towns = covered_units(towns.assign(name=towns["县"] + towns["乡"]), WAYS)
    build_sample(towns, WAYS, area.parent, name="北京（示例）")
    # candidate spaces: random points along the streets inside the townships
    units = shapely.union_all(towns.to_crs("EPSG:32650").geometry.to_numpy())
    ways = read_ways(WAYS, "EPSG:32650", within=units)
    lines = shapely.get_parts(ways.geometry.to_numpy())
    rng = np.random.default_rng(seed)
    pts = shapely.line_interpolate_point(lines[rng.integers(0, len(lines), 2000)],
                                         rng.random(2000), normalized=True)
    pts = pts[shapely.contains(units, pts)][:500]
    lon, lat = Transformer.from_crs("EPSG:32650", 4326, always_xy=True).transform(
        shapely.get_x(pts), shapely.get_y(pts))
    rows = ["id,name,category,lon,lat"] + [
        f"C{i:04d},candidate {i},,{x:.6f},{y:.6f}"
        for i, (x, y) in enumerate(zip(lon, lat, strict=True))]
    (area.parent / "candidates.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with area.open("a", encoding="utf-8") as f:
        f.write('\n[candidates]\npath = "candidates.csv"\ncoords = "wgs84"\n')
    print(f"beijing: built {len(towns)} townships and {len(pts)} candidate spaces in "
          f"{time.perf_counter() - t0:.1f} s")
    return area


def street_points(ws: Workspace, n: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Random points near streets of the main network, inside the units (WGS-84)."""
    nodes = ws.network.node_xy[ws.network.component == ws.network.main_component]
    area = ws.inputs.study_area
    shapely.prepare(area)
    xy = nodes[rng.integers(0, len(nodes), n * 3)] + rng.normal(0, 20, (n * 3, 2))
    xy = xy[shapely.contains_xy(area, xy[:, 0], xy[:, 1])][:n]
    lon, lat = Transformer.from_crs(ws.config.crs, 4326, always_xy=True).transform(
        xy[:, 0], xy[:, 1])
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


def pct(times: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(times) * 1000.0, q))


def one_run(client, ws: Workspace, args: argparse.Namespace, rng: np.random.Generator
            ) -> dict[str, list[float]]:
    """One sequence of random edits and slider moves; seconds per request by kind."""
    client.post("/api/reset", json={})
    keys = list(ws.config.category_keys)
    points = street_points(ws, args.edits * 2, rng)
    placed: list[tuple[str, str]] = []  # (site id, category)
    times: dict[str, list[float]] = {"add": [], "move": [], "delete": [], "slider": []}
    for _ in range(args.edits):
        kind = "add" if len(placed) < 3 else rng.choice(["add", "move", "delete"],
                                                         p=[0.4, 0.3, 0.3])
        if kind == "add":
            key = keys[rng.integers(len(keys))]
            lon, lat = points.pop()
            t0 = time.perf_counter()
            r = client.post("/api/sites", json={"category": key, "lon": lon, "lat": lat,
                                                "view": key})
            times["add"].append(time.perf_counter() - t0)
            if r.status_code == 200:
                placed.append((r.json()["result"]["id"], key))
        else:
            sid, key = placed[rng.integers(len(placed))]
            t0 = time.perf_counter()
            if kind == "move":
                lon, lat = points.pop()
                r = client.patch(f"/api/sites/{sid}", json={"lon": lon, "lat": lat,
                                                            "view": key})
            else:
                r = client.delete(f"/api/sites/{sid}?view={key}")
                placed.remove((sid, key))
            times[kind].append(time.perf_counter() - t0)
        assert r.status_code in (200, 422), r.text  # 422: a point too far from a street
    for _ in range(args.sliders):
        key = keys[rng.integers(len(keys))]
        body = {"category": key, "minutes": int(rng.integers(5, 31)),
                "speed_m_s": round(float(rng.uniform(0.6, 1.4)), 2), "view": key}
        t0 = time.perf_counter()
        r = client.post("/api/walk", json=body)
        times["slider"].append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text
    times["edit"] = times["add"] + times["move"] + times["delete"]
    return times


def bench_area(name: str, config: Path, args: argparse.Namespace) -> None:
    from starlette.testclient import TestClient

    print(f"\n== {name}: {config}")
    t0 = time.perf_counter()
    inputs = load_inputs(load_config(config))
    ws = Workspace(inputs)
    load_s = time.perf_counter() - t0
    print(f"workspace loaded in {load_s:.1f} s: {ws.network.n_nodes:,} street nodes, "
          f"{len(ws.compounds):,} compounds, {len(inputs.facilities):,} facilities, "
          f"{len(ws.candidates):,} candidate spaces, {len(ws.config.categories)} categories")
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp, TestClient(
            create_app(ws, out_dir=tmp, basemap=False), base_url="http://127.0.0.1") as client:
        t0 = time.perf_counter()
        size = len(client.get("/api/init").content)
        print(f"page data (/api/init): {size / 1e6:.1f} MB in {time.perf_counter() - t0:.2f} s")
        runs = [one_run(client, ws, args, rng) for _ in range(args.runs)]

        print(f"{'request':<8} {'n/run':>6} {'p50 ms (runs)':>28} {'p95 ms (runs)':>28} "
              f"{'p95 min':>8} {'p95 med':>8}")
        for kind in ("edit", "add", "move", "delete", "slider"):
            p50 = [pct(r[kind], 50) for r in runs if r[kind]]
            p95 = [pct(r[kind], 95) for r in runs if r[kind]]
            if not p95:
                continue
            n = statistics.median(len(r[kind]) for r in runs)
            print(f"{kind:<8} {n:>6.0f} {' '.join(f'{v:8.1f}' for v in p50):>28} "
                  f"{' '.join(f'{v:8.1f}' for v in p95):>28} {min(p95):8.1f} "
                  f"{statistics.median(p95):8.1f}")

        # the same plan from scratch: what every edit would cost without the workspace
        scen = scenario_inputs(inputs, ws.scenario("bench"))
        full = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            analyze(scen, isochrones=False, network=ws.network)
            full.append(time.perf_counter() - t0)
        med_edit = statistics.median(pct(r["edit"], 50) for r in runs)
        full_ms = statistics.median(full) * 1000
        print(f"full recompute (analyze, no isochrones, network loaded): min "
              f"{min(full) * 1000:.0f} ms, median {full_ms:.0f} ms; median edit p50 "
              f"{med_edit:.1f} ms = {full_ms / med_edit:.0f}x faster")

        # optimise against circle15 sites (same solver, same category and k)
        key = next((c.key for c in ws.config.categories if c.new_sites > 0),
                   ws.config.categories[0].key)
        k = min(10, max(1, len(ws.usable_candidates(key, ws.initial))))
        if not ws.candidates:
            print("optimise: no candidate spaces in this area")
            return
        opt, cli = [], []
        for _ in range(args.runs):
            client.post("/api/reset", json={})
            for sid in list(ws.proposed):  # the baseline `circle15 sites` starts from
                client.post("/api/toggle", json={"kind": "proposed", "id": sid, "on": False})
            t0 = time.perf_counter()
            r = client.post("/api/optimise", json={"category": key, "k": k, "view": key})
            opt.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                outcome = select_sites(ws.baseline, categories=[key], k=k)
                cli.append(time.perf_counter() - t0)
        same = r.json()["result"]["selected"] == list(
            outcome.sites[outcome.sites["method"] == "optimal"]["candidate_id"])
        later = opt[1:] or opt
        print(f"optimise {key}, k={k}: first call {opt[0]:.2f} s (computes the candidate "
              f"spaces' distances), then min {min(later):.2f} s, median "
              f"{statistics.median(later):.2f} s; circle15 sites (select_sites, same category "
              f"and k): min {min(cli):.2f} s, median {statistics.median(cli):.2f} s; same "
              f"selection: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--areas", default="huitian,beijing")
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--sliders", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the Beijing-wide area (kept and reused; default: a "
                        "temporary folder)")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"bench_serve {dt.datetime.now().isoformat(timespec='seconds')}: {args.edits} edits and "
          f"{args.sliders} slider moves per run, {args.runs} runs, seed {args.seed}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python "
          f"{platform.python_version()}, scipy {scipy.__version__}; load average at start "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    areas = [a.strip() for a in args.areas.split(",") if a.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        for name in areas:
            if name == "huitian":
                bench_area(name, ROOT / "data" / "huitian" / "area.toml", args)
            elif name == "beijing":
                config = beijing_area(work, args.seed)
                if config is not None:
                    bench_area(name, config, args)
            else:
                parser.error(f"unknown area {name!r}")


if __name__ == "__main__":
    main()
