"""Ctrl-C (SIGINT) and SIGTERM at every stage: exit 130, one line, nothing left behind.

Each case starts a real ``tum2000`` command with ``tests/pause_hooks`` on its
``PYTHONPATH``: that folder's ``sitecustomize`` makes the process (and its
notebook kernels) pause at one stage, by wrapping a function of the package from
the outside (the package has no test hook). The test waits for the process to
report that it reached the stage, sends the signal, and checks the exit
status, the last line of standard error, that no output, cache entry,
temporary file or kernel socket is left, and that files present before are
untouched. Stages: start-up (before the heavy imports), the Brian2 run, the
replay of the synaptic resources, the save (temporary files complete, not yet
renamed), and a notebook's execution (in ``tum2000 run`` and ``tum2000 book``).
The ``run`` cases of a notebook with a figure give each process its own
``TMPDIR`` and ``JUPYTER_RUNTIME_DIR`` and require both empty afterwards (the
kernel's connection file, with its key, and tum2000's temporary folders), and a
SIGKILL case checks that the next run cleans what a killed one left.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tum2000 import book

PAUSE_HOOKS = Path(__file__).parent / "pause_hooks"

ROOT = book.find_root(Path(__file__).parent)
MESSAGE = "interrupted ({}): nothing written, nothing partial cached, no temporary file left"
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}


def _listing(*folders: Path) -> dict[str, str]:
    """Every file below the folders with a hash of its content."""
    found = {}
    for folder in folders:
        if folder.exists():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
                elif path.is_dir() and not any(path.iterdir()):
                    found[str(path)] = "empty folder"
    return found


def _pythonpath() -> list[str]:
    """This process's PYTHONPATH made absolute: the commands run in other folders,
    and a relative ``src`` would silently import another copy of tum2000."""
    return [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


def _interrupt(args, stage, signame, tmp_path, cwd, extra_env=None, timeout=300):
    """Run ``tum2000 args`` until it reaches ``stage``, send the signal; return
    (exit status, standard error)."""
    marker = tmp_path / "stage-reached"
    log = tmp_path / "stderr.log"
    path = os.pathsep.join([str(PAUSE_HOOKS), *_pythonpath()])
    env = {**os.environ, "PYTHONPATH": path, "TUM2000_PAUSE_AT": stage,
           "TUM2000_PAUSE_MARKER": str(marker), **(extra_env or {})}
    with open(log, "w") as err:
        process = subprocess.Popen([sys.executable, "-m", "tum2000.cli", *args], cwd=cwd,
                                   env=env, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + timeout
        while not marker.exists():
            assert process.poll() is None, f"ended before stage {stage}: {log.read_text()}"
            assert time.monotonic() < deadline, f"stage {stage} not reached: {log.read_text()}"
            time.sleep(0.05)
        marker.unlink()
        process.send_signal(signal.Signals[signame])
        status = process.wait(timeout=120)
    return status, log.read_text()


def _check_message(stderr: str, signame: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()
             and not line.startswith("  ")]
    assert lines == [MESSAGE.format(signame)], stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("signame", SIGNALS)
@pytest.mark.parametrize("stage,duration_ms", [("startup", 200), ("run", 4000),
                                               ("replay", 200), ("save", 200)])
def test_simulate_interrupted_leaves_nothing(stage, duration_ms, signame, tmp_path):
    work, cache = tmp_path / "work", tmp_path / "cache"
    work.mkdir()
    (work / "previous.png").write_bytes(b"a good figure from before")
    before = _listing(work, cache)
    status, stderr = _interrupt(
        ["simulate", "--set", "burn_in_ms=100", "--set", f"duration_ms={duration_ms}",
         "--out", "out/run.nc", "--figure", "previous.png"],
        stage, signame, tmp_path, work, {"TUM2000_CACHE": str(cache)})
    assert status == 130, stderr
    _check_message(stderr, signame)
    assert _listing(work, cache) == before  # no output, no cache entry, no temporary file


@pytest.mark.parametrize("signame", SIGNALS)
def test_run_interrupted_during_notebook_restores_the_folder(signame, tmp_path):
    work, runtime = tmp_path / "work", tmp_path / "runtime"
    work.mkdir()
    (work / "executed.ipynb").write_text('{"previous": "good result"}')
    (work / "tum2000_dataset.nc").write_bytes(b"a dataset from before")
    before = _listing(work, runtime)
    status, stderr = _interrupt(
        ["run", "simulate", "--root", str(ROOT), "--set", "burn_in_ms=100",
         "--set", "duration_ms=100", "--out", "executed.ipynb", "--no-progress"],
        "notebook", signame, tmp_path, work, {"JUPYTER_RUNTIME_DIR": str(runtime),
                                              "TUM2000_CACHE": str(tmp_path / "cache")})
    assert status == 130, stderr
    _check_message(stderr, signame)
    # The previous executed notebook and the dataset the cell replaced are back;
    # no temporary notebook, no backup, no kernel connection file or socket.
    assert _listing(work, runtime) == before


def test_run_interrupted_inside_the_kernels_simulation(tmp_path):
    """The kernel (its own process group) is interrupted as Jupyter does it."""
    work = tmp_path / "work"
    work.mkdir()
    status, stderr = _interrupt(
        ["run", "simulate", "--root", str(ROOT), "--set", "burn_in_ms=100",
         "--set", "duration_ms=100", "--out", "executed.ipynb", "--no-progress"],
        "replay", "SIGINT", tmp_path, work, {"TUM2000_CACHE": str(tmp_path / "cache")})
    assert status == 130, stderr
    _check_message(stderr, "SIGINT")
    assert _listing(work) == {}
    assert not list((tmp_path / "cache").glob("*"))  # the cut-short run is not cached


@pytest.mark.parametrize("signame", SIGNALS)
def test_book_interrupted_keeps_the_previous_executed_notebook(signame, tmp_path):
    root = tmp_path / "book_root"
    root.mkdir()
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, root)
    shutil.copytree(ROOT / "book", root / "book",
                    ignore=shutil.ignore_patterns("_executed", ".ipynb_checkpoints"))
    executed = root / book.EXECUTED
    executed.mkdir()
    (executed / "intro.ipynb").write_text('{"previous": "good result"}')
    before = _listing(root)
    status, stderr = _interrupt(["book", "--quick", "--root", str(root)], "notebook", signame,
                                tmp_path, root, _private_env(tmp_path))
    assert status == 130, stderr
    lines = [line for line in stderr.strip().splitlines() if line.startswith("interrupted")]
    assert lines == [MESSAGE.format(signame)] and "Traceback" not in stderr
    assert _leftovers(tmp_path, root) == []
    after = _listing(root)
    # Only the copies of the book's pages (made before any notebook ran) are new.
    new = {path for path in after if path not in before}
    assert all(path.endswith((".md", ".bib", ".nc")) and "/_executed/" in path for path in new), new
    assert all(after[path] == digest for path, digest in before.items())


SHORT = ["--set", "burn_in_ms=100", "--set", "duration_ms=300", "--no-progress"]
FIGURE_RUN = ["run", "figure1", "--root", str(ROOT), *SHORT]


def _private_env(tmp_path: Path) -> dict[str, str]:
    """Own temporary and Jupyter runtime folders (checked empty afterwards) and cache."""
    env = {"TMPDIR": str(tmp_path / "tmp"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "TUM2000_CACHE": str(tmp_path / "cache")}
    for name in ("TMPDIR", "JUPYTER_RUNTIME_DIR"):
        Path(env[name]).mkdir()
    return env


def _command_env(env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **env, "PYTHONPATH": os.pathsep.join(_pythonpath())}


def _good_figure_run(work: Path, env: dict[str, str]) -> dict[str, str]:
    """A first, complete ``tum2000 run figure1``; the listing of what it wrote."""
    done = subprocess.run([sys.executable, "-m", "tum2000.cli", *FIGURE_RUN, "--set", "seed=1"],
                          cwd=work, env=_command_env(env), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    listing = _listing(work)
    assert {Path(path).name for path in listing} == {"figure1.ipynb", "fig1.png"}, listing
    return listing


def _leftovers(tmp_path: Path, work: Path) -> list[str]:
    """What a run must not leave: backups in the output folder, anything in the
    private temporary and runtime folders."""
    return sorted([str(p) for p in work.rglob(".tum2000-backup-*")]
                  + [str(p) for p in (tmp_path / "tmp").iterdir()]
                  + [str(p) for p in (tmp_path / "runtime").iterdir()])


@pytest.mark.parametrize("signame", SIGNALS)
def test_run_interrupted_after_the_figure_keeps_the_previous_output(signame, tmp_path):
    """The notebook wrote its figure (``fig1.png`` beside it) and the signal
    comes: the previous figure and notebook stay byte-identical, nothing new."""
    work = tmp_path / "work"
    work.mkdir()
    env = _private_env(tmp_path)
    before = _good_figure_run(work, env)
    status, stderr = _interrupt([*FIGURE_RUN, "--set", "seed=124"], "notebook", signame,
                                tmp_path, work, {**env, "TUM2000_PAUSE_AFTER": "save_figure"})
    assert status == 130, stderr
    _check_message(stderr, signame)
    assert _listing(work) == before
    assert _leftovers(tmp_path, work) == []


def test_run_killed_then_the_next_run_cleans_up(tmp_path):
    """SIGKILL (no clean-up possible) after the figure was written: the next run
    puts the folder back, removes the killed run's backup and temporary folders
    (named with its process id, which is gone) and succeeds."""
    work = tmp_path / "work"
    work.mkdir()
    env = _private_env(tmp_path)
    before = _good_figure_run(work, env)
    status, _ = _interrupt([*FIGURE_RUN, "--set", "seed=124"], "notebook", "SIGKILL",
                           tmp_path, work, {**env, "TUM2000_PAUSE_AFTER": "save_figure"})
    assert status == -signal.SIGKILL
    left = _leftovers(tmp_path, work)
    assert any(".tum2000-backup-" in path for path in left), left  # the kill left them
    assert any("tum2000-kernel-" in path for path in left), left
    assert _listing(work) != before  # and the killed run's figure
    # The next run of another notebook in the same folder first undoes the
    # killed one, so the folder holds the first run's files and its own.
    done = subprocess.run([sys.executable, "-m", "tum2000.cli", "run", "panel_a_raster",
                           "--root", str(ROOT), *SHORT], cwd=work, env=_command_env(env),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    after = _listing(work)
    assert {path: digest for path, digest in after.items() if path in before} == before
    assert _leftovers(tmp_path, work) == []


def test_run_interrupted_with_a_dask_cluster_running_is_quiet(tmp_path):
    """SIGTERM while a notebook's kernel runs a local Dask cluster: the kernel
    alone is interrupted and closes its cluster; no worker prints a traceback."""
    work = tmp_path / "work"
    work.mkdir()
    env = _private_env(tmp_path)
    short = ["--set", "short_burn_in_ms=100", "--set", "short_duration_ms=300",
             "--set", "dt_values_ms=[1.0]", "--set", "fine_dt_ms=0.1",
             "--set", "n_convergence_seeds=2", "--set", "n_seeds=2"]
    status, stderr = _interrupt(["run", "reproducibility", "--root", str(ROOT), *SHORT, *short],
                                "dask", "SIGTERM", tmp_path, work, env)
    assert status == 130, stderr
    _check_message(stderr, "SIGTERM")
    assert _listing(work) == {}
    # Dask's scratch space lives in a folder of tum2000's, removed at the end.
    assert _leftovers(tmp_path, work) == []
