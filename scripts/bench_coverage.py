"""Benchmark of the coverage stage against other ways of computing the same thing.

Run:  .venv/bin/python scripts/bench_coverage.py [--shared ../shared/data] [--repeat 3]

All methods run in this one process on the same inputs; the script prints times and ratios
against the bare floor (one scipy multi-source Dijkstra pass per category, nodes only, no
snapping/offsets), plus peak Python memory (tracemalloc) of the engine:

* engine      circle15: multi-source pass with exact edge offsets + access points + per-compound min
* floor       scipy.sparse.csgraph.dijkstra(min_only=True) from the facilities' nearest nodes
* nx_multi    networkx multi_source_dijkstra_path_length with cutoff (nearest nodes)
* ego_hull    the osmnx-notebook method: networkx ego_graph per facility + convex hull + point
              in polygon (timed on the first 40 facilities of a category and scaled linearly,
              because it is slow; it also answers a different question: hulls cover places no
              one can walk to)

Inputs: the embedded Huitian sample (data/huitian), and the Beijing-wide 2013 network from
../shared/data/osm/beijing_osm2013_all_ways.gpkg clipped at three sizes with synthetic
facilities (10 categories, 5,000 in all) and 5,000 compounds (60 m squares on streets). Without
../shared the Beijing part is skipped with a message.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import networkx as nx
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

from coverage.access import compound_access_points, snap_points
from coverage.metrics import compound_distance
from coverage.network import WalkNetwork, load_walk_network
from coverage.reach import nearest_source_distances

ROOT = Path(__file__).resolve().parents[1]
CRS = "EPSG:32650"
WALK_M = 15 * 60 * 1.0
CUTOFF_M = 60 * 60 * 1.0


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


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


def ego_hull(g, net, nodes, comp_pts):
    hit = np.zeros(len(comp_pts), bool)
    for n in nodes:
        sub = nx.ego_graph(g, int(n), radius=WALK_M, distance="length")
        hull = shapely.MultiPoint(net.node_xy[list(sub.nodes)]).convex_hull
        hit |= shapely.contains_xy(hull, comp_pts[:, 0], comp_pts[:, 1])
    return hit


def run_case(label: str, net: WalkNetwork, fac_xy: list[np.ndarray], polys: np.ndarray,
             repeat: int) -> dict[str, float]:
    access = compound_access_points(net, polys)
    fac_snaps = [snap_points(net, xy) for xy in fac_xy]
    fac_nodes = [np.unique(nearest_nodes(net, xy)) for xy in fac_xy]
    n_comp = len(polys)
    g = net.to_networkx()
    row: dict[str, float] = {}
    row["engine"] = best_of(lambda: engine(net, fac_snaps, access, n_comp), repeat)
    row["floor"] = best_of(lambda: floor(net, fac_nodes), repeat)
    row["nx_multi"] = best_of(lambda: nx_multi(g, fac_nodes), 1)
    k = min(40, len(fac_nodes[0]))
    cpts = shapely.get_coordinates(shapely.centroid(polys))
    t_ego = best_of(lambda: ego_hull(g, net, fac_nodes[0][:k], cpts), 1)
    n_fac = sum(len(n) for n in fac_nodes)
    row["ego_hull"] = t_ego / max(k, 1) * n_fac
    tracemalloc.start()
    engine(net, fac_snaps, access, n_comp)
    row["peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    # Snapping + access points are part of the coverage stage too: time them once.
    t0 = time.perf_counter()
    compound_access_points(net, polys)
    [snap_points(net, xy) for xy in fac_xy]
    row["snap_access"] = time.perf_counter() - t0
    print(f"{label:<34} {net.n_nodes:>7} {n_fac:>6} {n_comp:>6} "
          f"{row['engine']:>8.3f} {row['snap_access']:>8.3f} {row['floor']:>8.3f} "
          f"{row['engine'] / row['floor']:>6.2f}x {row['nx_multi']:>8.2f} "
          f"{row['nx_multi'] / row['engine']:>7.1f}x {row['ego_hull']:>9.1f} "
          f"{row['ego_hull'] / row['engine']:>8.0f}x {row['peak_mb']:>7.1f}", flush=True)
    return row


def full_stage(ways: Path, net: WalkNetwork, fac_xy: list[np.ndarray], polys: np.ndarray) -> None:
    """The whole coverage stage as `circle15 analyze` runs it (network load, snapping, access,
    distances for 2 scenarios, isochrones) on synthetic inputs, timed once."""
    import geopandas as gpd

    from coverage.config import AreaConfig, Category
    from coverage.inputs import StudyInputs
    from coverage.pipeline import analyze

    cats = tuple(Category(f"c{i}", f"c{i}", f"c{i}", 15.0, 1.0) for i in range(len(fac_xy)))
    cfg = AreaConfig(source=ways, name="bench", crs=CRS, boundaries=ways, network=ways,
                     compounds=ways, categories=cats, facilities=())
    area = shapely.convex_hull(shapely.multipoints(net.node_xy))
    fac = gpd.GeoDataFrame(
        {"id": [f"F{i}" for i in range(sum(map(len, fac_xy)))],
         "name": "", "category": np.concatenate([[c.key] * len(x) for c, x in zip(cats, fac_xy,
                                                                                 strict=True)])},
        geometry=shapely.points(np.concatenate(fac_xy)), crs=CRS)
    comp = gpd.GeoDataFrame(
        {"id": [f"C{i}" for i in range(len(polys))], "name": "", "unit": "all",
         "population": 1000.0, "population_60plus": 150.0, "in_area": True},
        geometry=polys, crs=CRS)
    inputs = StudyInputs(config=cfg, boundaries=gpd.GeoDataFrame({"name": ["all"]},
                         geometry=[area], crs=CRS), study_area=area, load_area=area,
                         compounds=comp, facilities=fac, proposed=fac.iloc[:0], candidates=None,
                         gates=None)
    t0 = time.perf_counter()
    result = analyze(inputs)
    t = time.perf_counter() - t0
    print(f"full coverage stage (circle15 analyze, whole network, 10 categories x 2 scenarios, "
          f"isochrones included): {t:.1f} s  {result.seconds}")


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"circle15 coverage benchmark — {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
          f"{platform.processor() or '?'}, Python {sys.version.split()[0]}")
    print("times in seconds (best of --repeat for engine/floor); ratios vs floor / vs engine")
    print(f"{'case':<34} {'nodes':>7} {'facil':>6} {'compd':>6} {'engine':>8} {'snap+acc':>8} "
          f"{'floor':>8} {'eng/fl':>7} {'nx_multi':>8} {'nx/eng':>8} {'ego_hull':>9} "
          f"{'ego/eng':>9} {'peak_MB':>7}")

    sample = ROOT / "data" / "huitian" / "area.toml"
    if sample.exists():
        from coverage.config import load_config
        from coverage.inputs import load_inputs
        from coverage.pipeline import load_network_for

        cfg = load_config(sample)
        inputs = load_inputs(cfg)
        net = load_network_for(inputs)
        fac = inputs.facilities
        fac_xy = [shapely.get_coordinates(fac[fac["category"] == c].geometry.to_numpy())
                  for c in cfg.category_keys]
        run_case(f"huitian sample ({len(fac_xy)} categories)", net, fac_xy,
                 inputs.compounds.geometry.to_numpy(), args.repeat)

    ways = Path(args.shared) / "osm" / "beijing_osm2013_all_ways.gpkg"
    if not ways.exists():
        print(f"skipped Beijing-wide cases: {ways} not found (pass --shared DIR)")
        return 0
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
        run_case(label, net, fac_xy, polys, args.repeat)
    full_stage(ways, full, fac_xy, polys)
    return 0


if __name__ == "__main__":
    sys.exit(main())
