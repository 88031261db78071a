"""Study-area configuration: one TOML file per area -> one frozen :class:`AreaConfig`.

Paths in the file are relative to the file. The file is parsed section by section (one parser
per section: ``[area]``, ``[walk]``, ``[[category]]``, ``[[facilities]]``/``[[proposed]]``,
``[compounds]``, ``[candidates]``); every unknown, missing, mistyped or out-of-range key is
collected and raised at once as a :class:`~coverage.errors.ConfigError` naming the key and a fix.

Minutes and walking speeds become metres in exactly one place, :meth:`Category.cutoff_m` (and
back, :meth:`Category.minutes_of`). Categories have one schema, :func:`parse_category`, which
the standard presets (:mod:`coverage.presets`) use too.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..constants import (
    COORD_SYSTEMS,
    DEFAULT_CANDIDATE_SPACING_M,
    DEFAULT_ISOCHRONE_BUFFER_M,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_MAX_WALK_MIN,
    DEFAULT_SPEED_M_S,
    SPEED_RANGE_M_S,
)
from ..errors import ConfigError, Problem
from ..io import read_toml

__all__ = [
    "COORD_SYSTEMS",
    "AreaConfig",
    "Category",
    "PlanConfig",
    "PointSource",
    "config_file",
    "load_config",
    "parse_category",
    "plan_problems",
]

log = logging.getLogger(__name__)

_KEY_RE = re.compile(r"^[a-z0-9_]+$")

OsmFilter = Mapping[str, "tuple[str, ...] | bool"]
"""OSM tag filter ``{key: (values...)}`` or ``{key: True}`` (any value); any key=value matches."""


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
    min_floor_area_m2 : float
        A candidate space smaller than this cannot host a new facility of this category (m²;
        0 = any space).
    capacity : float or None
        Capacity of a facility of this category, in the category's demand unit (e.g. residents
        aged 60+): of every new one, and of every existing one whose own ``capacity`` is empty;
        None = unlimited.
    weight : float
        Factor on this category's served demand in a joint plan of several categories
        (dimensionless).
    osm : mapping or None
        OpenStreetMap tag filter ``{key: (values...)}`` (or ``{key: True}``) used by ``fetch``;
        informational in a run.
    name_pattern : str or None
        Regular expression an OSM feature's name must also match (used by ``fetch``).
    source : str
        The document and clause the category comes from.
    level, group : str
        Informational tier and group (presets: life-circle tier, business-type group).
    """

    key: str
    label: str
    label_en: str
    minutes: float
    speed_m_s: float
    demand: str = "population"
    new_sites: int = 0
    min_floor_area_m2: float = 0.0
    capacity: float | None = None
    weight: float = 1.0
    osm: OsmFilter | None = None
    name_pattern: str | None = None
    source: str = ""
    level: str = ""
    group: str = ""

    def __hash__(self) -> int:  # the osm mapping is not hashable; equal categories share these
        return hash((self.key, self.label, self.minutes, self.speed_m_s, self.demand))

    def cutoff_m(self, minutes: float | None = None, speed_m_s: float | None = None) -> float:
        """Walking distance (metres) that ``minutes`` at ``speed_m_s`` allows.

        Parameters
        ----------
        minutes : float, optional
            Default the category's threshold; e.g. ``config.max_walk_min`` for the engine's
            reporting cutoff.
        speed_m_s : float, optional
            Default the category's walking speed.
        """
        m = self.minutes if minutes is None else minutes
        s = self.speed_m_s if speed_m_s is None else speed_m_s
        return m * 60.0 * s

    def minutes_of(self, metres: Any) -> Any:
        """Walking minutes of a distance (metres; float or array) at the category's speed."""
        return metres / self.speed_m_s / 60.0

    @property
    def walk_m(self) -> float:
        """Walking distance in metres that ``minutes`` at ``speed_m_s`` allows."""
        return self.cutoff_m()


@dataclass(frozen=True)
class PointSource:
    """A point file (facilities, proposed stations or candidates) and its coordinate system."""

    path: Path
    coords: str = "wgs84"
    layer: str | None = None
    sheet: str | None = None


@dataclass(frozen=True)
class PlanConfig:
    """The ``[plan]`` table: which categories the joint plan places at once (see
    :mod:`coverage.jointplan`).

    Attributes
    ----------
    categories : tuple of str
        Category keys planned together; empty = every category with ``new_sites > 0``.
    given_proposed : bool
        Treat the planned (``[[proposed]]``) stations as existing facilities.
    time_limit_s : float
        Time limit of each exact solve (seconds).
    """

    categories: tuple[str, ...] = ()
    given_proposed: bool = False
    time_limit_s: float = 60.0


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
    boundaries_layer : str or None
        GeoPackage layer of the boundaries file.
    name_field : str
        Column of the boundaries file holding the unit names (e.g. ``乡`` in a township layer).
    unit_names : tuple of str
        ``[area] names``: keep only these units of the boundaries file (empty = all).
    compounds_layer : str or None
        GeoPackage layer of the compounds file.
    tiles : int
        Split the coverage computation into this many tiles (1 = not tiled); see
        :mod:`coverage.tiles`. The results are identical either way.
    plan : PlanConfig or None
        The ``[plan]`` table (None when the file has none).
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
    candidate_spacing_m: float = DEFAULT_CANDIDATE_SPACING_M
    speed_m_s: float = DEFAULT_SPEED_M_S
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    max_walk_min: float = DEFAULT_MAX_WALK_MIN
    isochrone_buffer_m: float = DEFAULT_ISOCHRONE_BUFFER_M
    gates: Path | None = None
    boundaries_layer: str | None = None
    name_field: str = "name"
    unit_names: tuple[str, ...] = ()
    compounds_layer: str | None = None
    tiles: int = 1
    plan: PlanConfig | None = None

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

    def category_key(self, text: str) -> str:
        """The key of the category named ``text`` by its key, label or English label.

        Raises
        ------
        ConfigError
            No category is called that (the message lists them).
        """
        for c in self.categories:
            if text in (c.key, c.label, c.label_en):
                return c.key
        choices = ", ".join(f"{c.key} ({c.label})" for c in self.categories)
        raise ConfigError(Problem(str(self.source), None, "category",
                                  f"no category {text!r} in this config",
                                  f"use a key or label: {choices}"))

    @property
    def max_walk_m(self) -> float:
        """The longest walk of any category (metres): how far beyond the units data must reach."""
        return max(c.walk_m for c in self.categories)


# --- typed values ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Num:
    """A numeric key: its default and allowed range (``low < v`` or ``low <= v``; ``v <= high``)."""

    default: float | None
    low: float = 0.0
    high: float = math.inf
    low_open: bool = True
    integer: bool = False
    example: str = "1"
    unit: str = ""

    def range_text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if math.isinf(self.high):
            return f"{'greater than' if self.low_open else 'at least'} {self.low:g}{unit}"
        if self.low_open:
            return f"greater than {self.low:g} and at most {self.high:g}{unit}"
        return f"between {self.low:g} and {self.high:g}{unit}"


class _Problems:
    """Problems of one config file, collected and raised once."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[Problem] = []

    def add(self, key: str, problem: str, fix: str) -> None:
        self.items.append(Problem(self.file, None, key, problem, fix))

    def number(self, table: Mapping[str, Any], where: str, key: str, spec: _Num) -> Any:
        """``table[key]`` checked against ``spec``; the default when absent or wrong."""
        if key not in table:
            return spec.default
        value = table[key]
        name = f"{where}.{key}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "a whole number" if spec.integer else "a number"
            self.add(name, f"{value!r} is not {kind}",
                     f"write a plain number without quotes, e.g. {key} = {spec.example}")
            return spec.default
        if spec.integer and not isinstance(value, int):
            self.add(name, f"{value!r} is not a whole number", f"write e.g. {key} = {spec.example}")
            return spec.default
        too_low = value <= spec.low if spec.low_open else value < spec.low
        if not math.isfinite(value) or too_low or value > spec.high:
            self.add(name, f"{value!r} is out of range: it must be {spec.range_text()}",
                     f"write e.g. {key} = {spec.example}")
            return spec.default
        return value if spec.integer else float(value)

    def text(self, table: Mapping[str, Any], where: str, key: str, default: str | None = None,
             *, example: str = "...") -> str | None:
        """A non-empty string key (a TOML string in quotes)."""
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.add(f"{where}.{key}", f"{value!r} is not a text value",
                     f'write it in quotes, e.g. {key} = "{example}"')
            return default
        return value

    def boolean(self, table: Mapping[str, Any], where: str, key: str, default: bool) -> bool:
        """A TOML boolean (``true``/``false`` without quotes); ``"false"`` is an error."""
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, bool):
            self.add(f"{where}.{key}", f"{value!r} is not true or false",
                     f"write {key} = true or {key} = false (lower case, no quotes)")
            return default
        return value

    def path(self, table: Mapping[str, Any], where: str, key: str, base: Path) -> Path:
        """An existing file, relative to ``base``; not a folder."""
        if key not in table:  # reported as a missing required key
            return base
        value = table[key]
        name = f"{where}.{key}"
        if not isinstance(value, str) or not value:
            self.add(name, f"{value!r} is not a file path", "write the path in quotes")
            return base
        p = Path(value) if Path(value).is_absolute() else (base / value).resolve()
        if not p.exists():
            self.add(name, f"file {value!r} not found (looked at {p})",
                     "check the path; paths are relative to the config file")
        elif p.is_dir():
            self.add(name, f"{value!r} is a folder, not a file (looked at {p})",
                     "name the file inside it, e.g. " + f'"{Path(value) / "file.csv"}"')
        return p


# --- sections ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Section:
    """One top-level TOML section: its keys and its parser."""

    name: str
    required_keys: frozenset[str]
    optional_keys: frozenset[str]
    required: bool = False
    array: bool = False  # [[name]] (several tables) rather than [name]

    @property
    def block(self) -> str:
        return f"[[{self.name}]]" if self.array else f"[{self.name}]"


def _section(name: str, required_keys: str, optional_keys: str, **kw: bool) -> _Section:
    return _Section(name, frozenset(required_keys.split()), frozenset(optional_keys.split()), **kw)


_POINT_KEYS = "coords layer sheet"
_CATEGORY = _section(
    "category", "key label minutes",
    "label_en speed_m_s walk_m demand new_sites min_floor_area_m2 capacity weight osm "
    "name_pattern source level group", required=True, array=True)
_SECTIONS: dict[str, _Section] = {s.name: s for s in (
    _section("area", "name crs boundaries network",
             "isochrone_buffer_m tiles boundaries_layer name_field names", required=True),
    _section("walk", "", "speed_m_s max_snap_m max_walk_min"),
    _CATEGORY,
    _section("facilities", "path", _POINT_KEYS, required=True, array=True),
    _section("proposed", "path", _POINT_KEYS, array=True),
    _section("compounds", "path", "layer gates", required=True),
    _section("candidates", "", f"path {_POINT_KEYS} generate spacing_m"),
    _section("plan", "", "categories given_proposed time_limit_s"),
)}

_WALK_KEYS = {
    "speed_m_s": _Num(DEFAULT_SPEED_M_S, *SPEED_RANGE_M_S, low_open=False,
                      example="1.0 (3.6 km/h; 1.4 = 5 km/h)", unit="m/s"),
    "max_snap_m": _Num(DEFAULT_MAX_SNAP_M, 0.0, 100_000.0, example="300", unit="m"),
    "max_walk_min": _Num(DEFAULT_MAX_WALK_MIN, 0.0, 1440.0, example="60", unit="min"),
}
_AREA_KEYS = {
    "isochrone_buffer_m": _Num(DEFAULT_ISOCHRONE_BUFFER_M, 0.0, 10_000.0, example="50",
                               unit="m"),
    "tiles": _Num(1, 1, 100_000, low_open=False, integer=True, example="4"),
}
_CANDIDATE_KEYS = {
    "spacing_m": _Num(DEFAULT_CANDIDATE_SPACING_M, 0.0, 100_000.0, example="200", unit="m"),
}


def _category_keys(speed_m_s: float, max_walk_min: float) -> dict[str, _Num]:
    return {
        "minutes": _Num(None, 0.0, example="15", unit="min"),
        "speed_m_s": _Num(speed_m_s, *SPEED_RANGE_M_S, low_open=False,
                          example="0.9 (older walkers)", unit="m/s"),
        "walk_m": _Num(None, 0.0, max_walk_min * 60 * SPEED_RANGE_M_S[1], example="1000",
                       unit="m"),
        "new_sites": _Num(0, 0, 100_000, low_open=False, integer=True, example="6"),
        "min_floor_area_m2": _Num(0.0, 0.0, low_open=False, example="200", unit="m²"),
        "capacity": _Num(None, 0.0, example="50"),
        "weight": _Num(1.0, 0.0, low_open=False, example="1.0"),
    }


def _check_table(p: _Problems, section: _Section, where: str, table: Any) -> bool:
    """Is ``table`` a table with only known keys and every required key? (problems collected)"""
    if not isinstance(table, dict):
        p.add(where, f"is {type(table).__name__} {table!r}, not a table",
              f"write it as a {section.block} block with keys on the lines below")
        return False
    known = section.required_keys | section.optional_keys
    for key in sorted(set(table) - known):
        p.add(f"{where}.{key}", "unknown key",
              f"remove it or use one of: {', '.join(sorted(known))}")
    for key in sorted(section.required_keys - set(table)):
        p.add(f"{where}.{key}", "missing required key", f"add {key} = ... to {where}")
    return True


def _tables(p: _Problems, section: _Section, raw: Mapping[str, Any]) -> list[tuple[str, dict]]:
    """The section's tables with their names (``walk``, ``facilities[1]``); bad ones skipped."""
    if section.name not in raw:
        return []
    value = raw[section.name]
    if not section.array:
        return [(section.name, value)] if _check_table(p, section, section.name, value) else []
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list):
        p.add(section.name, f"is {type(value).__name__} {value!r}, not an array of tables",
              f"write each one as a {section.block} block")
        return []
    out = []
    for i, t in enumerate(items):
        where = f"{section.name}[{i}]"
        if _check_table(p, section, where, t):
            out.append((where, t))
    return out


def _crs(p: _Problems, value: Any) -> str:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(value)
    except (CRSError, TypeError, ValueError):
        p.add("area.crs", f"{value!r} is not a known CRS", 'write e.g. "EPSG:32650" (UTM 50N)')
        return str(value)
    if not crs.is_projected:
        p.add("area.crs", f"{value!r} is not a projected CRS (distances would be in degrees)",
              'use a metric CRS such as the UTM zone of the area, e.g. "EPSG:32650"')
    return str(value)


def _parse_area(p: _Problems, t: Mapping[str, Any], base: Path) -> dict[str, Any]:
    return {
        "name": p.text(t, "area", "name", "", example="回天地区"),
        "crs": _crs(p, t["crs"]) if "crs" in t else "",
        "boundaries": p.path(t, "area", "boundaries", base),
        "boundaries_layer": p.text(t, "area", "boundaries_layer", None, example="townships"),
        "name_field": p.text(t, "area", "name_field", "name", example="乡"),
        "unit_names": _names(p, t),
        "network": p.path(t, "area", "network", base),
        **{k: p.number(t, "area", k, spec) for k, spec in _AREA_KEYS.items()},
    }


def _names(p: _Problems, t: Mapping[str, Any]) -> tuple[str, ...]:
    """``[area] names``: a list of unit names (texts), each once."""
    value = t.get("names", [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        p.add("area.names", f"{value!r} is not a list of unit names",
              'write e.g. names = ["回龙观镇", "东小口镇"]')
        return ()
    dup = sorted({v for v in value if value.count(v) > 1})
    if dup:
        p.add("area.names", f"{', '.join(dup)} listed twice", "list each unit once")
    return tuple(dict.fromkeys(v.strip() for v in value))


def _parse_walk(p: _Problems, t: Mapping[str, Any]) -> dict[str, Any]:
    return {k: p.number(t, "walk", k, spec) for k, spec in _WALK_KEYS.items()}


def _osm_filter(p: _Problems, where: str, value: Any) -> OsmFilter | None:
    ok = isinstance(value, dict) and value and all(
        isinstance(k, str) and (v is True or (isinstance(v, list) and v
                                              and all(isinstance(s, str) for s in v)))
        for k, v in value.items())
    if not ok:
        p.add(f"{where}.osm", f"{value!r} is not an OSM tag filter",
              'write a table of tag keys and value lists, e.g. osm = { amenity = ["pharmacy"] } '
              "(or { shop = true } for any value)")
        return None
    return MappingProxyType({k: True if v is True else tuple(v) for k, v in value.items()})


def _category_speed(p: _Problems, t: Mapping[str, Any], where: str, nums: dict[str, _Num],
                    minutes: float | None) -> float:
    """The category's speed: ``speed_m_s``, or ``walk_m / (minutes × 60)``, or the default."""
    speed = p.number(t, where, "speed_m_s", nums["speed_m_s"])
    walk_m = p.number(t, where, "walk_m", nums["walk_m"])
    if walk_m is None or minutes is None:
        return float(speed)
    if "speed_m_s" in t:
        p.add(f"{where}.walk_m", "both walk_m and speed_m_s are given",
              "give one: walk_m (the distance the threshold allows) or speed_m_s")
        return float(speed)
    derived = walk_m / (minutes * 60.0)
    low, high = SPEED_RANGE_M_S
    if not low <= derived <= high:
        p.add(f"{where}.walk_m", f"{walk_m:g} m in {minutes:g} min is {derived:.2f} m/s, not a "
              f"walking speed ({low:g}-{high:g} m/s)", "check walk_m and minutes")
        return float(speed)
    return derived


def _category_texts(p: _Problems, t: Mapping[str, Any], where: str, key: str) -> dict[str, Any]:
    label = p.text(t, where, "label", key, example="社区养老服务驿站") or key
    pattern = p.text(t, where, "name_pattern", None, example="小学")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            p.add(f"{where}.name_pattern", f"{pattern!r} is not a regular expression ({exc})",
                  "fix the pattern, e.g. name_pattern = \"中学|初中\"")
            pattern = None
    return {
        "label": label,
        "label_en": p.text(t, where, "label_en", label, example="Community elderly-care station"),
        "demand": p.text(t, where, "demand", "population", example="population_60plus"),
        "source": p.text(t, where, "source", "", example="GB 50180-2018 table 3.0.4") or "",
        "level": p.text(t, where, "level", "", example="15min") or "",
        "group": p.text(t, where, "group", "", example="基本保障类") or "",
        "name_pattern": pattern,
        "osm": _osm_filter(p, where, t["osm"]) if "osm" in t else None,
    }


def _category(p: _Problems, t: Mapping[str, Any], where: str, speed_m_s: float,
              max_walk_min: float) -> Category:
    key = t.get("key", "")
    if "key" in t and (not isinstance(key, str) or not _KEY_RE.match(key)):
        p.add(f"{where}.key", f"{key!r} is not a valid key",
              "use lower-case letters, digits and _ only, e.g. elderly_station")
        key = str(key)
    where = f"{where} ({key})" if key else where
    nums = _category_keys(speed_m_s, max_walk_min)
    minutes = p.number(t, where, "minutes", nums["minutes"])
    if minutes is not None and minutes > max_walk_min:
        p.add(f"{where}.minutes", f"{minutes:g} min exceeds walk.max_walk_min ({max_walk_min:g})",
              "lower minutes or raise walk.max_walk_min")
    return Category(
        key=key,
        minutes=minutes if minutes is not None else 15.0,
        speed_m_s=_category_speed(p, t, where, nums, minutes),
        new_sites=p.number(t, where, "new_sites", nums["new_sites"]),
        min_floor_area_m2=p.number(t, where, "min_floor_area_m2", nums["min_floor_area_m2"]),
        capacity=p.number(t, where, "capacity", nums["capacity"]),
        weight=p.number(t, where, "weight", nums["weight"]),
        **_category_texts(p, t, where, key),
    )


def parse_category(
    table: Mapping[str, Any],
    *,
    where: str = "category",
    file: str = "config",
    speed_m_s: float = DEFAULT_SPEED_M_S,
    max_walk_min: float = DEFAULT_MAX_WALK_MIN,
    required: tuple[str, ...] = (),
) -> tuple[Category, list[Problem]]:
    """One ``[[category]]`` table -> :class:`Category` and its problems (the one category schema).

    Parameters
    ----------
    table : mapping
        The category's keys (see the README's config section).
    where : str
        Name of the table in messages, e.g. ``category[2]``.
    file : str
        File name in messages.
    speed_m_s : float
        Default walking speed (``[walk] speed_m_s``) when the table gives neither ``speed_m_s``
        nor ``walk_m``.
    max_walk_min : float
        ``[walk] max_walk_min``: ``minutes`` may not exceed it.
    required : tuple of str
        Keys required on top of ``key``, ``label``, ``minutes`` (presets also need
        ``label_en``, ``osm``, ``source``).

    Returns
    -------
    Category
        Meaningful only when the problem list is empty.
    problems : list of Problem
    """
    p = _Problems(file)
    section = _Section("category", _CATEGORY.required_keys | frozenset(required),
                       _CATEGORY.optional_keys)
    if not _check_table(p, section, where, table):
        return Category(str(where), "", "", 15.0, speed_m_s), p.items
    return _category(p, table, where, speed_m_s, max_walk_min), p.items


def _parse_categories(p: _Problems, tables: list[tuple[str, dict]], speed_m_s: float,
                      max_walk_min: float) -> tuple[Category, ...]:
    cats: list[Category] = []
    seen: set[str] = set()
    for where, t in tables:
        cat = _category(p, t, where, speed_m_s, max_walk_min)
        if cat.key in seen and _KEY_RE.match(cat.key):
            p.add(f"{where} ({cat.key}).key", f"duplicate category key {cat.key!r}",
                  "give each category its own key")
        seen.add(cat.key)
        cats.append(cat)
    return tuple(cats)


def _point_source(p: _Problems, t: Mapping[str, Any], where: str, base: Path) -> PointSource:
    coords = t.get("coords", "wgs84")
    if coords not in COORD_SYSTEMS:
        p.add(f"{where}.coords", f"unknown coordinate system {coords!r}",
              f"use one of: {', '.join(COORD_SYSTEMS)}")
    return PointSource(
        path=p.path(t, where, "path", base),
        coords=str(coords),
        layer=p.text(t, where, "layer", None, example="facilities"),
        sheet=p.text(t, where, "sheet", None, example="Sheet1"),
    )


def _parse_compounds(p: _Problems, t: Mapping[str, Any], base: Path) -> dict[str, Any]:
    return {
        "compounds": p.path(t, "compounds", "path", base),
        "compounds_layer": p.text(t, "compounds", "layer", None, example="compounds"),
        "gates": p.path(t, "compounds", "gates", base) if "gates" in t else None,
    }


def _parse_candidates(p: _Problems, t: Mapping[str, Any], base: Path) -> dict[str, Any]:
    if "path" not in t:
        for key in sorted(set(t) & {"coords", "layer", "sheet"}):
            p.add(f"candidates.{key}", "given without a candidates file",
                  'add path = "candidates.csv", or remove the key')
    return {
        "candidates": _point_source(p, t, "candidates", base) if "path" in t else None,
        "generate_candidates": p.boolean(t, "candidates", "generate", False),
        "candidate_spacing_m": p.number(t, "candidates", "spacing_m", _CANDIDATE_KEYS["spacing_m"]),
    }


_PLAN_KEYS = {
    "time_limit_s": _Num(60.0, 0.0, 86_400.0, example="60", unit="s"),
}


def _plan_keys(p: _Problems, t: Mapping[str, Any], cats: tuple[Category, ...]) -> list[str]:
    """``[plan] categories``: a list of known keys (default: those with new_sites > 0)."""
    known = [c.key for c in cats]
    if "categories" not in t:
        return [c.key for c in cats if c.new_sites > 0]
    value = t["categories"]
    if not isinstance(value, list) or not value or not all(isinstance(k, str) for k in value):
        p.add("plan.categories", f"{value!r} is not a list of category keys",
              'write e.g. categories = ["elderly_station", "elderly_centre"], or leave the key '
              "out (every category with new_sites > 0)")
        return []
    for key in value:
        if key not in known:
            p.add("plan.categories", f"unknown category {key!r}", f"use one of: "
                  f"{', '.join(known)}")
    if len(set(value)) < len(value):
        p.add("plan.categories", "a category is listed twice", "list each category once")
    return [k for k in value if k in known]


def plan_problems(cats: tuple[Category, ...], keys: tuple[str, ...] | list[str],
                  file: str) -> list[Problem]:
    """What stops a joint plan of ``keys``: nothing to plan, nothing to place, no weight.

    Parameters
    ----------
    cats : tuple of Category
        The config's categories.
    keys : sequence of str
        The planned category keys (all known).
    file : str
        The config file, for the messages.
    """
    p = _Problems(file)
    if not keys:
        p.add("plan", "nothing to plan: no category has new_sites > 0",
              "set new_sites = N on the categories to plan")
    for cat in cats:
        if cat.key not in keys:
            continue
        where = f"category ({cat.key})"
        if cat.new_sites == 0:
            p.add(f"{where}.new_sites", "is 0, but the joint plan plans this category",
                  "set new_sites = N (how many new facilities), or leave it out of "
                  "plan.categories")
        if cat.weight == 0:
            p.add(f"{where}.weight", "is 0: the joint plan would give this category nothing",
                  "give it a weight > 0, or leave it out of plan.categories")
    return p.items


def _parse_plan(p: _Problems, t: Mapping[str, Any], cats: tuple[Category, ...]) -> PlanConfig:
    """``[plan]`` (also implied, with its defaults, by capacities or floor areas on a category
    with new sites)."""
    keys = _plan_keys(p, t, cats)
    if "categories" not in t or keys:
        p.items.extend(plan_problems(cats, keys, p.file))
    return PlanConfig(
        categories=tuple(keys),
        given_proposed=p.boolean(t, "plan", "given_proposed", False),
        time_limit_s=p.number(t, "plan", "time_limit_s", _PLAN_KEYS["time_limit_s"]),
    )


def _implies_plan(cats: tuple[Category, ...]) -> bool:
    """A category with new sites and a capacity or minimum floor area asks for the joint plan."""
    return any(c.new_sites > 0 and (c.capacity is not None or c.min_floor_area_m2 > 0)
               for c in cats)


# --- the file -------------------------------------------------------------------------------


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


def _check_sections(p: _Problems, raw: Mapping[str, Any]) -> None:
    for key in sorted(set(raw) - set(_SECTIONS)):
        p.add(key, "unknown section", f"remove it or use one of: {', '.join(sorted(_SECTIONS))}")
    missing = [s for s in _SECTIONS.values() if s.required and s.name not in raw]
    for s in missing:
        p.add(s.name, "missing required section", f"add a {s.block} block")
    if missing:
        raise ConfigError(p.items)


def _one(p: _Problems, raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The table of a single-table section ({} when absent or not a table)."""
    tables = _tables(p, _SECTIONS[name], raw)
    return tables[0][1] if tables else {}


def _parse_sections(p: _Problems, raw: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """AreaConfig fields, section by section (walk before categories: they use its values)."""
    fields: dict[str, Any] = {}
    fields.update(_parse_area(p, _one(p, raw, "area"), base))
    fields.update(_parse_walk(p, _one(p, raw, "walk")))
    fields["categories"] = _parse_categories(
        p, _tables(p, _CATEGORY, raw), fields["speed_m_s"], fields["max_walk_min"])
    if raw.get("category") == []:
        p.add("category", "no categories configured", "add at least one [[category]] block")
    for name in ("facilities", "proposed"):
        fields[name] = tuple(_point_source(p, t, where, base)
                             for where, t in _tables(p, _SECTIONS[name], raw))
    fields.update(_parse_compounds(p, _one(p, raw, "compounds"), base))
    if "candidates" in raw:
        fields.update(_parse_candidates(p, _one(p, raw, "candidates"), base))
    if "plan" in raw or _implies_plan(fields["categories"]):
        fields["plan"] = _parse_plan(p, _one(p, raw, "plan"), fields["categories"])
    return fields


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
    p = _Problems(str(path))
    _check_sections(p, raw)
    fields = _parse_sections(p, raw, path.resolve().parent)
    if p.items:
        raise ConfigError(p.items)
    cfg = AreaConfig(source=path.resolve(), **fields)
    for cat in cfg.categories:
        log.debug("category %s: %g min at %g m/s = %.0f m", cat.key, cat.minutes,
                  cat.speed_m_s, cat.walk_m)
    return cfg
