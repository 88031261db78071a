"""Which compounds lack elderly care within a walk, and which sites would close the gap?

A planner's script on circle15's public API: for the elderly-care categories of a study area
(those whose demand is the 60+ population), list the uncovered compounds by 60+ residents and the
best new sites, before and after the planned stations.

    .venv/bin/python scripts/elderly_care_gaps.py data/huitian/area.toml [--out gaps.csv]
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from coverage import analyze, load_config, load_inputs, select_sites
from coverage.io import write_csv


def elderly_gaps(config_path: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Uncovered compounds and the optimal new sites for the 60+ categories."""
    cfg = load_config(config_path)
    keys = [c.key for c in cfg.categories if c.demand == "population_60plus"]
    result = analyze(load_inputs(cfg), isochrones=False)
    siting = select_sites(result, categories=keys)

    comp = result.compounds
    rows = []
    for key in keys:
        gap = comp[~comp[f"covered_{key}"]]
        rows.append(pd.DataFrame({
            "category": key,
            "compound": gap["name"],
            "unit": gap["unit"],
            "population_60plus": gap["population_60plus"],
            "walk_min": gap[f"walk_min_{key}"].round(1),
            "covered_with_proposed": gap[f"covered_{key}_with_proposed"],
        }))
    gaps = pd.concat(rows).sort_values(["category", "population_60plus"], ascending=[True, False])
    best = siting.sites[siting.sites["method"] == "optimal"]
    return gaps, best[["category", "rank", "candidate_id", "name", "gain_demand"]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--out", help="write the uncovered compounds to this CSV")
    args = ap.parse_args(argv)
    gaps, best = elderly_gaps(args.config)
    for key, g in gaps.groupby("category"):
        print(f"{key}: {len(g)} compounds uncovered, {g['population_60plus'].sum():,.0f} "
              f"residents aged 60+; {int(g['covered_with_proposed'].sum())} of them covered once "
              "the planned stations open")
        print(g.head(5).to_string(index=False))
    print("\nOptimal new sites:")
    print(best.to_string(index=False))
    if args.out:
        write_csv(gaps, args.out)  # UTF-8 with BOM for Excel, formula-safe, atomic
    return 0


if __name__ == "__main__":
    sys.exit(main())
