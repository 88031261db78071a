"""Study-area configuration: one TOML file per area -> one frozen :class:`AreaConfig`.

Paths in the file are relative to the file. The file is parsed section by section (one parser
per section: ``[area]``, ``[walk]``, ``[[category]]``, ``[[facilities]]``/``[[proposed]]``,
``[compounds]``, ``[candidates]``); every unknown, missing, mistyped or out-of-range key is
collected and raised at once as a :class:`~coverage.errors.ConfigError` naming the key and a fix.

Minutes and walking speeds become metres in exactly one place, :meth:`Category.cutoff_m` (and
back, :meth:`Category.minutes_of`). Categories have one schema, :func:`parse_category`, which
the standard presets (:mod:`coverage.presets`) use too.
"""

from ..constants import COORD_SYSTEMS
from .loader import config_file, load_config
from .schema import AreaConfig, Category, OsmFilter, PlanConfig, PointSource
from .sections import parse_category, plan_problems

__all__ = [
    "COORD_SYSTEMS",
    "AreaConfig",
    "Category",
    "OsmFilter",
    "PlanConfig",
    "PointSource",
    "config_file",
    "load_config",
    "parse_category",
    "plan_problems",
]
