"""Shared helpers of the benchmark scripts: the header every figure needs, and min/median timing.

Every benchmark prints the date, the machine (CPU model, cores, RAM), the Python and key library
versions, and the load average at the start; every timed step runs ``--runs`` times (>= 3) and
prints min and median. Figures move with machine load: take the README's on a quiet machine.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return float("nan")


def child_env(tree: Path) -> dict[str, str]:
    """Environment for a benchmarked child process: it imports ``coverage`` from ``tree`` (a
    checkout) and writes Python's bytecode cache as a planner's machine does (some shells set
    ``PYTHONDONTWRITEBYTECODE``)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [env.get("PYTHONPATH")])])
    return env


def speed_probe() -> float:
    """Seconds (best of 5) of a fixed piece of CPU work: a Python loop and a numpy sort.

    Printed in every header so figures taken on different days can be compared: this virtual
    machine's speed has varied about twofold between sessions, with nothing else running.
    """
    import numpy as np

    values = np.random.default_rng(0).random(1_000_000)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        np.sort(values)
        best = min(best, time.perf_counter() - t0)
    return best


def header(title: str, libraries: tuple[str, ...] = ()) -> str:
    """Title, date, machine, versions and the load average now (call it at the start)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    versions = []
    for name in libraries:
        mod = sys.modules.get(name) or __import__(name)
        versions.append(f"{name} {getattr(mod, '__version__', '?')}")
    return "\n".join([
        f"{title}",
        f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"machine: {_cpu_model()}, {os.cpu_count()} cores, {_ram_gib():.0f} GiB RAM, "
        f"{platform.system()} {platform.machine()}",
        f"python {platform.python_version()}" + (", " + ", ".join(versions) if versions else ""),
        f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min; the "
        "figures move with load: quote them from a quiet machine)",
        f"speed probe: {speed_probe():.3f} s (fixed CPU work, best of 5; lower is a faster "
        "machine: compare figures of different days by it)",
    ])


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    """Wall times of ``runs`` calls (a garbage collection before each) and the last result."""
    times = []
    result = None
    for _ in range(max(1, runs)):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def min_median(times: list[float]) -> str:
    """``min / median`` in seconds, 3 decimals."""
    return f"{min(times):.3f} / {statistics.median(times):.3f}"
