"""Standard facility-category presets (TOML data files shipped with the package).

Each preset is a TOML file ``<name>.toml`` in this folder with a ``[preset]`` table (name, title,
source) and ``[[category]]`` blocks. A category has:

``key``
    ``[a-z0-9_]+``, used in output column names.
``label``, ``label_en``
    Chinese and English names.
``minutes``
    Walking-time threshold (minutes).
``walk_m`` (optional)
    The distance the source document sets for that threshold (metres); ``circle15 fetch`` turns
    it into a per-category ``speed_m_s = walk_m / (minutes * 60)``.
``osm``
    OpenStreetMap tag filter ``{key: [values]}``; a feature matching any key=value belongs to the
    category.
``name_pattern`` (optional)
    Regular expression the feature's name must also match (for tags that mix levels, e.g.
    ``amenity=school`` for both primary and middle schools).
``demand`` (optional)
    Compound column the category serves (default ``population``).
``source``
    Document and clause the category comes from.

Presets: ``gb50180`` (GB 50180-2018 5/10/15-minute life circles), ``mofcom`` (商务部 一刻钟便民
生活圈 business types) and ``beijing-elderly`` (Beijing elderly-care and health stations).
"""

from __future__ import annotations

import copy
import re
import sys
from functools import cache
from importlib import resources
from typing import Any

from ..errors import ConfigError, Problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["PRESETS", "load_preset", "merge_categories", "preset_info"]

#: Names accepted by :func:`load_preset` (and ``circle15 fetch --preset``).
PRESETS: tuple[str, ...] = ("gb50180", "mofcom", "beijing-elderly")

_KEY_RE = re.compile(r"^[a-z0-9_]+$")
_REQUIRED = ("key", "label", "label_en", "minutes", "osm", "source")
_OPTIONAL = ("walk_m", "name_pattern", "demand", "speed_m_s", "new_sites", "level", "group")


@cache
def _read(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise ConfigError(Problem(f"preset {name!r}", None, "preset", "unknown preset",
                                  f"use one of: {', '.join(PRESETS)}"))
    text = resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    problems = [
        Problem(f"preset {name}", None, f"category[{i}]", p, "fix the preset file")
        for i, cat in enumerate(data.get("category", []))
        for p in validate_category(cat)
    ]
    if problems:
        raise ConfigError(problems)
    return data


def validate_category(cat: dict[str, Any]) -> list[str]:
    """Problems with one category dict (empty list if it is fine)."""
    out = []
    for k in _REQUIRED:
        if k not in cat:
            out.append(f"missing {k}")
    for k in sorted(set(cat) - set(_REQUIRED) - set(_OPTIONAL)):
        out.append(f"unknown key {k}")
    key = cat.get("key", "")
    if not isinstance(key, str) or not _KEY_RE.match(key):
        out.append(f"key {key!r} is not [a-z0-9_]+")
    minutes = cat.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes <= 0:
        out.append(f"minutes {minutes!r} is not a positive number")
    osm = cat.get("osm", {})
    if not isinstance(osm, dict) or not osm or not all(
        isinstance(k, str) and (v is True or (isinstance(v, list) and v
                                              and all(isinstance(s, str) for s in v)))
        for k, v in osm.items()
    ):
        out.append("osm must be a non-empty table {key = [values]} (or {key = true})")
    pattern = cat.get("name_pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError):
            out.append(f"name_pattern {pattern!r} is not a regular expression")
    return out


def preset_info(name: str) -> dict[str, str]:
    """The ``[preset]`` table of a preset (name, title, title_en, source)."""
    return dict(_read(name)["preset"])


def load_preset(name: str) -> list[dict[str, Any]]:
    """The categories of a standard preset.

    Parameters
    ----------
    name : str
        One of :data:`PRESETS`.

    Returns
    -------
    list of dict
        One dict per category (fresh copies: callers may modify them), keys as described in the
        module docstring.

    Raises
    ------
    ConfigError
        Unknown preset name.
    """
    return copy.deepcopy(list(_read(name)["category"]))


def merge_categories(base: list[dict[str, Any]],
                     overrides: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Override preset categories field by field; append categories with new keys.

    Parameters
    ----------
    base : list of dict
        Usually :func:`load_preset` output.
    overrides : list of dict
        Category tables (e.g. the ``[[category]]`` blocks of an area.toml). An entry whose
        ``key`` matches a base category replaces just the fields it gives; ``osm`` replaces the
        whole tag filter. Entries with new keys are appended as they are.

    Returns
    -------
    list of dict
    """
    out = copy.deepcopy(base)
    by_key = {c["key"]: c for c in out}
    for o in overrides:
        if o.get("key") in by_key:
            target = by_key[o["key"]]
            target.update(copy.deepcopy(o))
            if "minutes" in o and "walk_m" not in o:
                target.pop("walk_m", None)  # a new threshold drops the preset's distance
        else:
            new = copy.deepcopy(o)
            new.setdefault("label_en", new.get("label", new.get("key", "")))
            new.setdefault("source", "user configuration")
            out.append(new)
            by_key[new.get("key")] = new
    return out
