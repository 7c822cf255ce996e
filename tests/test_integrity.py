"""Issue 17, "wrong data served or accepted": cache integrity, tampered datasets,
``cache --clear`` against a writer, and the cache's location.

Every bad input ends with exit 2 and one line saying what is wrong, and leaves
nothing written; the fuzz test mutates every variable and key attribute of a
valid dataset and asserts a :class:`DatasetError` or an identical result, never
a wrong number. Synthetic datasets (tests/synthetic.py) stand in for
simulations, except one real short simulation (the cache's byte flip end to end).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import synthetic
import tum2000
from tum2000 import cli, config
from tum2000.errors import EXIT_BAD_INPUT, DatasetError
from tum2000.store import cache, dataset, stored

SYNTH = dict(duration_ms=300.0, N_exc=40, N_inh=10)
"""A small synthetic run: fast to write, read and summarise."""


@pytest.fixture(scope="module")
def valid() -> xr.Dataset:
    ds = synthetic.poisson_dataset(**SYNTH, seed=2)
    assert ds.sizes["spike"] > 50
    return ds


def _summary(ds: xr.Dataset) -> str:
    import warnings

    from tum2000.analysis import summarize

    with warnings.catch_warnings():  # synthetic runs: "per-synapse replay refused"
        warnings.simplefilter("ignore", RuntimeWarning)
        return json.dumps(summarize(ds), sort_keys=True, allow_nan=True)


def _raw_write(ds: xr.Dataset, path: Path) -> Path:
    """Write as an editing tool would: plain xarray, no validation, no content hash."""
    ds.to_netcdf(path, engine="netcdf4")
    return path


def _main(args: list[str], capsys) -> tuple[int, list[str], str]:
    """``tum2000 ARGS`` in this process: (status, stderr lines, stdout); warnings
    (which pytest records instead of printing) come as the command line shows
    them, "warning: " and their first line, first."""
    import warnings

    from tum2000.errors import first_line

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = cli.main(args)
    out, err = capsys.readouterr()
    lines = [f"warning: {first_line(w.message)}" for w in caught]
    return status, lines + [line for line in err.splitlines() if line.strip()], out


def _run(args: list[str], tmp_path: Path, cwd: Path | None = None,
         **env: str) -> tuple[int, list[str], str]:
    """``tum2000 ARGS`` in a fresh process with its own TMPDIR."""
    tmpdir = tmp_path / f"tmpdir-{len(list(tmp_path.glob('tmpdir-*')))}"
    tmpdir.mkdir()
    done = subprocess.run([sys.executable, "-m", "tum2000.cli", *args], capture_output=True,
                          text=True, cwd=cwd or tmp_path, timeout=600,
                          env={**os.environ, "TMPDIR": str(tmpdir), **env})
    return done.returncode, [line for line in done.stderr.splitlines() if line.strip()], \
        done.stdout


def _one_error(lines: list[str], *words: str) -> None:
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for word in words:
        assert word in lines[0], (word, lines)


# --- mutations of a valid dataset ------------------------------------------------------------

def _replace(ds: xr.Dataset, name: str, values) -> xr.Dataset:
    out = ds.copy(deep=True)
    var = out[name]
    new = xr.Variable(var.dims, np.asarray(values), var.attrs)
    if name in out.coords:
        return out.assign_coords({name: new})
    out[name] = new
    return out


def _with_value(ds: xr.Dataset, name: str, index, value) -> xr.Dataset:
    values = np.array(ds[name].values, dtype=np.float64 if isinstance(value, float)
                      and ds[name].dtype.kind in "iu" else ds[name].dtype)
    values.flat[index] = value
    return _replace(ds, name, values)


def _with_attr(ds: xr.Dataset, name: str, value) -> xr.Dataset:
    out = ds.copy()
    out.attrs = {**ds.attrs, name: value}
    return out


def _wrong_length(ds: xr.Dataset, name: str) -> xr.Dataset:
    var = ds[name]
    dim = var.dims[-1]
    out = ds.drop_vars(name)
    cut = var.values[..., :-1] if var.shape[-1] > 1 else np.concatenate([var.values] * 2, -1)
    out[name] = xr.Variable(var.dims[:-1] + (f"{dim}_other",), cut, var.attrs)
    return out


DATA_VARIABLES = ("I_b", "spike_time", "spike_neuron", "burn_in_spike_time",
                  "burn_in_spike_neuron", "time", "recovered", "utilization",
                  "synapse_count", "U_mean", "tau_rec_mean")


def invalid_mutations(ds: xr.Dataset):
    """(label, mutated dataset): every data variable and key attribute made NaN,
    infinite, out of range, of a wrong dtype, of a wrong length, text."""
    for name in DATA_VARIABLES:
        if ds[name].size == 0:  # no burn-in in a synthetic run: give it one spike
            ds = ds.drop_vars(["burn_in_spike_time", "burn_in_spike_neuron"]).assign(
                burn_in_spike_time=("burn_in_spike", [-1.0]),
                burn_in_spike_neuron=("burn_in_spike", np.array([3], np.int32)))
            ds.attrs = dict(ds.attrs)
            params = dataset.parameters_of(ds).replace(burn_in_ms=100.0)
            ds.attrs.update(parameters=params.to_json(), burn_in_ms=100.0, simulated_ms=400.0)
    base = ds
    yield "valid, with a burn-in", base
    for name in DATA_VARIABLES:
        i = base[name].size // 2
        yield f"{name} NaN", _with_value(base, name, i, np.nan)
        yield f"{name} inf", _with_value(base, name, i, np.inf)
        yield f"{name} -inf", _with_value(base, name, 0, -np.inf)
        yield f"{name} -1e9", _with_value(base, name, i, -1e9)
        yield f"{name} 1e9", _with_value(base, name, -1, 1e9)
        yield f"{name} as strings", _replace(base, name, base[name].values.astype(str))
        yield f"{name} as float32", _replace(base, name, base[name].values.astype(np.float32))
        yield f"{name} as float64", _replace(base, name, base[name].values.astype(np.float64))
        yield f"{name} as int64", _replace(base, name, base[name].values.astype(np.int64))
        yield f"{name} wrong length", _wrong_length(base, name)
    yield "recovered 7", _with_value(base, "recovered", 9, 7.0)
    yield "spike_time unsorted", _replace(base, "spike_time", base["spike_time"].values[::-1])
    yield "population unknown label", _with_value(base, "population", 3, "exx")
    yield "population swapped", _replace(base, "population", base["population"].values[::-1])
    yield "time 3 samples", base.isel(time=slice(0, 3))
    yield "time shifted", _replace(base, "time", base["time"].values + 0.5)
    yield "neuron dropped", base.isel(neuron=slice(0, -1))
    yield "pathway renamed", _with_value(base, "pathway", 0, "XX")
    for name in ("seed", "duration_ms", "burn_in_ms", "simulated_ms"):
        for value in ("abc", "7", np.nan, np.inf, -1, 1.5, True, [1, 2], -1e9):
            yield f"attr {name}={value!r}", _with_attr(base, name, value)
    yield "attr duration_ms=0", _with_attr(base, "duration_ms", 0.0)
    yield "attr duration_ms=1e9", _with_attr(base, "duration_ms", 1e9)
    yield "attr parameters not JSON", _with_attr(base, "parameters", "{not json")
    yield "attr parameters a number", _with_attr(base, "parameters", 3)
    yield "attr code_version number", _with_attr(base, "code_version", 3)
    yield "attr format", _with_attr(base, "format", "tum2000-dataset/9")
    for name in ("seed", "simulated_ms", "parameters", "format"):
        out = base.copy()
        out.attrs = {k: v for k, v in base.attrs.items() if k != name}
        yield f"attr {name} missing", out


def test_fuzz_the_dataset_loader(valid, tmp_path):
    """Every mutation: a DatasetError (in memory and from a file) or the very same result."""
    cases = list(invalid_mutations(valid))
    expected = _summary(cases[0][1])
    refused = accepted = 0
    for label, bad in cases:
        try:
            dataset.validate(bad, "fuzzed")
        except DatasetError as err:
            refused += 1
            assert str(err).startswith("fuzzed"), (label, err)
            assert len(str(err).splitlines()) == 1, (label, err)
        else:
            accepted += 1
            assert _summary(bad) == expected, label  # accepted: never a wrong number
        # the same from a file: load refuses or reads what validate accepted
        path = tmp_path / "fuzz.nc"
        try:
            _raw_write(bad, path)
        except (TypeError, ValueError):  # netCDF cannot store it: nothing to load
            continue
        try:
            back = dataset.load(path)
        except DatasetError:
            continue
        assert _summary(back) == expected, label
    assert refused >= 150 and accepted >= 5, (refused, accepted)


def plausible_edits(ds: xr.Dataset):
    """(label, variable or attribute, new values): changes the range checks
    cannot see (a different but possible run); only the content hash can."""
    neurons = ds["spike_neuron"].values.copy()
    neurons[len(neurons) // 2] = (neurons[len(neurons) // 2] + 1) % ds.sizes["neuron"]
    times = ds["spike_time"].values.copy()
    k = len(times) // 2
    times[k] = (times[k - 1] + times[k]) / 2
    recovered = ds["recovered"].values.copy()
    recovered[1, 9] = 0.5
    I_b = ds["I_b"].values.copy()
    I_b[7] = I_b[8]
    yield "spike_neuron one changed", "spike_neuron", neurons
    yield "spike_time one moved", "spike_time", times
    yield "recovered one changed", "recovered", recovered
    yield "I_b one changed", "I_b", I_b
    yield "I_b reversed", "I_b", ds["I_b"].values[::-1].copy()
    yield "seed 7", "seed", np.int64(7)


@pytest.mark.parametrize("label,name,values", list(plausible_edits(
    synthetic.poisson_dataset(**SYNTH, seed=2))), ids=lambda v: v if isinstance(v, str) else "")
def test_an_edited_stamped_file_is_refused(label, name, values, valid, tmp_path):
    """A file tum2000 wrote, edited in place (netCDF4, as any tool would): refused."""
    import netCDF4

    path = dataset.save(valid, tmp_path / "run.nc")
    with netCDF4.Dataset(str(path), "a") as nc:
        if name in nc.variables:
            nc.variables[name][...] = values
        else:
            nc.setncattr(name, values)
    with pytest.raises(dataset.CorruptDatasetError, match="do not match its content hash"):
        dataset.load(path)


def test_the_valid_dataset_passes_and_round_trips(valid, tmp_path):
    path = dataset.save(valid, tmp_path / "ok.nc")
    xr.testing.assert_identical(dataset.load(path), valid)
    assert stored.content_problem(path) is None  # stamped with the stored data's hash


TAMPERED = [  # label, mutation, words of the one line
    ("NaN spike time", lambda ds: _with_value(ds, "spike_time", 5, np.nan),
     ["spike_time", "NaN or infinite"]),
    ("unknown population", lambda ds: _with_value(ds, "population", 2, "glia"),
     ["population", "'glia'"]),
    ("3-sample time axis", lambda ds: ds.isel(time=slice(0, 3)),
     ["time axis", "found 3 samples"]),
    ("recovered NaN", lambda ds: _with_value(ds, "recovered", 9, np.nan),
     ["recovered", "NaN or infinite"]),
    ("recovered inf", lambda ds: _with_value(ds, "recovered", 9, np.inf),
     ["recovered", "NaN or infinite"]),
    ("recovered 7", lambda ds: _with_value(ds, "recovered", 9, 7.0),
     ["recovered", "outside [0, 1]"]),
    ("float neuron index", lambda ds: _with_value(ds, "spike_neuron", 4, 2.5),
     ["spike_neuron", "expected integers"]),
    ("NaN neuron index", lambda ds: _with_value(ds, "spike_neuron", 4, np.nan),
     ["spike_neuron", "expected integers"]),
    ("times as strings", lambda ds: _replace(ds, "spike_time", ds["spike_time"].values.astype(str)),
     ["spike_time", "expected float64"]),
    ("seed not a number", lambda ds: _with_attr(ds, "seed", "one"),
     ["seed", "not an integer"]),
    ("duration_ms not a number", lambda ds: _with_attr(ds, "duration_ms", "long"),
     ["duration_ms", "not a number"]),
    ("duration_ms = 0", lambda ds: _with_attr(ds, "duration_ms", 0.0),
     ["duration_ms = 0 ms", "parameters say 300"]),
]


@pytest.mark.parametrize("label,mutate,words", TAMPERED, ids=[t[0] for t in TAMPERED])
def test_tampered_dataset_is_exit_2_for_summary_and_figure(label, mutate, words, valid,
                                                           tmp_path, capsys):
    path = _raw_write(mutate(valid), tmp_path / "run.nc")
    status, lines, out = _main(["summary", str(path)], capsys)
    assert status == EXIT_BAD_INPUT and out == ""
    _one_error(lines, str(path), *words)
    status, lines, _ = _main(["figure", str(path), "--out", str(tmp_path / "fig.png")], capsys)
    assert status == EXIT_BAD_INPUT
    _one_error(lines, *words)
    with pytest.raises(DatasetError, match=words[0]):
        tum2000.load(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.nc"]  # nothing written


@pytest.mark.parametrize("label,mutate,words", [TAMPERED[0], TAMPERED[7], TAMPERED[11]],
                         ids=["NaN spike time", "NaN neuron index", "duration_ms = 0"])
def test_tampered_dataset_through_the_command_line(label, mutate, words, valid, tmp_path):
    path = _raw_write(mutate(valid), tmp_path / "run.nc")
    for args, out in ((["summary", "run.nc"], None), (["figure", "run.nc", "--out", "f.png"],
                                                        "f.png"),
                      (["export", "run.nc", "--format", "nwb", "--out", "r.nwb"], "r.nwb")):
        status, lines, stdout = _run(args, tmp_path)
        assert status == EXIT_BAD_INPUT and stdout == "", (args, lines)
        _one_error(lines, *words)
        assert out is None or not (tmp_path / out).exists()


def test_a_changed_byte_in_a_stamped_file_is_refused(valid, tmp_path, capsys):
    path = dataset.save(valid, tmp_path / "run.nc")
    _flip_I_b(path, valid, 17)
    status, lines, _ = _main(["summary", str(path)], capsys)
    assert status == EXIT_BAD_INPUT
    _one_error(lines, "do not match its content hash")


def _flip_I_b(path: Path, ds: xr.Dataset, index: int) -> None:
    """Make I_b[index] NaN in the file's bytes (I_b is stored uncompressed)."""
    data = bytearray(path.read_bytes())
    raw = np.asarray(ds["I_b"].values, dtype="<f8").tobytes()
    at = data.find(raw)
    assert at >= 0, "I_b not found uncompressed in the file"
    data[at + 8 * index: at + 8 * index + 8] = np.array([np.nan], "<f8").tobytes()
    path.write_bytes(bytes(data))


# --- the cache --------------------------------------------------------------------------------

def test_cache_entry_with_a_changed_byte_is_simulated_again(tmp_path):
    """The issue's case, end to end (one real short simulation): I_b[148] made NaN
    in a cache entry is not served; one warning line, then a correct result."""
    env = {"TUM2000_CACHE": str(tmp_path / "cache")}
    run = ["simulate", "--set", "duration_ms=300", "--set", "burn_in_ms=100", "--quiet"]
    status, lines, _ = _run(run + ["--out", "a.nc"], tmp_path, **env)
    assert status == 0 and lines == [], lines
    (entry,) = (tmp_path / "cache").glob("sim-*.nc")
    first = tum2000.load(tmp_path / "a.nc")
    _flip_I_b(entry, first, 148)
    status, lines, _ = _run(run + ["--out", "b.nc"], tmp_path, **env)
    assert status == 0
    assert len(lines) == 1 and lines[0].startswith("warning: ignoring unusable cache entry, "
                                                   "simulating again"), lines
    assert "content hash" in lines[0]
    second = tum2000.load(tmp_path / "b.nc")
    assert np.isfinite(second["I_b"].values).all()
    xr.testing.assert_identical(second, first)
    xr.testing.assert_identical(tum2000.load(entry), first)  # the entry was replaced


def test_a_restamped_entry_out_of_range_is_not_served(valid, tmp_path):
    """An entry whose hash matches (rewritten whole) but whose values are out of
    range is refused by the range checks too."""
    params = dataset.parameters_of(valid)
    entry = cache.cache_path(params, 2, tmp_path)
    dataset.write_netcdf(_with_value(valid, "utilization", 3, 1.5), entry)
    assert stored.content_problem(entry) is None
    with pytest.warns(RuntimeWarning, match="utilization"):
        assert cache.lookup(params, 2, tmp_path) is None


def test_an_entry_without_a_content_hash_is_not_served(valid, tmp_path):
    params = dataset.parameters_of(valid)
    entry = cache.cache_path(params, 2, tmp_path)
    _raw_write(valid, entry)
    with pytest.warns(RuntimeWarning, match="no content hash"):
        assert cache.lookup(params, 2, tmp_path) is None


@pytest.fixture
def fake_simulation(valid, monkeypatch):
    """``simulate`` answering with the synthetic dataset (parameters of SYNTH)."""
    calls = []

    def simulate(params, seed, **kwargs):
        calls.append(seed)
        return valid

    monkeypatch.setattr("tum2000.model.simulation.simulate", simulate)
    return calls


SYNTH_ARGS = ["--set", "duration_ms=300", "--set", "burn_in_ms=0", "--set", "N_exc=40",
              "--set", "N_inh=10", "--seed", "2", "--quiet"]


def test_fake_simulation_matches_its_parameters(valid):
    from tum2000.model.parameters import parse_assignment, preset

    changes = dict(parse_assignment(a) for a in SYNTH_ARGS[1:8:2])
    assert preset("default", **changes).to_json() == valid.attrs["parameters"]


def test_clear_while_a_simulate_saves_keeps_its_entry(fake_simulation, tmp_path, monkeypatch,
                                                      capsys):
    """``cache --clear`` run at the worst moment (the entry's temporary file
    written, not yet renamed) leaves it: the simulate exits 0 with --out and entry."""
    monkeypatch.setenv("TUM2000_CACHE", str(tmp_path / "cache"))
    write_entry = cache.write_entry
    cleared = []

    def write_then_clear(ds, tmp):
        write_entry(ds, tmp)
        status, lines, out = _main(["cache", "--clear"], capsys)
        cleared.append((status, out))

    monkeypatch.setattr(cache, "write_entry", write_then_clear)
    status, lines, _ = _main(["simulate", *SYNTH_ARGS, "--out", str(tmp_path / "a.nc")], capsys)
    assert status == 0 and lines == [], lines
    assert cleared[0][0] == 0 and "kept 1 temporary file(s)" in cleared[0][1], cleared
    (entry,) = (tmp_path / "cache").glob("sim-*.nc")
    assert stored.content_problem(entry) is None
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [entry.name]
    assert (tmp_path / "a.nc").is_file()


def test_clear_removes_stale_temporary_files(tmp_path):
    fresh = tmp_path / ".sim-0123.nc.abc.tmp.nc"
    stale = tmp_path / ".sim-4567.nc.def.tmp.nc"
    entry = tmp_path / "sim-89ab.nc"
    for path in (fresh, stale, entry):
        path.write_bytes(b"x" * 10)
    old = time.time() - cache.TEMPORARY_GRACE_S - 60
    os.utime(stale, (old, old))
    assert cache.clear(tmp_path) == (2, 20, 1)
    assert [p.name for p in tmp_path.iterdir()] == [fresh.name]


def test_cache_under_a_file_is_exit_2_before_any_work(tmp_path):
    (tmp_path / "file.txt").write_text("a file, not a folder")
    for setting in (tmp_path / "file.txt" / "sub", tmp_path / "file.txt"):
        status, lines, _ = _run(["simulate", "--out", "a.nc"], tmp_path,
                                TUM2000_CACHE=str(setting))
        assert status == EXIT_BAD_INPUT
        _one_error(lines, f"TUM2000_CACHE={setting}", "is a file")
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("tmpdir-")) \
            == ["file.txt"]


def test_a_cache_that_cannot_be_written_never_costs_the_out(fake_simulation, valid, tmp_path,
                                                            monkeypatch, capsys):
    """A full disk (the entry's write fails): exit 0, --out and the figure written,
    one warning line, no entry and no temporary file left."""
    import errno

    monkeypatch.setenv("TUM2000_CACHE", str(tmp_path / "cache"))
    write_netcdf = dataset.write_netcdf

    def full_disk_in_cache(ds, path):
        if Path(path).parent == tmp_path / "cache":
            Path(path).write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        write_netcdf(ds, path)

    monkeypatch.setattr(dataset, "write_netcdf", full_disk_in_cache)
    status, lines, _ = _main(["simulate", *SYNTH_ARGS, "--out", str(tmp_path / "a.nc"),
                              "--figure", str(tmp_path / "a.png")], capsys)
    assert status == 0, lines
    assert len(lines) == 1 and lines[0].startswith("warning: could not write the cache "
                                                   "entry") and "No space left" in lines[0], lines
    xr.testing.assert_identical(tum2000.load(tmp_path / "a.nc"), valid)
    assert (tmp_path / "a.png").is_file()
    assert list((tmp_path / "cache").iterdir()) == []


def test_an_unwritable_cache_folder_is_refused_before_work(fake_simulation, tmp_path,
                                                           monkeypatch, capsys):
    """A read-only cache folder (as root, emulated: its probe and its temporary
    file fail): exit 2 before any work, one line with the ways out, nothing written."""
    import tempfile

    from tum2000.errors import BadInput
    from tum2000.store import output_files

    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setenv("TUM2000_CACHE", str(folder))

    probe = output_files._probe_writable

    def refused(where):
        if Path(where) != folder:
            return probe(where)
        raise BadInput(f"cannot write in {where} (Read-only file system)")

    mkstemp = tempfile.mkstemp

    def read_only(*args, dir=None, **kwargs):
        if Path(dir) == folder:
            raise OSError(30, "Read-only file system")
        return mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(output_files, "_probe_writable", refused)
    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    status, lines, _ = _main(["simulate", *SYNTH_ARGS, "--out", str(tmp_path / "a.nc")], capsys)
    assert status == 2, lines
    assert len(lines) == 1 and lines[0].startswith("error: TUM2000_CACHE="), lines
    assert "Read-only" in lines[0] and "--no-cache" in lines[0]
    assert not (tmp_path / "a.nc").exists()
    assert list(folder.iterdir()) == []


def test_relative_cache_setting_is_pinned_to_the_starting_folder(tmp_path, monkeypatch):
    start, elsewhere = tmp_path / "start", tmp_path / "notebooks"
    start.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(start)
    monkeypatch.setenv(config.CACHE_VAR, "relc")
    config.pin_relative_settings()
    assert os.environ[config.CACHE_VAR] == str(start / "relc")  # what kernels inherit
    monkeypatch.chdir(elsewhere)
    assert config.cache_dir() == start / "relc"


def test_relative_cache_setting_through_the_command_line(tmp_path):
    status, lines, out = _run(["cache", "--path"], tmp_path, TUM2000_CACHE="relc")
    assert status == 0 and out.strip() == str(tmp_path / "relc"), (out, lines)


def test_a_cached_summary_with_a_changed_value_is_computed_again(tmp_path):
    params = synthetic.synthetic_parameters(**SYNTH)
    path = cache.store_summary(params, 2, "v1", {"rate_exc_hz": 7.25, "x_mean": float("nan")},
                               tmp_path)
    assert cache.lookup_summary(params, 2, "v1", tmp_path)["rate_exc_hz"] == 7.25
    path.write_text(path.read_text().replace("7.25", "7.35"))
    with pytest.warns(RuntimeWarning, match="does not match its content hash"):
        assert cache.lookup_summary(params, 2, "v1", tmp_path) is None

