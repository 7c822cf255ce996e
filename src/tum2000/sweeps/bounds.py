"""What a sweep would cost, stated and bounded before any work.

``tum2000 sweep --seeds 1000000000`` used to build a list of a billion seeds
and a billion jobs, grew to 24 GB and was killed by the kernel. Before any
list of runs is made, :func:`check_run_count` bounds the number of runs
(grid points x seeds) by :data:`MAX_RUNS`; :func:`check_sweep` then
estimates the sweep's peak memory (the driver's bookkeeping plus, on a local
cluster, one run per worker; :mod:`tum2000.model.memory`) and its time, and
refuses one that does not fit this machine. Each refusal is one line: what,
the bound, the estimate (:class:`~tum2000.errors.BadInput`, exit status 2).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from tum2000.errors import BadInput
from tum2000.model.memory import (estimated_memory_bytes, estimated_seconds,
                                  machine_memory_bytes, size_text)
from tum2000.model.parameters import Parameters

MAX_RUNS = 100_000
"""Most runs (grid points x seeds) of one sweep. The stored sweeps of the book
have at most a few hundred; 100,000 default runs are about a week of one core."""
DRIVER_BYTES_PER_RUN = 32 * 2**10
"""The sweep process's bookkeeping per run (a budget): the point's parameters
(a dict of about 70 values) and their JSON with a hundred statistics measure
14 KiB per run (``tracemalloc``, 1000 runs); its Dask future and task and its
place in the result come on top."""


@dataclass(frozen=True)
class SweepEstimate:
    """Runs of a sweep, its estimated peak memory (bytes) and time (s)."""

    runs: int
    workers: int
    memory_bytes: float
    seconds: float
    run_bytes: float = 0.0
    """Memory of the largest run (each local worker holds one)."""

    def text(self) -> str:
        """``about 1.2 GiB of memory and 3.4 h on 2 worker(s)``."""
        return (f"about {size_text(self.memory_bytes)} of memory and "
                f"{duration_text(self.seconds)} on {self.workers} worker(s)")


def duration_text(seconds: float) -> str:
    """Seconds as a reader writes them: ``45 s``, ``12 min``, ``3.4 h``, ``2.1e+04 days``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.3g} days"


def local_workers(n_workers: int | None, runs: int) -> int:
    """Worker processes of a local cluster: ``n_workers`` or one per core, at
    most one per run (as :func:`tum2000.sweeps.run.run_sweep` starts them)."""
    return max(1, min(n_workers or os.cpu_count() or 1, runs))


def estimate(points: list[Parameters], n_seeds: int, workers: int,
             local: bool = True) -> SweepEstimate:
    """The estimate of a sweep of ``points`` x ``n_seeds`` on ``workers``
    (``local``: the workers run on this machine, one run each at a time)."""
    runs = len(points) * n_seeds
    largest = max((estimated_memory_bytes(p) for p in points), default=0.0)
    memory = DRIVER_BYTES_PER_RUN * runs + (largest * workers if local else 0.0)
    seconds = n_seeds * sum(estimated_seconds(p) for p in points) / max(1, workers)
    return SweepEstimate(runs, workers, memory, seconds, largest)


def check_run_count(n_points: int, n_seeds: int, base: Parameters | None = None,
                    workers: int | None = None) -> int:
    """Refuse more than :data:`MAX_RUNS` runs before any of them is listed;
    the message estimates the sweep from ``base`` (one run's cost). Returns
    the number of runs."""
    runs = n_points * n_seeds
    if runs > MAX_RUNS:
        where = local_workers(workers, runs)
        guess = estimate([base], runs, where) if base is not None else None
        raise BadInput(
            f"a sweep of {runs} runs ({n_points} grid point(s) x {n_seeds} seed(s)) is too "
            f"large (allowed: at most {MAX_RUNS} runs per sweep)"
            + (f"; it would need {guess.text()}" if guess else ""))
    return runs


def check_sweep(base: Parameters, grid: Any, n_seeds: int, *, workers: int,
                local: bool = True, available: int | None = None) -> SweepEstimate:
    """The sweep's estimate; :class:`BadInput` (before any work) when it has more
    than :data:`MAX_RUNS` runs or its memory exceeds this machine's. ``grid``
    is a :class:`tum2000.sweeps.grid.Grid` (not imported here: the grid
    module bounds itself with :func:`check_run_count`)."""
    check_run_count(len(grid), n_seeds, base, workers)
    points = [base.replace(**grid.point(index)) for index in grid.indices()]
    guess = estimate(points, n_seeds, workers, local)
    have = machine_memory_bytes() if available is None else available
    if guess.memory_bytes > have:
        driver = DRIVER_BYTES_PER_RUN * guess.runs
        fits = math.floor((have - driver) / guess.run_bytes) if local and guess.run_bytes else 0
        hint = f"--workers {fits} or fewer runs" if fits >= 1 else "fewer or smaller runs"
        raise BadInput(f"a sweep of {guess.runs} runs needs {guess.text()}; this machine has "
                       f"{size_text(have)} (allowed: {hint})")
    return guess


__all__ = ["DRIVER_BYTES_PER_RUN", "MAX_RUNS", "SweepEstimate", "check_run_count",
           "check_sweep", "duration_text", "estimate", "local_workers"]
