"""Recovery dynamics: fits recover known time constants; the drop map; mean-field
predictions; the exact per-synapse replay and its prediction against the network."""


import numpy as np
import pytest

import synthetic
from tum2000.analysis import (RMSE_MIN_RECOVERY_MS, detect_population_spikes,
                              facilitation_prediction, fit_exponential_approach,
                              mean_field_prediction, population_activity, recovery_dynamics,
                              synapse_states)

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
    rate: the fitted recovery agrees with tau_naive and x_inf_naive (stated
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
    rec = recovery_dynamics(_with_x(x, base=base), "EE", after_ms=5.0, per_synapse=False)
    ok = np.isfinite(rec["fit_tau"])
    assert ok.sum() == len(TIMES)
    np.testing.assert_allclose(rec["fit_tau"][ok], rec["tau_naive"][ok], rtol=0.05)
    np.testing.assert_allclose(rec["fit_x_inf"][ok], rec["x_inf_naive"][ok], rtol=0.04)
    # and the naive trajectory follows x itself
    assert np.all(rec["x_recovery_rmse_naive"][ok] < 0.01)
    np.testing.assert_allclose(rec["pre_rate_hz"], 2.0, rtol=0.15)


def test_facilitating_u_rise_and_relaxation():
    tau_u, u_inf = 600.0, 0.05
    t = np.arange(0.0, DUR + 1)
    u = synthetic.analytic_recovery(t, TIMES, -1.5, tau_u, u_inf)  # u jumps to 2.5 u
    rec = recovery_dynamics(_with_x(np.ones(t.size), u_ei=u), "EI", per_synapse=False)
    np.testing.assert_allclose(rec["u_after"], u[np.array(TIMES).astype(int)])
    assert np.all(rec["u_rise"] > 0)
    np.testing.assert_allclose(rec["fit_u_tau"], tau_u, rtol=0.01)
    np.testing.assert_allclose(rec["fit_u_inf"], u_inf, rtol=0.01)
    assert np.all(np.isfinite(rec["tau_u_naive"]))
    # a depressing pathway has no u variables
    assert np.all(np.isnan(recovery_dynamics(_with_x(np.ones(t.size)), "EE",
                                             per_synapse=False)["u_rise"]))


def test_no_population_spike_gives_empty_recovery():
    ds = synthetic.poisson_dataset(duration_ms=500.0)
    rec = recovery_dynamics(ds, "EE", detect_population_spikes(ds))
    assert rec.sizes["ps"] == 0 and float(rec["x_mean"]) == 1.0
    assert np.all(np.isnan(rec["x_pred"]))


def test_bounded_fit_flags_an_extrapolated_asymptote():
    """A recovery seen over a tenth of its time constant: x_inf stays in [0, 1], tau
    within 5 windows, and the fit says it is not meaningful (the issue's case of
    x_inf ~ 2.2, tau ~ 13 s)."""
    t = np.arange(0.0, 300.0)
    x = 0.9 - (0.9 - 0.3) * np.exp(-t / 3000.0)
    fit = fit_exponential_approach(t, x)
    assert 0.0 <= fit["x_inf"] <= 1.0 and fit["tau"] <= 5 * 299.0
    assert fit["meaningful"] == 0.0
    good = fit_exponential_approach(np.arange(0.0, 2000.0),
                                    0.6 - 0.3 * np.exp(-np.arange(0.0, 2000.0) / 400.0))
    assert good["meaningful"] == 1.0 and good["tau"] == pytest.approx(400.0, rel=1e-3)


def test_corrected_facilitation_formula():
    """u decays to 0 between spikes: u_inf = U r tau_f / (1 + U r tau_f)."""
    tau_u, u_inf = facilitation_prediction(8.0, 0.04, 1000.0)
    assert u_inf == pytest.approx(0.32 / 1.32)
    assert tau_u == pytest.approx(1000.0 / 1.32)


def test_drop_map_on_injected_population_spikes():
    """Each PS makes 80 % of the excitatory neurons fire once: n = 0.8 spikes per
    neuron, and the drop map predicts x_before (1 - U n)."""
    base = synthetic.population_spike_dataset(TIMES, duration_ms=DUR, participation_exc=0.8,
                                              seed=5)
    t = np.arange(0.0, DUR + 1)
    x = synthetic.analytic_recovery(t, TIMES, 0.4, 300.0, 0.6, x_start=0.5)
    rec = recovery_dynamics(_with_x(x, base=base), "EE", per_synapse=False)
    np.testing.assert_allclose(rec["n_pre_spikes"], 0.8, atol=0.01)   # + background spikes
    U = float(base["U_mean"].sel(pathway="EE"))
    np.testing.assert_allclose(rec["x_after_drop_map"],
                               rec["x_before"] * (1 - U * rec["n_pre_spikes"]))
    np.testing.assert_allclose(rec["x_after_exp_map"],
                               rec["x_before"] * np.exp(-U * rec["n_pre_spikes"]))
    np.testing.assert_allclose(rec["drop_map_error"], rec["x_after_drop_map"] - rec["x_after"])


def test_per_synapse_prediction_refuses_foreign_code_version():
    ds = synthetic.population_spike_dataset(TIMES, duration_ms=DUR, seed=5)
    with pytest.warns(RuntimeWarning, match="code_version"):
        rec = recovery_dynamics(ds, "EE")
    assert np.all(np.isnan(rec["x_recovery_rmse"])) and rec.attrs["per_synapse"] == 0
    assert np.all(np.isfinite(rec["x_recovery_rmse_naive"][:-1]))


# --- against real simulations -------------------------------------------------------

def test_replay_reproduces_the_recorded_means_and_refuses_other_code(short_dataset):
    t = short_dataset["time"].values[::37]
    for pathway in ("EE", "EI", "II"):
        states = synapse_states(short_dataset, pathway, t)
        rec = short_dataset.sel(pathway=pathway)
        np.testing.assert_allclose(states["x"].mean("synapse"), rec["recovered"].sel(time=t),
                                   atol=1e-12)
        np.testing.assert_allclose(states["u"].mean("synapse"),
                                   rec["utilization"].sel(time=t), atol=1e-12)
    other = short_dataset.copy()
    other.attrs["code_version"] = "0.0.0+000000000000"
    with pytest.warns(RuntimeWarning, match="refused"):
        assert synapse_states(other, "EE", t) is None


@pytest.fixture(scope="module")
def network_recoveries(default_datasets):
    """recovery_dynamics of EE and EI and the PS of the default runs of seeds 1-3."""
    out = {}
    for seed, ds in default_datasets.items():
        ps = detect_population_spikes(ds)
        out[seed] = (ps, recovery_dynamics(ds, "EE", ps), recovery_dynamics(ds, "EI", ps))
    return out


@pytest.mark.slow
def test_network_recovery_against_the_per_synapse_prediction(network_recoveries):
    """Recoveries longer than 500 ms: the per-synapse prediction follows the mean x
    with rmse <= 0.02; the homogeneous (mean-rate) prediction misses by > 0.1."""
    n_long = 0
    for seed, (ps, ee, _) in network_recoveries.items():
        long = (ee["fit_t1"] - ee["fit_t0"]).values >= RMSE_MIN_RECOVERY_MS
        n_long += int(long.sum())
        assert np.all(ee["x_recovery_rmse"].values[long] <= 0.02), seed
        assert np.all(ee["x_recovery_rmse_naive"].values[long] > 0.1), seed
    assert n_long >= 3


@pytest.mark.slow
def test_network_drop_map_on_sharp_population_spikes(network_recoveries):
    """|x_before (1 - U n_E) - x_after| <= 0.05 on sharp PS. Negative control: the
    continuous map exp(-U n_E) over-predicts x after every sharp PS by more than
    0.02 (measured 0.024-0.043; the issue's 0.04 holds for about half of them)."""
    n_sharp = 0
    for seed, (ps, ee, _) in network_recoveries.items():
        sharp = ps["is_sharp"].values
        n_sharp += int(sharp.sum())
        assert np.all(np.abs(ee["drop_map_error"].values[sharp]) <= 0.05), seed
        assert np.all(ee["exp_map_error"].values[sharp] > 0.02), seed
        assert np.all(np.abs(ee["weighted_map_error"].values[sharp]) <= 0.02), seed
    assert n_sharp >= 3


@pytest.mark.slow
def test_network_facilitation_against_the_corrected_equations(network_recoveries):
    """E->I utilization: the per-synapse prediction (u decays to 0, periodic or
    Poisson per neuron) is within 10 % of the network's mean u along each recovery
    and of its fitted asymptote; the homogeneous Poisson fixed point at the mean
    rate misses the asymptote by more than 10 %."""
    for seed, (_, _, ei) in network_recoveries.items():
        ok = np.isfinite(ei["u_recovery_rel_error"].values)
        assert ok.any(), seed
        assert np.all(ei["u_recovery_rel_error"].values[ok] <= 0.10), seed
        fitted = ei["fit_u_inf"].values[ok]
        np.testing.assert_allclose(ei["u_inf_per_synapse"].values[ok], fitted, rtol=0.10)
        assert np.all(np.abs(ei["u_inf_naive"].values[ok] / fitted - 1) > 0.10), seed
