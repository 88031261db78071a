"""Checking the values of a config file: typed keys, tables and their keys, problems collected.

:class:`Problems` collects every problem of one file (raised once by the loader);
:class:`Num` is a numeric key's default and range; :class:`Section` a top-level section's keys.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Problem

__all__ = ["Num", "Problems", "Section", "check_table", "section_tables"]


@dataclass(frozen=True)
class Num:
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


class Problems:
    """Problems of one config file, collected and raised once."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[Problem] = []

    def add(self, key: str, problem: str, fix: str) -> None:
        self.items.append(Problem(self.file, None, key, problem, fix))

    def number(self, table: Mapping[str, Any], where: str, key: str, spec: Num) -> Any:
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


@dataclass(frozen=True)
class Section:
    """One top-level TOML section: its required and optional keys."""

    name: str
    required_keys: frozenset[str]
    optional_keys: frozenset[str]
    required: bool = False
    array: bool = False  # [[name]] (several tables) rather than [name]

    @property
    def block(self) -> str:
        return f"[[{self.name}]]" if self.array else f"[{self.name}]"


def check_table(p: Problems, section: Section, where: str, table: Any) -> bool:
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


def section_tables(p: Problems, section: Section, raw: Mapping[str, Any]
                   ) -> list[tuple[str, dict]]:
    """The section's tables with their names (``walk``, ``facilities[1]``); bad ones skipped."""
    if section.name not in raw:
        return []
    value = raw[section.name]
    if not section.array:
        return [(section.name, value)] if check_table(p, section, section.name, value) else []
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list):
        p.add(section.name, f"is {type(value).__name__} {value!r}, not an array of tables",
              f"write each one as a {section.block} block")
        return []
    out = []
    for i, t in enumerate(items):
        where = f"{section.name}[{i}]"
        if check_table(p, section, where, t):
            out.append((where, t))
    return out

