"""Child processes in tests: the command run in a child (:func:`cli`), and reading a child
process's output without ever blocking forever.

``proc.stdout.readline()`` (or ``for line in proc.stdout``) waits as long as the child keeps the
pipe open and says nothing: a child that hangs, or never flushes, hangs the test run. The lines
are read in a daemon thread instead and waited for with a deadline.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO


def cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``circle15 ARGS`` (``python -m coverage.cli``) in a child process run in ``cwd``, its
    output captured as text; TimeoutExpired after ``timeout`` seconds."""
    return subprocess.run([sys.executable, "-m", "coverage.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


class LineReader:
    """Lines of a text stream, read in the background; :meth:`wait_for` has a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)  # end of stream: the child closed the pipe

    def wait_for(self, text: str, timeout_s: float) -> str:
        """The first line containing ``text``; AssertionError after ``timeout_s`` seconds or at
        the end of the stream (naming the lines seen)."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._queue.get(timeout=max(left, 0.0))
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} within {timeout_s:g} s; seen: "
                                     f"{self.lines!r}") from None
            if line is None:
                raise AssertionError(f"the stream ended without a line with {text!r}; seen: "
                                     f"{self.lines!r}")
            self.lines.append(line)
            if text in line:
                return line
