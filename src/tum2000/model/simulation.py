"""``simulate``: parameters and a seed in, a dataset out.

Before any work the parameters, seed, target and the estimated memory
(:func:`tum2000.model.memory.check_memory`) are checked. The run goes to the compiled
engine or one of Brian2's targets (:func:`tum2000.model.engine.run_on_target`;
Brian2 itself is imported with Ctrl-C left as Python's,
:func:`tum2000.interruption.prepare_brian2`), and a run that did not reach the
end of its span (Brian2 stops early, and *normally*, on a stop request) is
refused with :class:`tum2000.errors.IncompleteRun`, so a cut-short simulation
is never returned, saved or cached.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping

import numpy as np
import xarray as xr

from tum2000.store import dataset
from tum2000.errors import BadInput, IncompleteRun
from tum2000.model.engine import run_on_target
from tum2000.model.targets import check_target
from tum2000.model.network import Network, draw_network
from tum2000.model.parameters import PATHWAYS, Parameters, check_seed, preset
from tum2000.model.provenance import code_version, library_versions
from tum2000.model.resources import reconstruct


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
    """Simulate the network and return its dataset (see :mod:`tum2000.store.dataset`).

    Parameters
    ----------
    params
        A :class:`Parameters`, a preset name ("default", "reference_script",
        "quick"), or a dict of changes to the default preset.
    seed
        Seeds every random draw (network, parameters, inputs, initial state).
    target
        "auto" (the compiled engine, :mod:`tum2000.model.engine`, when a C++
        compiler exists, else Brian2's numpy target), "engine", or one of
        Brian2's targets: "numpy" (no compilation), "cython",
        "cpp_standalone". All give the same dataset for the same seed.
    progress
        Print progress lines to stderr during long runs.
    """
    params = as_parameters(params)
    check_request(params, seed, target)
    net = draw_network(params, seed)
    run = run_on_target(params, net, target=target, progress=progress)
    check_complete(params, run.simulated_ms)
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
        simulated_ms=run.simulated_ms,
    )


def check_request(params: Parameters, seed: Any, target: str) -> None:
    """Everything about a simulation that can be refused before it starts:
    the seed, the target and the estimated memory (:class:`BadInput`)."""
    from tum2000.model.memory import check_memory

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise BadInput(f"seed must be an integer >= 0, got {seed!r}")
    check_seed(int(seed))  # the range a dataset can store
    check_target(target)
    check_memory(params)


def check_complete(params: Parameters, simulated_ms: float) -> None:
    """Refuse a run that stopped before burn-in + duration (:class:`IncompleteRun`)."""
    full = dataset.full_span_ms(params)
    if not simulated_ms >= full - 0.5 * params["dt_ms"]:
        raise IncompleteRun(
            f"the simulation stopped at {simulated_ms:g} ms of {full:g} ms "
            "(burn-in + duration): nothing was saved or cached")
