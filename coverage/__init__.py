"""circle15: which homes are not within a 15-minute walk of the services they need.

The import package is ``coverage``; the distribution and command are ``circle15``.

Public API (each stage is a function call; only ``write_*`` touch files)::

    from coverage import load_config, load_inputs, analyze, select_sites, write_coverage

    cfg = load_config("data/huitian/area.toml")
    inputs = load_inputs(cfg)              # validated, projected to cfg.crs
    result = analyze(inputs)               # walking minutes per compound and category
    siting = select_sites(result)          # ranked, optimal and set-cover new sites
    write_coverage(result, "out/huitian", siting)
"""

import logging
from importlib.metadata import PackageNotFoundError, version

from . import config, coords, errors
from .config import AreaConfig, Category, load_config
from .errors import Circle15Error, ConfigError, InputError, SolverError
from .inputs import StudyInputs, load_inputs
from .pipeline import CoverageResult, analyze, write_coverage
from .planning import SitingOutcome, select_sites

try:
    __version__ = version("circle15")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "AreaConfig",
    "Category",
    "Circle15Error",
    "ConfigError",
    "CoverageResult",
    "InputError",
    "SitingOutcome",
    "SolverError",
    "StudyInputs",
    "__version__",
    "analyze",
    "config",
    "coords",
    "errors",
    "load_config",
    "load_inputs",
    "select_sites",
    "write_coverage",
]

# Quiet by default: the library logs, the application (our CLI, or yours) decides what to show.
logging.getLogger(__name__).addHandler(logging.NullHandler())
