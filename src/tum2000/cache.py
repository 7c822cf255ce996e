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
                    *, directory: str | os.PathLike | None = None, target: str = "auto",
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
