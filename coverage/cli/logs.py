"""Logging of the ``circle15`` command: the level from -v, and third-party loggers kept quiet.

Library modules only log (through a ``NullHandler`` until this configures the root logger).
"""

from __future__ import annotations

import logging
import sys

_PROGRESS_LOGS = ("distributed", "dask")  # a cluster's start-up and workers: shown with -v
_CHATTY = ("osmnx", "pyogrio", "fiona", "urllib3", "tornado", "bokeh")  # only with -vv


def _level(verbose: int) -> int:
    """The log level of ``verbose`` -v's: WARNING, INFO (-v), DEBUG (-vv)."""
    return logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG


def quiet_third_party(verbose: int) -> None:
    """Dask's INFO log only with -v, other libraries' only with -vv (debug)."""
    for name in _PROGRESS_LOGS:
        logging.getLogger(name).setLevel(_level(verbose))
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)


def configure_logging(verbose: int) -> None:
    """Log records to stderr as ``LEVEL logger: message`` at the level of -v/-vv."""
    logging.basicConfig(level=_level(verbose), format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    quiet_third_party(verbose)
