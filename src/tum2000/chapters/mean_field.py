"""Values and text of the mean-field chapter (``book/mean_field.ipynb``).

Every number and verdict the page glues into its prose is computed here, from
the network's and the rate model's results (xarray datasets, arrays, floats)
to floats, :class:`~tum2000.chapters.tables.Estimate`,
:class:`~tum2000.chapters.tables.Verdict` and strings; the notebook simulates,
draws and glues.

Units: times in ms, rates in Hz, ``x`` (the recovered fraction of synaptic
resources) and participations as fractions.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from tum2000.analysis import population_spikes as kinds
from tum2000.analysis.recovery import RMSE_MIN_RECOVERY_MS
from tum2000.chapters.tables import Estimate, Verdict, value_or_undefined
from tum2000.meanfield import synapse as theory
from tum2000.sweeps import mean_field_comparison as comparison

NO_PS = "undefined (no population spike)"
FEW_INTERVALS = "undefined (too few intervals)"


def number(value: Any, spec: str, missing: str = "undefined") -> str:
    """``format(value, spec)`` for the prose, or ``missing`` when the value is
    None or not finite (:func:`~tum2000.chapters.tables.value_or_undefined`)."""
    return value_or_undefined(value, "{:" + spec + "}", missing)


# --- the homogeneous recovery equation -------------------------------------------------------

def naive_rate(fitted: xr.Dataset, spike_time: np.ndarray, spike_neuron: np.ndarray,
               exc: np.ndarray, duration_ms: float) -> tuple[np.ndarray, float, str]:
    """(windows (ms, one row per window: start, end), the excitatory rate (Hz)
    that the homogeneous equation is given, where it was measured).

    With recoveries (``fitted``: the :func:`tum2000.analysis.recovery_dynamics`
    population spikes with a fit) the windows are the recoveries and the rate
    their median presynaptic rate; without, the whole recording and its mean
    excitatory rate (``spike_time`` ms sorted, ``spike_neuron``, ``exc`` the
    excitatory neurons)."""
    if fitted.sizes["ps"]:
        windows = np.column_stack([fitted["fit_t0"].values, fitted["fit_t1"].values])
        return (windows, float(np.median(fitted["pre_rate_hz"].values)),
                "between population spikes (median over the recoveries)")
    windows = np.array([[0.0, float(duration_ms)]])
    lo, hi = np.searchsorted(spike_time, windows[0])
    rate = float(np.isin(spike_neuron[lo:hi], exc).sum() / exc.size / windows[0, 1] * 1000.0)
    return windows, rate, "over the whole recording"


def naive_verdict(fitted: xr.Dataset, x_trace: np.ndarray, x_inf: float) -> Verdict:
    """How the homogeneous equation's asymptote ``x_inf`` compares with the
    recoveries of ``fitted`` (x after, x at the end, rms error of the
    homogeneous trajectory); without recoveries, with the range of the recorded
    mean x ``x_trace``. ``n`` is the recoveries; ``estimate`` the mean x after."""
    n = int(fitted.sizes["ps"])
    if not n:
        return Verdict(f"This run has no recovery after a population spike to compare with; "
                       f"its x stays between {x_trace.min():.2f} and {x_trace.max():.2f}, "
                       f"{'well above' if x_trace.min() > x_inf + 0.05 else 'near'} that "
                       "prediction.", 0)
    after = float(np.mean(fitted["x_after"].values))
    end = float(np.mean(fitted["x_end"].values))
    above = after > x_inf
    return Verdict(
        f"In the network, x starts each recovery at {after:.2f} on average, "
        f"{'already above' if above else 'below'} that asymptote, and "
        f"climbs to {end:.2f} before the next population spike "
        f"(or the end of the recording): the equation predicts "
        f"{'the wrong sign of the slope' if above else 'far too low an end point'}. "
        f"Its trajectory misses the recorded one by a root-mean-square error of "
        f"{np.median(fitted['x_recovery_rmse_naive'].values):.2f} (median over the "
        f"{n} recoveries; figure below, dotted).", n, Estimate.of(fitted["x_after"].values),
        holds=False)


def presynaptic_glue(rates: np.ndarray, counts: np.ndarray, cv: np.ndarray, U: float,
                     tau_rec_ms: float, n_rec: int) -> dict[str, Any]:
    """The glued values of the presynaptic activity (``rates`` Hz and spike
    ``counts``, windows × excitatory neurons; ``cv`` the CV of each neuron's
    intervals): the share of silent neuron-windows, the median CV of the active
    neurons, the largest rate, a typical rate and the mean x of a synapse
    (``U``, ``tau_rec_ms``) driven periodically or as a Poisson process at it."""
    active = counts.sum(axis=0) >= 3
    r_active = rates[counts > 0]
    r_example = float(np.median(r_active)) if r_active.size else np.nan
    return {
        "mf_silent_pct": number(100 * float(np.mean(counts == 0)), ".0f") + " %",
        "mf_cv_median": number(float(np.nanmedian(cv[active])) if active.any() else np.nan,
                               ".2f"),
        "mf_rate_max": number(float(rates.max()) if rates.size else np.nan, ".0f"),
        "mf_r_example": number(r_example, ".1f"),
        "mf_x_periodic": number(float(theory.periodic_x_mean(r_example, U, tau_rec_ms)), ".2f"),
        "mf_x_poisson": number(float(theory.poisson_x_mean(r_example, U, tau_rec_ms)), ".2f"),
        "mf_cv_boundary": theory.CV_REGULAR_MAX,
        "mf_between": "Between population spikes" if n_rec else
        "Over this recording (it has no recovery after a population spike),",
    }


def per_synapse_x_inf(states: xr.Dataset | None, n_neurons: int, exc: np.ndarray,
                      rates: np.ndarray, cv: np.ndarray) -> str:
    """The mean steady-state x over the replayed EE synapses (``states``: the
    :func:`tum2000.analysis.synapse_states` dataset, or None when the dataset's
    synapses cannot be replayed), each driven at its presynaptic neuron's mean
    rate (Hz, over the windows of ``rates``) and CV ``cv``."""
    if states is None:
        return "undefined (this dataset's synapses cannot be replayed)"
    rate_of = np.zeros(n_neurons)
    cv_of = np.full(n_neurons, np.nan)
    rate_of[exc] = rates.mean(axis=0)
    cv_of[exc] = cv
    pre = states["pre"].values
    steady = theory.steady_state(rate_of[pre], cv_of[pre], states["U"].values,
                                 states["tau_rec"].values)
    return number(float(np.mean(steady["x"])), ".2f")


def rmse_sentence(fitted: xr.Dataset) -> Verdict:
    """How well the per-synapse prediction follows the recoveries longer than
    :data:`~tum2000.analysis.recovery.RMSE_MIN_RECOVERY_MS`: median rms errors
    of the per-synapse and the homogeneous prediction. ``n``: those recoveries."""
    long = ((fitted["fit_t1"] - fitted["fit_t0"]).values >= RMSE_MIN_RECOVERY_MS
            if fitted.sizes["ps"] else np.zeros(0, bool))
    n = int(long.sum())
    if not n:
        return Verdict(f"This run has no recovery longer than {RMSE_MIN_RECOVERY_MS:.0f} ms "
                       "to score; re-run the page with a longer duration_ms (see the end of the "
                       "page).", 0)
    rmse = float(np.median(fitted["x_recovery_rmse"].values[long]))
    rmse_naive = float(np.median(fitted["x_recovery_rmse_naive"].values[long]))
    if not np.isfinite(rmse):
        return Verdict("The per-synapse prediction could not be computed here (the dataset "
                       "comes from another version of the simulation code, so its synapses "
                       "cannot be replayed).", n)
    return Verdict(f"Over the {n} recoveries longer than {RMSE_MIN_RECOVERY_MS:.0f} ms the "
                   "per-synapse prediction follows the network's mean x with a median "
                   f"root-mean-square error of {rmse:.3f}, against {rmse_naive:.2f} for the "
                   "homogeneous equation.", n, holds=rmse < rmse_naive)


def fit_sentence(meaningful: np.ndarray) -> str:
    """" k of the exponential fits are not meaningful ..." for the fits with
    ``meaningful`` == 0, or "" when every fit is meaningful (or there is none)."""
    n_bad = int(np.sum(np.asarray(meaningful) == 0))
    return ("" if n_bad == 0 else
            f" {n_bad} of the exponential fits are not meaningful (the recovery is too short "
            "to see its asymptote; the fit's x_inf is then an extrapolation, bounded to [0, 1]).")


def drop_sentence(rec: xr.Dataset, sharp: np.ndarray, U_mean: float) -> Verdict:
    """How well the maps 1 - U n_E, exp(-U n_E) and the U-weighted map predict x
    after each population spike of ``rec`` (:func:`tum2000.analysis.recovery_dynamics`;
    ``sharp`` which of them are sharp, ``U_mean`` the mean EE U). ``n``: the
    population spikes; ``holds``: the map is closer than the exponential for each."""
    n_ps = int(rec.sizes["ps"])
    if not n_ps:
        return Verdict("This run has no population spike, so there is no drop to predict; the "
                       "multi-seed comparison below has some.", 0)
    err = np.abs(rec["drop_map_error"].values)
    err_exp = rec["exp_map_error"].values
    err_w = np.abs(rec["weighted_map_error"].values)
    side = ('over' if np.all(err_exp > 0) else 'mostly over' if np.mean(err_exp > 0) > 0.5
            else 'under')
    return Verdict(
        f"Over the {n_ps} population spikes of this run ({int(sharp.sum())} sharp: "
        f"at most {kinds.SHARP_MAX_WIDTH_MS:g} ms wide with at least "
        f"{kinds.SHARP_MIN_PARTICIPATION:.0%} of the excitatory "
        f"neurons firing), each excitatory neuron fired {np.mean(rec['n_pre_spikes']):.2f} "
        f"times on average, and the map misses x after by {np.median(err):.3f} "
        f"(median absolute error), the continuous one by {np.median(np.abs(err_exp)):.3f}, "
        f"always {side}estimating it. The remaining error of the map has a cause we can measure: "
        f"the most depressed synapses are those with the largest U, so the fraction "
        f"released is mean(U x)/mean(x) = {np.mean(rec['release_fraction_weighted']):.3f} "
        f"rather than the mean U = {U_mean:.3f}; with it (the weighted map, from the "
        f"replayed synapses) the error falls to {np.median(err_w):.3f}.", n_ps,
        holds=bool(np.all(err < np.abs(err_exp))))


# --- the rate model -------------------------------------------------------------------------

def full_and_partial(events: Iterable[xr.Dataset]) -> tuple[int, int]:
    """(full, partial) events summed over the
    :func:`~tum2000.sweeps.mean_field_comparison.rate_model_events` results ``events``."""
    events = list(events)
    partial = sum(int(e["is_partial"].sum()) for e in events)
    return sum(e.sizes["ps"] for e in events) - partial, partial


def deterministic_sentence(n_det: int, n_ps: int, rate_e: float, rate_i: float,
                           x: float) -> Verdict:
    """What the deterministic rate model does (``n_det`` events; at its end an
    excitatory and inhibitory rate ``rate_e``, ``rate_i`` Hz and EE x ``x``)
    against the network's ``n_ps`` population spikes. ``holds``: it needs noise."""
    state = (f"an excitatory rate of {rate_e:.1f} Hz, an inhibitory rate of {rate_i:.1f} Hz and "
             f"a mean EE x of {x:.2f}")
    if n_det == 0:
        network = (f"The network, with the same constants, fires {n_ps} in the same time."
                   if n_ps else "(This short network run fires none either.)")
        return Verdict("The deterministic rate model fires no population spike with these "
                       f"parameters: it settles at a steady state with {state}. {network} What "
                       "the deterministic model lacks is noise.", 0, holds=True)
    return Verdict(f"The deterministic rate model fires {n_det} population spikes with "
                   f"these parameters (its last 500 ms: {state}); the network fires "
                   f"{n_ps}. Noise changes the picture further.", n_det, holds=False)


def depression_sentence(n_no_dep: int, n_noisy: int) -> Verdict:
    """Whether depression is what makes the noisy rate model's full events
    (``n_noisy`` with depression, ``n_no_dep`` without). ``n``: both together."""
    n = n_no_dep + n_noisy
    if n_no_dep == 0 and n_noisy > 0:
        return Verdict("Depression is what makes population spikes: without it the "
                       "synapses onto excitatory neurons from inhibitory ones do not weaken "
                       "either, the activity stays low, and the noise only makes small partial "
                       "blips.", n, holds=True)
    if n_noisy == 0:
        return Verdict("With these parameters and this recording time even the noisy model "
                       "fires no full population spike.", 0)
    return Verdict("Without depression the activity still crosses the threshold of a "
                   "population spike here: other mechanisms (inhibition, facilitation) shape "
                   "these events.", n, holds=False)


def no_noise_item(n_det: int, n_noisy: int) -> str:
    """The list item on events without noise (``n_det`` deterministic events,
    ``n_noisy`` full events of the noisy model)."""
    if n_det == 0:
        return ("No population spikes without noise. The deterministic model with "
                "these parameters settles at a steady state"
                + ("; only the finite-size noise makes it fire." if n_noisy else
                   " (in these short runs the noisy one fired no full population spike "
                   "either)."))
    return (f"Deterministic events. Without noise the model fires {n_det} events here; noise "
            "makes their timing irregular, as in the network.")


# --- critical x -------------------------------------------------------------------------------

CRITICAL_NAMES = {"x_c_excitation": "excitation alone",
                  "x_c_inhibition": "inhibition without facilitation",
                  "x_c_facilitated": "inhibition with facilitation"}
"""The estimates of the critical x, by variable of
:func:`~tum2000.sweeps.mean_field_comparison.critical_x_at_population_spikes`."""


def gain_sentence(gain: float, x_c: float) -> Verdict:
    """Whether the exact LIF curve folds: ``gain`` is the largest loop gain along
    its low branch, ``x_c`` the critical x without inhibition. ``holds`` (gain
    below 1) means the network's population spikes are noise-driven escapes."""
    if gain < 1:
        return Verdict("The exact curve of a large LIF population is gentler than this "
                       f"estimate: the largest loop gain along its low branch is {gain:.2f}, "
                       "below 1, so a deterministic population of this kind never jumps. The "
                       "network's population spikes are then noise-driven escapes from a low "
                       "state whose gain is close to 1; the estimates above say where that "
                       "state becomes fragile.", 0, holds=True)
    return Verdict("The exact curve of a large LIF population folds too (largest loop "
                   f"gain along the low branch {gain:.2f}, at x = {x_c:.2f} without "
                   "inhibition).", 0, holds=False)


def critical_medians(crit: xr.Dataset) -> dict[str, float]:
    """The median over population spikes of every variable of ``crit`` (NaN
    without population spikes)."""
    n = int(crit.sizes["ps"])
    return {k: float(np.median(crit[k])) if n else np.nan for k in crit.data_vars}


def critical_verdict(med: Mapping[str, float], n: int) -> Verdict:
    """Which estimate of the critical x is closest to the measured x before a
    population spike (medians ``med`` over ``n`` population spikes), and
    whether the estimates bracket it (``holds``)."""
    if not n:
        return Verdict("Without population spikes in these runs there is nothing to compare "
                       "the estimates with.", 0)
    closest = min(CRITICAL_NAMES, key=lambda k: abs(med[k] - med["x_before"]))
    off = abs(med[closest] - med["x_before"])
    if not (med["x_c_excitation"] <= med["x_before"] <= med["x_c_facilitated"]):
        return Verdict(f"The measured x before a population spike is not bracketed by the "
                       f"estimates here; the closest is the one with {CRITICAL_NAMES[closest]} "
                       f"(off by {off:.2f}).", n, holds=False)
    return Verdict(f"The measured x before a population spike lies between the estimate for "
                   f"excitation alone and the one with facilitated inhibition; the closest "
                   f"estimate is the one with {CRITICAL_NAMES[closest]} (off by {off:.2f}). "
                   f"These are linearised estimates, good to a few hundredths, not "
                   f"predictions of each event.", n, holds=True)


# --- the parameter comparisons -------------------------------------------------------------

def sweep_table(sweeps: Mapping[str, xr.Dataset]) -> pd.DataFrame:
    """Network against rate model per parameter and value: population spikes,
    mean interval (ms), x before and after, participation and partial fraction
    (:func:`~tum2000.sweeps.mean_field_comparison.pooled` over seeds)."""
    rows = []
    for name, result in sweeps.items():
        pooled = comparison.pooled(result)
        for model in ("network", "rate_model"):
            for v in result["value"].values:
                p = pooled.sel(model=model, value=v)
                rows.append({"parameter": name, "value": v, "model": model.replace("_", " "),
                             "PS": int(p["n_ps"]),
                             "interval (ms)": round(float(p["interval_ms"]), 0),
                             "x before": round(float(p["x_before"]), 3),
                             "x after": round(float(p["x_after"]), 3),
                             "participation": round(float(p["participation"]), 2),
                             "partial fraction": round(float(p["partial_fraction"]), 2)})
    return pd.DataFrame(rows).set_index(["parameter", "value", "model"])


def interval_sentence(tau: xr.Dataset, duration_ms: float) -> Verdict:
    """How the network's mean interval (ms) changes over the tau_rec comparison
    ``tau``; ``duration_ms`` the recording. ``n``: the values with an interval."""
    net_int = comparison.pooled(tau)["interval_ms"].sel(model="network")
    ok = np.isfinite(net_int.values)
    if ok.sum() < 2:
        return Verdict(f"With recordings of {duration_ms / 1000:.1f} s most of these runs hold "
                       "fewer than two population spikes, too few for an interval: run the page "
                       "longer (see the end).", int(ok.sum()))
    v = tau["value"].values[ok]
    return Verdict(f"In the network the mean interval goes from {float(net_int[ok][0]):.0f} ms "
                   f"at tau_rec = {v[0]:g} ms to {float(net_int[ok][-1]):.0f} ms at {v[-1]:g} ms "
                   f"(a recording of {duration_ms / 1000:.1f} s cannot hold a longer interval, "
                   "so long intervals are under-represented).", int(ok.sum()))


# --- what the finite-size noise changes -----------------------------------------------------

def interval_cv(runs: Iterable[tuple[np.ndarray, np.ndarray]]) -> Estimate:
    """The coefficient of variation of the intervals between population spikes
    within each run (``runs``: (times ms, x before) per run; runs with at least
    three population spikes), averaged over runs with its 95 % interval."""
    return Estimate.of([np.std(np.diff(t)) / np.mean(np.diff(t)) for t, _ in runs if t.size >= 3])


def x_interval_correlation(runs: Iterable[tuple[np.ndarray, np.ndarray]]) -> Estimate:
    """The correlation between x before a population spike and the interval (ms)
    since the previous one within each run (``runs``: (times, x before); runs
    with fewer than three pairs or a constant series are skipped), averaged over
    runs with its 95 % interval."""
    values = []
    for t, x in runs:
        ipi, xb = np.diff(t), np.asarray(x)[1:]
        if ipi.size >= 3 and np.ptp(ipi) > 0 and np.ptp(xb) > 0:
            values.append(np.corrcoef(xb, ipi)[0, 1])
    return Estimate.of(values)


def noise_sentence(cv_network: Estimate, cv_rate_model: Estimate) -> Verdict:
    """Whether both the network and the rate model are far from a clock (mean
    interval CV above 0.2 in both). ``n``: the runs behind both CVs."""
    n = cv_network.n + cv_rate_model.n
    if not (np.isfinite(cv_network.mean) and np.isfinite(cv_rate_model.mean)):
        return Verdict("These runs are too short for interval statistics; re-run the page "
                       "longer (see the end).", n)
    irregular = min(cv_network.mean, cv_rate_model.mean) > 0.2
    return Verdict("Both are far from a clock." if irregular else
                   "At least one of them is close to regular here.", n, holds=irregular)


def size_sentence(part_network: float, part_rate_model: float) -> Verdict:
    """Whether the rate model's events recruit fewer excitatory neurons than the
    network's (mean participations, fractions; NaN without events)."""
    if not (np.isfinite(part_network) and np.isfinite(part_rate_model)):
        return Verdict("(One of the two has no population spike in these runs.)", 0)
    if part_rate_model < part_network:
        return Verdict("A rate that follows its input instantly cannot synchronise neurons "
                       "the way the membranes of the network do, when a strong input pulse "
                       "brings many of them to threshold within a millisecond.", 0, holds=True)
    return Verdict("Here the model's events are not smaller than the network's.", 0, holds=False)


def pooled_statistics(statistics: Sequence[Mapping[str, float]]) -> xr.Dataset:
    """:func:`~tum2000.sweeps.mean_field_comparison.pooled` over runs of per-run
    statistics (``network_statistics`` or ``rate_model_statistics`` dicts)."""
    return comparison.pooled(xr.Dataset({k: ("seed", [st[k] for st in statistics])
                                         for k in comparison.STATISTICS}))


def coarse_noise_dt(record_dt_ms: float, dt_ms: float) -> float:
    """A coarser noise step (ms): about 5 time steps ``dt_ms``, dividing the
    record step ``record_dt_ms``."""
    return record_dt_ms / math.ceil(record_dt_ms / (5 * dt_ms))


def statistics_glue(network: xr.Dataset, rate_model: xr.Dataset,
                    coarse: xr.Dataset) -> dict[str, Any]:
    """``mf_{part,xa,xbf,partial}_{net,rm,coarse}``: participation and partial
    fraction (percent), x after and before of the network, the rate model and the
    rate model with a coarser noise step (:func:`pooled_statistics`), and
    :func:`size_sentence` as ``mf_size_sentence``."""
    glued = {}
    for key, var, spec in (("part", "participation", ".0%"), ("xa", "x_after", ".2f"),
                           ("xbf", "x_before", ".2f"), ("partial", "partial_fraction", ".0%")):
        for suffix, stats in (("net", network), ("rm", rate_model), ("coarse", coarse)):
            glued[f"mf_{key}_{suffix}"] = number(float(stats[var]), spec, NO_PS)
    glued["mf_size_sentence"] = size_sentence(float(network["participation"]),
                                              float(rate_model["participation"])).text
    return glued
