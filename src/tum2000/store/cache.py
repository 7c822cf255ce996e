"""A dataset cache keyed by everything that can change a simulation's result.

Entries are netCDF files named by the SHA-256 of the canonical parameter
JSON, the seed, the code version (a hash of the whole model package and the
dataset contract, :func:`tum2000.model.provenance.code_version`) and the versions of
the libraries that shape a result (NumPy, SciPy, Brian2). Writes are atomic
(:mod:`tum2000.store.atomic`): a run killed or interrupted mid-write leaves no entry,
and two processes writing the same entry leave one valid file. Every entry
carries a content hash (:mod:`tum2000.store.stored`'s; per-run summaries the
hash of their JSON): an entry that cannot be read, does not match its hash
(even one changed byte), fails the dataset contract's range checks, is cut
short, or holds a different simulation than its name says is never served: a
one-line warning says so and the result is computed again and replaced.

A location that is not a writable folder is refused before any work
(:func:`check_location`); a write that fails later (a full disk) never costs
the caller its result: the entry is left out with a warning (:func:`store`,
``atomic_paths(optional=...)``). ``clear`` leaves temporary files a write may still be
using (:data:`TEMPORARY_GRACE_S`).

Location: ``$TUM2000_CACHE`` if set, else ``$XDG_CACHE_HOME/tum2000``, else
``~/.cache/tum2000``. ``tum2000 cache --list / --clear / --path`` manage it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import xarray as xr

from tum2000.config import CACHE_VAR, cache_dir, cache_setting
from tum2000.errors import BadInput, first_line
from tum2000.store.atomic import atomic_path, atomic_paths
from tum2000.store.output_files import check_folder, nearest_existing
from tum2000.store.stored import CONTENT_HASH_ATTR, json_hash
from tum2000.store import dataset
from tum2000.model.parameters import Parameters, preset
from tum2000.model.provenance import code_version, result_library_versions

ENTRY_PATTERNS: tuple[str, ...] = ("sim-*.nc",)
"""File names of cache entries (``tum2000 cache --clear`` removes these)."""
SUMMARY_PATTERNS: tuple[str, ...] = ("summary-*.json",)
"""Per-run statistics of sweeps, beside the entries (cleared with them, not listed)."""
TEMPORARY_PATTERNS: tuple[str, ...] = (".sim-*.tmp.nc", ".summary-*.tmp.json")
"""Temporary files of writes still running (or of a process that was killed)."""


def key_material(params: Parameters, seed: int) -> str:
    """Everything the key hashes, as text: parameters, seed, code and library versions."""
    return "\n".join([params.to_json(), str(int(seed)), code_version(),
                      json.dumps(result_library_versions(), sort_keys=True)])


def cache_key(params: Parameters, seed: int) -> str:
    return hashlib.sha256(key_material(params, seed).encode()).hexdigest()[:24]


def cache_path(params: Parameters, seed: int, directory: Path | None = None) -> Path:
    return (directory or cache_dir()) / f"sim-{cache_key(params, seed)}.nc"


def _same_simulation(ds: xr.Dataset, params: Parameters, seed: int) -> bool:
    versions = result_library_versions()
    return (ds.attrs["parameters"] == params.to_json() and int(ds.attrs["seed"]) == int(seed)
            and ds.attrs["code_version"] == code_version()
            and all(str(ds.attrs.get(f"{lib}_version")) == v for lib, v in versions.items()))


def lookup(params: Parameters, seed: int, directory: Path | None = None) -> xr.Dataset | None:
    """The cached dataset, or None when absent or unusable (a warning says why,
    in one line: the caller simulates again).

    An entry is served only if it matches its content hash (every entry is
    stamped when written: a one-byte change is caught), passes the dataset
    contract's range checks (:func:`tum2000.store.dataset.validate`) and holds
    the simulation its name says."""
    path = cache_path(params, seed, directory)
    if not path.exists():
        return None
    try:
        ds = dataset.load(path, require_hash=True)
    except dataset.DatasetError as err:
        warnings.warn(f"ignoring unusable cache entry, simulating again: {err}",
                      RuntimeWarning, stacklevel=3)
        return None
    if not _same_simulation(ds, params, seed):
        warnings.warn(f"ignoring cache entry {path}: it holds a different simulation",
                      RuntimeWarning, stacklevel=3)
        return None
    return ds


def check_location(directory: str | os.PathLike | None = None) -> Path:
    """Check the cache folder before any work.

    A folder that cannot exist (the setting names a file, or a path under a
    file) or cannot be written (read-only) is refused before any work
    (:class:`~tum2000.errors.BadInput`: exit 2, one line naming the setting, the
    path and the ways out). A disk that fills up during the run is not known
    here: then the entry is left out with a warning and ``--out`` is still
    written (:func:`write_entry`).
    """
    where = Path(directory) if directory is not None else cache_dir()
    setting = (f"{CACHE_VAR}={cache_setting()}" if directory is None and cache_setting()
               else "the dataset cache")
    existing = nearest_existing(where)
    if not existing.is_dir():
        raise BadInput(f"{setting}: {existing} is a file, so {where} cannot be the cache "
                       f"folder (set {CACHE_VAR} to a folder, or use --no-cache)")
    try:
        check_folder(where, "dataset cache")
    except BadInput as err:
        raise BadInput(f"{setting}: {first_line(err)} (set {CACHE_VAR} to a writable folder, "
                       "or use --no-cache)") from None
    return where


def write_entry(ds: xr.Dataset, tmp: Path | None) -> None:
    """Write ``ds`` to the temporary file ``tmp`` of a cache entry (see
    :func:`store`); a failure (disk full, ...) is a one-line warning, and the
    temporary file is removed so that :func:`tum2000.store.atomic.atomic_paths`
    leaves the entry out. None (no temporary file could be made) does nothing."""
    if tmp is None:
        return
    try:
        dataset.write_netcdf(ds, tmp)
    except (OSError, RuntimeError, BadInput) as err:
        tmp.unlink(missing_ok=True)
        reason = (err.strerror if isinstance(err, OSError) and err.strerror
                  else first_line(err) or type(err).__name__)
        warnings.warn(f"could not write the cache entry in {tmp.parent} ({reason}); "
                      "the result was not cached", RuntimeWarning, stacklevel=2)


def store(ds: xr.Dataset, params: Parameters, seed: int,
          directory: Path | None = None) -> Path | None:
    """Cache ``ds`` atomically; a cache that cannot be written is a warning, not
    an error. Return the entry's path, or None when it was not written."""
    path = cache_path(params, seed, directory)
    dataset.validate(ds, "the simulation")
    with atomic_paths([path], optional=[path]) as (tmp,):
        write_entry(ds, tmp)
    return path if path.exists() else None


def cached_simulate(params: Parameters | Mapping[str, Any] | str | None = None, seed: int = 1,
                    *, directory: str | os.PathLike | None = None, target: str = "auto",
                    progress: bool = False) -> xr.Dataset:
    """:func:`tum2000.simulate`, but served from the cache when it holds the result."""
    from tum2000.model.simulation import as_parameters, simulate

    params = as_parameters(params)
    where = Path(directory) if directory is not None else None
    ds = lookup(params, seed, where)
    if ds is not None:
        if progress:
            print(f"  using cached simulation {cache_path(params, seed, where)}",
                  file=sys.stderr, flush=True)
        return ds
    ds = simulate(params, seed, target=target, progress=progress)
    store(ds, params, seed, where)
    return ds


# --- per-run summaries of sweeps ----------------------------------------------------
# A sweep keeps, beside each simulation, the statistics it computed from it
# (:func:`tum2000.analysis.statistics.run_statistics`), keyed by the simulation's key and
# the statistics' version, so a resumed sweep neither re-simulates nor re-analyses.

def summary_path(params: Parameters, seed: int, version: str,
                 directory: Path | None = None) -> Path:
    """Where the per-run summary of ``(params, seed)`` under statistics ``version`` goes."""
    text = f"{cache_key(params, seed)}\n{version}"
    return (directory or cache_dir()) / f"summary-{hashlib.sha256(text.encode()).hexdigest()[:24]}.json"


def lookup_summary(params: Parameters, seed: int, version: str,
                   directory: Path | None = None) -> dict[str, float] | None:
    """The cached per-run statistics (None for missing values read back as NaN),
    or None when absent or unusable (a warning says why): unreadable, of another
    run, not matching its content hash, or holding a value that is not a
    finite number or null."""
    import math

    path = summary_path(params, seed, version, directory)
    if not path.exists():
        return None
    try:
        entry = json.loads(path.read_text())
        written = entry.pop(CONTENT_HASH_ATTR, None)
        if written is None or written != json_hash(entry):
            raise ValueError("it does not match its content hash (edited or corrupted)")
        if (entry["parameters"] != params.to_json() or int(entry["seed"]) != int(seed)
                or entry["version"] != version):
            raise ValueError("it holds a different run")
        values = {k: math.nan if v is None else float(v)
                  for k, v in entry["statistics"].items()}
        if any(math.isinf(v) for v in values.values()):
            raise ValueError("it holds an infinite value")
        return values
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        warnings.warn(f"ignoring unusable cached summary {path}, computing it again: {err}",
                      RuntimeWarning, stacklevel=2)
        return None


def store_summary(params: Parameters, seed: int, version: str, statistics: Mapping[str, float],
                  directory: Path | None = None) -> Path:
    """Write per-run statistics atomically (NaN stored as null) with their content
    hash; return the path. (A failure fails the sweep's point, which records it.)"""
    import math

    path = summary_path(params, seed, version, directory)
    values = {k: None if not math.isfinite(float(v)) else float(v) for k, v in statistics.items()}
    entry = {"parameters": params.to_json(), "seed": int(seed), "version": version,
             "statistics": values}
    entry[CONTENT_HASH_ATTR] = json_hash(entry)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(entry, allow_nan=False))
    return path


# --- managing the cache -----------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One cache entry as ``tum2000 cache --list`` shows it."""

    path: Path
    size_bytes: int
    modified: float
    seed: int | None
    changes: dict[str, Any]
    current: bool
    note: str

    def line(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.modified))
        changes = ", ".join(f"{k}={v}" for k, v in self.changes.items()) or "default preset"
        seed = "?" if self.seed is None else self.seed
        status = "" if self.current else f"  [{self.note}]"
        return (f"{self.path.name}  {self.size_bytes / 2**20:7.1f} MiB  {when}  "
                f"seed {seed}: {changes}{status}")


def _describe(path: Path) -> Entry:
    stat = path.stat()
    seed, changes, current, note = None, {}, False, "unreadable"
    try:
        with xr.open_dataset(path, engine="netcdf4", decode_times=False,
                             decode_timedelta=False) as handle:
            attrs = dict(handle.attrs)
        params = Parameters.from_json(attrs["parameters"])
        seed = int(attrs["seed"])
        changes = {k: v for k, (v, _) in params.differences(preset("default")).items()}
        if attrs.get("format") != dataset.FORMAT:
            note = f"old format {attrs.get('format')}"
        elif cache_path(params, seed, path.parent) != path:
            note = "stale: other code or library versions"
        else:
            current, note = True, ""
    except Exception as err:  # noqa: BLE001 - a listing reports, never fails
        note = f"unreadable ({type(err).__name__})"
    return Entry(path, stat.st_size, stat.st_mtime, seed, changes, current, note)


def entries(directory: str | os.PathLike | None = None) -> list[Entry]:
    """Every entry of the cache, oldest first."""
    where = Path(directory) if directory is not None else cache_dir()
    if not where.is_dir():
        return []
    found = {p for pattern in ENTRY_PATTERNS for p in where.glob(pattern) if p.is_file()}
    return sorted((_describe(p) for p in found), key=lambda e: e.modified)


TEMPORARY_GRACE_S = 600.0
"""``clear`` leaves a temporary file modified less than this long ago (s): a
write may still be running (a simulate saving its result; the file grows while
netCDF writes it, so its modification time stays recent until the rename).
Ten minutes: a default entry (~1 MB) is written in well under a second, the
largest allowed in seconds; a leftover of a killed process goes at the next
clear after that."""


def clear(directory: str | os.PathLike | None = None, *,
          grace_s: float = TEMPORARY_GRACE_S) -> tuple[int, int, int]:
    """Remove every entry and summary, and every leftover temporary file not
    modified in the last ``grace_s`` seconds (a write still running keeps its
    file: clearing never races a writer); return (files, bytes, temporary files kept)."""
    where = Path(directory) if directory is not None else cache_dir()
    if not where.is_dir():
        return 0, 0, 0
    count = size = kept = 0
    now = time.time()
    for pattern in ENTRY_PATTERNS + SUMMARY_PATTERNS + TEMPORARY_PATTERNS:
        temporary = pattern in TEMPORARY_PATTERNS
        for path in where.glob(pattern):
            try:
                info = path.stat()
            except OSError:  # gone meanwhile (renamed by its writer)
                continue
            if not path.is_file():
                continue
            if temporary and now - info.st_mtime < grace_s:
                kept += 1
                continue
            path.unlink(missing_ok=True)
            size += info.st_size
            count += 1
    return count, size, kept
