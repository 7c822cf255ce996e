"""Resource limits checked before a simulation starts.

:func:`check_memory` refuses (with :class:`tum2000.errors.BadInput`, exit
status 2) a network whose estimated memory exceeds the machine's, before
anything is allocated: without it, ``N_exc=1000000`` passes validation and
fails minutes later with "Unable to allocate 745 GiB".

The estimate is linear in the expected number of synapses and spikes. Its
coefficients were measured with the numpy target (peak resident memory of a
whole ``tum2000.simulate`` process, 200 ms burn-in + recording): 208 MiB at
25,000 synapses, 414 MiB at 626,000 and 689 MiB at 1.41 million, i.e. about
200 MiB of libraries plus 380 bytes per synapse; we budget 400.

The recording counts too (the dataset contract, :mod:`tum2000.store.dataset`):
``recovered`` and ``utilization`` hold one float64 per pathway and sample,
``duration_ms / record_dt_ms + 1`` samples, and the replay
(:func:`tum2000.model.resources.reconstruct`) holds their sums, the results
and the time axis at once; writing the netCDF file copies them once more.
Spikes are budgeted at each population's expected rate over burn-in and
recording. ``dt_ms=0.001, record_dt_ms=0.001, duration_ms=1e7`` used to pass
with an estimate of 3.6 GiB; its recording alone is 10**10 samples.

:func:`estimated_seconds` is the matching rough estimate of the time one run
takes (used to state what a sweep would cost before it starts).
"""

from __future__ import annotations

import os
from pathlib import Path

from tum2000.errors import BadInput
from tum2000.model.network import expected_synapses
from tum2000.model.parameters import PATHWAYS, Parameters

BASE_BYTES = 200 * 2**20
"""Interpreter, NumPy, Brian2, xarray (measured: ~180-210 MiB)."""
BYTES_PER_SYNAPSE = 400
"""Drawn parameters, Brian2's synaptic state and indices, the replay's arrays."""
BYTES_PER_SPIKE = 48
"""Spike monitor (time step, neuron), dataset arrays, the replay's copies."""
RATE_EXC_HZ = 10.0
RATE_INH_HZ = 30.0
"""Firing rates budgeted for spikes (the network: ~8 Hz excitatory, ~26 Hz inhibitory)."""
BYTES_PER_SAMPLE = 64 * len(PATHWAYS) + 32
"""One recording sample: x and u of every pathway (float64) in the replay's sums,
its results and the netCDF write (four copies of 16 bytes per pathway, 4 x 16 =
64), plus the time axis and its copies (32)."""
SECONDS_PER_NEURON_STEP = 2e-7
"""Compiled engine, default network: 5.1 s for 500 neurons x 51,000 steps
(README, "How long things take", one third of a core)."""
SECONDS_PER_RUN = 2.0
"""Replay, statistics and writing of one run, besides the integration."""


def recorded_samples(params: Parameters) -> int:
    """Samples of the recorded mean x and u (per pathway and variable)."""
    return int(round(params["duration_ms"] / params["record_dt_ms"])) + 1  # whole multiples


def expected_spikes(params: Parameters) -> float:
    """Spikes expected over burn-in and recording at the budgeted rates."""
    span_s = (params["burn_in_ms"] + params["duration_ms"]) / 1000.0
    return (params["N_exc"] * RATE_EXC_HZ + params["N_inh"] * RATE_INH_HZ) * span_s


def memory_parts(params: Parameters) -> dict[str, float]:
    """Estimated peak memory of one simulation by cause (bytes): libraries,
    synapses, spikes and the recording."""
    return {"libraries": float(BASE_BYTES),
            "synapses": BYTES_PER_SYNAPSE * expected_synapses(params),
            "spikes": BYTES_PER_SPIKE * expected_spikes(params),
            "recording": float(BYTES_PER_SAMPLE * recorded_samples(params))}


def estimated_memory_bytes(params: Parameters) -> float:
    """Estimated peak memory of one simulation (bytes)."""
    return sum(memory_parts(params).values())


def estimated_seconds(params: Parameters) -> float:
    """Rough time of one simulation with the compiled engine (s; within a factor
    of a few: it assumes the default network's rates and a shared core)."""
    steps = (params["burn_in_ms"] + params["duration_ms"]) / params["dt_ms"]
    return SECONDS_PER_RUN + SECONDS_PER_NEURON_STEP * params.N * steps


def machine_memory_bytes() -> int:
    """Physical memory, or the container's (cgroup) limit when it is lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max",
                       "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return int(total)


def size_text(n_bytes: float) -> str:
    """Bytes as a reader writes them: ``3.6 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.3g} PiB"


def check_memory(params: Parameters, available: int | None = None) -> float:
    """Refuse a network that cannot fit in memory; return the estimate (bytes)."""
    parts = memory_parts(params)
    need = sum(parts.values())
    have = machine_memory_bytes() if available is None else available
    if need > have:
        if parts["recording"] >= max(parts["synapses"], parts["spikes"]):
            fits = max(0.0, (have - need + parts["recording"]) / BYTES_PER_SAMPLE)
            raise BadInput(
                f"duration_ms={params['duration_ms']:g} at record_dt_ms="
                f"{params['record_dt_ms']:g} means {recorded_samples(params):.3g} samples of "
                f"x and u per pathway, needing about {size_text(need)} of memory; this "
                f"machine has {size_text(have)} (allowed: up to about {fits:.2g} samples, "
                f"duration_ms / record_dt_ms, here)")
        if parts["spikes"] > parts["synapses"]:
            raise BadInput(
                f"N={params.N} neurons over burn_in_ms + duration_ms = "
                f"{params['burn_in_ms'] + params['duration_ms']:g} ms fire about "
                f"{expected_spikes(params):.3g} spikes, needing about {size_text(need)} of "
                f"memory; this machine has {size_text(have)} (allowed: a shorter run or "
                f"fewer neurons)")
        fits = max(0.0, (have - need + parts["synapses"]) / BYTES_PER_SYNAPSE)
        raise BadInput(
            f"N_exc={params['N_exc']}, N_inh={params['N_inh']}, "
            f"p_connect={params['p_connect']:g} mean about {expected_synapses(params):.3g} "
            f"synapses, needing about {size_text(need)} of memory; this machine has "
            f"{size_text(have)} (allowed: up to about {fits:.2g} synapses here)")
    return need
