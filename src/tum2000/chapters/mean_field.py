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

from typing import Any

import numpy as np
import xarray as xr

from tum2000.analysis import population_spikes as kinds
from tum2000.analysis.recovery import RMSE_MIN_RECOVERY_MS
from tum2000.chapters.tables import Estimate, Verdict, value_or_undefined
from tum2000.meanfield import synapse as theory

NO_PS = "undefined (no population spike)"


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


# --- how steady the rates are ------------------------------------------------------------------

def rate_window_correlation(rates_hz: np.ndarray) -> Estimate:
    """Pearson r between the excitatory neurons' rates in consecutive
    recovery windows (``rates_hz`` (window, neuron), from
    :func:`~tum2000.analysis.recovery_prediction.presynaptic_activity`),
    averaged over the pairs of windows with its Student-t interval (n: pairs).

    Near 1: a neuron's rate is set by its background input, and the rates of
    the window a recovery is predicted in are nearly those of the one before.
    """
    r = np.asarray(rates_hz, dtype=float)
    values = [float(np.corrcoef(a, b)[0, 1]) for a, b in zip(r[:-1], r[1:])
              if np.std(a) > 0 and np.std(b) > 0]
    return Estimate.of(values)
