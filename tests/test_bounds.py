"""Work that is not bounded before it starts (issue 17): each class is refused
with exit status 2 and one line (what, the bound, the estimate) before any
work, and nothing is written or left behind.

The check functions are tested in-process; a few real command lines (``python
-m tum2000.cli``) run with their own ``TMPDIR`` and ``JUPYTER_RUNTIME_DIR``,
which must end empty, as must the output folder and the cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tum2000
from tum2000 import book
from tum2000.errors import BadInput, ParameterError
from tum2000.model import memory
from tum2000.model.parameters import SEED_LIMIT, check_seed, preset
from tum2000.model.values import NAME_MAX, PATH_MAX, check_path_length, coerce
from tum2000.sweeps import bounds
from tum2000.sweeps.cluster import check_scheduler_address, check_where
from tum2000.sweeps.grid import make_grid
from tum2000.sweeps.run import check_seeds, run_sweep

ROOT = book.find_root(Path(__file__).parent, required=False)
SOURCE = str(Path(tum2000.__file__).resolve().parents[1])
GiB = 2**30


# --- integers: exact, with their range ---------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    ("9007199254740993", 9007199254740993), (9007199254740993, 9007199254740993),
    (np.int64(2**62 + 1), 2**62 + 1), ("3.0", 3), (3.0, 3), ("1e3", 1000), ("1_000", 1000),
])
def test_integers_are_taken_exactly(value, expected):
    assert coerce("n", value, int) == expected
    assert type(coerce("n", value, int)) is int


@pytest.mark.parametrize("value", [1e32, "1e32", 2.5, "2.5", 2.0**60, float("inf"), "x", True])
def test_an_inexact_or_not_integral_integer_is_refused(value):
    with pytest.raises(ParameterError, match="must be an integer"):
        coerce("n", value, int)


@pytest.mark.parametrize("value", [-1, SEED_LIMIT, 2**64, "18446744073709551616", 1e32,
                                   "1e32", 2.5])
def test_a_seed_out_of_range_is_refused(value):
    with pytest.raises(ParameterError, match=rf"seed must be an integer in \[0, {SEED_LIMIT - 1}\]"):
        check_seed(value)


def test_seeds_keep_every_digit_up_to_the_bound():
    assert check_seed(str(SEED_LIMIT - 1)) == SEED_LIMIT - 1
    assert check_seed(0) == 0
    # the notebook rule uses the same check, without a float round trip
    from tum2000.book.parameters import check_value

    assert check_value("seed", "2147483647", int) == 2147483647
    with pytest.raises(ParameterError, match="seed must be an integer in"):
        check_value("seed", "9007199254740993", int)


# --- memory: the recording counts -----------------------------------------------------------

def test_the_recording_is_counted_and_refused():
    huge = preset("default", dt_ms=0.001, record_dt_ms=0.001, duration_ms=1e7)
    assert memory.recorded_samples(huge) == 10**10 + 1
    assert memory.memory_parts(huge)["recording"] > 500 * GiB
    with pytest.raises(BadInput, match=r"1e\+10 samples of x and u per pathway.*allowed"):
        memory.check_memory(huge, available=64 * GiB)
    # the published run still fits a small machine; its recording is small
    assert memory.check_memory(preset("default"), available=1 * GiB) < 1 * GiB
    assert memory.memory_parts(preset("default"))["recording"] < 2**21


def test_spikes_are_budgeted_at_each_populations_rate():
    p = preset("default")
    span_s = (p["burn_in_ms"] + p["duration_ms"]) / 1000
    assert memory.expected_spikes(p) == pytest.approx(
        (400 * memory.RATE_EXC_HZ + 100 * memory.RATE_INH_HZ) * span_s)


# --- sweeps: runs, memory and time before any work -------------------------------------

def test_too_many_runs_are_refused_before_the_seeds_are_listed():
    with pytest.raises(BadInput, match=r"a sweep of 3000000000 runs \(3 grid point\(s\) x "
                                       r"1000000000 seed\(s\)\) is too large \(allowed: at most "
                                       r"100000 runs per sweep\)"):
        check_seeds(range(1, 10**9 + 1), points=3)  # never expanded
    with pytest.raises(BadInput, match=r"runs per sweep\); it would need about .* TiB of "
                                       r"memory and .* days on 2 worker"):
        bounds.check_run_count(3, 10**9, preset("default"), workers=2)
    with pytest.raises(BadInput, match="at most 100000 runs"):
        check_seeds(iter(range(1, 10**9)), points=1)  # an iterator: read up to the bound


def test_a_grid_too_large_is_refused_before_its_points_are_checked():
    grid = {name: [str(v) for v in values] for name, values in {
        "EE_U": np.linspace(0.2, 0.8, 100), "I_b_spread_mV": np.linspace(0.1, 2, 100),
        "EE_tau_rec_ms": np.linspace(100, 900, 100)}.items()}
    with pytest.raises(BadInput, match=r"a sweep of 1000000 runs"):
        make_grid(grid, base=preset("default"))


def test_a_sweep_that_does_not_fit_is_refused_with_its_estimate():
    grid = make_grid({"N_exc": [400, 40000]})
    with pytest.raises(BadInput, match=r"a sweep of 4 runs needs about .* of memory and .* on "
                                       r"2 worker\(s\); this machine has 1 GiB \(allowed: "):
        bounds.check_sweep(preset("default"), grid, 2, workers=2, available=1 * GiB)
    fine = bounds.check_sweep(preset("quick"), make_grid({"EE_U": [0.4, 0.5]}), 3, workers=2,
                              available=8 * GiB)
    assert fine.runs == 6 and fine.seconds > 0 and fine.memory_bytes < 1 * GiB


def test_run_sweep_checks_before_the_cache_is_read(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(BadInput, match="runs per sweep"):
        run_sweep("quick", {"EE_U": [0.4, 0.5]}, range(1, 10**9), directory=cache)
    with pytest.raises(BadInput, match="is not a Dask scheduler address"):
        run_sweep("quick", {"EE_U": [0.4]}, [1], directory=cache,
                  scheduler="http://127.0.0.1:80/status")
    assert not cache.exists()


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "tls://head.example.org:8786",
                                     "tcp://[::1]:8786", "ws://node-1:80", "ucx://10.0.0.2:13337",
                                     "inproc://10.0.0.1/1234/1"])
def test_addresses_dask_accepts_pass(address):
    assert check_scheduler_address(address) == address


@pytest.mark.parametrize("address", ["http://127.0.0.1:80/", "127.0.0.1:8786", "tcp://host",
                                     "tcp://host:0", "tcp://host:99999", "tcp://ho st:1",
                                     "tcp://host:8786/path", "inproc://"])
def test_addresses_dask_refuses_are_refused(address):
    with pytest.raises(BadInput, match="not a Dask scheduler address"):
        check_scheduler_address(address)


def test_a_missing_scheduler_file_is_refused(tmp_path):
    with pytest.raises(BadInput, match="no such file"):
        check_where(scheduler_file=tmp_path / "scheduler.json")


# --- paths and names -----------------------------------------------------------------------

def test_over_long_names_and_paths_are_refused():
    check_path_length("out/" + "a" * NAME_MAX, "--out")
    with pytest.raises(ParameterError, match=rf"a name of 259 bytes .*up to {NAME_MAX} bytes"):
        check_path_length("out/" + "a" * 256 + ".nc", "--out")
    with pytest.raises(ParameterError, match=rf"shorter than {PATH_MAX} bytes"):
        check_path_length("/".join(["a" * 200] * 21), "--out")


def test_notebook_output_paths_stay_inside_the_output_folder(tmp_path):
    from tum2000.book.parameters import check_value

    assert check_value("figure_path", "figures/fig.png", str) == "figures/fig.png"
    assert check_value("figure_path", "a/../fig.png", str) == "a/../fig.png"
    for escape in ("../../escape.png", "../fig.png", "a/../../fig.png"):
        with pytest.raises(ParameterError, match="must stay inside the notebook's output folder"):
            check_value("figure_path", escape, str)
    # an absolute path is allowed when it can be written
    assert check_value("figure_path", str(tmp_path / "fig.png"), str)
    regular = tmp_path / "file"
    regular.write_text("x")
    with pytest.raises(ParameterError, match="is a file, not a folder"):
        check_value("figure_path", str(regular / "sub" / "fig.png"), str)
    with pytest.raises(ParameterError, match="a name of 300 bytes"):
        check_value("output_path", "a" * 297 + ".nc", str)
    assert sorted(os.listdir(tmp_path)) == ["file"]  # the probe left nothing


@pytest.mark.parametrize("text", ["", "# nothing\n", "{}\n"])
def test_an_empty_parameter_file_is_refused(tmp_path, text):
    path = tmp_path / "empty.yml"
    path.write_text(text)
    with pytest.raises(BadInput, match="must be a mapping of name: value .* with at least one"):
        book.read_parameter_file(path)


def test_variant_names_are_injective():
    names = [book.variant_name("alice/my.yml"), book.variant_name("bob/my.yml"),
             book.variant_name(parameters={"figure_path": "a/b.png"}),
             book.variant_name(parameters={"figure_path": "a-b.png"}),
             book.variant_name(parameters={"seed": 2}), book.variant_name(quick=True),
             book.variant_name("my.yml", quick=True),
             book.variant_name(parameters={"spreads_mV": [0.5, 1]}),
             book.variant_name(parameters={"spreads_mV": "0.5-1"})]
    assert len(set(names)) == len(names), names
    assert names[4] == "seed-2" and names[5] == "quick"
    assert book.variant_name("alice/my.yml") == names[0]  # stable
    assert names[0].startswith("my-") and len(names[0]) <= 64


# --- the real command line: exit 2, one line, nothing written or left --------------------

def _limit_memory() -> None:
    """Should a bound ever fail, the command dies of MemoryError at 8 GiB of
    address space instead of taking the shared machine's memory (issue 17: 24 GB)."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (8 * GiB, 8 * GiB))


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    scratch, runtime, work = (tmp_path / "tmp", tmp_path / "runtime", tmp_path / "work")
    for folder in (scratch, runtime, work):
        folder.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "JUPYTER_RUNTIME_DIR": str(runtime),
           "TUM2000_CACHE": str(tmp_path / "cache"),
           # the package under test, also from another working directory
           "PYTHONPATH": os.pathsep.join([SOURCE, os.environ.get("PYTHONPATH", "")])}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    result = subprocess.run([sys.executable, "-m", "tum2000.cli", *args], cwd=work, env=env,
                            capture_output=True, text=True, timeout=120,
                            preexec_fn=_limit_memory)
    for folder in (scratch, runtime, work):
        assert not any(folder.iterdir()), (folder, list(folder.iterdir()))
    assert not (tmp_path / "cache").exists()
    return result


GRID = ["--grid", "I_b_spread_mV=0.5,1"]
CLI_CASES = [
    (["sweep", *GRID, "--seeds", "1000000000", "--out", "s.nc"],
     r"a sweep of 2000000000 runs \(2 grid point\(s\) x 1000000000 seed\(s\)\) is too large "
     r"\(allowed: at most 100000 runs per sweep\); it would need about .* of memory and"),
    (["sweep", *GRID, "--seed-list", "1,18446744073709551616", "--out", "s.nc"],
     r"--seed-list needs integers in \[0, 2147483647\]"),
    (["sweep", *GRID, "--scheduler", "http://127.0.0.1:80/status", "--out", "s.nc"],
     r"--scheduler 'http://127.0.0.1:80/status' is not a Dask scheduler address"),
    (["sweep", "--set", "I_b_spread_mV=3", *GRID, "--out", "s.nc"],
     r"I_b_spread_mV is both set \(--set I_b_spread_mV=3\) and swept"),
    (["sweep", *GRID, "--out", "a" * 300 + ".nc"], r"--out has a name of 303 bytes"),
    (["simulate", "--set", "dt_ms=0.001", "--set", "record_dt_ms=0.001",
      "--set", "duration_ms=10000000", "--out", "run.nc"],
     r"duration_ms=1e\+07 at record_dt_ms=0.001 means 1e\+10 samples of x and u per pathway"),
    (["simulate", "--set", "N_exc=1e32", "--out", "run.nc"], r"N_exc must be an integer in"),
]


@pytest.mark.parametrize("args,pattern", CLI_CASES, ids=[" ".join(c[0])[:50] for c in CLI_CASES])
def test_the_command_line_refuses_unbounded_work(tmp_path, args, pattern):
    result = _run(tmp_path, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    import re

    assert re.search(pattern, lines[0]), lines[0]


@pytest.mark.skipif(ROOT is None, reason="needs the book's sources")
@pytest.mark.parametrize("notebook,assignment,pattern", [
    ("panel_a_raster", "seed=9007199254740993", r"seed must be an integer in \[0, 2147483647\]"),
    ("figure1", "figure_path=../../escape.png",
     r"figure_path must stay inside the notebook's output folder"),
])
def test_notebook_parameters_are_refused_before_a_kernel_starts(tmp_path, notebook, assignment,
                                                                 pattern):
    pytest.importorskip("papermill")
    result = _run(tmp_path, "run", notebook, "--root", str(ROOT), "--set", assignment,
                  "--out", "nb.ipynb", "--no-progress")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    import re

    assert re.search(pattern, lines[0]), lines[0]
    assert not (tmp_path / "escape.png").exists()


def test_an_empty_parameter_file_builds_nothing(tmp_path):
    pytest.importorskip("papermill")
    # A book without notebooks: should the check ever fail, nothing long runs.
    root = tmp_path / "book-root"
    (root / "book").mkdir(parents=True)
    (root / "_config.yml").write_text("title: x\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    out = tmp_path / "out"
    result = _run(tmp_path, "book", "--root", str(root), "--parameters", str(empty),
                  "--output-dir", str(out))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "must be a mapping of name: value" in lines[0]
    assert not out.exists()
    assert sorted(p.name for p in root.rglob("*")) == ["_config.yml", "_toc.yml", "book"]


def test_regeneration_states_its_memory_in_one_line(tmp_path):
    from tum2000.sweeps.stored import Plan, check_regeneration

    plan = Plan(tmp_path / "big.nc", preset("default"), make_grid({"N_exc": [400, 80000]}),
                [1, 2], "auto", 1.0)
    with pytest.raises(BadInput, match=r"big.nc: regenerating it runs networks of N_exc=80000, "
                                       r"N_inh=100 \(2 at a time\), needing about .* GiB of "
                                       r"memory; this machine has 1 GiB"):
        check_regeneration([plan], workers=2, available=1 * GiB)


@pytest.mark.parametrize("text", ["seed: 1.0e+32\n", "seed: 1e32\n", "seed: 4294967296\n",
                                  '{"seed": 1e32}'])
def test_a_parameter_file_seed_is_checked_as_an_integer(tmp_path, text):
    from tum2000.book.parameters import check_value

    path = tmp_path / ("p.json" if text.startswith("{") else "p.yml")
    path.write_text(text)
    data = book.read_parameter_file(path)
    with pytest.raises(ParameterError, match=r"seed must be an integer in \[0, 2147483647\]"):
        check_value("seed", data["seed"], int)
