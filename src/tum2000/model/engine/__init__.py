"""The standalone engine: a compiled Brian2 project, built once, run as a plain program.

Brian2's runtime targets pay a fixed cost per time step and code object
(~51,000 steps x 6 objects for the default run), and ``import brian2``
alone takes ~2 s and ~150 MiB. The engine instead compiles the model of
:mod:`tum2000.model.brian_model` once as a Brian2 ``cpp_standalone`` project
(:mod:`tum2000.model.engine.standalone`) and re-runs the compiled program for every
simulation, with that simulation's numbers as input files. Brian2 is not
imported to run it.

What is compiled in is only what cannot change without a rebuild: the model
code, the Brian2 version and the compiler flags, and the number of neuron and
synapse *slots*. Slots come in buckets (steps of 2^(1/8), ~9 %), sized for the
expected number of synapses, so that every seed of a parameter set, and
nearby sizes, share one build; unused slots are inert. Time step, durations,
threshold, reset, the stimulus and every drawn value are inputs. The build for the default
network is made by ``make setup``; any other size is built on first use
(about a minute) and kept.

One run goes through named stages, so that callers (progress, interruption
handling) can see where it is: :func:`build` (once per engine),
:func:`write_inputs`, :func:`run_program`, :func:`read_results`; the replay
of x and u follows in :mod:`tum2000.model.resources`. Each run has its own
directory (inputs, connections, results), so concurrent runs never share a
file; it is removed when the run ends, however it ends. A run that did not
reach its last step is an error, never a result.

Engines are stored in ``$TUM2000_ENGINE_DIR``, else ``<venv>/share/tum2000/engines``
when the environment is writable, else ``~/.cache/tum2000/engines``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from tum2000.model.brian_model import RunOutput, neuron_values, stimulus_values, synapse_values
from tum2000.model.network import Network, expected_synapses
from tum2000.model.parameters import Parameters
from tum2000 import config
from tum2000.errors import EngineRunError, EngineUnavailable
from tum2000.model.engine.replay import file_lock
from tum2000.model.targets import check_target

FORMAT = 1
"""Version of the engine layout (manifest, inputs); part of the key."""

SOURCES: tuple[str, ...] = ("../brian_model.py", "standalone.py")
"""Modules whose text is compiled into the engine (hashed into its key)."""

BUCKETS_PER_DOUBLING = 8


# --- where engines live ------------------------------------------------------

def compiler_available() -> bool:
    """A C++ compiler and make, as Brian2's standalone build needs them."""
    return (shutil.which(config.cxx_compiler()) is not None
            and shutil.which("make") is not None)


# --- the key -------------------------------------------------------------------

def slots(n: int) -> int:
    """Smallest bucket size >= n: 2^(k/8) rounded up to a multiple of 8 (min 8)."""
    k = max(0, math.ceil(BUCKETS_PER_DOUBLING * math.log2(max(n, 1))) - 1)
    while True:
        size = 8 * math.ceil(2.0 ** (k / BUCKETS_PER_DOUBLING) / 8)
        if size >= n:
            return max(size, 8)
        k += 1


def synapse_slots(params: Parameters, n_synapses: int) -> int:
    """Synapse slots for a network of ``params`` with ``n_synapses`` synapses.

    Sized for 10 standard deviations above the expected count, so every seed
    of one parameter set gets the same engine (a larger network gets the next
    bucket).
    """
    expected = expected_synapses(params)
    return slots(max(n_synapses, int(math.ceil(expected + 10.0 * math.sqrt(expected) + 1))))


@lru_cache(maxsize=1)
def _source_digest() -> str:
    from tum2000.model.engine.standalone import COMPILE_ARGS

    digest = hashlib.sha256(f"format {FORMAT}\n{' '.join(COMPILE_ARGS)}\n".encode())
    here = Path(__file__).resolve().parent
    for name in SOURCES:
        digest.update(name.encode())
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def _brian2_version() -> str:
    from importlib import metadata

    return metadata.version("brian2")


def engine_spec(neuron_slots: int, synapse_slots_: int) -> dict:
    """Everything compiled into an engine, and its key (a hash of all of it)."""
    spec = {"format": FORMAT, "sources": _source_digest(), "brian2": _brian2_version(),
            "neuron_slots": int(neuron_slots), "synapse_slots": int(synapse_slots_),
            "machine": os.uname().machine}
    text = json.dumps(spec, sort_keys=True)
    spec["key"] = (f"n{neuron_slots}-s{synapse_slots_}-"
                   f"{hashlib.sha256(text.encode()).hexdigest()[:16]}")
    return spec


def spec_for(params: Parameters, n_synapses: int) -> dict:
    """The engine that runs a network of ``params`` with ``n_synapses`` synapses."""
    # One neuron slot more than the network: the inert synapses start there.
    return engine_spec(slots(params.N + 1), synapse_slots(params, n_synapses))


# --- building --------------------------------------------------------------------

@dataclass(frozen=True)
class Engine:
    """A built engine: its directory and manifest (see :mod:`.standalone`)."""

    directory: Path
    manifest: dict

    @property
    def program(self) -> Path:
        return self.directory / "main"

    @property
    def neuron_slots(self) -> int:
        return int(self.manifest["neuron_slots"])

    @property
    def synapse_slots(self) -> int:
        return int(self.manifest["synapse_slots"])


_loaded: dict[str, Engine] = {}
"""Engines this process has already found: a long-lived process (a Dask worker,
a notebook kernel) looks each one up once."""


def _load(directory: Path, key: str) -> Engine | None:
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("key") != key or not (directory / "main").is_file():
        return None
    return Engine(directory, manifest)


def find(spec: dict) -> Engine | None:
    """The built engine for ``spec``, or None."""
    key = spec["key"]
    if key in _loaded:
        return _loaded[key]
    engine = _load(config.engine_dir() / key, key)
    if engine is not None:
        _loaded[key] = engine
    return engine


def build(spec: dict, progress: bool = False) -> Engine:
    """Stage "build": the engine for ``spec``, compiled now unless it exists.

    The build runs in a child process into a temporary directory beside its
    final place and is renamed into place when complete; a lock makes
    concurrent processes wait for one build instead of each compiling.
    Raises :class:`EngineUnavailable` without a compiler or when the build fails.
    """
    engine = find(spec)
    if engine is not None:
        return engine
    if not compiler_available():
        raise EngineUnavailable("no C++ compiler (g++ or $CXX) and make on PATH")
    store = config.engine_dir()
    final = store / spec["key"]
    with file_lock(store / f".{spec['key']}.lock"):
        engine = find(spec)  # built by another process while we waited
        if engine is not None:
            return engine
        if progress:
            print(f"  building the simulation engine for {spec['neuron_slots']} neurons and "
                  f"{spec['synapse_slots']:,} synapses (once; about a minute) in {store}",
                  file=sys.stderr, flush=True)
        started = time.perf_counter()
        scratch = Path(tempfile.mkdtemp(prefix=f".{spec['key']}.build-", dir=store))
        try:
            (scratch / "spec.json").write_text(json.dumps(spec))
            project = scratch / "project"
            child = subprocess.Popen(
                [sys.executable, "-m", "tum2000.model.engine.standalone",
                 str(scratch / "spec.json"), str(project)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=scratch)
            output = _wait(child)
            if child.returncode != 0:
                last = [line for line in output.decode(errors="replace").splitlines()
                        if line.strip()][-5:]
                raise EngineUnavailable("the engine build failed: " + " | ".join(last))
            _strip_build_files(project)
            if final.exists():  # an unusable leftover (no valid manifest)
                shutil.rmtree(final)
            project.rename(final)
            # Engines of the same size built from other sources are stale.
            size = spec["key"].rsplit("-", 1)[0]
            for stale in store.glob(f"{size}-*"):
                if stale != final and stale.is_dir() and not stale.name.startswith("."):
                    shutil.rmtree(stale, ignore_errors=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if progress:
            print(f"  engine built in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)
    engine = find(spec)
    if engine is None:
        raise EngineUnavailable(f"the engine build left no usable engine in {final}")
    return engine


def _strip_build_files(project: Path) -> None:
    """Drop what only the compilation needed (object files, results of no run)."""
    for pattern in ("*.o", "code_objects/*.o"):
        for path in project.glob(pattern):
            path.unlink()
    shutil.rmtree(project / "results", ignore_errors=True)


def _wait(child: subprocess.Popen) -> bytes:
    """Wait for ``child``; on any exception (Ctrl-C, SIGTERM turned into an
    exception) kill it first, then re-raise."""
    try:
        output, _ = child.communicate()
        return output or b""
    except BaseException:
        _kill(child)
        raise


def _kill(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.kill()
    with contextlib.suppress(Exception):
        child.wait(timeout=10)


# --- one run --------------------------------------------------------------------

def write_inputs(engine: Engine, run_dir: Path, params: Parameters, net: Network,
                 report_s: float = 0.0, final_state: bool = False) -> list[str]:
    """Stage "write inputs": this run's numbers as files in ``run_dir``.

    Returns the program's arguments (``group.variable=file`` pairs). Slots
    beyond the network are inert: neuron slots have v = NaN (never above
    threshold), synapse slots connect the first spare neuron slot to itself.
    """
    n, s = net.N, net.n_synapses
    if n >= engine.neuron_slots or s > engine.synapse_slots:
        raise ValueError(f"a network of {n} neurons and {s} synapses does not fit an engine "
                         f"of {engine.neuron_slots} neuron and {engine.synapse_slots} synapse "
                         "slots")
    inputs = run_dir / "inputs"
    inputs.mkdir()
    (run_dir / "static_arrays").mkdir()
    (run_dir / "results").mkdir()
    spare = n  # the first neuron slot after the network
    neuron_fill = {"v": np.nan, "I_b": 0.0, "ref_steps": 0, "P_vv": 1.0, "P_ve": 0.0,
                   "P_vi": 0.0, "D_exc": 0.0, "D_inh": 0.0, "stim_gain": 0.0}
    synapse_fill = {"U": 0.5, "A": 0.0, "tau_rec": 1.0, "tau_I": 0.003, "tau_facil": 1.0,
                    "facilitates": 0.0, "from_exc": 0.0}
    values: dict[str, np.ndarray] = {}
    for name, array in neuron_values(params, net).items():
        values[f"neurons.{name}"] = _padded(array, engine.neuron_slots, neuron_fill[name])
    for name, array in synapse_values(net).items():
        values[f"synapses.{name}"] = _padded(array, engine.synapse_slots, synapse_fill[name])
    for name, array in stimulus_values(params).items():
        values[f"neurons.{name}"] = array
    ms = 1e-3
    values.update({
        "neurons.v_thresh": np.array([params["v_thresh_mV"] * ms]),
        "neurons.v_reset": np.array([params["v_reset_mV"] * ms]),
        "control.end_step": np.array([float(_end_step(params))]),
        "control.dt_run": np.array([params["dt_ms"] * ms]),
        "control.report_s": np.array([float(report_s)]),
        "control.write_state": np.array([1.0 if final_state else 0.0]),
    })
    declared = engine.manifest["inputs"]
    if set(values) != set(declared):
        raise EngineRunError(f"engine inputs {sorted(declared)} differ from the values "
                             f"written {sorted(values)}")
    args = []
    for name, array in values.items():
        spec = declared[name]
        data = np.ascontiguousarray(array, dtype=np.dtype(spec["dtype"]))
        if data.size != spec["size"]:
            raise EngineRunError(f"{name}: {data.size} values for {spec['size']} slots")
        path = inputs / name
        data.tofile(path)
        args.append(f"{name}={path}")
    conn = engine.manifest["connections"]
    pre = _padded(net.pre, engine.synapse_slots, spare)
    post = _padded(net.post, engine.synapse_slots, spare)
    for name, index in ((conn["sources"], pre), (conn["targets"], post)):
        np.ascontiguousarray(index, dtype=np.dtype(conn["dtype"])).tofile(
            run_dir / "static_arrays" / name)
    return args


def _padded(values: np.ndarray, size: int, fill: float) -> np.ndarray:
    values = np.asarray(values)
    out = np.full(size, fill, dtype=values.dtype)
    out[:values.size] = values
    return out


def _end_step(params: Parameters) -> int:
    return params.steps("burn_in_ms") + params.steps("duration_ms")


def run_program(engine: Engine, run_dir: Path, args: list[str],
                on_progress: Callable[[int, float], None] | None = None) -> None:
    """Stage "run": the compiled program on this run's inputs, in ``run_dir``.

    Ctrl-C or any exception while it runs kills it before propagating.
    """
    command = [str(engine.program), "--results_dir", str(run_dir / "results") + os.sep, *args]
    child = subprocess.Popen(command, cwd=run_dir, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             env=config.child_environment(TUM2000_PARENT_PID=str(os.getpid())))
    lines = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("progress ") and on_progress is not None:
                _, step, wall = line.split()
                on_progress(int(step), float(wall))
            else:
                lines.append(line.rstrip())
        child.wait()
    except BaseException:
        _kill(child)
        raise
    errors = [line for line in lines if "rror" in line or "annot" in line]
    if child.returncode != 0 or errors:
        if child.returncode is not None and child.returncode < 0:
            name = signal.Signals(-child.returncode).name
            raise EngineRunError(f"the simulation engine was stopped by {name}")
        detail = " | ".join((errors or lines)[-3:]) or f"exit status {child.returncode}"
        raise EngineRunError(f"the simulation engine failed: {detail}")


def read_results(engine: Engine, run_dir: Path, params: Parameters, net: Network) -> RunOutput:
    """Stage "read results": spikes and final synaptic states, checked complete."""
    results = run_dir / "results"
    names = engine.manifest["results"]

    def read(name: str, dtype) -> np.ndarray:
        return np.fromfile(results / names[name], dtype=dtype)

    def final(name: str) -> np.ndarray | None:
        path = results / names[name]
        return np.fromfile(path, dtype=np.float64)[:net.n_synapses] if path.exists() else None

    end_step = _end_step(params)
    reached = read("timestep", np.int64)
    if reached.size != 1 or int(reached[0]) != end_step:
        got = int(reached[0]) if reached.size else "none"
        raise EngineRunError(f"the simulation engine stopped at step {got} of {end_step}")
    spike_t = read("spike_t", np.float64)
    spike_neuron = read("spike_i", np.int32)
    if spike_t.size != spike_neuron.size or (spike_neuron.size and spike_neuron.max() >= net.N):
        raise EngineRunError("the simulation engine wrote inconsistent spikes")
    dt_s = params["dt_ms"] * 1e-3
    t_last = final("t_last")
    return RunOutput(
        spike_step=np.rint(spike_t / dt_s).astype(np.int64),
        spike_neuron=spike_neuron,
        final_x=final("x"), final_y=final("y"), final_u=final("u"),
        final_t_last_ms=None if t_last is None else t_last / 1e-3,
        simulated_ms=int(reached[0]) * params["dt_ms"],
    )


def _progress_printer(params: Parameters) -> Callable[[int, float], None]:
    """Progress lines as Brian2's runtime targets print them."""
    total_s = _end_step(params) * params["dt_ms"] / 1000.0
    end = _end_step(params)

    def report(step: int, wall: float) -> None:
        print(f"  simulated {step / end * total_s:6.2f} of {total_s:.2f} s "
              f"({100 * step / end:3.0f}%), {wall:5.1f} s wall", file=sys.stderr, flush=True)
    return report


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt while the block runs, so that the
    clean-up of a run (kill the program, remove its directory) happens as for
    Ctrl-C. Only where Python would otherwise die at once: in the main thread
    and while no other handler is installed."""
    import threading

    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")

    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return
    signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run(params: Parameters, net: Network, progress: bool = False,
        final_state: bool = False) -> RunOutput:
    """Simulate ``net`` with the engine (built first if needed); the same
    :class:`RunOutput` as :func:`tum2000.model.brian_model.run_network`.

    Stages: :func:`build`, :func:`write_inputs`, :func:`run_program`,
    :func:`read_results`. However the run ends (an error, Ctrl-C, SIGTERM),
    the program is killed and the run's directory removed before the
    exception propagates. ``final_state``: also return every synapse's state
    after its last spike (otherwise those fields are None).
    """
    engine = build(spec_for(params, net.n_synapses), progress=progress)
    report = _progress_printer(params) if progress else None
    with _sigterm_raises():
        run_dir = Path(tempfile.mkdtemp(prefix="tum2000_run_"))
        try:
            started = time.perf_counter()
            args = write_inputs(engine, run_dir, params, net, report_s=2.0 if progress else 0.0,
                                final_state=final_state)
            if report:
                report(0, 0.0)
            run_program(engine, run_dir, args, report)
            out = read_results(engine, run_dir, params, net)
            if report:
                report(_end_step(params), time.perf_counter() - started)
                print(f"  engine finished in {time.perf_counter() - started:.1f} s",
                      file=sys.stderr, flush=True)
            return out
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)




def run_on_target(params: Parameters, net: Network, target: str = "auto",
                  progress: bool = False) -> RunOutput:
    """Simulate ``net`` on ``target`` (see :data:`TARGETS`); every target gives
    the same spikes for the same network."""
    check_target(target)
    if target in ("auto", "engine"):
        try:
            return run(params, net, progress=progress)
        except EngineUnavailable as err:
            if target == "engine":
                raise
            if compiler_available():  # a build that should have worked did not
                import warnings

                warnings.warn(f"{err}; simulating with Brian2's numpy target instead",
                              RuntimeWarning, stacklevel=2)
            elif progress:
                print(f"  {err}: simulating with Brian2's numpy target",
                      file=sys.stderr, flush=True)
        target = "numpy"
    from tum2000.model.brian_model import run_network

    return run_network(params, net, target=target, progress=progress)


def warm(params: Parameters | None = None, seed: int = 1, progress: bool = True) -> Engine:
    """Build the engine that runs ``params`` (default preset): ``make setup`` calls this."""
    from tum2000.model.network import draw_network
    from tum2000.model.parameters import preset

    from tum2000.model.engine import replay as replay_native

    params = params if params is not None else preset("default")
    net = draw_network(params, seed)
    engine = build(spec_for(params, net.n_synapses), progress=progress)
    replay_native.build()
    return engine


def main() -> int:
    """Build the default engine and the replay kernel (``make setup`` runs this)."""
    if not compiler_available():
        print("no C++ compiler: simulations will use Brian2's numpy target", file=sys.stderr)
        return 0
    print(f"simulation engine ready in {warm().directory}", file=sys.stderr)
    return 0
