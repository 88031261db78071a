"""The run's manifest, ``OUT/manifest.json``: which files a run wrote, from which config.

* ``state``: ``complete``, or ``writing`` during the few renames of a commit (a process killed
  then leaves the folder marked incomplete, and :func:`coverage.results.read_results` refuses
  it);
* ``run_id``: a digest of the run's files, so the same inputs give the same manifest;
* ``files``: every file of the run with its size and SHA-256 (a truncated or edited result is
  recognised), and ``external`` the files outside ``OUT`` (the map) relative to ``OUT``, each
  with ``out``, ``OUT`` relative to the file (a later run into a copy of ``OUT`` leaves the
  original's map alone);
* ``config``: what of the config the results depend on (:func:`config_fingerprint`), so results
  that no longer match the config are refused (:func:`manifest_problems`) instead of drawn from
  half a table.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Problem
from ..io import sha256_file, write_text
from .folder import LOCK_NAME, lock_output

if TYPE_CHECKING:  # pragma: no cover
    from ..config import AreaConfig, PointSource

__all__ = [
    "MANIFEST",
    "RESULT_FILES",
    "SCENARIO_FILES",
    "config_fingerprint",
    "manifest_problems",
    "read_manifest",
    "scenario_digests",
    "seal_run",
]

MANIFEST = "manifest.json"
"""The run's manifest in the output folder (see the module docstring)."""

RESULT_FILES = ("compounds.csv", "summary.csv", "islands.csv", "coverage.gpkg", "sites.csv",
                "scenarios.csv", "plan.csv", "utilisation.csv", "served.csv")
"""The results contract's files: :func:`coverage.results.read_results` checks these."""

MAP_FILE = "map.html"
"""A run's map when it stays in the output folder (a scenario's run, a batch area, and
:func:`coverage.runall.run_all` without ``map_path``); ``circle15 run`` puts it in ``maps/``."""

SCENARIO_FILES = ("scenario.toml", "sites.geojson")
"""A what-if scenario's files (:mod:`coverage.serve.scenario`): its walks, then its sites."""

STAGE_STEM = "run"
"""Stem of a run's staging folders (:func:`coverage.io.temp_path` names them
``OUT/.run.<hex>.tmp/``)."""


def config_fingerprint(config: AreaConfig) -> dict[str, Any]:
    """Everything of the config that changes a run's results (stored in the manifest).

    The study area (name, CRS, units kept, layers), the walk limits, each category's walk,
    demand, new sites, minimum floor area, capacity and weight, the candidate generation, the
    ``[plan]`` table, and the content (SHA-256) and reading options of every input file (so an
    edited candidates or facilities file, with its floor areas and capacities, counts). Not in
    it: labels and sources (the map and report take them from the config as it is) and
    ``tiles`` (tiled and untiled results are identical).
    """
    plan = config.plan
    return {
        "area": config.name,
        "crs": config.crs,
        "units": {"layer": config.boundaries_layer, "name_field": config.name_field,
                  "names": list(config.unit_names)},
        "compounds_layer": config.compounds_layer,
        "max_walk_min": float(config.max_walk_min),
        "max_snap_m": float(config.max_snap_m),
        "isochrone_buffer_m": float(config.isochrone_buffer_m),
        "candidates": {"generate": config.generate_candidates,
                       "spacing_m": float(config.candidate_spacing_m)},
        "plan": None if plan is None else {
            "categories": list(plan.categories), "given_proposed": plan.given_proposed,
            "time_limit_s": float(plan.time_limit_s)},
        "inputs": _input_files(config),
        "categories": [{"key": c.key, "minutes": float(c.minutes),
                        "speed_m_s": float(c.speed_m_s), "demand": c.demand,
                        "new_sites": c.new_sites,
                        "min_floor_area_m2": float(c.min_floor_area_m2),
                        "capacity": None if c.capacity is None else float(c.capacity),
                        "weight": float(c.weight)}
                       for c in config.categories],
    }


def _input_files(config: AreaConfig) -> dict[str, dict[str, Any]]:
    """Each input file by its role (``facilities[0]``): SHA-256 and how it is read."""
    sources: dict[str, PointSource | Path | None] = {
        "boundaries": config.boundaries, "network": config.network,
        "compounds": config.compounds, "gates": config.gates,
        **{f"facilities[{i}]": s for i, s in enumerate(config.facilities)},
        **{f"proposed[{i}]": s for i, s in enumerate(config.proposed)},
        "candidates": config.candidates,
    }
    out: dict[str, dict[str, Any]] = {}
    for role, source in sources.items():
        if source is None:
            continue
        if isinstance(source, Path):
            out[role] = {"sha256": _file_digest(source)}
        else:
            out[role] = {"sha256": _file_digest(source.path), "coords": source.coords,
                         "layer": source.layer, "sheet": source.sheet}
    return out


def _file_digest(path: Path) -> str | None:
    """SHA-256 of a file (None when it is missing), computed once per file version."""
    try:
        st = path.stat()
    except OSError:
        return None
    return _cached_digest(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _cached_digest(path: str, size: int, mtime_ns: int) -> str:
    """The size and modification time are part of the key: a changed file is hashed again."""
    return sha256_file(path)


def scenario_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of the what-if scenario's files in ``folder`` (empty when it holds none).

    A run of a scenario (``circle15 run CONFIG --scenario DIR``) has them in its output folder:
    the scenario's own folder, or a copy beside results written elsewhere.
    """
    return {name: sha256_file(folder / name) for name in SCENARIO_FILES
            if (folder / name).is_file()}


def read_manifest(out_dir: str | Path) -> dict[str, Any] | None:
    """The manifest of an output folder, or None when it has none (or it cannot be read)."""
    path = Path(out_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _flat(value: Any, prefix: str) -> dict[str, Any]:
    """Nested tables as dotted keys (``plan.time_limit_s``)."""
    if not isinstance(value, Mapping):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(_flat(item, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _change(key: str, ran: Any, now: Any) -> str:
    if key.startswith("inputs.") and key.endswith(".sha256"):
        role = key.removeprefix("inputs.").removesuffix(".sha256")
        return f"the {role} file changed since the run"
    if key.startswith("scenario."):
        return f"the scenario's {key.removeprefix('scenario.')} changed since the run"
    return f"{key} was {ran!r} in the run, is {now!r} now"


def _fingerprint_changes(ran: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    ran_flat = _flat({k: v for k, v in ran.items() if k != "categories"}, "")
    now_flat = _flat({k: v for k, v in now.items() if k != "categories"}, "")
    changes = [_change(key, ran_flat.get(key), now_flat.get(key))
               for key in sorted(ran_flat.keys() | now_flat.keys())
               if ran_flat.get(key) != now_flat.get(key)]
    ran_cats = {c["key"]: c for c in ran.get("categories", [])}
    now_cats = {c["key"]: c for c in now.get("categories", [])}
    for key in now_cats.keys() - ran_cats.keys():
        changes.append(f"category '{key}' was added to the config since the run")
    for key in ran_cats.keys() - now_cats.keys():
        changes.append(f"category '{key}' was removed from the config since the run")
    for key in sorted(ran_cats.keys() & now_cats.keys()):
        for attr in sorted(ran_cats[key].keys() | now_cats[key].keys()):
            if ran_cats[key].get(attr) != now_cats[key].get(attr):
                changes.append(f"category '{key}': {attr} was {ran_cats[key].get(attr)!r} in "
                               f"the run, is {now_cats[key].get(attr)!r} now")
    return sorted(changes)


def manifest_problems(out_dir: str | Path, config: AreaConfig, *,
                      files: tuple[str, ...] = RESULT_FILES) -> list[Problem]:
    """Why the results in ``out_dir`` must not be used with ``config`` (empty: they may).

    Checks that the folder holds a finished run (a manifest in state ``complete``), that each
    of ``files`` the run wrote is still as written (size and SHA-256), and that the config
    still matches what the run computed (:func:`config_fingerprint`, and the scenario's files
    when the run was of a scenario: :func:`scenario_digests`).
    """
    out = Path(out_dir)
    rerun = "run `circle15 run` (or `analyze`) again into this folder"
    manifest = read_manifest(out)
    if manifest is None:
        return [Problem(str(out / MANIFEST), None, None,
                        "no run manifest: the results were not written by a finished run of "
                        "this circle15 version", rerun)]
    if manifest.get("state") != "complete":
        return [Problem(str(out / MANIFEST), None, None,
                        "the last run into this folder was interrupted while writing its files",
                        rerun)]
    problems = []
    listed = manifest.get("files", {})
    for name in files:
        entry = listed.get(name)
        path = out / name
        if entry is None:
            if path.exists():
                problems.append(Problem(str(path), None, None,
                                        "this file is not from the folder's last run", rerun))
            continue
        if not path.is_file():
            problems.append(Problem(str(path), None, None, "missing: it was deleted after the "
                                    "run", rerun))
        elif path.stat().st_size != entry.get("bytes") or sha256_file(path) != entry.get(
                "sha256"):
            problems.append(Problem(str(path), None, None, "changed since the run (truncated "
                                    "or edited)", rerun))
    now = {**config_fingerprint(config), "scenario": scenario_digests(out)}
    changes = _fingerprint_changes(manifest.get("config") or {}, now)
    scenario_rerun = (f"rerun the scenario: `circle15 run {config.source} --scenario {out}`, "
                      "or restore its files")
    problems += [Problem(str(config.source), None, None,
                         f"the results in {out} were computed with another config: {c}",
                         scenario_rerun if c.startswith("the scenario's") else rerun)
                 for c in changes]
    return problems


def seal_run(out_dir: str | Path, config: AreaConfig) -> Path:
    """Record the files now in ``out_dir`` as one finished run of ``config`` (a manifest).

    For results written by other means (a test fixture, a converter): whatever the folder holds
    is from then on checked against the manifest like a run's output.
    """
    out = Path(out_dir)
    with lock_output(out):
        files = _file_entries(out, _relative_files(out))
        fingerprint = {**config_fingerprint(config), "scenario": scenario_digests(out)}
        manifest = {"circle15": _version(), "config": fingerprint,
                    "external": {}, "files": files, "run_id": _run_id(files, {}),
                    "state": "complete"}
        _write_manifest(out, manifest)
    return out / MANIFEST


def _file_entries(folder: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    return {name: {"bytes": (folder / name).stat().st_size,
                   "sha256": sha256_file(folder / name)} for name in names}


def _run_id(files: Mapping[str, Mapping[str, Any]],
            external: Mapping[str, Mapping[str, Any]]) -> str:
    h = hashlib.sha256()
    for name, entry in sorted({**files, **external}.items()):
        h.update(f"{name}\0{entry['sha256']}\n".encode())
    return h.hexdigest()[:16]


def _write_manifest(out: Path, manifest: Mapping[str, Any]) -> None:
    write_text(out / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1,
                                          sort_keys=True) + "\n")


def _is_ours(name: str) -> bool:
    return name in (LOCK_NAME, MANIFEST) or name.startswith(f".{STAGE_STEM}.")


def _relative_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and not _is_ours(p.name))


def _version() -> str:
    from .. import __version__

    return str(__version__)

