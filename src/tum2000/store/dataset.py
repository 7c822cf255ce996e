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

:func:`save` writes atomically; :func:`load` refuses files that are not
readable netCDF (:class:`CorruptDatasetError`), not tum2000 datasets of this
format (:class:`ForeignDatasetError`), or cut short
(:class:`IncompleteDatasetError`: a span shorter than its parameters say).

Accessors every analysis uses: :func:`duration_ms`, :func:`neuron_mask`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tum2000.store.atomic import atomic_path
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
    """Check the contract; raise :class:`ForeignDatasetError` naming what is wrong."""
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
    try:
        simulated = float(ds.attrs["simulated_ms"])
    except (TypeError, ValueError):
        raise ForeignDatasetError(f"{source}: simulated_ms is not a number") from None
    check_span(simulated, params, source)
    if ds.sizes["neuron"] != params.N:
        raise ForeignDatasetError(f"{source}: {ds.sizes['neuron']} neurons, "
                                  f"but the parameters say N = {params.N}")
    neurons = ds["spike_neuron"].values
    if neurons.size and (neurons.min() < 0 or neurons.max() >= params.N):
        raise ForeignDatasetError(f"{source}: spike_neuron outside [0, {params.N})")
    times = ds["spike_time"].values
    if times.size and (np.any(np.diff(times) < 0) or times[0] < 0
                       or times[-1] > params["duration_ms"]):
        raise ForeignDatasetError(
            f"{source}: spike_time must be sorted within [0, {params['duration_ms']:g}] ms")
    burn_in = ds["burn_in_spike_time"].values
    burn_neurons = ds["burn_in_spike_neuron"].values
    if burn_neurons.size and (burn_neurons.min() < 0 or burn_neurons.max() >= params.N):
        raise ForeignDatasetError(f"{source}: burn_in_spike_neuron outside [0, {params.N})")
    if burn_in.size and (np.any(np.diff(burn_in) < 0) or burn_in[0] < -params["burn_in_ms"]
                         or burn_in[-1] >= 0):
        raise ForeignDatasetError(
            f"{source}: burn_in_spike_time must be sorted within "
            f"[{-params['burn_in_ms']:g}, 0) ms")
    return ds


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
    """Write ``ds`` to ``path`` as it is (no validation, not atomic): for a
    temporary file of :func:`tum2000.store.atomic.atomic_paths`."""
    ds.to_netcdf(path, engine="netcdf4", format="NETCDF4", encoding=_encoding(ds))


def save(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to netCDF at ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    validate(ds, str(path))
    with atomic_path(path) as tmp:
        write_netcdf(ds, tmp)
    return path


def load(path: str | os.PathLike) -> xr.Dataset:
    """Read and validate a dataset written by :func:`save` (fully into memory)."""
    path = Path(path)
    if path.is_dir():
        raise DatasetError(f"{path} is a folder, expected a dataset file (.nc)")
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        with xr.open_dataset(path, engine="netcdf4", decode_timedelta=False,
                             decode_times=False) as handle:
            ds = handle.load()
    except (OSError, ValueError, RuntimeError, KeyError) as err:
        raise CorruptDatasetError(f"{path} is not a readable netCDF file ({err})") from None
    return validate(ds, str(path))
