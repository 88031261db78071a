"""Benchmark the joint plan (coverage.jointplan) on a synthetic district.

150 candidate spaces x 3 categories x 5,000 compounds in an 8 x 8 km square, with existing
facilities; the plan chooses up to 10 + 5 + 5 new facilities (``--k``), each space hosting at
most one and only categories whose minimum floor area it meets. Two cases, each solved exactly
(HiGHS, optimality proven) ``--runs`` times:

* without capacities (coverage = within the walking limit), target <= 10 s on 2 cores;
* with capacities on every facility (coverage = served), target <= 30 s.

Each case also solves the categories independently (the comparison the report shows).

NOTE: walking distances here are EUCLIDEAN x 1.3 (a typical network detour factor), built with
scipy.spatial.cKDTree, to get matrices of realistic size and density without a network. The
product builds them from walking-network distances (coverage.planning); the solver's time
does not depend on how the matrix was built.

Usage::

    .venv/bin/python scripts/bench_plan.py [--spaces 150] [--compounds 5000] [--k 10,5,5]
        [--runs 3] [--seed 13]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time

import numpy as np
import scipy
import scipy.sparse as sp
from scipy.spatial import cKDTree

from coverage.jointplan import PlanCategory, double_booked, solve_independent, solve_joint

SIDE_M = 8_000.0
DETOUR = 1.3
# key, walk limit (m), min floor area (m2), capacity of a facility (demand unit), demand, existing
CATEGORIES = (
    ("elderly_station", 810.0, 0.0, 1_500.0, "60+", 20),
    ("elderly_centre", 810.0, 500.0, 4_000.0, "60+", 4),
    ("psych_station", 900.0, 60.0, 15_000.0, "all", 6),
)


def walk_matrix(src_xy: np.ndarray, dst_xy: np.ndarray, limit_m: float) -> sp.csr_array:
    """Distances (m, Euclidean x DETOUR) for pairs within ``limit_m``."""
    tree = cKDTree(src_xy)
    dist = tree.sparse_distance_matrix(cKDTree(dst_xy), limit_m / DETOUR, output_type="coo_matrix")
    out = sp.csr_array((dist.data * DETOUR, (dist.row, dist.col)),
                       shape=(len(src_xy), len(dst_xy)))
    out.sort_indices()
    return out


def instance(args: argparse.Namespace, capacities: bool) -> list[PlanCategory]:
    rng = np.random.default_rng(args.seed)
    compounds = rng.uniform(0, SIDE_M, size=(args.compounds, 2))
    spaces = rng.uniform(0, SIDE_M, size=(args.spaces, 2))
    floor_m2 = np.round(rng.lognormal(mean=5.3, sigma=0.8, size=args.spaces))  # median ~200
    # ~880,000 residents (Huitian has ~860,000 on about as much land), 15 % aged 60+
    population = np.round(rng.lognormal(mean=5.0, sigma=0.6, size=args.compounds))
    demands = {"all": population, "60+": np.round(population * 0.15)}
    ks = [int(v) for v in args.k.split(",")]
    cats = []
    for (key, limit, min_m2, cap, demand, n_old), k in zip(CATEGORIES, ks, strict=True):
        old = rng.uniform(0, SIDE_M, size=(n_old, 2))
        cap_old = np.round(cap * rng.uniform(0.5, 1.5, n_old)) if capacities else np.full(
            n_old, np.inf)
        cats.append(PlanCategory(
            key=key,
            reach_new=walk_matrix(spaces, compounds, limit),
            reach_old=walk_matrix(old, compounds, limit),
            demand=demands[demand],
            k=k,
            eligible=floor_m2 >= min_m2,
            capacity_new=np.full(args.spaces, cap if capacities else np.inf),
            capacity_old=cap_old,
        ))
    return cats


def run_case(args: argparse.Namespace, capacities: bool) -> tuple[list[float], str]:
    cats = instance(args, capacities)
    times = []
    note = ""
    for _ in range(args.runs):
        t0 = time.perf_counter()
        joint = solve_joint(cats, time_limit_s=args.time_limit_s)
        t_joint = time.perf_counter() - t0
        alone = solve_independent(cats, time_limit_s=args.time_limit_s)
        times.append(time.perf_counter() - t0)
        n_new = sum(len(c.selected) for c in joint.categories.values())
        note = (f"joint {t_joint:.2f} s: {n_new} facilities, +{joint.objective:,.0f} served, "
                f"{joint.status}; independent +{alone.objective:,.0f} "
                f"(gap {alone.objective - joint.objective:,.0f}, "
                f"{len(double_booked(alone))} spaces double-booked)")
    return times, note


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spaces", type=int, default=150)
    ap.add_argument("--compounds", type=int, default=5000)
    ap.add_argument("--k", default="10,5,5", help="new facilities per category")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--time-limit-s", type=float, default=120.0)
    args = ap.parse_args()
    load = os.getloadavg()
    print(f"bench_plan {dt.datetime.now().isoformat(timespec='seconds')}: {args.spaces} spaces "
          f"x {len(CATEGORIES)} categories x {args.compounds:,} compounds, k = {args.k}, "
          f"{SIDE_M / 1000:g} x {SIDE_M / 1000:g} km, EUCLIDEAN x {DETOUR} distances, "
          f"seed {args.seed}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python "
          f"{platform.python_version()}, scipy {scipy.__version__}; load average at start "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'case':<22} {'min s':>7} {'median s':>9} {'target s':>9}  last run")
    for capacities, target in ((False, 10.0), (True, 30.0)):
        times, note = run_case(args, capacities)
        name = "with capacities" if capacities else "without capacities"
        print(f"{name:<22} {min(times):7.2f} {statistics.median(times):9.2f} {target:9.0f}  "
              f"{note}")
    print("times: joint plan + independent per-category plans, assignments included")


if __name__ == "__main__":
    main()
