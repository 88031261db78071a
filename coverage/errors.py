"""The small exception hierarchy of circle15.

``InputError`` (and its ``ConfigError`` subclass) means the planner's input is wrong: the CLI
prints its message and exits with code 2, never a traceback. Anything else is a bug (exit 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "Circle15Error",
    "ConfigError",
    "InputError",
    "Problem",
    "SolverError",
    "format_rows",
]


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    Parameters
    ----------
    file : str
        The file (as the planner named it) the problem is in.
    row : int or None
        1-based data row (the header is row 0; spreadsheet users see ``row + 1``), or None when
        the problem concerns the whole file.
    field : str or None
        Column or config key concerned.
    problem : str
        What is wrong.
    fix : str
        What to do about it.
    rows : tuple of int
        When the same problem is in several rows: all of them (``row`` is then the first).
    """

    file: str
    row: int | None
    field: str | None
    problem: str
    fix: str
    rows: tuple[int, ...] = ()

    def __str__(self) -> str:
        where = self.file
        if self.rows:
            where += f", {format_rows(self.rows)}"
        elif self.row is not None:
            where += f", row {self.row}"
        if self.field is not None:
            where += f", field '{self.field}'"
        return f"{where}: {self.problem}. Fix: {self.fix}"


def format_rows(rows: Iterable[int]) -> str:
    """``[1, 2, 3, 7, 9, 10]`` -> ``"rows 1–3, 7, 9–10"`` (``"row 4"`` for one row)."""
    ordered = sorted(set(rows))
    if len(ordered) == 1:
        return f"row {ordered[0]}"
    runs: list[str] = []
    start = prev = ordered[0]
    for r in [*ordered[1:], None]:
        if r is not None and r == prev + 1:
            prev = r
            continue
        runs.append(str(start) if start == prev else f"{start}–{prev}")
        if r is not None:
            start = prev = r
    return "rows " + ", ".join(runs)


class Circle15Error(Exception):
    """Base class of every error circle15 raises on purpose."""


class InputError(Circle15Error):
    """Bad input: one or more problems in the planner's files (CLI exit code 2).

    Validation collects every problem it finds and raises once, so the planner can fix all of
    them in one go.
    """

    def __init__(self, problems: list[Problem] | Problem | str, *, max_shown: int = 50) -> None:
        if isinstance(problems, str):
            problems = [Problem("input", None, None, problems, "see the message")]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        lines = [str(p) for p in self.problems[:max_shown]]
        if len(self.problems) > max_shown:
            lines.append(f"... and {len(self.problems) - max_shown} more problems")
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{len(self.problems)} input {noun}:\n  " + "\n  ".join(lines))


class ConfigError(InputError):
    """A problem in the study-area config (TOML)."""


class SolverError(Circle15Error):
    """An optimisation model could not be solved (infeasible, empty or solver failure)."""
