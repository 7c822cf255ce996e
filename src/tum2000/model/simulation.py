"""``simulate``: parameters and a seed in, a dataset out."""

from __future__ import annotations

import sys
from typing import Any, Mapping

import numpy as np
import xarray as xr

from .. import dataset
from .engine import TARGETS, run_on_target
from .network import Network, draw_network
from .parameters import PATHWAYS, Parameters, preset
from ..provenance import code_version, library_versions
from .resources import reconstruct


def as_parameters(params: Parameters | Mapping[str, Any] | str | None) -> Parameters:
    """Accept a :class:`Parameters`, a preset name, a dict of changes, or None (default)."""
    if params is None:
        return preset("default")
    if isinstance(params, Parameters):
        return params
    if isinstance(params, str):
        return preset(params)
    return Parameters(params)


def pathway_summary(net: Network) -> dict[str, np.ndarray]:
    """Per-pathway count and means of the drawn synaptic parameters."""
    columns: dict[str, list[float]] = {k: [] for k in
                                       ("synapse_count", "A_mean", "U_mean", "tau_rec_mean",
                                        "tau_facil_mean")}
    for pathway in PATHWAYS:
        part = net.pathway_slice(pathway)
        n = part.stop - part.start
        columns["synapse_count"].append(n)
        for name, values in (("A_mean", net.A_mV), ("U_mean", net.U),
                             ("tau_rec_mean", net.tau_rec_ms),
                             ("tau_facil_mean", net.tau_facil_ms)):
            columns[name].append(float(np.mean(values[part])) if n else np.nan)
    return {k: np.asarray(v, dtype=np.int64 if k == "synapse_count" else np.float64)
            for k, v in columns.items()}


def simulate(params: Parameters | Mapping[str, Any] | str | None = None, seed: int = 1, *,
             target: str = "auto", progress: bool = False) -> xr.Dataset:
    """Simulate the network and return its dataset (see :mod:`tum2000.dataset`).

    Parameters
    ----------
    params
        A :class:`Parameters`, a preset name ("default", "reference_script",
        "quick"), or a dict of changes to the default preset.
    seed
        Seeds every random draw (network, parameters, inputs, initial state).
    target
        "auto" (default): the compiled engine (:mod:`tum2000.model.engine`),
        built on first use, or Brian2's numpy target without a C++ compiler;
        "engine"; or a Brian2 code-generation target: "numpy" (no
        compilation), "cython", "cpp_standalone". All give the same dataset.
    progress
        Print progress lines to stderr during long runs.
    """
    params = as_parameters(params)
    if target not in TARGETS:
        raise ValueError(f"unknown Brian2 target {target!r} (allowed: {', '.join(TARGETS)})")
    net = draw_network(params, seed)
    run = run_on_target(params, net, target=target, progress=progress)
    if progress:
        print(f"  replaying {run.spike_step.size:,} spikes through {net.n_synapses:,} "
              "synapses for the mean x and u", file=sys.stderr, flush=True)
    res = reconstruct(params, net, run.spike_step, run.spike_neuron)
    first = params.steps("burn_in_ms")
    recorded = run.spike_step >= first
    dt = params["dt_ms"]
    return dataset.build(
        params, seed, code_version(), library_versions(),
        I_b_mV=net.I_b_mV,
        spike_time_ms=(run.spike_step[recorded] - first) * dt,
        spike_neuron=run.spike_neuron[recorded],
        time_ms=res.time_ms - params["burn_in_ms"],
        recovered=res.recovered, utilization=res.utilization,
        pathway_summary=pathway_summary(net),
        burn_in_spike_time_ms=(run.spike_step[~recorded] - first) * dt,
        burn_in_spike_neuron=run.spike_neuron[~recorded],
    )
