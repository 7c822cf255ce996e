"""The dataset cache: hit, miss, corrupt entries, keys."""

import pytest
import xarray as xr

import tum2000
from tum2000 import cache

PARAMS = dict(burn_in_ms=100.0, duration_ms=200.0)


def test_miss_then_hit(tmp_path, monkeypatch):
    params = tum2000.preset("default", **PARAMS)
    first = cache.cached_simulate(params, 4, directory=tmp_path)
    entry = cache.cache_path(params, 4, tmp_path)
    assert entry.exists()

    def no_simulation(*args, **kwargs):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr("tum2000.model.simulation.simulate", no_simulation)
    xr.testing.assert_identical(cache.cached_simulate(params, 4, directory=tmp_path), first)


def test_key_depends_on_parameters_seed_and_code_version(monkeypatch):
    p = tum2000.preset("default")
    keys = {cache.cache_key(p, 1), cache.cache_key(p, 2),
            cache.cache_key(p.replace(I_b_spread_mV=0.75), 1)}
    assert len(keys) == 3
    monkeypatch.setattr(cache, "code_version", lambda: "9.9.9+other")
    assert cache.cache_key(p, 1) not in keys


def test_corrupt_entry_is_reported_and_replaced(tmp_path):
    params = tum2000.preset("default", **PARAMS)
    entry = cache.cache_path(params, 5, tmp_path)
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_bytes(b"\x89HDF garbage")
    with pytest.warns(RuntimeWarning, match="unusable cache entry"):
        ds = cache.cached_simulate(params, 5, directory=tmp_path)
    xr.testing.assert_identical(tum2000.load(entry), ds)


def test_entry_holding_another_simulation_is_not_used(tmp_path):
    params = tum2000.preset("default", **PARAMS)
    other = tum2000.simulate(params, 6)
    tum2000.save(other, cache.cache_path(params, 7, tmp_path))
    with pytest.warns(RuntimeWarning, match="different simulation"):
        ds = cache.cached_simulate(params, 7, directory=tmp_path)
    assert ds.attrs["seed"] == 7


def test_location_is_configurable(monkeypatch, tmp_path):
    monkeypatch.setenv("TUM2000_CACHE", str(tmp_path / "here"))
    assert cache.cache_dir() == tmp_path / "here"
    monkeypatch.delenv("TUM2000_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "tum2000"
