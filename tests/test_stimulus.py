"""The stimulus (a current pulse to every excitatory neuron) and the initial
state's own seed: absent by default and bit-identical when absent, the same on
every target when present, checked at the command line, and an evoked
population spike where the synapses have recovered, none just after one."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

import tum2000
from tum2000.analysis import detect_population_spikes
from tum2000.errors import ParameterError
from tum2000.model import engine
from tum2000.model.brian_model import run_network, stimulus_values
from tum2000.model.network import draw_network
from tum2000.model.parameters import SPECS, Parameters

needs_engine = pytest.mark.skipif(
    not engine.compiler_available() and engine.find(engine.spec_for(
        tum2000.preset("default"), draw_network(tum2000.preset("default"), 1).n_synapses))
    is None, reason="no C++ compiler and no prebuilt engine")

SHORT = dict(burn_in_ms=100.0, duration_ms=400.0)

SPIKE_DIGESTS = {1: (2174, "85a9c67d09d9de9a"), 2: (2200, "437c8c01c8cae35b")}
"""(spike count, first 16 hex digits of the SHA-256 of the spike steps and
neurons) of the default network with SHORT, seeds 1 and 2, recorded with the
code before the stimulus existed (commit d4a1a64), on the numpy target and the
engine alike."""


def digest(out) -> tuple[int, str]:
    data = np.asarray(out.spike_step, np.int64).tobytes() + np.asarray(
        out.spike_neuron, np.int32).tobytes()
    return int(out.spike_step.size), hashlib.sha256(data).hexdigest()[:16]


# --- parameters --------------------------------------------------------------

def test_stimulus_and_v_init_seed_are_absent_by_default():
    params = tum2000.preset("default")
    assert params["stim_amplitude_mV"] == 0.0
    assert params["stim_interval_ms"] is None and params["v_init_seed"] is None
    for name in ("v_init_seed", "stim_amplitude_mV", "stim_duration_ms", "stim_start_ms",
                 "stim_interval_ms"):
        assert SPECS[name].source == "our choice"
    rows = {row["name"]: row for row in tum2000.parameter_table()}
    assert rows["v_init_seed"]["default"] == "null"
    assert rows["stim_amplitude_mV"]["allowed"] == "a number in [-100, 100] (mV)"


@pytest.mark.parametrize("changes, message", [
    ({"stim_duration_ms": 0.15}, "stim_duration_ms must be a whole multiple of dt_ms (0.1 ms)"),
    ({"stim_start_ms": 2.05}, "stim_start_ms must be a whole multiple of dt_ms"),
    ({"stim_interval_ms": 10.01}, "stim_interval_ms must be a whole multiple of dt_ms"),
    ({"stim_start_ms": -1000.0}, "stim_start_ms must be >= -burn_in_ms"),
    ({"stim_interval_ms": 1.0}, "stim_interval_ms must exceed stim_duration_ms (1 ms)"),
    ({"stim_duration_ms": 0.0}, "stim_duration_ms must be a number in (0, 1000] (ms)"),
    ({"stim_amplitude_mV": 101}, "stim_amplitude_mV must be a number in [-100, 100] (mV)"),
    ({"v_init_seed": -1}, "v_init_seed must be an integer in [0, 2147483647] or null"),
])
def test_bad_stimulus_values_are_refused(changes, message):
    with pytest.raises(ParameterError) as err:
        Parameters(changes)
    assert message in str(err.value)


def test_pulse_steps_count_from_the_start_of_the_simulation():
    params = tum2000.preset("default", stim_amplitude_mV=2.0, stim_start_ms=-50.0,
                            stim_duration_ms=2.5, stim_interval_ms=40.0)
    values = stimulus_values(params)
    assert values["stim_onset_step"][0] == 9000 - 500
    assert values["stim_duration_steps"][0] == 25 and values["stim_period_steps"][0] == 400
    assert values["stim_amplitude"][0] == 2.0e-3
    # One pulse: a period longer than the simulation.
    single = stimulus_values(tum2000.preset("default"))
    assert single["stim_period_steps"][0] > 9000 + 42000


@pytest.mark.parametrize("setting, message", [
    ("stim_duration_ms=0.15", "stim_duration_ms must be a whole multiple of dt_ms (0.1 ms), "
                              "got 0.15"),
    ("stim_amplitude_mV=abc", "stim_amplitude_mV must be a number in [-100, 100] (mV)"),
])
def test_the_command_line_refuses_a_bad_stimulus_with_one_line(tmp_path, setting, message):
    done = subprocess.run([sys.executable, "-m", "tum2000.cli", "simulate", "--set", setting,
                           "--out", "run.nc"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not (tmp_path / "run.nc").exists()


# --- the initial state's seed ------------------------------------------------

def test_v_init_seed_draws_the_initial_state_alone():
    wide = dict(v_init_min_mV=0.0, v_init_max_mV=15.0)
    for seed in (1, 2):
        plain = draw_network(tum2000.preset("default", **wide), seed)
        same = draw_network(tum2000.preset("default", v_init_seed=None, **wide), seed)
        own = draw_network(tum2000.preset("default", v_init_seed=5, **wide), seed)
        other = draw_network(tum2000.preset("default", v_init_seed=6, **wide), seed)
        for field in ("I_b_mV", "v_init_mV", "pre", "post", "A_mV", "U", "tau_rec_ms",
                      "tau_facil_ms", "tau_I_ms"):
            np.testing.assert_array_equal(getattr(same, field), getattr(plain, field))
        for field in ("I_b_mV", "pre", "post", "pathway_start", "A_mV", "U", "tau_rec_ms",
                      "tau_facil_ms", "tau_I_ms"):
            np.testing.assert_array_equal(getattr(own, field), getattr(plain, field))
        for changed in (own, other):
            assert not np.any(changed.v_init_mV == plain.v_init_mV)
            assert changed.v_init_mV.min() >= 0.0 and changed.v_init_mV.max() < 15.0
        assert not np.any(own.v_init_mV == other.v_init_mV)
    # The same v_init_seed gives the same initial state on any wiring.
    a = draw_network(tum2000.preset("default", v_init_seed=5, **wide), 1)
    b = draw_network(tum2000.preset("default", v_init_seed=5, **wide), 2)
    np.testing.assert_array_equal(a.v_init_mV, b.v_init_mV)


def test_v_init_seed_without_a_range_changes_nothing():
    # The default range is [0, 0] mV: every draw is 0.
    plain = draw_network(tum2000.preset("default"), 1)
    own = draw_network(tum2000.preset("default", v_init_seed=5), 1)
    np.testing.assert_array_equal(own.v_init_mV, plain.v_init_mV)


# --- bit-identical without a stimulus; the same on every target with one -------

@pytest.mark.parametrize("seed", sorted(SPIKE_DIGESTS))
def test_without_a_stimulus_the_numpy_target_gives_the_spikes_it_always_gave(seed):
    params = tum2000.preset("default", **SHORT)
    assert digest(run_network(params, draw_network(params, seed), "numpy")) \
        == SPIKE_DIGESTS[seed]


@needs_engine
@pytest.mark.parametrize("seed", sorted(SPIKE_DIGESTS))
def test_without_a_stimulus_the_engine_gives_the_spikes_it_always_gave(seed):
    params = tum2000.preset("default", **SHORT)
    assert digest(engine.run(params, draw_network(params, seed))) == SPIKE_DIGESTS[seed]


@needs_engine
@pytest.mark.parametrize("changes", [
    # A train that starts in the burn-in (negative start, so the step arithmetic
    # meets negative offsets), depolarising.
    dict(stim_amplitude_mV=3.0, stim_start_ms=-30.0, stim_duration_ms=2.0,
         stim_interval_ms=40.0),
    # One hyperpolarising pulse inside the recording, reference_script numerics.
    dict(stim_amplitude_mV=-4.0, stim_start_ms=120.0, stim_duration_ms=30.0,
         integration="reference_script", dt_ms=1.0),
])
def test_engine_and_numpy_target_give_the_same_spikes_with_a_stimulus(changes):
    params = tum2000.preset("default", burn_in_ms=100.0, duration_ms=300.0,
                            v_init_min_mV=0.0, v_init_max_mV=14.0, v_init_seed=3, **changes)
    net = draw_network(params, 2)
    a, b = run_network(params, net, "numpy"), engine.run(params, net)
    np.testing.assert_array_equal(b.spike_step, a.spike_step)
    np.testing.assert_array_equal(b.spike_neuron, a.spike_neuron)
    # The stimulus acted: the spikes differ from the run without it.
    plain = engine.run(params.replace(stim_amplitude_mV=0.0), net)
    assert digest(plain) != digest(a)


def test_a_pulse_acts_on_excitatory_neurons_only_and_only_while_it_is_on():
    # No recurrence (every synapse weightless): each neuron is on its own.
    silent = {f"{p}_A_mV": 0.0 for p in ("EE", "EI")}
    params = tum2000.preset("default", N_exc=20, N_inh=20, burn_in_ms=0.0, duration_ms=160.0,
                            I_b_center_mV=14.0, I_b_spread_mV=0.0, IE_A_mV=0.0, II_A_mV=0.0,
                            stim_amplitude_mV=10.0, stim_start_ms=100.0, stim_duration_ms=20.0,
                            **silent)
    out = run_network(params, draw_network(params, 1), "numpy")
    times_ms = out.spike_step * params["dt_ms"]
    # Below threshold without the pulse (v -> I_b = 14 mV < 15 mV): only
    # excitatory neurons fire, and only while the pulse is on (from 100 ms, when
    # v is 13.5 mV, to 120 ms).
    assert out.spike_neuron.size > 0 and np.all(out.spike_neuron < 20)
    assert times_ms.min() >= 100.0 and times_ms.max() < 120.0
    assert set(out.spike_neuron) == set(range(20))


# --- the science: a pulse evokes a population spike where x has recovered ------

PULSE = dict(stim_amplitude_mV=1.0, stim_duration_ms=5.0)
"""A weak, brief pulse (it moves a membrane at rest by ~0.15 mV), which the
network amplifies or not. Measured on the default network, 5 ms pulses,
fraction of excitatory neurons firing in the RESPONSE_MS after the onset:

=====  ===========================  ===========================
seed   90 ms before the first PS    20 ms after it
=====  ===========================  ===========================
1      x 0.592: 0.99 (0.5 to 2 mV)  x 0.314: 0.07, 0.14, 0.30, 0.53 (0.5, 1, 1.5, 2 mV)
2      x 0.552: 0.99 to 1.00        x 0.289: 0.10, 0.21, 0.31, 0.51
3      x 0.553: 0.99 to 1.00        x 0.294: 0.09, 0.14, 0.23, 0.35
=====  ===========================  ===========================

(0.09, 0.07, 0.05 without a pulse.) A strong pulse is no probe of x: 5 mV for
5 ms fires 0.99 of the excitatory neurons directly even 20 ms after a
population spike (3 mV: 0.90), since every excitatory neuron sits within a
mV of threshold. 1 mV evokes a population spike (excitatory participation
0.69) already 110 ms after one (seed 1, x 0.371)."""

SPONTANEOUS_PS_MS = 1990.0
"""The first spontaneous population spike of the default network, seed 1
(peak bin; onset 1987 ms, excitatory participation 0.85, EE x 0.562 just
before it, 0.314 20 ms after it). The next is at 3417 ms."""

HIGH_X_PULSE_MS = SPONTANEOUS_PS_MS - 90.0
"""90 ms before the spontaneous population spike: EE x = 0.592 (measured); the
1 mV pulse evokes a population spike peaking at 1904 ms, excitatory
participation 0.96. (At 1000 ms, x = 0.575: peak at 1004 ms, 0.94.)"""

LOW_X_PULSE_MS = SPONTANEOUS_PS_MS + 20.0
"""20 ms after the spontaneous population spike: EE x = 0.314 (measured); 0.14
of the excitatory neurons fire in the response window (0.04 without the pulse)."""

RESPONSE_MS = 15.0
"""Window after the pulse's onset in which an evoked population spike must begin (ms)."""


def pulse_response(start_ms: float):
    """Seed 1's default network with PULSE at ``start_ms``, recorded 100 ms beyond it:
    (dataset, its population spikes, the mean EE x at the onset)."""
    params = tum2000.preset("default", stim_start_ms=start_ms, duration_ms=start_ms + 100.0,
                            **PULSE)
    ds = tum2000.simulate(params, seed=1)
    x_at_onset = float(ds["recovered"].sel(pathway="EE", time=start_ms))
    return ds, detect_population_spikes(ds), x_at_onset


def responding_fraction(ds, start_ms: float) -> float:
    """Fraction of the excitatory neurons that fire in the response window.

    Counted directly, since the detector merges activity less than 20 ms after
    a population spike into it (``merge_gap_ms``)."""
    t, i = ds["spike_time"].values, ds["spike_neuron"].values
    n_exc = tum2000.preset("default")["N_exc"]
    inside = (t >= start_ms) & (t < start_ms + RESPONSE_MS) & (i < n_exc)
    return np.unique(i[inside]).size / n_exc


@pytest.mark.slow
def test_a_weak_pulse_evokes_a_population_spike_when_the_synapses_have_recovered():
    ds, ps, x = pulse_response(HIGH_X_PULSE_MS)
    assert x > 0.5, x
    onset = ps["ps_onset"].values
    inside = (onset >= HIGH_X_PULSE_MS) & (onset < HIGH_X_PULSE_MS + RESPONSE_MS)
    # One population spike, begun after the pulse (none was under way before it).
    assert inside.sum() == 1 and not np.any(
        (onset > HIGH_X_PULSE_MS - 50.0) & (onset < HIGH_X_PULSE_MS)), onset
    assert float(ps["participation"].sel(population="exc").values[inside][0]) >= 0.5
    assert responding_fraction(ds, HIGH_X_PULSE_MS) >= 0.5


@pytest.mark.slow
def test_the_same_pulse_just_after_a_population_spike_evokes_none():
    ds, ps, x = pulse_response(LOW_X_PULSE_MS)
    assert x < 0.35, x
    # The spontaneous population spike 20 ms before the pulse is in this run too.
    assert np.any(np.abs(ps["ps_time"].values - SPONTANEOUS_PS_MS) <= 2.0)
    assert responding_fraction(ds, LOW_X_PULSE_MS) < 0.3
