"""Build and run the network in Brian2.

The model (Tsodyks, Uziel & Markram 2000, Methods):

* leaky integrate-and-fire neurons,
  ``tau_mem dv/dt = -v + I_exc + I_inh + I_b``, spike when ``v > v_thresh``,
  reset to ``v_reset``, clamped there for the refractory period;
* Tsodyks-Markram synapses: resources are recovered (x), active (y) or
  inactive (z = 1 - x - y). A presynaptic spike first updates the
  utilization, ``u <- u + U (1 - u)`` (facilitating synapses; otherwise
  ``u = U``), then moves ``u x`` from x to y. y decays into z with ``tau_I``,
  z recovers into x with ``tau_rec``, u decays to 0 with ``tau_facil``.
  The postsynaptic current is ``sum A y`` over a neuron's synapses.

Two choices make this fast and exact:

1. Synapses are *event-driven*: x, y and u are only updated at presynaptic
   spikes, from their closed-form solution since the previous spike (all
   exponents negative, so nothing overflows after long silences).
2. Because every synapse of a pathway shares ``tau_I``, ``sum A y`` over the
   synapses of one source population is itself an exponentially decaying
   current (``I_exc``, ``I_inh``) that jumps by ``A u x`` at each spike.
   The neuron update integrates ``v`` together with these currents exactly
   over each time step (the propagator of NEST's iaf_psc_exp). The
   ``reference_script`` scheme instead holds the current constant over the
   step, as the reference script's summed variable does.

Neither needs sympy or compilation, so the numpy target starts at once.

A stimulus (``stim_*`` parameters, :func:`stimulus_values`) adds a pulse, or
a train of pulses, to the background input of every excitatory neuron. Its
edges fall between time steps, so its input is constant over each step and
the exact integration stays exact; with ``stim_amplitude_mV = 0`` every
arithmetic result is the one it was without the stimulus (``I_b + 0.0`` is
``I_b``), so the spikes are bit for bit the same.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from tum2000.model.network import Network
from tum2000.model.parameters import Parameters
from tum2000.model.targets import BRIAN2_TARGETS, check_target


NEURON_MODEL = """
v : volt
I_exc : volt              # current from excitatory synapses (sum of A*y)
I_inh : volt              # current from inhibitory synapses
I_b : volt (constant)     # background input
ref_steps : integer (constant)
last_spike_step : integer
P_vv : 1 (constant)       # propagator: v -> v
P_ve : 1 (constant)       # propagator: I_exc -> v
P_vi : 1 (constant)       # propagator: I_inh -> v
D_exc : 1 (constant)      # decay of I_exc over one step
D_inh : 1 (constant)      # decay of I_inh over one step
stim_gain : 1 (constant)  # 1: receives the stimulus (excitatory), 0: does not
stim_amplitude : volt (shared, constant)         # input added to I_b during a pulse
stim_onset_step : integer (shared, constant)     # step of the first onset (from step 0)
stim_duration_steps : integer (shared, constant) # steps of each pulse
stim_period_steps : integer (shared, constant)   # steps from onset to onset
"""

STIMULUS_DTYPES: dict[str, type] = {"stim_onset_step": np.int64,
                                    "stim_duration_steps": np.int64,
                                    "stim_period_steps": np.int64}
"""64-bit step counts: a pulse may start up to 2 x 10^7 ms after step 0, which
is 2 x 10^10 steps at dt = 0.001 ms, beyond Brian2's 32-bit ``integer``."""

# Runs at every step, before the threshold. While refractory v stays at reset.
# The stimulus is added to I_b, so that with stim_amplitude = 0 the sum is I_b
# exactly (x + 0.0 == x) and every other operation is the one it was without it.
# stim_on is integer arithmetic on the step (Brian2's % has Python's semantics on
# the numpy and C++ targets); the pulse is constant over each step it covers.
NEURON_UPDATE = """
stim_k = t_in_timesteps - stim_onset_step
stim_on = int(stim_k >= 0 and stim_k % stim_period_steps < stim_duration_steps)
active = int(t_in_timesteps - last_spike_step >= ref_steps)
v += active * (v * P_vv + (I_b + stim_gain * stim_on * stim_amplitude) * (1 - P_vv) + I_exc * P_ve + I_inh * P_vi - v)
I_exc *= D_exc
I_inh *= D_inh
"""

THRESHOLD = "v > v_thresh and t_in_timesteps - last_spike_step >= ref_steps"
RESET = "v = v_reset\nlast_spike_step = t_in_timesteps"

SYNAPSE_MODEL = """
x : 1                      # recovered fraction, just after the last spike
y : 1                      # active fraction, just after the last spike
u : 1                      # utilization, just after the last spike
t_last : second            # time of the last presynaptic spike
U : 1 (constant)
A : volt (constant)
tau_rec : second (constant)
tau_I : second (constant)
tau_facil : second (constant)
facilitates : 1 (constant)     # 1: facilitating, 0: u stays at U
from_exc : 1 (constant)        # 1: excitatory source
"""

# Closed-form evolution since the last spike, then the spike's effect.
# w = 1 - x obeys dw/dt = -(w - y)/tau_rec while y decays with tau_I.
SYNAPSE_ON_PRE = """
elapsed = t - t_last
decay_I = exp(-elapsed / tau_I)
decay_rec = exp(-elapsed / tau_rec)
w = (1 - x) * decay_rec + y * tau_I / (tau_rec - tau_I) * (decay_rec - decay_I)
u_decayed = facilitates * u * exp(-elapsed / tau_facil)
u = u_decayed + U * (1 - u_decayed)
released = u * (1 - w)
y = y * decay_I + released
x = 1 - w - released
t_last = t
I_exc_post += from_exc * A * released
I_inh_post += (1 - from_exc) * A * released
"""


@dataclass(frozen=True)
class RunOutput:
    """Raw result of one run (times from the start of the simulation)."""

    spike_step: np.ndarray    # (n,) int64, time step of each spike
    spike_neuron: np.ndarray  # (n,) int32
    # (S,) synaptic state after each synapse's last spike (None: not asked of the engine)
    final_x: np.ndarray | None
    final_y: np.ndarray | None
    final_u: np.ndarray | None
    final_t_last_ms: np.ndarray | None
    simulated_ms: float       # span the run reached (burn-in included); short if stopped


def propagators(params: Parameters, tau_I_ms: float, scheme: str) -> tuple[float, float, float]:
    """(P_vv, P_vI, D) for one time step: v <- P_vv v + P_vI I + ..., I <- D I.

    ``exact`` integrates ``tau_mem dv/dt = -v + I``, ``dI/dt = -I/tau_I`` exactly;
    ``reference_script`` holds I constant over the step.
    """
    dt, tau_m = params["dt_ms"], params["tau_mem_ms"]
    p_vv = float(np.exp(-dt / tau_m))
    decay = float(np.exp(-dt / tau_I_ms))
    if scheme == "exact":
        p_vi = tau_I_ms / (tau_m - tau_I_ms) * (p_vv - decay)
    else:
        p_vi = 1.0 - p_vv
    return p_vv, p_vi, decay


# Units of the variables below, as Brian2 names them (SI: volt, second).
NEURON_UNITS: dict[str, str] = {"v": "volt", "I_b": "volt", "ref_steps": "1", "P_vv": "1",
                                "P_ve": "1", "P_vi": "1", "D_exc": "1", "D_inh": "1",
                                "stim_gain": "1"}
STIMULUS_UNITS: dict[str, str] = {"stim_amplitude": "volt", "stim_onset_step": "1",
                                  "stim_duration_steps": "1", "stim_period_steps": "1"}
"""The stimulus's shared constants (one value for all neurons), inputs of every run."""
SYNAPSE_UNITS: dict[str, str] = {"U": "1", "A": "volt", "tau_rec": "second",
                                 "tau_I": "second", "tau_facil": "second",
                                 "facilitates": "1", "from_exc": "1"}
MV = 1e-3
"""One millivolt (or millisecond) in SI units, as Brian2's ``mV`` and ``ms``:
``values * mV`` stores exactly ``values * 1e-3``."""


def neuron_values(params: Parameters, net: Network) -> dict[str, np.ndarray]:
    """Per-neuron values of :data:`NEURON_MODEL` in SI units (volt), one array each.

    Every Brian2 target and the standalone engine set their neurons from these
    arrays, so they all simulate the same numbers.
    """
    scheme = params["integration"]
    exc = np.arange(net.N) < net.N_exc
    values = {"v": net.v_init_mV * MV, "I_b": net.I_b_mV * MV,
              "ref_steps": np.where(exc, params.steps("tau_ref_exc_ms"),
                                    params.steps("tau_ref_inh_ms")).astype(np.int32)}
    # Each target population receives one excitatory and one inhibitory pathway.
    for current, source in (("e", "E"), ("i", "I")):
        into_exc = propagators(params, params[f"{source}E_tau_I_ms"], scheme)
        into_inh = propagators(params, params[f"{source}I_tau_I_ms"], scheme)
        p_vv, p_vi, decay = (np.where(exc, a, b) for a, b in zip(into_exc, into_inh))
        values["P_vv"] = p_vv
        values[f"P_v{current}"] = p_vi
        values["D_exc" if current == "e" else "D_inh"] = decay
    values["stim_gain"] = exc.astype(float)
    return values


def stimulus_values(params: Parameters) -> dict[str, np.ndarray]:
    """The stimulus's shared constants (:data:`STIMULUS_UNITS`), one-element arrays in
    SI units (volt) and time steps.

    Pulse ``m`` (0, 1, ...) is on during the steps ``onset + m * period`` to
    ``onset + m * period + duration - 1``, where ``onset`` counts from the
    start of the simulation (the burn-in's first step). Onset, duration and
    period are whole steps (checked by :class:`~tum2000.model.parameters.Parameters`),
    so the pulse switches only between steps: over each step its input is
    constant and the exact integration of the membrane stays exact (the
    propagator integrates a constant input exactly, as it does I_b). One pulse
    (``stim_interval_ms`` null) is a train whose period exceeds the simulation.
    """
    end_step = params.steps("burn_in_ms") + params.steps("duration_ms")
    onset = params.steps("burn_in_ms") + params.steps("stim_start_ms")
    period = (end_step + 1 if params["stim_interval_ms"] is None
              else params.steps("stim_interval_ms"))
    return {"stim_amplitude": np.array([params["stim_amplitude_mV"] * MV]),
            "stim_onset_step": np.array([onset], dtype=np.int64),
            "stim_duration_steps": np.array([params.steps("stim_duration_ms")], dtype=np.int64),
            "stim_period_steps": np.array([period], dtype=np.int64)}


def synapse_values(net: Network) -> dict[str, np.ndarray]:
    """Per-synapse values of :data:`SYNAPSE_MODEL` in SI units (volt, second)."""
    facil = net.facilitating
    return {
        "U": net.U, "A": net.A_mV * MV, "tau_rec": net.tau_rec_ms * MV,
        "tau_I": net.tau_I_ms * MV,
        # Unused where facilitates == 0; any positive value avoids dividing by 0.
        "tau_facil": np.where(facil, net.tau_facil_ms, 1.0) * MV,
        "facilitates": facil.astype(float),
        "from_exc": (net.pre < net.N_exc).astype(float),
    }


INITIAL_LAST_SPIKE_STEP = np.iinfo(np.int32).min // 2
"""``last_spike_step`` before the first spike: long ago, so no neuron starts refractory."""


def add_model(b2, n_neurons: int, clock, neuron_namespace: dict | None = None,
              extra_neuron_model: str = ""):
    """The network's Brian2 objects: (neurons, synapses, spike monitor), not yet connected.

    Shared by every Brian2 target and the standalone engine's build, so the
    equations exist once. ``neuron_namespace`` gives ``v_thresh`` and
    ``v_reset`` as constants; the engine declares them in
    ``extra_neuron_model`` instead, as values set at each run.
    """
    neurons = b2.NeuronGroup(n_neurons, NEURON_MODEL + extra_neuron_model, threshold=THRESHOLD,
                             reset=RESET, method="euler", clock=clock, name="neurons",
                             namespace=neuron_namespace or {}, dtype=STIMULUS_DTYPES)
    neurons.last_spike_step = INITIAL_LAST_SPIKE_STEP
    neurons.run_regularly(NEURON_UPDATE, when="groups", name="neurons_update")
    synapses = b2.Synapses(neurons, neurons, SYNAPSE_MODEL, on_pre=SYNAPSE_ON_PRE,
                           clock=clock, name="synapses")
    spikes = b2.SpikeMonitor(neurons, name="spikes")
    return neurons, synapses, spikes


def set_initial_synapse_state(synapses) -> None:
    """Every synapse rested: all resources recovered, nothing active, u = 0."""
    synapses.x = 1.0
    synapses.y = 0.0
    synapses.u = 0.0


def _progress_reporter(stream) -> Callable:
    def report(elapsed, completed, start, duration):
        elapsed = float(elapsed)
        print(f"  simulated {float(completed) * float(duration):6.2f} of "
              f"{float(duration):.2f} s ({100 * float(completed):3.0f}%), "
              f"{elapsed:5.1f} s wall", file=stream, flush=True)
    return report


@contextlib.contextmanager
def _brian_target(target: str) -> Iterator[str | None]:
    """Select the code-generation target; yields a build directory for standalone."""
    import brian2 as b2

    check_target(target, BRIAN2_TARGETS)
    if target == "cpp_standalone":
        with tempfile.TemporaryDirectory(prefix="tum2000_standalone_") as directory:
            b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
            try:
                yield directory
            finally:
                b2.device.reinit()
                b2.device.activate()
                b2.set_device("runtime")
        return
    previous = b2.prefs.codegen.target
    b2.prefs.codegen.target = target
    try:
        yield None
    finally:
        b2.prefs.codegen.target = previous


def run_network(params: Parameters, net: Network, target: str = "numpy",
                progress: bool = False) -> RunOutput:
    """Simulate ``net`` for burn_in_ms + duration_ms with Brian2 on ``target``."""
    import pyparsing

    with warnings.catch_warnings():
        # brian2 2.9 calls pyparsing APIs that pyparsing 3.3 deprecates: noise for our users.
        warnings.simplefilter("ignore", pyparsing.PyparsingDeprecationWarning)
        return _run_network(params, net, target, progress)


def _run_network(params: Parameters, net: Network, target: str, progress: bool) -> RunOutput:
    from tum2000.interruption import prepare_brian2

    b2 = prepare_brian2()  # Ctrl-C stays Python's; the caller checks the span reached
    from brian2 import mV, ms, second, volt

    b2.BrianLogger.log_level_warn()
    dt = params["dt_ms"] * ms
    units = {"volt": volt, "second": second}
    with _brian_target(target) as build_dir:
        clock = b2.Clock(dt, name="engine_clock")
        neurons, synapses, spikes = add_model(
            b2, net.N, clock, {"v_thresh": params["v_thresh_mV"] * mV,
                               "v_reset": params["v_reset_mV"] * mV})
        for name, values in neuron_values(params, net).items():
            unit = NEURON_UNITS[name]
            setattr(neurons, name, values * units[unit] if unit in units else values)
        for name, values in stimulus_values(params).items():
            unit = STIMULUS_UNITS[name]
            setattr(neurons, name, values[0] * units[unit] if unit in units else values[0])
        synapses.connect(i=net.pre, j=net.post)
        set_initial_synapse_state(synapses)
        for name, values in synapse_values(net).items():
            unit = SYNAPSE_UNITS[name]
            setattr(synapses, name, values * units[unit] if unit in units else values)

        network = b2.Network(neurons, synapses, spikes)
        total = (params["burn_in_ms"] + params["duration_ms"]) * ms
        report = _progress_reporter(sys.stderr) if progress else None
        started = time.perf_counter()
        network.run(total, report=report, report_period=2 * b2.second)
        if build_dir is not None:
            b2.device.build(directory=build_dir, compile=True, run=True, with_output=False)
        if progress:
            print(f"  Brian2 ({target}) finished in {time.perf_counter() - started:.1f} s",
                  file=sys.stderr, flush=True)
        # Exact integer steps: spike times are multiples of dt.
        spike_step = np.rint(np.asarray(spikes.t / dt)).astype(np.int64)
        return RunOutput(
            spike_step=spike_step,
            spike_neuron=np.asarray(spikes.i[:], dtype=np.int32),
            final_x=np.asarray(synapses.x[:]), final_y=np.asarray(synapses.y[:]),
            final_u=np.asarray(synapses.u[:]),
            final_t_last_ms=np.asarray(synapses.t_last[:] / ms),
            simulated_ms=float(network.t / ms),
        )
