"""``circle15 run``, ``analyze``, ``sites`` and ``plan``: compute, then write everything as one
run of the output folder (through :func:`coverage.runall.run_all`), and say what was done."""

from __future__ import annotations

import argparse
import logging
import os
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import generate, load_study, map_path, out_dir, progress, site_keys
from .console import say, say_results
from .options import positive_int

if TYPE_CHECKING:  # pragma: no cover
    from ..config import AreaConfig, PlanConfig
    from ..inputs import StudyInputs
    from ..network import WalkNetwork
    from ..runall import RunOptions

log = logging.getLogger("coverage")


def _wants_sites(args: argparse.Namespace, cfg: AreaConfig) -> bool:
    return bool(getattr(args, "category", None) or getattr(args, "k", None)
                or any(c.new_sites > 0 for c in cfg.categories))


def _plan_config(args: argparse.Namespace, cfg: AreaConfig) -> PlanConfig | None:
    """What the joint plan plans: ``circle15 plan`` always, ``run`` when the config asks."""
    from dataclasses import replace

    from ..config import PlanConfig

    if args.command != "plan":
        return cfg.plan if args.command == "run" else None
    base = cfg.plan or PlanConfig()
    keys = site_keys(args, cfg) if args.category else base.categories
    return replace(base, categories=tuple(keys),
                   given_proposed=args.given_proposed or base.given_proposed)


def _run_options(args: argparse.Namespace, cfg: AreaConfig, *, sites: bool,
                 full: bool) -> RunOptions:
    """The command line's choices as :class:`coverage.runall.RunOptions`."""
    from ..runall import RunOptions

    return RunOptions(
        full=full, sites=sites, site_categories=site_keys(args, cfg) or None,
        k=getattr(args, "k", None), generate=generate(args),
        given_proposed=getattr(args, "given_proposed", False), plan=_plan_config(args, cfg),
        lang=getattr(args, "lang", "zh"), pdf=getattr(args, "pdf", False),
        progress=progress(args))


def _scenario(args: argparse.Namespace, inputs: StudyInputs) -> tuple[Any, StudyInputs]:
    """``run --scenario DIR``: the scenario, and the inputs with its walks and its sites as
    the proposed stations."""
    from ..serve.scenario import read_scenario, scenario_inputs

    scenario = read_scenario(args.scenario, inputs.config)
    say(f"scenario {scenario.name}: {len(scenario.sites)} sites (the with-proposed columns), "
        "walks as saved")
    return scenario, scenario_inputs(inputs, scenario)


def _map_target(args: argparse.Namespace, run: Any) -> Path:
    """Where the run's map goes: a scenario keeps it in its folder (``map.html``)."""
    if getattr(args, "scenario", None) and not args.map:
        from ..outputs import MAP_FILE

        return Path(run.dir) / MAP_FILE
    return Path(run.external(map_path(args)))


def _coverage_run(args: argparse.Namespace, *, sites: bool, full: bool) -> int:
    """analyze / sites / run: compute, then write everything as one run of the folder."""
    from ..outputs import lock_output, open_run
    from ..runall import run_all

    t0 = time.perf_counter()
    out = out_dir(args)
    command = f"circle15 {args.command} {args.config}"
    # The lock first: a second run into the folder fails at once, not after loading.
    with lock_output(out, command=command):
        cfg, study = load_study(args, sites=sites)
        loaded = time.perf_counter() - t0
        inputs = study.inputs
        network: WalkNetwork | None = study.network
        scenario = None
        if getattr(args, "scenario", None):
            scenario, inputs = _scenario(args, inputs)
            cfg = inputs.config  # same extent (load_area) as the config's run: same network
        with open_run(out, config=cfg, command=command) as run:
            if scenario is not None and out.resolve() != Path(args.scenario).resolve():
                from ..serve.scenario import write_scenario_files

                write_scenario_files(run.dir, scenario)  # results elsewhere name their plan
            run_all(inputs, run.dir, _run_options(args, cfg, sites=sites, full=full),
                    map_path=_map_target(args, run) if full else None, network=network,
                    on_computed=partial(say_results, cfg))
    log.info("stage load: %.2f s", loaded)  # the other stages' times: coverage.runall's log
    say(*(f"  wrote {p}" for p in _listing(out)))
    if full:
        say(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


def _listing(out: Path) -> list[Path]:
    """The files the run's manifest lists: in the folder, then outside it (e.g. the map)."""
    from ..outputs import read_manifest

    manifest = read_manifest(out) or {}
    files = [out / name for name in manifest.get("files", {})]
    return files + [Path(os.path.normpath(out / rel)) for rel in manifest.get("external", {})]


def cmd_run(args: argparse.Namespace) -> int:
    """``circle15 run``: everything, with sites when asked for or the config has new_sites."""
    from ..config import load_config

    cfg = load_config(args.config)
    return _coverage_run(args, sites=_wants_sites(args, cfg), full=True)


def cmd_plan(args: argparse.Namespace) -> int:
    """``circle15 plan``: coverage and the joint plan of several categories."""
    return _coverage_run(args, sites=False, full=False)


def cmd_analyze(args: argparse.Namespace) -> int:
    """``circle15 analyze``: the coverage stage only."""
    return _coverage_run(args, sites=False, full=False)


def cmd_sites(args: argparse.Namespace) -> int:
    """``circle15 sites``: coverage and the new sites."""
    return _coverage_run(args, sites=True, full=False)


def add_sites_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--k", type=positive_int, help="new sites per category (default: new_sites)")
    p.add_argument("--category", action="append",
                   help="category to site, by key or label (repeatable; default: those with "
                   "new_sites)")
    p.add_argument("--generate-candidates", action="store_true",
                   help="also generate candidates on streets in uncovered areas")
    p.add_argument("--given-proposed", action="store_true",
                   help="treat the planned stations as built before choosing new sites")


def add_scenario_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", metavar="DIR",
                   help="rerun a scenario saved by `circle15 serve` (results go into DIR unless "
                   "--out is given)")


def add_plan_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--category", action="append",
                   help="category key to plan (repeatable; default: [plan] categories, or "
                        "those with new_sites)")
    p.add_argument("--given-proposed", action="store_true",
                   help="treat the planned stations as existing facilities")
