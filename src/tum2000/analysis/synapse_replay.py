"""Every synapse's state at chosen times, replayed exactly from a dataset.

A dataset stores the spikes of the whole simulation (the burn-in ones too)
and the parameters and seed that drew the network. Redrawing the network
(:func:`tum2000.model.network.draw_network`) and replaying the spikes from
the start of the simulation, with every synapse at rest (x = 1, y = 0, u = 0
for facilitating synapses, u = U for depressing ones) as the simulation
starts, gives each synapse's x, y and u at any time: exactly what the
simulation had, from the closed-form evolution between spikes
(:func:`tum2000.model.resources.evolve`).

The replay is vectorised by presynaptic neuron: all synapses of a pathway
take their presynaptic neuron's k-th spike in the same step k. A state
sampled at time t precedes a spike at exactly t (the convention of the
recorded means).

A dataset written by another version of the simulation code may come from a
different network for the same seed, so it is refused: the functions return
None with a warning.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from tum2000.store.dataset import parameters_of
from tum2000.model.network import draw_network
from tum2000.model.parameters import PATHWAYS
from tum2000.model.resources import evolve
from tum2000.model.provenance import code_version


def replayable(ds: xr.Dataset) -> bool:
    """True when ``ds`` was simulated by the installed model code (else a warning)."""
    have, want = str(ds.attrs.get("code_version", "")), code_version()
    if have != want:
        warnings.warn(f"per-synapse replay refused: the dataset's code_version {have!r} "
                      f"differs from the installed {want!r} (its network may differ); "
                      "per-synapse results are null", RuntimeWarning, stacklevel=3)
        return False
    return True


def all_spikes(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(time in ms from the start of the recording, neuron) of every simulated
    spike, burn-in first (negative times), sorted by time."""
    t = np.concatenate([np.asarray(ds["burn_in_spike_time"].values, dtype=np.float64),
                        np.asarray(ds["spike_time"].values, dtype=np.float64)])
    n = np.concatenate([np.asarray(ds["burn_in_spike_neuron"].values, dtype=np.int64),
                        np.asarray(ds["spike_neuron"].values, dtype=np.int64)])
    return t, n


def synapse_states(ds: xr.Dataset, pathway: str, times_ms) -> xr.Dataset | None:
    """x, y and u of every synapse of ``pathway`` at each of ``times_ms``.

    Parameters
    ----------
    ds
        A tum2000 dataset (format 2: with the burn-in spikes).
    pathway
        "EE", "EI", "IE" or "II".
    times_ms
        Times (ms from the start of the recording, at or after
        ``-burn_in_ms``); any order.

    Returns
    -------
    xarray.Dataset with dims ``query`` (coordinate ``query_time``, ms) and
    ``synapse``: ``x``, ``y``, ``u`` (query, synapse), and per synapse ``pre``,
    ``post`` (neuron indices), ``U``, ``tau_rec`` (ms), ``tau_facil`` (ms, NaN:
    depressing), ``tau_I`` (ms), ``A`` (mV). None (with a warning) when the
    dataset's code version differs from the installed one.
    """
    if pathway not in PATHWAYS:
        raise ValueError(f"unknown pathway {pathway!r} (allowed: {', '.join(PATHWAYS)})")
    if not replayable(ds):
        return None
    params = parameters_of(ds)
    net = draw_network(params, int(ds.attrs["seed"]))
    part = net.pathway_slice(pathway)
    pre, post = net.pre[part].astype(np.int64), net.post[part]
    U, tau_rec = net.U[part], net.tau_rec_ms[part]
    tau_I, tau_f = net.tau_I_ms[part], net.tau_facil_ms[part]
    queries = np.atleast_1d(np.asarray(times_ms, dtype=np.float64))
    x, y, u = _replay(pre, U, tau_rec, tau_I, tau_f, *all_spikes(ds), queries,
                      -float(params["burn_in_ms"]))
    syn = np.arange(pre.size)
    return xr.Dataset(
        {"x": (("query", "synapse"), x, {"units": "1", "long_name": "recovered fraction"}),
         "y": (("query", "synapse"), y, {"units": "1", "long_name": "active fraction"}),
         "u": (("query", "synapse"), u, {"units": "1", "long_name": "utilization"}),
         "pre": ("synapse", pre, {"units": "1"}), "post": ("synapse", post, {"units": "1"}),
         "U": ("synapse", U, {"units": "1"}), "tau_rec": ("synapse", tau_rec, {"units": "ms"}),
         "tau_facil": ("synapse", tau_f, {"units": "ms"}),
         "tau_I": ("synapse", tau_I, {"units": "ms"}),
         "A": ("synapse", net.A_mV[part], {"units": "mV"})},
        coords={"query_time": ("query", queries, {"units": "ms"}), "synapse": syn},
        attrs={"pathway": pathway, "seed": int(ds.attrs["seed"]),
               "code_version": str(ds.attrs["code_version"])})


def _replay(pre: np.ndarray, U: np.ndarray, tau_rec: np.ndarray, tau_I: np.ndarray,
            tau_f: np.ndarray, spike_t: np.ndarray, spike_n: np.ndarray,
            queries: np.ndarray, start_ms: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, u) arrays of shape (queries, synapses); see :func:`synapse_states`."""
    n_syn, n_q = pre.size, queries.size
    facil = np.isfinite(tau_f)
    tau_f1 = np.where(facil, tau_f, 1.0)
    u_rest = np.where(facil, 0.0, U)
    out_w = np.zeros((n_q, n_syn))
    out_y = np.zeros((n_q, n_syn))
    out_u = np.repeat(u_rest[None, :], n_q, axis=0)
    if n_syn == 0:
        return 1.0 - out_w, out_y, out_u

    # Presynaptic neurons ordered by spike count (most first): the neurons with a
    # k-th spike are a prefix, and so are their synapses once permuted the same way.
    neurons, syn_neuron = np.unique(pre, return_inverse=True)
    keep = np.isin(spike_n, neurons)
    spike_t, spike_n = spike_t[keep], spike_n[keep]
    local = np.searchsorted(neurons, spike_n)
    counts = np.bincount(local, minlength=neurons.size)
    rank_order = np.argsort(-counts, kind="stable")          # rank -> neuron (local)
    rank_of = np.empty_like(rank_order)
    rank_of[rank_order] = np.arange(rank_order.size)
    syn_rank = rank_of[syn_neuron]
    perm = np.argsort(syn_rank, kind="stable")                 # permuted synapse order
    syn_rank = syn_rank[perm]
    syn_ptr = np.searchsorted(syn_rank, np.arange(neurons.size + 1))
    counts_r = counts[rank_order]
    # spike times per neuron, by rank, padded: times[rank, k]
    by_neuron = np.argsort(local, kind="stable")               # time order kept
    starts = np.concatenate([[0], np.cumsum(counts)])
    k_max = int(counts.max()) if counts.size else 0
    times = np.full((neurons.size, max(k_max, 1)), np.inf)
    for r, j in enumerate(rank_order):
        times[r, :counts[j]] = spike_t[by_neuron[starts[j]:starts[j + 1]]]

    p_U, p_rec, p_I = U[perm], tau_rec[perm], tau_I[perm]
    p_f, p_tf = facil[perm], tau_f1[perm]
    w = np.zeros(n_syn)
    y = np.zeros(n_syn)
    u = u_rest[perm].copy()
    t_last = np.full(n_syn, start_ms)

    # Spikes strictly before each query: the query's state comes from the state
    # after the neuron's c-th spike (c = that count), evolved to the query time.
    before = np.stack([np.sum(times < q, axis=1) for q in queries]) if n_q else \
        np.zeros((0, neurons.size), dtype=np.int64)               # (query, rank)
    due: dict[int, list[tuple[int, np.ndarray]]] = {}
    for q in range(n_q):
        for c in np.unique(before[q]):
            ranks = np.flatnonzero(before[q] == c)
            due.setdefault(int(c), []).append((q, ranks))

    def snapshot(c: int) -> None:
        for q, ranks in due.get(c, ()):
            idx = np.concatenate([np.arange(syn_ptr[r], syn_ptr[r + 1]) for r in ranks])
            ww, yy, uu = evolve(w[idx], y[idx], u[idx], queries[q] - t_last[idx],
                                p_rec[idx], p_I[idx], p_tf[idx], p_f[idx])
            target = perm[idx]
            out_w[q, target], out_y[q, target], out_u[q, target] = ww, yy, uu

    snapshot(0)
    for k in range(k_max):
        n_active = int(np.sum(counts_r > k))
        m = int(syn_ptr[n_active])
        if m == 0:
            break
        t_k = np.repeat(times[:n_active, k], np.diff(syn_ptr[:n_active + 1]))
        ww, yy, uu = evolve(w[:m], y[:m], u[:m], t_k - t_last[:m], p_rec[:m], p_I[:m],
                            p_tf[:m], p_f[:m])
        uu = np.where(p_f[:m], uu + p_U[:m] * (1.0 - uu), uu)
        released = uu * (1.0 - ww)
        w[:m], y[:m], u[:m] = ww + released, yy + released, uu
        t_last[:m] = t_k
        snapshot(k + 1)
    return 1.0 - out_w, out_y, out_u
