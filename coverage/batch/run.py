"""Running the area tasks: one after the other, or on a Dask cluster."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .jobs import AreaJob, AreaOutcome
from .task import run_area, warm_up

__all__ = ["cluster_client", "run_jobs", "warm_workers"]

log = logging.getLogger(__name__)


def cluster_client(scheduler: str | None, workers: int | None = None) -> Any:
    """A Dask client: ``"local"`` starts a LocalCluster (processes, one thread each) on
    127.0.0.1; a ``tcp://host:port`` address connects to a running scheduler; None returns
    None (serial)."""
    if scheduler is None:
        return None
    from distributed import Client, LocalCluster

    if scheduler == "local":
        import dask

        # No statistical profiler in the workers: it samples the task's stack every 10 ms for a
        # dashboard this cluster does not have. The scheduler always serves a few HTTP routes
        # (health, metrics); on a free loopback port, so two batches at once do not fight over
        # Dask's default 8787 (a "port in use" warning on the console).
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1,
                                   threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address="127.0.0.1:0",
                                   scheduler_kwargs={"dashboard": False},
                                   silence_logs=logging.ERROR)
        return Client(cluster)
    return Client(scheduler)


def warm_workers(client: Any) -> None:
    """Start :func:`~.task.warm_up` on every worker of ``client`` and return at once.

    A task pinned to each worker, first in its queue, that nobody waits for: the workers import
    what the areas need while the caller does its serial part (reading the batch file).
    """
    from distributed import fire_and_forget

    for worker in client.scheduler_info()["workers"]:
        fire_and_forget(client.submit(warm_up, workers=[worker], allow_other_workers=False,
                                      pure=False, key=f"warm-up-{uuid.uuid4().hex[:8]}"))


def run_jobs(jobs: Sequence[AreaJob], cache_root: str | Path, *, client: Any = None,
             progress: bool = True, retries: int = 3,
             runner: Callable[[AreaJob, Path], AreaOutcome] = run_area) -> list[AreaOutcome]:
    """Run the area tasks (on ``client`` if given) and return the outcomes in job order.

    A task whose worker dies is run again on another worker (Dask reschedules it; ``retries``
    more attempts on errors). A task that still fails is reported as an error.
    """
    from tqdm.auto import tqdm

    cache_root = Path(cache_root)
    cache_root.mkdir(parents=True, exist_ok=True)
    outcomes: dict[int, AreaOutcome] = {}
    bar = tqdm(total=len(jobs), desc="areas", unit="area", disable=not progress)
    if client is None:
        for i, job in enumerate(jobs):
            outcomes[i] = runner(job, cache_root)
            _log_outcome(outcomes[i])
            bar.update()
    else:
        from distributed import as_completed

        # Submitted biggest first (Dask starts tasks in submission order): the small areas
        # fill the gaps at the end instead of one big area running alone.
        order = sorted(range(len(jobs)), key=lambda i: -jobs[i].input_bytes)
        futures = {client.submit(runner, jobs[i], cache_root,
                                 key=f"area-{i}-{uuid.uuid4().hex[:8]}", pure=False,
                                 retries=retries): i for i in order}
        for fut in as_completed(list(futures)):
            i = futures[fut]
            try:
                outcomes[i] = fut.result()
            except Exception as exc:  # e.g. KilledWorker after repeated worker deaths
                outcomes[i] = AreaOutcome(name=jobs[i].name, slug=jobs[i].slug, status="error",
                                          error=f"task failed: {type(exc).__name__}: {exc}")
            _log_outcome(outcomes[i])
            bar.update()
    bar.close()
    return [outcomes[i] for i in range(len(jobs))]


def _log_outcome(o: AreaOutcome) -> None:
    """Each area's time goes to the log (``-v``), not into the outputs."""
    log.info("area %s: %s%s in %.2f s", o.name, o.status, " (from the cache)" if o.cached else "",
             o.seconds)
