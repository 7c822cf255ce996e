"""Results stored with the book (``book/data/*.nc``): where they live, what
protects them, and what "the same result" means on another processor.

Some of the book's results take longer than a book build may (long
recordings, large networks, many seeds). Their small result is stored under
the book's ``book/data/`` and verified against the code at hand by what is
reproducible (:mod:`tum2000.sweeps.stored` does the recomputing):

* **a content hash** (:data:`CONTENT_HASH_ATTR`): the SHA-256 of every value
  and attribute as stored in the file (:func:`content_hash`), checked at every
  load, so an edited or corrupted value is caught wherever it is;
* **fingerprints** (:data:`FINGERPRINTS_ATTR`) of the runs cheap enough to be
  simulated again in a build: the number of spikes and a hash of every spike,
  its time and neuron (:func:`fingerprint`), what is bit-identical on every
  processor measured;
* **tolerances** (:func:`tolerance_for`): by how much a statistic recomputed
  on this machine may differ from the stored one.

What is reproducible across processors (measured)
-------------------------------------------------
NumPy picks its SIMD kernels (``exp``, ``log``, sums) by processor, and glibc
picks an FMA or a plain ``exp`` by processor. The benchmark
``benchmarks/cross_processor.py`` recomputes stored points in this process's
environment and under emulated processors (NumPy: ``NPY_DISABLE_CPU_FEATURES``
with every non-baseline feature; glibc: ``GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,
-FMA,-AVX512F,-AVX``) and compares them with each other and with the stored
files. On 121 runs (every run of a stored sweep costing at most 10 default
runs: up to 40 s of network and 5,000 neurons), under the four environments,
on an AMD EPYC with AVX-512 (see :data:`MEASURED_DEVIATIONS` for the largest
relative deviation of each kind):

========================================  =============================================
quantity                                  across processors
========================================  =============================================
spikes (count, every time and neuron)     bit-identical in every run and emulation
recorded x and u                          not bit-identical where NumPy's ``exp`` differs
                                          (the replay's exponentials); within 1e-15
counts (``*_count``, ``n_*``)             identical
statistics of x, rates, widths, ...       at most 9.1e-14 relative
fitted recovery (``recovery_tau_ms``)     at most 1.3e-5 relative: the fit is ill-
                                          conditioned (tau and the asymptote trade
                                          off), so the last bits of x, and the number
                                          of BLAS threads (a Dask worker has one),
                                          move its optimum
fitted asymptote (``recovery_x_inf``)     at most 4.6e-9 relative
========================================  =============================================

Hence the rules: spikes and counts compare exactly; every other statistic
within a relative tolerance above the largest deviation measured (1,100x for
plain statistics, 3.8x for the fitted time constant) and still small enough to
catch a stored mean that is off by a relative 1e-4 (:data:`CATCH_RELATIVE`). A fingerprint that differs while
every statistic agrees (e.g. Brian2's numpy target on a machine without a C
compiler, whose ``exp`` is NumPy's) is reported, not failed: the statistics
are what the book shows.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from tum2000 import config
from tum2000.errors import BadInput

DATA_FOLDER = Path("book") / "data"
"""Where stored results live, relative to the book's root."""

CONTENT_HASH_ATTR = "content_sha256"
"""Global attribute: :func:`content_hash` of the file (every value but itself)."""
FINGERPRINTS_ATTR = "fingerprints"
"""Global attribute: JSON list of :func:`fingerprint` records of cheap points."""

FINGERPRINT_MAX_COST = 2.5
"""Runs costing at most this many default runs get a fingerprint when a stored
file is made (cost: simulated time x synapses, :func:`tum2000.sweeps.stored.run_cost`);
a build recomputes only such points."""

# --- what was measured, and the tolerances chosen from it ---------------------------------

MEASURED_DEVIATIONS: dict[str, dict[str, float]] = {
    # statistic kind: {environment: largest relative deviation from the stored value}
    # (benchmarks/cross_processor.py, 121 runs; "native": this machine as it is, which
    # made the files (in Dask workers, one BLAS thread each); "numpy": NumPy without its
    # non-baseline kernels; "glibc": glibc's plain exp; "both": both emulations)
    "recovery_tau_ms": {"native": 8.5e-6, "numpy": 1.3e-5, "glibc": 8.5e-6, "both": 6.6e-6},
    "recovery_x_inf": {"native": 4.1e-11, "numpy": 4.6e-9, "glibc": 4.1e-11, "both": 3.2e-9},
    "other": {"native": 3.9e-16, "numpy": 9.1e-14, "glibc": 3.9e-16, "both": 9.1e-14},
    "count": {"native": 0.0, "numpy": 0.0, "glibc": 0.0, "both": 0.0},
}
"""Largest relative deviation per kind of statistic and emulation (see the module's doc)."""

FITTED: frozenset[str] = frozenset({"recovery_tau_ms", "recovery_x_inf"})
"""Statistics that come out of an iterative least-squares fit."""
FITTED_RELATIVE = 5e-5
"""Tolerance of a fitted statistic: 3.8 x the largest deviation measured (1.3e-5),
half the relative 1e-4 that must be caught."""
OTHER_RELATIVE = 1e-10
"""Tolerance of every other non-integer statistic: 1,100 x the largest measured (9.03e-14)."""
CATCH_RELATIVE = 1e-4
"""A stored value off by this relative amount must be caught (every tolerance is below it)."""


def is_count(name: str) -> bool:
    """Whether statistic ``name`` counts something (an integer: compared exactly)."""
    return name.endswith("_count") or name.startswith("n_")


def tolerance_for(name: str) -> float:
    """The relative tolerance of statistic ``name`` (0: exact)."""
    if is_count(name):
        return 0.0
    return FITTED_RELATIVE if name in FITTED else OTHER_RELATIVE


def relative_deviation(stored: float, recomputed: float) -> float:
    """|a - b| / max(|a|, |b|); 0 when both are NaN or equal, inf when one is NaN."""
    a, b = float(stored), float(recomputed)
    if math.isnan(a) and math.isnan(b):
        return 0.0
    if math.isnan(a) or math.isnan(b):
        return math.inf
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


@dataclass(frozen=True)
class Deviation:
    """One statistic of a recomputed point against its stored value."""

    name: str
    stored: float
    recomputed: float
    relative: float
    allowed: float

    @property
    def agrees(self) -> bool:
        return self.relative <= self.allowed


def compare_statistics(stored: Mapping[str, float], recomputed: Mapping[str, float],
                       names: Iterable[str] | None = None) -> list[Deviation]:
    """Every statistic of ``names`` (default: the stored ones), stored against
    recomputed, with its tolerance. A statistic missing from ``recomputed`` counts as NaN."""
    out = []
    for name in (names if names is not None else stored):
        a = float(stored[name])
        b = float(recomputed.get(name, math.nan))
        out.append(Deviation(name, a, b, relative_deviation(a, b), tolerance_for(name)))
    return out


# --- fingerprints -------------------------------------------------------------------------

def _digest(arrays: Sequence[np.ndarray]) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        array = np.asarray(array)
        kind = "<f8" if array.dtype.kind == "f" else "<i8"
        digest.update(np.ascontiguousarray(array, dtype=kind).tobytes())
    return digest.hexdigest()


def fingerprint(run: Any) -> dict[str, Any]:
    """What identifies a simulation and is bit-identical across processors:
    ``n_spikes`` (recording and burn-in) and ``spikes_sha256`` (every spike's
    time and neuron). The recorded x and u are left out: the replay computes
    them with NumPy's ``exp``, whose last bits depend on the processor (see
    the module's table); their statistics are compared within tolerance."""
    spikes = [run[name].values for name in ("spike_time", "spike_neuron",
                                            "burn_in_spike_time", "burn_in_spike_neuron")
              if name in run]
    return {"n_spikes": int(sum(a.size for a in spikes[::2])), "spikes_sha256": _digest(spikes)}


def fingerprint_differences(stored: Mapping[str, Any], recomputed: Mapping[str, Any]
                            ) -> list[str]:
    """``["spikes"]`` if the two fingerprints differ, else ``[]``."""
    same = (stored.get("n_spikes") == recomputed.get("n_spikes")
            and stored.get("spikes_sha256") == recomputed.get("spikes_sha256"))
    return [] if same else ["spikes"]


def read_fingerprints(attrs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The fingerprint records of a stored file's attributes (``[]`` if none):
    each ``{"index": [...], "seed": s, "n_spikes": ..., "spikes_sha256": ...}``,
    ``index`` the point's position on the grid."""
    text = attrs.get(FINGERPRINTS_ATTR)
    return list(json.loads(text)) if text else []


# --- the content hash -----------------------------------------------------------------------

def _value_bytes(value: Any) -> bytes:
    if isinstance(value, (str, bytes)):
        return b"s" + (value.encode() if isinstance(value, str) else value)
    array = np.asarray(value)
    if array.dtype.kind == "O":  # variable-length strings: their text, not their pointers
        return b"O" + repr(array.shape).encode() + b"\0".join(
            _value_bytes(item) for item in array.ravel().tolist())
    return array.dtype.str.encode() + repr(array.shape).encode() + \
        np.ascontiguousarray(array).tobytes()


def _attributes_bytes(holder: Any, skip: Iterable[str] = ()) -> bytes:
    parts = []
    for name in sorted(set(holder.ncattrs()) - set(skip)):
        parts.append(name.encode() + b"=" + _value_bytes(holder.getncattr(name)))
    return b"\0".join(parts)


def content_hash(path: str | os.PathLike) -> str:
    """SHA-256 of a netCDF file's content as stored: every dimension, every
    variable's raw values (no decoding, so no library version can change
    them) and attributes, and every global attribute except
    :data:`CONTENT_HASH_ATTR`. Raises :class:`~tum2000.errors.BadInput` for a
    file that netCDF cannot read."""
    import netCDF4

    digest = hashlib.sha256()
    try:
        with netCDF4.Dataset(str(path)) as nc:
            nc.set_auto_maskandscale(False)
            nc.set_auto_chartostring(False)
            digest.update(_attributes_bytes(nc, skip=[CONTENT_HASH_ATTR]))
            for name in sorted(nc.dimensions):
                digest.update(f"\0dim {name} {len(nc.dimensions[name])}".encode())
            for name in sorted(nc.variables):
                var = nc.variables[name]
                digest.update(f"\0var {name} {var.dimensions}".encode())
                digest.update(_attributes_bytes(var))
                digest.update(_value_bytes(var[...]))
    except OSError as err:
        raise BadInput(f"{path} is not a readable netCDF file ({err})") from None
    return digest.hexdigest()


def json_hash(value: Any) -> str:
    """SHA-256 of ``value``'s canonical JSON (sorted keys, no NaN): the content
    hash of a small JSON record, such as a cached per-run summary."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, allow_nan=False).encode()
                          ).hexdigest()


def stored_hash(path: str | os.PathLike) -> str | None:
    """The content hash written in the file (None if it has none)."""
    import netCDF4

    with netCDF4.Dataset(str(path)) as nc:
        return str(nc.getncattr(CONTENT_HASH_ATTR)) if CONTENT_HASH_ATTR in nc.ncattrs() \
            else None


def stamp(path: str | os.PathLike) -> str:
    """Write the file's :func:`content_hash` into it; return the hash."""
    import netCDF4

    value = content_hash(path)
    with netCDF4.Dataset(str(path), "a") as nc:
        nc.setncattr(CONTENT_HASH_ATTR, value)
    return value


def content_problem(path: str | os.PathLike) -> str | None:
    """Why the file's values are not the ones that were stored (None: they are)."""
    written = stored_hash(path)
    if written is None:
        return "it carries no content hash (made before stored data was checked)"
    if written != content_hash(path):
        return "its values do not match its content hash (edited or corrupted)"
    return None


# --- which points a check recomputes ----------------------------------------------------------

def chosen_points(content_sha256: str, candidates: Sequence[Any], n: int) -> list[Any]:
    """``n`` of ``candidates`` (all of them if ``n`` is larger), chosen by the
    file's content hash: every checkout and every machine picks the same
    points, and a regenerated file picks afresh. Returned in candidate order."""
    if n >= len(candidates):
        return list(candidates)
    rng = np.random.default_rng(int(content_sha256[:16], 16))
    picked = sorted(int(i) for i in rng.choice(len(candidates), size=n, replace=False))
    return [candidates[i] for i in picked]


# --- where stored data lives ------------------------------------------------------------------

def data_dir(root: str | os.PathLike | None = None) -> Path:
    """The stored-data folder of the book at ``root``; without ``root``, of the
    book named by ``TUM2000_BOOK`` (set by ``tum2000 run``/``book`` for their
    kernels), else of the book found from the working directory upwards.
    Raises :class:`~tum2000.errors.BadInput` when there is no book: stored
    data is never looked for inside the installed package."""
    if root is None:
        root = config.book_root_setting() or config.find_book_root()
    if root is None:
        raise BadInput(f"no tum2000 book in {Path.cwd()} or above it: stored results live "
                       f"in a book's {DATA_FOLDER.as_posix()}/; run from the book's folder "
                       "or give --root")
    return Path(root) / DATA_FOLDER


def stored_files(folder: str | os.PathLike) -> list[Path]:
    """Every stored result (``*.nc``) in ``folder``, by name."""
    return sorted(Path(folder).glob("*.nc"))


__all__ = ["CATCH_RELATIVE", "CONTENT_HASH_ATTR", "DATA_FOLDER", "Deviation",
           "FINGERPRINTS_ATTR", "FINGERPRINT_MAX_COST", "FITTED", "FITTED_RELATIVE",
           "MEASURED_DEVIATIONS", "OTHER_RELATIVE", "chosen_points", "compare_statistics",
           "content_hash", "content_problem", "data_dir", "json_hash", "fingerprint",
           "fingerprint_differences", "is_count", "read_fingerprints", "relative_deviation",
           "stamp", "stored_files", "stored_hash", "tolerance_for"]
