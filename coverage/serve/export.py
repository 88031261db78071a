"""A saved scenario run as ``circle15 run CONFIG --scenario DIR`` runs it, into its own folder.

The server's *export* and the CLI read the scenario folder through the same functions
(:func:`~coverage.serve.scenario.read_scenario`, :func:`~coverage.serve.scenario.scenario_inputs`)
and write the same files as one run of the folder (:func:`coverage.outputs.open_run`: the
cleaned inputs, the coverage, siting and joint-plan results, ``map.html``, the report and the
QGIS project), so the files are the same whichever way they were made (a test compares them;
this function mirrors the stages ``circle15 run`` runs with its default options). The
scenario's own two files are the planner's and stay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..inputs import StudyInputs
from ..network import WalkNetwork
from ..pipeline import CoverageResult, analyze
from .scenario import read_scenario, scenario_inputs

__all__ = ["MAP_FILE", "ScenarioRun", "run_scenario"]

log = logging.getLogger(__name__)

MAP_FILE = "map.html"
"""The map of a scenario run, in its folder."""


@dataclass(frozen=True)
class ScenarioRun:
    """What :func:`run_scenario` computed and wrote."""

    result: CoverageResult
    paths: list[Path]


def run_scenario(inputs: StudyInputs, folder: str | Path, *, lang: str = "zh",
                 network: WalkNetwork | None = None, progress: bool = False) -> ScenarioRun:
    """Run the scenario saved in ``folder`` and write its results, map and report there.

    Parameters
    ----------
    inputs : StudyInputs
        The study area's own inputs (the config's, not yet the scenario's).
    folder : path
        A scenario folder (:func:`~coverage.serve.scenario.write_scenario`).
    lang : {"zh", "en"}
        Language of the map and the report.
    network : WalkNetwork, optional
        The area's network if already loaded (a scenario run loads the same one).

    Raises
    ------
    InputError
        When the scenario does not fit the study area (see :func:`read_scenario`), or the folder
        is being written by another run.
    """
    from ..maps import write_map
    from ..outputs import open_run, write_coverage_files, write_inputs
    from ..planning import select_sites
    from ..qgis import write_qgis
    from ..report import write_report
    from ..results import results_of

    folder = Path(folder)
    run_inputs = scenario_inputs(inputs, read_scenario(folder, inputs.config))
    cfg = run_inputs.config
    # the stages of `circle15 run` with its default options (tests compare the files)
    with open_run(folder, config=cfg, command="circle15 serve (export)") as run:
        write_inputs(run_inputs, run.dir)
        result = analyze(run_inputs, network=network, progress=progress)
        siting = (select_sites(result, progress=progress)
                  if any(c.new_sites > 0 for c in cfg.categories) else None)
        plan = None
        if cfg.plan is not None:  # as `circle15 run` does (its --scenario rerun must match)
            from ..jointplan.stage import plan_joint

            plan = plan_joint(result, progress=progress)
        write_coverage_files(result, run.dir, siting, plan=plan)
        results = results_of(result, siting, plan)
        write_map(results, run.dir / MAP_FILE, lang=lang)
        write_report(results, run.dir, lang=lang)
        write_qgis(results, run.dir, lang=lang)
    paths = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    log.info("scenario %s: %d files in %s", folder.name, len(paths), folder)
    return ScenarioRun(result, paths)
