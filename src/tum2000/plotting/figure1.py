"""Fig. 1 of Tsodyks, Uziel & Markram (2000), one function per panel.

A: raster of all neurons; B: network activity (fraction of neurons firing
per 1 ms bin) with an inset on a detected population spike; C: mean
recovered fraction x of the excitatory-to-excitatory synapses.
Each function draws into a given matplotlib Axes and returns it; times on
the axes are ms from the start of the recording, as in the paper.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tum2000.store.atomic import atomic_path

# Fig. 1's axis limits (the paper's; the reference script uses the same): the
# smallest ranges shown, widened when a run's trace goes beyond them.
ACTIVITY_YLIM = (0.0, 0.2)
RECOVERED_YLIM = (0.2, 0.6)
INSET_HALF_WIDTH_MS = 20.0
INSET_BOX = (0.2, 0.55)
"""Width and height of panel B's inset, as fractions of the panel."""

# Axis labels, in full with units, the same on every figure of the book.
TIME_LABEL = "Time (ms)"
NEURON_LABEL = "Neuron number"
ACTIVITY_LABEL = "Network activity\n(fraction of neurons per ms)"
RECOVERED_LABEL = "Mean recovered fraction $x$"
PS_MARKER = dict(marker="v", color="tab:blue", ms=6, ls="none")
"""The triangle that marks a detected population spike above the raster."""


def book_style() -> None:
    """Matplotlib settings of the book's figures: an opaque white background,
    so that they stay readable in the theme's dark mode (the notebook's inline
    backend otherwise draws them on a transparent background)."""
    import matplotlib

    matplotlib.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white",
                                "savefig.transparent": False})


def _population_spikes(ds: xr.Dataset, ps: xr.Dataset | None) -> xr.Dataset:
    from tum2000.analysis import detect_population_spikes

    return detect_population_spikes(ds) if ps is None else ps


def neuron_order(ds: xr.Dataset, sort_by_I_b: bool = False) -> np.ndarray:
    """Row of each neuron in the raster: excitatory below inhibitory, optionally
    sorted by background input within each population (as in the NEST port)."""
    n = ds.sizes["neuron"]
    if not sort_by_I_b:
        return np.arange(n)
    population = ds["population"].values
    key = np.lexsort((ds["I_b"].values, population != "exc"))
    rows = np.empty(n, dtype=np.int64)
    rows[key] = np.arange(n)
    return rows


def plot_raster(ds: xr.Dataset, ax: Axes, sort_by_I_b: bool = False,
                mark_ps: bool = True, ps: xr.Dataset | None = None) -> Axes:
    """Panel A: one dot per spike; excitatory neurons first, then inhibitory.

    ``mark_ps`` puts a blue triangle above each detected population spike
    (``ps``: a :func:`tum2000.analysis.detect_population_spikes` result, or
    None to detect them here); a run without one gets no marker."""
    rows = neuron_order(ds, sort_by_I_b)[ds["spike_neuron"].values]
    exc = ds["population"].values[ds["spike_neuron"].values] == "exc"
    times = ds["spike_time"].values
    ax.plot(times[exc], rows[exc], ".", color="k", ms=1, rasterized=True, label="excitatory")
    ax.plot(times[~exc], rows[~exc], ".", color="tab:red", ms=1, rasterized=True,
            label="inhibitory")
    n = ds.sizes["neuron"]
    if mark_ps:
        ps_times = _population_spikes(ds, ps)["ps_time"].values
        if ps_times.size:  # an empty line outside the axes collapses constrained layout
            ax.plot(ps_times, np.full(ps_times.size, n * 1.04), clip_on=False,
                    label="population spike", **PS_MARKER)
    ax.set_ylim(0, n)
    ax.set_xlim(0, float(ds.attrs["duration_ms"]))
    ax.set_ylabel(NEURON_LABEL + ("\n(sorted by $I_b$)" if sort_by_I_b else ""))
    return ax


def _inset_left(t: np.ndarray, activity: np.ndarray, duration: float, centre: float) -> float:
    """Left edge (fraction of the panel) of the inset: where the trace under it
    is lowest, never over the population spike it magnifies."""
    width = INSET_BOX[0]
    best, best_height = 0.02, np.inf
    for left in np.linspace(0.02, 0.98 - width, 9):
        lo, hi = left * duration, (left + width) * duration
        if lo - INSET_HALF_WIDTH_MS <= centre <= hi + INSET_HALF_WIDTH_MS:
            continue
        under = activity[(t >= lo) & (t <= hi)]
        height = float(under.max()) if under.size else 0.0
        if height < best_height:
            best, best_height = float(left), height
    return best


def plot_activity(ds: xr.Dataset, ax: Axes, inset: bool = True,
                  ps: xr.Dataset | None = None) -> Axes:
    """Panel B: fraction of all neurons firing per 1 ms bin, inset on the
    largest population spike of ``ps`` (the page's detection; detected here with
    the default threshold when None). A run without one gets no inset.

    The y range is the paper's (0 to 0.2), widened so that every peak shows and
    the inset sits in the upper part of the panel, above the trace beneath it.
    """
    from tum2000.analysis import population_activity

    activity = population_activity(ds)
    t = activity["time"].values
    values = activity.values
    duration = float(ds.attrs["duration_ms"])
    top = max(ACTIVITY_YLIM[1], 1.05 * float(values.max()) if values.size else 0.0)
    ps = _population_spikes(ds, ps)
    ax.plot(t, values, color="k", lw=0.7)
    ax.set_xlim(0, duration)
    ax.set_ylabel(ACTIVITY_LABEL)
    if inset and ps.sizes["ps"] > 0:
        peaks = ps["ps_peak"].values
        centre = float(ps["ps_time"].values[int(np.argmax(peaks))])
        left = _inset_left(t, values, duration, centre)
        lo_t, hi_t = left * duration, (left + INSET_BOX[0]) * duration
        under = values[(t >= lo_t) & (t <= hi_t)]
        bottom = 0.97 - INSET_BOX[1]  # the inset's lower edge, as a fraction of the panel
        # the trace under the inset must stay below its lower edge
        top = max(top, 1.1 * float(under.max()) / bottom if under.size else 0.0)
        lo, hi = centre - INSET_HALF_WIDTH_MS, centre + INSET_HALF_WIDTH_MS
        axins = ax.inset_axes([left, bottom, INSET_BOX[0], INSET_BOX[1]])
        axins.plot(t, values, color="k", lw=0.8, drawstyle="steps-post")
        axins.set_xlim(lo, hi)
        axins.set_ylim(0.0, 1.1 * float(peaks.max()))
        axins.set_xticks([lo, hi])
        axins.set_xticklabels([f"{lo:.0f}", f"{hi:.0f} ms"], fontsize=8)
        # A y scale (fraction of neurons per ms): zero and the largest peak, which the
        # inset shows magnified in time only.
        axins.set_yticks([0.0, float(peaks.max())])
        axins.set_yticklabels(["0", f"{float(peaks.max()):.2f}"], fontsize=8)
        axins.tick_params(length=2, pad=1)
        axins.set_facecolor("white")
    elif inset:
        ax.text(0.99, 0.95, "no population spike detected: no inset", transform=ax.transAxes,
                ha="right", va="top", fontsize=8, color="0.35")
    ax.set_ylim(ACTIVITY_YLIM[0], top)
    return ax


def recovered_ylim(x: np.ndarray) -> tuple[float, float]:
    """The paper's range for x (0.2 to 0.6), widened to show the whole trace
    with a small margin (x itself lies in 0..1)."""
    finite = x[np.isfinite(x)]
    if not finite.size:
        return RECOVERED_YLIM
    margin = 0.03
    return (max(-margin, min(RECOVERED_YLIM[0], float(finite.min()) - margin)),
            min(1.0 + margin, max(RECOVERED_YLIM[1], float(finite.max()) + margin)))


def sawtooth_tops(ds: xr.Dataset, ps: xr.Dataset, recovery: xr.Dataset,
                  pathway: str = "EE") -> xr.Dataset:
    """The top of each tooth of panel C: the largest mean x of ``pathway``
    between the end of the previous drop (its ``t_after``; the start of the
    recording for the first) and the onset of each population spike.

    This is "x just before a population spike" as the plot shows it: x starts
    to fall during the build-up of a population spike, some tens of ms before
    the detection threshold is crossed at its onset. ``ps`` and ``recovery``:
    :func:`tum2000.analysis.detect_population_spikes` and
    :func:`tum2000.analysis.recovery_dynamics` of the same run. Returns ``time``
    (ms) and ``x_top`` along ``ps`` (empty without a population spike).
    """
    x = ds["recovered"].sel(pathway=pathway)
    t, values = x["time"].values, x.values
    onsets = ps["ps_onset"].values
    starts = np.concatenate([[0.0], recovery["t_after"].values[:-1]]) if onsets.size else []
    times, tops = [], []
    for start, onset in zip(starts, onsets):
        window = (t >= start) & (t <= onset)
        if not window.any():
            window = t <= onset
        k = np.flatnonzero(window)[int(np.argmax(values[window]))]
        times.append(float(t[k]))
        tops.append(float(values[k]))
    return xr.Dataset({"time": ("ps", np.asarray(times, dtype=float), {"units": "ms"}),
                       "x_top": ("ps", np.asarray(tops, dtype=float), {"units": "1"})})


def plot_recovered(ds: xr.Dataset, ax: Axes, pathway: str = "EE") -> Axes:
    """Panel C: mean recovered fraction x of one pathway's synapses; the y range
    is the paper's unless the trace leaves it (:func:`recovered_ylim`)."""
    x = ds["recovered"].sel(pathway=pathway)
    ax.plot(x["time"].values, x.values, color="k", lw=0.8)
    ax.set_ylim(*recovered_ylim(x.values))
    ax.set_xlim(0, float(ds.attrs["duration_ms"]))
    ax.set_ylabel(RECOVERED_LABEL + ("\n(excitatory to excitatory)" if pathway == "EE"
                                     else f"\n({pathway})"))
    ax.set_xlabel(TIME_LABEL)
    return ax


def plot_recovered_with_theory(ds: xr.Dataset, ax: Axes, recovery: xr.Dataset | None = None,
                               rate_model: xr.Dataset | None = None, pathway: str = "EE",
                               naive: bool = True, per_synapse: bool = True) -> Axes:
    """Panel C with the theory: the network's mean x of ``pathway`` and its predictions.

    ``recovery`` is :func:`tum2000.analysis.recovery_dynamics` of the same
    pathway (computed when None); its ``x_pred`` (per-synapse prediction) and
    ``x_pred_naive`` (homogeneous mean-field equation) are drawn over each
    recovery. ``rate_model`` is a :func:`tum2000.meanfield.simulate_rate_model`
    dataset (one realization) whose ``recovered`` is drawn on the same axis.
    Holds up with no population spike (then there is no prediction to draw).
    """
    from tum2000.analysis import recovery_dynamics

    rec = recovery_dynamics(ds, pathway) if recovery is None else recovery
    x = ds["recovered"].sel(pathway=pathway)
    ax.plot(x["time"].values, x.values, color="k", lw=1.0, label="network")
    t = rec["time"].values
    if per_synapse and np.isfinite(rec["x_pred"].values).any():
        ax.plot(t, rec["x_pred"].values, color="tab:orange", lw=1.6, ls="--",
                label="per-synapse prediction")
    if naive and np.isfinite(rec["x_pred_naive"].values).any():
        ax.plot(t, rec["x_pred_naive"].values, color="tab:blue", lw=1.2, ls=":",
                label="homogeneous mean field")
    if rate_model is not None:
        xm = rate_model["recovered"].sel(pathway=pathway)
        ax.plot(xm["time"].values, xm.values, color="tab:green", lw=1.0, alpha=0.8,
                label="rate model")
    for time in rec["ps_time"].values:
        ax.axvline(time, color="tab:gray", lw=0.6, alpha=0.5)
    ax.set_xlim(0, float(ds.attrs["duration_ms"]))
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel(f"{RECOVERED_LABEL} ({pathway})")
    ax.set_xlabel(TIME_LABEL)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return ax


def figure1(ds: xr.Dataset, sort_by_I_b: bool = False, ps: xr.Dataset | None = None) -> Figure:
    """The three panels stacked, sharing the time axis, in the paper's layout
    (on an opaque white background). ``ps``: the population spikes to mark
    (detected with the default threshold when None). A run without one says
    so in panel B instead of showing an inset."""
    from tum2000.analysis import detect_population_spikes

    fig = Figure(figsize=(6, 8), layout="constrained", facecolor="white")
    axes = fig.subplots(3, 1, sharex=True)
    ps = detect_population_spikes(ds) if ps is None else ps
    plot_raster(ds, axes[0], sort_by_I_b=sort_by_I_b, ps=ps)
    plot_activity(ds, axes[1], ps=ps)
    plot_recovered(ds, axes[2])
    for ax, letter in zip(axes, "ABC"):
        ax.set_title(letter, loc="left", fontweight="bold", fontsize=12)
        ax.xaxis.set_tick_params(labelbottom=True)
    return fig


def write_figure1(ds: xr.Dataset, path: str | os.PathLike, format: str | None = None,
                  dpi: int = 150) -> None:
    """Draw Fig. 1 into ``path`` as it is (not atomic; for a temporary file)."""
    figure1(ds).savefig(path, dpi=dpi, format=format or Path(path).suffix.lstrip(".") or "png")


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Write any figure to ``path`` atomically (format from the suffix)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=Path(path).suffix.lstrip(".") or "png")
    return Path(path)


def plot_rate_vs_input(ds: xr.Dataset, ax: Axes, rates: xr.DataArray | None = None,
                       threshold_mV: float | None = None) -> Axes:
    """Firing rate of each neuron (Hz) against its background input I_b (mV),
    excitatory in black, inhibitory in red; a dashed line at the threshold."""
    from tum2000.analysis import firing_rates

    rates = firing_rates(ds) if rates is None else rates
    for population, color in (("exc", "k"), ("inh", "tab:red")):
        r = rates.where(rates["population"] == population, drop=True)
        ax.plot(r["I_b"], r, ".", color=color, ms=3, label=population)
    if threshold_mV is not None:
        ax.axvline(threshold_mV, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel("Background input $I_b$ (mV)")
    ax.set_ylabel("Firing rate (Hz)")
    ax.legend(frameon=False)
    return ax


def plot_convergence(result: xr.Dataset, axes, statistics, labels=None,
                     reference: str = "reference_script, dt = 1 ms") -> None:
    """A :func:`tum2000.sweeps.convergence.study` result: each statistic (one Axes each)
    against the time step, mean ± s.e. over seeds, exact integration in black and
    the ``reference`` variant (the reference script's scheme) in red."""
    labels = labels or {}
    variants = [str(v) for v in result["variant"].values]
    exact = [v for v in variants if v.startswith("exact")]
    steps = [float(v.split("=")[1].split()[0]) for v in exact]
    for ax, name in zip(axes, statistics):
        values = result["value"].sel(statistic=name)
        n = values.sizes["seed"]
        mean = values.sel(variant=exact).mean("seed")
        se = values.sel(variant=exact).std("seed", ddof=1) / np.sqrt(n)
        ax.errorbar(steps, mean, yerr=se, fmt="o-", color="k", capsize=3,
                    label="exact integration")
        if reference in variants:
            ref = values.sel(variant=reference)
            ax.errorbar([float(reference.split("=")[1].split()[0])], [float(ref.mean())],
                        yerr=[float(ref.std(ddof=1) / np.sqrt(n))], fmt="s", color="tab:red",
                        capsize=3, label="reference script's scheme")
        ax.set_xscale("log")
        ax.set_xlabel("Time step $dt$ (ms)")
        ax.set_title(labels.get(name, name), fontsize=9)
    axes[0].legend(frameon=False, fontsize=7)


def plot_across_seeds(per_seed, overview, axes) -> None:
    """One bar per statistic (mean over seeds, error bar one standard error) with
    a dot per seed; ``per_seed`` and ``overview`` from
    :func:`tum2000.chapters.tables.across_seeds`."""
    for ax, name in zip(axes, per_seed.columns):
        ax.bar([0], [overview.loc[name, "mean"]], yerr=[overview.loc[name, "standard error"]],
               color="0.7", capsize=4, width=0.6)
        ax.plot(np.zeros(len(per_seed)), per_seed[name], "k.", ms=4)
        ax.set_xticks([])
        ax.set_title(name, fontsize=8)
