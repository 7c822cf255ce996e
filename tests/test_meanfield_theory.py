"""Hand-solvable theory of the mean-field chapter, checked against exact simulations.

Single synapses are simulated with the project's exact closed-form synapse
(:func:`tum2000.model.resources.single_synapse`). The formulas neglect the
active phase (tau_I); the tests use tau_I = 1 us so that they hold to the
stated precision, and one test states how much tau_I = 3 ms changes.
"""

import numpy as np
import pytest
from scipy.optimize import brentq, curve_fit

import tum2000
from tum2000.meanfield import reduced, synapse as th
from tum2000.meanfield.constants import constants, truncated_normal_mean
from tum2000.meanfield.transfer import BinAveragedRate, lif_rate_hz
from tum2000.model.resources import single_synapse

TAU_I = 1e-3  # ms: the formulas' limit of an instantaneous active phase


def _periodic(rate_hz, n_spikes, start=0.0):
    return start + np.arange(n_spikes) * 1000.0 / rate_hz


@pytest.mark.parametrize("rate_hz,U,tau_rec", [(5.0, 0.5, 800.0), (20.0, 0.3, 400.0),
                                               (40.0, 0.8, 1200.0)])
def test_periodic_train_x_minus_and_time_average(rate_hz, U, tau_rec):
    T = 1000.0 / rate_hz
    spikes = _periodic(rate_hz, 400, start=T)
    syn = single_synapse(spikes, U, tau_rec, tau_I_ms=TAU_I, duration_ms=spikes[-1],
                         sample_dt_ms=T / 4000)
    x_minus = syn["released"].values[-1] / U            # released = U x_minus
    assert x_minus == pytest.approx(th.periodic_x_minus(rate_hz, U, tau_rec), rel=1e-5)
    t = syn["time"].values
    period = (t > spikes[-2]) & (t <= spikes[-1])       # the last period, steady state
    # the mean over 4000 samples of one period of the sawtooth: within 1e-4
    assert syn["recovered"].values[period].mean() == pytest.approx(
        th.periodic_x_mean(rate_hz, U, tau_rec), abs=1e-4)


def test_periodic_relaxation_factor_per_spike():
    """Deviations of x_minus from its fixed point shrink by (1 - U) exp(-T/tau_rec)."""
    rate_hz, U, tau_rec = 10.0, 0.5, 800.0
    T = 100.0
    syn = single_synapse(_periodic(rate_hz, 30, start=T), U, tau_rec, tau_I_ms=TAU_I)
    x_minus = syn["released"].values / U
    fixed = th.periodic_x_minus(rate_hz, U, tau_rec)
    ratios = (x_minus[1:5] - fixed) / (x_minus[:4] - fixed)   # deviations still large
    np.testing.assert_allclose(ratios, (1 - U) * np.exp(-T / tau_rec), rtol=1e-4)
    assert th.periodic_x_rate(rate_hz, U, tau_rec) == pytest.approx(
        -np.log((1 - U) * np.exp(-T / tau_rec)) / T)


def _batch_mean_and_se(values, n_batches=50):
    batches = np.array_split(values, n_batches)
    means = np.array([b.mean() for b in batches])
    return values.mean(), means.std(ddof=1) / np.sqrt(n_batches)


def test_poisson_train_mean_x_within_three_standard_errors():
    rng = np.random.default_rng(11)
    rate_hz, U, tau_rec, duration = 12.0, 0.5, 800.0, 1_000_000.0
    spikes = np.cumsum(rng.exponential(1000.0 / rate_hz, int(rate_hz * duration / 1000 * 1.1)))
    spikes = spikes[spikes < duration]
    syn = single_synapse(spikes, U, tau_rec, tau_I_ms=TAU_I, duration_ms=duration,
                         sample_dt_ms=5.0)
    mean, se = _batch_mean_and_se(syn["recovered"].values[1000:])   # skip the first 5 s
    assert abs(mean - th.poisson_x_mean(rate_hz, U, tau_rec)) < 3 * se
    # the measured mean is far from the periodic formula at the same rate
    assert abs(mean - th.periodic_x_mean(rate_hz, U, tau_rec)) > 10 * se


def test_active_phase_shifts_the_poisson_mean_by_tau_I_over_tau_rec():
    """With tau_I = 3 ms the exact mean is 1/(1 + U (tau_rec + tau_I) r): the
    formulas' neglect of the active phase costs under 0.5 % here."""
    exact = 1 / (1 + 0.5 * (800.0 + 3.0) * 0.012)
    assert abs(exact / th.poisson_x_mean(12.0, 0.5, 800.0) - 1) < 5e-3


def test_periodic_facilitation_u_plus():
    rate_hz, U, tau_f, tau_rec = 8.0, 0.04, 1000.0, 100.0
    T = 1000.0 / rate_hz
    spikes = _periodic(rate_hz, 300, start=T)
    syn = single_synapse(spikes, U, tau_rec, tau_I_ms=TAU_I, tau_facil_ms=tau_f,
                         duration_ms=spikes[-1] + T, sample_dt_ms=T / 250)
    u_plus_formula = U / (1 - (1 - U) * np.exp(-T / tau_f))
    assert th.periodic_u_plus(rate_hz, U, tau_f) == pytest.approx(u_plus_formula)
    t, u = syn["time"].values, syn["utilization"].values
    just_after = np.searchsorted(t, spikes[-2], side="right")   # first sample after the spike
    u_after = u[just_after] * np.exp((t[just_after] - spikes[-2]) / tau_f)
    assert u_after == pytest.approx(u_plus_formula, rel=1e-6)
    period = (t >= spikes[-2]) & (t < spikes[-1])
    assert u[period].mean() == pytest.approx(th.periodic_u_mean(rate_hz, U, tau_f), rel=5e-3)


def test_poisson_facilitation_recorded_u_decays_to_zero():
    """At 8 Hz (U = 0.04, tau_f = 1 s) the recorded u averages U r tau_f / (1 + U r tau_f)
    = 0.242, not the fixed point of du/dt = (U - u)/tau_f + U (1 - u) r (0.273)."""
    rng = np.random.default_rng(5)
    rate_hz, U, tau_f, duration = 8.0, 0.04, 1000.0, 2_000_000.0
    spikes = np.cumsum(rng.exponential(1000.0 / rate_hz, int(rate_hz * duration / 1000 * 1.1)))
    spikes = spikes[spikes < duration]
    syn = single_synapse(spikes, U, 100.0, tau_I_ms=TAU_I, tau_facil_ms=tau_f,
                         duration_ms=duration, sample_dt_ms=10.0)
    mean, se = _batch_mean_and_se(syn["utilization"].values[1000:])
    assert th.poisson_u_mean(rate_hz, U, tau_f) == pytest.approx(0.2424, abs=5e-4)
    assert abs(mean - th.poisson_u_mean(rate_hz, U, tau_f)) < 3 * se
    old = (U / tau_f + U * rate_hz / 1000) / (1 / tau_f + U * rate_hz / 1000)
    assert abs(mean - old) > 10 * se


def test_relaxation_time_after_a_rate_step_poisson():
    """Synapses at rest driven from t = 0 by Poisson trains: the mean x relaxes with
    1 / (1/tau_rec + U r) (stated tolerance 4 %, from 800 trains)."""
    rng = np.random.default_rng(3)
    rate_hz, U, tau_rec, duration = 15.0, 0.5, 800.0, 1500.0
    traces = []
    for _ in range(800):
        spikes = np.cumsum(rng.exponential(1000.0 / rate_hz, 60))
        traces.append(single_synapse(spikes[spikes < duration], U, tau_rec, tau_I_ms=TAU_I,
                                     duration_ms=duration, sample_dt_ms=5.0)["recovered"].values)
    mean = np.mean(traces, axis=0)
    t = np.arange(mean.size) * 5.0
    popt, _ = curve_fit(lambda tt, a, tau: a + (1 - a) * np.exp(-tt / tau), t, mean,
                        p0=(0.2, 100.0))
    assert popt[1] == pytest.approx(1 / th.poisson_x_rate(rate_hz, U, tau_rec), rel=0.04)
    assert popt[0] == pytest.approx(th.poisson_x_mean(rate_hz, U, tau_rec), rel=0.02)


def test_steady_state_picks_the_formula_by_cv():
    out = th.steady_state([10.0, 10.0, 0.0], [0.1, 0.9, np.nan], 0.5, 800.0)
    assert out["x"][0] == pytest.approx(th.periodic_x_mean(10.0, 0.5, 800.0))
    assert out["x"][1] == pytest.approx(th.poisson_x_mean(10.0, 0.5, 800.0))
    assert out["x"][2] == 1.0 and out["x_rate"][2] == pytest.approx(1 / 800.0)
    assert list(out["regular"]) == [True, False, False]


# --- rate-model ingredients ------------------------------------------------------

def test_truncated_normal_means_match_the_drawn_network():
    params = tum2000.preset("default")
    c = constants(params).pathways
    assert c["EE"].A_mV / params["EE_A_mV"] == pytest.approx(1.031, abs=1e-3)
    assert c["EI"].U == pytest.approx(0.0385, abs=1e-4)
    assert c["EE"].tau_rec_ms == pytest.approx(822.6, abs=0.1)
    assert c["EE"].in_degree == params["p_connect"] * params["N_exc"]
    net = tum2000.model.network.draw_network(params.replace(N_exc=2000, N_inh=500), 4)
    part = net.pathway_slice("EE")
    assert net.A_mV[part].mean() == pytest.approx(c["EE"].A_mV, rel=0.01)
    assert net.tau_rec_ms[part].mean() == pytest.approx(c["EE"].tau_rec_ms, rel=0.01)
    assert truncated_normal_mean(1.0, 0.0, 0.0, 0.5) == 0.5


@pytest.mark.slow  # Brian2's numpy target: 50,000 steps, about 10-30 s
def test_lif_transfer_function_against_a_simulated_neuron():
    """Brian2 integrates tau_m dv/dt = mu - v exactly (dt = 0.02 ms) with the
    network's threshold, reset and refractory period; rates within 0.5 % (a
    spike is detected up to one step late: at most 0.3 % of the shortest ISI)."""
    import brian2 as b2

    p = tum2000.preset("default")
    mu = np.array([15.05, 15.2, 15.5, 16.0, 17.0, 20.0, 25.0])
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    group = b2.NeuronGroup(mu.size, "dv/dt = (mu - v) / tau_m : volt (unless refractory)\n"
                           "mu : volt", threshold="v > theta", reset="v = v_reset",
                           refractory=p["tau_ref_exc_ms"] * b2.ms, method="exact",
                           dt=0.02 * b2.ms,
                           namespace={"tau_m": p["tau_mem_ms"] * b2.ms,
                                      "theta": p["v_thresh_mV"] * b2.mV,
                                      "v_reset": p["v_reset_mV"] * b2.mV})
    group.mu = mu * b2.mV
    group.v = p["v_reset_mV"] * b2.mV
    spikes = b2.SpikeMonitor(group)
    b2.run(1 * b2.second)
    trains = spikes.spike_trains()
    measured = np.array([1000.0 / np.mean(np.diff(trains[i] / b2.ms)) for i in range(mu.size)])
    expected = lif_rate_hz(mu, p["tau_mem_ms"], p["v_thresh_mV"], p["v_reset_mV"],
                           p["tau_ref_exc_ms"])
    np.testing.assert_allclose(measured, expected, rtol=5e-3)
    assert lif_rate_hz(14.99, 30.0, 15.0, 13.5, 3.0) == 0.0


def test_bin_averaged_rate_is_the_mean_of_phi_over_the_bin():
    p = tum2000.preset("default")
    n = constants(p).populations["E"]
    rate = BinAveragedRate(n, np.array([14.5, 15.2]), np.array([15.5, 15.3]))
    for mu in (0.0, 0.3, 2.0):
        for k, (lo, hi) in enumerate(((14.5, 15.5), (15.2, 15.3))):
            z = np.linspace(lo, hi, 200001) + mu
            direct = np.mean(lif_rate_hz(z, 30.0, 15.0, 13.5, 3.0)) / 1000
            assert rate(mu)[k] == pytest.approx(direct, rel=1e-3)


# --- the slow-fast picture -----------------------------------------------------------

def test_threshold_linear_fixed_points_and_fold():
    """E = mean_b g [b + J U x E - theta]_+ with b uniform over w: for s = J U x E <= w/2
    this is the quadratic g a^2 E^2 + (g a w - 2 w) E + g w^2/4 = 0 (a = J U x), whose
    roots are w [(1 - g a/2) +- sqrt(1 - g a)] / (g a^2). The lower one is the
    network's low state; the roots merge at g a = 1, x_c = 1/(g J U), beyond which
    no fixed point exists (the activity runs away)."""
    g, J, U, w = 0.02, 200.0, 0.5, 1.0                # 1/(ms mV), mV ms, 1, mV
    x_c = reduced.threshold_linear_fold(g, J, U)
    assert x_c == pytest.approx(1 / (g * J * U))
    b = np.linspace(-w / 2, w / 2, 200001)

    def f(E, a):
        return np.mean(g * np.maximum(b + a * E, 0.0)) - E

    for x in (0.2, 0.35, 0.9 * x_c):
        low, mid = reduced.threshold_linear_rates(x, g, J, U, w)
        a = J * U * x
        expected = w * ((1 - g * a / 2) + np.array([-1, 1]) * np.sqrt(1 - g * a)) / (g * a ** 2)
        np.testing.assert_allclose([low, mid], expected, rtol=1e-12)
        for E in (low, mid):
            assert g * a ** 2 * E ** 2 + (g * a * w - 2 * w) * E + g * w ** 2 / 4 == \
                pytest.approx(0.0, abs=1e-12)
        assert a * low <= w / 2
        assert brentq(f, 1e-12, 10 * low, args=(a,)) == pytest.approx(low, rel=1e-4)
    low, mid = reduced.threshold_linear_rates(x_c, g, J, U, w)
    assert low == pytest.approx(mid)
    assert np.isnan(reduced.threshold_linear_rates(1.01 * x_c, g, J, U, w)[0])
    a = J * U * 1.01 * x_c
    assert all(f(E, a) > 0 for E in np.geomspace(1e-6, 1e3, 400))   # no fixed point left


def test_lif_population_curve_has_no_fold_but_a_gain_below_one():
    curve = reduced.s_curve(tum2000.preset("default"))
    assert np.isnan(curve.x_c)
    assert 0.5 < reduced.max_loop_gain(curve) < 1.0
