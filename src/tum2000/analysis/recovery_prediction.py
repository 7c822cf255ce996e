"""Predicted recovery of the mean x (and u) between population spikes.

Two predictions of the trajectory of a pathway's mean recovered fraction after
a population spike (PS), from the state at the start of the recovery and the
presynaptic rates measured during it:

* **homogeneous (naive)**: the mean-field equation of Tsodyks, Pawelzik &
  Markram (1998), ``dx/dt = (1 - x)/tau_rec - U x r``, applied to the mean x
  with the pathway's mean U and tau_rec and the presynaptic population's mean
  rate r. It treats every synapse as driven by the same Poisson train at the
  mean rate. In this network about 40 % of the excitatory neurons are silent
  between population spikes while the others fire regularly at up to ~20 Hz,
  and x's fixed point is convex in r, so the mean-rate prediction sits far
  below the network's x (Jensen's inequality);
* **per synapse**: each synapse s starts from its own replayed state at the
  start of the recovery (:mod:`tum2000.analysis.synapse_replay`) and relaxes
  exponentially to its own steady state, with its own U and tau_rec and its
  presynaptic neuron's rate r_i: the periodic-train formula when that neuron
  fires regularly (ISI CV below ``cv_regular_max``), the Poisson formula
  otherwise (:func:`tum2000.meanfield.synapse.steady_state`). The
  trajectories are averaged over synapses (not neurons), as the network's
  recorded mean is.

Rates are in Hz, times in ms from the start of the recording.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from tum2000.meanfield.synapse import CV_REGULAR_MAX, steady_state

BLOCK = 64
"""Grid samples evaluated per block of the per-synapse mean (memory: BLOCK x synapses)."""


def presynaptic_activity(spike_time: np.ndarray, spike_neuron: np.ndarray,
                         neurons: np.ndarray, windows_ms: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rate of each neuron in each window, and each neuron's ISI CV.

    ``windows_ms`` is (n, 2), [start, stop). A neuron's rate in a window is
    (k - 1) / (last - first spike) when it fires k >= 2 spikes there (the
    regular neurons' rate, free of where the window cuts their train), else
    k / window length. Its CV pools the inter-spike intervals of all
    windows (both spikes in the same window); NaN with fewer than 3 intervals.

    Returns (rate_hz (window, neuron), count (window, neuron), cv (neuron)).
    """
    neurons = np.asarray(neurons)
    n_w, n_n = len(windows_ms), neurons.size
    rate = np.zeros((n_w, n_n))
    count = np.zeros((n_w, n_n), dtype=np.int64)
    local = np.full(int(max(neurons.max(initial=-1), spike_neuron.max(initial=-1))) + 1, -1)
    local[neurons] = np.arange(n_n)
    isis: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    for w, (t0, t1) in enumerate(np.asarray(windows_ms, dtype=np.float64).reshape(-1, 2)):
        lo, hi = np.searchsorted(spike_time, [t0, t1])
        t, j = spike_time[lo:hi], local[spike_neuron[lo:hi]]
        keep = j >= 0
        t, j = t[keep], j[keep]
        order = np.lexsort((t, j))
        t, j = t[order], j[order]
        count[w] = np.bincount(j, minlength=n_n)
        first = np.full(n_n, np.nan)
        last = np.full(n_n, np.nan)
        if j.size:
            starts = np.flatnonzero(np.r_[True, j[1:] != j[:-1]])
            stops = np.r_[starts[1:], j.size] - 1
            first[j[starts]], last[j[stops]] = t[starts], t[stops]
            same = j[1:] == j[:-1]
            isis.append(np.diff(t)[same])
            owners.append(j[1:][same])
        span = last - first
        many = (count[w] >= 2) & (span > 0)
        rate[w] = count[w] / max(t1 - t0, 1e-12) * 1000.0
        rate[w, many] = (count[w, many] - 1) / span[many] * 1000.0
    cv = np.full(n_n, np.nan)
    if isis:
        isi, own = np.concatenate(isis), np.concatenate(owners)
        n_isi = np.bincount(own, minlength=n_n)
        mean = np.bincount(own, isi, minlength=n_n) / np.maximum(n_isi, 1)
        var = np.bincount(own, (isi - mean[own]) ** 2, minlength=n_n) / np.maximum(n_isi, 1)
        ok = n_isi >= 3
        cv[ok] = np.sqrt(var[ok]) / mean[ok]
    return rate, count, cv


def mean_relaxation(start: np.ndarray, target: np.ndarray, rate_per_ms: np.ndarray,
                    n_samples: int, step_ms: float) -> np.ndarray:
    """Mean over synapses of ``target + (start - target) exp(-rate t)`` at t = k step.

    Evaluated as (BLOCK x S) @ (S x blocks) products, so the cost is a few
    exponentials per synapse and block instead of one per synapse and sample.
    """
    n_syn = start.size
    if n_syn == 0 or n_samples == 0:
        return np.full(n_samples, np.nan)
    gap = start - target
    n_blocks = -(-n_samples // BLOCK)
    within = np.exp(-np.outer(np.arange(BLOCK) * step_ms, rate_per_ms))      # (B, S)
    offsets = gap[:, None] * np.exp(-np.outer(rate_per_ms, np.arange(n_blocks) * BLOCK
                                              * step_ms))                    # (S, J)
    mean_gap = (within @ offsets).T.ravel()[:n_samples] / n_syn
    return float(np.mean(target)) + mean_gap


def per_synapse_trajectory(states: xr.Dataset, query: int, rate_hz: np.ndarray,
                           cv: np.ndarray, n_samples: int, step_ms: float,
                           cv_regular_max: float = CV_REGULAR_MAX) -> dict[str, np.ndarray]:
    """Predicted mean x and u from the replayed states at ``query``.

    ``states`` comes from :func:`tum2000.analysis.synapse_replay.synapse_states`;
    ``rate_hz`` and ``cv`` are indexed by presynaptic neuron (the ``pre``
    values). The starting x is the replayed x corrected for the resources
    still active (y): they join the recovering pool within tau_I, which
    delays the recovery by y tau_I / (tau_rec - tau_I).
    Returns ``x`` and ``u`` (n_samples,) and the per-synapse steady states'
    means ``x_inf`` and ``u_inf``, and ``regular``: the fraction of synapses
    treated with the periodic formula.
    """
    pre = states["pre"].values
    U, tau_rec = states["U"].values, states["tau_rec"].values
    tau_I, tau_f = states["tau_I"].values, states["tau_facil"].values
    x0 = states["x"].values[query] - states["y"].values[query] * tau_I / (tau_rec - tau_I)
    u0 = states["u"].values[query]
    ss = steady_state(rate_hz[pre], cv[pre], U, tau_rec, tau_f, cv_regular_max)
    x = mean_relaxation(x0, ss["x"], ss["x_rate"], n_samples, step_ms)
    facil = np.isfinite(tau_f)
    if facil.any():
        u = mean_relaxation(u0, ss["u"], np.where(facil, ss["u_rate"], 0.0), n_samples,
                            step_ms)
    else:
        u = np.full(n_samples, float(np.mean(U)) if U.size else np.nan)
    return {"x": x, "u": u, "x_inf": float(np.mean(ss["x"])) if U.size else np.nan,
            "u_inf": float(np.mean(ss["u"])) if U.size else np.nan,
            "regular": float(np.mean(ss["regular"])) if U.size else np.nan}


def homogeneous_trajectory(x0: float, rate_hz: float, U: float, tau_rec_ms: float,
                           n_samples: int, step_ms: float) -> np.ndarray:
    """The naive prediction: ``dx/dt = (1 - x)/tau_rec - U x r`` from x0 at the mean rate."""
    tau, x_inf = homogeneous_prediction(rate_hz, U, tau_rec_ms)
    return x_inf + (x0 - x_inf) * np.exp(-np.arange(n_samples) * step_ms / tau)


def homogeneous_prediction(rate_hz, U, tau_ms):
    """(tau in ms, x_inf) of ``dx/dt = (1 - x)/tau - U x r`` for a constant rate.

    The homogeneous mean-field equation (Tsodyks, Pawelzik & Markram 1998):
    ``x_inf = 1/(1 + U tau r)``, ``tau_x = tau/(1 + U tau r)``. Kept as the
    naive baseline: one rate for all synapses.
    """
    r = np.asarray(rate_hz, dtype=np.float64) / 1000.0
    tau_pred = 1.0 / (1.0 / np.asarray(tau_ms) + np.asarray(U) * r)
    return tau_pred, tau_pred / np.asarray(tau_ms)


def facilitation_prediction(rate_hz, U, tau_facil_ms):
    """(tau_u in ms, u_inf) of the recorded u for a constant Poisson rate.

    ``du/dt = -u/tau_f + U (1 - u) r``: the recorded u decays to 0 between
    spikes (it is the value before the next spike's jump), so
    ``u_inf = U r tau_f / (1 + U r tau_f)`` and ``tau_u = tau_f/(1 + U r tau_f)``.
    The release fraction of a spike is then ``U + (1 - U) u``.
    """
    a = np.asarray(U) * np.asarray(rate_hz, dtype=np.float64) / 1000.0 * np.asarray(tau_facil_ms)
    return np.asarray(tau_facil_ms) / (1.0 + a), a / (1.0 + a)
