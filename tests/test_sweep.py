"""Sweeps through Dask: the same numbers as serial runs, cached, resumable, failures kept."""

import math
import os

import numpy as np
import pytest
import xarray as xr

import tum2000
from tum2000.store.cache import cache_path, lookup_summary, summary_path
from tum2000.sweeps.run import load_sweep, run_sweep, save_sweep, simulate_many
from tum2000.analysis.statistics import run_statistics, statistics_version

PARAMS = dict(burn_in_ms=100.0, duration_ms=300.0)
SHORT = dict(burn_in_ms=200.0, duration_ms=600.0)
GRID = {"I_b_spread_mV": [0.5, 1.0]}
SEEDS = [1, 2]


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

    monkeypatch.setattr("tum2000.sweeps.run._run", no_cluster)
    assert simulate_many([(p, 3)], directory=tmp_path)[0].attrs["seed"] == 3


def test_a_failing_simulation_is_reported(tmp_path):
    p = tum2000.preset("default", **PARAMS)
    with pytest.raises(ValueError, match="unknown target 'fortran'"):
        simulate_many([(p, 4)], targets=["fortran"], directory=tmp_path, n_workers=1)
    with pytest.raises(ValueError, match="1 targets for 2 jobs"):
        simulate_many([(p, 4), (p, 5)], targets=["numpy"], directory=tmp_path)


# --- run_sweep --------------------------------------------------------------------

@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A 2 x 2 sweep (two spreads, two seeds) on a 2-worker local cluster."""
    directory = tmp_path_factory.mktemp("sweep_cache")
    base = tum2000.preset("default", **SHORT)
    result = run_sweep(base, GRID, SEEDS, n_workers=2, directory=directory)
    return base, directory, result


def test_sweep_gives_the_numbers_of_serial_runs(swept):
    base, _, result = swept
    assert result.sizes == {"I_b_spread_mV": 2, "seed": 2}
    assert list(result["I_b_spread_mV"].values) == GRID["I_b_spread_mV"]
    assert (result["error"] == "").all()
    for w in GRID["I_b_spread_mV"]:
        for seed in SEEDS:
            serial = run_statistics(tum2000.simulate(base.replace(I_b_spread_mV=w), seed))
            point = result.sel(I_b_spread_mV=w, seed=seed)
            for name, value in serial.items():
                got = float(point[name])
                assert (math.isnan(value) and math.isnan(got)) or got == value, name


def test_sweep_result_carries_units_and_provenance(swept, tmp_path):
    base, _, result = swept
    for name in ("exc_rate_hz", "full_ps_rate_hz", "x_mean", "error"):
        assert result[name].dims == ("I_b_spread_mV", "seed"), name
    assert list(result["seed"].values) == SEEDS
    assert result.attrs["n_runs"] == 4 and result.attrs["n_failed"] == 0
    assert result.attrs["format"] == "tum2000-sweep/1"
    assert "I_b_spread_mV=0.5,1 --seeds 2" in result.attrs["command"]
    # the synchrony measures a sweep skips are not kept as empty variables
    assert "spike_contrast" not in result and "cv_isi_exc" not in result
    assert result["full_ps_rate_hz"].attrs["units"] == "Hz"
    assert result["full_ipi_ms_mean"].attrs["units"] == "ms"
    assert result["exc_rate_hz"].attrs["units"] == "Hz"
    assert result["mean_ipi_ms"].attrs["units"] == "ms"
    assert result["I_b_spread_mV"].attrs["units"] == "mV"
    assert result.attrs["code_version"] == tum2000.code_version()
    assert tum2000.Parameters.from_json(result.attrs["base_parameters"]) == base
    assert "partial" in result["partial_ps_rate_hz"].attrs["long_name"]
    # per-PS lists are summarised by count, mean and median
    for stat in ("count", "mean", "median"):
        assert f"x_before_ps_{stat}" in result
    assert (result["full_ps_count"] + result["partial_ps_count"] == result["n_ps"]).all()
    path = save_sweep(result, tmp_path / "s.nc")
    xr.testing.assert_identical(load_sweep(path), result)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_a_finished_sweep_computes_nothing(swept, monkeypatch):
    base, directory, result = swept

    def no_cluster(*args, **kwargs):
        raise AssertionError("a finished sweep must not start a cluster")

    monkeypatch.setattr("tum2000.sweeps.cluster.dask_client", no_cluster)
    again = run_sweep(base, GRID, SEEDS, directory=directory)
    assert again.attrs["runs_computed"] == 0 and again.attrs["runs_cached"] == 4
    xr.testing.assert_identical(again.drop_attrs(), result.drop_attrs())


def test_a_resumed_sweep_reanalyses_without_resimulating(swept):
    base, directory, result = swept
    params = base.replace(I_b_spread_mV=1.0)
    summary = summary_path(params, 2, statistics_version(), directory)
    dataset = cache_path(params, 2, directory)
    summary.unlink()
    stamp = dataset.stat().st_mtime_ns
    again = run_sweep(base, GRID, SEEDS, n_workers=1, directory=directory)
    assert again.attrs["runs_computed"] == 1 and again.attrs["runs_cached"] == 3
    assert dataset.stat().st_mtime_ns == stamp  # the dataset was read, not re-simulated
    xr.testing.assert_identical(again.drop_attrs(), result.drop_attrs())
    assert lookup_summary(params, 2, statistics_version(), directory) is not None


def test_a_resumed_sweep_simulates_only_the_missing_runs(swept):
    base, directory, result = swept
    params = base.replace(I_b_spread_mV=0.5)
    missing = cache_path(params, 1, directory)
    missing.unlink()  # as if the sweep had been stopped before this run
    summary_path(params, 1, statistics_version(), directory).unlink()
    others = {p: p.stat().st_mtime_ns for p in directory.glob("sim-*.nc")}
    assert len(others) == 3
    again = run_sweep(base, GRID, SEEDS, n_workers=1, directory=directory)
    assert again.attrs["runs_computed"] == 1 and again.attrs["runs_cached"] == 3
    assert missing.exists()  # simulated again ...
    assert {p: p.stat().st_mtime_ns for p in others} == others  # ... and nothing else
    assert len(list(directory.glob("sim-*.nc"))) == 4
    xr.testing.assert_identical(again.drop_attrs(), result.drop_attrs())


def test_a_failing_point_is_recorded_and_the_rest_kept(tmp_path):
    base = tum2000.preset("default", **SHORT)
    # A directory where one run's summary must be written: that run fails when
    # it stores its result (as on a full or broken shared disk).
    broken = summary_path(base.replace(I_b_spread_mV=0.5), 2, statistics_version(), tmp_path)
    broken.mkdir(parents=True)
    with pytest.warns(RuntimeWarning, match="unusable cached summary"):
        result = run_sweep(base, GRID, SEEDS, n_workers=2, directory=tmp_path)
    error = result["error"]
    assert error.sel(I_b_spread_mV=0.5, seed=2).item().startswith("IsADirectoryError")
    assert (error != "").sum() == 1 and result.attrs["n_failed"] == 1
    assert np.isnan(result["n_ps"].sel(I_b_spread_mV=0.5, seed=2))
    ok = result["exc_rate_hz"].where(error == "")
    assert int(ok.notnull().sum()) == 3
    for w, seed in ((0.5, 1), (1.0, 1), (1.0, 2)):
        assert lookup_summary(base.replace(I_b_spread_mV=w), seed, statistics_version(),
                              tmp_path) is not None


def test_zipped_axis_and_grid_points(tmp_path, monkeypatch):
    from tum2000.sweeps.grid import make_grid

    grid = make_grid({"EE_U": [0.4, 0.5]}, [{"N_exc": [40, 80], "N_inh": ["10", "20"]}])
    assert grid.shape == (2, 2) and len(grid) == 4
    assert grid.point((1, 0)) == {"EE_U": 0.5, "N_exc": 40, "N_inh": 10}
    assert [grid.point(i) for i in grid.indices()] == [
        {"EE_U": 0.4, "N_exc": 40, "N_inh": 10}, {"EE_U": 0.4, "N_exc": 80, "N_inh": 20},
        {"EE_U": 0.5, "N_exc": 40, "N_inh": 10}, {"EE_U": 0.5, "N_exc": 80, "N_inh": 20}]
    assert tum2000.sweeps.grid.Grid.from_json(grid.to_json()) == grid


def test_command_line_grids_and_seeds_expand():
    from tum2000.cli import make_parser
    from tum2000.cli.sweep import grid_options, seeds_of
    from tum2000.sweeps.grid import make_grid

    args = make_parser().parse_args(
        ["sweep", "--grid", "EE_U=0.4,0.5", "--grid-zip", "N_exc=400,1600", "N_inh=100,400",
         "p_connect=0.1,0.025", "--seeds", "3", "--out", "s.nc"])
    grid, zipped = grid_options(args.grid, args.grid_zip)
    assert grid == {"EE_U": ["0.4", "0.5"]}
    assert zipped == [{"N_exc": ["400", "1600"], "N_inh": ["100", "400"],
                       "p_connect": ["0.1", "0.025"]}]
    assert seeds_of(args) == [1, 2, 3]
    checked = make_grid(grid, zipped, tum2000.preset("default"))
    assert checked.shape == (2, 2) and [a.name for a in checked.axes] == ["EE_U", "N_exc"]
    assert checked.point((0, 1)) == {"EE_U": 0.4, "N_exc": 1600, "N_inh": 400,
                                     "p_connect": 0.025}
    listed = make_parser().parse_args(["sweep", "--grid", "EE_U=0.4", "--seed-list", "7,3",
                                       "--out", "s.nc"])
    assert seeds_of(listed) == [7, 3]


def test_the_local_cluster_listens_on_loopback_only():
    import psutil

    from tum2000.sweeps.cluster import dask_client

    with dask_client(n_workers=1) as connection:
        assert connection.owned and "127.0.0.1" in connection.description
        pids = [os.getpid(), *connection.client.run(os.getpid).values()]
        listening = [c.laddr for pid in pids for c in psutil.Process(pid).net_connections("tcp")
                     if c.status == psutil.CONN_LISTEN]
        assert len(listening) >= 3  # scheduler, its HTTP server, the worker
        assert {address.ip for address in listening} == {"127.0.0.1"}


def test_a_local_cluster_leaves_nothing_in_the_temporary_folder(tmp_path):
    """Dask's scratch space (its lock files) goes to a folder tum2000 removes."""
    import subprocess
    import sys

    temporary = tmp_path / "tmp"
    temporary.mkdir()
    code = ("from tum2000.sweeps.cluster import dask_client\n"
            "if __name__ == '__main__':\n"
            "    with dask_client(n_workers=1) as connection:\n"
            "        assert connection.client.submit(sum, [1, 2]).result() == 3\n")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "TMPDIR": str(temporary)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert list(temporary.iterdir()) == []
