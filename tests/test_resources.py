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


def test_compiled_replay_gives_the_numpy_replays_bits(short_params):
    """The compiled kernel and the NumPy replay perform the same operations in
    the same order: the same bits, so a machine without a compiler computes
    the same dataset."""
    from tum2000.model.engine import replay as replay_native
    from tum2000.model.engine import run_on_target

    if replay_native.load() is None:
        pytest.skip("no C compiler")
    for params in (short_params, short_params.replace(record_dt_ms=5.0, dt_ms=0.25)):
        net = draw_network(params, 8)
        run = run_on_target(params, net)
        a = reconstruct(params, net, run.spike_step, run.spike_neuron, native=True)
        b = reconstruct(params, net, run.spike_step, run.spike_neuron, native=False)
        for field in ("recovered", "utilization", "end_x", "end_y", "end_u"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


def test_replay_agrees_with_closed_form_at_every_grid_point(short_params):
    """Each synapse's x at a grid point equals the closed form from its last spike
    (:func:`evolve`), to rounding, with many spikes inside grid intervals."""
    from tum2000.model.resources import evolve

    params = short_params.replace(record_dt_ms=2.0, burn_in_ms=0.0, duration_ms=40.0)
    net = _one_synapse(True)
    steps = np.array([3, 17, 19, 44, 45, 61, 199, 200, 201, 399])
    res = reconstruct(params, net, steps, np.zeros(steps.size, dtype=np.int32))
    # Closed form, spike by spike, then to each grid point.
    args = (net.tau_rec_ms, net.tau_I_ms, net.tau_facil_ms, np.array([True]))
    w, y, u, last = np.zeros(1), np.zeros(1), np.zeros(1), 0.0
    states = []
    for t in steps * 0.1:
        w, y, u = evolve(w, y, u, np.array(t - last), *args)
        u = u + net.U * (1 - u)
        rel = u * (1 - w)
        w, y, last = w + rel, y + rel, t
        states.append((t, w.copy(), y.copy(), u.copy()))
    for k, t in enumerate(res.time_ms):
        before = [s for s in states if s[0] < t]
        if before:
            t0, w0, y0, u0 = before[-1]
            wg, _, ug = evolve(w0, y0, u0, np.array(t - t0), *args)
        else:
            wg, ug = np.zeros(1), np.zeros(1)
        assert res.recovered[1, k] == pytest.approx(1 - wg[0], abs=1e-14)
        assert res.utilization[1, k] == pytest.approx(ug[0], abs=1e-14)
