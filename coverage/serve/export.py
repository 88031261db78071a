"""A saved scenario run as ``circle15 run CONFIG --scenario DIR`` runs it, into its own folder.

The server's *export* and the CLI read the scenario folder through the same functions
(:func:`~coverage.serve.scenario.read_scenario`, :func:`~coverage.serve.scenario.scenario_inputs`)
and run the same stages (coverage, siting when the config asks for new sites, results, map and
report), so the files are the same whichever way they were made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..inputs import StudyInputs
from ..network import WalkNetwork
from ..pipeline import CoverageResult, analyze, write_coverage
from .scenario import read_scenario, scenario_inputs

__all__ = ["ScenarioRun", "run_scenario"]

log = logging.getLogger(__name__)

MAP_FILE = "map.html"


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
        When the scenario does not fit the study area (see :func:`read_scenario`).
    """
    from ..maps import write_map
    from ..planning import select_sites
    from ..report import write_report

    folder = Path(folder)
    run_inputs = scenario_inputs(inputs, read_scenario(folder, inputs.config))
    cfg = run_inputs.config
    result = analyze(run_inputs, network=network, progress=progress)
    siting = (select_sites(result, progress=progress)
              if any(c.new_sites > 0 for c in cfg.categories) else None)
    paths = write_coverage(result, folder, siting)
    paths.append(write_map(cfg, folder, folder / MAP_FILE, lang=lang))
    paths += write_report(cfg, folder, lang=lang)
    log.info("scenario %s: wrote %d files", folder.name, len(paths))
    return ScenarioRun(result, paths)
