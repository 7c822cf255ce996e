"""Recovery dynamics of the mean synaptic variables around population spikes.

Panel C of Fig. 1 (Tsodyks, Uziel & Markram 2000) shows the mean recovered
fraction x of the excitatory synapses: it falls at each population spike
(PS) and recovers between them. The paper explains the recovery with the
mean-field equation

    dx/dt = (1 - x) / tau_rec - U x r(t),

where r(t) is the presynaptic rate. For a constant rate r between PS the
solution approaches x_inf = (1/tau_rec) tau with time constant
tau = 1 / (1/tau_rec + U r). Here each recovery is fitted by
x(t) = x_inf - (x_inf - x0) exp(-(t - t0) / tau) (``scipy.optimize.curve_fit``)
and compared with that prediction, using the pathway's ``U_mean`` and
``tau_rec_mean`` from the dataset and the presynaptic population's measured
rate in the fitted interval.

For facilitating pathways (EI, II) the utilization u rises at each PS and
relaxes between them; the mean-field equation
du/dt = (U - u) / tau_facil + U (1 - u) r gives, for constant r,
tau_u = 1 / (1/tau_facil + U r) and u_inf = tau_u (U / tau_facil + U r).
Their x uses the measured mean u of the interval in place of U.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy.optimize import OptimizeWarning, curve_fit

from ..dataset import duration_ms, neuron_mask
from .population_spikes import detect_population_spikes


def exponential_approach(t: np.ndarray, x_inf: float, x0: float, tau: float,
                         t0: float = 0.0) -> np.ndarray:
    """x(t) = x_inf - (x_inf - x0) exp(-(t - t0) / tau)."""
    return x_inf - (x_inf - x0) * np.exp(-(np.asarray(t) - t0) / tau)


def fit_exponential_approach(t_ms: np.ndarray, x: np.ndarray) -> dict[str, float]:
    """Least-squares fit of :func:`exponential_approach` with t0 = ``t_ms[0]``.

    Returns ``x_inf``, ``x0``, ``tau`` (ms) and ``rmse``; all NaN when the
    fit fails or fewer than 5 samples are given. ``tau`` is bounded to
    (0, 1e6] ms.
    """
    t = np.asarray(t_ms, dtype=np.float64)
    y = np.asarray(x, dtype=np.float64)
    nan = {"x_inf": np.nan, "x0": np.nan, "tau": np.nan, "rmse": np.nan}
    ok = np.isfinite(y)
    t, y = t[ok], y[ok]
    if t.size < 5 or np.ptp(y) == 0:
        return nan
    t0 = float(t[0])
    span = max(float(t[-1] - t0), 1e-9)
    # start: x_inf from the last value, tau from where 63 % of the way is reached
    target = y[0] + 0.632 * (y[-1] - y[0])
    crossed = np.flatnonzero((y - target) * np.sign(y[-1] - y[0]) >= 0)
    tau0 = max(float(t[crossed[0]] - t0) if crossed.size else span / 3, 1.0)
    p0 = (float(y[-1]), float(y[0]), tau0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            popt, _ = curve_fit(lambda tt, a, b, c: exponential_approach(tt, a, b, c, t0),
                                t, y, p0=p0, bounds=([-np.inf, -np.inf, 1e-6], [np.inf, np.inf, 1e6]),
                                maxfev=5000)
    except (RuntimeError, ValueError):
        return nan
    resid = y - exponential_approach(t, *popt, t0=t0)
    return {"x_inf": float(popt[0]), "x0": float(popt[1]), "tau": float(popt[2]),
            "rmse": float(np.sqrt(np.mean(resid ** 2)))}


def mean_field_prediction(rate_hz: float, U: float, tau_ms: float) -> tuple[float, float]:
    """(tau_pred in ms, x_inf_pred) of dx/dt = (1 - x)/tau - U x r for a constant rate."""
    r = rate_hz / 1000.0  # per ms
    tau_pred = 1.0 / (1.0 / tau_ms + U * r)
    return tau_pred, tau_pred / tau_ms


def facilitation_prediction(rate_hz: float, U: float, tau_facil_ms: float) -> tuple[float, float]:
    """(tau_u in ms, u_inf) of du/dt = (U - u)/tau_facil + U (1 - u) r for a constant rate."""
    r = rate_hz / 1000.0
    tau_u = 1.0 / (1.0 / tau_facil_ms + U * r)
    return tau_u, tau_u * (U / tau_facil_ms + U * r)


def neuron_rates_hz(ds: xr.Dataset, population: str, t0: float, t1: float) -> np.ndarray:
    """Rate (Hz) of each neuron of ``population`` from its spikes in [t0, t1)."""
    mask = neuron_mask(ds, population)
    times = np.asarray(ds["spike_time"].values)
    neurons = np.asarray(ds["spike_neuron"].values)
    lo, hi = np.searchsorted(times, [t0, t1])
    counts = np.bincount(neurons[lo:hi], minlength=mask.size)[mask]
    return counts / (t1 - t0) * 1000.0


def heterogeneous_prediction(rates_hz: np.ndarray, U: float, tau_ms: float) -> float:
    """Mean-field asymptote averaged over presynaptic neurons with their own rates.

    Each presynaptic neuron i (rate r_i) drives its synapses towards
    x_inf_i = 1 / (1 + U tau_ms r_i); the mean of x_inf_i is returned. As
    x_inf is convex in r it exceeds the prediction from the mean rate
    (Jensen's inequality): with the spread of basal rates of this network
    (silent neurons next to neurons firing tens of Hz) the difference is large.
    (Starting values differ from synapse to synapse, so no single predicted
    time constant follows from this average.)
    """
    r = np.asarray(rates_hz, dtype=np.float64) / 1000.0
    if r.size == 0:
        return np.nan
    return float(np.mean(1.0 / (1.0 + U * tau_ms * r)))


def _population_rate_hz(ds: xr.Dataset, population: str, t0: float, t1: float) -> float:
    """Spikes of ``population`` with times in [t0, t1), per neuron per second."""
    if t1 <= t0:
        return np.nan
    mask = neuron_mask(ds, population)
    times = np.asarray(ds["spike_time"].values)
    neurons = np.asarray(ds["spike_neuron"].values)
    lo, hi = np.searchsorted(times, [t0, t1])
    n = int(mask[neurons[lo:hi]].sum())
    return n / (mask.sum() * (t1 - t0)) * 1000.0


def recovery_dynamics(ds: xr.Dataset, pathway: str = "EE", ps: xr.Dataset | None = None, *,
                      after_ms: float = 20.0, margin_ms: float = 5.0,
                      min_fit_ms: float = 50.0, **detect_options) -> xr.Dataset:
    """x (and u) around each population spike of ``pathway``, and the recovery fits.

    Parameters
    ----------
    ds
        A tum2000 dataset (``recovered`` and ``utilization`` sampled on ``time``).
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
        The recovery after PS k is fitted from the time of ``x_after`` to
        ``margin_ms`` before the onset of PS k+1 (or to the end of the
        recording after the last PS), so the rise of activity before a PS
        does not enter the fit (ms).
    min_fit_ms
        Intervals shorter than this are not fitted (NaN).

    Returns
    -------
    xarray.Dataset on dim ``ps``: ``ps_time``; ``x_before``, ``x_after``,
    ``x_drop`` (= before - after), ``t_after`` (ms); ``time_to_next``
    (ms, from this PS to the next, NaN for the last); for the interval after
    each PS: ``fit_t0``, ``fit_t1`` (ms), ``fit_x0``, ``fit_x_inf``,
    ``fit_tau`` (ms), ``fit_rmse``; ``pre_rate_hz`` (presynaptic rate in the
    interval), ``u_interval`` (mean u in it), ``tau_pred`` (ms) and
    ``x_inf_pred`` of the mean-field equation with the population's mean
    rate, and ``x_inf_pred_neurons``, the asymptote of the same equation
    applied to each presynaptic neuron with its own rate, averaged
    (:func:`heterogeneous_prediction`). For facilitating pathways
    also ``u_before``, ``u_after`` (maximum in the same window), ``u_rise``,
    ``fit_u_tau``, ``fit_u_inf`` (fitted from the time of ``u_after``), ``tau_u_pred``, ``u_inf_pred`` (NaN for
    depressing pathways). Scalars: ``x_mean``, ``x_min``, ``x_max`` over the
    recording, ``corr_x_before_ipi`` (Pearson r of x_before with the interval
    since the previous PS) and ``corr_x_after_next`` (r of x_after with the
    time to the next PS), NaN with fewer than 3 pairs.
    """
    if ps is None:
        ps = detect_population_spikes(ds, **detect_options)
    if pathway not in list(np.asarray(ds["pathway"].values).astype(str)):
        raise ValueError(f"unknown pathway {pathway!r} (allowed: EE, EI, IE, II)")
    source = {"E": "exc", "I": "inh"}[pathway[0]]
    sel = ds.sel(pathway=pathway)
    t = np.asarray(ds["time"].values, dtype=np.float64)
    x = np.asarray(sel["recovered"].values, dtype=np.float64)
    u = np.asarray(sel["utilization"].values, dtype=np.float64)
    U = float(sel["U_mean"].values) if "U_mean" in ds else np.nan
    tau_rec = float(sel["tau_rec_mean"].values) if "tau_rec_mean" in ds else np.nan
    tau_f = float(sel["tau_facil_mean"].values) if "tau_facil_mean" in ds else np.nan
    facil = bool(np.isfinite(tau_f))
    dur = duration_ms(ds)

    onset = np.asarray(ps["ps_onset"].values, dtype=np.float64)
    offset = np.asarray(ps["ps_offset"].values, dtype=np.float64)
    ps_time = np.asarray(ps["ps_time"].values, dtype=np.float64)
    n = onset.size
    names = ["x_before", "x_after", "x_drop", "t_after", "time_to_next", "fit_t0", "fit_t1",
             "fit_x0", "fit_x_inf", "fit_tau", "fit_rmse", "pre_rate_hz", "u_interval",
             "tau_pred", "x_inf_pred", "x_inf_pred_neurons", "u_before", "u_after", "u_rise", "fit_u_tau",
             "fit_u_inf", "tau_u_pred", "u_inf_pred"]
    v = {k: np.full(n, np.nan) for k in names}
    for k in range(n):
        i_on = max(int(np.searchsorted(t, onset[k], side="right")) - 1, 0)
        i_end = int(np.searchsorted(t, offset[k] + after_ms, side="right"))
        if k + 1 < n:
            i_end = min(i_end, int(np.searchsorted(t, onset[k + 1], side="right")))
        i_end = max(i_end, i_on + 1)
        i_min = i_on + int(np.argmin(x[i_on:i_end]))
        v["x_before"][k], v["x_after"][k] = x[i_on], x[i_min]
        v["x_drop"][k] = x[i_on] - x[i_min]
        v["t_after"][k] = t[i_min]
        if facil:
            i_max = i_on + int(np.argmax(u[i_on:i_end]))
            v["u_before"][k], v["u_after"][k] = u[i_on], u[i_max]
            v["u_rise"][k] = u[i_max] - u[i_on]
        if k + 1 < n:
            v["time_to_next"][k] = ps_time[k + 1] - ps_time[k]
        t0 = t[i_min]
        t1 = (onset[k + 1] - margin_ms) if k + 1 < n else dur
        if t1 - t0 < min_fit_ms:
            continue
        w = (t >= t0) & (t <= t1)
        fit = fit_exponential_approach(t[w], x[w])
        v["fit_t0"][k], v["fit_t1"][k] = t0, t1
        v["fit_x0"][k], v["fit_x_inf"][k] = fit["x0"], fit["x_inf"]
        v["fit_tau"][k], v["fit_rmse"][k] = fit["tau"], fit["rmse"]
        rate = _population_rate_hz(ds, source, t0, t1)
        v["pre_rate_hz"][k] = rate
        u_mean = float(np.mean(u[w]))
        v["u_interval"][k] = u_mean
        v["tau_pred"][k], v["x_inf_pred"][k] = mean_field_prediction(
            rate, u_mean if facil else U, tau_rec)
        v["x_inf_pred_neurons"][k] = heterogeneous_prediction(
            neuron_rates_hz(ds, source, t0, t1), u_mean if facil else U, tau_rec)
        if facil:
            t0u = t[i_on + int(np.argmax(u[i_on:i_end]))]
            wu = (t >= t0u) & (t <= t1)
            ufit = fit_exponential_approach(t[wu], u[wu])
            v["fit_u_tau"][k], v["fit_u_inf"][k] = ufit["tau"], ufit["x_inf"]
            v["tau_u_pred"][k], v["u_inf_pred"][k] = facilitation_prediction(rate, U, tau_f)

    def _r(a: np.ndarray, b: np.ndarray) -> float:
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
            return np.nan
        return float(np.corrcoef(a[ok], b[ok])[0, 1])

    ipi_before = np.concatenate([[np.nan], np.diff(ps_time)]) if n else np.zeros(0)
    units = {"t_after": "ms", "time_to_next": "ms", "fit_t0": "ms", "fit_t1": "ms",
             "fit_tau": "ms", "tau_pred": "ms", "fit_u_tau": "ms", "tau_u_pred": "ms",
             "pre_rate_hz": "Hz"}
    data = {k: ("ps", val, {"units": units.get(k, "1")}) for k, val in v.items()}
    data["ps_time"] = ("ps", ps_time, {"units": "ms"})
    data["x_mean"] = ((), float(np.mean(x)) if x.size else np.nan, {"units": "1"})
    data["x_min"] = ((), float(np.min(x)) if x.size else np.nan, {"units": "1"})
    data["x_max"] = ((), float(np.max(x)) if x.size else np.nan, {"units": "1"})
    data["corr_x_before_ipi"] = ((), _r(v["x_before"], ipi_before), {"units": "1"})
    data["corr_x_after_next"] = ((), _r(v["x_after"], v["time_to_next"]), {"units": "1"})
    return xr.Dataset(data, coords={"ps": ("ps", np.arange(n))},
                      attrs={"pathway": pathway, "presynaptic": source, "U_mean": U,
                             "tau_rec_mean_ms": tau_rec,
                             "tau_facil_mean_ms": tau_f if facil else "none",
                             "facilitating": int(facil), "after_ms": after_ms,
                             "margin_ms": margin_ms, "min_fit_ms": min_fit_ms})
