"""Mean synaptic resources over time, reconstructed exactly from spike times.

Between two presynaptic spikes a Tsodyks-Markram synapse evolves in closed
form, so x(t), y(t) and u(t) of every synapse at any time follow from the
spike times and the drawn parameters. Recording them during the run (as the
reference script does with a StateMonitor on all ~16,000 EE synapses, 546 MB)
is unnecessary: this module replays the spikes after the run, keeping only
the pathway means on the recording grid.

The replay (:func:`reconstruct`) advances each synapse from one grid point
to the next by the exact linear propagator of one recording interval; in an
interval where its presynaptic neuron fires it advances instead by the
propagator of one time step ``dt``, step by step, and applies the release at
the spike's step. The propagators are exact (the product of k one-step
propagators is the k-step one), so only rounding separates this from the
closed form. A sample at time t is taken before any spike at exactly t, like
a Brian2 StateMonitor in the "start" slot.

The work is (synapses x grid points) multiply-adds, with every exponential
computed once per synapse. A compiled kernel (:mod:`tum2000.model.engine.replay`)
does it when a C compiler is present; otherwise NumPy does the same
operations in the same order, so both give the same bits. Each pathway mean
is a sum over its synapses in index order divided by their number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tum2000.model.network import Network
from tum2000.model.parameters import PATHWAYS, Parameters

BLOCK = 1 << 20
"""Synapses per call of the compiled kernel (bounds the memory of the factors)."""

TINY = 1e-200
"""Values of w and y that decay below this are set to 0. A silent synapse's
y decays by e^-1/3 per ms and would otherwise enter the subnormal range
(below 2.2e-308) within ~2 s, where arithmetic is ~100 times slower; the
values dropped are 190 orders of magnitude below anything in a dataset."""


def _flush(*arrays: np.ndarray) -> None:
    for a in arrays:
        np.copyto(a, 0.0, where=a < TINY)


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


def propagator_factors(tau_rec: np.ndarray, tau_I: np.ndarray, tau_facil: np.ndarray,
                       facil: np.ndarray, record_dt_ms: float, dt_ms: float, steps: int
                       ) -> dict[str, np.ndarray]:
    """Per-synapse factors of the exact propagator, w <- w r + y wy, y <- y I,
    u <- u fu: over one recording interval (``Gr``, ``Gwy``, ``GI``, ``Gu``) and
    over 2^b time steps, b = 0 .. ``steps.bit_length()`` - 1 (``E``: array
    (levels, 4, n) of r, wy, I, fu), so that any k <= ``steps`` time steps take
    one propagator per binary digit of k."""
    coupling = tau_I / (tau_rec - tau_I)

    def factors(h: float) -> tuple[np.ndarray, ...]:
        rec, dec = np.exp(-h / tau_rec), np.exp(-h / tau_I)
        return rec, coupling * (rec - dec), dec, np.where(facil, np.exp(-h / tau_facil), 1.0)

    out = dict(zip(("Gr", "Gwy", "GI", "Gu"), factors(record_dt_ms)))
    levels = max(1, int(steps).bit_length())
    out["E"] = np.stack([np.stack(factors(dt_ms * 2 ** b)) for b in range(levels)])
    return out


def spikes_by_neuron(n_neurons: int, spike_step: np.ndarray, spike_neuron: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, steps): each neuron's spike steps, in time order (CSR)."""
    order = np.argsort(spike_neuron, kind="stable")  # keeps time order within a neuron
    indptr = np.zeros(n_neurons + 1, dtype=np.int64)
    np.cumsum(np.bincount(spike_neuron, minlength=n_neurons), out=indptr[1:])
    return indptr, np.ascontiguousarray(spike_step[order], dtype=np.int64)


@dataclass(frozen=True)
class _Grid:
    """The recording grid in time steps: samples at intervals first .. n_intervals."""

    R: int              # time steps per recording interval
    n_intervals: int    # intervals from the start of the simulation to its end
    first: int          # interval at whose start the recording begins
    n_samples: int

    @classmethod
    def of(cls, params: Parameters) -> "_Grid":
        R = params.steps("record_dt_ms")
        end_step = params.steps("burn_in_ms") + params.steps("duration_ms")
        # burn_in_ms and duration_ms are whole multiples of record_dt_ms.
        return cls(R, end_step // R, params.steps("burn_in_ms") // R,
                   params.steps("duration_ms") // R + 1)


def reconstruct(params: Parameters, net: Network, spike_step: np.ndarray,
                spike_neuron: np.ndarray, native: bool | None = None) -> Resources:
    """Replay the spikes through every synapse; return pathway means on the grid.

    ``spike_step`` (time steps of ``dt_ms`` from the start of the simulation)
    must be sorted. The grid runs from the start of the recording
    (``burn_in_ms``) to its end, every ``record_dt_ms``. ``native``: use the
    compiled kernel (True), NumPy (False), or the kernel when available (None).
    """
    from tum2000.model.engine import replay as replay_native

    grid = _Grid.of(params)
    spike_step = np.asarray(spike_step, dtype=np.int64)
    spike_neuron = np.asarray(spike_neuron, dtype=np.int64)
    lib = replay_native.load() if native is not False else None
    if native and lib is None:
        raise RuntimeError("the compiled replay kernel is not available (no C compiler)")
    n = net.n_synapses
    facil = net.facilitating
    tau_facil = np.where(facil, net.tau_facil_ms, 1.0)
    w, y = np.zeros(n), np.zeros(n)
    # Depressing synapses have u = U always; facilitating ones start at 0.
    u = np.where(facil, 0.0, net.U)
    sums_w = np.zeros((len(PATHWAYS), grid.n_samples))
    sums_u = np.zeros((len(PATHWAYS), grid.n_samples))
    bounds = np.asarray(net.pathway_start)
    if lib is not None:
        indptr, steps = spikes_by_neuron(net.N, spike_step, spike_neuron)
        pre = np.ascontiguousarray(net.pre, dtype=np.int32)
        U = np.ascontiguousarray(net.U, dtype=np.float64)
        facil8 = facil.astype(np.uint8)
        for p in range(len(PATHWAYS)):
            for lo in range(int(bounds[p]), int(bounds[p + 1]), BLOCK):
                part = slice(lo, min(lo + BLOCK, int(bounds[p + 1])))
                factors = propagator_factors(net.tau_rec_ms[part], net.tau_I_ms[part],
                                             tau_facil[part], facil[part],
                                             params["record_dt_ms"], params["dt_ms"], grid.R)
                block = [np.ascontiguousarray(a[part]) for a in (w, y, u)]
                replay_native.replay(lib, pre[part], factors, U[part], facil8[part], *block,
                                     indptr, steps, grid.R, grid.n_intervals, grid.first,
                                     sums_w[p], sums_u[p])
                w[part], y[part], u[part] = block
    else:
        factors = propagator_factors(net.tau_rec_ms, net.tau_I_ms, tau_facil, facil,
                                     params["record_dt_ms"], params["dt_ms"], grid.R)
        _replay_numpy(net, factors, facil, w, y, u, spike_step, spike_neuron, grid,
                      bounds, sums_w, sums_u)
    sizes = np.diff(bounds).astype(float)
    nonempty = sizes > 0
    recovered = np.full((len(PATHWAYS), grid.n_samples), np.nan)
    utilization = np.full((len(PATHWAYS), grid.n_samples), np.nan)
    recovered[nonempty] = 1.0 - sums_w[nonempty] / sizes[nonempty, None]
    utilization[nonempty] = sums_u[nonempty] / sizes[nonempty, None]
    time_ms = (grid.first + np.arange(grid.n_samples)) * grid.R * params["dt_ms"]
    return Resources(time_ms=time_ms, recovered=recovered, utilization=utilization,
                     end_x=1.0 - w, end_y=y, end_u=u)


def _replay_numpy(net: Network, f: dict[str, np.ndarray], facil: np.ndarray, w: np.ndarray,
                  y: np.ndarray, u: np.ndarray, spike_step: np.ndarray,
                  spike_neuron: np.ndarray, grid: _Grid, bounds: np.ndarray,
                  sums_w: np.ndarray, sums_u: np.ndarray) -> None:
    """The replay with NumPy, all synapses at once per interval; the same
    operations in the same order as the compiled kernel (states updated in place)."""
    order = np.argsort(net.pre, kind="stable")
    out_ptr = np.zeros(net.N + 1, dtype=np.int64)
    np.cumsum(np.bincount(net.pre, minlength=net.N), out=out_ptr[1:])
    U = net.U
    ranges = [(int(bounds[p]), int(bounds[p + 1])) for p in range(len(PATHWAYS))]
    varying_u = [bool(facil[a:b].any()) for a, b in ranges]
    scratch = np.empty(max((b - a for a, b in ranges), default=0))
    cuts = np.searchsorted(spike_step // grid.R, np.arange(grid.n_intervals + 1))

    def total(values: np.ndarray, a: int, b: int) -> float:
        """Sum in index order, one addition after the other (as the kernel adds)."""
        return float(np.add.accumulate(values[a:b], out=scratch[:b - a])[-1])

    def record(k: int) -> None:
        for p, (a, b) in enumerate(ranges):
            if b > a:
                sums_w[p, k] = total(w, a, b)
                if varying_u[p]:
                    sums_u[p, k] = total(u, a, b)

    def grid_step() -> None:
        new_w = w * f["Gr"] + y * f["Gwy"]
        y[:] = y * f["GI"]
        u[:] = u * f["Gu"]
        w[:] = new_w
        _flush(w, y)

    for j in range(grid.n_intervals):
        if 0 <= j - grid.first < grid.n_samples:
            record(j - grid.first)
        lo, hi = cuts[j], cuts[j + 1]
        if hi == lo:
            grid_step()
            continue
        # Synapses of the neurons that fire in this interval step through it by dt;
        # idx lists each neuron's synapses together, neuron after neuron.
        neurons = np.unique(spike_neuron[lo:hi])
        counts = out_ptr[neurons + 1] - out_ptr[neurons]
        starts = np.cumsum(counts) - counts
        idx = order[np.repeat(out_ptr[neurons] - starts, counts) + np.arange(counts.sum())]
        tw, ty, tu = w[idx], y[idx], u[idx]
        E = f["E"][:, :, idx]
        t_facil, t_U = facil[idx], U[idx]
        grid_step()  # the others
        which = np.searchsorted(neurons, spike_neuron[lo:hi])

        def advance(sel, k) -> None:
            """Advance touched synapses ``sel`` by ``k`` time steps (an int, or an
            array per synapse) with one propagator per binary digit, highest
            first, as the kernel does for each neuron's synapses."""
            for b in range(E.shape[0] - 1, -1, -1):
                part = sel if np.isscalar(k) else sel[(k >> b) & 1 == 1]
                if (np.isscalar(k) and not (k >> b) & 1) or np.size(part) == 0:
                    continue
                r, wy, dec, fu = (E[b, q, part] for q in range(4))
                new_w = tw[part] * r + ty[part] * wy
                ny = ty[part] * dec
                tu[part] = tu[part] * fu
                tw[part] = np.where(new_w < TINY, 0.0, new_w)
                ty[part] = np.where(ny < TINY, 0.0, ny)

        pos = np.zeros(neurons.size, dtype=np.int64)  # step reached by each neuron's synapses
        for s in range(hi - lo):  # spikes in time order
            i = which[s]
            offset = int(spike_step[lo + s]) - j * grid.R
            m = np.arange(starts[i], starts[i] + counts[i])
            advance(m, offset - int(pos[i]))
            pos[i] = offset
            tu[m] = np.where(t_facil[m], tu[m] + t_U[m] * (1.0 - tu[m]), tu[m])
            released = tu[m] * (1.0 - tw[m])
            tw[m] = tw[m] + released
            ty[m] = ty[m] + released
        advance(np.arange(idx.size), np.repeat(grid.R - pos, counts))
        w[idx], y[idx], u[idx] = tw, ty, tu
    if 0 <= grid.n_intervals - grid.first < grid.n_samples:
        record(grid.n_intervals - grid.first)
    for p, (a, b) in enumerate(ranges):
        if b > a and not varying_u[p]:  # u = U throughout
            sums_u[p] = total(u, a, b)


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
