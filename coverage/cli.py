"""The ``circle15`` command: one thin function per subcommand.

Exit codes: 0 ok, 2 bad input (a message naming file, row, field and fix; no traceback),
1 anything unexpected.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .errors import Circle15Error, InputError

__all__ = ["main"]

log = logging.getLogger("coverage")


def _default_out(config_path: str) -> Path:
    return Path("out") / Path(config_path).resolve().parent.name


def _load(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from .config import load_config
    from .inputs import load_inputs

    cfg = load_config(args.config)
    return cfg, load_inputs(cfg)


def _out_dir(args: argparse.Namespace) -> Path:
    return Path(args.out) if args.out else _default_out(args.config)


def cmd_validate(args: argparse.Namespace) -> int:
    from .inputs import summarize_inputs

    _, inputs = _load(args)
    print(summarize_inputs(inputs), end="")
    print("OK: no problems found")
    return 0


def _write_inputs(inputs, out: Path) -> Path:  # type: ignore[no-untyped-def]
    from .io import write_gpkg

    layers = {
        "boundaries": inputs.boundaries,
        "compounds": inputs.compounds,
        "facilities": inputs.facilities,
        "proposed": inputs.proposed,
    }
    if inputs.candidates is not None:
        layers["candidates"] = inputs.candidates
    return write_gpkg(out / "inputs.gpkg", layers)


def _wants_sites(args: argparse.Namespace, cfg) -> bool:  # type: ignore[no-untyped-def]
    return bool(getattr(args, "category", None) or getattr(args, "k", None)
                or any(c.new_sites > 0 for c in cfg.categories))


def _analyze(args: argparse.Namespace, inputs, out: Path, *,  # type: ignore[no-untyped-def]
             sites: bool = False):
    from .pipeline import analyze, category_console_lines, write_coverage

    result = analyze(inputs, progress=not args.quiet)
    siting = None
    if sites:
        from .planning import select_sites

        siting = select_sites(
            result, categories=getattr(args, "category", None), k=getattr(args, "k", None),
            generate=True if getattr(args, "generate_candidates", False) else None,
            given_proposed=getattr(args, "given_proposed", False), progress=not args.quiet)
    paths = write_coverage(result, out, siting)
    print(f"Coverage of {result.config.name}: {len(result.compounds)} compounds, "
          f"{len(result.facilities)} facilities, {result.network.n_nodes} street nodes "
          f"({sum(result.seconds.values()):.1f} s)")
    for line in category_console_lines(result):
        print(line)
    uncovered = int((~result.compounds["all_covered"]).sum())
    print(f"  compounds missing at least one category: {uncovered} of {len(result.compounds)}")
    if len(result.islands):
        print(f"  {len(result.islands)} compounds/facilities reach only a small network island "
              "(see the log)")
    if siting is not None:
        for line in _siting_lines(result.config, siting):
            print(line)
    for p in paths:
        print(f"  wrote {p}")
    return result


def _siting_lines(cfg, siting) -> list[str]:  # type: ignore[no-untyped-def]
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


def cmd_analyze(args: argparse.Namespace) -> int:
    _, inputs = _load(args)
    _analyze(args, inputs, _out_dir(args))
    return 0


def cmd_sites(args: argparse.Namespace) -> int:
    _, inputs = _load(args)
    _analyze(args, inputs, _out_dir(args), sites=True)
    return 0


def _map_path(args: argparse.Namespace) -> Path:
    if getattr(args, "map", None):
        return Path(args.map)
    return Path("maps") / f"{Path(args.config).resolve().parent.name}_coverage.html"


def _write_report(args: argparse.Namespace, cfg, out: Path) -> list[Path]:  # type: ignore[no-untyped-def]
    """The report files (and, with --pdf, report.pdf) from the results in ``out``."""
    from .report import write_report
    from .results import read_results

    return write_report(read_results(out, cfg), out, lang=args.lang,
                        pdf=getattr(args, "pdf", False))


def _map_and_report(args: argparse.Namespace, cfg, out: Path) -> None:  # type: ignore[no-untyped-def]
    from .maps import write_map

    print(f"  wrote {write_map(cfg, out, _map_path(args), lang=args.lang)}")
    for p in _write_report(args, cfg, out):
        print(f"  wrote {p}")


def _need_results(out: Path) -> None:
    if not (out / "coverage.gpkg").exists():
        raise InputError(f"no results in {out}: run `circle15 analyze` (or `run`) first, "
                         "or pass the --out folder you used")


def cmd_map(args: argparse.Namespace) -> int:
    from .config import load_config
    from .maps import write_map

    cfg = load_config(args.config)
    out = _out_dir(args)
    _need_results(out)
    print(f"wrote {write_map(cfg, out, _map_path(args), lang=args.lang)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .config import load_config

    cfg = load_config(args.config)
    out = _out_dir(args)
    _need_results(out)
    for p in _write_report(args, cfg, out):
        print(f"wrote {p}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    cfg, inputs = _load(args)
    out = _out_dir(args)
    out.mkdir(parents=True, exist_ok=True)
    print(f"wrote {_write_inputs(inputs, out)}")
    _analyze(args, inputs, out, sites=_wants_sites(args, cfg))
    _map_and_report(args, cfg, out)
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="circle15",
        description="Which homes are not within a 15-minute walk of the services they need, "
        "and where new facilities should go.",
    )
    parser.add_argument("--version", action="version", version=f"circle15 {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-v info, -vv debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str,
            out: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("config", help="study-area config (area.toml)")
        if out:
            p.add_argument("--out", help="output folder (default: out/<config folder name>)")
        p.set_defaults(func=func)
        return p

    def lang(p: argparse.ArgumentParser) -> None:
        p.add_argument("--lang", choices=("zh", "en"), default="zh",
                       help="language of the map and report (default zh)")

    def map_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--map", help="map file (default: maps/<config folder>_coverage.html)")

    add("validate", cmd_validate, "check every input file and print a summary", out=False)
    def pdf_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--pdf", action="store_true",
                       help="also write report.pdf (A4; needs WeasyPrint's Pango, see README)")

    p = add("run", cmd_run, "the whole analysis: validate, coverage, sites, map and report")
    lang(p)
    map_arg(p)
    pdf_arg(p)
    add("analyze", cmd_analyze, "walking coverage of every compound and category")
    p = add("sites", cmd_sites, "rank candidate sites and choose new ones (also writes coverage)")
    p.add_argument("--k", type=int, help="new sites per category (default: new_sites)")
    p.add_argument("--category", action="append",
                   help="category key to site (repeatable; default: those with new_sites)")
    p.add_argument("--generate-candidates", action="store_true",
                   help="also generate candidates on streets in uncovered areas")
    p.add_argument("--given-proposed", action="store_true",
                   help="treat the planned stations as built before choosing new sites")
    p = add("map", cmd_map, "the interactive coverage map from an output folder")
    lang(p)
    map_arg(p)
    p = add("report", cmd_report, "report.html, report.xlsx and sensitivity.csv (and --pdf: "
            "report.pdf) from an output folder")
    lang(p)
    pdf_arg(p)

    from .fetch import add_fetch_arguments, run_fetch

    help_ = "build a study-area folder from OpenStreetMap (online, or from an .osm.pbf)"
    p = sub.add_parser("fetch", help=help_, description=help_)
    add_fetch_arguments(p)
    p.set_defaults(func=run_fetch)

    from .batch import add_batch_arguments, run_batch

    help_ = "many study areas at once (optionally on a Dask cluster)"
    p = sub.add_parser("batch", help=help_, description=help_)
    add_batch_arguments(p)
    p.set_defaults(func=run_batch)
    return parser


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    # Third-party chatter stays at WARNING unless -vv.
    if verbose < 2:
        for name in ("osmnx", "pyogrio", "fiona", "urllib3"):
            logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``circle15`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"circle15: {exc}", file=sys.stderr)
        return 2
    except Circle15Error as exc:
        print(f"circle15: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except KeyboardInterrupt:
        print("circle15: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"circle15: unexpected error: {type(exc).__name__}: {exc}\n"
              "This is a bug; run again with --debug for the traceback and report it.",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
