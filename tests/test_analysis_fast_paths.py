"""The vectorized analysis paths give exactly what Elephant, called the plain way, gives."""

import importlib

import numpy as np
import pytest
import quantities as pq
from elephant.conversion import BinnedSpikeTrain
from elephant.spike_train_correlation import correlation_coefficient
from elephant.spike_train_synchrony import spike_contrast
from elephant.statistics import Complexity, mean_firing_rate, time_histogram

import tum2000
from tum2000.analysis import (detect_population_spikes, firing_rates, population_activity,
                              spiketrains, windowed_spiketrains)
from tum2000.analysis.neo_bridge import complement_windows, quiet
from tum2000.analysis.population_spikes import inside_windows

synchrony_module = importlib.import_module("tum2000.analysis.synchrony")


@pytest.fixture(scope="module")
def run():
    """A real network with population spikes, and its trains: whole and windowed."""
    ds = tum2000.simulate(tum2000.preset("default", burn_in_ms=300.0, duration_ms=1500.0),
                          seed=3)
    ps = detect_population_spikes(ds)
    assert int(ps["n_ps"]) >= 1
    windows = inside_windows(ps, 5.0)
    conditions = {"all": spiketrains(ds, "all"),
                  "inside": windowed_spiketrains(ds, windows, "all"),
                  "outside": windowed_spiketrains(ds, complement_windows(windows, 1500.0),
                                                  "all")}
    return ds, conditions


@pytest.mark.parametrize("population", ["all", "exc", "inh"])
@pytest.mark.parametrize("bin_ms", [1.0, 0.3, 5.0])
def test_activity_is_elephants_time_histogram(run, population, bin_ms):
    ds, _ = run
    ours = population_activity(ds, bin_ms, population).values
    n_bins = ours.size
    with quiet():
        theirs = time_histogram(spiketrains(ds, population), bin_size=bin_ms * pq.ms,
                                t_start=0 * pq.ms, t_stop=n_bins * bin_ms * pq.ms,
                                output="mean", binary=True)
    np.testing.assert_array_equal(ours, np.asarray(theirs.magnitude).ravel())


def test_rates_are_elephants_mean_firing_rate(run):
    ds, _ = run
    theirs = [float(mean_firing_rate(st).rescale("Hz").magnitude) for st in spiketrains(ds)]
    np.testing.assert_array_equal(firing_rates(ds).values, theirs)


@pytest.mark.parametrize("condition", ["all", "inside", "outside"])
def test_binned_measures_are_elephants(run, condition):
    _, conditions = run
    trains = conditions[condition]
    t_stop = float(trains[0].t_stop.magnitude)
    # complexity distribution
    n_bins = int(np.floor(t_stop + 1e-9))
    sliced = [st.time_slice(0 * pq.ms, n_bins * pq.ms) for st in trains] \
        if abs(n_bins - t_stop) > 1e-9 else trains
    with quiet():
        hist = np.asarray(Complexity(sliced, bin_size=1 * pq.ms, binary=True)
                          .complexity_histogram, dtype=float)
    expected = np.zeros(len(trains) + 1)
    expected[:hist.size] = hist / hist.sum()
    np.testing.assert_array_equal(synchrony_module.complexity_pdf(trains, 1.0, len(trains)),
                                  expected)
    # correlation coefficients of 5 ms bins, silent trains left out
    active = [st for st in trains if len(st)]
    n5 = int(np.floor(t_stop / 5.0 + 1e-9))
    if n5 >= 2:
        with quiet():
            c = correlation_coefficient(BinnedSpikeTrain(active, bin_size=5 * pq.ms,
                                                         t_start=0 * pq.ms,
                                                         t_stop=n5 * 5.0 * pq.ms))
        off = c[~np.eye(c.shape[0], dtype=bool)]
        assert synchrony_module.mean_correlation(trains, 5.0) == float(np.nanmean(off))
    # Fano factors of 100 ms windows
    n100 = int(np.floor(t_stop / 100.0 + 1e-9))
    if n100 >= 2:
        with quiet():
            counts = BinnedSpikeTrain(list(trains), bin_size=100 * pq.ms, t_start=0 * pq.ms,
                                      t_stop=n100 * 100.0 * pq.ms).to_array()
        mean = counts.mean(axis=1)
        fano = np.where(mean > 0, counts.var(axis=1) / np.where(mean > 0, mean, 1), np.nan)
        np.testing.assert_array_equal(synchrony_module.fano_factors(trains, 100.0), fano)


@pytest.mark.parametrize("condition", ["all", "outside"])
def test_spike_contrast_is_elephants(run, condition):
    _, conditions = run
    trains = [st for st in conditions[condition] if len(st)]
    with quiet():
        theirs = spike_contrast(trains, t_start=0 * pq.ms, t_stop=trains[0].t_stop,
                                min_bin=10 * pq.ms)
    assert synchrony_module._spike_contrast(trains, 10.0) == theirs
    import elephant.spike_train_synchrony as sts
    assert sts._get_theta_and_n_per_bin is not synchrony_module._theta_and_n_per_bin


def test_cheap_summary_is_the_full_one_without_synchrony(run):
    ds, _ = run
    full = tum2000.analysis.summarize(ds)
    cheap = tum2000.analysis.summarize(ds, synchrony=False)
    synchrony_fields = {"cv_isi_exc", "cv_isi_inh", "fano_exc", "fano_inh", "spike_contrast",
                        "spike_contrast_inside", "spike_contrast_outside", "correlation_exc",
                        "correlation_inh", "sttc_exc", "rate_I_b_spearman_exc"}
    assert {k for k in full if full[k] != cheap[k]} <= synchrony_fields
    assert all(cheap[k] is None for k in synchrony_fields)
    assert cheap["n_ps"] == full["n_ps"] and cheap["x_before_ps"] == full["x_before_ps"]
