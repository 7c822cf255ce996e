"""Pause a real tum2000 process at one stage, so that a test can signal it there.

Loaded by Python at start-up (``sitecustomize``) when ``tests/pause_hooks`` is on
``PYTHONPATH``, in every process of a command: ``tum2000`` itself and the kernels
its notebooks run in. When ``TUM2000_PAUSE_AT`` names a stage, it wraps the one
function of the package that marks that stage, so that the process writes a line
to the file ``TUM2000_PAUSE_MARKER`` and waits there (up to 300 s) for the test's
signal. The package itself holds no test hook: everything happens here, in the
test's code, by replacing attributes of the package's modules.

Stages (as ``tests/test_interruption.py`` uses them):

``startup``   the command line, before it parses its arguments (and imports the model)
``run``       the compiled engine's child process running (its output being read),
              or Brian2's run loop (its first progress report)
``replay``    the simulation finished, the replay of the synaptic resources next
``save``      every output's temporary file complete, none renamed yet
``notebook``  a notebook's first code cell (after the parameters) executed; with
              ``TUM2000_PAUSE_AFTER`` set, the first code cell whose source holds
              that text (e.g. ``save_figure``: the notebook's figure is written)
``dask``      in a notebook's kernel, a local Dask cluster started (its worker
              processes running), before its workers are set up
"""

from __future__ import annotations

import functools
import os
import threading
import time

STAGE = os.environ.get("TUM2000_PAUSE_AT", "")
MARKER = os.environ.get("TUM2000_PAUSE_MARKER", "")
AFTER = os.environ.get("TUM2000_PAUSE_AFTER", "")
WAIT_S = 300.0

_paused: set[str] = set()
_release = threading.Event()


def pause(stage: str) -> None:
    """Write the marker and wait (once per process) until released or timed out;
    a signal handler that raises ends the wait with its exception."""
    if stage in _paused:
        return
    _paused.add(stage)
    if MARKER:
        with open(MARKER, "a") as handle:
            handle.write(f"{stage} {os.getpid()}\n")
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and not _release.is_set():
        time.sleep(0.05)


def _before(module, name: str, stage: str) -> None:
    original = getattr(module, name)

    @functools.wraps(original)
    def paused_first(*args, **kwargs):
        pause(stage)
        return original(*args, **kwargs)

    setattr(module, name, paused_first)


def _install_startup() -> None:
    import tum2000.cli as cli

    _before(cli, "make_parser", "startup")


def _install_run() -> None:
    import tum2000.model.brian_model as brian_model
    import tum2000.model.engine as engine

    real_subprocess = engine.subprocess

    class _PausingOutput:
        """The engine's output, paused before its first line is read."""

        def __init__(self, stream):
            self._stream = stream

        def __iter__(self):
            pause("run")
            return iter(self._stream)

        def __getattr__(self, name):
            return getattr(self._stream, name)

    class _Subprocess:
        def __getattr__(self, name):
            return getattr(real_subprocess, name)

        @staticmethod
        def Popen(*args, **kwargs):
            child = real_subprocess.Popen(*args, **kwargs)
            if child.stdout is not None:
                child.stdout = _PausingOutput(child.stdout)
            return child

    engine.subprocess = _Subprocess()
    original_reporter = brian_model._progress_reporter

    def pausing_reporter(stream):
        report = original_reporter(stream)

        def paused_report(elapsed, completed, start, duration):
            if float(completed) > 0:  # inside the run loop
                pause("run")
            return report(elapsed, completed, start, duration)
        return paused_report

    brian_model._progress_reporter = pausing_reporter


def _install_replay() -> None:
    import tum2000.model.simulation as simulation

    _before(simulation, "reconstruct", "replay")


def _install_save() -> None:
    import tum2000.store.atomic as atomic

    _before(atomic, "deferred_signals", "save")


def _install_notebook() -> None:
    import papermill

    import importlib
    execute = importlib.import_module("tum2000.book.execute")  # the module, not the function tum2000.book re-exports

    execute_notebook = papermill.execute_notebook
    signal_kernels = execute._signal_kernels

    def paused_execute(*args, on_cell_executed=None, **kwargs):
        def after_cell(cell, cell_index, execute_reply):
            if on_cell_executed is not None:
                on_cell_executed(cell, cell_index, execute_reply)
            tags = cell.metadata.get("tags", [])
            if cell.cell_type == "code" and "parameters" not in tags \
                    and "injected-parameters" not in tags and AFTER in cell.source:
                pause("notebook")  # in papermill's thread; the main thread takes the signal
        return execute_notebook(*args, on_cell_executed=after_cell, **kwargs)

    def released_then_signalled(*args, **kwargs):
        _release.set()  # the interrupted main thread tells the kernels; stop waiting
        return signal_kernels(*args, **kwargs)

    papermill.execute_notebook = paused_execute  # tum2000 imports it from papermill at the call
    execute._signal_kernels = released_then_signalled


def _install_dask() -> None:
    import tum2000.sweeps.cluster as cluster

    _before(cluster.Brian2WorkerSetup, "__init__", "dask")


_INSTALLERS = {"startup": _install_startup, "run": _install_run, "replay": _install_replay,
               "save": _install_save, "notebook": _install_notebook, "dask": _install_dask}

if STAGE:
    try:
        _INSTALLERS[STAGE]()
    except ModuleNotFoundError:  # a process without tum2000 (none is expected)
        pass
