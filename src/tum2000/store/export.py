"""Export one run to the community formats: NWB (pynwb) and NIX (Neo's NixIO).

A researcher takes the spikes into their own tools: DANDI and the NWB ecosystem
read the Units table; Elephant and every Neo user read a NIX file with
:class:`neo.io.NixIO`. One run (one :mod:`tum2000.store.dataset` netCDF file) becomes
one file:

NWB (``.nwb``)
    * ``units``: one row per neuron (``id`` = neuron index), its recorded spike
      times in s from the start of the recording, and the columns
      ``population`` ("exc"/"inh") and ``I_b`` (background input, mV);
    * processing module ``synapses``: one ``TimeSeries`` per pathway and
      variable, ``recovered_EE`` ... (mean recovered fraction x) and
      ``utilization_EE`` ... (mean utilization u), dimensionless;
    * no ``subject``: no animal was recorded (nwbinspector's
      ``check_subject_exists`` does not apply to a simulation);
    * ``notes``: the run's attributes as JSON (``parameters``, ``seed``,
      ``code_version``, library versions, the per-pathway synapse summaries);
      ``identifier``: :func:`run_identifier` (the same run always gets the
      same identifier); ``session_start_time``: :data:`SIMULATION_EPOCH`.

NIX (``.nix``)
    One :class:`neo.Block` with one :class:`neo.Segment`: one ``SpikeTrain``
    per neuron (ms, ``t_start`` 0, ``t_stop`` the recorded duration) annotated
    with ``neuron_index``, ``population`` and ``I_b`` (mV); two
    ``AnalogSignal``s, ``recovered`` and ``utilization``, one channel per
    pathway (array annotation ``pathway``); the parameters as the block's
    annotations (one per parameter, ``None`` values left out, plus the whole
    set as ``parameters`` JSON) with ``seed`` and ``code_version``.

Only the recorded spikes are exported (times in [0, duration]); the burn-in's
spikes, kept in the dataset so that a run can be replayed, are not part of
the recording. Files are written atomically (:func:`tum2000.store.atomic.atomic_path`).

:func:`check_export_request` validates a request before any work;
:func:`export_run` writes the file.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tum2000.store import dataset as _dataset
from tum2000.store.atomic import atomic_path
from tum2000.errors import BadInput

FORMATS: dict[str, str] = {"nwb": ".nwb", "nix": ".nix"}
"""Export format -> the file suffix it requires."""

SIMULATION_EPOCH = _dt.datetime(2000, 1, 1, tzinfo=_dt.timezone.utc)
"""NWB's ``session_start_time`` of every export: a simulation has no date, so
time zero of the recording is this conventional instant (the paper's year).
Spike and signal times are relative to it."""

IDENTIFIER_NAMESPACE = uuid.UUID("5e0b6b8e-2000-4d3a-9c1e-7473756d6b00")
"""Namespace of :func:`run_identifier`'s UUIDs (fixed: changing it changes
every export's identifier)."""


def allowed_formats() -> str:
    return ", ".join(f"{name} ({suffix})" for name, suffix in FORMATS.items())


def check_export_request(path: str | os.PathLike, fmt: str) -> Path:
    """Validate an export request before any work; return the output path.

    Raises :class:`~tum2000.errors.BadInput` with one line naming what is
    wrong and what is allowed: an unknown format, a path whose suffix does
    not match the format, a folder, or a place that cannot be written.
    """
    if fmt not in FORMATS:
        raise BadInput(f"unknown export format {fmt!r} (allowed: {allowed_formats()})")
    path = Path(path)
    suffix = FORMATS[fmt]
    if path.suffix.lower() != suffix:
        raise BadInput(f"{path}: a {fmt} export must be a {suffix} file "
                       f"(allowed: {allowed_formats()})")
    if path.is_dir():
        raise BadInput(f"{path} is a folder; give a {suffix} file to write")
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise BadInput(f"{path}: {existing} is not a folder; give a {suffix} file "
                       "in a writable folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise BadInput(f"{path}: folder {existing} is not writable; give a {suffix} "
                       "file in a writable folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise BadInput(f"{path} exists and is not writable; give a writable {suffix} file")
    return path


def run_identifier(ds: xr.Dataset) -> str:
    """A UUID determined by the run: its parameters, seed and code version."""
    key = json.dumps({"parameters": json.loads(ds.attrs["parameters"]),
                      "seed": int(ds.attrs["seed"]),
                      "code_version": str(ds.attrs["code_version"])}, sort_keys=True)
    return str(uuid.uuid5(IDENTIFIER_NAMESPACE, key))


def _plain(value: Any) -> Any:
    """A JSON-writable Python value (numpy scalars and arrays turned plain)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def run_metadata(ds: xr.Dataset) -> dict[str, Any]:
    """The run's attributes (parameters decoded) and per-pathway synapse summaries."""
    meta: dict[str, Any] = {name: _plain(value) for name, value in ds.attrs.items()}
    meta["parameters"] = json.loads(ds.attrs["parameters"])
    pathways = [str(p) for p in ds["pathway"].values]
    summaries = {}
    for name, var in ds.data_vars.items():
        if var.dims == ("pathway",):
            summaries[name] = {p: _plain(v) for p, v in zip(pathways, var.values)}
            if "units" in var.attrs:
                summaries[name]["units"] = str(var.attrs["units"])
    meta["pathway_summaries"] = summaries
    return meta


def spike_trains_ms(ds: xr.Dataset) -> list[np.ndarray]:
    """Recorded spike times (ms from the start of the recording), one array per neuron."""
    times = np.asarray(ds["spike_time"].values, dtype=float)
    neurons = np.asarray(ds["spike_neuron"].values)
    order = np.argsort(neurons, kind="stable")  # times stay sorted within a neuron
    bounds = np.searchsorted(neurons[order], np.arange(ds.sizes["neuron"] + 1))
    return [times[order[bounds[i]:bounds[i + 1]]] for i in range(ds.sizes["neuron"])]


def _recording_rate_hz(ds: xr.Dataset) -> float | None:
    """The sampling rate of ``time`` if it is uniform (None if it is not)."""
    t = np.asarray(ds["time"].values, dtype=float)
    if t.size < 2:
        return None
    steps = np.diff(t)
    # Times are multiples of record_dt_ms written as float64: 1e-9 ms covers rounding.
    if np.allclose(steps, steps[0], rtol=0, atol=1e-9):
        return 1000.0 / float(steps[0])
    return None


def _write_nwb(ds: xr.Dataset, tmp: Path) -> None:
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.misc import Units

    meta = run_metadata(ds)
    nwb = NWBFile(
        session_description=(
            f"Simulated network of Tsodyks, Uziel & Markram (2000), Fig. 1: "
            f"{ds.sizes['neuron']} integrate-and-fire neurons with dynamic synapses, "
            f"seed {int(ds.attrs['seed'])}, {_dataset.duration_ms(ds):g} ms recorded"),
        identifier=run_identifier(ds),
        session_start_time=SIMULATION_EPOCH,
        timestamps_reference_time=SIMULATION_EPOCH,
        experiment_description=("Reproduction of Fig. 1 of Tsodyks, Uziel & Markram (2000), "
                                "J. Neurosci. 20:RC50 (tum2000)"),
        notes=json.dumps(meta, sort_keys=True),
        source_script=f"tum2000 {ds.attrs['code_version']}",
        source_script_file_name="tum2000",
        session_id=f"seed-{int(ds.attrs['seed'])}",
        keywords=["short-term synaptic plasticity", "population spikes",
                  "network simulation", "integrate-and-fire"],
    )
    # Spike times lie on the integration grid: their resolution is one time step.
    dt_s = float(json.loads(ds.attrs["parameters"])["dt_ms"]) / 1000.0
    nwb.units = Units(name="units", resolution=dt_s,
                      description="simulated neurons; spike times in s from the start "
                                  "of the recording")
    nwb.add_unit_column("population", "neuron population: exc (excitatory) or inh (inhibitory)")
    nwb.add_unit_column("I_b", "background input of the neuron, mV")
    populations = np.asarray(ds["population"].values).astype(str)
    background = np.asarray(ds["I_b"].values, dtype=float)
    for index, train in enumerate(spike_trains_ms(ds)):
        nwb.add_unit(id=index, spike_times=train / 1000.0, population=populations[index],
                     I_b=float(background[index]))
    module = nwb.create_processing_module(
        "synapses", "Mean state of each pathway's synapses (EE: excitatory to excitatory, "
                    "EI: excitatory to inhibitory, IE, II), recorded during the simulation")
    rate = _recording_rate_hz(ds)
    time_s = np.asarray(ds["time"].values, dtype=float) / 1000.0
    descriptions = {"recovered": "mean recovered fraction x (available resources)",
                    "utilization": "mean utilization u (release probability)"}
    for variable, description in descriptions.items():
        for pathway in ds["pathway"].values:
            data = np.asarray(ds[variable].sel(pathway=pathway).values, dtype=float)
            timing = (dict(starting_time=float(time_s[0]), rate=rate) if rate is not None
                      else dict(timestamps=time_s))
            module.add(TimeSeries(name=f"{variable}_{pathway}", data=data, unit="n.a.",
                                  description=f"{description} of the {pathway} synapses, "
                                              "dimensionless", **timing))
    with NWBHDF5IO(str(tmp), "w") as io:
        io.write(nwb)


def _annotation_value(value: Any) -> Any:
    """A parameter value Neo can annotate with (None: leave it out)."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return None


def _write_nix(ds: xr.Dataset, tmp: Path) -> None:
    import neo
    import quantities as pq
    from neo.io import NixIO

    parameters = json.loads(ds.attrs["parameters"])
    annotations: dict[str, Any] = {name: _annotation_value(v) for name, v in parameters.items()}
    annotations = {k: v for k, v in annotations.items() if v is not None}
    annotations.update(parameters=ds.attrs["parameters"], seed=int(ds.attrs["seed"]),
                       code_version=str(ds.attrs["code_version"]),
                       provenance=json.dumps(run_metadata(ds), sort_keys=True))
    block = neo.Block(name="tum2000 run", description=(
        "Simulated network of Tsodyks, Uziel & Markram (2000), Fig. 1"), **annotations)
    duration = _dataset.duration_ms(ds)
    segment = neo.Segment(name="recording", description="spike times from the start of "
                                                        "the recording (burn-in excluded)")
    block.segments.append(segment)
    populations = np.asarray(ds["population"].values).astype(str)
    background = np.asarray(ds["I_b"].values, dtype=float)
    for index, train in enumerate(spike_trains_ms(ds)):
        segment.spiketrains.append(neo.SpikeTrain(
            train * pq.ms, t_start=0.0 * pq.ms, t_stop=duration * pq.ms,
            name=f"neuron {index}", neuron_index=index, population=str(populations[index]),
            I_b=float(background[index]), I_b_units="mV"))
    pathways = [str(p) for p in ds["pathway"].values]
    time_ms = np.asarray(ds["time"].values, dtype=float)
    rate = _recording_rate_hz(ds)
    for variable in ("recovered", "utilization"):
        data = np.asarray(ds[variable].transpose("time", "pathway").values, dtype=float)
        common = dict(units=pq.dimensionless, name=variable,
                      array_annotations={"pathway": np.array(pathways)})
        if rate is not None:
            signal = neo.AnalogSignal(data, sampling_rate=rate * pq.Hz,
                                      t_start=time_ms[0] * pq.ms, **common)
        else:
            signal = neo.IrregularlySampledSignal(time_ms * pq.ms, data, **common)
        if rate is not None:
            segment.analogsignals.append(signal)
        else:
            segment.irregularlysampledsignals.append(signal)
    io = NixIO(str(tmp), mode="ow")
    try:
        io.write_block(block)
    finally:
        io.close()


WRITERS = {"nwb": _write_nwb, "nix": _write_nix}


def export_run(ds: xr.Dataset | str | os.PathLike, path: str | os.PathLike,
               fmt: str) -> Path:
    """Write one run to ``path`` in format ``fmt`` ("nwb" or "nix"); return the path.

    ``ds`` is a dataset or the path of a tum2000 dataset file. The request and
    the dataset are validated first (:class:`~tum2000.errors.BadInput`, nothing
    written); the file then appears whole or not at all.
    """
    target = check_export_request(path, fmt)
    if isinstance(ds, xr.Dataset):
        run = _dataset.validate(ds, "dataset to export")
    else:
        run = _dataset.load(ds)
    with atomic_path(target) as tmp:
        WRITERS[fmt](run, tmp)
    return target
