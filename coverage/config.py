"""Study-area configuration: one TOML file per area -> one frozen :class:`AreaConfig`.

Paths in the file are relative to the file. Unknown keys and missing required keys are
:class:`~coverage.errors.ConfigError` naming the key. Minutes and walking speeds are turned into
metres in exactly one place, :attr:`Category.walk_m`.
"""

from __future__ import annotations

import logging
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, Problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "AreaConfig",
    "Category",
    "PointSource",
    "load_config",
]

log = logging.getLogger(__name__)

COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")
_KEY_RE = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True)
class Category:
    """A facility category and the walk within which residents should reach one.

    Attributes
    ----------
    key : str
        ``[a-z0-9_]+``; used in output column names (``walk_min_<key>``).
    label, label_en : str
        Chinese and English names.
    minutes : float
        Walking time threshold in minutes.
    speed_m_s : float
        Walking speed in metres per second (the category's own, or ``[walk] speed_m_s``).
    demand : str
        Compound column this category serves (``population`` or e.g. ``population_60plus``).
    new_sites : int
        How many new sites siting should choose (0 = none requested).
    """

    key: str
    label: str
    label_en: str
    minutes: float
    speed_m_s: float
    demand: str = "population"
    new_sites: int = 0

    @property
    def walk_m(self) -> float:
        """Walking distance in metres that ``minutes`` at ``speed_m_s`` allows."""
        return self.minutes * 60.0 * self.speed_m_s


@dataclass(frozen=True)
class PointSource:
    """A point file (facilities, proposed stations or candidates) and its coordinate system."""

    path: Path
    coords: str = "wgs84"
    layer: str | None = None
    sheet: str | None = None


@dataclass(frozen=True)
class AreaConfig:
    """Everything one study area's run needs; built by :func:`load_config`.

    Attributes
    ----------
    source : Path
        The TOML file this config was read from.
    name : str
        Area name (e.g. 回天地区).
    crs : str
        Projected CRS for all distance work (metres).
    boundaries, network, compounds : Path
        Unit polygons, street network file and compound polygons.
    speed_m_s : float
        Default walking speed (m/s).
    max_snap_m : float
        Points farther than this from any walkable way are reported off network (metres).
    max_walk_min : float
        Walking times beyond this are reported as unreachable (minutes).
    isochrone_buffer_m : float
        Buffer around reachable street segments drawn as isochrones (metres).
    categories : tuple of Category
    facilities, proposed : tuple of PointSource
    candidates : PointSource or None
    generate_candidates : bool
        Also generate candidate sites on the network in uncovered areas.
    candidate_spacing_m : float
        Minimum spacing of generated candidates (metres).
    gates : Path or None
        Optional point file of compound gates (``entrance=*`` / ``barrier=gate``), WGS-84.
    tiles : int
        Split the coverage computation into this many tiles (1 = not tiled); see
        :mod:`coverage.tiles`. The results are identical either way.
    """

    source: Path
    name: str
    crs: str
    boundaries: Path
    network: Path
    compounds: Path
    categories: tuple[Category, ...]
    facilities: tuple[PointSource, ...]
    proposed: tuple[PointSource, ...] = ()
    candidates: PointSource | None = None
    generate_candidates: bool = False
    candidate_spacing_m: float = 200.0
    speed_m_s: float = 1.0
    max_snap_m: float = 300.0
    max_walk_min: float = 60.0
    isochrone_buffer_m: float = 50.0
    gates: Path | None = None
    compounds_layer: str | None = None
    tiles: int = 1
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def folder(self) -> Path:
        """The folder holding the config file."""
        return self.source.parent

    @property
    def category_keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.categories)

    def category(self, key: str) -> Category:
        """The category with this key (KeyError if none)."""
        for c in self.categories:
            if c.key == key:
                return c
        raise KeyError(key)

    @property
    def max_walk_m(self) -> float:
        """The longest walk of any category (metres): how far beyond the units data must reach."""
        return max(c.walk_m for c in self.categories)


# --- parsing -------------------------------------------------------------------------------

_SCHEMA: dict[str, tuple[set[str], set[str]]] = {
    # section: (required keys, optional keys)
    "area": ({"name", "crs", "boundaries", "network"}, {"isochrone_buffer_m", "tiles"}),
    "walk": (set(), {"speed_m_s", "max_snap_m", "max_walk_min"}),
    "category": (
        {"key", "label", "minutes"},
        {"label_en", "speed_m_s", "demand", "new_sites", "osm", "source"},
    ),
    "facilities": ({"path"}, {"coords", "layer", "sheet"}),
    "proposed": ({"path"}, {"coords", "layer", "sheet"}),
    "compounds": ({"path"}, {"layer", "gates"}),
    "candidates": (set(), {"path", "coords", "layer", "sheet", "generate", "spacing_m"}),
}
_REQUIRED_SECTIONS = ("area", "category", "facilities", "compounds")
_ARRAY_SECTIONS = ("category", "facilities", "proposed")


class _Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, key: str, problem: str, fix: str) -> None:
        self.problems.append(Problem(self.file, None, key, problem, fix))


def _check_keys(c: _Collector, section: str, where: str, table: Any) -> bool:
    if not isinstance(table, dict):
        kind = "[[" + section + "]]" if section in _ARRAY_SECTIONS else "[" + section + "]"
        c.add(where, "is not a table", f"write it as a {kind} block")
        return False
    required, optional = _SCHEMA[section]
    for key in sorted(set(table) - required - optional):
        c.add(
            f"{where}.{key}",
            "unknown key",
            f"remove it or use one of: {', '.join(sorted(required | optional))}",
        )
    for key in sorted(required - set(table)):
        c.add(f"{where}.{key}", "missing required key", f"add {key} = ... to {where}")
    return True


def _number(c: _Collector, where: str, value: Any, *, positive: bool = True) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        c.add(where, f"{value!r} is not a number", "write a plain number, e.g. 15 or 1.2")
        return None
    if positive and value <= 0:
        c.add(where, f"{value!r} must be greater than 0", "write a positive number")
        return None
    return float(value)


def _path(c: _Collector, where: str, value: Any, base: Path, *, must_exist: bool = True) -> Path:
    if not isinstance(value, str) or not value:
        c.add(where, f"{value!r} is not a file path", "write the path in quotes")
        return base
    p = (base / value).resolve() if not Path(value).is_absolute() else Path(value)
    if must_exist and not p.exists():
        c.add(where, f"file {value!r} not found (looked at {p})", "check the path; "
              "paths are relative to the config file")
    return p


def _point_source(c: _Collector, where: str, t: dict[str, Any], base: Path) -> PointSource:
    coords = t.get("coords", "wgs84")
    if coords not in COORD_SYSTEMS:
        c.add(f"{where}.coords", f"unknown coordinate system {coords!r}",
              f"use one of: {', '.join(COORD_SYSTEMS)}")
    return PointSource(
        path=_path(c, f"{where}.path", t.get("path"), base),
        coords=str(coords),
        layer=t.get("layer"),
        sheet=t.get("sheet"),
    )


def _crs_ok(c: _Collector, value: Any) -> str:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(value)
    except (CRSError, TypeError):
        c.add("area.crs", f"{value!r} is not a known CRS", 'write e.g. "EPSG:32650" (UTM 50N)')
        return str(value)
    if not crs.is_projected:
        c.add("area.crs", f"{value!r} is not a projected CRS (distances would be in degrees)",
              'use a metric CRS such as the UTM zone of the area, e.g. "EPSG:32650"')
    return str(value)


def load_config(path: str | Path) -> AreaConfig:
    """Read a study-area TOML file.

    Parameters
    ----------
    path : str or Path
        The ``area.toml`` file. Relative paths inside it are resolved against its folder.

    Returns
    -------
    AreaConfig

    Raises
    ------
    ConfigError
        Listing every unknown, missing or invalid key at once.
    """
    path = Path(path)
    c = _Collector(str(path))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(Problem(str(path), None, None, "config file not found",
                                  "check the path")) from None
    except UnicodeDecodeError:
        raise ConfigError(Problem(str(path), None, None, "the file is not UTF-8 text",
                                  "save it as UTF-8")) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(Problem(str(path), None, None, f"not valid TOML ({exc})",
                                  "fix the TOML syntax at the position given")) from None
    base = path.resolve().parent

    for key in sorted(set(raw) - set(_SCHEMA)):
        c.add(key, "unknown section", f"remove it or use one of: {', '.join(sorted(_SCHEMA))}")
    for key in _REQUIRED_SECTIONS:
        if key not in raw:
            kind = f"[[{key}]]" if key in _ARRAY_SECTIONS else f"[{key}]"
            c.add(key, "missing required section", f"add a {kind} block")
    if c.problems and any(p.field in _REQUIRED_SECTIONS for p in c.problems):
        raise ConfigError(c.problems)

    area = raw["area"]
    walk = raw.get("walk", {})
    _check_keys(c, "area", "area", area)
    _check_keys(c, "walk", "walk", walk)
    speed = _number(c, "walk.speed_m_s", walk.get("speed_m_s", 1.0))
    if speed is not None and not 0.3 <= speed <= 3.0:
        c.add("walk.speed_m_s", f"{speed} m/s is not a walking speed",
              "use metres per second, e.g. 1.0 (3.6 km/h) to 1.4 (5 km/h)")
    speed = speed or 1.0
    max_snap = _number(c, "walk.max_snap_m", walk.get("max_snap_m", 300.0)) or 300.0
    max_walk_min = _number(c, "walk.max_walk_min", walk.get("max_walk_min", 60.0)) or 60.0
    iso_buffer = _number(c, "area.isochrone_buffer_m", area.get("isochrone_buffer_m", 50.0))
    tiles = area.get("tiles", 1)
    if isinstance(tiles, bool) or not isinstance(tiles, int) or tiles < 1:
        c.add("area.tiles", f"{tiles!r} is not a whole number >= 1",
              "write e.g. tiles = 4 (or leave it out: 1, not tiled)")
        tiles = 1

    cats_raw = raw["category"]
    if not isinstance(cats_raw, list):
        c.add("category", "must be an array of tables", "write each category as [[category]]")
        cats_raw = []
    categories: list[Category] = []
    seen: set[str] = set()
    for i, t in enumerate(cats_raw):
        where = f"category[{i}]"
        if not _check_keys(c, "category", where, t):
            continue
        key = t.get("key", "")
        where = f"category[{i}] ({key})" if key else where
        if not isinstance(key, str) or not _KEY_RE.match(key):
            c.add(f"{where}.key", f"{key!r} is not a valid key",
                  "use lower-case letters, digits and _ only, e.g. elderly_station")
        elif key in seen:
            c.add(f"{where}.key", f"duplicate category key {key!r}",
                  "give each category its own key")
        seen.add(str(key))
        minutes = _number(c, f"{where}.minutes", t.get("minutes", 15))
        if minutes is not None and minutes > max_walk_min:
            c.add(f"{where}.minutes", f"{minutes} min exceeds walk.max_walk_min ({max_walk_min})",
                  "lower minutes or raise walk.max_walk_min")
        cat_speed = _number(c, f"{where}.speed_m_s", t.get("speed_m_s", speed))
        if cat_speed is not None and not 0.3 <= cat_speed <= 3.0:
            c.add(f"{where}.speed_m_s", f"{cat_speed} m/s is not a walking speed",
                  "use metres per second, e.g. 0.9 for older walkers")
        new_sites = t.get("new_sites", 0)
        if isinstance(new_sites, bool) or not isinstance(new_sites, int) or new_sites < 0:
            c.add(f"{where}.new_sites", f"{new_sites!r} is not a whole number >= 0",
                  "write e.g. new_sites = 6")
            new_sites = 0
        demand = t.get("demand", "population")
        if not isinstance(demand, str) or not demand:
            c.add(f"{where}.demand", f"{demand!r} is not a column name",
                  'write e.g. demand = "population_60plus"')
            demand = "population"
        categories.append(
            Category(
                key=str(key),
                label=str(t.get("label", key)),
                label_en=str(t.get("label_en", t.get("label", key))),
                minutes=minutes or 15.0,
                speed_m_s=cat_speed or speed,
                demand=demand,
                new_sites=new_sites,
            )
        )
    if not cats_raw:
        c.add("category", "no categories configured", "add at least one [[category]] block")

    def sources(section: str) -> tuple[PointSource, ...]:
        items = raw.get(section, [])
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            c.add(section, "must be an array of tables", f"write each file as [[{section}]]")
            return ()
        out = []
        for i, t in enumerate(items):
            where = f"{section}[{i}]"
            if _check_keys(c, section, where, t):
                out.append(_point_source(c, where, t, base))
        return tuple(out)

    facilities = sources("facilities")
    proposed = sources("proposed")

    comp = raw["compounds"]
    _check_keys(c, "compounds", "compounds", comp)
    compounds = _path(c, "compounds.path", comp.get("path"), base)
    gates = _path(c, "compounds.gates", comp["gates"], base) if "gates" in comp else None

    cand = raw.get("candidates")
    candidates = None
    generate = False
    spacing = 200.0
    if cand is not None and _check_keys(c, "candidates", "candidates", cand):
        if "path" in cand:
            candidates = _point_source(c, "candidates", cand, base)
        generate = bool(cand.get("generate", False))
        spacing = _number(c, "candidates.spacing_m", cand.get("spacing_m", 200.0)) or 200.0

    name = area.get("name")
    if not isinstance(name, str) or not name.strip():
        c.add("area.name", f"{name!r} is not a name", 'write e.g. name = "回天地区"')
    crs = _crs_ok(c, area.get("crs"))
    boundaries = _path(c, "area.boundaries", area.get("boundaries"), base)
    network = _path(c, "area.network", area.get("network"), base)

    if c.problems:
        raise ConfigError(c.problems)
    cfg = AreaConfig(
        source=path.resolve(),
        name=str(name),
        crs=crs,
        boundaries=boundaries,
        network=network,
        compounds=compounds,
        compounds_layer=comp.get("layer"),
        gates=gates,
        categories=tuple(categories),
        facilities=facilities,
        proposed=proposed,
        candidates=candidates,
        generate_candidates=generate,
        candidate_spacing_m=spacing,
        speed_m_s=speed,
        max_snap_m=max_snap,
        max_walk_min=max_walk_min,
        isochrone_buffer_m=iso_buffer if iso_buffer is not None else 50.0,
        tiles=tiles,
        extra={"category_osm": {t["key"]: t.get("osm") for t in cats_raw if "osm" in t}},
    )
    for cat in cfg.categories:
        log.debug("category %s: %g min at %g m/s = %.0f m", cat.key, cat.minutes,
                  cat.speed_m_s, cat.walk_m)
    return cfg
