"""A dataset cache keyed by parameters, seed and code version.

Entries are netCDF files named by the SHA-256 of (canonical parameter JSON,
seed, code version). Writes are atomic (see :func:`tum2000.dataset.save`):
a run killed mid-write leaves no entry, and two processes writing the same
entry leave one valid file. An entry that cannot be read, or that holds a
different simulation than its name says, is reported and replaced.

Location: ``$TUM2000_CACHE`` if set, else ``$XDG_CACHE_HOME/tum2000``, else
``~/.cache/tum2000``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Mapping

import xarray as xr

from . import dataset
from .model.parameters import Parameters
from .provenance import code_version

ENV_VAR = "TUM2000_CACHE"


def cache_dir() -> Path:
    """The cache directory now in effect (not created until first written)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tum2000"


def cache_key(params: Parameters, seed: int) -> str:
    text = f"{params.to_json()}\n{int(seed)}\n{code_version()}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cache_path(params: Parameters, seed: int, directory: Path | None = None) -> Path:
    return (directory or cache_dir()) / f"sim-{cache_key(params, seed)}.nc"


def lookup(params: Parameters, seed: int, directory: Path | None = None) -> xr.Dataset | None:
    """The cached dataset, or None when absent or unusable (a warning says why)."""
    path = cache_path(params, seed, directory)
    if not path.exists():
        return None
    try:
        ds = dataset.load(path)
    except dataset.DatasetError as err:
        warnings.warn(f"ignoring unusable cache entry: {err}", RuntimeWarning, stacklevel=3)
        return None
    if (ds.attrs["parameters"] != params.to_json() or int(ds.attrs["seed"]) != int(seed)
            or ds.attrs["code_version"] != code_version()):
        warnings.warn(f"ignoring cache entry {path}: it holds a different simulation",
                      RuntimeWarning, stacklevel=3)
        return None
    return ds


def cached_simulate(params: Parameters | Mapping[str, Any] | str | None = None, seed: int = 1,
                    *, directory: str | os.PathLike | None = None, target: str = "numpy",
                    progress: bool = False) -> xr.Dataset:
    """:func:`tum2000.simulate`, but served from the cache when it holds the result."""
    from .model.simulation import as_parameters, simulate

    params = as_parameters(params)
    where = Path(directory) if directory is not None else None
    ds = lookup(params, seed, where)
    if ds is not None:
        if progress:
            print(f"  using cached simulation {cache_path(params, seed, where)}",
                  file=sys.stderr, flush=True)
        return ds
    ds = simulate(params, seed, target=target, progress=progress)
    dataset.save(ds, cache_path(params, seed, where))
    return ds


# --- per-run summaries of sweeps ----------------------------------------------------
# A sweep keeps, beside each simulation, the statistics it computed from it
# (:func:`tum2000.sweep_stats.run_statistics`), keyed by the simulation's key and
# the statistics' version, so a resumed sweep neither re-simulates nor re-analyses.

def summary_path(params: Parameters, seed: int, version: str,
                 directory: Path | None = None) -> Path:
    """Where the per-run summary of ``(params, seed)`` under statistics ``version`` goes."""
    text = f"{cache_key(params, seed)}\n{version}"
    return (directory or cache_dir()) / f"summary-{hashlib.sha256(text.encode()).hexdigest()[:24]}.json"


def lookup_summary(params: Parameters, seed: int, version: str,
                   directory: Path | None = None) -> dict[str, float] | None:
    """The cached per-run statistics (None for missing values read back as NaN),
    or None when absent or unusable (a warning says why)."""
    import json
    import math

    path = summary_path(params, seed, version, directory)
    if not path.exists():
        return None
    try:
        entry = json.loads(path.read_text())
        if (entry["parameters"] != params.to_json() or int(entry["seed"]) != int(seed)
                or entry["version"] != version):
            raise ValueError("it holds a different run")
        return {k: math.nan if v is None else float(v) for k, v in entry["statistics"].items()}
    except (OSError, ValueError, KeyError, TypeError) as err:
        warnings.warn(f"ignoring unusable cached summary {path}: {err}", RuntimeWarning,
                      stacklevel=2)
        return None


def store_summary(params: Parameters, seed: int, version: str, statistics: Mapping[str, float],
                  directory: Path | None = None) -> Path:
    """Write per-run statistics atomically (NaN stored as null); return the path."""
    import json
    import math

    from .atomic import atomic_path

    path = summary_path(params, seed, version, directory)
    values = {k: None if not math.isfinite(float(v)) else float(v) for k, v in statistics.items()}
    entry = {"parameters": params.to_json(), "seed": int(seed), "version": version,
             "statistics": values}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(entry, allow_nan=False))
    return path
