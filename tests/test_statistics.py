"""Averages over seeds (tum2000.analysis.statistics.over_seeds) on known numbers."""

import numpy as np
import xarray as xr

from tum2000.analysis.statistics import over_seeds


def test_mean_standard_error_and_count_over_seeds():
    values = xr.DataArray([[1.0, 3.0, np.nan], [2.0, np.nan, np.nan]], dims=("w", "seed"),
                          coords={"w": [0.5, 1.0], "seed": [1, 2, 3]})
    stats = over_seeds(values)
    assert stats["n"].values.tolist() == [2, 1]
    assert stats["mean"].values.tolist() == [2.0, 2.0]
    # sd (ddof 1) of 1 and 3 is sqrt(2); over sqrt(2) seeds: 1
    assert np.isclose(float(stats["sem"].sel(w=0.5)), 1.0, rtol=0, atol=1e-15)
    assert np.isnan(float(stats["sem"].sel(w=1.0)))  # one seed: no standard error


def test_no_finite_value_gives_no_mean():
    stats = over_seeds(xr.DataArray([np.nan, np.nan], dims="seed"))
    assert int(stats["n"]) == 0 and np.isnan(float(stats["mean"]))
