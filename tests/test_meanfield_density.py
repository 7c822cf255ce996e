"""The population-density model (tum2000.meanfield.density) against theory,
simulated neurons and the network.

Tolerances are measured (values in the comments) and set a little above.
"""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erfcx

import tum2000
from tum2000.meanfield.constants import constants
from tum2000.meanfield.density import (DensityStepper, make_grid, simulate_density,
                                       stationary_rate)
from tum2000.meanfield.transfer import lif_rate_hz
from tum2000.store.dataset import neuron_mask


@pytest.fixture(scope="module")
def params():
    return tum2000.preset("default")


def siegert_hz(mu, sigma, tau_m=30.0, theta=15.0, v_reset=13.5, tau_ref=3.0):
    """Stationary rate of the LIF neuron with white noise (Brunel 2000, eq. 21), Hz.

    e^{u^2} (1 + erf u) is written erfcx(-u), which does not overflow."""
    val, _ = quad(lambda u: erfcx(-u), (v_reset - mu) / sigma, (theta - mu) / sigma)
    return 1000.0 / (tau_ref + tau_m * np.sqrt(np.pi) * val)


# --- stationary rate of one uncoupled class ----------------------------------------

def test_deterministic_limit_is_the_lif_transfer_function(params):
    """sigma = 0 (and 1e-3 mV) against phi(mu). The scheme is first-order
    upwind there: at dv = 0.0125 mV the rate is low by 0.84 % at mu = 15.5 mV
    and 0.12 % at 25 mV (measured), and the error halves with dv."""
    mu = np.array([15.5, 16.0, 17.0, 20.0, 25.0])
    exact = lif_rate_hz(mu, 30.0, 15.0, 13.5, 3.0)
    fine = stationary_rate(params, mu, 0.0, dv_mV=0.0125)
    np.testing.assert_allclose(fine, exact, rtol=0.01)
    np.testing.assert_allclose(stationary_rate(params, mu, 1e-3, dv_mV=0.0125), fine,
                               rtol=1e-3)
    coarse = stationary_rate(params, mu, 0.0, dv_mV=0.025)
    ratio = (exact - coarse) / (exact - fine)
    assert np.all((1.7 < ratio) & (ratio < 2.3))     # first order: measured 1.96-2.0
    # below threshold nothing leaves without noise
    assert stationary_rate(params, [14.0, 15.0], 0.0).tolist() == [0.0, 0.0]


def test_rate_with_noise_is_the_siegert_formula(params):
    """sigma = 1 mV (and 0.5 mV), mu from 13.5 to 20 mV: within 0.2 % of
    Siegert's formula at the default dv = 0.025 mV (measured: 0.05 % at
    sigma = 1 mV, 0.2 % at 0.5 mV, mu = 20 mV)."""
    mu = np.array([13.5, 14.5, 15.0, 15.5, 16.0, 17.0, 20.0])
    for sigma in (1.0, 0.5):
        exact = np.array([siegert_hz(m, sigma) for m in mu])
        np.testing.assert_allclose(stationary_rate(params, mu, sigma), exact, rtol=0.002)
    # the inhibitory population's refractory period (2 ms) is used
    assert float(stationary_rate(params, 16.0, 1.0, population="I")) == pytest.approx(
        siegert_hz(16.0, 1.0, tau_ref=2.0), rel=0.002)


# --- transient of an uncoupled population -------------------------------------------

def simulate_lif_population(n, mu_of_t, sigma, t_stop, dt, v0_range, tau_ref, rng,
                            tau_m=30.0, theta=15.0, v_reset=13.5):
    """Euler-Maruyama of n uncoupled LIF neurons with white noise; spike counts per step.

    ``tau_m dv = (mu - v) dt + sigma sqrt(tau_m) dW`` (free variance sigma^2/2,
    the Fokker-Planck equation's convention). A crossing between two grid
    points is detected with the Brownian-bridge probability
    exp(-2 (theta - v0)(theta - v1) / (sigma^2 dt / tau_m)), which removes the
    O(sqrt(dt)) bias of checking the threshold at the steps only."""
    v = rng.uniform(*v0_range, size=n)
    ref_left = np.zeros(n, dtype=np.int64)
    ref_steps = int(round(tau_ref / dt))
    steps = int(round(t_stop / dt))
    counts = np.zeros(steps)
    var_step = sigma ** 2 * dt / tau_m
    for k in range(steps):
        active = ref_left == 0
        v_new = v + (mu_of_t(k * dt) - v) * dt / tau_m + np.sqrt(var_step) * rng.standard_normal(n)
        crossed = v_new >= theta
        below = ~crossed
        p_bridge = np.exp(-2.0 * (theta - v[below]) * (theta - v_new[below]) / var_step)
        crossed[below] = rng.random(below.sum()) < p_bridge
        crossed &= active
        v = np.where(active, v_new, v)
        v[crossed] = v_reset
        ref_left = np.maximum(ref_left - 1, 0)
        ref_left[crossed] = ref_steps
        counts[k] = crossed.sum()
    return counts


def test_step_response_matches_a_simulated_population(params):
    """mu steps from 14.5 to 16 mV at 100 ms (sigma = 1 mV), every neuron
    starting near 12 mV: the density's rate in 2 ms bins over 0-200 ms against
    4,000 simulated neurons (dt = 0.02 ms). The differences are those of
    independent neurons' counts: measured max |z| 3.1 and mean z^2 1.0 over
    the 100 bins, where z = (count - expected) / sqrt(expected)."""
    neurons = constants(params).populations["E"]
    sigma, n, t_stop = 1.0, 4000, 200.0

    def mu_of_t(t):
        return 14.5 if t < 100.0 - 1e-9 else 16.0

    grid = make_grid(neurons, 0.025, None)
    dt = 0.1
    stepper = DensityStepper(grid, neurons.tau_mem_ms, dt, [(1, 30)])
    stepper.start_at(12.0, 12.0)
    lo = grid.edges[grid.cell_of(12.0)]
    D = np.array([sigma ** 2 / (2.0 * neurons.tau_mem_ms)])
    out = np.array([stepper.step(np.array([mu_of_t(k * dt)]), D)[0]
                    for k in range(int(round(t_stop / dt)))])
    expected = n * out.reshape(-1, 20).sum(axis=1)                  # per 2 ms bin
    counts = simulate_lif_population(n, mu_of_t, sigma, t_stop, 0.02, (lo, lo + grid.dv),
                                     3.0, np.random.default_rng(1))
    observed = counts.reshape(-1, 100).sum(axis=1)
    z = (observed - expected) / np.sqrt(np.maximum(expected, 1.0))
    assert np.abs(z).max() < 4.5 and np.mean(z ** 2) < 1.6
    # the transient itself is there: the rate rises from ~13 Hz to ~37 Hz
    assert expected[45:50].mean() / (n * 2e-3) == pytest.approx(13.4, rel=0.05)
    assert expected[95:100].mean() / (n * 2e-3) == pytest.approx(37.6, rel=0.05)


# --- the coupled model --------------------------------------------------------------

@pytest.fixture(scope="module")
def short_run(params):
    return simulate_density(params, n_classes=10, burn_in_ms=0.0, duration_ms=300.0)


def test_output_uses_the_network_dataset_names(params, short_run):
    ds = short_run
    assert ds["recovered"].dims == ("pathway", "time")
    assert ds["utilization"].dims == ("pathway", "time")
    assert ds["rate"].dims == ("population", "time") and ds["rate"].attrs["units"] == "Hz"
    assert list(ds["pathway"].values) == list(tum2000.PATHWAYS)
    assert list(ds["population"].values) == ["exc", "inh", "all"]
    np.testing.assert_allclose(ds["time"].values, np.arange(0.0, 300.5, 1.0))
    np.testing.assert_allclose(ds["utilization"].sel(pathway="EE"),
                               constants(params).pathways["EE"].U)
    assert 0 < float(ds["recovered"].sel(pathway="EE").min()) < 1
    assert float(ds["sigma"].max()) > 0


def test_probability_is_conserved_at_every_step(params, short_run):
    """density + refractory mass == 1 in every class after every step, with
    the derived noise and in the deterministic limit (sigma = 0)."""
    assert short_run.attrs["max_mass_error"] < 1e-10
    det = simulate_density(params, n_classes=5, sigma_mV=0.0, burn_in_ms=0.0,
                           duration_ms=150.0)
    assert det.attrs["max_mass_error"] < 1e-10
    # the implicit scheme's M-matrix keeps every density, hence rate, >= 0
    assert float(det["rate"].min()) >= 0.0 and float(short_run["rate"].min()) >= 0.0


def test_grid_and_time_step_convergence(params, short_run):
    """Halving dv (0.025 -> 0.0125 mV) or dt (0.1 -> 0.05 ms) on 300 ms from the
    network's start (a synchronous volley at ~80 ms, then the asynchronous
    state): measured changes of the mean E rate over the last 50 ms 0.45 % (dv)
    and 0.03 % (dt), of the volley's spikes per neuron (first 150 ms) 0.44 %
    and 0.36 %, of x_EE at 300 ms 0.2 % and 0.17 %, of the volley's peak time
    1 ms and 0 ms (its peak rate, 199 Hz, moves by 9 % and 1 %: the sharp
    front is where the first-order upwind flux is least accurate). Without the
    colored-noise correction: 0.66 / 0.25 %, 0.6 / 0.4 %, 0.25 / 0.3 %."""
    def measures(ds):
        e = ds["rate"].sel(population="exc").values
        return np.array([e[-50:].mean(), e[:150].sum() / 1000.0,
                         float(ds["recovered"].sel(pathway="EE")[-1])]), np.argmax(e)

    base, t_base = measures(short_run)
    for kw in (dict(dv_mV=0.0125), dict(dt_ms=0.05)):
        other, t_other = measures(simulate_density(params, n_classes=10, burn_in_ms=0.0,
                                                   duration_ms=300.0, **kw))
        np.testing.assert_allclose(other, base, rtol=0.01)
        assert abs(int(t_other) - int(t_base)) <= 1


# --- against the network ------------------------------------------------------------

NO_DEPRESSION = dict(tau_min_ms=3.5, EE_tau_rec_ms=4.0, EI_tau_rec_ms=4.0, IE_tau_rec_ms=4.0,
                     II_tau_rec_ms=4.0)
"""The network cannot hold x at 1; recovery in ~4 ms (the shortest the
parameters allow: tau_rec > tau_min > tau_I) keeps x_EE at 0.98 (measured)."""


@pytest.mark.slow
def test_without_depression_against_the_network_steady_state():
    """The network with ~4 ms recovery (x ~ 0.98), seeds 1-4, 1.5 s after
    0.5 s: E 3.83 Hz (s.d. 0.37 over seeds), I 13.3 Hz (0.3), no population
    spike (measured). The density model with x held at 1 and the derived
    noise overestimates both: E 7.5 Hz, I 19.0 Hz; with the colored-noise
    correction of Fourcaud & Brunel E 5.8 Hz, I 14.3 Hz (measured, last
    100 ms of 600 ms; the model's fast E-I loop oscillates by a few Hz). With
    depression (default parameters) the two agree much better (E 7.5 vs
    7.4 Hz, see the report). Tolerances: the measured errors plus ~0.1."""
    params = tum2000.preset("default", burn_in_ms=500.0, duration_ms=1500.0, **NO_DEPRESSION)
    stats = []
    for seed in (1, 2, 3, 4):
        ds = tum2000.simulate(params, seed=seed)
        counts = np.bincount(ds["spike_neuron"].values, minlength=ds.sizes["neuron"])
        dur_s = params["duration_ms"] / 1000.0
        stats.append([counts[neuron_mask(ds, p)].mean() / dur_s for p in ("exc", "inh")])
    net_e, net_i = np.mean(stats, axis=0)
    assert net_e == pytest.approx(3.83, abs=0.4) and net_i == pytest.approx(13.3, abs=0.6)
    for colored, tol_e, tol_i in ((False, 1.1, 0.55), (True, 0.6, 0.2)):
        model = simulate_density(params, n_classes=10, depression=False, burn_in_ms=300.0,
                                 duration_ms=300.0, colored_noise=colored)
        rate = model["rate"].isel(time=slice(-100, None)).mean("time")
        e, i = float(rate.sel(population="exc")), float(rate.sel(population="inh"))
        assert net_e < e < net_e * (1 + tol_e) and net_i < i < net_i * (1 + tol_i)


def test_quenched_classes_conserve_probability(params):
    """Splitting each background class into quenched-input classes (z nodes of
    mean 0 and variance 1) keeps probability; the classes of one background
    bin share its I_b."""
    from tum2000.meanfield.density import quenched_nodes

    z = quenched_nodes(5)
    assert z.mean() == pytest.approx(0.0, abs=1e-12) and np.mean(z ** 2) == pytest.approx(1.0)
    ds = simulate_density(params, n_classes=4, n_quenched=3, burn_in_ms=0.0,
                          duration_ms=120.0)
    assert ds.attrs["max_mass_error"] < 1e-10
    assert ds.sizes["exc_class"] == 12
    np.testing.assert_allclose(ds["exc_I_b"].values[:3], ds["exc_I_b"].values[0])


def test_rate_under_the_networks_shot_noise(params):
    """Uncoupled excitatory neurons driven by the network's own synaptic shot
    noise: Poisson inputs from K_EE = 40 and K_IE = 10 presynaptic neurons at
    the rates the network fires without depression (E 3.83 Hz, I 13.3 Hz),
    each spike adding A U (drawn from the network's truncated normals) to a
    current decaying with tau_I = 3 ms; 2,000 neurons, 1 s, dt 0.1 ms, exact
    propagation as the network's. Measured mean rates (b = 15 / 15.25 mV):
    2.63-2.69 / 6.32 Hz (four noise seeds at b = 15 mV); the density's
    stationary rate at the same mean input and derived sigma (0.65 mV) with
    the colored-noise correction 3.10 / 6.12 Hz (+18 % / -3 %), without it
    (white noise) 5.61 / 9.37 Hz (x 2.1 / x 1.5). The test asks for the
    corrected rate within 25 % and the white-noise rate above 1.4 times the
    simulated one. (Weights are drawn anew for every spike, the model's
    annealed assumption; the network's are fixed per synapse.)"""
    from scipy.stats import truncnorm

    from tum2000.meanfield.density import shot_noise_factors

    p = tum2000.preset("default", **NO_DEPRESSION)
    c = constants(p)
    rng = np.random.default_rng(4)
    rates = {"EE": 3.83e-3, "IE": 13.3e-3}                    # 1/ms
    n, dt, t_burn, t_rec, tau_m, tau_I = 2000, 0.1, 200.0, 1000.0, 30.0, 3.0

    def weights(pw, size):
        a, u = p[f"{pw}_A_mV"], p[f"{pw}_U"]
        lo, hi = sorted((p["A_min_fraction"] * a, p["A_max_fraction"] * a))
        sd_a, sd_u = p["A_sd_fraction"] * abs(a), p["U_sd_fraction"] * u
        A = truncnorm.rvs((lo - a) / sd_a, (hi - a) / sd_a, loc=a, scale=sd_a, size=size,
                          random_state=rng)
        U = truncnorm.rvs((p[f"{pw}_U_min"] - u) / sd_u, (p[f"{pw}_U_max"] - u) / sd_u,
                          loc=u, scale=sd_u, size=size, random_state=rng)
        return A * U

    pools = {pw: weights(pw, 200_000) for pw in rates}
    p_vv, decay = np.exp(-dt / tau_m), np.exp(-dt / tau_I)
    p_vi = tau_I / (tau_m - tau_I) * (p_vv - decay)
    mean_input = sum(c.pathways[pw].J_mV_ms * c.pathways[pw].U * r for pw, r in rates.items())
    q = dict(zip(tum2000.PATHWAYS, shot_noise_factors(p)))
    var_current = sum(q[pw] * c.pathways[pw].U ** 2 * r * tau_I / 2 for pw, r in rates.items())
    sigma = np.sqrt(2.0 * var_current * tau_I / (tau_m + tau_I))
    assert sigma == pytest.approx(0.651, abs=0.002)
    for b, simulated_hz in ((15.0, 2.65), (15.25, 6.3)):
        v, current = np.full(n, 13.5), np.zeros(n)
        ref_left = np.zeros(n, dtype=np.int64)
        spikes = 0
        for k in range(int((t_burn + t_rec) / dt)):
            active = ref_left == 0
            v = np.where(active, v * p_vv + b * (1 - p_vv) + current * p_vi, v)
            current *= decay
            for pw, r in rates.items():
                count = rng.poisson(c.pathways[pw].in_degree * r * dt, n)
                target = np.repeat(np.arange(n), count)
                np.add.at(current, target, pools[pw][rng.integers(0, 200_000, target.size)])
            fired = active & (v > 15.0)
            v[fired] = 13.5
            ref_left = np.maximum(ref_left - 1, 0)
            ref_left[fired] = int(round(3.0 / dt))
            if k * dt >= t_burn:
                spikes += fired.sum()
        sim = spikes / n / t_rec * 1000.0
        assert sim == pytest.approx(simulated_hz, rel=0.1)
        colored = float(stationary_rate(p, b + mean_input, sigma, colored_noise=True))
        white = float(stationary_rate(p, b + mean_input, sigma))
        assert colored == pytest.approx(sim, rel=0.25)
        assert white > 1.4 * sim


@pytest.mark.slow
def test_deterministic_model_is_excitable_at_the_default_spread():
    """Default parameters (I_b spread 1 mV), no finite-size noise: the model
    settles on a fixed point (x_EE ~ 0.51, no population spike), and a 2 ms
    pulse onto the excitatory population evokes an all-or-none event: 0.3 mV
    adds 0.04 spikes per excitatory neuron, 1 mV a population spike with 0.87
    (x_EE 0.51 -> 0.32), measured with 20 classes after 1950 ms; here 10
    classes after 1450 ms: 0.000, 0.038 and 0.856 spikes per neuron within
    30 ms for 0, 0.3 and 1 mV (x_EE 0.497 -> 0.314 for 1 mV)."""
    from tum2000.meanfield.bifurcation import rate_model_events

    p = tum2000.preset("default")
    settle = 1500.0
    extra = {}
    for amp in (0.0, 0.3, 1.0):
        def pulse(t, amp=amp):
            return (amp, 0.0) if settle <= t < settle + 2.0 else (0.0, 0.0)
        ds = simulate_density(p, n_classes=10, burn_in_ms=settle - 50.0, duration_ms=250.0,
                              stimulus_mV=pulse)
        e = ds["rate"].sel(population="exc").values
        extra[amp] = ((e[50:80] - e[:50].mean()).sum() / 1000.0,
                      rate_model_events(ds)["onset_ms"].size)
    assert extra[0.0][1] == 0 and abs(extra[0.0][0]) < 0.01
    assert extra[0.3][1] == 0 and extra[0.3][0] < 0.1
    assert extra[1.0][1] == 1 and extra[1.0][0] > 0.7


@pytest.mark.slow
def test_smallest_evoking_pulse_brackets_a_threshold():
    """At the default spread a 5 ms pulse of 2 mV evokes a full PS and the
    bisection brackets the threshold between two amplitudes a factor
    400^(1/8) ~ 2.1 apart (three halvings of 0.005-2 mV in log amplitude); the
    run returned is the evoking one."""
    from tum2000.meanfield.bifurcation import rate_model_events
    from tum2000.meanfield.density import smallest_evoking_pulse

    p = tum2000.preset("default", burn_in_ms=500.0)
    amplitude, failing, ds = smallest_evoking_pulse(p, pulse_ms=5.0, settle_ms=1000.0,
                                                    halvings=3)
    assert 0.005 <= failing < amplitude <= 2.0
    assert amplitude / failing == pytest.approx((2.0 / 0.005) ** (1 / 8), rel=1e-9)
    ev = rate_model_events(ds.sel(time=slice(999.0, None)))
    assert (ev["full"] & ev["whole"]).any()


# --- continuing a run from its state ------------------------------------------------


@pytest.mark.parametrize("finite_size", [False, True])
def test_a_run_continued_from_its_state_is_the_run_in_one_piece(params, finite_size):
    """200 ms + 200 ms from the returned state reproduces a 400 ms run exactly,
    finite-size noise included (its stream travels with the state); a state
    can be continued twice with the same result; a state of another grid is
    refused."""
    from tum2000.meanfield.density import DensityState

    p = params.replace(burn_in_ms=100.0)
    kw = dict(n_classes=3, dv_mV=0.1, finite_size=finite_size, seed=3 if finite_size else None)
    whole = simulate_density(p.replace(duration_ms=400.0), **kw)
    _, state = simulate_density(p.replace(duration_ms=200.0), return_state=True, **kw)
    assert isinstance(state, DensityState)
    kw.pop("seed")
    second = simulate_density(p.replace(duration_ms=200.0), burn_in_ms=0.0,
                              initial_state=state, **kw)
    again = simulate_density(p.replace(duration_ms=200.0), burn_in_ms=0.0,
                             initial_state=state, **kw)
    for name in ("rate", "recovered", "utilization", "input"):
        np.testing.assert_array_equal(second[name].values,
                                      whole[name].sel(time=slice(200.0, None)).values)
        np.testing.assert_array_equal(again[name].values, second[name].values)
    with pytest.raises(ValueError, match="another grid"):
        simulate_density(p.replace(duration_ms=10.0), n_classes=4, dv_mV=0.1,
                         initial_state=state)


@pytest.mark.slow
def test_evoked_threshold_curve_falls_as_the_synapses_recover():
    """The network's evoked protocol on the model (10 classes, dv 0.05 mV):
    after a kicked population spike the smallest evoking 5 ms pulse falls as
    x recovers. Measured: 1.31 mV at x = 0.338 (60 ms) and 0.25 mV at
    x = 0.478 (1000 ms); the kick recruits 0.93 of the excitatory neurons.
    The brackets are 4/2^6 mV wide."""
    from tum2000.meanfield.density import evoked_threshold_curve

    p = tum2000.preset("default", burn_in_ms=500.0)
    kw = dict(kick_mV=2.0, pulse_ms=5.0, settle_ms=1000.0, response_ms=20.0,
              amplitude_range_mV=(0.0, 4.0), halvings=6, n_classes=10, dv_mV=0.05)
    curve = evoked_threshold_curve(p, [60.0, 1000.0], **kw)
    thr, fail, x = (curve[v].values for v in ("threshold_mV", "failing_mV", "x_at_pulse"))
    assert curve.attrs["kick_participation"] > 0.5
    assert np.all(np.isfinite(thr)) and x[0] < x[1]
    assert thr[1] < 0.5 * thr[0]
    np.testing.assert_allclose(thr - fail, 4.0 / 2 ** 6)
    with pytest.raises(ValueError, match="delays_ms"):
        evoked_threshold_curve(p, [20.0], **kw)
