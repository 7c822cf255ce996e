"""Figures of the threshold-or-escape page (``book/why.ipynb``).

Each function draws into axes it is given (matplotlib) from the data the
studies return (:mod:`tum2000.sweeps.scenarios`,
:mod:`tum2000.meanfield.bifurcation`); nothing is computed here.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import xarray as xr


def plot_bifurcation(diagram: xr.Dataset, gains: xr.Dataset, axes: Sequence[Any]) -> None:
    """Left: the threshold-linear model's limit cycles over (EE_A, w), coloured by
    period; right: the LIF model's largest loop gain against w."""
    ax, right = axes
    a = np.asarray(diagram["EE_A_mV"].values, float)
    w = np.asarray(diagram["I_b_spread_mV"].values, float)
    A, W = np.meshgrid(a, w, indexing="ij")
    osc = np.asarray(diagram["oscillates"].values) == 1
    period = np.asarray(diagram["period_ms"].values, float)
    ax.scatter(A[~osc], W[~osc], facecolors="none", edgecolors="0.4", s=45,
               label="stable quiet state")
    if osc.any():
        points = ax.scatter(A[osc], W[osc], c=period[osc], cmap="viridis", s=45,
                            label="limit cycle")
        ax.figure.colorbar(points, ax=ax, label="period (ms)")
    ax.set_xlabel("EE strength A (mV)")
    ax.set_ylabel("spread w (mV)")
    ax.set_title("threshold-linear units", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22),
              ncol=2)
    right.plot(gains["I_b_spread_mV"], gains["gain"], "o-", color="C3")
    right.axhline(1.0, color="k", lw=0.8, ls="--")
    right.set_ylim(0, 1.1)
    right.set_xlabel("spread w (mV)")
    right.set_ylabel("largest loop gain")
    right.set_title("integrate-and-fire units (any coupling)", fontsize=10)


def plot_hazard(study: Any, ax: Any) -> None:
    """The hazard h(x) with its 95 % intervals, and the x before each PS (ticks)."""
    rate = study.rate
    ok = np.asarray(rate["exposure_s"].values) > 0
    x = np.asarray(rate["x"].values)[ok]
    h = np.asarray(rate["hazard_hz"].values)[ok]
    lo = np.asarray(rate["hazard_low_hz"].values)[ok]
    hi = np.asarray(rate["hazard_high_hz"].values)[ok]
    top = max(float(np.nanmax(h)) if h.size else 0.0, 0.1)
    ax.fill_between(x, lo, np.minimum(hi, 10 * top), color="C0", alpha=0.2,
                    step="mid", label="95 % interval")
    ax.step(x, h, where="mid", color="C0", label="hazard")
    xb = study.x_before
    if xb.size:
        ax.plot(xb, np.zeros_like(xb), "|", color="k", ms=8, alpha=0.5,
                label="x before each PS")
    ax.set_ylim(bottom=-0.05, top=1.3 * top)
    ax.set_xlabel("recovered fraction x (EE)")
    ax.set_ylabel("population spikes per s")
    ax.legend(frameon=False, fontsize=8)


def plot_initial_states(initial: Any, ax: Any) -> None:
    """One row per initial state: the onsets of its full population spikes (s)."""
    for row, onsets in enumerate(initial.onsets_ms):
        ax.plot(np.asarray(onsets) / 1000.0, np.full(len(onsets), row), "|", color="k", ms=9)
    ax.set_yticks(range(len(initial.onsets_ms)), [str(v) for v in initial.v_init_seeds])
    ax.set_ylabel("v_init_seed")
    ax.set_xlabel("time (s)")
    ax.set_xlim(0, initial.recorded_ms / 1000.0)


def plot_evoked(evoked: xr.Dataset, ax: Any) -> None:
    """The smallest evoking pulse against x at the pulse; failing amplitudes below."""
    x = np.asarray(evoked["x_at_pulse"].values, float).ravel()
    thr = np.asarray(evoked["threshold_mV"].values, float).ravel()
    fail = np.asarray(evoked["failing_mV"].values, float).ravel()
    ok = np.isfinite(x) & np.isfinite(thr)
    ax.vlines(x[ok], fail[ok], thr[ok], color="C1", lw=2, label="threshold bracket")
    ax.plot(x[ok], thr[ok], "o", color="C1", label="smallest evoking pulse")
    none = np.isfinite(x) & ~np.isfinite(thr)
    if none.any():
        ax.plot(x[none], fail[none], "x", color="k", label="none up to this amplitude")
    ax.set_xlabel("x at the pulse (EE)")
    ax.set_ylabel("pulse amplitude (mV)")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=8)


def plot_threshold_curve(curve: xr.Dataset, network: Sequence[xr.Dataset], ax: Any) -> None:
    """A model's smallest evoking pulse against x (a line through its pulse
    times) over the network's threshold brackets (one colour for all seeds)."""
    for k, study in enumerate(network):
        x = np.asarray(study["x_at_pulse"].values, float).ravel()
        thr = np.asarray(study["threshold_mV"].values, float).ravel()
        fail = np.asarray(study["failing_mV"].values, float).ravel()
        ok = np.isfinite(x) & np.isfinite(thr)
        ax.vlines(x[ok], fail[ok], thr[ok], color="C1", lw=2)
        ax.plot(x[ok], thr[ok], "o", color="C1", ms=4,
                label="network (seeds pooled)" if k == 0 else None)
    x = np.asarray(curve["x_at_pulse"].values, float)
    thr = np.asarray(curve["threshold_mV"].values, float)
    ok = np.isfinite(x) & np.isfinite(thr)
    ax.plot(x[ok], thr[ok], "-s", color="C0", ms=4, label="density model")
    ax.set_xlabel("x at the pulse (EE)")
    ax.set_ylabel("smallest evoking pulse (mV)")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=8)


def plot_size_series(model: xr.Dataset, network: xr.Dataset, ax: Any) -> None:
    """Full PS per second against N at a fixed in-degree, one colour per
    spread: the network (mean over seeds, circles) and a model (pooled over its
    noise seeds, squares, dashed)."""
    for k, w in enumerate(model["I_b_spread_mV"].values):
        n_model = model["N_exc"].values + model["N_inh"].values
        rate_model = (model["full_ps_count"].sel(I_b_spread_mV=w).sum("seed")
                      / model["duration_s"].sel(I_b_spread_mV=w).sum("seed"))
        ax.plot(n_model, rate_model, "s--", color=f"C{k}", ms=4)
        if float(w) in set(map(float, network["I_b_spread_mV"].values)):
            n_net = network["N_exc"].values + network["N_inh"].values
            ax.plot(n_net, network["full_ps_rate_hz"].sel(I_b_spread_mV=w).mean("seed"),
                    "o-", color=f"C{k}", ms=4, label=f"w = {float(w):g} mV")
    ax.plot([], [], "o-", color="0.4", ms=4, label="network")
    ax.plot([], [], "s--", color="0.4", ms=4, label="density model")
    sizes = model["N_exc"].values + model["N_inh"].values
    ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{int(n):,}" for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("network size N (fixed in-degree)")
    ax.set_ylabel("full PS per s")
    ax.set_ylim(bottom=0)
    # beside the axes: the lines fill the plot's corners
    ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))


__all__ = ["plot_bifurcation", "plot_evoked", "plot_hazard", "plot_initial_states",
           "plot_size_series", "plot_threshold_curve"]
