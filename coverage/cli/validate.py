"""``circle15 validate``: check every input file and print a summary."""

from __future__ import annotations

import argparse

from .common import load_study
from .console import say


def cmd_validate(args: argparse.Namespace) -> int:
    """Every input problem at once (exit 2), else the inputs' summary and "OK"."""
    from ..inputs import summarize_inputs

    _, study = load_study(args, sites=True)
    say(summarize_inputs(study.inputs).removesuffix("\n"), "OK: no problems found")
    return 0
