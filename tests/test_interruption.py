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


def _interrupt(args, stage, signame, tmp_path, cwd, extra_env=None, timeout=300):
    """Run ``tum2000 args`` until it reaches ``stage``, send the signal; return
    (exit status, standard error)."""
    marker = tmp_path / "stage-reached"
    log = tmp_path / "stderr.log"
    path = os.pathsep.join(filter(None, [str(PAUSE_HOOKS), os.environ.get("PYTHONPATH")]))
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
        process.send_signal(SIGNALS[signame])
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
    assert status == 130
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
    assert status == 130
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
    assert status == 130
    _check_message(stderr, "SIGINT")
    assert _listing(work) == {}
    assert not list((tmp_path / "cache").glob("*"))  # the cut-short run is not cached


def test_book_interrupted_keeps_the_previous_executed_notebook(tmp_path):
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
    status, stderr = _interrupt(["book", "--quick", "--root", str(root)], "notebook", "SIGINT",
                                tmp_path, root, {"TUM2000_CACHE": str(tmp_path / "cache")})
    assert status == 130
    lines = [line for line in stderr.strip().splitlines() if line.startswith("interrupted")]
    assert lines == [MESSAGE.format("SIGINT")] and "Traceback" not in stderr
    after = _listing(root)
    # Only the copies of the book's pages (made before any notebook ran) are new.
    new = {path for path in after if path not in before}
    assert all(path.endswith((".md", ".bib", ".nc")) and "/_executed/" in path for path in new), new
    assert all(after[path] == digest for path, digest in before.items())
