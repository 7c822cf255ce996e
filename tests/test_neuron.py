"""Analytic tests of the neuron, in the style of Brian2's own tests.

* The exact propagator of ``tau_m dv/dt = -v + I``, ``dI/dt = -I / tau_I``,
  iterated step by step, reproduces the closed-form postsynaptic potential
  to 1e-12.
* An uncoupled neuron with constant input I_b above threshold fires
  periodically with period tau_ref + tau_m ln((I_b - V_reset)/(I_b - theta)),
  to within one time step (threshold crossings are detected on the grid).
* The refractory clamp lasts exactly tau_ref: changing tau_ref by k steps
  changes every interspike interval by exactly k steps.

The last two run the real simulation (``tum2000.simulate``) on two neurons
whose synapses all have strength A = 0: uncoupled.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tum2000
from tum2000.model.brian_model import propagators


@pytest.mark.parametrize("tau_I_ms", [3.0, 10.0])
@pytest.mark.parametrize("dt_ms", [0.1, 0.01])
def test_iterated_propagator_is_the_closed_form_psp(tau_I_ms, dt_ms):
    params = tum2000.preset("default", dt_ms=dt_ms)
    tau_m = params["tau_mem_ms"]
    p_vv, p_vi, decay = propagators(params, tau_I_ms, "exact")
    steps = int(round(100.0 / dt_ms))
    v, current, trace = 0.0, 1.0, []
    for _ in range(steps):
        v, current = p_vv * v + p_vi * current, decay * current
        trace.append(v)
    t = np.arange(1, steps + 1) * dt_ms
    closed = tau_I_ms / (tau_m - tau_I_ms) * (np.exp(-t / tau_m) - np.exp(-t / tau_I_ms))
    assert np.max(np.abs(np.array(trace) - closed)) < 1e-12
    assert closed.max() > 0.05  # a real PSP, not a vanishing one


def _uncoupled(I_b_mV: float, tau_ref_ms: float, dt_ms: float = 0.1):
    params = tum2000.preset("default", N_exc=1, N_inh=1, p_connect=1.0, burn_in_ms=0.0,
                            duration_ms=300.0, dt_ms=dt_ms, I_b_center_mV=I_b_mV,
                            I_b_spread_mV=0.0, tau_ref_exc_ms=tau_ref_ms,
                            **{f"{p}_A_mV": 0.0 for p in tum2000.PATHWAYS})
    ds = tum2000.simulate(params, seed=1)
    assert float(np.abs(ds["A_mean"]).max()) == 0.0
    times = ds["spike_time"].values[ds["spike_neuron"].values == 0]
    return params, times


@pytest.mark.parametrize("I_b_mV,tau_ref_ms", [(16.0, 3.0), (20.0, 3.0), (16.0, 0.0)])
def test_uncoupled_neuron_fires_with_the_lif_period(I_b_mV, tau_ref_ms):
    params, times = _uncoupled(I_b_mV, tau_ref_ms)
    theta, reset, tau_m = params["v_thresh_mV"], params["v_reset_mV"], params["tau_mem_ms"]
    period = tau_ref_ms + tau_m * math.log((I_b_mV - reset) / (I_b_mV - theta))
    intervals = np.diff(times)
    assert intervals.size >= 5
    assert np.all(np.abs(intervals - period) <= params["dt_ms"] + 1e-9), (intervals, period)
    assert np.ptp(intervals) < 1e-9  # strictly periodic after the first spike


def test_refractory_clamp_lasts_exactly_tau_ref():
    dt = 0.1
    _, short = _uncoupled(18.0, 2.0, dt)
    _, long = _uncoupled(18.0, 5.0, dt)
    difference = np.diff(long)[0] - np.diff(short)[0]
    assert round(difference / dt) == round((5.0 - 2.0) / dt)
    assert abs(difference - 3.0) < 1e-9
