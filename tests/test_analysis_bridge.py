"""Neo bridge and Elephant-computed quantities against independent NumPy."""

import numpy as np
import pytest
import quantities as pq

import synthetic
from tum2000.analysis import (firing_rates, from_block, population_activity, spiketrain_list,
                              spiketrains, to_block)
from tum2000.analysis.synchrony import (complexity_pdf, cv_isi, fano_factors, mean_correlation,
                                        sample_pairs)


@pytest.fixture(scope="module")
def poisson():
    return synthetic.poisson_dataset(duration_ms=1000.0, seed=3)


def _per_neuron(ds):
    t, n = ds["spike_time"].values, ds["spike_neuron"].values
    return [np.sort(t[n == i]) for i in range(ds.sizes["neuron"])]


def test_block_round_trip(poisson):
    block = to_block(poisson)
    assert len(block.segments) == 1
    trains = block.segments[0].spiketrains
    assert len(trains) == poisson.sizes["neuron"]
    st = trains[0]
    assert st.units == pq.ms and float(st.t_stop) == poisson.attrs["duration_ms"]
    assert st.annotations["population"] == "exc" and trains[-1].annotations["population"] == "inh"
    assert st.annotations["I_b"] == pytest.approx(float(poisson["I_b"][0]))
    t, n = from_block(block)
    np.testing.assert_array_equal(t, poisson["spike_time"].values)
    np.testing.assert_array_equal(n, poisson["spike_neuron"].values)
    assert sum(len(s) for s in spiketrain_list(poisson)) == poisson.sizes["spike"]
    assert len(spiketrains(poisson, "exc")) == 400 and len(spiketrains(poisson, "inh")) == 100


@pytest.mark.parametrize("population,bin_ms", [("all", 1.0), ("exc", 1.0), ("inh", 5.0)])
def test_activity_matches_numpy(poisson, population, bin_ms):
    act = population_activity(poisson, bin_ms=bin_ms, population=population)
    dur = poisson.attrs["duration_ms"]
    edges = np.arange(0.0, dur + bin_ms / 2, bin_ms)
    pops = poisson["population"].values.astype(str)
    members = np.flatnonzero(pops == population) if population != "all" else np.arange(500)
    fired = np.array([np.histogram(tr, bins=edges)[0] > 0 for tr in
                      [_per_neuron(poisson)[i] for i in members]])
    expected = fired.sum(axis=0) / members.size
    np.testing.assert_allclose(act.values, expected)
    np.testing.assert_array_equal(act["time"].values, edges[:-1])
    assert act.name == "activity" and act.attrs["units"] == "1"
    assert act["time"].attrs["units"] == "ms"


def test_rates_cv_fano_match_numpy(poisson):
    per = _per_neuron(poisson)
    dur = poisson.attrs["duration_ms"]
    rates = firing_rates(poisson)
    np.testing.assert_allclose(rates.values, [len(p) / dur * 1000 for p in per])
    assert rates.attrs["units"] == "Hz"
    assert list(np.unique(rates["population"].values)) == ["exc", "inh"]
    cvs = cv_isi(spiketrains(poisson))
    exp = [np.std(np.diff(p)) / np.mean(np.diff(p)) if len(p) >= 3 else np.nan for p in per]
    np.testing.assert_allclose(cvs, exp)
    fano = fano_factors(spiketrains(poisson), 100.0)
    counts = np.array([np.histogram(p, bins=np.arange(0, dur + 1, 100.0))[0] for p in per])
    m = counts.mean(axis=1)
    np.testing.assert_allclose(fano, np.where(m > 0, counts.var(axis=1) / np.where(m > 0, m, 1),
                                              np.nan))


def test_regular_train_has_cv_zero():
    ds = synthetic.regular_dataset(period_ms=40.0, duration_ms=1000.0)
    assert np.nanmax(np.abs(cv_isi(spiketrains(ds)))) < 1e-9


def test_correlation_and_complexity_match_numpy(poisson):
    trains = spiketrains(poisson, "inh")
    per = _per_neuron(poisson)[400:]
    binned = np.array([np.histogram(p, bins=np.arange(0, 1001, 5.0))[0] for p in per])
    c = np.corrcoef(binned)
    expected = np.nanmean(c[~np.eye(c.shape[0], dtype=bool)])
    assert mean_correlation(trains, 5.0) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    pdf = complexity_pdf(spiketrains(poisson), 1.0, 500)
    fired = np.array([np.histogram(p, bins=np.arange(0, 1001, 1.0))[0] > 0
                      for p in _per_neuron(poisson)]).sum(axis=0)
    np.testing.assert_allclose(pdf, np.bincount(fired, minlength=501) / fired.size)


def test_sample_pairs_distinct_and_seeded():
    pairs = sample_pairs(50, 300, seed=4)
    assert pairs.shape == (300, 2)
    assert np.all(pairs[:, 0] < pairs[:, 1]) and pairs.max() < 50
    assert len({tuple(p) for p in pairs}) == 300
    np.testing.assert_array_equal(pairs, sample_pairs(50, 300, seed=4))
    assert len(sample_pairs(5, 100, seed=0)) == 10
