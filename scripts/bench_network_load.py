"""Start-up cost of reading the walk network: circle15's own reader against osmnx's.

Each case runs in a fresh Python process (imports included, as ``circle15 run`` pays them):

* ``circle15``: ``coverage.network.load_walk_network`` (streaming XML parse; no osmnx);
* ``via osmnx``: how circle15 read ``.osm`` files before: ``osmnx.graph_from_xml`` then
  ``walk_network_from_graph`` (the same network, array for array).

Printed: whole-process wall time and the in-process import + load time, min and median over
``--runs`` runs, with the date, the machine and the load average at the start. The figures move
with machine load: take them on a quiet machine.

    .venv/bin/python scripts/bench_network_load.py [--runs 5] [--network data/huitian/streets.osm]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

OURS = """
import time; t0 = time.perf_counter()
from coverage.network import load_walk_network
net = load_walk_network({path!r}, "EPSG:32650")
print(time.perf_counter() - t0, net.n_edges, "osmnx" in __import__("sys").modules)
"""

OSMNX = """
import time; t0 = time.perf_counter()
import osmnx as ox
from coverage.network import walk_network_from_graph
from coverage.osmtags import EXTRA_WAY_TAGS
ox.settings.useful_tags_way = sorted(set(ox.settings.useful_tags_way) | set(EXTRA_WAY_TAGS))
g = ox.graph_from_xml({path!r}, simplify=False, retain_all=True, bidirectional=True)
net = walk_network_from_graph(g, "EPSG:32650")
print(time.perf_counter() - t0, net.n_edges, "osmnx" in __import__("sys").modules)
"""


def _once(code: str) -> tuple[float, float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.split()
    return time.perf_counter() - t0, float(out[0]), f"{out[1]} edges, osmnx imported: {out[2]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--network", type=Path, default=ROOT / "data" / "huitian" / "streets.osm")
    args = parser.parse_args()
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; load average at start "
          f"{os.getloadavg()[0]:.2f}; {args.network.name}; {args.runs} runs each (min / median)")
    print(f"{'reader':<12} {'process s':>18} {'import+load s':>18}  network")
    for name, code in (("circle15", OURS), ("via osmnx", OSMNX)):
        runs = [_once(code.format(path=str(args.network))) for _ in range(args.runs)]
        wall = [r[0] for r in runs]
        inner = [r[1] for r in runs]
        print(f"{name:<12} {min(wall):8.3f} / {statistics.median(wall):7.3f} "
              f"{min(inner):8.3f} / {statistics.median(inner):7.3f}  {runs[0][2]}")


if __name__ == "__main__":
    main()
