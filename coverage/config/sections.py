"""One parser per config section: ``[area]``, ``[walk]``, ``[[category]]``,
``[[facilities]]``/``[[proposed]]``, ``[compounds]``, ``[candidates]``, ``[plan]``.

Each parser takes the section's table and returns :class:`~coverage.config.AreaConfig` fields,
adding every problem to the file's :class:`~coverage.config._checks.Problems`. Categories have
one schema, :func:`parse_category`, which the standard presets (:mod:`coverage.presets`) use too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
from ..errors import Problem
from ._checks import Num, Problems, Section, check_table, section_tables
from .schema import Category, OsmFilter, PlanConfig, PointSource

__all__ = ["SECTIONS", "parse_category", "parse_sections", "plan_problems"]

_KEY_RE = re.compile(r"^[a-z0-9_]+$")


def _section(name: str, required_keys: str, optional_keys: str, **kw: bool) -> Section:
    return Section(name, frozenset(required_keys.split()), frozenset(optional_keys.split()), **kw)


_POINT_KEYS = "coords layer sheet"
_CATEGORY = _section(
    "category", "key label minutes",
    "label_en speed_m_s walk_m demand new_sites min_floor_area_m2 capacity weight osm "
    "name_pattern source level group", required=True, array=True)
SECTIONS: dict[str, Section] = {s.name: s for s in (
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
    "speed_m_s": Num(DEFAULT_SPEED_M_S, *SPEED_RANGE_M_S, low_open=False,
                     example="1.0 (3.6 km/h; 1.4 = 5 km/h)", unit="m/s"),
    "max_snap_m": Num(DEFAULT_MAX_SNAP_M, 0.0, 100_000.0, example="300", unit="m"),
    "max_walk_min": Num(DEFAULT_MAX_WALK_MIN, 0.0, 1440.0, example="60", unit="min"),
}
_AREA_KEYS = {
    "isochrone_buffer_m": Num(DEFAULT_ISOCHRONE_BUFFER_M, 0.0, 10_000.0, example="50",
                              unit="m"),
    "tiles": Num(1, 1, 100_000, low_open=False, integer=True, example="4"),
}
_CANDIDATE_KEYS = {
    "spacing_m": Num(DEFAULT_CANDIDATE_SPACING_M, 0.0, 100_000.0, example="200", unit="m"),
}


def _category_keys(speed_m_s: float, max_walk_min: float) -> dict[str, Num]:
    return {
        "minutes": Num(None, 0.0, example="15", unit="min"),
        "speed_m_s": Num(speed_m_s, *SPEED_RANGE_M_S, low_open=False,
                         example="0.9 (older walkers)", unit="m/s"),
        "walk_m": Num(None, 0.0, max_walk_min * 60 * SPEED_RANGE_M_S[1], example="1000",
                      unit="m"),
        "new_sites": Num(0, 0, 100_000, low_open=False, integer=True, example="6"),
        "min_floor_area_m2": Num(0.0, 0.0, low_open=False, example="200", unit="m²"),
        "capacity": Num(None, 0.0, example="50"),
        "weight": Num(1.0, 0.0, low_open=False, example="1.0"),
    }


def _crs(p: Problems, value: Any) -> str:
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


def _parse_area(p: Problems, t: Mapping[str, Any], base: Path) -> dict[str, Any]:
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


def _names(p: Problems, t: Mapping[str, Any]) -> tuple[str, ...]:
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


def _parse_walk(p: Problems, t: Mapping[str, Any]) -> dict[str, Any]:
    return {k: p.number(t, "walk", k, spec) for k, spec in _WALK_KEYS.items()}


def _osm_filter(p: Problems, where: str, value: Any) -> OsmFilter | None:
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


def _category_speed(p: Problems, t: Mapping[str, Any], where: str, nums: dict[str, Num],
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


def _category_texts(p: Problems, t: Mapping[str, Any], where: str, key: str) -> dict[str, Any]:
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


def _category(p: Problems, t: Mapping[str, Any], where: str, speed_m_s: float,
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
    p = Problems(file)
    section = Section("category", _CATEGORY.required_keys | frozenset(required),
                       _CATEGORY.optional_keys)
    if not check_table(p, section, where, table):
        return Category(str(where), "", "", 15.0, speed_m_s), p.items
    return _category(p, table, where, speed_m_s, max_walk_min), p.items


def _parse_categories(p: Problems, tables: list[tuple[str, dict]], speed_m_s: float,
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


def _point_source(p: Problems, t: Mapping[str, Any], where: str, base: Path) -> PointSource:
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


def _parse_compounds(p: Problems, t: Mapping[str, Any], base: Path) -> dict[str, Any]:
    return {
        "compounds": p.path(t, "compounds", "path", base),
        "compounds_layer": p.text(t, "compounds", "layer", None, example="compounds"),
        "gates": p.path(t, "compounds", "gates", base) if "gates" in t else None,
    }


def _parse_candidates(p: Problems, t: Mapping[str, Any], base: Path) -> dict[str, Any]:
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
    "time_limit_s": Num(60.0, 0.0, 86_400.0, example="60", unit="s"),
}


def _plan_keys(p: Problems, t: Mapping[str, Any], cats: tuple[Category, ...]) -> list[str]:
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
    p = Problems(file)
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


def _parse_plan(p: Problems, t: Mapping[str, Any], cats: tuple[Category, ...]) -> PlanConfig:
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


def _one(p: Problems, raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The table of a single-table section ({} when absent or not a table)."""
    tables = section_tables(p, SECTIONS[name], raw)
    return tables[0][1] if tables else {}


def parse_sections(p: Problems, raw: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """AreaConfig fields, section by section (walk before categories: they use its values)."""
    fields: dict[str, Any] = {}
    fields.update(_parse_area(p, _one(p, raw, "area"), base))
    fields.update(_parse_walk(p, _one(p, raw, "walk")))
    fields["categories"] = _parse_categories(
        p, section_tables(p, _CATEGORY, raw), fields["speed_m_s"], fields["max_walk_min"])
    if raw.get("category") == []:
        p.add("category", "no categories configured", "add at least one [[category]] block")
    for name in ("facilities", "proposed"):
        fields[name] = tuple(_point_source(p, t, where, base)
                             for where, t in section_tables(p, SECTIONS[name], raw))
    fields.update(_parse_compounds(p, _one(p, raw, "compounds"), base))
    if "candidates" in raw:
        fields.update(_parse_candidates(p, _one(p, raw, "candidates"), base))
    if "plan" in raw or _implies_plan(fields["categories"]):
        fields["plan"] = _parse_plan(p, _one(p, raw, "plan"), fields["categories"])
    return fields
