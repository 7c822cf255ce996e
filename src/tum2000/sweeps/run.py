"""Many simulations at once, through Dask: parameter sweeps over seeds.

:func:`run_sweep` runs every point of a parameter grid
(:mod:`tum2000.sweeps.grid`) for every seed and returns one xarray Dataset of
per-run statistics (:mod:`tum2000.analysis.statistics`) with the swept parameters and
``seed`` as dimensions, and a per-point ``error`` string (empty where the
point succeeded). :func:`simulate_many` returns the datasets of a list of
``(parameters, seed)`` jobs instead.

Each task runs on a Dask worker (:mod:`tum2000.sweeps.cluster`: a local cluster
by default, or any scheduler): it simulates through the dataset cache, computes
the run's statistics, and stores them beside the dataset, so a resumed sweep
neither re-simulates nor re-analyses, and a finished one computes nothing. The
cache must be a directory the workers share with the caller.
"""

from __future__ import annotations

import itertools
import json
import shlex
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import xarray as xr

from tum2000.errors import ParameterError, SweepInterrupted, one_line_error
from tum2000.model.parameters import SPECS, Parameters, check_seed, preset
from tum2000.sweeps.bounds import MAX_RUNS, check_run_count, check_sweep, local_workers
from tum2000.sweeps.grid import Grid, make_grid, check_points

FORMAT = "tum2000-sweep/1"
"""Value of a sweep result's ``format`` attribute."""


def _simulate_into_cache(params_json: str, seed: int, target: str, directory: str) -> str:
    """Worker task: make sure the cache holds this simulation; return its path."""
    from tum2000.store.cache import cache_path, cached_simulate

    params = Parameters.from_json(params_json)
    cached_simulate(params, seed, directory=directory, target=target)
    return str(cache_path(params, seed, Path(directory)))


def simulate_many(jobs: Sequence[tuple[Parameters, int]], *, targets: Sequence[str] | None = None,
                  scheduler: str | None = None, n_workers: int | None = None,
                  directory: str | os.PathLike | None = None,
                  progress: bool = False) -> list[xr.Dataset]:
    """Datasets of every ``(params, seed)`` job, in order, computed in parallel.

    ``targets`` gives a target per job (default auto: the compiled engine). ``scheduler``:
    a Dask scheduler address; None starts a local cluster of ``n_workers``
    processes (default: one per core, at most one per missing job).
    """
    from tum2000.store.cache import cache_dir, cache_path, lookup

    where = Path(directory) if directory is not None else cache_dir()
    targets = list(targets) if targets is not None else ["auto"] * len(jobs)
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
    from tum2000.sweeps.cluster import parallel_map

    parallel_map(_simulate_into_cache, [jobs[i][0].to_json() for i in indices],
                 [int(jobs[i][1]) for i in indices], [targets[i] for i in indices],
                 [directory] * len(indices), n_workers=n_workers, scheduler=scheduler,
                 brian2_workers=True)


# --- parameter sweeps -----------------------------------------------------------------

def check_seeds(seeds: Iterable[int], points: int = 1) -> list[int]:
    """Seeds as a list of distinct seeds (:func:`tum2000.model.parameters.check_seed`);
    :class:`ParameterError` otherwise. With ``points`` grid points, more than
    :data:`~tum2000.sweeps.bounds.MAX_RUNS` runs are refused before the seeds
    are listed (``range(1, 10**9)`` is never expanded)."""
    if hasattr(seeds, "__len__"):
        check_run_count(points, len(seeds))  # type: ignore[arg-type]
    out: list[int] = []
    seen: set[int] = set()
    for seed in itertools.islice(seeds, MAX_RUNS // max(1, points) + 1):
        value = check_seed(seed)
        if value in seen:
            raise ParameterError(f"seed {value} is listed twice")
        seen.add(value)
        out.append(value)
    if not out:
        raise ParameterError("a sweep needs at least one seed")
    check_run_count(points, len(out))
    return out


def _sweep_task(params_json: str, seed: int, target: str, directory: str
                ) -> tuple[str, dict[str, float], bool]:
    """Worker task: this run's statistics, from the cache or computed (and cached).

    Returns the statistics' version (the caller checks that the worker runs the
    same code), the statistics, and whether anything was computed."""
    from tum2000.store.cache import cached_simulate, lookup_summary, store_summary
    from tum2000.analysis.statistics import run_statistics, statistics_version

    params = Parameters.from_json(params_json)
    version = statistics_version()
    where = Path(directory)
    cached = lookup_summary(params, seed, version, where)
    if cached is not None:
        return version, cached, False
    ds = cached_simulate(params, seed, directory=where, target=target)
    values = run_statistics(ds)
    store_summary(params, seed, version, values, where)
    return version, values, True


def _text(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "null" if value is None else str(value).lower()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def sweep_command(base: "Parameters", grid: "Grid", seeds: Sequence[int], *,
                  target: str = "auto", out: str = "sweep.nc") -> str:
    """The ``tum2000 sweep`` command that computes this sweep (where it runs and
    the cache are left out: they do not change the numbers)."""
    words = ["tum2000", "sweep"]
    for name, (value, _) in base.differences(preset("default")).items():
        words += ["--set", f"{name}={_text(value)}"]
    for axis in grid.axes:
        items = [f"{name}={','.join(_text(v) for v in values)}"
                 for name, values in axis.values.items()]
        words += ["--grid", *items] if len(items) == 1 else ["--grid-zip", *items]
    seeds = list(seeds)
    if seeds == list(range(1, len(seeds) + 1)):
        words += ["--seeds", str(len(seeds))]
    else:
        words += ["--seed-list", ",".join(str(s) for s in seeds)]
    if target != "auto":
        words += ["--target", target]
    words += ["--out", str(out)]
    return " ".join(shlex.quote(w) for w in words)


def run_sweep(base: Parameters | Mapping[str, Any] | str | None,
              grid: Grid | Mapping[str, Sequence[Any]] | None, seeds: Iterable[int], *,
              zipped: Sequence[Mapping[str, Sequence[Any]]] = (), target: str = "auto",
              scheduler: str | None = None, scheduler_file: str | os.PathLike | None = None,
              slurm_jobs: int | None = None, n_workers: int | None = None,
              dashboard: bool = False, directory: str | os.PathLike | None = None,
              progress: bool = False, attrs: Mapping[str, Any] | None = None) -> xr.Dataset:
    """Statistics of every grid point x seed, computed in parallel through Dask.

    Parameters
    ----------
    base
        Parameters every point starts from (a :class:`Parameters`, a preset
        name, or a dict of changes to the default preset).
    grid
        ``{name: [values]}``, one dimension each (the outer product is swept),
        or a :class:`~tum2000.sweeps.grid.Grid`.
    seeds
        Seeds of every grid point (the last dimension, ``seed``).
    zipped
        Further dimensions whose parameters move together, each
        ``{name: [values], name2: [values], ...}`` with equal lengths; the
        dimension is named after the first parameter.
    target
        Where the simulations run (:data:`tum2000.model.targets.TARGETS`; the
        same results on each; default the compiled engine, else numpy).
    scheduler, scheduler_file, slurm_jobs, n_workers, dashboard
        Where to run (:func:`tum2000.sweeps.cluster.dask_client`); default a
        local cluster with ``n_workers`` processes (one per core, at most one
        per run to do).
    directory
        The cache (datasets and per-run statistics; default
        :func:`tum2000.cache_dir`); on a cluster, a directory every worker sees.
    progress
        Show a progress bar (completed / total, ETA) on stderr.
    attrs
        Extra attributes of the result (e.g. the command that made it).

    Every grid value is checked before any work starts
    (:class:`ParameterError`). A run that fails is recorded in ``error`` (its
    statistics are NaN) and the others are kept. Ctrl-C (or SIGTERM) cancels
    the remaining runs, closes the cluster and raises :class:`SweepInterrupted`;
    runs that completed stay in the cache.
    """
    from tum2000.store.cache import cache_dir, lookup_summary
    from tum2000.model.targets import check_target
    from tum2000.model.simulation import as_parameters
    from tum2000.analysis.statistics import statistics_version
    from tum2000.sweeps.cluster import check_where, environment_scheduler

    base = as_parameters(base)
    check_where(scheduler, scheduler_file, slurm_jobs)  # even if every run is cached
    if isinstance(grid, Grid):
        if zipped:
            raise ParameterError("give zipped axes inside the Grid, not beside it")
        check_run_count(len(grid), 1)
        check_points(base, grid)
    else:
        grid = make_grid(grid, zipped, base)
    seeds = check_seeds(seeds, len(grid))
    check_target(target)
    local = not (scheduler or scheduler_file or slurm_jobs or environment_scheduler())
    check_sweep(base, grid, len(seeds), local=local,
                workers=local_workers(n_workers, len(grid) * len(seeds)))
    where = Path(directory) if directory is not None else cache_dir()
    indices = list(grid.indices())
    jobs = [(index, seed, base.replace(**grid.point(index))) for index in indices
            for seed in seeds]
    version = statistics_version()
    results: dict[int, dict[str, float]] = {}
    errors: dict[int, str] = {}
    for j, (_, seed, params) in enumerate(jobs):
        cached = lookup_summary(params, seed, version, where)
        if cached is not None:
            results[j] = cached
    missing = [j for j in range(len(jobs)) if j not in results]
    started = time.perf_counter()
    computed = 0
    if missing:
        computed = _compute(jobs, missing, results, errors, version, target=target,
                            directory=where, scheduler=scheduler,
                            scheduler_file=scheduler_file, slurm_jobs=slurm_jobs,
                            n_workers=n_workers, dashboard=dashboard, progress=progress)
    elif progress:
        print(f"all {len(jobs)} runs of the sweep are cached: nothing to compute",
              file=sys.stderr, flush=True)
    provenance = {"command": sweep_command(base, grid, seeds, target=target),
                  "runs_computed": computed, "runs_cached": len(jobs) - len(missing),
                  "wall_time_s": round(time.perf_counter() - started, 3), **(attrs or {})}
    return assemble(base, grid, seeds, [results.get(j) for j in range(len(jobs))],
                    [errors.get(j, "") for j in range(len(jobs))], target, provenance)


def _compute(jobs: list[tuple[tuple[int, ...], int, Parameters]], missing: list[int],
             results: dict[int, dict[str, float]], errors: dict[int, str], version: str, *,
             target: str, directory: Path, scheduler: str | None,
             scheduler_file: str | os.PathLike | None, slurm_jobs: int | None,
             n_workers: int | None, dashboard: bool, progress: bool) -> int:
    """Run the missing jobs; fill ``results`` and ``errors``; the number computed."""
    from dask.distributed import as_completed
    from tqdm import tqdm

    from tum2000.sweeps.cluster import dask_client

    from tum2000.interruption import handlers_installed

    workers = max(1, min(n_workers or os.cpu_count() or 1, len(missing)))
    computed = 0
    try:
        with handlers_installed(), dask_client(
                scheduler, scheduler_file, n_workers=workers, dashboard=dashboard,
                slurm_jobs=slurm_jobs, cache_directory=directory,
                brian2_workers=target not in ("auto", "engine")) as connection:
            if progress:
                print(f"{len(missing)} of {len(jobs)} runs to compute on "
                      f"{connection.description}", file=sys.stderr, flush=True)
            client = connection.client
            futures = client.map(
                _sweep_task, [jobs[j][2].to_json() for j in missing],
                [jobs[j][1] for j in missing], [target] * len(missing),
                [str(directory)] * len(missing), pure=False)
            job_of = {f.key: j for f, j in zip(futures, missing)}
            bar = tqdm(total=len(missing), unit="run", file=sys.stderr, disable=not progress,
                       dynamic_ncols=True, smoothing=0.0)
            try:
                for future in as_completed(futures):
                    j = job_of[future.key]
                    try:
                        worker_version, values, did_compute = future.result()
                    except Exception as err:  # the run failed: record it, keep the rest
                        errors[j] = one_line_error(err)
                    else:
                        if worker_version != version:
                            errors[j] = (f"the worker runs other tum2000 code (statistics "
                                         f"version {worker_version}, here {version})")
                        else:
                            results[j] = values
                            computed += bool(did_compute)
                    bar.update(1)
                    if errors:
                        bar.set_postfix(failed=len(errors))
            except BaseException:
                client.cancel(futures)
                raise
            finally:
                bar.close()
    except KeyboardInterrupt as err:
        raise SweepInterrupted(getattr(err, "signal_name", "SIGINT")) from None
    return computed


def _coordinate(name: str, values: Sequence[Any]) -> tuple[np.ndarray, dict[str, str]]:
    spec = SPECS[name]
    attrs = {"units": spec.unit or "1", "long_name": spec.doc}
    if any(v is None or isinstance(v, str) for v in values):
        return np.array(["null" if v is None else str(v) for v in values]), attrs
    if spec.kind is bool:
        return np.array([int(v) for v in values], dtype=np.int8), attrs
    return np.array(values, dtype=np.int64 if spec.kind is int else np.float64), attrs


def assemble(base: Parameters, grid: Grid, seeds: Sequence[int],
             results: Sequence[Mapping[str, float] | None], errors: Sequence[str],
             target: str = "auto", provenance: Mapping[str, Any] | None = None) -> xr.Dataset:
    """The sweep's Dataset from per-job statistics (grid order, seeds fastest)."""
    from tum2000.model.provenance import code_version, library_versions
    from tum2000.analysis import population_spikes as pskinds
    from tum2000.analysis.statistics import long_name, statistics_version, summary_options, units_of

    dims = tuple(axis.name for axis in grid.axes) + ("seed",)
    shape = grid.shape + (len(seeds),)
    names: list[str] = []
    for values in results:
        for name in values or {}:
            # A statistic named like a swept parameter (duration_ms) is that
            # parameter: the coordinate holds it.
            if name not in names and name not in grid.names:
                names.append(name)
    data: dict[str, Any] = {}
    for name in names:
        array = np.array([math.nan if r is None else r.get(name, math.nan) for r in results],
                         dtype=np.float64).reshape(shape)
        attrs = {"units": units_of(name)}
        if long_name(name):
            attrs["long_name"] = long_name(name)
        data[name] = (dims, array, attrs)
    data["error"] = (dims, np.array(list(errors), dtype=str).reshape(shape),
                     {"long_name": "why the run failed (empty: it succeeded)"})
    coords: dict[str, Any] = {"seed": ("seed", np.array(seeds, dtype=np.int64),
                                       {"long_name": "random seed of the network"})}
    for axis in grid.axes:
        for name, values in axis.values.items():
            array, attrs = _coordinate(name, values)
            coords[name] = (axis.name, array, attrs)
    n_failed = int(sum(bool(e) for e in errors))
    attrs = {
        "title": "tum2000 parameter sweep",
        "format": FORMAT,
        "base_parameters": base.to_json(),
        "grid": grid.to_json(),
        "seeds": json.dumps(list(seeds)),
        "target": target,
        "code_version": code_version(),
        "statistics_version": statistics_version(),
        "summary_options": json.dumps(summary_options(), default=list),
        "partial_definition": f"excitatory participation < {pskinds.PARTIAL_MAX_PARTICIPATION:g}",
        "sharp_definition": f"width <= {pskinds.SHARP_MAX_WIDTH_MS:g} ms and excitatory "
                            f"participation >= {pskinds.SHARP_MIN_PARTICIPATION:g}",
        "n_runs": len(errors),
        "n_failed": n_failed,
        **{f"{lib}_version": v for lib, v in library_versions().items()},
        **{k: (json.dumps(v) if isinstance(v, (dict, list)) else v)
           for k, v in (provenance or {}).items()},
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def save_sweep(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a sweep result as netCDF (classic 64-bit offset format), atomically
    (temporary file, then rename)."""
    from tum2000.store.atomic import atomic_path

    path = Path(path)
    # The classic format: a sweep has a hundred small variables, and netCDF-4
    # (HDF5) spends kilobytes on each; the result is meant to be small enough
    # to commit.
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF3_64BIT")
    return path


def load_sweep(path: str | os.PathLike) -> xr.Dataset:
    """Read a sweep result; a file that is not one raises :class:`tum2000.DatasetError`."""
    from tum2000.store.dataset import DatasetError

    try:
        ds = xr.load_dataset(path, engine="netcdf4")
    except FileNotFoundError:
        raise
    except Exception as err:
        raise DatasetError(f"{path} is not a readable netCDF file: {one_line_error(err)}") from None
    if ds.attrs.get("format") != FORMAT:
        raise DatasetError(f"{path} is not a tum2000 sweep result (format "
                           f"{ds.attrs.get('format')!r}, expected {FORMAT!r})")
    return ds


__all__ = ["FORMAT", "SweepInterrupted", "assemble", "check_seeds", "load_sweep",
           "run_sweep", "save_sweep", "simulate_many", "sweep_command"]
