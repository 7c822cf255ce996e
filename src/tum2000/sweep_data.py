"""Sweep results committed with the book, checked against the code at every build.

Some of the book's sweeps take longer than a book build may (long recordings,
large networks, many seeds). Their small result (a :func:`tum2000.run_sweep`
Dataset: statistics, parameters, seeds, code version and the command that made
it) is committed under ``book/data/``. :func:`committed_sweep` gives a chapter
that result when it asks for exactly that sweep, after recomputing a random
sample of its points with the code at hand and checking that every statistic
comes out the same (:func:`check_sample`); a chapter that asks for another
sweep (a finer grid, more seeds) gets it computed by :func:`tum2000.run_sweep`
(through the cache, so it is computed once).

Regenerate a committed result with the command stored in it
(:func:`regenerate_command`), from the project root.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import xarray as xr

from .model.parameters import Parameters
from .sweep_grid import Grid, make_grid

DATA_DIR = Path(__file__).resolve().parents[2] / "book" / "data"
"""Where the book's committed sweep results live (in a source checkout)."""

DEFAULT_RUN_SYNAPSES = 0.1 * 500 * 500
"""Synapses of the default network, the unit of :func:`run_cost`."""
DEFAULT_RUN_MS = 5100.0
"""Simulated time of the default run (burn-in + recording, ms)."""


class SweepDataMismatch(RuntimeError):
    """A committed sweep result does not match what the code computes now."""


@dataclass
class CheckReport:
    """Which points of a committed sweep were recomputed, and whether they agree."""

    path: Path
    points: list[dict[str, Any]] = field(default_factory=list)
    committed_code_version: str = ""
    code_version: str = ""

    @property
    def agrees(self) -> bool:
        return all(p["agrees"] for p in self.points)

    def table(self) -> "Any":
        """The checked points as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.points)

    def summary(self) -> str:
        """One sentence on the check, for a notebook's output."""
        if not self.points:
            return f"{self.path.name}: no point cheap enough to recompute in this build"
        where = "; ".join(p["point"] for p in self.points)
        verdict = "identical" if self.agrees else "DIFFERENT"
        return (f"{self.path.name}: recomputed {len(self.points)} point(s) ({where}): "
                f"{verdict} statistics")


def run_cost(params: Parameters) -> float:
    """Rough cost of one run in default runs: simulated time x number of synapses."""
    synapses = params["p_connect"] * params.N ** 2
    simulated = params["burn_in_ms"] + params["duration_ms"]
    return (simulated / DEFAULT_RUN_MS) * (synapses / DEFAULT_RUN_SYNAPSES)


def point_parameters(ds: xr.Dataset, index: Sequence[int]) -> Parameters:
    """The parameters of the grid point at ``index`` (one position per swept
    dimension, in the result's order)."""
    grid = Grid.from_json(ds.attrs["grid"])
    return Parameters.from_json(ds.attrs["base_parameters"]).replace(**grid.point(index))


def same_sweep(ds: xr.Dataset, base: Parameters, grid: Grid, seeds: Sequence[int]) -> bool:
    """Whether ``ds`` is the result of this sweep (base parameters, grid, seeds)."""
    try:
        return (Parameters.from_json(ds.attrs["base_parameters"]) == base
                and Grid.from_json(ds.attrs["grid"]) == grid
                and json.loads(ds.attrs["seeds"]) == [int(s) for s in seeds])
    except (KeyError, ValueError):
        return False


def regenerate_command(ds: xr.Dataset, path: str | os.PathLike | None = None) -> str:
    """The command that recomputes ``ds`` (run it from the project root)."""
    command = str(ds.attrs["command"])
    if path is not None:
        head, sep, _ = command.rpartition(" --out ")
        command = f"{head}{sep}{path}" if sep else f"{command} --out {path}"
    return command


SAME_REL_TOL = 1e-9
"""Relative tolerance of the comparison of a stored statistic with a recomputed one.
The simulation is reproducible bit for bit, but some statistics are sums over
threads or over differently ordered terms (e.g. ``x_recovery_rmse``) and can
change in their last bit from one process to another; any real difference is
many orders of magnitude larger."""


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=SAME_REL_TOL,
                                                             abs_tol=0.0)


def check_sample(ds: xr.Dataset, path: str | os.PathLike, n: int = 1,
                 rng: np.random.Generator | int | None = None, max_cost: float | None = None,
                 variables: Iterable[str] | None = None, target: str = "auto"
                 ) -> CheckReport:
    """Recompute ``n`` random successful points of ``ds`` and compare every statistic
    (equal within :data:`SAME_REL_TOL`).

    Each point is simulated afresh (never read from the cache: the cache may
    hold the very runs the file was made from) on ``target`` (default the compiled engine) and
    analysed by :func:`tum2000.sweep_stats.run_statistics`. ``max_cost`` (in
    default runs, :func:`run_cost`) restricts the sample to points cheap
    enough for a book build; ``variables`` limits the comparison (default:
    every statistic). Raises :class:`SweepDataMismatch` naming the point, the
    first differing statistic and the command that regenerates the file.
    """
    from .model.simulation import simulate
    from .provenance import code_version
    from .sweep_stats import run_statistics

    rng = np.random.default_rng(rng)
    path = Path(path)
    grid = Grid.from_json(ds.attrs["grid"])
    dims = [axis.name for axis in grid.axes]
    names = [v for v in (variables or ds.data_vars) if v != "error"]
    candidates = []
    for index in grid.indices():
        params = point_parameters(ds, index)
        if max_cost is not None and run_cost(params) > max_cost:
            continue
        errors = ds["error"].isel(dict(zip(dims, index)))
        candidates += [(index, int(seed), params) for seed in ds["seed"].values.tolist()
                       if str(errors.sel(seed=seed).item()) == ""]
    report = CheckReport(path, committed_code_version=str(ds.attrs.get("code_version", "")),
                         code_version=code_version())
    chosen = rng.choice(len(candidates), size=min(n, len(candidates)), replace=False) \
        if candidates else []
    for k in sorted(int(c) for c in chosen):
        index, seed, params = candidates[k]
        values = run_statistics(simulate(params, seed, target=target))
        stored = ds.isel(dict(zip(dims, index))).sel(seed=seed)
        differing = [v for v in names
                     if not _same(float(stored[v]), float(values.get(v, math.nan)))]
        label = ", ".join(f"{name}={value}" for name, value in grid.point(index).items())
        label += f", seed {seed}"
        report.points.append({"point": label, "statistics compared": len(names),
                              "differing": len(differing), "agrees": not differing})
        if differing:
            first = differing[0]
            raise SweepDataMismatch(
                f"{path.name} does not match this code at {label}: {first} is "
                f"{float(stored[first])!r} there and {values.get(first)!r} now "
                f"({len(differing)} statistics differ; file made by code "
                f"{report.committed_code_version}, this is {report.code_version}). "
                f"Regenerate it: {regenerate_command(ds, path)}")
    return report


def committed_sweep(name: str, base: Parameters | Mapping[str, Any] | str | None,
                    grid: Grid | Mapping[str, Sequence[Any]] | None, seeds: Iterable[int], *,
                    zipped: Sequence[Mapping[str, Sequence[Any]]] = (),
                    data_dir: str | os.PathLike | None = None, check: int = 1,
                    check_rng: np.random.Generator | int | None = None,
                    max_check_cost: float | None = 2.0, check_target: str = "auto",
                    variables: Iterable[str] | None = None,
                    **run_options: Any) -> tuple[xr.Dataset, CheckReport | None]:
    """The sweep's result: the committed ``<data_dir>/<name>.nc`` if it holds
    exactly this sweep (then ``check`` random points, each costing at most
    ``max_check_cost`` default runs, are recomputed and compared), otherwise
    computed by :func:`tum2000.run_sweep` with ``run_options``.

    Returns the result and the check's report (None when computed). The
    result's ``source`` attribute says which it is.
    """
    from .model.simulation import as_parameters
    from .sweep import check_seeds, load_sweep, run_sweep

    base = as_parameters(base)
    grid = grid if isinstance(grid, Grid) else make_grid(grid, zipped, base)
    seeds = check_seeds(seeds)
    path = Path(data_dir) if data_dir is not None else DATA_DIR
    path = path / f"{name}.nc"
    if path.exists():
        ds = load_sweep(path)
        if same_sweep(ds, base, grid, seeds):
            report = check_sample(ds, path, n=check, rng=check_rng, max_cost=max_check_cost,
                                  variables=variables, target=check_target)
            ds.attrs["source"] = f"committed {path.name}; {report.summary()}"
            return ds, report
    ds = run_sweep(base, grid, seeds, **run_options)
    ds.attrs["source"] = "computed (or read from the cache) by tum2000.run_sweep"
    return ds, None


__all__ = ["CheckReport", "DATA_DIR", "SweepDataMismatch", "check_sample", "committed_sweep",
           "point_parameters", "regenerate_command", "run_cost", "same_sweep"]
