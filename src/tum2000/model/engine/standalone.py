"""Build the standalone engine: a Brian2 ``cpp_standalone`` project compiled once.

Run as ``python -m tum2000.model.engine.standalone SPEC.json DIRECTORY`` by
:func:`tum2000.model.engine.standalone` (a child process, so that Brian2's global
device state and its ~150 MiB never enter the process that asked). The
project holds the model of :mod:`tum2000.model.brian_model` (the same
equations, through :func:`~tum2000.model.brian_model.add_model`) for a fixed
number of neuron slots and synapse slots; everything else is an input of each
run (see :mod:`tum2000.model.engine`):

* per-neuron and per-synapse values (``I_b``, ``v``, propagators, ``A``,
  ``U``, time constants...) through Brian2's ``run_args`` (files named on the
  command line, read after the connections are made);
* the connections through the ``static_arrays/`` files that
  ``Synapses.connect(i=..., j=...)`` reads at start-up, from the run's own
  working directory;
* the stimulus (amplitude, onset, duration and period of its pulses) through
  the neurons' shared constants of
  :data:`~tum2000.model.brian_model.STIMULUS_UNITS`, so one build serves every
  stimulus;
* the time step, the number of steps, ``v_thresh`` and ``v_reset`` through
  one-element variables of a ``control`` group (``dt`` is copied into the
  clock before the run starts). The run is compiled as a very long one and
  stops after the requested number of steps (``Network._globally_stopped``,
  the flag Brian2's own Ctrl-C handling uses), so one build serves any
  duration and time step.

Slots beyond the network's size are inert: neuron slots with v = NaN never
cross the threshold, and synapse slots start at such a neuron.

At the end the program writes only what a run needs into its results
directory (spikes, the step reached and, if asked, the final synaptic state)
and exits; Brian2's own end would write every array (~100 bytes per synapse,
300 MB at N = 50,000).

The directory receives the compiled project and ``manifest.json``: which
file each input goes to, with its dtype and size, and where the results are.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np

from tum2000.model.brian_model import (NEURON_UNITS, STIMULUS_UNITS, SYNAPSE_UNITS, add_model,
                                       set_initial_synapse_state)

COMPILE_ARGS: tuple[str, ...] = ("-w", "-O3", "-ffp-contract=off", "-std=c++11")
"""Compiler flags of the engine. Unlike Brian2's default (``-ffast-math
-march=native``) they keep IEEE arithmetic as written: no reassociation, no
fused multiply-add contraction, so the C++ code rounds like the numpy target."""

COMPILED_DURATION_S = 1e6
"""Length of the compiled run (s); each run stops at its own last step."""

# Called once per time step on a one-element group: stops the run after its last
# step and, if asked, prints progress lines ("progress STEP WALL_SECONDS").
CONTROL_FUNCTION = """
double tum2000_control(const int64_t step, const double end_step, const double report_s) {
    static const auto started = std::chrono::steady_clock::now();
    static double next_report = report_s;
    if ((double)(step + 1) >= end_step)
        ::Network::_globally_stopped = true;
    if (report_s > 0 && step % 1000 == 0) {
        const double wall = std::chrono::duration<double>(
            std::chrono::steady_clock::now() - started).count();
        if (wall >= next_report) {
            std::cout << "progress " << step << " " << wall << std::endl;
            next_report = wall + report_s;
        }
    }
    return 0.0;
}
"""

# Dies with the process that started it (Linux), so a killed parent leaves no
# simulation running; if that process died before this line, exit at once.
DIE_WITH_PARENT = """
#ifdef __linux__
prctl(PR_SET_PDEATHSIG, SIGKILL);
{
    const char* parent = std::getenv("TUM2000_PARENT_PID");
    if (parent != NULL && (long)getppid() != std::atol(parent)) return 1;
}
#endif
"""


RESULTS: dict[str, tuple[str, str]] = {
    # result file: (group, variable)
    "spike_t": ("spikes", "t"), "spike_i": ("spikes", "i"),
    "timestep": ("engine_clock", "timestep"),
}
FINAL_STATE: dict[str, tuple[str, str]] = {
    "x": ("synapses", "x"), "y": ("synapses", "y"), "u": ("synapses", "u"),
    "t_last": ("synapses", "t_last"),
}


def _results_writer(b2, objects: dict, write_state_array: str) -> str:
    """C++ run at the end of main: write the results, then exit (skipping
    Brian2's writing of every array)."""
    lines = ["{",
             "auto tum2000_write = [](const std::string& name, const char* data, size_t bytes) {",
             "    std::ofstream out(brian::results_dir + name, std::ios::binary | std::ios::out);",
             "    if (bytes) out.write(data, bytes);",
             "    out.close();",
             "    if (!out) { std::cerr << \"Error writing result \" << name << std::endl; "
             "std::exit(3); }",
             "};"]

    def write(file: str, group: str, name: str) -> str:
        var = objects[group].variables[name]
        ctype = {"float64": "double", "int32": "int32_t", "int64": "int64_t"}[
            np.dtype(var.dtype).name]
        if hasattr(var, "resize"):  # a dynamic array: a std::vector
            vec = "brian::" + b2.device.get_array_name(var, access_data=False)
            return (f"tum2000_write(\"{file}\", reinterpret_cast<const char*>({vec}.data()), "
                    f"{vec}.size() * sizeof({ctype}));")
        arr = "brian::" + b2.device.get_array_name(var)
        return (f"tum2000_write(\"{file}\", reinterpret_cast<const char*>({arr}), "
                f"{var.size} * sizeof({ctype}));")

    lines += [write(f, g, v) for f, (g, v) in RESULTS.items()]
    lines.append(f"if (brian::{write_state_array}[0] > 0) {{")
    lines += ["    " + write(f, g, v) for f, (g, v) in FINAL_STATE.items()]
    lines += ["}", "std::cout.flush();", "std::exit(0);", "}"]
    return "\n".join(lines)


def build(spec: dict, directory: Path) -> dict:
    """Generate and compile the project described by ``spec`` into ``directory``.

    ``spec`` gives ``neuron_slots`` and ``synapse_slots`` (and the ``key`` it
    is stored under). Returns the manifest (also written to manifest.json).
    """
    import brian2 as b2
    from brian2 import ms, second

    n_slots, s_slots = int(spec["neuron_slots"]), int(spec["synapse_slots"])
    b2.BrianLogger.log_level_warn()
    b2.set_device("cpp_standalone", directory=str(directory), build_on_run=False)
    b2.prefs.core.stop_on_keyboard_interrupt = False  # Ctrl-C kills the engine at once
    b2.prefs.codegen.cpp.extra_compile_args_gcc = list(COMPILE_ARGS)
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
    if sys.platform.startswith("linux"):
        b2.prefs.codegen.cpp.headers = ["<sys/prctl.h>", "<csignal>", "<unistd.h>"]
        b2.device.insert_code("before_start", DIE_WITH_PARENT)

    # The time step is an input; this value only fills the clock until then.
    clock = b2.Clock(0.1 * ms, name="engine_clock")
    neurons, synapses, spikes = add_model(
        b2, n_slots, clock,
        extra_neuron_model="v_thresh : volt (shared, constant)\n"
                           "v_reset : volt (shared, constant)\n")
    # Placeholder connections; each run supplies its own static_arrays files.
    synapses.connect(i=np.full(s_slots, n_slots - 1, dtype=np.int32),
                     j=np.full(s_slots, n_slots - 1, dtype=np.int32))
    set_initial_synapse_state(synapses)

    control_fn = b2.Function(pyfunc=None, arg_units=[1, 1, 1], return_unit=1,
                             arg_types=["integer", "float", "float"], return_type="float")
    control_fn.implementations.add_implementation(
        "cpp", code=CONTROL_FUNCTION, name="tum2000_control",
        compiler_kwds={"headers": ['"network.h"', "<chrono>", "<iostream>"]})
    control = b2.NeuronGroup(1, """
        end_step : 1 (shared, constant)    # steps to simulate
        dt_run : second (shared, constant) # the run's time step
        report_s : 1 (shared, constant)    # progress line every report_s s of wall time (0: none)
        write_state : 1 (shared, constant) # 1: also write every synapse's final state
        done : 1
        """, clock=clock, name="control", namespace={"tum2000_control": control_fn})
    control.run_regularly("done = tum2000_control(t_in_timesteps, end_step, report_s)",
                          when="end", order=100, name="control_step")

    b2.device.apply_run_args()
    b2.device.insert_code("main", f"{b2.device.get_array_name(clock.variables['dt'])}[0] = "
                                  f"{b2.device.get_array_name(control.variables['dt_run'])}[0];")
    network = b2.Network(neurons, synapses, spikes, control)
    network.run(COMPILED_DURATION_S * second)
    objects = {"spikes": spikes, "engine_clock": clock, "synapses": synapses}
    b2.device.insert_code("before_end", _results_writer(
        b2, objects, b2.device.get_array_name(control.variables["write_state"])))
    b2.device.build(directory=str(directory), compile=True, run=False, with_output=False)

    inputs = {}
    for group, units, size in ((neurons, NEURON_UNITS, n_slots),
                               (synapses, SYNAPSE_UNITS, s_slots)):
        for name in units:
            inputs[f"{group.name}.{name}"] = {"dtype": np.dtype(group.variables[name].dtype).str,
                                              "size": size}
    for name in ("v_thresh", "v_reset"):
        inputs[f"neurons.{name}"] = {"dtype": "<f8", "size": 1}
    for name in STIMULUS_UNITS:
        inputs[f"neurons.{name}"] = {"dtype": np.dtype(neurons.variables[name].dtype).str,
                                     "size": 1}
    for name in ("end_step", "dt_run", "report_s", "write_state"):
        inputs[f"control.{name}"] = {"dtype": "<f8", "size": 1}
    static = sorted(p.name for p in (directory / "static_arrays").iterdir())
    sources = [name for name in static if name.endswith("synapses_sources")]
    targets = [name for name in static if name.endswith("synapses_targets")]
    if len(sources) != 1 or len(targets) != 1 or len(static) != 2:
        raise RuntimeError(f"unexpected static arrays in the engine build: {static}")
    manifest = {
        "key": spec["key"],
        "spec": spec,
        "brian2_version": b2.__version__,
        "neuron_slots": n_slots,
        "synapse_slots": s_slots,
        "compiled_duration_s": COMPILED_DURATION_S,
        "inputs": inputs,
        "connections": {"sources": sources[0], "targets": targets[0], "dtype": "<i4",
                        "size": s_slots},
        "results": {name: name for name in (*RESULTS, *FINAL_STATE)},
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def main(argv: list[str]) -> int:
    spec_file, directory = argv
    import pyparsing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pyparsing.PyparsingDeprecationWarning)
        build(json.loads(Path(spec_file).read_text()), Path(directory))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
