"""Writing a run: never half a run, never two runs mixed in one folder.

A run writes into a staging folder inside the output folder and, only when everything is
written, moves its files into place, removes what the previous run wrote and this one did not,
and writes ``OUT/manifest.json``. A run that fails or is killed before the commit leaves ``OUT``
exactly as it was; the staging folder and temporary files it leaves are removed by the next
run. Files in ``OUT`` that no run wrote (a planner's notes, ``scenarios/``) are never touched.

* :mod:`coverage.outputs.folder`: checks of ``--out`` and ``--map`` before any work, and the
  output folder's lock (:func:`lock_output`, one writing process at a time);
* :mod:`coverage.outputs.manifest`: the manifest (files with sizes and SHA-256, the config's
  fingerprint) and :func:`manifest_problems`, which :func:`coverage.results.read_results` uses to
  refuse unfinished, changed or stale results;
* :mod:`coverage.outputs.run`: :func:`open_run` and :class:`RunWriter` (staging, commit, abort);
* :mod:`coverage.outputs.write`: the files of the coverage stage (:func:`write_coverage_files`,
  :func:`write_coverage`) and the one rule for CSV numbers (:func:`csv_table`).

Everything is importable from ``coverage.outputs``.
"""

from .folder import LOCK_NAME, OutputInUseError, check_map_path, check_out_dir, lock_output
from .manifest import (
    MANIFEST,
    MAP_FILE,
    RESULT_FILES,
    SCENARIO_FILES,
    config_fingerprint,
    manifest_problems,
    read_manifest,
    seal_run,
)
from .run import KNOWN_OUTPUTS, RunWriter, open_run
from .write import (
    compounds_table,
    csv_table,
    write_coverage,
    write_coverage_files,
    write_inputs,
)

__all__ = [
    "KNOWN_OUTPUTS",
    "LOCK_NAME",
    "MANIFEST",
    "MAP_FILE",
    "RESULT_FILES",
    "SCENARIO_FILES",
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
