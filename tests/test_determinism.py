"""Same parameters and seed: the same dataset, bit for bit, on every Brian2 target."""

import pytest
import xarray as xr

import tum2000
from tum2000.store import dataset

QUICK = dict(burn_in_ms=100.0, duration_ms=500.0)


@pytest.fixture(scope="module")
def numpy_run():
    return tum2000.simulate(tum2000.preset("default", **QUICK), seed=11, target="numpy")


def test_same_seed_twice_gives_identical_files(numpy_run, tmp_path):
    again = tum2000.simulate(tum2000.preset("default", **QUICK), seed=11, target="numpy")
    xr.testing.assert_identical(again, numpy_run)
    a = dataset.save(numpy_run, tmp_path / "a.nc").read_bytes()
    b = dataset.save(again, tmp_path / "b.nc").read_bytes()
    assert a == b


def test_different_seed_differs(numpy_run):
    other = tum2000.simulate(tum2000.preset("default", **QUICK), seed=12)
    assert other["spike_time"].size != numpy_run["spike_time"].size or not (
        other["spike_time"].values == numpy_run["spike_time"].values).all()


@pytest.mark.parametrize("target", [
    "engine", pytest.param("cython", marks=pytest.mark.slow),
    pytest.param("cpp_standalone", marks=pytest.mark.slow)])
def test_compiled_targets_match_numpy(numpy_run, target):
    """Connectivity and parameters are drawn in NumPy, so Brian2's targets
    (which draw random numbers differently) simulate the same network."""
    ds = tum2000.simulate(tum2000.preset("default", **QUICK), seed=11, target=target)
    assert ds["spike_time"].size > 1000
    xr.testing.assert_identical(ds, numpy_run)
