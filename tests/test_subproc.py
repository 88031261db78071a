"""tests/_subproc.py: waiting for a child's line never blocks past its deadline."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from _subproc import LineReader


def _child(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_a_silent_child_fails_at_the_deadline_instead_of_hanging():
    proc = _child("import time; print('hello', flush=True); time.sleep(60)")
    try:
        reader = LineReader(proc.stdout)
        assert reader.wait_for("hell", 60) == "hello\n"
        t0 = time.monotonic()
        with pytest.raises(AssertionError, match=re.escape("within 0.5 s; seen: ['hello\\n']")):
            reader.wait_for("never", 0.5)
        assert time.monotonic() - t0 < 30
    finally:
        proc.kill()
        proc.wait(timeout=60)


def test_a_child_that_exits_ends_the_wait():
    proc = _child("print('bye')")
    try:
        with pytest.raises(AssertionError, match="stream ended"):
            LineReader(proc.stdout).wait_for("never", 60)
    finally:
        proc.wait(timeout=60)
