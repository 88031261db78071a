"""A saved scenario run as ``circle15 run CONFIG --scenario DIR`` runs it, into its own folder.

The server's *export* and the CLI read the scenario folder through the same functions
(:func:`~coverage.serve.scenario.read_scenario`, :func:`~coverage.serve.scenario.scenario_inputs`)
and write the same files as one run of the folder (:func:`coverage.outputs.open_run`: the
cleaned inputs, the coverage, siting and joint-plan results, ``map.html``, the report and the
QGIS project) through the one implementation of a run's stages,
:func:`coverage.runall.run_all`, so the files are the same whichever way they were made (a test
compares them). The scenario's own two files are the planner's and stay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..inputs import StudyInputs
from ..network import WalkNetwork
from ..outputs import MAP_FILE
from ..pipeline import CoverageResult
from .scenario import read_scenario, scenario_inputs

__all__ = ["MAP_FILE", "ScenarioRun", "run_scenario"]

log = logging.getLogger(__name__)

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
    from ..outputs import open_run
    from ..runall import RunOptions, run_all

    folder = Path(folder)
    run_inputs = scenario_inputs(inputs, read_scenario(folder, inputs.config))
    cfg = run_inputs.config
    # what `circle15 run CONFIG --scenario DIR` runs with its default options (tests compare
    # the files): siting when a category asks for new sites, the joint plan when the config has
    # one
    options = RunOptions(full=True, sites=any(c.new_sites > 0 for c in cfg.categories),
                         plan=cfg.plan, lang=lang, progress=progress)
    with open_run(folder, config=cfg, command="circle15 serve (export)") as run:
        outcome = run_all(run_inputs, run.dir, options, map_path=run.dir / MAP_FILE,
                          network=network)
        result = outcome.result
    paths = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    log.info("scenario %s: %d files in %s", folder.name, len(paths), folder)
    return ScenarioRun(result, paths)
