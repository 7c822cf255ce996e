"""Mean synaptic resources over time, reconstructed exactly from spike times.

Between two presynaptic spikes a Tsodyks-Markram synapse evolves in closed
form, so x(t), y(t) and u(t) of every synapse at any time follow from the
spike times and the drawn parameters. Recording them during the run (as the
reference script does with a StateMonitor on all ~16,000 EE synapses, 546 MB)
is unnecessary: this module replays the spikes after the run, keeping only
the pathway means on the recording grid.

The replay advances all synapses from one grid point to the next with
precomputed per-synapse factors, and treats the synapses hit by a spike in
that interval exactly (to the spike, the release, then to the grid point).
A sample at time t is taken before any spike at exactly t, like a Brian2
StateMonitor in the "start" slot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import Network
from .parameters import PATHWAYS, Parameters


@dataclass(frozen=True)
class Resources:
    """Pathway means on the recording grid and every synapse's state at the end."""

    time_ms: np.ndarray       # (T,) sample times from the start of the simulation
    recovered: np.ndarray     # (P, T) mean x per pathway
    utilization: np.ndarray   # (P, T) mean u per pathway (constant U: depressing)
    end_x: np.ndarray         # (S,) x of each synapse at the end of the simulation
    end_y: np.ndarray
    end_u: np.ndarray


class _State:
    """Per-synapse (w = 1 - x, y, u). Between spikes all refer to the same grid
    time; a synapse hit by a spike in the current interval refers to the
    spike's time, ``offset`` ms into the interval."""

    def __init__(self, net: Network, record_dt_ms: float):
        self.tau_rec = net.tau_rec_ms
        self.tau_I = net.tau_I_ms
        self.facil = net.facilitating
        self.tau_facil = np.where(self.facil, net.tau_facil_ms, 1.0)
        self.U = net.U
        self.coupling = self.tau_I / (self.tau_rec - self.tau_I)
        n = net.n_synapses
        self.w = np.zeros(n)
        self.y = np.zeros(n)
        # Depressing synapses have u = U always; facilitating ones start at 0.
        self.u = np.where(self.facil, 0.0, self.U)
        self.offset = np.zeros(n)
        # Factors that advance every synapse by one grid interval.
        self.grid_rec = np.exp(-record_dt_ms / self.tau_rec)
        self.grid_I = np.exp(-record_dt_ms / self.tau_I)
        self.grid_wy = self.coupling * (self.grid_rec - self.grid_I)
        self.grid_u = np.where(self.facil, np.exp(-record_dt_ms / self.tau_facil), 1.0)

    def advance(self, idx: np.ndarray, elapsed: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Closed-form state of synapses ``idx`` ``elapsed`` ms (>= 0) later."""
        rec = np.exp(-elapsed / self.tau_rec[idx])
        dec = np.exp(-elapsed / self.tau_I[idx])
        y = self.y[idx]
        w = self.w[idx] * rec + y * self.coupling[idx] * (rec - dec)
        u = self.u[idx]
        u = np.where(self.facil[idx], u * np.exp(-elapsed / self.tau_facil[idx]), u)
        return w, y * dec, u

    def spike(self, idx: np.ndarray, at_ms: np.ndarray) -> None:
        """Presynaptic spikes ``at_ms`` into the interval on synapses ``idx``."""
        w, y, u = self.advance(idx, at_ms - self.offset[idx])
        u = np.where(self.facil[idx], u + self.U[idx] * (1.0 - u), u)
        released = u * (1.0 - w)
        self.w[idx], self.y[idx], self.u[idx] = w + released, y + released, u
        self.offset[idx] = at_ms

    def finish_interval(self, touched: np.ndarray, record_dt_ms: float) -> None:
        """Advance everything to the next grid point; exactly for ``touched``."""
        if touched.size:
            saved = (self.w[touched], self.y[touched], self.u[touched])
            remaining = record_dt_ms - self.offset[touched]
        self.w *= self.grid_rec
        self.w += self.y * self.grid_wy
        self.y *= self.grid_I
        self.u *= self.grid_u
        if touched.size:
            self.w[touched], self.y[touched], self.u[touched] = saved
            self.w[touched], self.y[touched], self.u[touched] = self.advance(touched, remaining)
            self.offset[touched] = 0.0


def _outgoing(net: Network) -> tuple[np.ndarray, np.ndarray]:
    """CSR index of synapses by presynaptic neuron: (order, indptr)."""
    order = np.argsort(net.pre, kind="stable")
    indptr = np.zeros(net.N + 1, dtype=np.int64)
    np.cumsum(np.bincount(net.pre, minlength=net.N), out=indptr[1:])
    return order, indptr


def _gather(order: np.ndarray, indptr: np.ndarray, neurons: np.ndarray,
            offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Synapse indices of all ``neurons``, and the offset of their spike for each."""
    counts = indptr[neurons + 1] - indptr[neurons]
    total = int(counts.sum())
    starts = np.repeat(indptr[neurons] - np.cumsum(counts) + counts, counts)
    return order[starts + np.arange(total)], np.repeat(offsets, counts)


def _rounds(neurons: np.ndarray) -> list[np.ndarray]:
    """Positions split so that no neuron occurs twice within one round, in order."""
    if np.unique(neurons).size == neurons.size:
        return [np.arange(neurons.size)]
    seen: dict[int, int] = {}
    occurrence = np.empty(neurons.size, dtype=np.int64)
    for pos, n in enumerate(neurons.tolist()):
        occurrence[pos] = seen.get(n, 0)
        seen[n] = occurrence[pos] + 1
    return [np.flatnonzero(occurrence == k) for k in range(int(occurrence.max()) + 1)]


def reconstruct(params: Parameters, net: Network, spike_step: np.ndarray,
                spike_neuron: np.ndarray) -> Resources:
    """Replay the spikes through every synapse; return pathway means on the grid.

    ``spike_step`` (time steps of ``dt_ms`` from the start of the simulation)
    must be sorted. The grid runs from the start of the recording
    (``burn_in_ms``) to its end, every ``record_dt_ms``.
    """
    dt, rec_dt = params["dt_ms"], params["record_dt_ms"]
    per_interval = params.steps("record_dt_ms")
    # The grid starts at 0 (burn_in_ms is a whole multiple of record_dt_ms).
    end_step = params.steps("burn_in_ms") + params.steps("duration_ms")
    n_intervals = end_step // per_interval
    first_step = params.steps("burn_in_ms")
    state = _State(net, rec_dt)
    order, indptr = _outgoing(net)
    bounds = np.asarray(net.pathway_start)
    sizes = np.diff(bounds).astype(float)
    nonempty = sizes > 0
    starts = bounds[:-1][nonempty]
    n_samples = params.steps("duration_ms") // per_interval + 1
    recovered = np.full((len(PATHWAYS), n_samples), np.nan)
    utilization = np.full((len(PATHWAYS), n_samples), np.nan)
    sample_steps = first_step + per_interval * np.arange(n_samples)

    def record(k: int) -> None:
        recovered[nonempty, k] = 1.0 - np.add.reduceat(state.w, starts) / sizes[nonempty]
        utilization[nonempty, k] = np.add.reduceat(state.u, starts) / sizes[nonempty]

    first_interval = first_step // per_interval
    interval = spike_step // per_interval
    cuts = np.searchsorted(interval, np.arange(n_intervals + 1))
    empty = np.empty(0, dtype=np.int64)
    if first_interval == 0:
        record(0)
    for j in range(n_intervals):
        lo, hi = cuts[j], cuts[j + 1]
        touched = empty
        if hi > lo:
            neurons = spike_neuron[lo:hi]
            offset_ms = (spike_step[lo:hi] - j * per_interval) * dt
            rounds = _rounds(neurons)
            # A neuron may spike twice in one interval: replay in rounds.
            parts = []
            for members in rounds:
                idx, at = _gather(order, indptr, neurons[members], offset_ms[members])
                state.spike(idx, at)
                parts.append(idx)
            touched = parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))
        state.finish_interval(touched, rec_dt)
        k = j + 1 - first_interval
        if 0 <= k < n_samples:
            record(k)
    time_ms = sample_steps * dt
    return Resources(time_ms=time_ms, recovered=recovered, utilization=utilization,
                     end_x=1.0 - state.w, end_y=state.y.copy(), end_u=state.u.copy())
