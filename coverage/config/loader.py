"""Loading a study-area config file: the file (or its folder) -> one :class:`AreaConfig`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Problem
from ..io import read_toml
from ._checks import Problems
from .schema import AreaConfig
from .sections import SECTIONS, parse_sections

__all__ = ["config_file", "load_config"]

log = logging.getLogger(__name__)


def config_file(path: str | Path) -> Path:
    """``path``, or ``path/area.toml`` when ``path`` is a study-area folder.

    Raises
    ------
    ConfigError
        A folder without ``area.toml``.
    """
    path = Path(path)
    if path.is_dir():
        inner = path / "area.toml"
        if inner.is_file():
            return inner
        raise ConfigError(Problem(str(path), None, None,
                                  "is a folder without an area.toml, not a config file",
                                  "give the study area's config file, e.g. "
                                  f"{path / 'area.toml'}"))
    return path


def _check_sections(p: Problems, raw: Mapping[str, Any]) -> None:
    for key in sorted(set(raw) - set(SECTIONS)):
        p.add(key, "unknown section", f"remove it or use one of: {', '.join(sorted(SECTIONS))}")
    missing = [s for s in SECTIONS.values() if s.required and s.name not in raw]
    for s in missing:
        p.add(s.name, "missing required section", f"add a {s.block} block")
    if missing:
        raise ConfigError(p.items)


def load_config(path: str | Path) -> AreaConfig:
    """Read a study-area TOML file.

    Parameters
    ----------
    path : str or Path
        The ``area.toml`` file, or the study-area folder holding it. Relative paths inside it
        are resolved against its folder.

    Returns
    -------
    AreaConfig

    Raises
    ------
    ConfigError
        Listing every unknown, missing or invalid key at once.
    """
    path = config_file(path)
    raw = read_toml(path, what="config file")
    p = Problems(str(path))
    _check_sections(p, raw)
    fields = parse_sections(p, raw, path.resolve().parent)
    if p.items:
        raise ConfigError(p.items)
    cfg = AreaConfig(source=path.resolve(), **fields)
    for cat in cfg.categories:
        log.debug("category %s: %g min at %g m/s = %.0f m", cat.key, cat.minutes,
                  cat.speed_m_s, cat.walk_m)
    return cfg
