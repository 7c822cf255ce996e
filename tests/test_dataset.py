"""The dataset contract, netCDF round trip, atomic writes, bad files."""

import json
import multiprocessing
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

import tum2000
from tum2000.store import dataset
from tum2000.store.dataset import CorruptDatasetError, DatasetError, ForeignDatasetError


def test_schema(short_dataset, short_params):
    ds = short_dataset
    assert ds["population"].dims == ("neuron",) and ds["I_b"].dims == ("neuron",)
    assert set(ds["population"].values) == {"exc", "inh"}
    assert list(ds["pathway"].values) == ["EE", "EI", "IE", "II"]
    assert ds["spike_time"].dims == ds["spike_neuron"].dims == ("spike",)
    assert ds["spike_neuron"].attrs["instance_dimension"] == "neuron"
    assert ds["recovered"].dims == ds["utilization"].dims == ("pathway", "time")
    for name, var in ds.variables.items():
        assert "units" in var.attrs, name
    assert ds["time"][0] == 0 and ds["time"][-1] == short_params["duration_ms"]
    assert tum2000.Parameters.from_json(ds.attrs["parameters"]) == short_params
    assert ds.attrs["seed"] == 3 and ds.attrs["code_version"] == tum2000.code_version()
    assert ds.attrs["brian2_version"] and ds.attrs["numpy_version"]
    times = ds["spike_time"].values
    assert np.all(np.diff(times) >= 0) and times[0] >= 0
    assert times[-1] < short_params["duration_ms"]
    # depressing pathways: u is the constant mean U; facilitating ones vary
    for pathway in ("EE", "IE"):
        u = ds["utilization"].sel(pathway=pathway).values
        np.testing.assert_allclose(u, ds["U_mean"].sel(pathway=pathway).item())
    assert ds["utilization"].sel(pathway="EI").std() > 0


def test_netcdf_round_trip_is_bit_exact(short_dataset, tmp_path):
    path = dataset.save(short_dataset, tmp_path / "run.nc")
    back = dataset.load(path)
    xr.testing.assert_identical(back, short_dataset)
    for name in short_dataset.variables:
        a, b = short_dataset[name].values, back[name].values
        if a.dtype.kind in "fiu":
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
        else:
            assert a.tolist() == b.tolist(), name
    # plain xarray sees times as float milliseconds, not timedeltas
    with xr.open_dataset(path) as plain:
        assert plain["spike_time"].dtype == np.float64
        assert plain["time"].dtype == np.float64


def test_save_is_atomic_on_failure(short_dataset, tmp_path, monkeypatch):
    target = tmp_path / "run.nc"
    dataset.save(short_dataset, target)
    before = target.read_bytes()

    def broken(self, path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(KeyboardInterrupt):
        dataset.save(short_dataset, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.nc"]


def _write(args):
    path, nc = args
    dataset.save(dataset.load(nc), path)


def test_concurrent_writers_leave_one_valid_file(short_dataset, tmp_path):
    source = dataset.save(short_dataset, tmp_path / "source.nc")
    target = tmp_path / "shared" / "entry.nc"
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_write, [(target, source)] * 4)
    xr.testing.assert_identical(dataset.load(target), short_dataset)
    assert [p.name for p in target.parent.iterdir()] == ["entry.nc"]


def test_truncated_file_is_reported(short_dataset, tmp_path):
    path = dataset.save(short_dataset, tmp_path / "run.nc")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptDatasetError, match="not a readable netCDF file"):
        dataset.load(path)
    path.write_bytes(b"not netcdf at all")
    with pytest.raises(CorruptDatasetError):
        dataset.load(path)


def test_foreign_netcdf_is_reported(tmp_path):
    path = tmp_path / "other.nc"
    xr.Dataset({"v": ("t", np.arange(3.0))}).to_netcdf(path)
    with pytest.raises(ForeignDatasetError, match="not a tum2000 dataset"):
        dataset.load(path)


def test_tampered_dataset_is_reported(short_dataset, tmp_path):
    bad = short_dataset.copy()
    bad.attrs["parameters"] = json.dumps({"N_exc": -3})
    with pytest.raises(ForeignDatasetError, match="N_exc"):
        dataset.validate(bad)
    bad = short_dataset.drop_vars("recovered")
    with pytest.raises(ForeignDatasetError, match="recovered"):
        dataset.save(bad, tmp_path / "x.nc")
    assert not (tmp_path / "x.nc").exists()
    with pytest.raises(DatasetError, match="no such file"):
        dataset.load(tmp_path / "missing.nc")


def test_simulated_span_is_recorded_and_a_short_one_refused(short_dataset, tmp_path):
    from tum2000.store import dataset

    params = dataset.parameters_of(short_dataset)
    assert short_dataset.attrs["simulated_ms"] == params["burn_in_ms"] + params["duration_ms"]
    assert short_dataset.attrs["format"] == "tum2000-dataset/3"
    cut = short_dataset.copy()
    cut.attrs["simulated_ms"] = params["burn_in_ms"] + 100.0
    dataset.write_netcdf(cut, tmp_path / "cut.nc")
    with pytest.raises(dataset.IncompleteDatasetError, match="reached 300 ms of the 800 ms"):
        tum2000.load(tmp_path / "cut.nc")
    with pytest.raises(dataset.IncompleteDatasetError):
        tum2000.save(cut, tmp_path / "never.nc")
    assert not (tmp_path / "never.nc").exists()


def test_an_interrupted_run_is_refused_before_it_is_returned(short_params, monkeypatch, tmp_path):
    """Brian2 stops early and normally on a stop request: the span check catches it."""
    from dataclasses import replace

    from tum2000 import errors

    from tum2000.store import cache
    from tum2000.model import simulation

    real = simulation.run_on_target

    def stopped_early(*args, **kwargs):
        return replace(real(*args, **kwargs), simulated_ms=537.0)

    monkeypatch.setattr(simulation, "run_on_target", stopped_early)
    with pytest.raises(errors.IncompleteRun, match="stopped at 537 ms of 800 ms"):
        cache.cached_simulate(short_params, 3, directory=tmp_path)
    assert not list(tmp_path.iterdir())  # nothing cached


def test_brian2_leaves_ctrl_c_to_python():
    import signal

    from tum2000.interruption import prepare_brian2

    brian2 = prepare_brian2()
    assert brian2.prefs.core.stop_on_keyboard_interrupt is False
    assert signal.getsignal(signal.SIGINT) is not brian2._int_handler


def test_accessors_live_with_the_contract(short_dataset):
    from tum2000.store import dataset
    from tum2000.analysis import neo_bridge

    assert dataset.duration_ms(short_dataset) == 600.0
    assert dataset.neuron_mask(short_dataset, "exc").sum() == 400
    assert neo_bridge.duration_ms is dataset.duration_ms  # one definition


def test_files_respect_the_umask(short_dataset, tmp_path):
    import os

    old = os.umask(0o027)
    try:
        tum2000.save(short_dataset, tmp_path / "group.nc")
    finally:
        os.umask(old)
    assert (tmp_path / "group.nc").stat().st_mode & 0o777 == 0o640
