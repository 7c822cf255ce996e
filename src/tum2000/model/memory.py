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
"""

from __future__ import annotations

import os
from pathlib import Path

from tum2000.errors import BadInput
from tum2000.model.network import expected_synapses
from tum2000.model.parameters import Parameters

BASE_BYTES = 200 * 2**20
"""Interpreter, NumPy, Brian2, xarray (measured: ~180-210 MiB)."""
BYTES_PER_SYNAPSE = 400
"""Drawn parameters, Brian2's synaptic state and indices, the replay's arrays."""
BYTES_PER_SPIKE = 48
"""Spike monitor (time step, neuron), dataset arrays, the replay's copies."""
MEAN_RATE_HZ = 15.0
"""Mean firing rate assumed for the spike budget (the network: ~8 and ~26 Hz)."""


def estimated_memory_bytes(params: Parameters) -> float:
    """Estimated peak memory of one simulation (bytes)."""
    span_s = (params["burn_in_ms"] + params["duration_ms"]) / 1000.0
    spikes = params.N * MEAN_RATE_HZ * span_s
    return BASE_BYTES + BYTES_PER_SYNAPSE * expected_synapses(params) + BYTES_PER_SPIKE * spikes


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


def _size(n_bytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.3g} PiB"


def check_memory(params: Parameters, available: int | None = None) -> float:
    """Refuse a network that cannot fit in memory; return the estimate (bytes)."""
    need = estimated_memory_bytes(params)
    have = machine_memory_bytes() if available is None else available
    if need > have:
        fits = max(0.0, (have - BASE_BYTES) / BYTES_PER_SYNAPSE)
        raise BadInput(
            f"N_exc={params['N_exc']}, N_inh={params['N_inh']}, "
            f"p_connect={params['p_connect']:g} mean about {expected_synapses(params):.3g} "
            f"synapses, needing about {_size(need)} of memory; this machine has "
            f"{_size(have)} (allowed: up to about {fits:.2g} synapses here)")
    return need
