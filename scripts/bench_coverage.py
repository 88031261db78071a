"""Benchmark of the coverage stage: the engine against other ways of computing the same thing,
the whole stage with isochrones on the Beijing-wide network, and a 1M-node street grid.

    .venv/bin/python scripts/bench_coverage.py [--runs 3] [--shared ../shared/data]
        [--grid-nodes 1000000] [--skip-engine] [--skip-grid]

Every time is min / median over ``--runs`` runs (>= 3), printed with the date, the machine and
the load average at the start. Parts:

1. **Engine vs other methods** (same inputs, one process). *engine* = circle15's distance
   passes (exact edge offsets, access points, per-compound minimum) for every category;
   *floor* = one bare ``scipy.sparse.csgraph.dijkstra(min_only=True)`` per category from the
   facilities' nearest nodes; *nx_multi* = networkx multi-source Dijkstra; *pandana* = pandana
   set-up + ``precompute`` + ``nearest_pois`` (optional, see below); *ego_hull* = the
   osmnx-notebook method (ego_graph per facility + convex hull; 40 facilities timed, scaled).
   Cases: the embedded Huitian sample, and the Beijing-wide 2013 network clipped at three sizes
   with synthetic facilities (10 categories, 5,000 in all) and 5,000 compounds.
2. **Whole coverage stage with isochrones**, Beijing-wide (68k nodes, 10 categories, 5,000
   facilities, 5,000 compounds): ``analyze`` (network load, snapping, access points, distances
   of both scenarios) then every category's isochrone polygons. Target: <= 4 s.
3. **1M-node street grid with isochrones** (``--grid-nodes``), in a fresh process so its peak
   memory is its own: 3 categories, 2,000 facilities each, 20,000 compounds, 120 m blocks.
   Targets: <= 40 s and <= 2.5 GB peak (resident set).

pandana is AGPL-3.0: never a dependency of circle15. To include it in part 1, install it by
hand into a throw-away environment (``.venv/bin/pip install pandana``; remove it afterwards);
without it the column says "not installed".

Without ``../shared/data`` (``--shared``) the Beijing cases are skipped with a message; the
Huitian sample and the grid need nothing outside the repository.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import header, min_median, timed

from coverage.access import compound_access_points, snap_points
from coverage.metrics import compound_distance
from coverage.network import WalkNetwork, build_walk_network, load_walk_network
from coverage.reach import nearest_source_distances

ROOT = Path(__file__).resolve().parents[1]
CRS = "EPSG:32650"
WALK_M = 15 * 60 * 1.0
CUTOFF_M = 60 * 60 * 1.0


def engine(net, fac_snaps, access, n_comp):
    out = []
    for snap in fac_snaps:
        d, _ = nearest_source_distances(net, snap, access.snap, CUTOFF_M)
        out.append(compound_distance(access.compound, d, n_comp))
    return out


def nearest_nodes(net: WalkNetwork, xy: np.ndarray) -> np.ndarray:
    tree = shapely.STRtree(shapely.points(net.node_xy))
    return tree.query_nearest(shapely.points(xy), all_matches=False)[1]


def floor(net, fac_nodes):
    return [dijkstra(net.graph, directed=False, indices=nodes, limit=CUTOFF_M, min_only=True)
            for nodes in fac_nodes]


def nx_multi(g, fac_nodes):
    return [nx.multi_source_dijkstra_path_length(g, set(nodes.tolist()), cutoff=CUTOFF_M,
                                                 weight="length") for nodes in fac_nodes]


def pandana_run(net: WalkNetwork, fac_xy: list[np.ndarray], comp_xy: np.ndarray) -> None:
    """pandana: network set-up, precompute to the cutoff, nearest facility per category."""
    import pandana
    import pandas as pd

    nodes = pd.DataFrame(net.node_xy, columns=["x", "y"])
    edges = pd.DataFrame({"from": net.edge_u, "to": net.edge_v, "w": net.edge_length_m})
    pn = pandana.Network(nodes["x"], nodes["y"], edges["from"], edges["to"], edges[["w"]],
                         twoway=True)
    pn.precompute(CUTOFF_M)
    comp_nodes = pn.get_node_ids(comp_xy[:, 0], comp_xy[:, 1])
    for i, xy in enumerate(fac_xy):
        pn.set_pois(f"c{i}", CUTOFF_M, 1, xy[:, 0], xy[:, 1])
        pn.nearest_pois(CUTOFF_M, f"c{i}", num_pois=1).loc[comp_nodes]


def ego_hull(g, net, nodes, comp_pts):
    hit = np.zeros(len(comp_pts), bool)
    for n in nodes:
        sub = nx.ego_graph(g, int(n), radius=WALK_M, distance="length")
        hull = shapely.MultiPoint(net.node_xy[list(sub.nodes)]).convex_hull
        hit |= shapely.contains_xy(hull, comp_pts[:, 0], comp_pts[:, 1])
    return hit


def _has_pandana() -> bool:
    try:
        import pandana  # noqa: F401
    except ImportError:
        return False
    return True


def run_case(label: str, net: WalkNetwork, fac_xy: list[np.ndarray], polys: np.ndarray,
             runs: int) -> None:
    access = compound_access_points(net, polys)
    fac_snaps = [snap_points(net, xy) for xy in fac_xy]
    fac_nodes = [np.unique(nearest_nodes(net, xy)) for xy in fac_xy]
    n_comp = len(polys)
    g = net.to_networkx()
    cpts = shapely.get_coordinates(shapely.centroid(polys))
    t_eng, _ = timed(lambda: engine(net, fac_snaps, access, n_comp), runs)
    t_floor, _ = timed(lambda: floor(net, fac_nodes), runs)
    t_nx, _ = timed(lambda: nx_multi(g, fac_nodes), runs)
    t_snap, _ = timed(lambda: (compound_access_points(net, polys),
                               [snap_points(net, xy) for xy in fac_xy]), runs)
    k = min(40, len(fac_nodes[0]))
    n_fac = sum(len(n) for n in fac_nodes)
    t_ego, _ = timed(lambda: ego_hull(g, net, fac_nodes[0][:k], cpts), runs)
    t_ego = [t / max(k, 1) * n_fac for t in t_ego]
    med = statistics.median
    eng = med(t_eng)
    if _has_pandana():
        t_pd, _ = timed(lambda: pandana_run(net, fac_xy, cpts), runs)
        pd_txt = f"{min_median(t_pd):>15} {med(t_pd) / eng:>7.0f}x"
    else:
        pd_txt = f"{'not installed':>15} {'':>8}"
    print(f"{label:<32} {net.n_nodes:>7,} {n_fac:>6,} {n_comp:>6,} {min_median(t_eng):>15} "
          f"{min_median(t_snap):>15} {min_median(t_floor):>15} {eng / med(t_floor):>6.2f}x "
          f"{min_median(t_nx):>15} {med(t_nx) / eng:>6.1f}x {pd_txt} "
          f"{med(t_ego):>9.1f} {med(t_ego) / eng:>7.0f}x", flush=True)


def synthetic(net: WalkNetwork, n_fac: int, n_cat: int, n_comp: int, seed: int = 0):
    """Facilities and compounds at random points on the streets of the main component."""
    rng = np.random.default_rng(seed)
    main = np.flatnonzero(net.component[net.edge_u] == net.main_component)
    p = net.edge_length_m[main] / net.edge_length_m[main].sum()

    def on_streets(k):
        e = rng.choice(main, size=k, p=p)
        t = rng.uniform(0, 1, k)[:, None]
        a, b = net.node_xy[net.edge_u[e]], net.node_xy[net.edge_v[e]]
        return a + (b - a) * t + rng.normal(0, 10, (k, 2))

    fac = on_streets(n_fac)
    cats = rng.integers(0, n_cat, n_fac)
    centres = on_streets(n_comp)
    polys = shapely.buffer(shapely.points(centres), 30, cap_style="square")
    return [fac[cats == c] for c in range(n_cat)], polys


def study_inputs(source: Path, net: WalkNetwork, fac_xy: list[np.ndarray], polys: np.ndarray):
    """In-memory StudyInputs for synthetic facilities and compounds on ``net``."""
    import geopandas as gpd

    from coverage.config import AreaConfig, Category
    from coverage.inputs import StudyInputs

    cats = tuple(Category(f"c{i}", f"c{i}", f"c{i}", 15.0, 1.0) for i in range(len(fac_xy)))
    cfg = AreaConfig(source=source, name="bench", crs=CRS, boundaries=source, network=source,
                     compounds=source, categories=cats, facilities=())
    area = shapely.box(*net.node_xy.min(axis=0), *net.node_xy.max(axis=0))
    fac = gpd.GeoDataFrame(
        {"id": [f"F{i}" for i in range(sum(map(len, fac_xy)))], "name": "",
         "category": np.concatenate([[c.key] * len(x) for c, x in zip(cats, fac_xy,
                                                                       strict=True)])},
        geometry=shapely.points(np.concatenate(fac_xy)), crs=CRS)
    comp = gpd.GeoDataFrame(
        {"id": [f"C{i}" for i in range(len(polys))], "name": "", "unit": "all",
         "population": 1000.0, "population_60plus": 150.0, "in_area": True},
        geometry=polys, crs=CRS)
    return StudyInputs(config=cfg, boundaries=gpd.GeoDataFrame({"name": ["all"]},
                       geometry=[area], crs=CRS), study_area=area, load_area=area,
                       compounds=comp, facilities=fac, proposed=fac.iloc[:0], candidates=None,
                       gates=None)


def whole_stage(inputs, runs: int, network: WalkNetwork | None = None) -> dict[str, object]:
    """``analyze`` then every isochrone polygon, timed ``runs`` times (wall and process CPU)."""
    from coverage.pipeline import analyze

    steps: dict[str, list[float]] = {k: [] for k in ("analyze", "isochrones", "total",
                                                     "analyze_cpu", "isochrones_cpu")}
    n_vertices = 0
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        result = analyze(inputs, network=network)
        t1, c1 = time.perf_counter(), time.process_time()
        polys = [iso.geometry for iso in result.isochrones.values()]
        t2, c2 = time.perf_counter(), time.process_time()
        n_vertices = int(sum(shapely.get_num_coordinates(p.to_numpy()).sum() for p in polys))
        steps["analyze"].append(t1 - t0)
        steps["isochrones"].append(t2 - t1)
        steps["total"].append(t2 - t0)
        steps["analyze_cpu"].append(c1 - c0)
        steps["isochrones_cpu"].append(c2 - c1)
        del result, polys
    return {"steps": steps, "vertices": n_vertices,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def street_grid(n_nodes: int, block_m: float = 120.0, seed: int = 0) -> WalkNetwork:
    """A square street grid of about ``n_nodes`` nodes, ``block_m`` apart, slightly jittered."""
    side = round(n_nodes ** 0.5)
    rng = np.random.default_rng(seed)
    ij = np.indices((side, side)).reshape(2, -1).T
    xy = ij * block_m + rng.normal(0, 3, (len(ij), 2)) + (400_000.0, 4_400_000.0)
    idx = np.arange(side * side).reshape(side, side)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    return build_walk_network(xy, u, v, crs=CRS)


def grid_case(n_nodes: int, runs: int) -> dict[str, object]:
    net = street_grid(n_nodes)
    fac_xy, polys = synthetic(net, 6000, 3, 20_000, seed=1)
    out = whole_stage(study_inputs(ROOT / "bench-grid", net, fac_xy, polys), runs, network=net)
    out["nodes"] = net.n_nodes
    return out


def print_stage(label: str, res: dict[str, object], target: str) -> None:
    steps = res["steps"]
    assert isinstance(steps, dict)
    print(f"{label}: total {min_median(steps['total'])} s (analyze {min_median(steps['analyze'])}"
          f" + isochrones {min_median(steps['isochrones'])}); CPU (all threads) analyze "
          f"{min_median(steps['analyze_cpu'])} + isochrones {min_median(steps['isochrones_cpu'])}"
          f" s; {res['vertices']:,} polygon "
          f"vertices; peak RSS {res['peak_mb']:,.0f} MB; {target}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--grid-nodes", type=int, default=1_000_000)
    ap.add_argument("--skip-engine", action="store_true", help="skip part 1")
    ap.add_argument("--skip-grid", action="store_true", help="skip part 3")
    ap.add_argument("--grid-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.grid_only:  # part 3, in its own process
        print(json.dumps(grid_case(args.grid_nodes, args.runs)))
        return 0
    import scipy

    print(header("bench_coverage: circle15 coverage stage", ("numpy", "scipy", "shapely")))
    print(f"scipy {scipy.__version__}, GEOS {'.'.join(map(str, shapely.geos_version))}; "
          f"times in seconds, min / median of {args.runs} runs; ratios of medians")
    ways = Path(args.shared) / "osm" / "beijing_osm2013_all_ways.gpkg"
    if not args.skip_engine:
        print("\n1. engine vs other methods")
        print(f"{'case':<32} {'nodes':>7} {'facil':>6} {'compd':>6} {'engine':>15} "
              f"{'snap+access':>15} {'floor':>15} {'eng/fl':>7} {'nx_multi':>15} {'nx/eng':>7} "
              f"{'pandana':>15} {'pd/eng':>8} {'ego_hull':>9} {'ego/eng':>8}")
        sample = ROOT / "data" / "huitian" / "area.toml"
        from coverage.config import load_config
        from coverage.inputs import load_inputs, load_network_for

        cfg = load_config(sample)
        inputs = load_inputs(cfg)
        net = load_network_for(inputs)
        fac = inputs.facilities
        fac_xy = [shapely.get_coordinates(fac[fac["category"] == c].geometry.to_numpy())
                  for c in cfg.category_keys]
        run_case(f"huitian sample ({len(fac_xy)} categories)", net, fac_xy,
                 inputs.compounds.geometry.to_numpy(), args.runs)
        if ways.exists():
            full = load_walk_network(ways, CRS)
            centre = np.median(full.node_xy, axis=0)
            for half_km in (5, 10, None):
                if half_km is None:
                    net, label = full, "beijing 2013, whole network"
                else:
                    box = shapely.box(*(centre - half_km * 1000), *(centre + half_km * 1000))
                    net = load_walk_network(ways, CRS, clip_to=box)
                    label = f"beijing 2013, {2 * half_km} km x {2 * half_km} km"
                fac_xy, polys = synthetic(net, 5000, 10, 5000)
                run_case(label, net, fac_xy, polys, args.runs)
    if ways.exists():
        print("\n2. whole coverage stage with isochrones, Beijing-wide (network load included)")
        full = load_walk_network(ways, CRS)
        fac_xy, polys = synthetic(full, 5000, 10, 5000)
        res = whole_stage(study_inputs(ways, full, fac_xy, polys), args.runs)
        print_stage(f"beijing 2013 whole network, {full.n_nodes:,} nodes, 10 categories",
                    res, "target <= 4 s")
    else:
        print(f"\nskipped the Beijing cases: {ways} not found (pass --shared DIR)")
    if not args.skip_grid:
        print(f"\n3. {args.grid_nodes:,}-node street grid with isochrones (own process)")
        out = subprocess.run([sys.executable, __file__, "--grid-only", "--runs", str(args.runs),
                              "--grid-nodes", str(args.grid_nodes)], capture_output=True,
                             text=True, check=True).stdout
        res = json.loads(out.strip().splitlines()[-1])
        print_stage(f"grid, {res['nodes']:,} nodes, 3 categories", res,
                    "targets <= 40 s and <= 2,500 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
