"""``circle15 batch``: many study areas at once, here or on a Dask cluster."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..constants import LANGS
from .common import progress
from .console import batch_lines, say, say_error
from .logs import quiet_third_party
from .options import positive_int


def cmd_batch(args: argparse.Namespace) -> int:
    """``circle15 batch``: 0 when every area ran, 2 when some had bad input."""
    from ..batch import run_batch_file

    with _dask_client(args) as client:
        res = run_batch_file(args.batch, args.out, client=client, maps=args.maps,
                             tiles=args.tiles, progress=progress(args), lang=args.lang)
    say(*batch_lines(res))
    say(*(f"  wrote {p}" for p in res.paths))
    return 0 if not res.failed else 2


@contextmanager
def _dask_client(args: argparse.Namespace) -> Iterator[Any]:
    """The Dask client of --scheduler (closed, with a local cluster, afterwards); None without
    --scheduler, or (with a warning) when dask is not installed."""
    if not args.scheduler:
        yield None
        return
    try:
        import distributed  # noqa: F401
    except ImportError:
        say_error("dask is not installed (pip install 'circle15[dask]'): running the areas one "
                  "after the other")
        yield None
        return
    from ..batch import cluster_client

    quiet_third_party(args.verbose)  # distributed set its own log levels on import
    client = cluster_client(args.scheduler, args.workers)
    try:
        yield client
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()


def add_batch_options(p: argparse.ArgumentParser) -> None:
    """The batch file, --out (required), --scheduler, --workers, --tiles, --maps, --lang."""
    p.add_argument("batch", help="batch file (TOML: [[area]] configs or one [split])")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--scheduler", default=None,
                   help="'local' (start a cluster of --workers processes) or a Dask scheduler "
                        "address tcp://HOST:8786 (default: run here, one area after the other)")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="worker processes for --scheduler local (default: CPU count)")
    p.add_argument("--tiles", type=positive_int, default=None,
                   help="split each area's computation into N tiles (same results)")
    p.add_argument("--maps", action="store_true",
                   help="also write each area's map and report (slower)")
    p.add_argument("--lang", choices=LANGS, default="zh",
                   help="language of the overview map (default zh)")
