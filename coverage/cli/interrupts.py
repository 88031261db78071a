"""SIGTERM as an interrupt: the clean-up of a run (``finally``, context managers) runs on
``kill`` as on Ctrl-C, and an interrupt in a finaliser stays quiet."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is so that every clean-up runs (exit code 143)."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def _quiet_unraisable(hook: Callable[[Any], object]) -> Callable[[Any], object]:
    """A ``sys.unraisablehook`` that says nothing about an interrupt landing in a finaliser or
    a callback (Python would print "Exception ignored ... Traceback"): main() reports it."""
    def unraisable(info: Any) -> object:
        if isinstance(info.exc_value, KeyboardInterrupt):
            return None
        return hook(info)
    return unraisable


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C (clean-up runs, then exit 143); restored afterwards."""
    hook = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable(hook)
    try:
        before = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread (e.g. called from a worker thread)
        before = None
    try:
        yield
    finally:
        if before is not None:
            signal.signal(signal.SIGTERM, before)
        sys.unraisablehook = hook

