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


def evolve(w: np.ndarray, y: np.ndarray, u: np.ndarray, elapsed: np.ndarray,
           tau_rec: np.ndarray, tau_I: np.ndarray, tau_facil: np.ndarray,
           facilitates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(w = 1 - x, y, u) ``elapsed`` ms later with no spike in between (times in ms).

    dy/dt = -y/tau_I, dw/dt = -(w - y)/tau_rec, du/dt = -u/tau_facil (only
    where ``facilitates``); every exponent is negative.
    """
    rec = np.exp(-elapsed / tau_rec)
    dec = np.exp(-elapsed / tau_I)
    w = w * rec + y * tau_I / (tau_rec - tau_I) * (rec - dec)
    u = np.where(facilitates, u * np.exp(-elapsed / tau_facil), u)
    return w, y * dec, u


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
        return evolve(self.w[idx], self.y[idx], self.u[idx], elapsed, self.tau_rec[idx],
                      self.tau_I[idx], self.tau_facil[idx], self.facil[idx])

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


def single_synapse(spike_times_ms: np.ndarray, U: float, tau_rec_ms: float,
                   tau_I_ms: float = 3.0, tau_facil_ms: float | None = None,
                   duration_ms: float | None = None, sample_dt_ms: float = 0.1):
    """One Tsodyks-Markram synapse driven by given presynaptic spike times.

    Returns an ``xarray.Dataset`` with ``recovered`` x, ``active`` y and
    ``utilization`` u on a time grid (``time``, ms, every ``sample_dt_ms``),
    and ``released`` (the fraction u x released by each spike, on dim
    ``spike``). ``tau_facil_ms=None``: a depressing synapse (u = U).
    The same closed form as the network simulation (:func:`evolve`).
    """
    import xarray as xr

    spikes = np.sort(np.asarray(spike_times_ms, dtype=float))
    end = float(duration_ms if duration_ms is not None else (spikes[-1] + 200.0
                                                                 if spikes.size else 200.0))
    facil = np.array(tau_facil_ms is not None)
    params = (np.array(tau_rec_ms, float), np.array(tau_I_ms, float),
              np.array(tau_facil_ms if tau_facil_ms is not None else 1.0, float), facil)
    w, y, u = np.zeros(1), np.zeros(1), np.array([0.0 if facil else U])
    last = 0.0
    after = np.empty((spikes.size, 3))
    released = np.empty(spikes.size)
    for k, t in enumerate(spikes):
        w, y, u = evolve(w, y, u, np.array(t - last), *params)
        if facil:
            u = u + U * (1.0 - u)
        released[k] = float(u[0] * (1.0 - w[0]))
        w, y = w + released[k], y + released[k]
        after[k] = w[0], y[0], u[0]
        last = t
    time = np.arange(0.0, end + sample_dt_ms / 2, sample_dt_ms)
    k = np.searchsorted(spikes, time, side="left") - 1  # a sample precedes a spike at t
    base = np.where(k[:, None] >= 0, after[np.maximum(k, 0)],
                    np.array([0.0, 0.0, 0.0 if facil else U]))
    since = time - np.where(k >= 0, spikes[np.maximum(k, 0)], 0.0)
    w_t, y_t, u_t = evolve(base[:, 0], base[:, 1], base[:, 2], since, *params)
    return xr.Dataset(
        {"recovered": ("time", 1.0 - w_t, {"units": "1", "long_name": "recovered fraction x"}),
         "active": ("time", y_t, {"units": "1", "long_name": "active fraction y"}),
         "utilization": ("time", u_t, {"units": "1", "long_name": "utilization u"}),
         "released": ("spike", released, {"units": "1",
                                          "long_name": "fraction u x released by the spike"}),
         "spike_time": ("spike", spikes, {"units": "ms"})},
        coords={"time": ("time", time, {"units": "ms"})},
        attrs={"U": U, "tau_rec_ms": tau_rec_ms, "tau_I_ms": tau_I_ms,
               "tau_facil_ms": "null" if tau_facil_ms is None else tau_facil_ms})
