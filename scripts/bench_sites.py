"""Benchmark the siting optimisation layer on a synthetic but realistic instance.

1,000 candidate sites x 5,000 compounds, random points in an 8 x 8 km square; a candidate
"covers" a compound within 1,200 m.

NOTE: the benchmark's coverage matrix uses EUCLIDEAN (straight-line) distance, built with
scipy.spatial.cKDTree, only to get a matrix of realistic size and density quickly. The product
builds the matrix from WALKING NETWORK distances (which are longer, so real matrices are
sparser). Timings of greedy / MCLP / set cover do not depend on how the matrix was built.

Usage::

    .venv/bin/python scripts/bench_sites.py [--candidates 1000] [--compounds 5000]
        [--radius-m 1200] [--existing 12] [--k 10] [--seed 15]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import scipy
import scipy.sparse as sp
from scipy.spatial import cKDTree

from coverage.siting import greedy_ranking, solve_mclp, solve_set_cover

SIDE_M = 8_000.0


def euclidean_cover(src_xy: np.ndarray, dst_xy: np.ndarray, radius_m: float) -> sp.csr_array:
    """Boolean CSR (n_src, n_dst): True where dst lies within radius_m of src (Euclidean)."""
    tree = cKDTree(dst_xy)
    hits = tree.query_ball_point(src_xy, r=radius_m)
    lengths = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = (
        np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])
        if lengths.sum()
        else np.empty(0, dtype=np.int64)
    )
    data = np.ones(len(indices), dtype=bool)
    m = sp.csr_array((data, indices, indptr), shape=(len(src_xy), len(dst_xy)))
    m.sort_indices()
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--candidates", type=int, default=1000)
    ap.add_argument("--compounds", type=int, default=5000)
    ap.add_argument("--radius-m", type=float, default=1200.0)
    ap.add_argument("--existing", type=int, default=12, help="existing facilities")
    ap.add_argument("--k", type=int, default=10, help="new sites for greedy/MCLP")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--time-limit-s", type=float, default=60.0)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    compounds = rng.uniform(0, SIDE_M, size=(args.compounds, 2))
    candidates = rng.uniform(0, SIDE_M, size=(args.candidates, 2))
    existing = rng.uniform(0, SIDE_M, size=(args.existing, 2))
    # residents aged 60+ per compound: skewed, like real compounds (mean ~ 250)
    demand = np.round(rng.lognormal(mean=5.3, sigma=0.6, size=args.compounds))

    rows: list[tuple[str, float, str]] = []

    t0 = time.perf_counter()
    cover = euclidean_cover(candidates, compounds, args.radius_m)
    covered = np.asarray(euclidean_cover(existing, compounds, args.radius_m).sum(axis=0)) > 0
    rows.append(
        ("matrix build (Euclidean cKDTree)", time.perf_counter() - t0, f"nnz={cover.nnz:,}")
    )

    t0 = time.perf_counter()
    greedy_k = greedy_ranking(cover, demand, covered, k=args.k)
    rows.append(
        (f"greedy k={args.k}", time.perf_counter() - t0, f"+{greedy_k.demand_gained:,.0f} demand")
    )

    t0 = time.perf_counter()
    ranking = greedy_ranking(cover, demand, covered)
    rows.append(
        ("greedy full ranking", time.perf_counter() - t0, f"{ranking.n_sites} sites ranked")
    )

    t0 = time.perf_counter()
    opt = solve_mclp(cover, demand, covered, args.k, time_limit_s=args.time_limit_s)
    gap = opt.demand_covered - greedy_k.demand_covered
    rows.append(
        (
            f"exact MCLP k={args.k} (HiGHS)",
            time.perf_counter() - t0,
            f"+{opt.demand_gained:,.0f} demand, {opt.status}, greedy gap {gap:,.0f}",
        )
    )

    for share in (0.95, 1.0):
        t0 = time.perf_counter()
        sc = solve_set_cover(cover, demand, covered, share, time_limit_s=args.time_limit_s)
        rows.append(
            (
                f"set cover {share:.0%} of reachable",
                time.perf_counter() - t0,
                f"{sc.n_sites} sites, {sc.reachable_coverage_pct:.2f}% of reachable, {sc.status}",
            )
        )

    print(
        f"bench_sites: {args.candidates:,} candidates x {args.compounds:,} compounds, "
        f"{SIDE_M / 1000:g} x {SIDE_M / 1000:g} km, radius {args.radius_m:g} m EUCLIDEAN "
        f"(the product uses walking-network distances), {args.existing} existing facilities, "
        f"seed {args.seed}"
    )
    print(
        f"python {platform.python_version()}, scipy {scipy.__version__}, "
        f"{os.cpu_count()} CPUs; base coverage {greedy_k.demand_base / greedy_k.demand_total:.1%}"
        f", reachable {greedy_k.demand_reachable / greedy_k.demand_total:.1%}"
    )
    w = max(len(r[0]) for r in rows)
    print(f"{'step':<{w}}  {'seconds':>8}  result")
    print(f"{'-' * w}  {'-' * 8}  {'-' * 40}")
    for name, secs, note in rows:
        print(f"{name:<{w}}  {secs:>8.3f}  {note}")


if __name__ == "__main__":
    main()
