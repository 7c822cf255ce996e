"""The density model over the network's size series (tum2000.sweeps.density_size)."""

import numpy as np

from tum2000.sweeps import scenarios
from tum2000.sweeps.density_size import density_size_study


def test_size_study_covers_the_networks_grid_and_counts_per_second():
    """Short runs (0.3 s after the burn-in, one noise seed) at every point of
    the network's size study: the same spreads, sizes and N_inh, a rate that is
    the count over the recorded time, and a run that is reproducible from its
    seed."""
    ds = density_size_study([5], 300.0, workers=2)
    assert sorted(ds["I_b_spread_mV"].values.tolist()) == sorted(scenarios.SIZE_SPREADS_MV)
    assert (ds["N_exc"].values + ds["N_inh"].values).tolist() == list(scenarios.SIZE_N)
    assert ds.sizes["seed"] == 1 and np.all(ds["duration_s"] == 0.3)
    np.testing.assert_array_equal(ds["full_ps_rate_hz"], ds["full_ps_count"] / 0.3)
    assert np.all(ds["full_ps_count"] >= 0) and np.all(ds["partial_ps_count"] >= 0)
    again = density_size_study([5], 300.0, workers=1)
    np.testing.assert_array_equal(again["full_ps_count"], ds["full_ps_count"])
