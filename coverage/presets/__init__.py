"""Standard facility-category presets (TOML data files shipped with the package).

Each preset is a TOML file ``<name>.toml`` in this folder with a ``[preset]`` table (name, title,
source) and ``[[category]]`` blocks. Their keys are those of an area.toml ``[[category]]`` block,
checked by the same parser (:func:`coverage.config.parse_category`); a preset category also needs
``label_en``, ``osm`` and ``source``. A category has:

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
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from ..config import Category, parse_category
from ..constants import DEFAULT_SPEED_M_S
from ..errors import ConfigError, Problem
from ..io import parse_toml

__all__ = [
    "PRESETS",
    "category_of",
    "load_preset",
    "merge_categories",
    "preset_info",
    "validate_category",
]

#: Names accepted by :func:`load_preset` (and ``circle15 fetch --preset``).
PRESETS: tuple[str, ...] = ("gb50180", "mofcom", "beijing-elderly")

# Presets must say what they match and where they come from; the rest is config's schema.
_REQUIRED = ("label_en", "osm", "source")


@cache
def _read(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise ConfigError(Problem(f"preset {name!r}", None, "preset", "unknown preset",
                                  f"use one of: {', '.join(PRESETS)}"))
    text = resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    data = parse_toml(text, file=f"preset {name}")
    problems = [
        Problem(f"preset {name}", None, f"category[{i}]", p, "fix the preset file")
        for i, cat in enumerate(data.get("category", []))
        for p in validate_category(cat)
    ]
    if problems:
        raise ConfigError(problems)
    return data


def validate_category(cat: Mapping[str, Any]) -> list[str]:
    """Problems with one preset category dict (empty list if it is fine).

    The category is checked by :func:`coverage.config.parse_category` (the one category
    schema); a preset also needs ``label_en``, ``osm`` and ``source``.
    """
    _, problems = parse_category(cat, required=_REQUIRED)
    return [f"{p.field}: {p.problem}" for p in problems]


def category_of(cat: Mapping[str, Any], *, speed_m_s: float = DEFAULT_SPEED_M_S,
                file: str = "category") -> Category:
    """A category dict (preset or merged) as a typed :class:`~coverage.config.Category`.

    Parameters
    ----------
    cat : mapping
        Keys as in an area.toml ``[[category]]`` block (``walk_m`` sets the speed).
    speed_m_s : float
        Walking speed when the category gives neither ``speed_m_s`` nor ``walk_m``.
    file : str
        Where the category comes from, for messages.

    Raises
    ------
    ConfigError
        The category breaks the schema.
    """
    where = f"category ({cat.get('key', '?')})"
    category, problems = parse_category(cat, where=where, file=file, speed_m_s=speed_m_s)
    if problems:
        raise ConfigError(problems)
    return category


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
