"""The threshold-linear rate model (Loebel & Tsodyks 2002) folds; the LIF model cannot.

The fold of threshold-linear units, x_c = 1/(g J U), against the S-curve;
the deterministic limit cycle of the class model above the fold and none
below; its convergence in class number and integration tolerance; the LIF
model's loop gain s E'(s)/E(s), independent of J, with a converged maximum
below 1.
"""

import numpy as np
import pytest
from scipy.optimize import brentq

import tum2000
from tum2000.meanfield import bifurcation, reduced
from tum2000.meanfield.constants import constants
from tum2000.meanfield.transfer import BinAveragedRate, threshold_linear_gain


@pytest.fixture(scope="module")
def params():
    return tum2000.preset("default")


def no_inhibition(params, **changes):
    return params.replace(IE_A_mV=0.0, **changes)


def test_tl_gain_is_matched_to_the_lif_neuron_1_mV_above_threshold(params):
    n = constants(params).populations["E"]
    g = threshold_linear_gain(n)
    # phi_LIF(theta + 1 mV) = 1/(3 ms + 30 ms ln(2.5/1)) = 32.80 Hz
    assert g * 1000 == pytest.approx(1000 / (3 + 30 * np.log(2.5)), rel=1e-12)
    assert g * 1000 == pytest.approx(32.8, abs=0.01)
    rate = BinAveragedRate(n, np.array([14.5]), np.array([15.5]), transfer="threshold_linear")
    # the mean of g [b + s - theta]_+ over b uniform in [theta - w/2, theta + w/2]
    for s in (-0.7, 0.0, 0.2, 0.5, 2.0):
        b = np.linspace(14.5, 15.5, 200001)
        assert rate(s)[0] == pytest.approx(np.mean(g * np.maximum(b + s - 15.0, 0)),
                                           rel=1e-4, abs=1e-15)   # grid: 5e-6
        assert rate.derivative(s)[0] == pytest.approx(
            np.mean(g * (b + s > 15.0)), rel=1e-3, abs=1e-12)


@pytest.mark.parametrize("a_mV,w_mV", [(1.8, 1.0), (3.6, 0.5), (1.2, 1.5)])
def test_analytic_tl_fold_is_the_s_curve_fold(params, a_mV, w_mV):
    p = params.replace(EE_A_mV=a_mV, I_b_spread_mV=w_mV)
    c = constants(p)
    ee = c.pathways["EE"]
    x_c = reduced.threshold_linear_fold(threshold_linear_gain(c.populations["E"]),
                                        ee.J_mV_ms, ee.U)
    curve = reduced.s_curve(p, transfer="threshold_linear", n_points=6001)
    assert curve.x_c == pytest.approx(x_c, rel=1e-6)
    assert curve.s_c == pytest.approx(w_mV / 2, abs=60 / 6000)   # one grid step
    # the LIF curve of the same parameters does not fold
    assert np.isnan(reduced.s_curve(p).x_c)


def test_deterministic_limit_cycle_above_the_fold_and_none_below(params):
    """EE_A 3.6 mV (x_c = 0.14) without inhibition: regular PS every ~240 ms
    (issue 18's reviewer: ~240 ms); EE_A 0.4 mV: x_c = 1.23 > 1, the fold
    cannot be reached, the model rests."""
    above = bifurcation.limit_cycle(no_inhibition(params, EE_A_mV=3.6))
    assert above["oscillates"] == 1.0
    assert above["period_ms"] == pytest.approx(240.0, abs=3.0)
    assert above["participation"] >= 0.5
    assert 0 < above["x_after"] < above["x_before"] < 0.3
    low = no_inhibition(params, EE_A_mV=0.4)
    c = constants(low)
    assert reduced.threshold_linear_fold(threshold_linear_gain(c.populations["E"]),
                                         c.pathways["EE"].J_mV_ms, c.pathways["EE"].U) > 1
    below = bifurcation.limit_cycle(low)
    assert below["oscillates"] == 0.0 and below["n_ps"] == 0
    # with inhibition, at 5.4 mV (reviewer: ~377 ms)
    inhibited = bifurcation.limit_cycle(params.replace(EE_A_mV=5.4))
    assert inhibited["oscillates"] == 1.0
    assert inhibited["period_ms"] == pytest.approx(381.0, abs=5.0)


def test_limit_cycle_converged_in_class_number_and_tolerance(params):
    """50 classes at rtol 1e-6 (the scan's defaults) against 100 classes at 1e-8:
    the period within 0.5 % and x before a PS within 0.005 (measured: 240.09 vs
    240.17 ms, 0.1930 vs 0.1931)."""
    p = no_inhibition(params, EE_A_mV=3.6)
    coarse = bifurcation.limit_cycle(p)
    fine = bifurcation.limit_cycle(p, n_classes=100, rtol=1e-8)
    assert fine["period_ms"] == pytest.approx(coarse["period_ms"], rel=5e-3)
    assert fine["x_before"] == pytest.approx(coarse["x_before"], abs=5e-3)
    assert fine["x_after"] == pytest.approx(coarse["x_after"], abs=5e-3)


def test_bifurcation_diagram_dataset(params):
    ds = bifurcation.tl_bifurcation_diagram(no_inhibition(params), [0.4, 3.6], [1.0],
                                            transient_ms=3000.0, window_ms=3000.0)
    assert ds["oscillates"].dims == ("EE_A_mV", "I_b_spread_mV")
    assert list(ds["oscillates"].values[:, 0]) == [0.0, 1.0]
    for name in ("x_c", "period_ms", "x_before", "x_after", "J_EE_mV_ms"):
        assert "units" in ds[name].attrs
    assert np.isnan(ds["period_ms"].values[0, 0])
    assert ds["x_c"].values[1, 0] == pytest.approx(ds["x_c"].values[0, 0] * 0.4 / 3.6,
                                                  rel=1e-3)   # x_c ~ 1/J (A's mean ~ A)


def test_lif_loop_gain_does_not_depend_on_J(params):
    """At a fixed point of s = J U x E(s) the loop gain J U x E'(s) equals
    s E'(s)/E(s): solve the fixed point for two couplings at x where they share
    the input s, and the two gains agree."""
    rate = reduced._population_rate(constants(params), "E")
    gains = []
    for a_mV in (1.8, 3.6, 7.2):
        ee = constants(params.replace(EE_A_mV=a_mV)).pathways["EE"]
        s_target = 0.3                                   # mV, on the low branch
        x = s_target / (ee.J_mV_ms * ee.U * rate(s_target)[0])
        s = brentq(lambda v: v - ee.J_mV_ms * ee.U * x * rate(v)[0], 1e-6, 0.45, xtol=1e-13)
        assert s == pytest.approx(s_target, abs=1e-9)
        gains.append(ee.J_mV_ms * ee.U * x * rate.derivative(s)[0])
    np.testing.assert_allclose(gains, reduced.loop_gain(rate, 0.3)[()], rtol=1e-9)
    maxima = [reduced.loop_gain_maximum(params.replace(EE_A_mV=a)).gain for a in (1.2, 3.6)]
    assert maxima[0] == pytest.approx(maxima[1], rel=1e-12)


def test_lif_loop_gain_maximum_converged_below_one(params):
    best = reduced.loop_gain_maximum(params)
    assert best.s_mV == pytest.approx(best.cusp_mV, abs=1e-6)    # at the cusp s = w/2
    assert best.gain == pytest.approx(0.7537, abs=1e-4)
    rate = reduced._population_rate(constants(params), "E")
    grids = [np.nanmax(reduced.loop_gain(rate, np.linspace(1e-6, 30.0, n)))
             for n in (1201, 24001, 240001)]
    assert grids[0] < grids[1] < grids[2] <= best.gain + 1e-9    # the grids creep up to it
    assert best.gain - grids[2] < 2e-4
    assert reduced.max_loop_gain(reduced.s_curve(params)) == pytest.approx(best.gain)
    lif = bifurcation.lif_loop_gain(params, [0.05, 0.5, 1.0, 2.0])
    assert float(lif["gain"].max()) < 1.0 and lif.attrs["folds"] == 0
    # threshold-linear units reach exactly 1 at the cusp: the fold
    tl = reduced.loop_gain_maximum(params, transfer="threshold_linear")
    assert tl.gain == pytest.approx(1.0, abs=1e-12) and tl.s_mV == pytest.approx(0.5)
