"""The areas of a batch as jobs: names, folder slugs and cache keys; what a task reports."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ..errors import Circle15Error
from ..io import sha256_file

__all__ = ["DONE", "AreaJob", "AreaOutcome", "area_jobs", "cache_key"]

DONE = "outcome.json"
"""The marker file of a finished area's cache folder."""


@dataclass(frozen=True)
class AreaJob:
    """One study area of a batch.

    Attributes
    ----------
    name : str
        Area name (the config's ``[area] name`` or the polygon's name).
    slug : str
        Folder name under ``OUT/areas/`` (unique in the batch).
    config : Path
        The area's ``area.toml``.
    key : str
        Cache key (hex SHA-256 of the inputs' bytes, version and options); "" if the config
        could not be read (the task then reports the error).
    maps : bool
        Also write the map and report.
    tiles : int or None
        Override ``[area] tiles``.
    input_bytes : int
        Size of the area's input files (bytes): the cost estimate by which a cluster starts the
        biggest areas first, so that no big one is left to run alone at the end.
    """

    name: str
    slug: str
    config: Path
    key: str
    maps: bool = False
    tiles: int | None = None
    input_bytes: int = 0


@dataclass
class AreaOutcome:
    """What one area task reports back (small; results are in ``results``)."""

    name: str
    slug: str
    status: str  # "ok" | "error"
    error: str = ""
    seconds: float = 0.0
    compounds: int = 0
    results: str = ""  # folder holding the area's outputs
    cached: bool = False
    nodes: int = 0  # street network nodes the area used (summed over tiles)
    # The area's rows of the combined tables, read by the task itself (in parallel on a
    # cluster) so that combining is only concatenation; None: combine reads them.
    tables: tuple[pd.DataFrame, gpd.GeoDataFrame | None] | None = field(default=None,
                                                                        repr=False)


_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def area_slug(i: int, name: str) -> str:
    """Folder name of the ``i``-th area (0-based): ``001-<name>`` with unsafe characters
    replaced."""
    return f"{i + 1:03d}-{_UNSAFE.sub('_', name).strip('_')[:60] or 'area'}"


class _Digests:
    """SHA-256 of files, memoised by (path, size, mtime) for one batch run."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, int, int], str] = {}

    def __call__(self, path: Path) -> str:
        st = path.stat()
        k = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if k not in self._memo:
            self._memo[k] = sha256_file(path)
        return self._memo[k]


def _input_paths(cfg: Any) -> list[tuple[str, Path]]:
    paths = [("boundaries", cfg.boundaries), ("network", cfg.network),
             ("compounds", cfg.compounds)]
    paths += [(f"facilities{i}", s.path) for i, s in enumerate(cfg.facilities)]
    paths += [(f"proposed{i}", s.path) for i, s in enumerate(cfg.proposed)]
    if cfg.candidates is not None:
        paths.append(("candidates", cfg.candidates.path))
    if cfg.gates is not None:
        paths.append(("gates", cfg.gates))
    return paths


def cache_key(config_path: Path, *, maps: bool = False, tiles: int | None = None,
              digests: Callable[[Path], str] | None = None) -> str:
    """Hash of everything an area's results depend on (hex SHA-256).

    The config file's bytes, every input file's bytes, the circle15 version and the options.

    Raises
    ------
    ConfigError
        If the config cannot be read.
    """
    from ..config import load_config

    return _cache_key(load_config(config_path), config_path, maps=maps, tiles=tiles,
                      digests=digests or _Digests())


def _cache_key(cfg: Any, config_path: Path, *, maps: bool, tiles: int | None,
               digests: Callable[[Path], str]) -> str:
    from .. import __version__

    h = hashlib.sha256()
    h.update(f"circle15 {__version__}\nmaps={maps}\ntiles={tiles}\n".encode())
    h.update(config_path.read_bytes())
    for role, path in _input_paths(cfg):
        h.update(f"\n{role}:{digests(path) if path.exists() else 'missing'}".encode())
    return h.hexdigest()


def area_jobs(configs: Sequence[tuple[str | None, Path]], *, maps: bool = False,
              tiles: int | None = None) -> list[AreaJob]:
    """Jobs for ``(name or None, config path)`` pairs; a config that cannot be read gets key ""."""
    from ..config import load_config

    digests = _Digests()
    jobs = []
    for i, (name, path) in enumerate(configs):
        path = Path(path)
        size = 0
        try:
            cfg = load_config(path)
            key = _cache_key(cfg, path, maps=maps, tiles=tiles, digests=digests)
            name = name or cfg.name
            size = sum(p.stat().st_size for _, p in _input_paths(cfg) if p.is_file())
        except Circle15Error:
            key = ""
            name = name or path.parent.name
        jobs.append(AreaJob(name=name, slug=area_slug(i, name), config=path, key=key,
                            maps=maps, tiles=tiles, input_bytes=size))
    return jobs

