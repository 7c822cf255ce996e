"""Recovery dynamics: fits recover known time constants; mean-field predictions."""

import numpy as np
import pytest

from tum2000 import synthetic
from tum2000.analysis import (detect_population_spikes, fit_exponential_approach,
                              mean_field_prediction, population_activity, recovery_dynamics)

TIMES = [400.0, 1300.0, 2300.0]
DUR = 3000.0


def _with_x(x_ee, u_ei=None, seed=5, base=None):
    if base is None:
        base = synthetic.population_spike_dataset(TIMES, duration_ms=DUR, seed=seed)
    rec = np.ones((4, base.sizes["time"]))
    rec[0] = x_ee
    util = base["utilization"].values.copy()
    if u_ei is not None:
        util[1] = u_ei
    return synthetic.make_dataset(base["spike_time"].values, base["spike_neuron"].values,
                                  duration_ms=DUR, I_b_mV=base["I_b"].values, recovered=rec,
                                  utilization=util, seed=seed)


def test_fit_recovers_analytic_recovery():
    tau, x_inf, drop = 350.0, 0.62, 0.45
    t = np.arange(0.0, DUR + 1)
    x = synthetic.analytic_recovery(t, TIMES, drop, tau, x_inf, x_start=0.4)
    rec = recovery_dynamics(_with_x(x), "EE")
    ps = np.array(TIMES)
    # onset is one bin before the peak (profile 0.25, 0.5, 0.25): x there, then the dropped value
    np.testing.assert_allclose(rec["x_before"], x[(ps - 1).astype(int)])
    np.testing.assert_allclose(rec["x_after"], x[ps.astype(int)])
    np.testing.assert_allclose(rec["x_drop"], rec["x_before"] - rec["x_after"])
    # stated tolerance: 1 % on tau, 0.5 % on the asymptote
    np.testing.assert_allclose(rec["fit_tau"], tau, rtol=0.01)
    np.testing.assert_allclose(rec["fit_x_inf"], x_inf, rtol=0.005)
    np.testing.assert_allclose(rec["time_to_next"].values[:-1], np.diff(TIMES))
    assert float(rec["x_min"]) == pytest.approx(x.min())


def test_fit_of_noisy_exponential():
    rng = np.random.default_rng(0)
    t = np.arange(0.0, 1500.0)
    x = 0.7 - (0.7 - 0.2) * np.exp(-t / 200.0) + rng.normal(0, 0.002, t.size)
    fit = fit_exponential_approach(t, x)
    assert fit["tau"] == pytest.approx(200.0, rel=0.03)
    assert fit["x_inf"] == pytest.approx(0.7, rel=0.01)


def test_mean_field_prediction_formula():
    tau_pred, x_inf = mean_field_prediction(7.0, 0.5, 800.0)
    r = 7.0e-3
    assert tau_pred == pytest.approx(1 / (1 / 800.0 + 0.5 * r))
    assert x_inf == pytest.approx(tau_pred / 800.0)


def test_mean_field_x_matches_prediction():
    """x integrated from the mean-field equation with the synthetic excitatory
    rate: the fitted recovery agrees with tau_pred and x_inf_pred (stated
    tolerance 5 % on tau, 4 % on x_inf; a low background rate keeps the
    recovery large; the prediction uses the rate measured from the spikes,
    which differs from the nominal one by Poisson noise)."""
    base = synthetic.population_spike_dataset(TIMES, duration_ms=DUR, exc_rate_hz=2.0, seed=5)
    act = population_activity(base, 1.0, "exc").values  # fraction per 1 ms bin
    # the mean-field rate: the nominal 2 Hz between PS, the measured activity in the PS
    ps = detect_population_spikes(base)
    rate_hz = np.full(act.size + 1, 2.0)
    for on, off in zip(ps["ps_onset"].values.astype(int), ps["ps_offset"].values.astype(int)):
        rate_hz[on:off] = act[on:off] * 1000.0
    U, tau_rec = float(base["U_mean"].sel(pathway="EE")), float(base["tau_rec_mean"].sel(pathway="EE"))
    x = synthetic.mean_field_recovery(base["time"].values, rate_hz, U, tau_rec, x0=0.5)
    rec = recovery_dynamics(_with_x(x, base=base), "EE", after_ms=5.0)
    ok = np.isfinite(rec["fit_tau"])
    assert ok.sum() == len(TIMES)
    np.testing.assert_allclose(rec["fit_tau"][ok], rec["tau_pred"][ok], rtol=0.05)
    np.testing.assert_allclose(rec["fit_x_inf"][ok], rec["x_inf_pred"][ok], rtol=0.04)
    np.testing.assert_allclose(rec["pre_rate_hz"], 2.0, rtol=0.15)


def test_facilitating_u_rise_and_relaxation():
    tau_u, u_inf = 600.0, 0.05
    t = np.arange(0.0, DUR + 1)
    u = synthetic.analytic_recovery(t, TIMES, -1.5, tau_u, u_inf)  # u jumps to 2.5 u
    rec = recovery_dynamics(_with_x(np.ones(t.size), u_ei=u), "EI")
    np.testing.assert_allclose(rec["u_after"], u[np.array(TIMES).astype(int)])
    assert np.all(rec["u_rise"] > 0)
    np.testing.assert_allclose(rec["fit_u_tau"], tau_u, rtol=0.01)
    np.testing.assert_allclose(rec["fit_u_inf"], u_inf, rtol=0.01)
    assert np.all(np.isfinite(rec["tau_u_pred"]))
    # a depressing pathway has no u variables
    assert np.all(np.isnan(recovery_dynamics(_with_x(np.ones(t.size)), "EE")["u_rise"]))


def test_no_population_spike_gives_empty_recovery():
    ds = synthetic.poisson_dataset(duration_ms=500.0)
    rec = recovery_dynamics(ds, "EE", detect_population_spikes(ds))
    assert rec.sizes["ps"] == 0 and float(rec["x_mean"]) == 1.0
