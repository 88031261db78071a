"""What-if scenarios: a folder a planner can keep, share and rerun.

A scenario is a plan on top of a study area: where the new sites are, which of the planned
(``[[proposed]]``) stations and candidate spaces are in it, and, per category, the walking
minutes and speed to judge it by. It lives in a folder ``<out>/scenarios/<name>/``:

``scenario.toml``
    ``[scenario]`` with ``name`` and ``area`` (the study area's name), then one ``[[category]]``
    per category with ``key``, ``minutes`` and ``speed_m_s``.
``sites.geojson``
    The plan's sites as WGS-84 points with ``id``, ``name``, ``category``, ``source``
    (``added``: placed by hand; ``proposed``: a planned station; ``candidate``: a candidate
    space), ``status`` (``planned``) and ``lon``/``lat``. Coordinates are written with every
    digit (``repr``), so reading them back gives the same numbers.

``circle15 run CONFIG --scenario DIR`` reruns a scenario (:func:`scenario_inputs`): the
config's inputs load as usual (same network, compounds, facilities and study-area extent),
each category takes the scenario's minutes and speed, and the scenario's sites replace the
config's proposed stations. The run's ``existing`` columns are then the baseline at the
scenario's walk and its ``with_proposed`` columns the plan -- the numbers ``circle15 serve``
shows for the same plan. The server reads a saved scenario through the same functions.

A folder is written whole or not at all (:func:`write_scenario`): the files go into a hidden
temporary folder that then replaces the old one by two renames; :func:`list_scenarios`
finishes or undoes a swap a crash interrupted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..config import AreaConfig
from ..constants import SPEED_RANGE_M_S
from ..errors import InputError, Problem
from ..inputs import StudyInputs
from ..io import read_table, read_toml, toml_value, write_text
from ..outputs import SCENARIO_FILES, lock_output
from ..validate import check_duplicate_ids, locate_points, parse_points

__all__ = [
    "SCENARIO_FILE",
    "SITES_FILE",
    "SITE_SOURCES",
    "Scenario",
    "ScenarioNameError",
    "Site",
    "Walk",
    "check_name",
    "list_scenarios",
    "locate_sites",
    "read_scenario",
    "scenario_config",
    "scenario_inputs",
    "scenarios_dir",
    "write_scenario",
    "write_scenario_files",
]

log = logging.getLogger(__name__)

SCENARIO_FILE, SITES_FILE = SCENARIO_FILES  # named once: the run manifest hashes them
SITE_SOURCES = ("added", "proposed", "candidate")
"""Where a site of a plan comes from: placed by hand, a planned station, a candidate space."""

#: Letters, digits, CJK ideographs, ``-`` and ``_``; no dot (so no ``..``), no slash.
_NAME_RE = re.compile(r"[A-Za-z0-9_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff][-A-Za-z0-9_"
                      r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{0,63}")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
             *(f"lpt{i}" for i in range(10))}
_SCENARIO_KEYS = {"name", "area"}
_CATEGORY_KEYS = {"key", "minutes", "speed_m_s"}


class ScenarioNameError(ValueError):
    """A scenario name that cannot be a folder name (the message says why and what is allowed)."""


def check_name(name: object) -> str:
    """Return ``name`` if it is a valid scenario name, else raise :class:`ScenarioNameError`.

    Allowed: 1-64 characters, letters A-Z/a-z, digits, CJK ideographs, ``-`` and ``_``, not
    starting with ``-``; no dots, slashes or spaces, and not a reserved device name (``CON``,
    ``NUL``...). A name is never a path: it is only ever joined to the scenarios folder.
    """
    if not isinstance(name, str):
        raise ScenarioNameError("the scenario name must be text")
    if not _NAME_RE.fullmatch(name):
        raise ScenarioNameError(
            f"{name[:80]!r} is not a valid scenario name: use 1-64 letters, digits, Chinese "
            "characters, '-' or '_' (no dots, slashes or spaces; not starting with '-')")
    if name.lower() in _RESERVED:
        raise ScenarioNameError(f"{name!r} is a reserved device name; choose another name")
    return name


@dataclass(frozen=True)
class Site:
    """One site of a plan.

    Attributes
    ----------
    id, name : str
    category : str
        The category key the site serves.
    source : str
        One of :data:`SITE_SOURCES`.
    lon, lat : float
        WGS-84 degrees.
    """

    id: str
    name: str
    category: str
    source: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Walk:
    """A category's walking threshold: ``minutes`` at ``speed_m_s`` (m/s)."""

    minutes: float
    speed_m_s: float


@dataclass(frozen=True)
class Scenario:
    """A plan: its sites and each category's walk.

    Attributes
    ----------
    name : str
        Valid per :func:`check_name`.
    area : str
        Name of the study area (``[area] name``) the plan belongs to.
    sites : tuple of Site
    walks : mapping of category key -> Walk
        Every category of the config, in config order.
    """

    name: str
    area: str
    sites: tuple[Site, ...]
    walks: Mapping[str, Walk] = field(default_factory=dict)


def scenarios_dir(out_dir: str | Path) -> Path:
    """The folder holding an output folder's scenarios."""
    return Path(out_dir) / "scenarios"


# --- writing ---------------------------------------------------------------------------------


def scenario_toml(scenario: Scenario) -> str:
    """The text of ``scenario.toml``."""
    lines = [
        "# circle15 what-if scenario. Rerun: circle15 run <area.toml> --scenario <this folder>",
        f"# Sites: {SITES_FILE} (WGS-84). Walk per category: minutes at speed_m_s (m/s).",
        "",
        "[scenario]",
        f"name = {toml_value(scenario.name)}",
        f"area = {toml_value(scenario.area)}",
    ]
    for key, walk in scenario.walks.items():
        lines += ["", "[[category]]", f"key = {toml_value(key)}",
                  f"minutes = {toml_value(float(walk.minutes))}",
                  f"speed_m_s = {toml_value(float(walk.speed_m_s))}"]
    return "\n".join(lines) + "\n"


def sites_geojson(scenario: Scenario) -> str:
    """The text of ``sites.geojson`` (floats written with every digit)."""
    feats = [{
        "type": "Feature",
        "properties": {"id": s.id, "name": s.name, "category": s.category, "source": s.source,
                       "status": "planned", "lon": s.lon, "lat": s.lat},
        "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
    } for s in scenario.sites]
    body = ",\n".join(json.dumps(f, ensure_ascii=False) for f in feats)
    return ('{"type": "FeatureCollection", "name": "sites", "features": [\n' + body
            + ("\n" if feats else "") + "]}\n")


def _files(scenario: Scenario) -> dict[str, str]:
    return {SCENARIO_FILE: scenario_toml(scenario), SITES_FILE: sites_geojson(scenario)}


def write_scenario_files(folder: str | Path, scenario: Scenario) -> list[Path]:
    """Write a scenario's two files into an existing results folder (each file atomically).

    For a run's output folder, so results written elsewhere than the scenario folder still
    carry the plan they belong to. Saving a scenario uses :func:`write_scenario`.
    """
    folder = Path(folder)
    return [write_text(folder / f, text) for f, text in _files(scenario).items()]


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_scenario(root: str | Path, scenario: Scenario) -> Path:
    """Write a scenario folder ``root/<name>/`` whole, replacing any older one.

    When the folder already holds exactly this scenario nothing is written (so results
    exported into it stay). Otherwise both files go into a hidden temporary folder, which
    replaces the old folder by two renames (old -> hidden, new -> name) under the folder's run
    lock (:func:`coverage.outputs.lock_output`); a crash between them is repaired by
    :func:`list_scenarios`. Results exported for an older version of the scenario
    go with the old folder, so a folder never mixes a plan with another plan's results.

    Returns
    -------
    Path
        The scenario folder.

    Raises
    ------
    coverage.outputs.OutputInUseError
        A run is writing into the folder.
    """
    name = check_name(scenario.name)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    target = root / name
    files = _files(scenario)
    if target.is_dir() and all(
            (target / f).is_file() and (target / f).read_text(encoding="utf-8") == text
            for f, text in files.items()):
        return target
    tag = uuid.uuid4().hex[:8]
    tmp = root / f".{name}.{tag}.tmp"
    old = root / f".{name}.{tag}.old"
    tmp.mkdir()
    try:
        for f, text in files.items():
            write_text(tmp / f, text)
        _fsync_dir(tmp)
        # A run writing into the folder (circle15 run --scenario) holds its lock: wait for none.
        with lock_output(target, command="circle15 serve (save)") if target.exists() \
                else contextlib.nullcontext():
            if target.exists():
                os.rename(target, old)
            os.rename(tmp, target)
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not target.exists():
            os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
    log.info("saved scenario %s (%d sites) in %s", name, len(scenario.sites), target)
    return target


def _repair(root: Path) -> None:
    """Finish or undo folder swaps a crash interrupted; drop unfinished temporary folders."""
    for p in sorted(root.glob(".*.*.old")):
        name = p.name[1:].rsplit(".", 2)[0]
        target = root / name
        if target.exists():
            shutil.rmtree(p, ignore_errors=True)
        else:
            os.rename(p, target)
            log.warning("restored scenario %s after an interrupted save", name)
    for p in root.glob(".*.*.tmp"):
        shutil.rmtree(p, ignore_errors=True)


def list_scenarios(root: str | Path) -> list[str]:
    """Names of the saved scenarios in ``root`` (sorted); repairs interrupted saves first."""
    root = Path(root)
    if not root.is_dir():
        return []
    _repair(root)
    names = []
    for p in root.iterdir():
        if p.is_dir() and (p / SCENARIO_FILE).is_file():
            with contextlib.suppress(ScenarioNameError):
                names.append(check_name(p.name))
    return sorted(names)


# --- reading -----------------------------------------------------------------------------------


def _number(value: object, where: str, file: str, problems: list[Problem]) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.append(Problem(file, None, where, f"{value!r} is not a number",
                                "write a plain number, e.g. 15 or 0.9"))
        return None
    return float(value)


def _walks(raw: object, cfg: AreaConfig, file: str, problems: list[Problem]) -> dict[str, Walk]:
    walks = {c.key: Walk(c.minutes, c.speed_m_s) for c in cfg.categories}
    if not isinstance(raw, list):
        problems.append(Problem(file, None, "category", "must be an array of tables",
                                "write each category as [[category]]"))
        return walks
    for i, t in enumerate(raw):
        where = f"category[{i}]"
        if not isinstance(t, dict):
            problems.append(Problem(file, None, where, "is not a table",
                                    "write it as a [[category]] block"))
            continue
        for key in sorted(set(t) - _CATEGORY_KEYS):
            problems.append(Problem(file, None, f"{where}.{key}", "unknown key",
                                    f"use one of: {', '.join(sorted(_CATEGORY_KEYS))}"))
        key = t.get("key")
        if key not in walks:
            problems.append(Problem(file, None, f"{where}.key", f"unknown category {key!r}",
                                    f"use one of: {', '.join(cfg.category_keys)}"))
            continue
        minutes = _number(t.get("minutes", walks[key].minutes), f"{where}.minutes", file,
                          problems)
        speed = _number(t.get("speed_m_s", walks[key].speed_m_s), f"{where}.speed_m_s", file,
                        problems)
        if minutes is not None and not 0 < minutes <= cfg.max_walk_min:
            problems.append(Problem(file, None, f"{where}.minutes", f"{minutes:g} min is out of "
                                    "range", f"use more than 0 and at most {cfg.max_walk_min:g} "
                                    "(walk.max_walk_min)"))
        if speed is not None and not SPEED_RANGE_M_S[0] <= speed <= SPEED_RANGE_M_S[1]:
            problems.append(Problem(file, None, f"{where}.speed_m_s",
                                    f"{speed:g} m/s is not a walking speed",
                                    "use metres per second, e.g. 0.9 for older walkers"))
        if minutes is not None and speed is not None:
            walks[key] = Walk(minutes, speed)
    return walks


def _load_toml(path: Path) -> dict[str, object]:
    if not path.is_file():
        raise InputError(Problem(str(path), None, None, "no scenario file here",
                                 f"give a scenario folder holding {SCENARIO_FILE} (saved by "
                                 "circle15 serve)"))
    return read_toml(path)


def read_scenario(folder: str | Path, cfg: AreaConfig) -> Scenario:
    """Read a scenario folder written by :func:`write_scenario` (or by hand).

    The sites are read and checked like any point file (:func:`locate_sites`), so a scenario
    that reads here also runs.

    Raises
    ------
    InputError
        Naming the file, field and fix: missing files, unknown keys or categories, a scenario
        of another study area, bad numbers, sites outside the study area.
    """
    folder = Path(folder)
    toml_path = folder / SCENARIO_FILE
    raw = _load_toml(toml_path)
    file = str(toml_path)
    problems: list[Problem] = []
    for key in sorted(set(raw) - {"scenario", "category"}):
        problems.append(Problem(file, None, key, "unknown section",
                                "use [scenario] and [[category]] only"))
    head = raw.get("scenario", {})
    if not isinstance(head, dict):
        head = {}
        problems.append(Problem(file, None, "scenario", "is not a table",
                                "write it as a [scenario] block"))
    for key in sorted(set(head) - _SCENARIO_KEYS):
        problems.append(Problem(file, None, f"scenario.{key}", "unknown key",
                                f"use one of: {', '.join(sorted(_SCENARIO_KEYS))}"))
    name = head.get("name", folder.name)
    try:
        check_name(name)
    except ScenarioNameError as exc:
        problems.append(Problem(file, None, "scenario.name", str(exc), "rename the scenario"))
    area = head.get("area", cfg.name)
    if area != cfg.name:
        problems.append(Problem(file, None, "scenario.area",
                                f"the scenario belongs to study area {area!r}, not {cfg.name!r}",
                                "run it with the config of its own study area"))
    walks = _walks(raw.get("category", []), cfg, file, problems)
    if problems:
        raise InputError(problems)
    sites = _read_sites(folder / SITES_FILE, cfg)
    return Scenario(name=str(name), area=str(area), sites=sites, walks=walks)


def _read_sites(path: Path, cfg: AreaConfig) -> tuple[Site, ...]:
    if not path.is_file():
        raise InputError(Problem(str(path), None, None, "the scenario's sites file is missing",
                                 "save the scenario again from circle15 serve"))
    table = read_table(path, file=str(path))
    if len(table) == 0:
        return ()
    layer, problems = parse_points(table, file=str(path), kind="proposed", coords="wgs84",
                                   categories=cfg.category_keys, strict=True)
    df = layer.table
    for row, src in zip(df["row"], df["source"], strict=True):
        if src not in SITE_SOURCES:
            problems.append(Problem(str(path), int(row), "source", f"unknown source {src!r}",
                                    f"use one of: {', '.join(SITE_SOURCES)}"))
    if problems:
        raise InputError(problems)
    return tuple(Site(str(r.id), str(r.name), str(r.category), str(r.source), float(r.lon),
                      float(r.lat)) for r in df.itertuples())


# --- applying -----------------------------------------------------------------------------------


def scenario_config(cfg: AreaConfig, walks: Mapping[str, Walk]) -> AreaConfig:
    """``cfg`` with each category's minutes and speed taken from ``walks``."""
    cats = tuple(replace(c, minutes=walks[c.key].minutes, speed_m_s=walks[c.key].speed_m_s)
                 if c.key in walks else c for c in cfg.categories)
    return replace(cfg, categories=cats)


def locate_sites(sites: tuple[Site, ...] | list[Site], inputs: StudyInputs, *, file: str
                 ) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Sites as a proposed-stations layer in the area CRS, checked like a point file.

    :func:`coverage.validate.parse_points` then :func:`coverage.validate.locate_points`, strict:
    a site must lie in the study area plus the longest walk. The projection is
    :func:`coverage.validate.project_lonlat`, which the workspace also uses for a site placed
    on the map, so the page and the run put a site at the same coordinates.

    Returns
    -------
    GeoDataFrame
        Columns of :attr:`StudyInputs.proposed` (``source`` = the site's source).
    problems : list of Problem
    """
    cfg = inputs.config
    table = pd.DataFrame({
        "id": [s.id for s in sites], "name": [s.name for s in sites],
        "category": [s.category for s in sites], "status": ["planned"] * len(sites),
        "source": [s.source for s in sites],
        "lon": [repr(float(s.lon)) for s in sites], "lat": [repr(float(s.lat)) for s in sites],
    }, dtype=object)
    layer, problems = parse_points(table, file=file, kind="proposed", coords="wgs84",
                                   categories=cfg.category_keys, strict=True)
    gdf, more, _ = locate_points(layer, file=file, crs=cfg.crs, study_area=inputs.study_area,
                                 buffer_m=cfg.max_walk_m, outside="error")
    return gdf, problems + more


def scenario_inputs(inputs: StudyInputs, scenario: Scenario, *, file: str = SITES_FILE
                    ) -> StudyInputs:
    """The inputs of a scenario run: the scenario's walks, its sites as the proposed stations.

    Everything else -- compounds, facilities, units and the extent the network is loaded for
    (``load_area``) -- stays as the config's own run has it, so the two runs share one network.

    Raises
    ------
    InputError
        A site outside the study area, or a site id also used by an existing facility.
    """
    sites, problems = locate_sites(scenario.sites, inputs, file=file)
    problems += check_duplicate_ids([inputs.facilities, sites])
    if problems:
        raise InputError(problems)
    return replace(inputs, config=scenario_config(inputs.config, scenario.walks),
                   proposed=sites)
