"""Sweeps through Dask: same datasets as one-by-one simulation, cached, errors surface."""

import pytest
import xarray as xr

import tum2000
from tum2000.cache import cache_path
from tum2000.sweep import simulate_many

PARAMS = dict(burn_in_ms=100.0, duration_ms=300.0)


def test_local_cluster_sweep_matches_direct_simulation(tmp_path):
    p = tum2000.preset("default", **PARAMS)
    q = p.replace(I_b_spread_mV=0.75)
    jobs = [(p, 1), (q, 1), (p, 2), (p, 1)]  # the repeated job is computed once
    out = simulate_many(jobs, directory=tmp_path, n_workers=2)
    assert [ds.attrs["seed"] for ds in out] == [1, 1, 2, 1]
    xr.testing.assert_identical(out[1], tum2000.simulate(q, 1))
    xr.testing.assert_identical(out[0], out[3])
    assert len(list(tmp_path.glob("sim-*.nc"))) == 3
    assert cache_path(p, 2, tmp_path).exists()


def test_cached_jobs_do_not_start_a_cluster(tmp_path, monkeypatch):
    p = tum2000.preset("default", **PARAMS)
    simulate_many([(p, 3)], directory=tmp_path, n_workers=1)

    def no_cluster(*args, **kwargs):
        raise AssertionError("everything was cached")

    monkeypatch.setattr("tum2000.sweep._run", no_cluster)
    assert simulate_many([(p, 3)], directory=tmp_path)[0].attrs["seed"] == 3


def test_a_failing_simulation_is_reported(tmp_path):
    p = tum2000.preset("default", **PARAMS)
    with pytest.raises(ValueError, match="unknown Brian2 target 'fortran'"):
        simulate_many([(p, 4)], targets=["fortran"], directory=tmp_path, n_workers=1)
    with pytest.raises(ValueError, match="1 targets for 2 jobs"):
        simulate_many([(p, 4), (p, 5)], targets=["numpy"], directory=tmp_path)
