"""The exact replay of synaptic resources agrees with Brian2 and with the ODEs."""

import numpy as np
import pytest

from tum2000 import preset
from tum2000.brian_model import run_network
from tum2000.network import Network, draw_network
from tum2000.resources import reconstruct


def _one_synapse(facilitating: bool) -> Network:
    return Network(
        N_exc=1, N_inh=1, I_b_mV=np.zeros(2), v_init_mV=np.zeros(2),
        pre=np.array([0], dtype=np.int32), post=np.array([1], dtype=np.int32),
        pathway_start=np.array([0, 0, 1, 1, 1]),
        A_mV=np.array([1.0]), U=np.array([0.3]), tau_rec_ms=np.array([200.0]),
        tau_facil_ms=np.array([500.0 if facilitating else np.nan]), tau_I_ms=np.array([3.0]))


@pytest.mark.parametrize("facilitating", [False, True])
def test_single_synapse_matches_fine_euler_integration(facilitating):
    """x(t) and u(t) from the replay agree with a brute-force integration of
    dx/dt = (1-x-y)/tau_rec, dy/dt = -y/tau_I, du/dt = -u/tau_facil."""
    params = preset("default", N_exc=1, N_inh=1, burn_in_ms=0.0, duration_ms=400.0)
    net = _one_synapse(facilitating)
    spikes = np.array([100, 250, 400, 1200, 1210, 1230, 3000])  # steps of 0.1 ms
    res = reconstruct(params, net, spikes, np.zeros(spikes.size, dtype=np.int32))
    h = 0.001  # ms
    x, y, u = 1.0, 0.0, (0.0 if facilitating else 0.3)
    spike_times = set(np.round(spikes * 0.1 / h).astype(int))
    xs, us = [], []
    for k in range(int(400 / h) + 1):
        if k % int(1 / h) == 0:
            xs.append(x)
            us.append(u)
        if k in spike_times:
            if facilitating:
                u += 0.3 * (1 - u)
            y += u * x
            x -= u * x
        x, y = x + h * (1 - x - y) / 200.0, y - h * y / 3.0
        if facilitating:
            u -= h * u / 500.0
    EI = 1  # the synapse sits in pathway EI
    np.testing.assert_allclose(res.recovered[EI], xs, atol=2e-4)
    np.testing.assert_allclose(res.utilization[EI], us, atol=2e-4)
    assert np.isnan(res.recovered[0]).all()  # empty pathway: no mean


def test_replay_matches_brian2_state_of_every_synapse(short_params):
    """Brian2 updates each synapse only at its spikes; advancing its final state
    to the end of the run in closed form must give the replay's end state."""
    net = draw_network(short_params, 5)
    run = run_network(short_params, net)
    res = reconstruct(short_params, net, run.spike_step, run.spike_neuron)
    end = short_params["burn_in_ms"] + short_params["duration_ms"]
    elapsed = end - run.final_t_last_ms
    rec, dec = np.exp(-elapsed / net.tau_rec_ms), np.exp(-elapsed / net.tau_I_ms)
    w = (1 - run.final_x) * rec + run.final_y * net.tau_I_ms / (
        net.tau_rec_ms - net.tau_I_ms) * (rec - dec)
    np.testing.assert_allclose(res.end_x, 1 - w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.end_y, run.final_y * dec, rtol=0, atol=1e-12)
    fac = net.facilitating
    u_end = run.final_u[fac] * np.exp(-elapsed[fac] / net.tau_facil_ms[fac])
    np.testing.assert_allclose(res.end_u[fac], u_end, rtol=0, atol=1e-12)
