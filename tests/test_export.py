"""Export of a run to NWB (pynwb) and NIX (Neo's NixIO): every spike read back,
the metadata kept, bad requests refused before any work, nothing half-written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import tum2000
from tum2000.errors import BadInput
from tum2000.store import export

pynwb = pytest.importorskip("pynwb")
pytest.importorskip("nixio")


@pytest.fixture(scope="module")
def small_run():
    """A 50-neuron network (NixIO writes one HDF5 group per spike train, ~0.1 s
    each: the full 500 neurons are exported in the slow test)."""
    params = tum2000.preset("default", N_exc=40, N_inh=10, burn_in_ms=100.0,
                            duration_ms=400.0)
    ds = tum2000.simulate(params, seed=5)
    assert ds.sizes["spike"] > 50  # enough spikes for the round trip to mean something
    return ds


def expected_trains(ds) -> list[np.ndarray]:
    """Spike times per neuron computed directly from the dataset (not via export)."""
    times = ds["spike_time"].values
    neurons = ds["spike_neuron"].values
    return [times[neurons == i] for i in range(ds.sizes["neuron"])]


def read_nwb(path):
    io = pynwb.NWBHDF5IO(str(path), "r")
    return io, io.read()


def check_nwb(ds, path: Path) -> None:
    io, nwb = read_nwb(path)
    try:
        units = nwb.units.to_dataframe()
        assert list(units.index) == list(range(ds.sizes["neuron"]))
        for i, train in enumerate(expected_trains(ds)):
            # Stored in s: ms / 1000 and back loses at most a few ulps (1e-9 ms covers it).
            np.testing.assert_allclose(np.asarray(units["spike_times"][i]) * 1000.0, train,
                                       rtol=0, atol=1e-9)
        assert sum(len(t) for t in units["spike_times"]) == ds.sizes["spike"]
        assert list(units["population"]) == list(ds["population"].values.astype(str))
        np.testing.assert_array_equal(units["I_b"].to_numpy(), ds["I_b"].values)
        assert nwb.identifier == export.run_identifier(ds)
        assert nwb.session_start_time == export.SIMULATION_EPOCH
        module = nwb.processing["synapses"]
        for variable in ("recovered", "utilization"):
            for pathway in ds["pathway"].values:
                series = module[f"{variable}_{pathway}"]
                np.testing.assert_array_equal(series.data[:],
                                              ds[variable].sel(pathway=pathway).values)
                assert series.rate == pytest.approx(1000.0 / float(
                    ds["time"].values[1] - ds["time"].values[0]))
        notes = json.loads(nwb.notes)
        assert notes["parameters"] == json.loads(ds.attrs["parameters"])
        assert notes["seed"] == int(ds.attrs["seed"])
        assert notes["code_version"] == ds.attrs["code_version"]
        assert notes["pathway_summaries"]["synapse_count"]["EE"] == int(
            ds["synapse_count"].sel(pathway="EE"))
    finally:
        io.close()


def read_nix(path: Path):
    from neo.io import NixIO

    io = NixIO(str(path), mode="ro")
    try:
        return io.read_block()
    finally:
        io.close()


def check_nix(ds, path: Path) -> None:
    block = read_nix(path)
    assert len(block.segments) == 1
    segment = block.segments[0]
    trains = expected_trains(ds)
    assert len(segment.spiketrains) == ds.sizes["neuron"]
    populations = ds["population"].values.astype(str)
    for st in segment.spiketrains:
        i = int(st.annotations["neuron_index"])
        np.testing.assert_array_equal(st.rescale("ms").magnitude, trains[i])
        assert st.annotations["population"] == populations[i]
        assert st.annotations["I_b"] == float(ds["I_b"].values[i])
        assert float(st.t_stop.rescale("ms")) == tum2000.store.dataset.duration_ms(ds)
    assert sorted(int(st.annotations["neuron_index"]) for st in segment.spiketrains) == \
        list(range(ds.sizes["neuron"]))
    signals = {sig.name: sig for sig in segment.analogsignals}
    for variable in ("recovered", "utilization"):
        sig = signals[variable]
        assert list(sig.array_annotations["pathway"]) == list(ds["pathway"].values)
        np.testing.assert_array_equal(sig.magnitude,
                                      ds[variable].transpose("time", "pathway").values)
    params = json.loads(ds.attrs["parameters"])
    assert json.loads(block.annotations["parameters"]) == params
    assert block.annotations["dt_ms"] == params["dt_ms"]
    assert block.annotations["N_exc"] == params["N_exc"]
    assert block.annotations["seed"] == int(ds.attrs["seed"])


def test_nwb_round_trip(small_run, tmp_path):
    path = export.export_run(small_run, tmp_path / "run.nwb", "nwb")
    check_nwb(small_run, path)
    again = export.export_run(small_run, tmp_path / "again.nwb", "nwb")
    _, second = read_nwb(again)
    assert second.identifier == export.run_identifier(small_run)  # defined by the run


def test_nix_round_trip(small_run, tmp_path):
    path = export.export_run(small_run, tmp_path / "run.nix", "nix")
    check_nix(small_run, path)


def test_export_from_a_dataset_file(small_run, tmp_path):
    source = tum2000.store.dataset.save(small_run, tmp_path / "run.nc")
    check_nwb(small_run, export.export_run(source, tmp_path / "out" / "run.nwb", "nwb"))


def test_identifier_depends_on_the_run(small_run):
    other = small_run.copy()
    other.attrs = dict(small_run.attrs, seed=int(small_run.attrs["seed"]) + 1)
    assert export.run_identifier(other) != export.run_identifier(small_run)


def test_nwbinspector_finds_no_error(small_run, tmp_path):
    inspector = pytest.importorskip("nwbinspector")
    path = export.export_run(small_run, tmp_path / "run.nwb", "nwb")
    # A simulation has no animal: the subject checks do not apply.
    messages = [m for m in inspector.inspect_nwbfile(nwbfile_path=str(path))
                if m.check_function_name != "check_subject_exists"]
    bad = [m for m in messages
           if m.importance in (inspector.Importance.ERROR, inspector.Importance.CRITICAL,
                               inspector.Importance.PYNWB_VALIDATION)]
    assert not bad, [f"{m.check_function_name}: {m.message}" for m in bad]


@pytest.mark.parametrize("name, fmt, needle", [
    ("run.nwb", "hdf5", "unknown export format 'hdf5' (allowed: nwb (.nwb), nix (.nix))"),
    ("run.nix", "nwb", "must be a .nwb file"),
    ("run.h5", "nix", "must be a .nix file"),
])
def test_bad_request_is_refused(tmp_path, name, fmt, needle):
    with pytest.raises(BadInput, match=None) as err:
        export.check_export_request(tmp_path / name, fmt)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_folder_and_unwritable_places_are_refused(tmp_path, small_run):
    (tmp_path / "dir.nwb").mkdir()
    with pytest.raises(BadInput, match="is a folder"):
        export.check_export_request(tmp_path / "dir.nwb", "nwb")
    (tmp_path / "plain").write_text("a file, not a folder")
    with pytest.raises(BadInput, match="is not a folder"):
        export.export_run(small_run, tmp_path / "plain" / "run.nwb", "nwb")
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(BadInput, match="not writable"):
            export.check_export_request(locked / "run.nix", "nix")


def test_a_file_that_is_not_a_dataset_is_refused_before_any_work(tmp_path, small_run):
    stranger = tmp_path / "stranger.nc"
    small_run.drop_attrs().to_netcdf(stranger)
    with pytest.raises(BadInput, match="not a tum2000 dataset"):
        export.export_run(stranger, tmp_path / "run.nwb", "nwb")
    (tmp_path / "text.nc").write_text("not netCDF")
    with pytest.raises(BadInput, match="not a readable netCDF"):
        export.export_run(tmp_path / "text.nc", tmp_path / "run.nix", "nix")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stranger.nc", "text.nc"]


def test_a_failing_writer_leaves_nothing(tmp_path, small_run, monkeypatch):
    target = tmp_path / "run.nwb"
    target.write_bytes(b"previous export")

    def broken(ds, tmp):
        Path(tmp).write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setitem(export.WRITERS, "nwb", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export.export_run(small_run, target, "nwb")
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["run.nwb"]


@pytest.mark.slow
def test_full_network_round_trip(short_dataset, tmp_path):
    """All 500 neurons of the default network through both formats."""
    check_nwb(short_dataset, export.export_run(short_dataset, tmp_path / "run.nwb", "nwb"))
    check_nix(short_dataset, export.export_run(short_dataset, tmp_path / "run.nix", "nix"))


def test_the_command_line_exports_and_refuses_bad_requests(tmp_path):
    import subprocess
    import sys

    import tum2000

    run = tmp_path / "run.nc"
    tum2000.save(tum2000.simulate(tum2000.preset("quick", burn_in_ms=100.0,
                                                 duration_ms=200.0), 1), run)

    def tum(*args):
        return subprocess.run([sys.executable, "-m", "tum2000.cli", *map(str, args)],
                              capture_output=True, text=True, cwd=tmp_path, timeout=600)

    done = tum("export", run, "--format", "nwb", "--out", tmp_path / "run.nwb")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "run.nwb")
    wrong = tum("export", run, "--format", "nix", "--out", tmp_path / "run.nwb.x")
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: ")
    assert not (tmp_path / "run.nwb.x").exists()
    unknown = tum("export", run, "--format", "hdf5", "--out", tmp_path / "x.h5")
    assert unknown.returncode == 2 and "nwb" in unknown.stderr
