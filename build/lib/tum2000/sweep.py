"""Many simulations at once, through Dask.

A sweep (several seeds, several parameter sets) submits every simulation the
dataset cache does not hold yet to a Dask scheduler: by default a local
cluster with one single-threaded worker process per core (Brian2 runs one
simulation per process), or any scheduler given by its address
(``tcp://host:8786``) to use a real cluster. Workers write their results
into the dataset cache (which must then be a shared directory) and the
caller reads them back, so a sweep that is run again costs nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

import xarray as xr

from .model.parameters import Parameters


def _simulate_into_cache(params_json: str, seed: int, target: str, directory: str) -> str:
    """Worker task: make sure the cache holds this simulation; return its path."""
    from .cache import cache_path, cached_simulate

    params = Parameters.from_json(params_json)
    cached_simulate(params, seed, directory=directory, target=target)
    return str(cache_path(params, seed, Path(directory)))


def _prepare_worker() -> None:
    """Import Brian2 in the worker's main thread: its import installs a SIGINT
    handler, which Python allows only there (tasks run in other threads)."""
    import brian2  # noqa: F401


def simulate_many(jobs: Sequence[tuple[Parameters, int]], *, targets: Sequence[str] | None = None,
                  scheduler: str | None = None, n_workers: int | None = None,
                  directory: str | os.PathLike | None = None,
                  progress: bool = False) -> list[xr.Dataset]:
    """Datasets of every ``(params, seed)`` job, in order, computed in parallel.

    ``targets`` gives a Brian2 target per job (default numpy). ``scheduler``:
    a Dask scheduler address; None starts a local cluster of ``n_workers``
    processes (default: one per core, at most one per missing job).
    """
    from .cache import cache_dir, cache_path, lookup

    where = Path(directory) if directory is not None else cache_dir()
    targets = list(targets) if targets is not None else ["numpy"] * len(jobs)
    if len(targets) != len(jobs):
        raise ValueError(f"{len(targets)} targets for {len(jobs)} jobs")
    results: list[xr.Dataset | None] = [lookup(p, s, where) for p, s in jobs]
    missing = [i for i, ds in enumerate(results) if ds is None]
    # The same simulation asked for twice is computed once.
    unique: dict[Path, int] = {}
    for i in missing:
        unique.setdefault(cache_path(jobs[i][0], jobs[i][1], where), i)
    if unique:
        if progress:
            print(f"  {len(unique)} simulation(s) to run through Dask "
                  f"({scheduler or 'local cluster'}), {len(jobs) - len(missing)} cached",
                  file=sys.stderr, flush=True)
        _run(list(unique.values()), jobs, targets, str(where), scheduler, n_workers)
    for i in missing:
        results[i] = lookup(jobs[i][0], jobs[i][1], where)
        if results[i] is None:
            raise RuntimeError(f"the sweep did not produce job {i} (seed {jobs[i][1]})")
    return results  # type: ignore[return-value]


def _run(indices: list[int], jobs: Sequence[tuple[Parameters, int]], targets: Sequence[str],
         directory: str, scheduler: str | None, n_workers: int | None) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    args = ([jobs[i][0].to_json() for i in indices], [int(jobs[i][1]) for i in indices],
            [targets[i] for i in indices], [directory] * len(indices))
    if scheduler is None:
        workers = max(1, min(n_workers or os.cpu_count() or 1, len(indices)))
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=40)
        client = Client(cluster)
    else:
        cluster, client = None, Client(scheduler)
    try:
        client.run(_prepare_worker)
        futures = client.map(_simulate_into_cache, *args, pure=False)
        for future in as_completed(futures):
            future.result()  # re-raises a worker's exception here
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
