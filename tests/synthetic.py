"""Known-truth spike datasets for tests, the book and students.

Every function returns data that follow the dataset contract of
:mod:`tum2000.store.dataset` exactly (built with :func:`tum2000.store.dataset.build`), so
the analysis can be checked against numbers that are known by construction:

* :func:`poisson_dataset` — independent Poisson trains at the network's rates
  (about 7 Hz excitatory, 22 Hz inhibitory): no population spike;
* :func:`population_spike_dataset` — the same background plus population
  spikes injected at given times with given participations and a given
  temporal profile; participants fire in order of decreasing I_b;
* :func:`regular_dataset` — perfectly periodic trains (CV of ISIs = 0);
* :func:`analytic_recovery` — x(t) that drops by a known fraction at given
  times and recovers exponentially with a known time constant;
* :func:`mean_field_recovery` — x(t) integrated from the mean-field equation
  dx/dt = (1 - x)/tau_rec - U x r(t) for a given rate r(t).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import xarray as xr

from tum2000.store import dataset
from tum2000.model.parameters import PATHWAYS, Parameters

SYNTHETIC_CODE_VERSION = "synthetic"


def synthetic_parameters(duration_ms: float = 2000.0, N_exc: int = 400, N_inh: int = 100,
                         **changes: Any) -> Parameters:
    """Default parameters with the given size and duration (no burn-in)."""
    return Parameters({"duration_ms": float(duration_ms), "N_exc": int(N_exc),
                       "N_inh": int(N_inh), "burn_in_ms": 0.0, **changes})


def make_dataset(spike_time_ms: np.ndarray, spike_neuron: np.ndarray, *,
                 duration_ms: float = 2000.0, N_exc: int = 400, N_inh: int = 100,
                 I_b_mV: np.ndarray | None = None, recovered: np.ndarray | None = None,
                 utilization: np.ndarray | None = None, seed: int = 0,
                 **param_changes: Any) -> xr.Dataset:
    """A contract-conforming dataset from given spikes (ms) and optional x, u.

    ``I_b_mV`` defaults to evenly spaced values over the default spread
    (14.5 .. 15.5 mV) within each population; ``recovered`` and
    ``utilization`` are (4, n_time) arrays on the 1 ms record grid 0..duration
    (default: x = 1, u = U of each pathway). Spikes are sorted by time.
    """
    params = synthetic_parameters(duration_ms, N_exc, N_inh, **param_changes)
    N = params.N
    time_ms = np.arange(int(round(duration_ms / params["record_dt_ms"])) + 1) \
        * params["record_dt_ms"]
    if I_b_mV is None:
        lo = params["I_b_center_mV"] - params["I_b_spread_mV"] / 2
        hi = params["I_b_center_mV"] + params["I_b_spread_mV"] / 2
        I_b_mV = np.concatenate([np.linspace(lo, hi, N_exc), np.linspace(lo, hi, N_inh)])
    U = np.array([params[f"{p}_U"] for p in PATHWAYS])
    if recovered is None:
        recovered = np.ones((len(PATHWAYS), time_ms.size))
    if utilization is None:
        utilization = np.repeat(U[:, None], time_ms.size, axis=1)
    t = np.asarray(spike_time_ms, dtype=np.float64)
    n = np.asarray(spike_neuron, dtype=np.int64)
    order = np.lexsort((n, t))
    sizes = {"E": N_exc, "I": N_inh}
    summary = {
        "synapse_count": np.array([int(round(params["p_connect"] * sizes[p[0]] * sizes[p[1]]))
                                   for p in PATHWAYS], dtype=np.int64),
        "A_mean": np.array([params[f"{p}_A_mV"] for p in PATHWAYS], dtype=np.float64),
        "U_mean": U.astype(np.float64),
        "tau_rec_mean": np.array([params[f"{p}_tau_rec_ms"] for p in PATHWAYS], dtype=np.float64),
        "tau_facil_mean": np.array([np.nan if params[f"{p}_tau_facil_ms"] is None
                                    else params[f"{p}_tau_facil_ms"] for p in PATHWAYS]),
    }
    ds = dataset.build(params, seed, SYNTHETIC_CODE_VERSION,
                       {"brian2": "none", "numpy": np.__version__},
                       I_b_mV=np.asarray(I_b_mV, dtype=np.float64), spike_time_ms=t[order],
                       spike_neuron=n[order], time_ms=time_ms,
                       recovered=np.asarray(recovered, dtype=np.float64),
                       utilization=np.asarray(utilization, dtype=np.float64),
                       pathway_summary=summary)
    return dataset.validate(ds, "synthetic dataset")


def poisson_spikes(rates_hz: np.ndarray, duration_ms: float, rng: np.random.Generator,
                   exclude_ms: Sequence[tuple[float, float]] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Homogeneous Poisson spikes (ms, neuron) at ``rates_hz[i]`` for neuron i.

    Spikes that fall in any [start, stop) of ``exclude_ms`` are removed.
    """
    rates = np.asarray(rates_hz, dtype=np.float64)
    counts = rng.poisson(rates * duration_ms / 1000.0)
    neurons = np.repeat(np.arange(rates.size), counts)
    times = rng.uniform(0.0, duration_ms, size=neurons.size)
    keep = np.ones(times.size, dtype=bool)
    for a, b in exclude_ms:
        keep &= ~((times >= a) & (times < b))
    return times[keep], neurons[keep]


def population_rates(N_exc: int = 400, N_inh: int = 100, exc_rate_hz: float = 7.0,
                     inh_rate_hz: float = 22.0) -> np.ndarray:
    """Rate of every neuron: the network's mean rates (Fig. 1: ~7 Hz exc, ~22 Hz inh)."""
    return np.concatenate([np.full(N_exc, exc_rate_hz), np.full(N_inh, inh_rate_hz)])


def poisson_dataset(duration_ms: float = 2000.0, exc_rate_hz: float = 7.0,
                    inh_rate_hz: float = 22.0, N_exc: int = 400, N_inh: int = 100,
                    seed: int = 0, **kwargs: Any) -> xr.Dataset:
    """Independent Poisson trains at the network's rates: no population spike."""
    rng = np.random.default_rng(seed)
    t, n = poisson_spikes(population_rates(N_exc, N_inh, exc_rate_hz, inh_rate_hz),
                          duration_ms, rng)
    return make_dataset(t, n, duration_ms=duration_ms, N_exc=N_exc, N_inh=N_inh, seed=seed,
                        **kwargs)


def population_spike_dataset(ps_times_ms: Sequence[float], participation_exc: float = 0.8,
                             participation_inh: float = 0.9,
                             profile: Sequence[float] = (0.25, 0.5, 0.25),
                             duration_ms: float = 2000.0, exc_rate_hz: float = 7.0,
                             inh_rate_hz: float = 22.0, N_exc: int = 400, N_inh: int = 100,
                             guard_ms: float = 5.0, seed: int = 0, **kwargs: Any) -> xr.Dataset:
    """Poisson background plus population spikes with known times and sizes.

    For each time T in ``ps_times_ms`` (whole ms), exactly
    round(participation * N) neurons of each population fire one spike each;
    the fraction ``profile[j]`` of them fires in the 1 ms bin starting at
    T - c + j, with c = argmax(profile), so the peak bin starts at T.
    Participants are drawn at random, then fire in order of decreasing I_b
    (larger background input fires first).
    Background spikes within ``guard_ms`` of the PS bins are removed, so the
    participation measured in the PS bins is exactly the injected one.
    Truth is stored in ``attrs["synthetic_truth"]`` (JSON).
    """
    import json

    rng = np.random.default_rng(seed)
    profile = np.asarray(profile, dtype=np.float64) / np.sum(profile)
    centre = int(np.argmax(profile))
    ps = np.asarray(ps_times_ms, dtype=np.float64)
    windows = [(T - centre - guard_ms, T - centre + profile.size + guard_ms) for T in ps]
    t_bg, n_bg = poisson_spikes(population_rates(N_exc, N_inh, exc_rate_hz, inh_rate_hz),
                                duration_ms, rng, exclude_ms=windows)
    ds0 = make_dataset([], [], duration_ms=duration_ms, N_exc=N_exc, N_inh=N_inh, **kwargs)
    I_b = ds0["I_b"].values
    times, neurons = [t_bg], [n_bg]
    for T in ps:
        for first, size, p in ((0, N_exc, participation_exc), (N_exc, N_inh, participation_inh)):
            k = int(round(p * size))
            chosen = first + rng.choice(size, size=k, replace=False)
            chosen = chosen[np.argsort(-I_b[chosen], kind="stable")]
            per_bin = np.floor(profile * k).astype(int)
            per_bin[centre] += k - per_bin.sum()
            bins = np.repeat(np.arange(profile.size), per_bin)
            # within a bin, spikes spread over (0.1, 0.9) ms in recruitment order
            offs = np.concatenate([np.linspace(0.1, 0.9, m) if m else np.zeros(0)
                                   for m in per_bin])
            times.append(T - centre + bins + offs)
            neurons.append(chosen)
    truth = {"ps_times_ms": ps.tolist(), "participation_exc": round(participation_exc * N_exc) / N_exc,
             "participation_inh": round(participation_inh * N_inh) / N_inh,
             "profile": profile.tolist()}
    ds = make_dataset(np.concatenate(times), np.concatenate(neurons), duration_ms=duration_ms,
                      N_exc=N_exc, N_inh=N_inh, seed=seed, I_b_mV=I_b, **kwargs)
    ds.attrs["synthetic_truth"] = json.dumps(truth)
    return ds


def regular_dataset(period_ms: float = 50.0, duration_ms: float = 2000.0, N_exc: int = 40,
                    N_inh: int = 10, seed: int = 0, **kwargs: Any) -> xr.Dataset:
    """Every neuron fires every ``period_ms`` with its own phase (CV of ISIs = 0)."""
    rng = np.random.default_rng(seed)
    N = N_exc + N_inh
    phase = rng.uniform(0.0, period_ms, size=N)
    base = np.arange(0.0, duration_ms, period_ms)
    t = (phase[:, None] + base[None, :]).ravel()
    n = np.repeat(np.arange(N), base.size)
    keep = t < duration_ms
    return make_dataset(t[keep], n[keep], duration_ms=duration_ms, N_exc=N_exc, N_inh=N_inh,
                        seed=seed, **kwargs)


def analytic_recovery(time_ms: np.ndarray, ps_times_ms: Sequence[float], drop_fraction: float,
                      tau_ms: float, x_inf: float, x_start: float | None = None) -> np.ndarray:
    """x(t) recovering as x_inf - (x_inf - x) exp(-dt / tau_ms), multiplied by
    (1 - drop_fraction) at each time in ``ps_times_ms`` (the value at that
    sample is already the dropped one)."""
    t = np.asarray(time_ms, dtype=np.float64)
    x = np.empty_like(t)
    value = x_inf if x_start is None else float(x_start)
    drops = sorted(ps_times_ms)
    last = t[0]
    k = 0
    for i, ti in enumerate(t):
        # evolve to ti, applying drops on the way
        while k < len(drops) and drops[k] <= ti:
            value = x_inf - (x_inf - value) * np.exp(-(drops[k] - last) / tau_ms)
            value *= 1.0 - drop_fraction
            last = drops[k]
            k += 1
        value = x_inf - (x_inf - value) * np.exp(-(ti - last) / tau_ms)
        last = ti
        x[i] = value
    return x


def mean_field_recovery(time_ms: np.ndarray, rate_hz: np.ndarray, U: float, tau_rec_ms: float,
                        x0: float = 1.0) -> np.ndarray:
    """Exact solution of dx/dt = (1 - x)/tau_rec - U x r(t) on the grid ``time_ms``.

    ``rate_hz[i]`` is the presynaptic rate held constant over
    [time_ms[i], time_ms[i+1]).
    """
    t = np.asarray(time_ms, dtype=np.float64)
    r = np.asarray(rate_hz, dtype=np.float64) / 1000.0
    x = np.empty_like(t)
    x[0] = x0
    for i in range(1, t.size):
        a = 1.0 / tau_rec_ms + U * r[i - 1]
        x_inf = (1.0 / tau_rec_ms) / a
        x[i] = x_inf - (x_inf - x[i - 1]) * np.exp(-a * (t[i] - t[i - 1]))
    return x
