"""``tum2000 sweep`` as its user runs it: bad grids, external schedulers, exit codes, Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

import pytest

import tum2000
from tum2000.store.cache import summary_path
from tum2000.sweeps.run import load_sweep
from tum2000.analysis.statistics import statistics_version

SHORT = ["--set", "burn_in_ms=200", "--set", "duration_ms=600"]


def sweep(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "tum2000.cli", "sweep", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args,fragment", [
    (["--grid", "I_b_sprad_mV=0.5,1"], "unknown parameter 'I_b_sprad_mV'"),
    (["--grid", "I_b_spread_mV="], "grid I_b_spread_mV has no values"),
    (["--grid", "I_b_spread_mV=0.5,,1"], "grid I_b_spread_mV has an empty value"),
    (["--grid", "I_b_spread_mV=0.5,0.5"], "lists the value 0.5 twice"),
    (["--grid", "N_exc"], "expected NAME=V1,V2,..."),
    (["--grid", "duration_ms=600,600.05"], "grid point duration_ms=600.05: duration_ms must "
                                           "be a whole multiple of dt_ms"),
    (["--grid-zip", "N_exc=400,800", "N_inh=100"], "equal numbers of values"),
    (["--grid", "EE_U=0.5", "--grid", "EE_U=0.4"], "EE_U is given more than once"),
    (["--seed-list", "1,x", "--grid", "EE_U=0.5"], "--seed-list needs integers"),
    (["--seed-list", "1,1", "--grid", "EE_U=0.5"], "seed 1 is listed twice"),
    (["--seeds", "0", "--grid", "EE_U=0.5"], "expected an integer >= 1"),
    ([], "nothing to sweep"),
])
def test_a_bad_grid_exits_2_before_any_work(tmp_path, args, fragment):
    out, cache = tmp_path / "s.nc", tmp_path / "cache"
    result = sweep(*SHORT, *args, "--cache-dir", str(cache), "--out", str(out))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert fragment in lines[0]
    assert not out.exists() and not cache.exists()  # nothing run, nothing written


@pytest.mark.parametrize("assignment", ["p_connect=2", "N_exc=0.5", "I_b_spread_mV=-1",
                                        "allow_autapses=maybe", "EE_A_mvolt=1"])
def test_grid_values_are_refused_with_the_message_of_set(tmp_path, assignment):
    name, value = assignment.split("=")
    refused = subprocess.run(
        [sys.executable, "-m", "tum2000.cli", "simulate", "--set", assignment,
         "--out", str(tmp_path / "x.nc")], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    good = {"p_connect": "0.1", "N_exc": "400", "I_b_spread_mV": "0.5",
            "allow_autapses": "true"}.get(name, "1")
    result = sweep(*SHORT, "--grid", f"{name}={good},{value}", "--cache-dir",
                   str(tmp_path / "cache"), "--out", str(tmp_path / "s.nc"))
    assert result.returncode == 2, result.stderr
    assert result.stderr == refused.stderr
    assert not (tmp_path / "cache").exists() and not (tmp_path / "s.nc").exists()


def test_failed_runs_exit_3_and_the_result_is_written(tmp_path):
    base = tum2000.preset("default", burn_in_ms=200.0, duration_ms=600.0)
    cache, out = tmp_path / "cache", tmp_path / "s.nc"
    summary_path(base.replace(EE_U=0.4), 1, statistics_version(), cache).mkdir(parents=True)
    result = sweep(*SHORT, "--grid", "EE_U=0.4,0.5", "--workers", "2", "--quiet",
                   "--cache-dir", str(cache), "--out", str(out))
    assert result.returncode == 3, result.stderr
    assert "1 of 2 runs failed (first: IsADirectoryError" in result.stderr
    ds = load_sweep(out)
    assert list(ds["error"].values.ravel() != "") == [True, False]
    assert float(ds["exc_rate_hz"].sel(EE_U=0.5, seed=1)) > 0


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """A Dask scheduler and one worker started separately, on loopback."""
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    procs = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
             str(scheduler_file), "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
             "--host", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        import json

        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        yield address, scheduler_file
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=60)


def _sweep_tasks_run(address: str) -> int:
    """How many sweep tasks the scheduler at ``address`` has finished."""
    from dask.distributed import Client

    def finished(dask_scheduler):
        prefix = dask_scheduler.task_prefixes.get("sweep_task")
        return 0 if prefix is None else int(prefix.state_counts.get("memory", 0))

    with Client(address, timeout="20s") as client:
        return client.run_on_scheduler(finished)


@pytest.mark.parametrize("how", ["--scheduler", "DASK_SCHEDULER_ADDRESS", "--scheduler-file"])
def test_a_separately_started_scheduler_is_used(scheduler, tmp_path, how):
    address, scheduler_file = scheduler
    before = _sweep_tasks_run(address)
    seed = {"--scheduler": "3", "DASK_SCHEDULER_ADDRESS": "4", "--scheduler-file": "5"}[how]
    where, env = {"--scheduler": (["--scheduler", address], None),
                  "DASK_SCHEDULER_ADDRESS": ([], {"DASK_SCHEDULER_ADDRESS": address}),
                  "--scheduler-file": (["--scheduler-file", str(scheduler_file)], None)}[how]
    out = tmp_path / "s.nc"
    result = sweep(*SHORT, "--grid", "I_b_spread_mV=1", "--seed-list", seed, *where,
                   "--cache-dir", str(tmp_path / "cache"), "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert "runs to compute on scheduler" in result.stderr
    assert _sweep_tasks_run(address) == before + 1
    assert float(load_sweep(out)["exc_rate_hz"].squeeze()) > 0


def test_an_unreachable_scheduler_exits_1(tmp_path):
    result = sweep(*SHORT, "--grid", "EE_U=0.5", "--scheduler", "tcp://127.0.0.1:9",
                   "--cache-dir", str(tmp_path), "--out", str(tmp_path / "s.nc"),
                   env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    assert result.returncode == 1, result.stderr
    assert "cannot reach or start a Dask cluster (scheduler tcp://127.0.0.1:9)" in result.stderr
    assert not (tmp_path / "s.nc").exists()


def test_ctrl_c_cancels_writes_nothing_and_exits_130(tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "s.nc"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tum2000.cli", "sweep", *SHORT,
         "--grid", "I_b_spread_mV=0.25,0.5,0.75,1,1.25,1.5", "--seeds", "2",
         "--workers", "2", "--cache-dir", str(cache), "--out", str(out)],
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = ""
    while "runs to compute" not in seen:  # the cluster is up and working
        line = proc.stderr.readline()
        assert line, f"sweep ended early: {seen}"
        seen += line
    time.sleep(3)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, seen + err
    assert "interrupted" in err
    assert not out.exists()
    assert not [p for p in cache.rglob("*") if ".tmp" in p.name]
    # whatever completed is complete: every cached run loads
    for path in cache.glob("sim-*.nc"):
        tum2000.load(path)


def test_slurm_job_script_uses_site_config(tmp_path):
    pytest.importorskip("dask_jobqueue")
    import dask

    from tum2000.sweeps.cluster import slurm_cluster

    site = {"jobqueue.slurm.queue": "lab", "jobqueue.slurm.account": "neuro",
            "jobqueue.slurm.cores": 8, "jobqueue.slurm.memory": "16GB",
            "jobqueue.slurm.walltime": "02:00:00",
            "jobqueue.slurm.scheduler-options": {"host": "127.0.0.1"}}
    with dask.config.set(site):
        cluster = slurm_cluster(cache_directory=tmp_path / "shared")
        try:
            script = cluster.job_script()
        finally:
            cluster.close()
    assert "#SBATCH -p lab" in script and "#SBATCH -A neuro" in script
    assert "#SBATCH -t 02:00:00" in script and "#SBATCH -n 1" in script
    assert "#SBATCH --cpus-per-task=8" in script
    # one single-threaded worker process per core: Brian2 runs one simulation per process
    assert "--nworkers 8" in script and "--nthreads 1" in script
    assert f"export TUM2000_CACHE={(tmp_path / 'shared').resolve()}" in script
    assert sys.executable in script
