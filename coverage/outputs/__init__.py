"""Writing a run: never half a run, never two runs mixed in one folder.

A run's files are written into a staging folder inside the output folder
(``OUT/.run.<hex>.tmp/``) while it computes; only when everything is written does
:meth:`RunWriter.commit` move them into ``OUT`` (and files that live elsewhere, such as the map
``maps/<area>_coverage.html``, into place), remove the previous run's files that the new run
did not write, and write ``OUT/manifest.json``:

* ``state``: ``complete``, or ``writing`` during the few renames of a commit (a process killed
  then leaves the folder marked incomplete, and :func:`coverage.results.read_results` refuses
  it);
* ``run_id``: a digest of the run's files, so the same inputs give the same manifest;
* ``files``: every file of the run with its size and SHA-256 (a truncated or edited result is
  recognised), and ``external`` the files outside ``OUT`` (the map) relative to ``OUT``;
* ``config``: what of the config the results depend on (area, CRS, the longest reported walk,
  each category's key, minutes, speed and demand), so results that no longer match the config
  are refused instead of drawn from half a table.

A run that fails or is killed before the commit leaves ``OUT`` exactly as it was; the staging
folder and temporary files it leaves are removed by the next run. Files in ``OUT`` that no
run wrote (a planner's notes, ``scenarios/``) are never touched.

One process at a time writes to an output folder: :func:`lock_output` takes an exclusive lock on
``OUT/.circle15.lock`` (released by the operating system when the process ends, also on
``kill -9``); a second run fails at once with :class:`OutputInUseError` naming the lock.

The files of the coverage stage are written by :func:`write_coverage_files`; CSV numbers follow
one rule (:func:`csv_table`): percentages with 2 decimals, populations as whole numbers.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import hashlib
import json
import logging
import os
import stat
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from ..errors import InputError, Problem
from ..io import (
    remove_path,
    remove_stale_temp,
    replace_folder,
    sha256_file,
    temp_path,
    write_csv,
    write_gpkg,
    write_text,
)

if sys.platform == "win32":  # pragma: no cover - planners' Windows machines
    import msvcrt
else:
    import fcntl

if TYPE_CHECKING:  # pragma: no cover
    from ..config import AreaConfig
    from ..inputs import StudyInputs
    from ..jointplan.stage import PlanOutcome
    from ..pipeline import CoverageTables
    from ..planning import SitingOutcome

__all__ = [
    "KNOWN_OUTPUTS",
    "LOCK_NAME",
    "MANIFEST",
    "OutputInUseError",
    "RunWriter",
    "check_map_path",
    "check_out_dir",
    "compounds_table",
    "config_fingerprint",
    "csv_table",
    "lock_output",
    "manifest_problems",
    "open_run",
    "read_manifest",
    "seal_run",
    "write_coverage",
    "write_coverage_files",
    "write_inputs",
]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
"""The run's manifest in the output folder (see the module docstring)."""

LOCK_NAME = ".circle15.lock"
"""The lock file in the output folder."""

RESULT_FILES = ("compounds.csv", "summary.csv", "islands.csv", "coverage.gpkg", "sites.csv",
                "scenarios.csv", "plan.csv", "utilisation.csv", "served.csv")
"""The results contract's files: :func:`coverage.results.read_results` checks these."""

KNOWN_OUTPUTS = frozenset({
    *RESULT_FILES, "inputs.gpkg", "dropped.csv", "report.html", "report.xlsx", "report.pdf",
    "sensitivity.csv",
    "map.html", "coverage.qgz", "coverage.qgs",
    "batch_summary.csv", "batch_areas.csv", "batch_coverage.gpkg", "batch_map.html", "areas",
})
"""Names a run writes at the top of its folder. A new run removes those of an earlier run
(also one without a manifest) that it does not write itself; any other file is the planner's."""

_PCT_SUFFIX = "_pct"
_POPULATION_COLUMNS = frozenset({
    "population", "population_60plus", "population_covered", "demand_covered", "gain_demand",
    "cumulative_demand_covered",
})


# --- CSV tables ------------------------------------------------------------------------------


def csv_table(table: pd.DataFrame, *, population_columns: frozenset[str] = frozenset()
              ) -> pd.DataFrame:
    """A table as circle15 writes it to CSV: percentages with 2 decimals, populations whole.

    Parameters
    ----------
    table : DataFrame
    population_columns : frozenset of str
        Further columns holding people (a category's ``demand`` column) besides the standard
        ones (``population``, ``population_covered``, ``demand_covered`` ...).

    Returns
    -------
    DataFrame
        Columns ending in ``_pct`` as text ``"95.35"`` (empty when unknown); population
        columns as nullable integers (rounded half to even). Other columns unchanged.
    """
    out = table.copy()
    people = _POPULATION_COLUMNS | population_columns
    for col in out.columns:
        values = out[col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        if str(col).endswith(_PCT_SUFFIX):
            out[col] = [("" if pd.isna(v) else f"{v:.2f}") for v in values.to_numpy(float)]
        elif col in people:
            out[col] = values.astype(float).round().astype("Int64")
    return out


def compounds_table(compounds: gpd.GeoDataFrame) -> pd.DataFrame:
    """The compounds layer without geometry, walking minutes rounded to 2 decimals."""
    table = pd.DataFrame(compounds.drop(columns="geometry"))
    walk_cols = [c for c in table.columns if c.startswith("walk_min_")]
    table[walk_cols] = table[walk_cols].round(2)
    return table


def _demand_columns(config: AreaConfig) -> frozenset[str]:
    return frozenset(c.demand for c in config.categories)


def write_coverage_files(result: CoverageTables, folder: str | Path,
                         siting: SitingOutcome | None = None, *,
                         plan: PlanOutcome | None = None,
                         progress: bool = False) -> list[Path]:
    """Write the coverage stage's files into ``folder`` (each atomically; no run bookkeeping).

    compounds.csv, summary.csv, islands.csv and coverage.gpkg; with ``siting`` also sites.csv,
    scenarios.csv and the ``candidates`` / ``selected_sites`` layers; with the joint ``plan``
    also plan.csv, utilisation.csv, served.csv, its rows in scenarios.csv and the
    ``plan_spaces`` / ``plan_sites`` layers. Use :func:`write_coverage` (or :func:`open_run`)
    to write them as one run.
    """
    out = Path(folder)
    people = _demand_columns(result.config)
    layers = {
        "boundaries": result.inputs.boundaries[["name", "geometry"]],
        "compounds": result.compounds,
        "facilities": result.facilities,
        "proposed": result.proposed,
    }
    for key, iso in result.isochrones.items():
        layers[f"isochrones_{key}"] = iso
    from ..network import street_lines
    from ..pipeline import CoverageResult

    if isinstance(result, CoverageResult):  # a tiled run keeps no network
        layers["streets"] = street_lines(result.network)
    paths = [
        write_csv(csv_table(compounds_table(result.compounds), population_columns=people),
                  out / "compounds.csv"),
        write_csv(csv_table(result.summary), out / "summary.csv"),
        write_csv(result.islands, out / "islands.csv"),
    ]
    if len(result.inputs.dropped):  # rows of district-wide lists left out on purpose
        paths.append(write_csv(result.inputs.dropped, out / "dropped.csv"))
    if siting is not None:
        layers["candidates"] = siting.candidates
        layers["selected_sites"] = siting.selected_sites
        paths.append(write_csv(csv_table(siting.sites), out / "sites.csv"))
    if plan is not None:
        paths += _write_plan(plan, out, layers)
    scenarios = _scenarios(result.config, siting, plan)
    if scenarios is not None:
        paths.append(write_csv(csv_table(scenarios, population_columns=_PLAN_PEOPLE),
                               out / "scenarios.csv"))
    paths.append(write_gpkg(out / "coverage.gpkg", layers, progress=progress))
    return paths


# Columns of the joint plan's tables that count people (written as whole numbers).
_PLAN_PEOPLE = frozenset({"demand", "demand_served", "demand_unserved", "gain", "load",
                          "nearest_demand"})


def _write_plan(plan: PlanOutcome, out: Path, layers: dict[str, gpd.GeoDataFrame]
                ) -> list[Path]:
    """plan.csv, utilisation.csv, served.csv; the layers go into ``layers``."""
    layers["plan_spaces"] = plan.spaces
    layers["plan_sites"] = plan.sites
    return [write_csv(csv_table(table, population_columns=_PLAN_PEOPLE), out / name)
            for name, table in (("plan.csv", plan.plan), ("utilisation.csv", plan.utilisation),
                                ("served.csv", plan.served))]


def _scenarios(config: AreaConfig, siting: SitingOutcome | None,
               plan: PlanOutcome | None) -> pd.DataFrame | None:
    """scenarios.csv: siting's rows, with the joint plan's when it ran."""
    if plan is None:
        return None if siting is None else siting.scenarios
    from ..jointplan.stage import scenario_table

    return scenario_table(None if siting is None else siting.scenarios, plan, config)


def write_inputs(inputs: StudyInputs, folder: str | Path, *, progress: bool = False) -> Path:
    """The cleaned, projected inputs as ``inputs.gpkg`` in ``folder``."""
    layers = {
        "boundaries": inputs.boundaries,
        "compounds": inputs.compounds,
        "facilities": inputs.facilities,
        "proposed": inputs.proposed,
    }
    if inputs.candidates is not None:
        layers["candidates"] = inputs.candidates
    return write_gpkg(Path(folder) / "inputs.gpkg", layers, progress=progress)


def write_coverage(result: CoverageTables, out_dir: str | Path,
                   siting: SitingOutcome | None = None, *,
                   plan: PlanOutcome | None = None) -> list[Path]:
    """Write the results of a run into ``out_dir``, as one run.

    compounds.csv, summary.csv, islands.csv and coverage.gpkg; with ``siting`` also sites.csv,
    scenarios.csv and the ``candidates`` / ``selected_sites`` layers; with the joint ``plan``
    its files (see :func:`write_coverage_files`). Nothing in ``out_dir``
    changes until every file is written; then the files of an earlier run that this one does
    not write (an old sites.csv, report, map) are removed, so the folder never mixes runs.

    Returns
    -------
    list of Path
        The files written, in ``out_dir``.
    """
    with open_run(out_dir, config=result.config) as run:
        staged = write_coverage_files(result, run.dir, siting, plan=plan)
    return [run.out / p.name for p in staged]


# --- checks before any work ------------------------------------------------------------------


def _problem(path: Path, problem: str, fix: str, field_: str | None = None) -> InputError:
    return InputError(Problem(str(path), None, field_, problem, fix))


def _read_only(path: Path) -> bool:
    """True when ``path`` may not be written: no write permission, or no write bit at all
    (a folder a planner marked read-only is respected even when running as root)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not os.access(path, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_out_dir(out_dir: str | Path, *, option: str = "--out") -> Path:
    """Check that ``out_dir`` can be the output folder, before any work is done.

    Raises
    ------
    InputError
        It is a file, a read-only folder, or inside a folder that cannot be written.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise _problem(out, "this is a file, not a folder", f"give {option} a folder "
                       "(it is created if missing)", option)
    base = out if out.is_dir() else _nearest_existing(out)
    if not base.is_dir():
        raise _problem(out, f"{base} is a file, so the folder cannot be created",
                       f"give {option} a path inside a folder", option)
    if _read_only(base):
        raise _problem(out, f"the folder {base} is read-only", f"make it writable, or give "
                       f"{option} a folder you can write to", option)
    return out


def check_map_path(map_path: str | Path, *, option: str = "--map") -> Path:
    """Check that the map can be written to ``map_path``, before any work is done.

    Raises
    ------
    InputError
        It is a folder, or its folder cannot be created or written.
    """
    path = Path(map_path)
    if path.is_dir():
        raise _problem(path, "this is a folder, not a file",
                       f"give {option} a file name, e.g. {path / 'map.html'}", option)
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise _problem(path, f"{base} is a file, so the map's folder cannot be created",
                       f"give {option} a path inside a folder", option)
    if _read_only(base) or (path.exists() and _read_only(path)):
        raise _problem(path, "the map's folder or file is read-only",
                       f"make it writable, or give {option} another file", option)
    return path


# --- the lock ----------------------------------------------------------------------------------


class OutputInUseError(InputError):
    """Another process is writing to the output folder (CLI exit code 2)."""


_held: dict[Path, tuple[int, int]] = {}  # folder -> (file descriptor, depth): re-entrant


@contextlib.contextmanager
def lock_output(out_dir: str | Path, *, command: str = "") -> Iterator[Path]:
    """Hold the exclusive lock of an output folder for the block (created if missing).

    Re-entrant within one process. The lock is an ``flock`` on ``OUT/.circle15.lock``; the
    operating system releases it when the process ends, however it ends.

    Raises
    ------
    OutputInUseError
        Another process holds the lock (the message names it and its holder).
    """
    out = Path(out_dir)
    key = out.resolve()
    if key in _held:
        fd, depth = _held[key]
        _held[key] = (fd, depth + 1)
        try:
            yield out
        finally:
            _held[key] = (fd, _held[key][1] - 1)
        return
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        fd = _acquire(out / LOCK_NAME, out)
    except BaseException:
        _remove_if_empty(out, created)
        raise
    try:
        started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        note = f"pid {os.getpid()}, started {started}" + (f", {command}" if command else "")
        _write_note(fd, note)
        _held[key] = (fd, 1)
        yield out
    finally:
        _held.pop(key, None)
        # Unlink before unlocking: a process that opened the old file then finds, after
        # locking it, that the path no longer names it, and tries again (see _acquire).
        with contextlib.suppress(OSError):
            (out / LOCK_NAME).unlink()
        _unlock(fd)
        os.close(fd)
        _remove_if_empty(out, created)


def _remove_if_empty(out: Path, created: bool) -> None:
    """A folder the lock created and nothing was written to is removed again (a run that failed
    leaves no empty output folder behind)."""
    if created:
        with contextlib.suppress(OSError):
            out.rmdir()  # only succeeds when empty


def _acquire(lock: Path, out: Path) -> int:
    """Open and ``flock`` the lock file; the file must still be at its path once locked."""
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            holder = _read_note(fd)
            os.close(fd)
            raise OutputInUseError(Problem(
                str(lock), None, None,
                f"another circle15 process is writing to {out} ({holder or 'holder unknown'})",
                "wait for it to finish, or give another --out folder"))
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder removed it as we locked it: take the new one


def _try_lock(fd: int) -> bool:
    """Lock the open file without waiting; False when another process holds it."""
    try:
        if sys.platform == "win32":  # pragma: no cover
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EDEADLK):
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        if sys.platform == "win32":  # pragma: no cover
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _read_note(fd: int) -> str:
    """Who holds the lock, as its holder wrote it ("" when unreadable)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 4096).decode("utf-8", "replace").strip()
    except OSError:  # Windows: the holder's locked byte cannot be read
        return ""


def _write_note(fd: int, note: str) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, note.encode("utf-8") + b"\n")


# --- the manifest ------------------------------------------------------------------------------


def config_fingerprint(config: AreaConfig) -> dict[str, Any]:
    """What of the config a run's results depend on (stored in the manifest)."""
    return {
        "area": config.name,
        "crs": config.crs,
        "max_walk_min": float(config.max_walk_min),
        "categories": [{"key": c.key, "minutes": float(c.minutes),
                        "speed_m_s": float(c.speed_m_s), "demand": c.demand}
                       for c in config.categories],
    }


def read_manifest(out_dir: str | Path) -> dict[str, Any] | None:
    """The manifest of an output folder, or None when it has none (or it cannot be read)."""
    path = Path(out_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _fingerprint_changes(ran: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    changes = []
    for key in ("area", "crs", "max_walk_min"):
        if ran.get(key) != now.get(key):
            changes.append(f"{key} was {ran.get(key)!r} in the run, is {now.get(key)!r} now")
    ran_cats = {c["key"]: c for c in ran.get("categories", [])}
    now_cats = {c["key"]: c for c in now.get("categories", [])}
    for key in now_cats.keys() - ran_cats.keys():
        changes.append(f"category '{key}' was added to the config since the run")
    for key in ran_cats.keys() - now_cats.keys():
        changes.append(f"category '{key}' was removed from the config since the run")
    for key in sorted(ran_cats.keys() & now_cats.keys()):
        for attr in ("minutes", "speed_m_s", "demand"):
            if ran_cats[key].get(attr) != now_cats[key].get(attr):
                changes.append(f"category '{key}': {attr} was {ran_cats[key].get(attr)!r} in "
                               f"the run, is {now_cats[key].get(attr)!r} now")
    return sorted(changes)


def manifest_problems(out_dir: str | Path, config: AreaConfig, *,
                      files: tuple[str, ...] = RESULT_FILES) -> list[Problem]:
    """Why the results in ``out_dir`` must not be used with ``config`` (empty: they may).

    Checks that the folder holds a finished run (a manifest in state ``complete``), that each
    of ``files`` the run wrote is still as written (size and SHA-256), and that the config
    still matches what the run computed (categories, minutes, speeds, demand, CRS).
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
    changes = _fingerprint_changes(manifest.get("config", {}), config_fingerprint(config))
    problems += [Problem(str(config.source), None, None,
                         f"the results in {out} were computed with another config: {c}", rerun)
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
        manifest = {"circle15": _version(), "config": config_fingerprint(config),
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


# --- writing a run -----------------------------------------------------------------------------


def _is_ours(name: str) -> bool:
    return name in (LOCK_NAME, MANIFEST) or name.startswith(".run.")


def _relative_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and not _is_ours(p.name))


@dataclass
class RunWriter:
    """A run being written; make one with :func:`open_run`.

    Attributes
    ----------
    out : Path
        The output folder.
    dir : Path
        Where to write the run's files: a staging folder (a new run) or ``out`` itself (adding
        files to the last run, ``extend=True``).
    """

    out: Path
    dir: Path
    extend: bool
    fingerprint: dict[str, Any] | None
    _external: dict[Path, Path] = field(default_factory=dict)
    _added: set[str] = field(default_factory=set)

    def external(self, path: str | Path) -> Path:
        """A temporary path for a file of this run that lives outside ``out`` (the map).

        Write the file there; the commit moves it to ``path``.
        """
        final = Path(path)
        final.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temp(final.parent, stem=final.stem)
        tmp = temp_path(final)
        self._external[final] = tmp
        return tmp

    def _external_key(self, final: Path) -> str:
        return Path(os.path.relpath(final.absolute(), self.out.absolute())).as_posix()

    def commit(self) -> list[Path]:
        """Move the run into place and write the manifest; returns the final paths."""
        previous = read_manifest(self.out) or {}
        staged = _relative_files(self.dir) if not self.extend else []
        external = {self._external_key(f): {"bytes": t.stat().st_size, "sha256": sha256_file(t)}
                    for f, t in self._external.items()}
        if self.extend:
            files = dict(previous.get("files", {}))
            files.update(_file_entries(self.out, sorted(self._added)))
            external = {**previous.get("external", {}), **external}
            fingerprint = previous.get("config", self.fingerprint)
        else:
            files = _file_entries(self.dir, staged)
            fingerprint = self.fingerprint
        manifest = {"circle15": _version(), "config": fingerprint, "external": external,
                    "files": files, "run_id": _run_id(files, external)}
        _write_manifest(self.out, {**manifest, "state": "writing"})
        if not self.extend:
            self._remove_previous(previous, {n.split("/")[0] for n in staged}, external)
            for entry in sorted(self.dir.iterdir()):
                replace_folder(entry, self.out / entry.name)
        for final, tmp in self._external.items():
            os.replace(tmp, final)
        _write_manifest(self.out, {**manifest, "state": "complete"})
        if not self.extend:
            remove_path(self.dir)
        log.info("run %s written to %s (%d files)", manifest["run_id"], self.out, len(files))
        return [self.out / n for n in files] + list(self._external)

    def add(self, *paths: str | Path) -> None:
        """Extend mode: record files written into ``out`` (they go into the manifest)."""
        self._added |= {Path(p).absolute().relative_to(self.out.absolute()).as_posix()
                        for p in paths}

    def _remove_previous(self, previous: Mapping[str, Any], keep: set[str],
                         external: Mapping[str, Any]) -> None:
        """Remove what an earlier run wrote and this one does not (files, folders, its map)."""
        tops = {n.split("/")[0] for n in previous.get("files", {})}
        tops |= {p.name for p in self.out.iterdir() if p.name in KNOWN_OUTPUTS}
        for name in sorted(tops - keep):
            remove_path(self.out / name)
        for rel, entry in previous.get("external", {}).items():
            path = self.out / rel
            if rel in external or not path.is_file():
                continue
            if sha256_file(path) == entry.get("sha256"):  # ours and unchanged: stale now
                path.unlink()
                log.warning("removed %s: it showed the previous results in %s", path, self.out)

    def abort(self) -> None:
        """Forget the run: staged and temporary files are removed, ``out`` is unchanged."""
        for tmp in self._external.values():
            remove_path(tmp)
        if not self.extend:
            remove_path(self.dir)


def _version() -> str:
    from .. import __version__

    return str(__version__)


@contextlib.contextmanager
def open_run(out_dir: str | Path, *, config: AreaConfig | None = None, extend: bool = False,
             command: str = "") -> Iterator[RunWriter]:
    """Write a run into ``out_dir`` as one transaction (see the module docstring).

    Parameters
    ----------
    out_dir : str or Path
        The output folder (created if missing; removed again if the run fails and it is empty).
    config : AreaConfig, optional
        The run's config (its fingerprint goes into the manifest).
    extend : bool
        Add files (report, map) to the folder's last run instead of replacing it: they are
        written straight into ``out_dir`` (each atomically) and added to its manifest.
    command : str
        Shown to a second process that finds the folder locked.

    Yields
    ------
    RunWriter
        Write the run's files into ``run.dir`` (and files outside the folder to
        ``run.external(path)``); the commit happens when the block ends without an error.
    """
    out = check_out_dir(out_dir)
    with lock_output(out, command=command):
        remove_stale_temp(out)
        fingerprint = config_fingerprint(config) if config is not None else None
        if extend:
            run = RunWriter(out=out, dir=out, extend=True, fingerprint=fingerprint)
        else:
            stage = temp_path(out / "run")
            stage.mkdir()
            run = RunWriter(out=out, dir=stage, extend=False, fingerprint=fingerprint)
        try:
            yield run
            run.commit()
        except BaseException:
            run.abort()
            raise
