"""The exact replay of synaptic resources agrees with Brian2 and with the ODEs."""

import numpy as np
import pytest

from tum2000 import preset
from tum2000.model.brian_model import run_network
from tum2000.model.network import Network, draw_network
from tum2000.model.resources import reconstruct


def _one_synapse(facilitating: bool) -> Network:
    return Network(
        N_exc=1, N_inh=1, I_b_mV=np.zeros(2), v_init_mV=np.zeros(2),
        pre=np.array([0], dtype=np.int32), post=np.array([1], dtype=np.int32),
        pathway_start=np.array([0, 0, 1, 1, 1]),
        A_mV=np.array([1.0]), U=np.array([0.3]), tau_rec_ms=np.array([200.0]),
        tau_facil_ms=np.array([500.0 if facilitating else np.nan]), tau_I_ms=np.array([3.0]))


def _euler(spike_times_ms, facilitating, t_end_ms, U=0.3, tau_rec=200.0, tau_I=3.0,
           tau_facil=500.0, h=0.001):
    """Brute-force integration of dx/dt = (1-x-y)/tau_rec, dy/dt = -y/tau_I,
    du/dt = -u/tau_facil with the spike updates; samples every 1 ms."""
    x, y, u = 1.0, 0.0, (0.0 if facilitating else U)
    at_spike = set(np.round(np.asarray(spike_times_ms) / h).astype(int))
    xs, us = [], []
    for k in range(int(t_end_ms / h) + 1):
        if k % int(1 / h) == 0:
            xs.append(x)
            us.append(u)
        if k in at_spike:
            if facilitating:
                u += U * (1 - u)
            y += u * x
            x -= u * x
        x, y = x + h * (1 - x - y) / tau_rec, y - h * y / tau_I
        if facilitating:
            u -= h * u / tau_facil
    return np.array(xs), np.array(us)


SPIKE_STEPS = np.array([100, 250, 400, 1200, 1210, 1230, 3000])  # steps of 0.1 ms


@pytest.mark.parametrize("facilitating", [False, True])
def test_single_synapse_matches_fine_euler_integration(facilitating):
    """x(t) and u(t) from the replay agree with a brute-force integration."""
    params = preset("default", N_exc=1, N_inh=1, burn_in_ms=0.0, duration_ms=400.0)
    net = _one_synapse(facilitating)
    res = reconstruct(params, net, SPIKE_STEPS, np.zeros(SPIKE_STEPS.size, dtype=np.int32))
    xs, us = _euler(SPIKE_STEPS * 0.1, facilitating, 400.0)
    EI = 1  # the synapse sits in pathway EI
    np.testing.assert_allclose(res.recovered[EI], xs, atol=2e-4)
    np.testing.assert_allclose(res.utilization[EI], us, atol=2e-4)
    assert np.isnan(res.recovered[0]).all()  # empty pathway: no mean


@pytest.mark.parametrize("facilitating", [False, True])
def test_single_synapse_function_matches_euler(facilitating):
    from tum2000.model.resources import single_synapse

    syn = single_synapse(SPIKE_STEPS * 0.1, U=0.3, tau_rec_ms=200.0,
                         tau_facil_ms=500.0 if facilitating else None, duration_ms=400.0,
                         sample_dt_ms=1.0)
    xs, us = _euler(SPIKE_STEPS * 0.1, facilitating, 400.0)
    np.testing.assert_allclose(syn["recovered"], xs, atol=2e-4)
    np.testing.assert_allclose(syn["utilization"], us, atol=2e-4)
    assert float(syn["released"][0]) == pytest.approx(0.3)  # a rested synapse releases U


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
