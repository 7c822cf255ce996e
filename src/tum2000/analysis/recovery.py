"""Recovery dynamics of the mean synaptic variables around population spikes.

Panel C of Fig. 1 (Tsodyks, Uziel & Markram 2000) shows the mean recovered
fraction x of the excitatory-to-excitatory synapses: it falls at each
population spike (PS) and recovers between them. This module measures, for
each PS of a pathway,

* **the drop**: x at the PS onset (``x_before``) and the minimum of x from
  the onset to ``after_ms`` after the offset (``x_after``: the single
  definition used everywhere). Each presynaptic neuron fires about once in a
  PS, so each synapse keeps (1 - U) of its x when its neuron fires and all of
  it otherwise; on average ``x_after / x_before ~ 1 - mean(U) n``, with n the
  mean number of spikes per presynaptic neuron in the PS (the *drop map*).
  The continuous mean-field equation would instead give ``exp(-U n)``, as if
  the n spikes were spread over many small releases; it overestimates x after
  the PS. The most depressed synapses are those with the largest U, so the
  fraction actually released is ``mean(U x)/mean(x)`` < mean(U) (from the
  replayed states: the *weighted* map);
* **the recovery** from ``x_after`` to shortly before the next PS: a bounded
  exponential fit (x_inf in [0, 1], tau up to a few times the window, flagged
  when not meaningful), the homogeneous mean-field prediction (the naive
  baseline) and the per-synapse prediction
  (:mod:`tum2000.analysis.recovery_prediction`), both compared with the
  recorded trajectory (rmse), not only through their asymptotes;
* for facilitating pathways (EI, II) the same for the recorded utilization u,
  with the corrected equations: u decays to 0 between spikes, so its Poisson
  fixed point is ``U r tau_f/(1 + U r tau_f)``, and a spike releases the
  fraction ``U + (1 - U) u`` of x.

The mean-field equation for x, ``dx/dt = (1 - x)/tau_rec - U x r``, is from
Tsodyks, Pawelzik & Markram (1998), Neural Computation 10:821.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy.optimize import OptimizeWarning, curve_fit

from tum2000.store.dataset import duration_ms, neuron_mask
from tum2000.meanfield.synapse import CV_REGULAR_MAX, release_fraction
from tum2000.analysis.population_spikes import detect_population_spikes
from tum2000.analysis.recovery_prediction import (facilitation_prediction, homogeneous_prediction,
                                  homogeneous_trajectory, per_synapse_trajectory,
                                  presynaptic_activity)
from tum2000.analysis.synapse_replay import replayable, synapse_states

RMSE_MIN_RECOVERY_MS = 500.0
"""Recoveries at least this long enter the summary's trajectory rmse (ms)."""
TAU_MAX_WINDOWS = 5.0
"""A fitted recovery time constant is bounded to this many times the fitted window."""
FIT_TOLERANCE = 1e-15
"""Stopping tolerances (ftol, xtol, gtol) of the least-squares fit: converged
to the last digits. With SciPy's default 1e-8 the fit stops wherever its path
crosses the tolerance, and that path moves with the last bits of x: fitted time
constants then differed by up to 1.2e-5 (relative) between processors whose
NumPy ``exp`` differs in the last bit (cheap runs: 1.3e-7); converged, the
stopping point no longer moves, but the fit stays ill-conditioned (measured
across processors: 1.3e-5 on long runs, 6e-8 on cheap ones; see
:mod:`tum2000.store.stored`)."""


def exponential_approach(t: np.ndarray, x_inf: float, x0: float, tau: float,
                         t0: float = 0.0) -> np.ndarray:
    """x(t) = x_inf - (x_inf - x0) exp(-(t - t0) / tau)."""
    return x_inf - (x_inf - x0) * np.exp(-(np.asarray(t) - t0) / tau)


def fit_exponential_approach(t_ms: np.ndarray, x: np.ndarray,
                             bounds: tuple[float, float] = (0.0, 1.0),
                             tau_max_windows: float = TAU_MAX_WINDOWS) -> dict[str, float]:
    """Bounded least-squares fit of :func:`exponential_approach`, t0 = ``t_ms[0]``.

    ``x_inf`` and ``x0`` are bounded to ``bounds`` (a fraction of resources
    lies in [0, 1]); ``tau`` to [1 ms, ``tau_max_windows`` x the window].
    Returns ``x_inf``, ``x0``, ``tau`` (ms), ``rmse`` and ``meaningful``: 1
    when the window covers at least one fitted time constant and no
    parameter sits on a bound, else 0 (the asymptote is then an
    extrapolation, not a measurement). All NaN when the fit fails or fewer
    than 5 samples are given.
    """
    t = np.asarray(t_ms, dtype=np.float64)
    y = np.asarray(x, dtype=np.float64)
    nan = {"x_inf": np.nan, "x0": np.nan, "tau": np.nan, "rmse": np.nan, "meaningful": np.nan}
    ok = np.isfinite(y)
    t, y = t[ok], y[ok]
    if t.size < 5 or np.ptp(y) == 0:
        return nan
    t0 = float(t[0])
    span = max(float(t[-1] - t0), 1e-9)
    lo, hi = bounds
    tau_hi = tau_max_windows * span
    # start: x_inf from the last value, tau from where 63 % of the way is reached
    target = y[0] + 0.632 * (y[-1] - y[0])
    crossed = np.flatnonzero((y - target) * np.sign(y[-1] - y[0]) >= 0)
    tau0 = min(max(float(t[crossed[0]] - t0) if crossed.size else span / 3, 2.0), tau_hi / 2)
    p0 = (float(np.clip(y[-1], lo, hi)), float(np.clip(y[0], lo, hi)), tau0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            popt, _ = curve_fit(lambda tt, a, b, c: exponential_approach(tt, a, b, c, t0),
                                t, y, p0=p0, bounds=([lo, lo, 1.0], [hi, hi, tau_hi]),
                                ftol=FIT_TOLERANCE, xtol=FIT_TOLERANCE,
                                gtol=FIT_TOLERANCE, maxfev=5000)
    except (RuntimeError, ValueError):
        return nan
    resid = y - exponential_approach(t, *popt, t0=t0)
    x_inf, tau = float(popt[0]), float(popt[2])
    edge = 1e-3 * (hi - lo)
    meaningful = (tau <= span and lo + edge < x_inf < hi - edge and tau < 0.99 * tau_hi)
    return {"x_inf": x_inf, "x0": float(popt[1]), "tau": tau,
            "rmse": float(np.sqrt(np.mean(resid ** 2))), "meaningful": float(meaningful)}


def mean_field_prediction(rate_hz: float, U: float, tau_ms: float) -> tuple[float, float]:
    """(tau_pred in ms, x_inf_pred) of the homogeneous mean-field equation.

    ``dx/dt = (1 - x)/tau - U x r`` (Tsodyks, Pawelzik & Markram 1998) at one
    constant rate: the naive baseline (see :mod:`.recovery_prediction`).
    """
    tau, x_inf = homogeneous_prediction(rate_hz, U, tau_ms)
    return float(tau), float(x_inf)


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.sqrt(np.mean((a[ok] - b[ok]) ** 2))) if ok.any() else np.nan


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return np.nan
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


VARIABLES: dict[str, tuple[str, str]] = {
    # name: (units, long name)
    "x_before": ("1", "x at the PS onset"),
    "x_after": ("1", "minimum of x from the PS onset to after_ms after its offset"),
    "x_drop": ("1", "x_before - x_after"),
    "t_after": ("ms", "time of x_after"),
    "time_to_next": ("ms", "interval from this PS to the next"),
    "n_pre_spikes": ("1", "spikes per presynaptic neuron from the PS onset to t_after "
                     "(or to the offset when later)"),
    "release_fraction": ("1", "mean fraction of x released per spike at the PS"),
    "x_after_drop_map": ("1", "x_before (1 - release_fraction n_pre_spikes)"),
    "x_after_exp_map": ("1", "x_before exp(-release_fraction n_pre_spikes) (continuous)"),
    "drop_map_error": ("1", "x_after_drop_map - x_after"),
    "exp_map_error": ("1", "x_after_exp_map - x_after"),
    "release_fraction_weighted": ("1", "release fraction of the synapses weighted by their "
                                  "replayed x at the onset: mean(rho x) / mean(x)"),
    "x_after_weighted_map": ("1", "x_before (1 - release_fraction_weighted n_pre_spikes)"),
    "weighted_map_error": ("1", "x_after_weighted_map - x_after"),
    "fit_t0": ("ms", "start of the recovery window (t_after)"),
    "fit_t1": ("ms", "end of the recovery window"),
    "fit_x0": ("1", "fitted start of the recovery"),
    "fit_x_inf": ("1", "fitted asymptote, bounded to [0, 1]"),
    "fit_tau": ("ms", "fitted time constant"),
    "fit_rmse": ("1", "rmse of the exponential fit"),
    "fit_meaningful": ("1", "1: the window covers a time constant and no fit parameter "
                       "is on its bound"),
    "pre_rate_hz": ("Hz", "mean presynaptic rate in the recovery window"),
    "u_interval": ("1", "mean recorded u in the recovery window"),
    "tau_naive": ("ms", "homogeneous mean-field time constant at the mean rate"),
    "x_inf_naive": ("1", "homogeneous mean-field fixed point at the mean rate"),
    "x_recovery_rmse_naive": ("1", "rmse of the homogeneous prediction against x"),
    "x_inf_per_synapse": ("1", "mean over synapses of each synapse's steady x"),
    "x_end_per_synapse": ("1", "per-synapse prediction at the end of the window"),
    "x_end": ("1", "x at the end of the recovery window"),
    "x_recovery_rmse": ("1", "rmse of the per-synapse prediction against x"),
    "silent_fraction": ("1", "presynaptic neurons without a spike in the window"),
    "regular_fraction": ("1", "synapses predicted with the periodic formula"),
    "u_before": ("1", "recorded u at the PS onset"),
    "u_after": ("1", "maximum of u from the onset to after_ms after the offset"),
    "u_rise": ("1", "u_after - u_before"),
    "fit_u_tau": ("ms", "fitted time constant of u's relaxation"),
    "fit_u_inf": ("1", "fitted asymptote of u"),
    "tau_u_naive": ("ms", "Poisson mean-field time constant of u at the mean rate"),
    "u_inf_naive": ("1", "Poisson mean-field fixed point of u at the mean rate"),
    "u_inf_per_synapse": ("1", "mean over synapses of each synapse's steady u"),
    "u_recovery_rel_error": ("1", "rms error of the per-synapse u prediction / mean u"),
}


def recovery_dynamics(ds: xr.Dataset, pathway: str = "EE", ps: xr.Dataset | None = None, *,
                      after_ms: float = 20.0, margin_ms: float = 5.0,
                      min_fit_ms: float = 50.0, per_synapse: bool = True,
                      cv_regular_max: float = CV_REGULAR_MAX,
                      **detect_options) -> xr.Dataset:
    """x (and u) around each population spike of ``pathway``: drop, fits, predictions.

    Parameters
    ----------
    ds
        A tum2000 dataset.
    pathway
        "EE", "EI", "IE" or "II" (source then target); the presynaptic
        population is the source (E: "exc", I: "inh").
    ps
        Population spikes (:func:`detect_population_spikes`; detected with
        ``detect_options`` when None).
    after_ms
        ``x_after`` is the minimum of x from the PS onset to ``after_ms`` after
        its offset (ms); ``x_before`` is x at the onset sample (the last
        sample at or before the onset).
    margin_ms
        The recovery after PS k runs from the time of ``x_after`` to
        ``margin_ms`` before the onset of PS k+1 (or to the end of the
        recording after the last PS), so the rise of activity before a PS
        does not enter it (ms).
    min_fit_ms
        Recoveries shorter than this are not fitted or predicted (NaN).
    per_synapse
        Compute the per-synapse prediction (replays the dataset's spikes; a
        dataset of another code version gives NaN with a warning).
    cv_regular_max
        ISI CV below which a presynaptic neuron is treated as periodic.

    Returns
    -------
    xarray.Dataset on dim ``ps`` with the variables of :data:`VARIABLES`
    (NaN where undefined: depressing pathways have no u variables), and
    ``ps_time``; on dim ``time`` (the dataset's) the trajectories
    ``x_pred`` (per synapse) and ``x_pred_naive`` (homogeneous), and for
    facilitating pathways ``u_pred``, NaN outside the recovery windows.
    Scalars: ``x_mean``, ``x_min``, ``x_max`` over the recording,
    ``corr_x_before_ipi`` (Pearson r of x_before with the interval since the
    previous PS) and ``corr_x_after_next`` (r of x_after with the time to the
    next PS), NaN with fewer than 3 pairs.
    """
    if ps is None:
        ps = detect_population_spikes(ds, **detect_options)
    if pathway not in list(np.asarray(ds["pathway"].values).astype(str)):
        raise ValueError(f"unknown pathway {pathway!r} (allowed: EE, EI, IE, II)")
    source = {"E": "exc", "I": "inh"}[pathway[0]]
    sel = ds.sel(pathway=pathway)
    t = np.asarray(ds["time"].values, dtype=np.float64)
    step = float(t[1] - t[0]) if t.size > 1 else 1.0
    x = np.asarray(sel["recovered"].values, dtype=np.float64)
    u = np.asarray(sel["utilization"].values, dtype=np.float64)
    U = float(sel["U_mean"].values) if "U_mean" in ds else np.nan
    tau_rec = float(sel["tau_rec_mean"].values) if "tau_rec_mean" in ds else np.nan
    tau_f = float(sel["tau_facil_mean"].values) if "tau_facil_mean" in ds else np.nan
    facil = bool(np.isfinite(tau_f))
    dur = duration_ms(ds)
    spike_t = np.asarray(ds["spike_time"].values, dtype=np.float64)
    spike_n = np.asarray(ds["spike_neuron"].values, dtype=np.int64)
    pre_neurons = np.flatnonzero(neuron_mask(ds, source))

    onset = np.asarray(ps["ps_onset"].values, dtype=np.float64)
    offset = np.asarray(ps["ps_offset"].values, dtype=np.float64)
    ps_time = np.asarray(ps["ps_time"].values, dtype=np.float64)
    n = onset.size
    v = {k: np.full(n, np.nan) for k in VARIABLES}
    traj = {k: np.full(t.size, np.nan) for k in ("x_pred", "x_pred_naive", "u_pred")}

    # --- the drop across each PS -------------------------------------------------
    windows, u_peak, onset_sample = [], np.zeros(n, dtype=np.int64), np.zeros(n)
    for k in range(n):
        i_on = max(int(np.searchsorted(t, onset[k], side="right")) - 1, 0)
        i_end = int(np.searchsorted(t, offset[k] + after_ms, side="right"))
        if k + 1 < n:
            i_end = min(i_end, int(np.searchsorted(t, onset[k + 1], side="right")))
        i_end = max(i_end, i_on + 1)
        i_min = i_on + int(np.argmin(x[i_on:i_end]))
        onset_sample[k] = t[i_on]
        v["x_before"][k], v["x_after"][k] = x[i_on], x[i_min]
        v["x_drop"][k] = x[i_on] - x[i_min]
        v["t_after"][k] = t[i_min]
        # spikes that released resources: from the onset to x's minimum (or the
        # offset, if the minimum comes first)
        lo, hi = np.searchsorted(spike_t, [onset[k], max(t[i_min], offset[k])], side="left")
        v["n_pre_spikes"][k] = np.isin(spike_n[lo:hi], pre_neurons).sum() / max(
            pre_neurons.size, 1)
        if facil:
            i_max = i_on + int(np.argmax(u[i_on:i_end]))
            u_peak[k] = i_max
            v["u_before"][k], v["u_after"][k] = u[i_on], u[i_max]
            v["u_rise"][k] = u[i_max] - u[i_on]
            v["release_fraction"][k] = U + (1.0 - U) * u[i_on]
        else:
            v["release_fraction"][k] = U
        if k + 1 < n:
            v["time_to_next"][k] = ps_time[k + 1] - ps_time[k]
        t1 = (onset[k + 1] - margin_ms) if k + 1 < n else dur
        windows.append((t[i_min], t1))
    released = v["release_fraction"] * v["n_pre_spikes"]
    v["x_after_drop_map"] = v["x_before"] * (1.0 - released)
    v["x_after_exp_map"] = v["x_before"] * np.exp(-released)
    v["drop_map_error"] = v["x_after_drop_map"] - v["x_after"]
    v["exp_map_error"] = v["x_after_exp_map"] - v["x_after"]

    # --- the recovery after each PS ----------------------------------------------
    fitted = [k for k in range(n) if windows[k][1] - windows[k][0] >= min_fit_ms]
    win = np.asarray([windows[k] for k in fitted]).reshape(-1, 2)
    rates, counts, cv = presynaptic_activity(spike_t, spike_n, pre_neurons, win)
    states = None
    if per_synapse and n and replayable(ds):
        # queries: every onset, then the start of every predicted recovery
        states = synapse_states(ds, pathway, np.concatenate([onset_sample, win[:, 0]]))
        xs = states["x"].values[:n]
        rho = np.where(np.isfinite(states["tau_facil"].values),
                       release_fraction(states["U"].values, states["u"].values[:n]),
                       states["U"].values)
        v["release_fraction_weighted"] = (rho * xs).mean(axis=1) / xs.mean(axis=1)
        v["x_after_weighted_map"] = v["x_before"] * (
            1.0 - v["release_fraction_weighted"] * v["n_pre_spikes"])
        v["weighted_map_error"] = v["x_after_weighted_map"] - v["x_after"]
    for j, k in enumerate(fitted):
        t0, t1 = win[j]
        w = (t >= t0) & (t <= t1)
        idx = np.flatnonzero(w)
        fit = fit_exponential_approach(t[w], x[w])
        v["fit_t0"][k], v["fit_t1"][k] = t0, t1
        v["fit_x0"][k], v["fit_x_inf"][k] = fit["x0"], fit["x_inf"]
        v["fit_tau"][k], v["fit_rmse"][k] = fit["tau"], fit["rmse"]
        v["fit_meaningful"][k] = fit["meaningful"]
        v["x_end"][k] = x[idx[-1]]
        rate = float(counts[j].sum()) / max(pre_neurons.size, 1) / (t1 - t0) * 1000.0
        v["pre_rate_hz"][k] = rate
        v["silent_fraction"][k] = float(np.mean(counts[j] == 0)) if counts[j].size else np.nan
        u_mean = float(np.mean(u[w]))
        v["u_interval"][k] = u_mean
        rho = U + (1.0 - U) * u_mean if facil else U
        v["tau_naive"][k], v["x_inf_naive"][k] = homogeneous_prediction(rate, rho, tau_rec)
        naive = homogeneous_trajectory(x[idx[0]], rate, rho, tau_rec, idx.size, step)
        traj["x_pred_naive"][idx] = naive
        v["x_recovery_rmse_naive"][k] = _rmse(naive, x[idx])
        if states is not None:
            by_neuron_rate = np.zeros(ds.sizes["neuron"])
            by_neuron_cv = np.full(ds.sizes["neuron"], np.nan)
            by_neuron_rate[pre_neurons], by_neuron_cv[pre_neurons] = rates[j], cv
            pred = per_synapse_trajectory(states, n + j, by_neuron_rate, by_neuron_cv,
                                          idx.size, step, cv_regular_max)
            traj["x_pred"][idx] = pred["x"]
            v["x_recovery_rmse"][k] = _rmse(pred["x"], x[idx])
            v["x_inf_per_synapse"][k] = pred["x_inf"]
            v["x_end_per_synapse"][k] = pred["x"][-1]
            v["regular_fraction"][k] = pred["regular"]
            if facil:
                traj["u_pred"][idx] = pred["u"]
                v["u_inf_per_synapse"][k] = pred["u_inf"]
                v["u_recovery_rel_error"][k] = _rmse(pred["u"], u[idx]) / u_mean
        if facil:
            wu = np.arange(u_peak[k], idx[-1] + 1)
            ufit = fit_exponential_approach(t[wu], u[wu])
            v["fit_u_tau"][k], v["fit_u_inf"][k] = ufit["tau"], ufit["x_inf"]
            v["tau_u_naive"][k], v["u_inf_naive"][k] = facilitation_prediction(rate, U, tau_f)

    ipi_before = np.concatenate([[np.nan], np.diff(ps_time)]) if n else np.zeros(0)
    data = {k: ("ps", val, {"units": VARIABLES[k][0], "long_name": VARIABLES[k][1]})
            for k, val in v.items()}
    data["ps_time"] = ("ps", ps_time, {"units": "ms"})
    for name, long in (("x_pred", "per-synapse prediction of the mean x"),
                       ("x_pred_naive", "homogeneous (naive) prediction of the mean x"),
                       ("u_pred", "per-synapse prediction of the mean recorded u")):
        data[name] = ("time", traj[name], {"units": "1", "long_name": long})
    data["x_mean"] = ((), float(np.mean(x)) if x.size else np.nan, {"units": "1"})
    data["x_min"] = ((), float(np.min(x)) if x.size else np.nan, {"units": "1"})
    data["x_max"] = ((), float(np.max(x)) if x.size else np.nan, {"units": "1"})
    data["corr_x_before_ipi"] = ((), _pearson(v["x_before"], ipi_before), {"units": "1"})
    data["corr_x_after_next"] = ((), _pearson(v["x_after"], v["time_to_next"]), {"units": "1"})
    return xr.Dataset(data, coords={"ps": ("ps", np.arange(n)),
                                    "time": ("time", t, {"units": "ms"})},
                      attrs={"pathway": pathway, "presynaptic": source, "U_mean": U,
                             "tau_rec_mean_ms": tau_rec,
                             "tau_facil_mean_ms": tau_f if facil else "none",
                             "facilitating": int(facil), "after_ms": after_ms,
                             "margin_ms": margin_ms, "min_fit_ms": min_fit_ms,
                             "cv_regular_max": cv_regular_max,
                             "per_synapse": int(states is not None),
                             "source": "mean-field equation for x: Tsodyks, Pawelzik & "
                                       "Markram (1998), Neural Comput 10:821"})
