"""Writing a run as one transaction: staging, commit, abort.

A run's files are written into a staging folder inside the output folder
(``OUT/.run.<hex>.tmp/``) while it computes; only when everything is written does
:meth:`RunWriter.commit` move them into ``OUT`` (and files that live elsewhere, such as the map
``maps/<area>_coverage.html``, into place), remove the previous run's files that the new run
did not write, and write ``OUT/manifest.json`` (:mod:`coverage.outputs.manifest`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..io import remove_path, remove_stale_temp, replace_folder, sha256_file, temp_path
from .folder import check_out_dir, lock_output
from .manifest import (
    MAP_FILE,
    RESULT_FILES,
    STAGE_STEM,
    _file_entries,
    _relative_files,
    _run_id,
    _version,
    _write_manifest,
    config_fingerprint,
    read_manifest,
    scenario_digests,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..config import AreaConfig

__all__ = ["KNOWN_OUTPUTS", "RunWriter", "open_run"]

log = logging.getLogger(__name__)

KNOWN_OUTPUTS = frozenset({
    *RESULT_FILES, "inputs.gpkg", "dropped.csv", "report.html", "report.xlsx", "report.pdf",
    "sensitivity.csv",
    MAP_FILE, "coverage.qgz", "coverage.qgs",
    "batch_summary.csv", "batch_areas.csv", "batch_coverage.gpkg", "batch_map.html", "areas",
})
"""Names a run writes at the top of its folder. A new run removes those of an earlier run
(also one without a manifest) that it does not write itself; any other file is the planner's."""


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

    def _owner_key(self, final: Path) -> str:
        # the folder as seen from the file: a copy of OUT carries the same manifest, and this
        # tells that the file belongs to the original, not to the copy
        return Path(os.path.relpath(self.out.absolute(), final.absolute().parent)).as_posix()

    def commit(self) -> list[Path]:
        """Move the run into place and write the manifest; returns the final paths."""
        previous = read_manifest(self.out) or {}
        staged = _relative_files(self.dir) if not self.extend else []
        external = {self._external_key(f): {"bytes": t.stat().st_size, "sha256": sha256_file(t),
                                            "out": self._owner_key(f)}
                    for f, t in self._external.items()}
        if self.extend:
            files = dict(previous.get("files", {}))
            files.update(_file_entries(self.out, sorted(self._added)))
            external = {**previous.get("external", {}), **external}
            fingerprint = previous.get("config", self.fingerprint)
        else:
            files = _file_entries(self.dir, staged)
            fingerprint = self.fingerprint
            if fingerprint is not None:
                fingerprint = {**fingerprint, "scenario": self._scenario(previous)}
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

    def _scenario(self, previous: Mapping[str, Any]) -> dict[str, str]:
        """The digests of the scenario this run computed: its files written with the run, or
        those of the scenario folder the run writes into (not files an earlier run wrote)."""
        staged = scenario_digests(self.dir)
        if staged:
            return staged
        earlier = previous.get("files", {})
        return {n: d for n, d in scenario_digests(self.out).items() if n not in earlier}

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
            # an older manifest without "out" names no other folder
            owner = path.parent / entry["out"] if "out" in entry else self.out
            if not (owner.is_dir() and os.path.samefile(owner, self.out)):
                log.warning("kept %s: it shows the results in %s, not those in %s (a copy of "
                            "that folder)", os.path.normpath(path), os.path.normpath(owner),
                            self.out)
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
            stage = temp_path(out / STAGE_STEM)
            stage.mkdir()
            run = RunWriter(out=out, dir=stage, extend=False, fingerprint=fingerprint)
        try:
            yield run
            run.commit()
        except BaseException:
            run.abort()
            raise
