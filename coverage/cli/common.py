"""What the subcommands share: paths from the options, the checks before any work, and loading
a study (``validate``, ``run`` and ``serve`` check the same) or a finished run's results."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError, Problem

if TYPE_CHECKING:  # pragma: no cover
    from ..config import AreaConfig
    from ..inputs import Study
    from ..results import Results


def default_out(config: Path) -> Path:
    """``out/<config folder name>``: the output folder when --out is not given."""
    return Path("out") / config.resolve().parent.name


def out_dir(args: argparse.Namespace) -> Path:
    """The output folder: --out, else a scenario's own folder, else :func:`default_out`."""
    if args.out:
        return Path(args.out)
    if getattr(args, "scenario", None):
        return Path(args.scenario)  # a scenario's results go beside its definition
    return default_out(args.config)


def map_path(args: argparse.Namespace) -> Path:
    """The map file: --map, else ``maps/<config folder name>_coverage.html``."""
    if getattr(args, "map", None):
        return Path(args.map)
    return Path("maps") / f"{args.config.resolve().parent.name}_coverage.html"


def preflight(args: argparse.Namespace) -> None:
    """Refuse unusable paths before any work (config folder, --out, --map)."""
    from ..config import config_file
    from ..outputs import check_map_path, check_out_dir

    if hasattr(args, "config"):
        args.config = config_file(args.config)
        if hasattr(args, "out"):
            check_out_dir(out_dir(args))
    elif args.command == "batch":
        check_out_dir(args.out)
    if hasattr(args, "map"):
        check_map_path(map_path(args))


def progress(args: argparse.Namespace) -> bool:
    """Whether to show progress bars (not with -q)."""
    return not args.quiet


def site_keys(args: argparse.Namespace, cfg: AreaConfig) -> list[str]:
    """Categories to site: --category (keys or the config's labels), else new_sites > 0."""
    if getattr(args, "category", None):
        return [cfg.category_key(c) for c in args.category]
    return [c.key for c in cfg.categories if c.new_sites > 0]


def generate(args: argparse.Namespace) -> bool | None:
    """--generate-candidates: True (generate them); else None (as the config says)."""
    return True if getattr(args, "generate_candidates", False) else None


def load_study(args: argparse.Namespace, *, sites: bool) -> tuple[AreaConfig, Study]:
    """The config and the checked study (inputs + network): validate and run check the same."""
    from ..config import load_config
    from ..inputs import check_study

    cfg = load_config(args.config)
    study = check_study(
        cfg, strict=getattr(args, "strict", False),
        site_categories=site_keys(args, cfg) if sites else [],
        generate=generate(args), check_streets=args.command == "validate", progress=progress(args))
    return cfg, study


def read_run(args: argparse.Namespace) -> tuple[Results, Path]:
    """The results of a finished run of the config, and their output folder."""
    from ..config import load_config
    from ..results import read_results

    cfg = load_config(args.config)
    out = out_dir(args)
    if not out.is_dir():
        raise InputError(Problem(str(out), None, None, "no such folder", "run `circle15 run` "
                                 "first, or pass the --out folder you used"))
    # refuses missing, unfinished, changed or config-mismatched results
    return read_results(out, cfg), out
