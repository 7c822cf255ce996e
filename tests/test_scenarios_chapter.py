"""The threshold-or-escape verdicts on synthetic inputs with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from tum2000.analysis import hazard
from tum2000.analysis.hazard import Coincidence, Predictability
from tum2000.chapters import scenarios as ch
from tum2000.chapters.tables import Verdict


def above(events, exposure_s):
    edges = [0.45, 1.0]
    low, high = hazard.poisson_interval(np.array([events]), np.array([exposure_s]))
    return xr.Dataset({"hazard_hz": ("x", [events / exposure_s]),
                       "hazard_low_hz": ("x", low), "hazard_high_hz": ("x", high),
                       "events": ("x", [events]), "exposure_s": ("x", [exposure_s])},
                      coords={"x": [0.7], "x_low": ("x", edges[:1]), "x_high": ("x", edges[1:])})


def test_hazard_verdict_tells_an_escape_from_a_threshold():
    escape = ch.hazard_verdict(above(100, 300.0), 0.48)      # 0.33 per s: a 3 s wait
    assert escape.holds is True and escape.n == 100 and "3000 ms" in escape.text
    threshold = ch.hazard_verdict(above(100, 0.5), 0.48)     # 200 per s: a 5 ms wait
    assert threshold.holds is False
    unsure = ch.hazard_verdict(above(3, 0.15), 0.48)         # 20 per s, wide interval
    assert unsure.holds is None
    none = ch.hazard_verdict(above(0, 10.0), 0.48)
    assert none.holds is None and none.n == 0


def test_wait_estimate_inverts_the_interval():
    w = ch.wait_estimate(above(10, 10.0))
    assert w.mean == pytest.approx(1000.0) and w.low < 1000.0 < w.high and w.n == 10
    assert math.isinf(ch.wait_estimate(above(0, 10.0)).mean)


def test_predictability_verdict():
    assert ch.predictability_verdict(Predictability(0.02, 0.0, 0.1, 50)).holds is True
    assert ch.predictability_verdict(Predictability(0.95, 0.9, 0.98, 50)).holds is False
    assert ch.predictability_verdict(Predictability(0.6, 0.4, 0.8, 50)).holds is None
    assert ch.predictability_verdict(Predictability(math.nan, math.nan, math.nan, 2)).holds is None


def test_initial_state_verdict():
    chance = Coincidence(0.01, 0.005, 0.02, 0.009, 750, 30)
    assert ch.initial_state_verdict(chance, 6).holds is True
    locked = Coincidence(0.99, 0.97, 1.0, 0.009, 750, 30)
    assert ch.initial_state_verdict(locked, 6).holds is False
    partly = Coincidence(0.5, 0.45, 0.55, 0.009, 750, 30)
    assert ch.initial_state_verdict(partly, 6).holds is None
    assert ch.initial_state_verdict(Coincidence(math.nan, math.nan, math.nan, math.nan, 0, 30),
                                    6).n == 0
    few = ch.initial_state_verdict(Coincidence(0.0, 0.0, 0.79, 0.0, 1, 2), 2)
    assert few.holds is None and "too few" in few.text


def test_scenario_verdict_needs_agreement():
    yes, no, unsure = Verdict("a", 5, None, True), Verdict("b", 5, None, False), Verdict("c", 1)
    assert ch.scenario_verdict([yes, yes, unsure]).holds is True
    assert ch.scenario_verdict([no, no]).holds is False
    mixed = ch.scenario_verdict([yes, no, unsure])
    assert mixed.holds is None and "1 for an escape, 1 for a threshold, 1 undecided" in mixed.text
    assert ch.scenario_verdict([yes, yes]).n == 10
    assert ch.conclusion(ch.scenario_verdict([yes])).startswith("The network's population")
    assert "relaxation oscillator" in ch.conclusion(ch.scenario_verdict([no]))
    assert "do not settle" in ch.conclusion(mixed)


def evoked(thresholds, xs):
    thr = np.array(thresholds, float)[None, :]
    return xr.Dataset({"threshold_mV": (("event", "delay"), thr),
                       "failing_mV": (("event", "delay"), thr - 0.0625),
                       "x_at_pulse": (("event", "delay"), np.array(xs, float)[None, :])},
                      coords={"delay": [100.0, 300.0, 600.0][:len(xs)]})


def test_evoked_verdict():
    finite = ch.evoked_verdict(evoked([1.1, 0.6, 0.3], [0.33, 0.42, 0.50]))
    assert finite.holds is True and finite.n == 3 and "from 1.10 mV to 0.30 mV" in finite.text
    vanishing = ch.evoked_verdict(evoked([1.1, 0.6, 0.0625], [0.33, 0.42, 0.50]))
    assert vanishing.holds is False
    nothing = ch.evoked_verdict(evoked([np.nan, np.nan], [0.3, 0.4]))
    assert nothing.holds is None and nothing.n == 2
    one = ch.evoked_verdict(evoked([0.56, np.nan], [0.4, 0.3]))
    assert one.holds is None and "too few" in one.text


def test_seed_range_and_hazard_shape():
    assert ch.seed_range([21, 22, 23, 24]) == "21-24" and ch.seed_range([1, 5]) == "1, 5"
    x = np.array([0.41, 0.43, 0.45, 0.47])
    rate = xr.Dataset({"hazard_hz": ("x", [0.2, 1.0, 0.5, 0.05]),
                       "hazard_low_hz": ("x", [0.1, 0.8, 0.3, 0.0]),
                       "hazard_high_hz": ("x", [0.4, 1.2, 0.7, 0.1]),
                       "events": ("x", [2, 20, 10, 1]), "exposure_s": ("x", [10, 20, 20, 20])},
                      coords={"x": x, "x_low": ("x", x - 0.01), "x_high": ("x", x + 0.01)})
    text = ch.hazard_shape(rate)
    assert "largest at x = 0.42-0.44" in text and "falls again" in text
    monotone = rate.assign(hazard_hz=("x", [0.1, 0.2, 0.5, 1.0]),
                           hazard_low_hz=("x", [0.0, 0.1, 0.3, 0.8]),
                           hazard_high_hz=("x", [0.2, 0.4, 0.7, 1.2]))
    assert "falls again" not in ch.hazard_shape(monotone)
    short = rate.assign(exposure_s=("x", [1.0, 1.0, 1.0, 1.0]))
    assert "too little time" in ch.hazard_shape(short)
    assert "no population spikes" in ch.hazard_shape(rate.assign(events=("x", [0, 0, 0, 0])))


def test_size_glue_says_where_the_rate_falls_with_n():
    rates = np.array([[[1.0, 0.9, 1.1], [0.9, 1.0, 1.0]],     # w 0.5: flat
                      [[0.5, 0.6, 0.55], [0.0, 0.05, 0.0]]])  # w 1.0: falls
    ds = xr.Dataset({"full_ps_rate_hz": (("I_b_spread_mV", "N_exc", "seed"), rates)},
                    coords={"I_b_spread_mV": [0.5, 1.0], "N_exc": [400, 4000],
                            "N_inh": ("N_exc", [100, 1000]), "seed": [1, 2, 3]},
                    attrs={"base_parameters": '{"duration_ms": 20000.0}'})
    g = ch.size_glue(ds)
    assert g["why_sz_sentence"].startswith("at w = 0.5 mV it does not fall")
    assert "at w = 1 mV it falls" in g["why_sz_sentence"] and g["why_sz_duration"] == "20"
