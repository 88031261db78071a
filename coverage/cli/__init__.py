"""The ``circle15`` command: the only module that parses arguments or prints.

One function per subcommand (``cmd_*``) and one per group of options (``add_*_options``); the
console lines are made here from the library's results.

Exit codes: 0 ok; 2 the planner can fix it (bad input, a busy, read-only or full output
folder: a message naming file, row, field and fix; no traceback); 1 anything unexpected (a bug:
``--debug`` shows the traceback); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM). An
interrupted or failed run leaves its output folder as it was (see :mod:`coverage.outputs`).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import Circle15Error, InputError, Problem

if TYPE_CHECKING:  # pragma: no cover
    from .batch import BatchResult
    from .config import AreaConfig, Category, PlanConfig
    from .inputs import Study, StudyInputs
    from .jointplan.stage import PlanOutcome
    from .network import WalkNetwork
    from .pipeline import CoverageResult
    from .planning import SitingOutcome
    from .results import Results
    from .runall import RunOptions

__all__ = ["build_parser", "main"]

log = logging.getLogger("coverage")

class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is so that every clean-up runs (exit code 143)."""


# --- paths -------------------------------------------------------------------------------------


def _default_out(config: Path) -> Path:
    return Path("out") / config.resolve().parent.name


def _out_dir(args: argparse.Namespace) -> Path:
    if args.out:
        return Path(args.out)
    if getattr(args, "scenario", None):
        return Path(args.scenario)  # a scenario's results go beside its definition
    return _default_out(args.config)


def _map_path(args: argparse.Namespace) -> Path:
    if getattr(args, "map", None):
        return Path(args.map)
    return Path("maps") / f"{args.config.resolve().parent.name}_coverage.html"


def _preflight(args: argparse.Namespace) -> None:
    """Refuse unusable paths before any work (config folder, --out, --map)."""
    from .config import config_file
    from .outputs import check_map_path, check_out_dir

    if hasattr(args, "config"):
        args.config = config_file(args.config)
        if hasattr(args, "out"):
            check_out_dir(_out_dir(args))
    elif args.command == "batch":
        check_out_dir(args.out)
    if hasattr(args, "map"):
        check_map_path(_map_path(args))


def _progress(args: argparse.Namespace) -> bool:
    return not args.quiet


# --- console lines -----------------------------------------------------------------------------


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


def _say_results(cfg: AreaConfig, result: CoverageResult, siting: SitingOutcome | None,
                 plan: PlanOutcome | None) -> None:
    """The console lines of a run's numbers (printed before its files are written)."""
    _say(*coverage_lines(result))
    if siting is not None:
        _say(*siting_lines(cfg, siting))
    if plan is not None:
        _say(*plan_lines(plan))


def _say(*lines: str) -> None:
    # flushed: a line such as serve's address must reach a pipe (a supervisor, a test) at once,
    # not when Python's block buffer fills
    for line in lines:
        print(line, flush=True)


# --- subcommands -------------------------------------------------------------------------------


def _site_keys(args: argparse.Namespace, cfg: AreaConfig) -> list[str]:
    """Categories to site: --category (keys or the config's labels), else new_sites > 0."""
    if getattr(args, "category", None):
        return [cfg.category_key(c) for c in args.category]
    return [c.key for c in cfg.categories if c.new_sites > 0]


def _load(args: argparse.Namespace, *, sites: bool) -> tuple[AreaConfig, Study]:
    """The config and the checked study (inputs + network): validate and run check the same."""
    from .config import load_config
    from .inputs import check_study

    cfg = load_config(args.config)
    study = check_study(
        cfg, strict=getattr(args, "strict", False),
        site_categories=_site_keys(args, cfg) if sites else [],
        generate=True if getattr(args, "generate_candidates", False) else None,
        check_streets=args.command == "validate", progress=_progress(args))
    return cfg, study


def _wants_sites(args: argparse.Namespace, cfg: AreaConfig) -> bool:
    return bool(getattr(args, "category", None) or getattr(args, "k", None)
                or any(c.new_sites > 0 for c in cfg.categories))


def _plan_config(args: argparse.Namespace, cfg: AreaConfig) -> PlanConfig | None:
    """What the joint plan plans: ``circle15 plan`` always, ``run`` when the config asks."""
    from dataclasses import replace

    from .config import PlanConfig

    if args.command != "plan":
        return cfg.plan if args.command == "run" else None
    base = cfg.plan or PlanConfig()
    keys = _site_keys(args, cfg) if args.category else base.categories
    return replace(base, categories=tuple(keys),
                   given_proposed=args.given_proposed or base.given_proposed)


def _run_options(args: argparse.Namespace, cfg: AreaConfig, *, sites: bool,
                 full: bool) -> RunOptions:
    """The command line's choices as :class:`coverage.runall.RunOptions`."""
    from .runall import RunOptions

    return RunOptions(
        full=full, sites=sites, site_categories=_site_keys(args, cfg) or None,
        k=getattr(args, "k", None),
        generate=True if getattr(args, "generate_candidates", False) else None,
        given_proposed=getattr(args, "given_proposed", False), plan=_plan_config(args, cfg),
        lang=getattr(args, "lang", "zh"), pdf=getattr(args, "pdf", False),
        progress=_progress(args))


def _scenario(args: argparse.Namespace, inputs: StudyInputs) -> tuple[Any, StudyInputs]:
    """``run --scenario DIR``: the scenario, and the inputs with its walks and its sites as
    the proposed stations."""
    from .serve.scenario import read_scenario, scenario_inputs

    scenario = read_scenario(args.scenario, inputs.config)
    _say(f"scenario {scenario.name}: {len(scenario.sites)} sites (the with-proposed columns), "
         "walks as saved")
    return scenario, scenario_inputs(inputs, scenario)


def _map_target(args: argparse.Namespace, run: Any) -> Path:
    """Where the run's map goes: a scenario keeps it in its folder (``map.html``)."""
    if getattr(args, "scenario", None) and not args.map:
        from .serve.export import MAP_FILE

        return Path(run.dir) / MAP_FILE
    return Path(run.external(_map_path(args)))


def _coverage_run(args: argparse.Namespace, *, sites: bool, full: bool) -> int:
    """analyze / sites / run: compute, then write everything as one run of the folder."""
    from .outputs import lock_output, open_run
    from .runall import run_all

    t0 = time.perf_counter()
    out = _out_dir(args)
    command = f"circle15 {args.command} {args.config}"
    # The lock first: a second run into the folder fails at once, not after loading.
    with lock_output(out, command=command):
        cfg, study = _load(args, sites=sites)
        loaded = time.perf_counter() - t0
        inputs = study.inputs
        network: WalkNetwork | None = study.network
        scenario = None
        if getattr(args, "scenario", None):
            scenario, inputs = _scenario(args, inputs)
            cfg = inputs.config  # same extent (load_area) as the config's run: same network
        with open_run(out, config=cfg, command=command) as run:
            if scenario is not None and out.resolve() != Path(args.scenario).resolve():
                from .serve.scenario import write_scenario_files

                write_scenario_files(run.dir, scenario)  # results elsewhere name their plan
            run_all(inputs, run.dir, _run_options(args, cfg, sites=sites, full=full),
                    map_path=_map_target(args, run) if full else None, network=network,
                    on_computed=partial(_say_results, cfg))
    log.info("stage load: %.2f s", loaded)  # the other stages' times: coverage.runall's log
    _say(*(f"  wrote {p}" for p in _listing(out)))
    if full:
        _say(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


def _listing(out: Path) -> list[Path]:
    from .outputs import read_manifest

    manifest = read_manifest(out) or {}
    files = [out / name for name in manifest.get("files", {})]
    return files + [Path(os.path.normpath(out / rel)) for rel in manifest.get("external", {})]


def _write_map(args: argparse.Namespace, results: Results, path: Path) -> Path:
    from .maps import write_map

    return write_map(results, path, lang=args.lang, progress=_progress(args))


def _write_report(args: argparse.Namespace, results: Results, folder: Path) -> list[Path]:
    """The report files (and, with --pdf, report.pdf) of ``results`` into ``folder``, and the
    QGIS hand-off: coverage.qgz, and coverage.gpkg restyled in place (both listed)."""
    from .qgis import write_qgis
    from .report import write_report

    paths = write_report(results, folder, lang=args.lang, pdf=getattr(args, "pdf", False))
    return [*paths, *write_qgis(results, folder, lang=args.lang)]


def cmd_validate(args: argparse.Namespace) -> int:
    from .inputs import summarize_inputs

    _, study = _load(args, sites=True)
    print(summarize_inputs(study.inputs), end="")
    print("OK: no problems found")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .config import load_config

    cfg = load_config(args.config)
    return _coverage_run(args, sites=_wants_sites(args, cfg), full=True)


def cmd_plan(args: argparse.Namespace) -> int:
    """``circle15 plan``: coverage and the joint plan of several categories."""
    return _coverage_run(args, sites=False, full=False)


def cmd_analyze(args: argparse.Namespace) -> int:
    return _coverage_run(args, sites=False, full=False)


def cmd_sites(args: argparse.Namespace) -> int:
    return _coverage_run(args, sites=True, full=False)


def _read_results(args: argparse.Namespace) -> tuple[Results, Path]:
    """The results of a finished run of the config, and their output folder."""
    from .config import load_config
    from .results import read_results

    cfg = load_config(args.config)
    out = _out_dir(args)
    if not out.is_dir():
        raise InputError(Problem(str(out), None, None, "no such folder", "run `circle15 run` "
                                 "first, or pass the --out folder you used"))
    # refuses missing, unfinished, changed or config-mismatched results
    return read_results(out, cfg), out


def cmd_map(args: argparse.Namespace) -> int:
    from .outputs import open_run

    results, out = _read_results(args)
    with open_run(out, extend=True, command="circle15 map") as run:
        _write_map(args, results, run.external(_map_path(args)))
    print(f"wrote {_map_path(args)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .outputs import open_run

    results, out = _read_results(args)
    with open_run(out, extend=True, command="circle15 report") as run:
        paths = _write_report(args, results, out)
        run.add(*paths)
    for p in paths:
        print(f"wrote {p}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """``circle15 serve``: the what-if workspace, until Ctrl-C."""
    import webbrowser

    from .serve import bind, is_loopback, new_token, serve_forever, url_for

    sock = bind(args.host, args.port)  # fail at once when the port is taken
    try:
        _, study = _load(args, sites=False)
        inputs = study.inputs
        from .serve.app import create_app
        from .serve.workspace import Workspace

        _say(f"circle15 serve: loading {inputs.config.name} ...")
        ws = Workspace(inputs, progress=_progress(args))
        loopback = is_loopback(args.host)
        token = None if loopback else new_token()
        out = _out_dir(args)
        app = create_app(ws, out_dir=out, lang=args.lang, token=token, loopback=loopback)
        url = url_for(sock, args.host, token)
        _say(f"circle15 serve: open {url}  (Ctrl-C stops; scenarios are saved in "
             f"{out / 'scenarios'})")
        if token:
            _say("  anyone with this address (and its token) can edit the plan: share it only "
                 "with your team")
        if not args.no_browser:
            webbrowser.open(url)
        serve_forever(app, sock, quiet=args.verbose == 0)
    finally:
        sock.close()
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    """``circle15 fetch``: a study-area snapshot folder from OSM; prints where it went."""
    from .fetch import FetchOptions, fetch_area

    toml_path = fetch_area(FetchOptions(
        units=args.units or (), within=args.within, boundary=args.boundary, bbox=args.bbox,
        from_pbf=args.from_pbf, preset=args.preset, out=args.out, name=args.name,
        category_config=args.category_config, speed_m_s=args.speed,
        m2_per_person=args.m2_per_person, default_levels=args.default_levels,
        share_60plus=args.share_60plus, cache_folder=args.cache_dir, timeout_s=args.timeout,
        retries=args.retries, overpass_url=args.overpass_url, nominatim_url=args.nominatim_url,
        overwrite=args.force,
    ))
    print(f"Snapshot written to {toml_path.parent}")
    print(f"Next: circle15 run {toml_path}")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    """``circle15 batch``: 0 when every area ran, 2 when some had bad input."""
    from .batch import run_batch_file

    with _dask_client(args) as client:
        res = run_batch_file(args.batch, args.out, client=client, maps=args.maps,
                             tiles=args.tiles, progress=_progress(args), lang=args.lang)
    _say(*batch_lines(res))
    _say(*(f"  wrote {p}" for p in res.paths))
    return 0 if not res.failed else 2


@contextmanager
def _dask_client(args: argparse.Namespace) -> Iterator[Any]:
    if not args.scheduler:
        yield None
        return
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("circle15: dask is not installed (pip install 'circle15[dask]'): running the "
              "areas one after the other", file=sys.stderr)
        yield None
        return
    from .batch import cluster_client

    _quiet_third_party(args.verbose)  # distributed set its own log levels on import
    client = cluster_client(args.scheduler, args.workers)
    try:
        yield client
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()


# --- options -----------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def add_global_options(p: argparse.ArgumentParser, *, sub: bool = False) -> None:
    """-v/-q/--debug; accepted before and after the subcommand (``sub``: the latter)."""
    suffix = "_sub" if sub else ""
    default: Any = argparse.SUPPRESS if sub else None
    p.add_argument("-v", "--verbose", action="count", dest="verbose" + suffix,
                   default=default if sub else 0,
                   help="more log output (-v progress log incl. Dask's, -vv debug)")
    p.add_argument("-q", "--quiet", action="store_true", dest="quiet" + suffix,
                   default=default if sub else False, help="no progress bars")
    p.add_argument("--debug", action="store_true", dest="debug" + suffix,
                   default=default if sub else False,
                   help="show tracebacks of unexpected errors")


def add_config_options(p: argparse.ArgumentParser, *, out: bool = True) -> None:
    p.add_argument("config", help="study-area config (area.toml, or its folder)")
    if out:
        p.add_argument("--out", help="output folder (default: out/<config folder name>)")


def add_strict_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strict", action="store_true",
                   help="points outside the study area and rows of categories not in the config "
                   "are errors (default: left out with a warning and listed in dropped.csv)")


def add_lang_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=("zh", "en"), default="zh",
                   help="language of the map and report (default zh)")


def add_pdf_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pdf", action="store_true",
                   help="also write report.pdf (A4; needs WeasyPrint's Pango, see README)")


def add_map_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--map", help="map file (default: maps/<config folder>_coverage.html)")


def add_sites_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--k", type=_positive_int, help="new sites per category (default: new_sites)")
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


def add_serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; any other requires the token "
                   "printed in the address)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")


def add_plan_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--category", action="append",
                   help="category key to plan (repeatable; default: [plan] categories, or "
                        "those with new_sites)")
    p.add_argument("--given-proposed", action="store_true",
                   help="treat the planned stations as existing facilities")


def add_batch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("batch", help="batch file (TOML: [[area]] configs or one [split])")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--scheduler", default=None,
                   help="'local' (start a cluster of --workers processes) or a Dask scheduler "
                        "address tcp://HOST:8786 (default: run here, one area after the other)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="worker processes for --scheduler local (default: CPU count)")
    p.add_argument("--tiles", type=_positive_int, default=None,
                   help="split each area's computation into N tiles (same results)")
    p.add_argument("--maps", action="store_true",
                   help="also write each area's map and report (slower)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh",
                   help="language of the overview map (default zh)")


def add_fetch_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``circle15 fetch`` options (defaults from :mod:`coverage.fetch.options`)."""
    from .fetch import options as fo
    from .presets import PRESETS

    where = parser.add_argument_group("study area (one of)")
    where.add_argument("--units", help="unit names, comma-separated (e.g. 回龙观街道,龙泽园街道); "
                       "with --boundary: which of the file's units to keep")
    where.add_argument("--boundary", type=Path, metavar="FILE",
                       help="polygon file of the units (GeoJSON/GPKG/shapefile)")
    where.add_argument("--bbox", metavar="W,S,E,N", help="rectangle in degrees (WGS-84)")
    parser.add_argument("--within", help="parent area for geocoding, e.g. 北京市昌平区")
    parser.add_argument("--from-pbf", type=Path, metavar="FILE",
                        help="read a downloaded .osm.pbf extract instead of the internet")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="snapshot folder to create (e.g. data/huilongguan/)")
    parser.add_argument("--force", action="store_true", help="replace an existing --out folder")
    parser.add_argument("--name", help="area name (default: the unit names)")
    parser.add_argument("--preset", default=fo.DEFAULT_PRESET, choices=PRESETS,
                        help=f"facility categories (default {fo.DEFAULT_PRESET})")
    parser.add_argument("--config", type=Path, metavar="AREA_TOML", dest="category_config",
                        help="override/add categories with this file's [[category]] blocks")
    parser.add_argument("--speed", type=float, default=fo.DEFAULT_SPEED_M_S, metavar="M_S",
                        help=f"walking speed for area.toml (m/s, default {fo.DEFAULT_SPEED_M_S})")
    parser.add_argument("--m2-per-person", type=float, default=fo.DEFAULT_M2_PER_PERSON,
                        help="residential floor area per resident, m² (default "
                             f"{fo.DEFAULT_M2_PER_PERSON:g}, Beijing order of magnitude)")
    parser.add_argument("--default-levels", type=float, default=fo.DEFAULT_LEVELS,
                        help="storeys of residential buildings without building:levels "
                             f"(default {fo.DEFAULT_LEVELS})")
    parser.add_argument("--share-60plus", type=float, default=fo.DEFAULT_SHARE_60PLUS,
                        help=f"share of residents aged 60+ (default {fo.DEFAULT_SHARE_60PLUS}, "
                             "Beijing 2020 census)")
    net = parser.add_argument_group("download")
    net.add_argument("--cache-dir", type=Path, help="osmnx download cache folder "
                     f"(default {fo.default_cache_folder()})")
    net.add_argument("--timeout", type=float, default=fo.DEFAULT_TIMEOUT_S,
                     help="seconds per request")
    net.add_argument("--retries", type=int, default=fo.DEFAULT_RETRIES,
                     help="attempts per download")
    net.add_argument("--overpass-url", help="Overpass API endpoint (a mirror)")
    net.add_argument("--nominatim-url", help="Nominatim endpoint (a mirror)")


def add_fetch_command(sub: Any) -> None:
    help_ = "build a study-area folder from OpenStreetMap (online, or from an .osm.pbf)"
    p = sub.add_parser("fetch", help=help_, description=help_)
    add_global_options(p, sub=True)
    add_fetch_arguments(p)
    p.set_defaults(func=cmd_fetch)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="circle15",
        description="Which homes are not within a 15-minute walk of the services they need, "
        "and where new facilities should go.",
    )
    parser.add_argument("--version", action="version", version=f"circle15 {__version__}")
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str,
            *options: Callable[[argparse.ArgumentParser], None],
            out: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        add_global_options(p, sub=True)
        add_config_options(p, out=out)
        for option in options:
            option(p)
        p.set_defaults(func=func)
        return p

    add("validate", cmd_validate, "check every input file and print a summary",
        add_strict_options, out=False)
    add("run", cmd_run, "the whole analysis: validate, coverage, sites, map and report",
        add_strict_options, add_lang_options, add_map_options, add_pdf_options,
        add_scenario_options)
    add("analyze", cmd_analyze, "walking coverage of every compound and category",
        add_strict_options)
    add("sites", cmd_sites, "rank candidate sites and choose new ones (also writes coverage)",
        add_strict_options, add_sites_options)
    add("plan", cmd_plan, "plan all categories at once on the candidate spaces, with floor "
        "areas and capacities (also writes coverage)", add_strict_options, add_plan_options)
    add("map", cmd_map, "the interactive coverage map from an output folder", add_lang_options,
        add_map_options)
    add("report", cmd_report, "report.html, report.xlsx and sensitivity.csv (and --pdf: "
        "report.pdf) from an output folder", add_lang_options, add_pdf_options)
    add("serve", cmd_serve, "what-if workspace in the browser: place, move and optimise sites "
        "and see coverage change at once", add_lang_options, add_serve_options)
    add_fetch_command(sub)
    help_ = "many study areas at once (optionally on a Dask cluster)"
    p = sub.add_parser("batch", help=help_, description=help_)
    add_global_options(p, sub=True)
    add_batch_options(p)
    p.set_defaults(func=cmd_batch)
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line; global options count wherever they stand."""
    args = build_parser().parse_args(argv)
    args.verbose += getattr(args, "verbose_sub", 0)
    args.quiet = args.quiet or getattr(args, "quiet_sub", False)
    args.debug = args.debug or getattr(args, "debug_sub", False)
    return args


# --- logging, signals, errors -------------------------------------------------------------------

_PROGRESS_LOGS = ("distributed", "dask")  # a cluster's start-up and workers: shown with -v
_CHATTY = ("osmnx", "pyogrio", "fiona", "urllib3", "tornado", "bokeh")  # only with -vv


def _quiet_third_party(verbose: int) -> None:
    """Dask's INFO log only with -v, other libraries' only with -vv (debug)."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    for name in _PROGRESS_LOGS:
        logging.getLogger(name).setLevel(level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    _quiet_third_party(verbose)


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def _quiet_unraisable(hook: Callable[[Any], object]) -> Callable[[Any], object]:
    """A ``sys.unraisablehook`` that says nothing about an interrupt landing in a finaliser or
    a callback (Python would print "Exception ignored ... Traceback"): main() reports it."""
    def unraisable(info: Any) -> object:
        if isinstance(info.exc_value, KeyboardInterrupt):
            return None
        return hook(info)
    return unraisable


@contextmanager
def _signals() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C (clean-up runs, then exit 143); restored afterwards."""
    hook = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable(hook)
    try:
        before = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread (e.g. called from a worker thread)
        before = None
    try:
        yield
    finally:
        if before is not None:
            signal.signal(signal.SIGTERM, before)
        sys.unraisablehook = hook


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_NO_PERMISSION = (errno.EACCES, errno.EPERM, errno.EROFS)


def _os_error_message(exc: OSError) -> str | None:
    """The planner's fix for a file-system error they can do something about, else None."""
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in _DISK_FULL:
        return (f"the disk is full{where}: nothing was changed in the output folder. "
                "Fix: free some space, or give --out a folder on another disk")
    if exc.errno in _NO_PERMISSION:
        return (f"no permission to write{where}: {exc.strerror}. Fix: give --out (or --map) a "
                "folder you can write to")
    return None


def _run(args: argparse.Namespace) -> int:
    _configure_logging(args.verbose)
    _preflight(args)
    return int(args.func(args))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``circle15`` command; returns the exit code."""
    debug = False
    try:
        with _signals():
            args = parse_args(argv)
            debug = args.debug
            return _run(args)
    except InputError as exc:
        print(f"circle15: {exc}", file=sys.stderr)
        return 2
    except Circle15Error as exc:
        print(f"circle15: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except Terminated:
        print("circle15: terminated; the output folder is unchanged", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("circle15: interrupted; the output folder is unchanged", file=sys.stderr)
        return 130
    except OSError as exc:
        message = _os_error_message(exc)
        if message is None:
            return _bug(exc, debug)
        print(f"circle15: {message}", file=sys.stderr)
        return 2
    except Exception as exc:
        return _bug(exc, debug)


def _bug(exc: Exception, debug: bool) -> int:
    if debug:
        raise exc
    print(f"circle15: unexpected error: {type(exc).__name__}: {exc}\n"
          "This is a bug; run again with --debug for the traceback and report it.",
          file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
