"""The dataset cache: hit, miss, corrupt entries, keys."""

import pytest
import xarray as xr

import tum2000
from tum2000.store import cache

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


def test_key_depends_on_the_versions_of_numpy_scipy_and_brian2(monkeypatch):
    p = tum2000.preset("default")
    key = cache.cache_key(p, 1)
    for lib in ("numpy", "scipy", "brian2"):
        versions = {**cache.result_library_versions(), lib: "0.0.1"}
        monkeypatch.setattr(cache, "result_library_versions", lambda v=versions: v)
        assert cache.cache_key(p, 1) != key, lib
        monkeypatch.undo()


def test_code_version_hashes_every_model_module_and_nothing_else():
    from tum2000.model import provenance

    files = {p.relative_to(provenance.PACKAGE_DIR).as_posix()
             for p in provenance.result_source_files()}
    model = {p.relative_to(provenance.PACKAGE_DIR).as_posix()
             for p in (provenance.PACKAGE_DIR / "model").rglob("*.py")}
    assert files == model | {"store/dataset.py"}
    assert not any(f.startswith(("analysis/", "book/")) or f.startswith("plotting/") for f in files)


def test_incomplete_entry_is_refused_and_replaced(tmp_path):
    params = tum2000.preset("default", **PARAMS)
    good = tum2000.simulate(params, 8)
    cut = good.copy()
    cut.attrs["simulated_ms"] = 150.0  # stopped halfway through the recording
    entry = cache.cache_path(params, 8, tmp_path)
    tum2000.store.dataset.write_netcdf(cut, entry)
    with pytest.warns(RuntimeWarning, match="is incomplete"):
        ds = cache.cached_simulate(params, 8, directory=tmp_path)
    assert ds.attrs["simulated_ms"] == 300.0
    assert tum2000.load(entry).attrs["simulated_ms"] == 300.0


def test_entries_respect_the_umask(tmp_path):
    import os

    params = tum2000.preset("default", **PARAMS)
    old = os.umask(0o022)
    try:
        cache.cached_simulate(params, 9, directory=tmp_path / "shared")
    finally:
        os.umask(old)
    entry = cache.cache_path(params, 9, tmp_path / "shared")
    assert entry.stat().st_mode & 0o777 == 0o644  # readable by the group and others


def test_cache_command_lists_clears_and_prints_its_folder(tmp_path, monkeypatch):
    import subprocess
    import sys

    folder = tmp_path / "c"
    params = tum2000.preset("default", **PARAMS)
    cache.cached_simulate(params, 10, directory=folder)
    leftover = folder / ".sim-leftover.nc.abc.tmp.nc"
    leftover.write_bytes(b"from a killed process")
    old = __import__("time").time() - cache.TEMPORARY_GRACE_S - 60  # killed long ago
    __import__("os").utime(leftover, (old, old))
    (folder / "notes.txt").write_text("not ours")
    env = {**__import__("os").environ, "TUM2000_CACHE": str(folder)}

    def tum(*args):
        return subprocess.run([sys.executable, "-m", "tum2000.cli", "cache", *args],
                              capture_output=True, text=True, env=env)

    assert tum("--path").stdout.strip() == str(folder)
    listing = tum("--list")
    assert listing.returncode == 0
    assert "seed 10: burn_in_ms=100.0, duration_ms=200.0" in listing.stdout
    assert "1 entry" in listing.stderr
    cleared = tum("--clear")
    assert cleared.returncode == 0 and "removed 2 file(s)" in cleared.stdout
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
