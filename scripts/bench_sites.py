"""Benchmark of the exact siting layer on a synthetic but realistic instance.

1,000 candidate sites x 5,000 compounds, random points in an 8 x 8 km square; a candidate
"covers" a compound within 1,200 m; 12 existing facilities; demand lognormal (residents aged
60+, integers).

NOTE: the benchmark's coverage matrix uses EUCLIDEAN (straight-line) distance, built with
scipy.spatial.cKDTree, only to get a matrix of realistic size and density quickly. The product
builds the matrix from WALKING NETWORK distances (which are longer, so real matrices are
sparser). Timings of greedy / MCLP / set cover do not depend on how the matrix was built.

Printed, min / median over ``--runs`` runs (each run a fresh solve, no cache): the exact MCLP
for every k from ``--k-min`` to ``--k-max`` (target: <= 2 s each, optimality proven), the
greedy ranking, the set covers of 95 % and 100 % of reachable demand, and ``plan_sites`` (every
question of one category: ranking, greedy top-k, optimal k, both set covers, one solver). With
``--spopt`` each exact optimum is also checked against PySAL spopt's MCLP on the same matrix
(slow; spopt is a test dependency).

    .venv/bin/python scripts/bench_sites.py [--runs 3] [--k-min 5] [--k-max 20] [--spopt]
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import header, min_median, timed

from coverage.siting import (
    greedy_ranking,
    plan_sites,
    solve_mclp,
    solve_set_cover,
)

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


def instance(candidates: int, compounds: int, radius_m: float, existing: int, seed: int):
    """The benchmark's cover matrix, demand and already-covered flags."""
    rng = np.random.default_rng(seed)
    comp_xy = rng.uniform(0, SIDE_M, size=(compounds, 2))
    cand_xy = rng.uniform(0, SIDE_M, size=(candidates, 2))
    exist_xy = rng.uniform(0, SIDE_M, size=(existing, 2))
    # residents aged 60+ per compound: skewed, like real compounds (mean ~ 250)
    demand = np.round(rng.lognormal(mean=5.3, sigma=0.6, size=compounds))
    cover = euclidean_cover(cand_xy, comp_xy, radius_m)
    covered = np.asarray(euclidean_cover(exist_xy, comp_xy, radius_m).sum(axis=0)).ravel() > 0
    return cover, demand, covered


def spopt_objective(cover: sp.csr_array, demand: np.ndarray, covered: np.ndarray,
                    k: int) -> float:
    """Newly covered demand of spopt's MCLP optimum on the same matrix (a cross-check)."""
    import pulp
    from spopt.locate import MCLP

    keep = ~covered
    cost = np.where(cover[:, keep].toarray().T, 0.0, 2.0)  # (clients, facilities)
    model = MCLP.from_cost_matrix(cost, demand[keep], service_radius=1.0, p_facilities=k)
    model.solve(pulp.HiGHS_CMD(msg=False) if pulp.HiGHS_CMD().available()
                else pulp.PULP_CBC_CMD(msg=False))
    chosen = [i for i, var in enumerate(model.fac_vars) if var.value() > 0.5]
    hit = np.asarray(cover[chosen][:, keep].sum(axis=0)).ravel() > 0
    return float(demand[keep][hit].sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--candidates", type=int, default=1000)
    ap.add_argument("--compounds", type=int, default=5000)
    ap.add_argument("--radius-m", type=float, default=1200.0)
    ap.add_argument("--existing", type=int, default=12, help="existing facilities")
    ap.add_argument("--k-min", type=int, default=5)
    ap.add_argument("--k-max", type=int, default=20)
    ap.add_argument("--k-plan", type=int, default=10, help="k of the plan_sites row")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--time-limit-s", type=float, default=120.0)
    ap.add_argument("--spopt", action="store_true", help="cross-check every k with spopt")
    args = ap.parse_args(argv)
    import highspy  # noqa: F401  (for the version line)
    import scipy

    print(header("bench_sites: exact siting (circle15 coverage.siting)", ("numpy", "scipy")))
    print(f"highspy {version('highspy')}, scipy "
          f"{scipy.__version__}")
    cover, demand, covered = instance(args.candidates, args.compounds, args.radius_m,
                                      args.existing, args.seed)
    ranking = greedy_ranking(cover, demand, covered)
    print(f"{args.candidates:,} candidates x {args.compounds:,} compounds, "
          f"{SIDE_M / 1000:g} x {SIDE_M / 1000:g} km, radius {args.radius_m:g} m EUCLIDEAN (the "
          f"product uses walking-network distances), {args.existing} existing facilities, seed "
          f"{args.seed}; {cover.nnz:,} pairs; base coverage "
          f"{ranking.demand_base / ranking.demand_total:.1%}, reachable "
          f"{ranking.demand_reachable / ranking.demand_total:.1%}")
    print(f"times in seconds, min / median of {args.runs} runs\n")
    print(f"{'question':<34} {'min / median s':>16}  result")
    worst = 0.0
    rows = []
    t, _ = timed(lambda: greedy_ranking(cover, demand, covered), args.runs)
    rows.append(("greedy full ranking", t, f"{ranking.n_sites} sites ranked"))
    print(f"{rows[-1][0]:<34} {min_median(t):>16}  {rows[-1][2]}", flush=True)
    for k in range(args.k_min, args.k_max + 1):
        t, opt = timed(lambda k=k: solve_mclp(cover, demand, covered, k,
                                              time_limit_s=args.time_limit_s), args.runs)
        greedy_k = ranking.demand_base + float(ranking.gains[:k].sum())
        note = (f"+{opt.demand_gained:,.0f}, {opt.n_sites} sites, {opt.status}, greedy gap "
                f"{opt.demand_covered - greedy_k:,.0f}")
        if args.spopt:
            want = spopt_objective(cover, demand, covered, k)
            same = "same" if abs(want - opt.demand_gained) < 0.5 else "DIFFERENT"
            note += f", spopt +{want:,.0f} ({same})"
        rows.append((f"exact MCLP k={k}", t, note))
        print(f"{rows[-1][0]:<34} {min_median(t):>16}  {note}", flush=True)
        worst = max(worst, float(np.median(t)))
    for share in (0.95, 1.0):
        t, sc = timed(lambda s=share: solve_set_cover(cover, demand, covered, s,
                                                      time_limit_s=args.time_limit_s), args.runs)
        rows.append((f"set cover {share:.0%} of reachable", t,
                     f"{sc.n_sites} sites, {sc.reachable_coverage_pct:.2f}% of reachable, "
                     f"{sc.status}"))
    t, plan = timed(lambda: plan_sites(cover, demand, covered, args.k_plan,
                                       time_limit_s=args.time_limit_s), args.runs)
    rows.append((f"plan_sites k={args.k_plan} (all questions)", t,
                 f"optimal {plan.optimal.n_sites} sites {plan.optimal.status}, set covers "
                 + ", ".join(f"{int(s * 100)}%: {r.n_sites}" for s, r in plan.set_cover.items())))
    for name, t, note in rows[len(rows) - 3:]:
        print(f"{name:<34} {min_median(t):>16}  {note}", flush=True)
    print(f"\nslowest exact MCLP (median): {worst:.2f} s (target <= 2 s, moonshot 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
