"""The heterogeneous E-I rate model and its events, defined as the network's."""

import numpy as np
import pytest
import xarray as xr

import tum2000
from tum2000.meanfield.bifurcation import rate_model_events
from tum2000.meanfield.constants import constants
from tum2000.meanfield.rate_model import poisson_by_inversion, simulate_rate_model

SHORT = dict(burn_in_ms=300.0, duration_ms=1500.0)


@pytest.fixture(scope="module")
def params():
    return tum2000.preset("default", **SHORT)


@pytest.fixture(scope="module")
def deterministic(params):
    return simulate_rate_model(params)


def test_output_uses_the_network_dataset_names_and_grid(params, deterministic):
    rm = deterministic
    assert rm["recovered"].dims == ("pathway", "time")
    assert rm["utilization"].dims == ("pathway", "time")
    assert rm["rate"].dims == ("population", "time") and rm["rate"].attrs["units"] == "Hz"
    assert list(rm["pathway"].values) == list(tum2000.PATHWAYS)
    np.testing.assert_allclose(rm["time"].values,
                               np.arange(0.0, params["duration_ms"] + 0.5, params["record_dt_ms"]))
    # depressing pathways carry u = U, like the network's dataset
    U = constants(params).pathways["EE"].U
    np.testing.assert_allclose(rm["utilization"].sel(pathway="EE"), U)
    assert 0 < float(rm["recovered"].sel(pathway="EE").min()) < 1


def test_deterministic_model_settles_on_the_low_branch(deterministic):
    """Without noise the model relaxes to a fixed point: steady rates of a few Hz
    (excitatory) and a mean EE x with no population spike."""
    end = deterministic.isel(time=slice(-200, None))
    e_rate = end["rate"].sel(population="exc")
    assert 2.0 < float(e_rate.mean()) < 15.0 and float(np.ptp(e_rate.values)) < 0.1
    assert rate_model_events(deterministic)["onset_ms"].size == 0


def test_finite_size_model_is_reproducible_per_seed(params):
    one = simulate_rate_model(params, finite_size=True, seeds=7, duration_ms=300.0)
    batch = simulate_rate_model([params, params.replace(EE_tau_rec_ms=400.0)],
                                finite_size=True, seeds=[3, 7], duration_ms=300.0)
    assert batch["rate"].dims == ("run", "seed", "population", "time")
    xr.testing.assert_allclose(one["recovered"], batch["recovered"].sel(run=0, seed=7, drop=True))
    assert not np.allclose(batch["recovered"].sel(run=0, seed=3),
                           batch["recovered"].sel(run=0, seed=7))


@pytest.mark.slow
def test_no_population_spike_without_depression():
    """Finite-size noise, 10 s, four seeds: with depression the model fires
    population spikes in which at least half of the excitatory neurons take
    part; with every x held at 1, none (inhibition, undepressed too, holds the
    activity low; noise only makes partial blips), and neither does the
    deterministic model."""
    p = tum2000.preset("default", duration_ms=10000.0)
    seeds = [1, 2, 3, 4]
    with_dep = simulate_rate_model(p, finite_size=True, seeds=seeds)
    without = simulate_rate_model(p, finite_size=True, seeds=seeds, depression=False)

    def full(rm):
        return int(rate_model_events(rm)["full"].sum())

    assert sum(full(with_dep.sel(seed=s)) for s in seeds) >= 3
    assert [full(without.sel(seed=s)) for s in seeds] == [0, 0, 0, 0]
    np.testing.assert_array_equal(without["recovered"].values, 1.0)
    assert rate_model_events(simulate_rate_model(p, depression=False))["onset_ms"].size == 0


def test_bad_noise_step_is_refused(params):
    with pytest.raises(ValueError, match="noise_dt_ms"):
        simulate_rate_model(params, finite_size=True, noise_dt_ms=0.3, duration_ms=10.0)


def test_poisson_by_inversion_moments():
    rng = np.random.default_rng(1)
    for lam in (0.02, 0.5, 4.0):
        counts = poisson_by_inversion(np.full(100_000, lam), rng.random(100_000))
        assert counts.mean() == pytest.approx(lam, rel=0.03)
        assert counts.var() == pytest.approx(lam, rel=0.05)


def _fake_rate_model(bumps, duration=3000.0):
    """A rate-model-like dataset with population-spike bumps of given (time, peak Hz)."""
    t = np.arange(0.0, duration + 1)
    rate = np.full(t.size, 5.0)
    x = np.full(t.size, 0.5)
    for t0, peak in bumps:
        rate[int(t0):int(t0) + 4] = peak
        x[int(t0) + 4:] = 0.3
    classes = np.repeat(rate[:, None], 10, axis=1)
    return xr.Dataset({"rate": (("population", "time"), np.stack([rate, rate, rate])),
                       "recovered": (("pathway", "time"), np.stack([x, x, x, x])),
                       "class_rate_exc": (("time", "exc_class"), classes)},
                      coords={"time": t, "population": ["exc", "inh", "all"],
                              "pathway": list(tum2000.PATHWAYS)})


def test_rate_model_events_use_the_network_definitions():
    rm = _fake_rate_model([(500.0, 200.0), (510.0, 200.0), (2000.0, 100.0)])
    ev = rate_model_events(rm)
    assert ev["onset_ms"].size == 2                    # 500 and 510 merge (gap < 20 ms)
    np.testing.assert_allclose(ev["onset_ms"], [500.0, 2000.0])
    np.testing.assert_allclose(ev["x_before"], [0.5, 0.3])
    # 200 Hz for 4 + 6 + 4 ms: at most one spike per neuron counts
    assert float(ev["participation"][0]) == pytest.approx(1.0)
    assert float(ev["participation"][1]) == pytest.approx(0.4)   # 100 Hz for 4 ms
    assert not bool(ev["full"][1]) and bool(ev["full"][0])
    assert ev["whole"].all()
