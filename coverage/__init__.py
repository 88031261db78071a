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

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from . import errors
from .errors import Circle15Error, ConfigError, InputError, SolverError

__version__ = "0.1.0"  # the one place the version is written: pyproject.toml reads it here

if TYPE_CHECKING:  # pragma: no cover
    from . import config, coords
    from .config import AreaConfig, Category, load_config
    from .inputs import StudyInputs, load_inputs
    from .outputs import write_coverage
    from .pipeline import CoverageResult, analyze
    from .planning import SitingOutcome, select_sites


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

# The rest of the API is imported on first use: `circle15 --help` and an early Ctrl-C stay quick
# and quiet, and `import coverage` does not load geopandas until it is needed.
_LAZY = {
    "AreaConfig": "config", "Category": "config", "load_config": "config",
    "StudyInputs": "inputs", "load_inputs": "inputs",
    "CoverageResult": "pipeline", "analyze": "pipeline",
    "SitingOutcome": "planning", "select_sites": "planning",
    "write_coverage": "outputs",
}
_SUBMODULES = ("config", "coords")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


# Quiet by default: the library logs, the application (our CLI, or yours) decides what to show.
logging.getLogger(__name__).addHandler(logging.NullHandler())
