"""The console lines of ``circle15``: a run's numbers, a batch's outcome, and the one printer.

Every line the command writes goes through :func:`say` (stdout) or :func:`say_error`
(stderr); the ``*_lines`` functions
make those lines from the library's results (they print nothing themselves).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..batch import BatchResult
    from ..config import AreaConfig, Category
    from ..jointplan.stage import PlanOutcome
    from ..pipeline import CoverageResult
    from ..planning import SitingOutcome


def say(*lines: str) -> None:
    """Print each line to stdout, flushed: a line such as serve's address must reach a pipe (a
    supervisor, a test) at once, not when Python's block buffer fills."""
    for line in lines:
        print(line, flush=True)


def say_error(message: str) -> None:
    """``circle15: message`` on stderr: what went wrong, or a warning."""
    print(f"circle15: {message}", file=sys.stderr)


def _demand_label(cat: Category) -> str:
    return {"population": "residents", "population_60plus": "residents aged 60+"}.get(
        cat.demand, cat.demand)


def category_lines(result: CoverageResult) -> list[str]:
    """One line per category: population-weighted coverage and uncovered compounds."""
    s = result.summary[result.summary["unit"] == "ALL"].set_index(["category", "scenario"])
    lines = []
    for cat in result.config.categories:
        ex = s.loc[(cat.key, "existing")]
        wp = s.loc[(cat.key, "with_proposed")]
        line = (f"  {cat.label} ({cat.key}, {cat.minutes:g} min): {ex.coverage_pct:5.1f}% of "
                f"{_demand_label(cat)} covered, {ex.compounds_uncovered} of {ex.compounds} "
                "compounds uncovered")
        if wp.population_covered != ex.population_covered:
            line += f"; with proposed: {wp.coverage_pct:.1f}%"
        lines.append(line)
    return lines


def coverage_lines(result: CoverageResult) -> list[str]:
    """The coverage stage in a few lines: sizes, time, each category, islands."""
    lines = [f"Coverage of {result.config.name}: {len(result.compounds)} compounds, "
             f"{len(result.facilities)} facilities, {result.n_nodes} street nodes "
             f"({sum(result.seconds.values()):.1f} s)"]
    lines += category_lines(result)
    uncovered = int((~result.compounds["all_covered"]).sum())
    lines.append(f"  compounds missing at least one category: {uncovered} of "
                 f"{len(result.compounds)}")
    if len(result.islands):
        lines.append(f"  {len(result.islands)} compounds/facilities reach only a small network "
                     "island (see islands.csv)")
    return lines


def siting_lines(cfg: AreaConfig, siting: SitingOutcome) -> list[str]:
    """The best new sites per category and the sites needed for 95 % / 100 %."""
    lines = [f"New sites ({len(siting.candidates)} candidate sites):"]
    for key, plan in siting.plans.items():
        cat = cfg.category(key)
        opt = plan.optimal
        verdict = ("greedy top-k is also optimal" if plan.greedy_is_optimal
                   else f"greedy top-k covers {plan.greedy_gap:,.0f} less")
        lines.append(
            f"  {cat.label} ({key}): best {opt.n_sites} new sites reach {opt.coverage_pct:.1f}% "
            f"of {cat.demand} (+{opt.demand_gained:,.0f}; {opt.status}); {verdict}")
        for share, res in plan.set_cover.items():
            lines.append(f"    {round(share * 100)}% of reachable demand needs {res.n_sites} "
                         "new sites")
    return lines


def plan_lines(plan: PlanOutcome) -> list[str]:
    """The joint plan: per category the spaces and served demand, the independent answers'
    gap and double-booked spaces, existing facilities over capacity."""
    s = plan.served[plan.served["unit"] == "ALL"].set_index(["category", "scenario"])
    n_spaces = len(plan.spaces)
    n_area = int(plan.spaces["floor_area_m2"].notna().sum()) if "floor_area_m2" in plan.spaces \
        else 0
    lines = [f"Joint plan ({', '.join(f'{c.key} {c.new_sites}' for c in plan.categories)} on "
             f"{n_spaces} candidate spaces, {n_area} with a floor area"
             f"{'; with capacities' if plan.capacitated else ''}): "
             f"{plan.joint.status}, {plan.joint.solve_s + plan.independent.solve_s:.1f} s"]
    for cat in plan.categories:
        ex, jp = s.loc[(cat.key, "existing")], s.loc[(cat.key, "joint_plan")]
        ids = plan.plan[(plan.plan["method"] == "joint_plan")
                        & (plan.plan["category"] == cat.key)]["space_id"]
        what = "served" if plan.capacitated else "covered"
        lines.append(
            f"  {cat.label} ({cat.key}): {len(ids)} new in {', '.join(ids) or 'no space'}; "
            f"{ex.served_pct:.1f}% -> {jp.served_pct:.1f}% of {_demand_label(cat)} {what} "
            f"(+{jp.demand_served - ex.demand_served:,.0f})")
    booked = plan.double_booked()
    alone = "each category planned on its own"
    if not booked:
        lines.append(f"  {alone}: no space used twice (the joint plan is each one's best)")
    else:
        spaces = "; ".join(f"{space} ({', '.join(keys)})" for space, keys in booked.items())
        verdict = (f"serves {plan.gap:,.0f} more on paper" if plan.gap > 0.5
                   else "the joint plan serves as many without that")
        lines.append(f"  {alone} would put two facilities into {spaces}: {verdict}")
    u = plan.utilisation
    over = u[(u["scenario"] == "existing") & u["over_capacity"].astype(bool)]
    if len(over):
        counts = over.groupby("category", sort=False).size()
        lines.append("  existing facilities with more demand than capacity: " + ", ".join(
            f"{n} {key}" for key, n in counts.items()) + " (utilisation.csv)")
    return lines


def batch_lines(res: BatchResult) -> list[str]:
    """Areas done, and every problem of each failed area (indented under its name)."""
    n_ok = sum(o.status == "ok" for o in res.outcomes)
    n_cached = sum(o.cached for o in res.outcomes)
    lines = [f"{n_ok} of {len(res.outcomes)} areas done ({n_cached} from the cache) in "
             f"{res.seconds:.1f} s"]
    for o in res.failed:
        lines.append(f"  FAILED {o.name}:")
        lines += [f"    {line.strip()}" for line in (o.error or "unknown error").splitlines()
                  if line.strip()]
    return lines


def say_results(cfg: AreaConfig, result: CoverageResult, siting: SitingOutcome | None,
                plan: PlanOutcome | None) -> None:
    """The console lines of a run's numbers (printed before its files are written)."""
    say(*coverage_lines(result))
    if siting is not None:
        say(*siting_lines(cfg, siting))
    if plan is not None:
        say(*plan_lines(plan))
