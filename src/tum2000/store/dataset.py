"""The dataset contract between the simulation and everything after it.

One simulation is one ``xarray.Dataset`` (stored as netCDF):

* dimension ``neuron`` with coordinates ``population`` ("exc"/"inh") and
  ``I_b`` (background input, mV);
* dimension ``spike``: ``spike_time`` (ms from the start of the recording)
  and ``spike_neuron`` (index into ``neuron``), a CF indexed ragged array;
* dimension ``burn_in_spike``: the spikes of the burn-in before the recording,
  ``burn_in_spike_time`` (ms from the start of the recording, so in
  [-burn_in_ms, 0)) and ``burn_in_spike_neuron``; with them every synapse's
  state can be replayed exactly from the start of the simulation;
* dimension ``time`` (ms from the start of the recording) with
  ``recovered`` (pathway, time): mean recovered fraction x of each pathway's
  synapses, and ``utilization`` (pathway, time): their mean u (constant,
  equal to the mean U, for depressing pathways);
* per-pathway summaries of the drawn synapses (count and mean parameters);
* attributes: ``parameters`` (JSON), ``seed``, ``code_version``, library
  versions, ``simulated_ms`` (the span the simulation actually reached, burn-in
  included: ``burn_in_ms + duration_ms`` when complete), and ``units`` on
  every variable.

:func:`save` writes atomically, stamped with a content hash (the mechanism of
the book's stored data, :mod:`tum2000.store.stored`); :func:`load` refuses files
that are not readable netCDF or do not match their content hash
(:class:`CorruptDatasetError`), not tum2000 datasets of this format or holding
a value an analysis would misread: NaN, out of range, of a wrong type or length
(:class:`ForeignDatasetError`, :func:`validate`), or cut short
(:class:`IncompleteDatasetError`: a span shorter than its parameters say). Each
is a :class:`DatasetError`: exit 2 on the command line, one line naming what is
wrong.

Accessors every analysis uses: :func:`duration_ms`, :func:`neuron_mask`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tum2000.store.atomic import atomic_path
from tum2000.store.stored import CONTENT_HASH_ATTR, content_hash, stamp
from tum2000.errors import CorruptDatasetError, DatasetError, ForeignDatasetError, IncompleteDatasetError, ParameterError
from tum2000.model.parameters import PATHWAYS, Parameters


FORMAT = "tum2000-dataset/3"
"""Value of the ``format`` attribute; changes when the contract changes."""

REQUIRED_VARIABLES: dict[str, tuple[str, ...]] = {
    "population": ("neuron",),
    "I_b": ("neuron",),
    "spike_time": ("spike",),
    "spike_neuron": ("spike",),
    "burn_in_spike_time": ("burn_in_spike",),
    "burn_in_spike_neuron": ("burn_in_spike",),
    "recovered": ("pathway", "time"),
    "utilization": ("pathway", "time"),
    "synapse_count": ("pathway",),
}
REQUIRED_ATTRS: tuple[str, ...] = ("format", "parameters", "seed", "code_version",
                                   "brian2_version", "numpy_version", "simulated_ms")
POPULATIONS: tuple[str, ...] = ("all", "exc", "inh")
"""Population selectors understood by :func:`neuron_mask` and every analysis."""

TIME_GRID_TOLERANCE_MS = 1e-6
"""How far a sample of the time axis may be from its grid point: the simulation
computes it as (first sample + k) x samples per record x dt_ms - burn_in_ms,
exact in every run measured (deviation 0.0); a millionth of a ms leaves room for
rounding and is far below the 1 ms record step."""

I_B_TOLERANCE_MV = 1e-9
"""Slack of the I_b range check (mV): the network draws center + uniform(-half,
half), whose rounding can leave the closed range by about 1e-15 mV."""

SUMMARY_RANGES: tuple[tuple[str, float, float, str, bool], ...] = (
    # name, low, high, allowed (in words), NaN allowed
    ("A_mean", -np.inf, np.inf, "finite", False),
    ("U_mean", 0.0, 1.0, "[0, 1]", False),
    ("tau_rec_mean", 0.0, np.inf, "[0, inf)", False),
    ("tau_facil_mean", 0.0, np.inf, "[0, inf) or NaN (no facilitation)", True),
)
"""The per-pathway summaries :func:`validate` checks when present."""



def full_span_ms(params: Parameters) -> float:
    """The span a complete simulation reaches: burn-in plus recording (ms)."""
    return float(params["burn_in_ms"]) + float(params["duration_ms"])


def build(params: Parameters, seed: int, code_version: str, versions: dict[str, str],
          I_b_mV: np.ndarray, spike_time_ms: np.ndarray, spike_neuron: np.ndarray,
          time_ms: np.ndarray, recovered: np.ndarray, utilization: np.ndarray,
          pathway_summary: dict[str, np.ndarray],
          burn_in_spike_time_ms: np.ndarray | None = None,
          burn_in_spike_neuron: np.ndarray | None = None,
          simulated_ms: float | None = None) -> xr.Dataset:
    """Assemble a dataset; times are ms from the start of the recording (burn-in
    spikes, if any, at negative times). ``simulated_ms``: the span the
    simulation reached, burn-in included (None: the full span)."""
    n_exc, N = params["N_exc"], params.N
    population = np.where(np.arange(N) < n_exc, "exc", "inh").astype(object)
    data_vars: dict[str, Any] = {
        "spike_time": ("spike", np.asarray(spike_time_ms, dtype=np.float64),
                       {"units": "ms", "long_name": "spike time from the start of the recording"}),
        "spike_neuron": ("spike", np.asarray(spike_neuron, dtype=np.int32),
                         {"units": "1", "long_name": "index of the neuron that spiked",
                          "instance_dimension": "neuron"}),
        "burn_in_spike_time": ("burn_in_spike", np.asarray(
            [] if burn_in_spike_time_ms is None else burn_in_spike_time_ms, dtype=np.float64),
            {"units": "ms", "long_name": "spike time during the burn-in, from the start of "
             "the recording (negative)"}),
        "burn_in_spike_neuron": ("burn_in_spike", np.asarray(
            [] if burn_in_spike_neuron is None else burn_in_spike_neuron, dtype=np.int32),
            {"units": "1", "long_name": "index of the neuron that spiked during the burn-in",
             "instance_dimension": "neuron"}),
        "recovered": (("pathway", "time"), recovered,
                      {"units": "1", "long_name": "mean recovered fraction x of synaptic resources"}),
        "utilization": (("pathway", "time"), utilization,
                        {"units": "1", "long_name": "mean utilization u of synaptic efficacy"}),
    }
    summary_attrs = {
        "synapse_count": {"units": "1", "long_name": "number of synapses"},
        "A_mean": {"units": "mV", "long_name": "mean drawn absolute strength A"},
        "U_mean": {"units": "1", "long_name": "mean drawn utilization U"},
        "tau_rec_mean": {"units": "ms", "long_name": "mean drawn recovery time constant"},
        "tau_facil_mean": {"units": "ms", "long_name": "mean drawn facilitation time "
                           "constant (NaN: the pathway does not facilitate)"},
    }
    for name, values in pathway_summary.items():
        data_vars[name] = ("pathway", values, summary_attrs[name])
    coords = {
        "neuron": ("neuron", np.arange(N, dtype=np.int32), {"units": "1"}),
        "population": ("neuron", population, {"units": "1", "long_name": "population"}),
        "I_b": ("neuron", np.asarray(I_b_mV, dtype=np.float64),
                {"units": "mV", "long_name": "background input"}),
        "pathway": ("pathway", np.array(PATHWAYS, dtype=object),
                    {"units": "1", "long_name": "synaptic pathway, source then target"}),
        "time": ("time", np.asarray(time_ms, dtype=np.float64),
                 {"units": "ms", "long_name": "time from the start of the recording"}),
    }
    attrs = {
        "title": "Tsodyks, Uziel & Markram (2000) Fig. 1 network simulation",
        "Conventions": "CF-1.8",
        "format": FORMAT,
        "parameters": params.to_json(),
        "seed": int(seed),
        "code_version": code_version,
        "burn_in_ms": float(params["burn_in_ms"]),
        "duration_ms": float(params["duration_ms"]),
        "simulated_ms": float(full_span_ms(params) if simulated_ms is None else simulated_ms),
        **{f"{lib}_version": v for lib, v in versions.items()},
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def parameters_of(ds: xr.Dataset) -> Parameters:
    """The parameters a dataset was simulated with."""
    return Parameters.from_json(ds.attrs["parameters"])


def validate(ds: xr.Dataset, source: str = "dataset") -> xr.Dataset:
    """Check the contract and every value's range; raise a :class:`DatasetError`
    (:class:`ForeignDatasetError`, :class:`IncompleteDatasetError`) whose first
    line names what is wrong and what is allowed.

    The one check of a dataset, on every path: :func:`load` (``--in`` files,
    :func:`tum2000.load`, cache entries), :func:`save`, the command line's
    ``simulate`` and ``export``. Beyond the layout (format, attributes,
    variables and their dims) it checks what an analysis trusts without looking:
    ``seed`` an integer >= 0; ``duration_ms``, ``burn_in_ms``, ``simulated_ms``
    finite numbers agreeing with the parameters; ``neuron`` 0..N-1 and
    ``population`` "exc" for the first ``N_exc`` neurons, "inh" for the rest;
    ``I_b`` finite and within the range it is drawn from; spike times finite floats, sorted, within the recording
    (burn-in spikes within [-burn_in_ms, 0)); spike neurons integers in [0, N);
    the time axis the record grid 0, record_dt_ms, ..., duration_ms; ``recovered``
    and ``utilization`` finite and in [0, 1]; the pathway summaries' counts
    integers >= 0, ``U_mean`` in [0, 1], time constants > 0 (``tau_facil_mean``
    NaN for a pathway that does not facilitate).

    Cost (vectorised NumPy), measured on a default run (500 neurons, 4200 ms,
    20,367 spikes + 3,975 burn-in spikes, 4,201 samples) on the 2-core CI
    machine under load: 0.65 ms per call (median of 50), against 23 ms to read
    the file; the content hash :func:`load` checks adds 8 ms.
    """
    found = ds.attrs.get("format")
    if isinstance(found, str) and found.startswith("tum2000-dataset/") and found != FORMAT:
        raise ForeignDatasetError(
            f"{source} is a tum2000 dataset of an older format ({found!r}, this version "
            f"reads {FORMAT!r}): simulate it again")
    if found != FORMAT:
        raise ForeignDatasetError(
            f"{source} is not a tum2000 dataset (attribute format = "
            f"{ds.attrs.get('format')!r}, expected {FORMAT!r})")
    missing = [a for a in REQUIRED_ATTRS if a not in ds.attrs]
    if missing:
        raise ForeignDatasetError(f"{source} lacks attributes: {', '.join(missing)}")
    for name, dims in REQUIRED_VARIABLES.items():
        if name not in ds.variables:
            raise ForeignDatasetError(f"{source} lacks variable {name!r}")
        if ds[name].dims != dims:
            raise ForeignDatasetError(
                f"{source}: variable {name!r} has dims {ds[name].dims}, expected {dims}")
    try:
        params = parameters_of(ds)
    except ParameterError as err:
        raise ForeignDatasetError(f"{source}: invalid parameters attribute: {err}") from None
    except (TypeError, ValueError, KeyError, AttributeError):
        raise ForeignDatasetError(f"{source}: the parameters attribute is not the JSON "
                                  "of a parameter set") from None
    _check_attributes(ds, params, source)
    _check_values(ds, params, source)
    return ds


def _attribute_number(ds: xr.Dataset, name: str, source: str) -> float:
    """Attribute ``name`` as a finite float, or a :class:`ForeignDatasetError`."""
    value = ds.attrs[name]
    if isinstance(value, (bool, np.bool_, str, bytes)) or np.ndim(value) != 0:
        raise ForeignDatasetError(f"{source}: attribute {name} = {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ForeignDatasetError(f"{source}: attribute {name} = {value!r} is not a number") \
            from None
    if not np.isfinite(number):
        raise ForeignDatasetError(f"{source}: attribute {name} = {number!r} is not finite")
    return number


def _check_attributes(ds: xr.Dataset, params: Parameters, source: str) -> None:
    seed = ds.attrs["seed"]
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) \
            or int(seed) < 0:
        raise ForeignDatasetError(f"{source}: attribute seed = {seed!r} is not an integer >= 0")
    for name in ("code_version", "brian2_version", "numpy_version"):
        if not isinstance(ds.attrs[name], str):
            raise ForeignDatasetError(f"{source}: attribute {name} = {ds.attrs[name]!r} "
                                      "is not text")
    for name in ("duration_ms", "burn_in_ms"):
        if name in ds.attrs:
            value = _attribute_number(ds, name, source)
            if value != float(params[name]):
                raise ForeignDatasetError(
                    f"{source}: attribute {name} = {value:g} ms, but the parameters say "
                    f"{float(params[name]):g} ms")
    check_span(_attribute_number(ds, "simulated_ms", source), params, source)


def _values(ds: xr.Dataset, name: str, kinds: str, source: str) -> np.ndarray:
    """The values of variable ``name``, refused unless of a dtype kind in ``kinds``
    ("f": float64, as written, since a narrower float changes the values; "iu":
    integers; text, e.g. times stored as strings, never)."""
    values = np.asarray(ds[name].values)
    if values.dtype.kind not in kinds or (kinds == "f" and values.dtype != np.float64):
        expected = "float64 numbers" if kinds == "f" else "integers"
        raise ForeignDatasetError(f"{source}: {name} holds {values.dtype} values, "
                                  f"expected {expected}")
    return values


def _refuse_nonfinite(values: np.ndarray, name: str, source: str) -> None:
    bad = np.count_nonzero(~np.isfinite(values))
    if bad:
        raise ForeignDatasetError(f"{source}: {name} holds {bad} value(s) that are NaN or "
                                  "infinite; every value must be a finite number")


def _check_range(values: np.ndarray, name: str, source: str, low: float, high: float,
                 allowed: str) -> None:
    """Refuse values outside [low, high] (``allowed`` says it in words)."""
    if values.size and (values.min() < low or values.max() > high):
        outside = np.count_nonzero((values < low) | (values > high))
        raise ForeignDatasetError(f"{source}: {outside} value(s) of {name} outside {allowed}")


def _check_spikes(ds: xr.Dataset, params: Parameters, source: str, prefix: str,
                  low: float, high: float, high_included: bool) -> None:
    """Spike times finite, sorted, in [low, high] (or [low, high)); neurons in [0, N)."""
    times = _values(ds, f"{prefix}spike_time", "f", source)
    neurons = _values(ds, f"{prefix}spike_neuron", "iu", source)
    _refuse_nonfinite(times, f"{prefix}spike_time", source)
    _check_range(neurons, f"{prefix}spike_neuron", source, 0, params.N - 1,
                 f"the neuron indices [0, {params.N})")
    if times.size and (times[0] < low or times[-1] > high
                       or (times[-1] == high and not high_included)
                       or np.any(np.diff(times) < 0)):
        raise ForeignDatasetError(f"{source}: {prefix}spike_time must be sorted within "
                                  f"[{low:g}, {high:g}{']' if high_included else ')'} ms")


def _check_values(ds: xr.Dataset, params: Parameters, source: str) -> None:
    N, n_exc = params.N, int(params["N_exc"])
    if ds.sizes["neuron"] != N:
        raise ForeignDatasetError(f"{source}: {ds.sizes['neuron']} neurons, "
                                  f"but the parameters say N = {N}")
    if "neuron" in ds.variables and not np.array_equal(np.asarray(ds["neuron"].values),
                                                       np.arange(N)):
        raise ForeignDatasetError(f"{source}: the neuron coordinate must be 0 .. {N - 1}")
    population = np.asarray(ds["population"].values).astype(str)
    expected = np.where(np.arange(N) < n_exc, "exc", "inh")
    if not np.array_equal(population, expected):
        labels = sorted(set(population.tolist()) - {"exc", "inh"})
        what = (f"unknown label(s) {', '.join(map(repr, labels[:3]))}" if labels
                else "labels in the wrong places")
        raise ForeignDatasetError(f"{source}: population has {what}; allowed: 'exc' for "
                                  f"the first N_exc = {n_exc} neurons, 'inh' for the rest")
    I_b = _values(ds, "I_b", "f", source)
    _refuse_nonfinite(I_b, "I_b", source)
    low = float(params["I_b_center_mV"]) - float(params["I_b_spread_mV"]) / 2
    high = float(params["I_b_center_mV"]) + float(params["I_b_spread_mV"]) / 2
    _check_range(I_b, "I_b", source, low - I_B_TOLERANCE_MV, high + I_B_TOLERANCE_MV,
                 f"the drawn range [{low:g}, {high:g}] mV (I_b_center_mV +- I_b_spread_mV/2)")
    duration, burn_in = float(params["duration_ms"]), float(params["burn_in_ms"])
    _check_spikes(ds, params, source, "", 0.0, duration, True)
    _check_spikes(ds, params, source, "burn_in_", -burn_in, 0.0, False)
    time = _values(ds, "time", "f", source)
    step = float(params["record_dt_ms"])
    n_samples = int(round(duration / step)) + 1
    if time.size != n_samples or not np.all(np.isfinite(time)) or np.max(
            np.abs(time - np.arange(n_samples) * step)) > TIME_GRID_TOLERANCE_MS:
        raise ForeignDatasetError(
            f"{source}: the time axis must be the record grid 0, {step:g}, ..., "
            f"{duration:g} ms ({n_samples} samples), found {time.size} samples")
    if ds.sizes["pathway"] != len(PATHWAYS) or \
            np.asarray(ds["pathway"].values).astype(str).tolist() != list(PATHWAYS):
        raise ForeignDatasetError(f"{source}: the pathways must be {', '.join(PATHWAYS)}")
    for name in ("recovered", "utilization"):
        values = _values(ds, name, "f", source)
        _refuse_nonfinite(values, name, source)
        _check_range(values, name, source, 0.0, 1.0, "[0, 1]")
    counts = _values(ds, "synapse_count", "iu", source)
    _check_range(counts, "synapse_count", source, 0, np.inf, "[0, inf)")
    for name, low, high, allowed, nan_allowed in SUMMARY_RANGES:
        if name not in ds.variables:
            continue
        if ds[name].dims != ("pathway",):
            raise ForeignDatasetError(f"{source}: variable {name!r} has dims "
                                      f"{ds[name].dims}, expected ('pathway',)")
        values = _values(ds, name, "f", source)
        finite = values[~np.isnan(values)] if nan_allowed else values
        _refuse_nonfinite(finite, name, source)
        _check_range(finite, name, source, low, high, allowed)


def check_span(simulated_ms: float, params: Parameters, source: str = "simulation") -> None:
    """Refuse a span shorter than burn-in plus recording (:class:`IncompleteDatasetError`)."""
    full = full_span_ms(params)
    # Half a time step of slack: the span is a whole number of steps.
    if not np.isfinite(simulated_ms) or simulated_ms < full - 0.5 * float(params["dt_ms"]):
        raise IncompleteDatasetError(
            f"{source} is incomplete: the simulation reached {simulated_ms:g} ms of the "
            f"{full:g} ms (burn-in + duration) its parameters ask for")


def duration_ms(ds: xr.Dataset) -> float:
    """Recorded duration in ms (the dataset's ``duration_ms`` attribute)."""
    if "duration_ms" in ds.attrs:
        return float(ds.attrs["duration_ms"])
    return float(parameters_of(ds)["duration_ms"])


def neuron_mask(ds: xr.Dataset, population: str | None = "all") -> np.ndarray:
    """Boolean mask over the ``neuron`` dimension for ``population``.

    ``population`` is None or "all" (every neuron), "exc" or "inh".
    """
    if population is None or population == "all":
        return np.ones(ds.sizes["neuron"], dtype=bool)
    if population not in POPULATIONS:
        raise ValueError(f"unknown population {population!r} (allowed: {', '.join(POPULATIONS)})")
    return np.asarray(ds["population"].values).astype(str) == population


def _encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    encoding: dict[str, dict[str, Any]] = {}
    for name, var in ds.variables.items():
        enc: dict[str, Any] = {}
        if var.dtype.kind == "f":
            enc["_FillValue"] = None
        if var.size > 1000 and var.dtype.kind in "fiu":
            enc.update(zlib=True, complevel=4)
        encoding[name] = enc
    return encoding


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> None:
    """Write ``ds`` to ``path`` as it is (no validation, not atomic), with its
    content hash (:func:`tum2000.store.stored.stamp`, the mechanism of the book's
    stored data): for a temporary file of :func:`tum2000.store.atomic.atomic_paths`."""
    ds = ds.copy()
    ds.attrs.pop(CONTENT_HASH_ATTR, None)
    ds.to_netcdf(path, engine="netcdf4", format="NETCDF4", encoding=_encoding(ds))
    stamp(path)


def save(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to netCDF at ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    validate(ds, str(path))
    with atomic_path(path) as tmp:
        write_netcdf(ds, tmp)
    return path


def load(path: str | os.PathLike, *, require_hash: bool = False) -> xr.Dataset:
    """Read and validate a dataset written by :func:`save` (fully into memory).

    A file that carries a content hash (every file tum2000 writes) must match
    it: a value changed after writing, even one byte, is refused
    (:class:`CorruptDatasetError`); with ``require_hash`` (cache entries) a file
    without one is refused too. Then :func:`validate` checks every value.
    """
    path = Path(path)
    if path.is_dir():
        raise DatasetError(f"{path} is a folder, expected a dataset file (.nc)")
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        with xr.open_dataset(path, engine="netcdf4", decode_timedelta=False,
                             decode_times=False) as handle:
            ds = handle.load()
        written = ds.attrs.pop(CONTENT_HASH_ATTR, None)
        if written is None and require_hash:
            raise CorruptDatasetError(f"{path} carries no content hash, so its values "
                                      "cannot be checked")
        if written is not None and written != content_hash(path):
            raise CorruptDatasetError(f"{path}: its values do not match its content hash "
                                      "(edited or corrupted after it was written)")
    except (OSError, ValueError, RuntimeError, KeyError) as err:
        if isinstance(err, DatasetError):
            raise
        raise CorruptDatasetError(f"{path} is not a readable netCDF file ({err})") from None
    return validate(ds, str(path))
