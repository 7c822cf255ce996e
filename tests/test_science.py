"""What a neuroscientist checks on the default network (Fig. 1)."""

import numpy as np
import pytest

from tum2000.analysis import detect_population_spikes

pytestmark = pytest.mark.slow


def rates(ds):
    seconds = ds.attrs["duration_ms"] / 1000.0
    pop = ds["population"].values
    fired = pop[ds["spike_neuron"].values]
    return ((fired == "exc").sum() / (pop == "exc").sum() / seconds,
            (fired == "inh").sum() / (pop == "inh").sum() / seconds)


def test_rates_in_the_reference_range(default_datasets):
    """The reference script gives about 8 Hz (exc) and 26 Hz (inh); roughly 6-9 and 20-28."""
    for seed, ds in default_datasets.items():
        exc, inh = rates(ds)
        assert 6.0 <= exc <= 9.0, (seed, exc)
        assert 20.0 <= inh <= 28.0, (seed, inh)


def test_population_spikes_occur_and_are_sharp(default_datasets):
    counts = []
    for seed, ds in default_datasets.items():
        ps = detect_population_spikes(ds)
        counts.append(ps.sizes["ps"])
        if ps.sizes["ps"]:
            # a population spike recruits a large part of the network within a few ms
            assert (ps["ps_peak"] >= 0.1).all(), seed
            assert (ps["ps_width"] <= 10.0).all(), seed
    assert all(c >= 1 for c in counts), counts
    # rare: far fewer than one per 100 ms
    assert sum(counts) / (3 * 4.2) < 2.0


def test_recovered_x_drops_at_each_population_spike_and_recovers_slowly(default_datasets):
    for seed, ds in default_datasets.items():
        x = ds["recovered"].sel(pathway="EE")
        ps = detect_population_spikes(ds)
        for t in ps["ps_time"].values:
            before = float(x.sel(time=t - 10.0, method="nearest"))
            after = float(x.sel(time=t + 20.0, method="nearest"))
            assert after < before - 0.08, (seed, t, before, after)
            # slow recovery (tau_rec ~ 800 ms): 200 ms later still well below the level before
            later = x.sel(time=slice(t + 20.0, min(t + 200.0, ds.attrs["duration_ms"])))
            assert float(later.max()) < before - 0.02, (seed, t)
            assert float(later[-1]) > after  # but rising
        # outside population spikes x never falls fast: per-ms decrements are small
        steps = np.diff(x.values)
        near_ps = np.zeros(steps.size, dtype=bool)
        for t in ps["ps_time"].values:
            near_ps[max(0, int(t) - 15):int(t) + 15] = True
        assert steps[~near_ps].min() > -0.01, seed
        assert steps[near_ps].min() < -0.01, seed
