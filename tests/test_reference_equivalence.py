"""Our fast model is the reference script's model.

The reference script integrates every synapse's x, y (and u) at every step
(clock-driven) and feeds the summed A*y to the neurons. Here that form is
rebuilt independently in Brian2, given the network we draw, and simulated
at the script's dt = 1 ms; our event-driven model with the
``reference_script`` numerics must produce the same spikes.
"""

import numpy as np
import pytest

import tum2000
from tum2000 import PATHWAYS
from tum2000.model.brian_model import run_network
from tum2000.model.network import draw_network

pytestmark = pytest.mark.slow


def reference_form_spikes(params, net):
    import brian2 as b2
    from brian2 import mV, ms

    b2.prefs.codegen.target = "numpy"
    step = params["dt_ms"] * ms
    groups = {}
    for pop, n, ref in (("E", net.N_exc, params["tau_ref_exc_ms"]),
                        ("I", net.N_inh, params["tau_ref_inh_ms"])):
        g = b2.NeuronGroup(n, """
            I_from_E : volt
            I_from_I : volt
            I_b : volt
            dv/dt = (-v + I_from_E + I_from_I + I_b) / tau_mem : volt (unless refractory)
            """, threshold="v > v_thresh", reset="v = v_reset", refractory=ref * ms,
            method="exact", dt=step, name=f"ref_{pop}",
            namespace={"tau_mem": params["tau_mem_ms"] * ms,
                       "v_thresh": params["v_thresh_mV"] * mV,
                       "v_reset": params["v_reset_mV"] * mV})
        offset = 0 if pop == "E" else net.N_exc
        g.I_b = net.I_b_mV[offset:offset + n] * mV
        g.v = net.v_init_mV[offset:offset + n] * mV
        groups[pop] = (g, offset)
    objects = [g for g, _ in groups.values()]
    for pathway in PATHWAYS:
        src, tgt = pathway
        (gs, os_), (gt, ot) = groups[src], groups[tgt]
        part = net.pathway_slice(pathway)
        facil = params.facilitating(pathway)
        model = f"""
            A : volt
            U : 1
            tau_rec : second
            tau_I : second
            dx/dt = (1 - x - y) / tau_rec : 1 (clock-driven)
            dy/dt = -y / tau_I : 1 (clock-driven)
            I_from_{src}_post = A * y : volt (summed)
            """
        if facil:
            model += """
            du/dt = -u / tau_facil : 1 (clock-driven)
            tau_facil : second
            """
            on_pre = "u += U * (1 - u)\ny += u * x\nx -= u * x"
        else:
            on_pre = "y += U * x\nx -= U * x"
        s = b2.Synapses(gs, gt, model, on_pre=on_pre, method="exact", dt=step,
                        name=f"ref_{pathway}")
        s.connect(i=net.pre[part] - os_, j=net.post[part] - ot)
        s.A = net.A_mV[part] * mV
        s.U = net.U[part]
        s.tau_rec = net.tau_rec_ms[part] * ms
        s.tau_I = net.tau_I_ms[part] * ms
        if facil:
            s.tau_facil = net.tau_facil_ms[part] * ms
        s.x = 1
        objects.append(s)
    monitors = [b2.SpikeMonitor(g) for g, _ in groups.values()]
    b2.Network(*objects, *monitors).run((params["burn_in_ms"] + params["duration_ms"]) * ms)
    steps = np.concatenate([np.rint(m.t / step).astype(np.int64) for m in monitors])
    neurons = np.concatenate([m.i[:] + off for m, (_, off) in zip(monitors, groups.values())])
    order = np.lexsort((neurons, steps))
    return steps[order], neurons[order]


def test_reference_numerics_reproduce_the_clock_driven_reference_form():
    params = tum2000.preset("reference_script", burn_in_ms=300.0, duration_ms=700.0)
    net = draw_network(params, 9)
    ours = run_network(params, net)
    order = np.lexsort((ours.spike_neuron, ours.spike_step))
    steps, neurons = reference_form_spikes(params, net)
    assert steps.size > 3000
    np.testing.assert_array_equal(ours.spike_step[order], steps)
    np.testing.assert_array_equal(ours.spike_neuron[order], neurons)
