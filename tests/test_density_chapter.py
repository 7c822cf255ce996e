"""The population-density page's measures and verdicts on synthetic inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

import tum2000
from tum2000.chapters import density as ch
from tum2000.sweeps import held_out


def test_fwhm_counts_the_contiguous_samples_above_half_the_peak():
    # peak 10, half 5: the samples 10, 6, 5 (the later 8 is not contiguous)
    assert ch.fwhm_ms(np.array([0, 1, 4, 10, 6, 5, 1, 8]), 1.0) == 3.0
    assert ch.fwhm_ms(np.array([0, 2, 10, 2, 0]), 0.5) == 0.5
    assert math.isnan(ch.fwhm_ms(np.zeros(5), 1.0))


def model_like(bump_at=None, duration=600.0):
    t = np.arange(0.0, duration)
    rate = np.full(t.size, 5.0)
    x = np.full(t.size, 0.5)
    if bump_at is not None:
        rate[bump_at:bump_at + 3] = [150.0, 300.0, 150.0]
        x[bump_at + 3:] = 0.3
    classes = np.repeat(rate[:, None], 10, axis=1)
    return xr.Dataset({"rate": (("population", "time"), np.stack([rate, rate, rate])),
                       "recovered": (("pathway", "time"), np.stack([x] * 4)),
                       "class_rate_exc": (("time", "exc_class"), classes)},
                      coords={"time": t, "population": ["exc", "inh", "all"],
                              "pathway": list(tum2000.PATHWAYS)})


def test_model_event_measures_the_first_full_event():
    ev = ch.model_event(model_like(300))
    assert ev["n_full"] == 1 and ev["width_ms"] == 3.0
    assert ev["participation"] == pytest.approx(0.6) and ev["x_before"] == 0.5
    assert ev["x_after"] == pytest.approx(0.3) and ev["onset_ms"] == 300.0
    assert ch.delay_sentence({1.0: ev}, 290.0) == \
        "The evoked spike starts 10 ms after the pulse at w = 1 mV."
    none = ch.model_event(model_like(None))
    assert none["n_full"] == 0 and math.isnan(none["width_ms"])


def test_agreement_counts_quantities_inside_the_network_interval():
    runs = [{"full_width_ms_mean": w, "full_participation_mean": p, "full_x_before_mean": xb,
             "full_x_after_mean": xa, "full_ps_count": 10}
            for w, p, xb, xa in [(4, 0.8, 0.50, 0.28), (5, 0.85, 0.51, 0.29), (4.5, 0.82, 0.49, 0.28)]]
    inside = {1.0: {"width_ms": 4.5, "participation": 0.82, "x_before": 0.50, "x_after": 0.283}}
    v = ch.agreement_verdict(inside, {1.0: runs})
    assert v.holds is True and v.text.startswith("4 of 4") and v.n == 30
    outside = {1.0: {**inside[1.0], "x_after": 0.35}}
    assert ch.agreement_verdict(outside, {1.0: runs}).text.startswith("3 of 4")
    html = ch.comparison_table(outside, {1.0: runs}).to_html()
    assert "nan" not in html.lower() and ">no<" in html and ">yes<" in html


def test_sentences():
    quiet = {1.0: {"n_full": 0, "rate_exc_hz": 7.07, "x": 0.509, "duration_s": 2.0},
             0.5: {"n_full": 2, "rate_exc_hz": 6.6, "x": 0.4, "duration_s": 2.0}}
    text = ch.fixed_point_sentence(quiet)
    assert text.startswith("At w = 1 mV it settles at 7.07 Hz") and "fires 2 population" in text
    assert ch.sources_sentence({1.0: range(21, 29), 0.5: [101, 102, 103]}) == \
        "at w = 1 mV seeds 21-28, at w = 0.5 mV seeds 101-103"


def test_held_out_points_are_found_by_their_parameters():
    assert held_out.index_of(tum2000.preset("default", I_b_spread_mV=0.5)) == 0
    assert held_out.index_of(tum2000.preset("default")) is None
    ds = xr.Dataset({"full_ps_rate_hz": (("EE_A_mV", "seed"), [[1.0, 2.0], [3.0, 4.0]])},
                    coords={"EE_A_mV": [1.8, 1.9], "seed": [101, 102]})
    assert held_out.per_seed(ds, 1, ["full_ps_rate_hz"]) == [{"full_ps_rate_hz": 3.0},
                                                            {"full_ps_rate_hz": 4.0}]


def test_pulse_sentence():
    text = ch.pulse_sentence({1.0: (0.211, 0.175), 0.5: (0.005, 0.0), 1.5: (math.nan, 2.0)}, 5.0)
    assert text.startswith("The smallest evoking pulse: at w = 1 mV it lies between 0.175 and "
                           "0.211 mV for 5 ms")
    assert "at w = 0.5 mV it is at most 0.005 mV" in text
    assert "at w = 1.5 mV no pulse up to 2 mV evokes one" in text


def test_excitable_sentence():
    quiet = {1.0: {"n_full": 0}, 0.5: {"n_full": 0}}
    assert "excitable" in ch.excitable_sentence(quiet, {1.0: (0.2, 0.17), 0.5: (0.005, 0.0)})
    loud = ch.excitable_sentence({1.0: {"n_full": 0}, 0.5: {"n_full": 3}},
                                 {1.0: (0.2, 0.17), 0.5: (0.005, 0.0)})
    assert "without any push at w = 0.5 mV" in loud
    assert "no pulse tried evokes" in ch.excitable_sentence(quiet, {1.0: (math.nan, 2.0),
                                                                   0.5: (0.005, 0.0)})


def _sizes(rates: dict[float, list[list[float]]], duration_s: float = 20.0) -> xr.Dataset:
    """A size-series dataset (spread, N_exc, seed) with the given full-PS rates."""
    spreads = sorted(rates)
    values = np.array([rates[w] for w in spreads], float)        # (spread, N, seed)
    counts = values * duration_s
    return xr.Dataset(
        {"full_ps_count": (("I_b_spread_mV", "N_exc", "seed"), counts),
         "full_ps_rate_hz": (("I_b_spread_mV", "N_exc", "seed"), values),
         "duration_s": (("I_b_spread_mV", "N_exc", "seed"), np.full(values.shape, duration_s)),
         "full_x_before_mean": (("I_b_spread_mV", "N_exc", "seed"), np.full(values.shape, 0.4))},
        coords={"I_b_spread_mV": spreads, "N_exc": [400, 1600],
                "N_inh": ("N_exc", [100, 400]), "seed": np.arange(values.shape[2])})


def test_pooled_rate_is_the_poisson_rate_over_all_seeds():
    model = _sizes({1.0: [[0.5, 1.0], [0.0, 0.05]]})
    est = ch.pooled_rate(model, 1.0, 400)
    assert est.mean == pytest.approx(0.75) and est.n == 30
    assert est.low < 0.75 < est.high
    zero = ch.pooled_rate(_sizes({1.0: [[0.0, 0.0], [0.0, 0.0]]}), 1.0, 400)
    assert zero.mean == 0.0 and zero.low == 0.0 and zero.high == pytest.approx(3.689 / 40, rel=1e-3)
    assert ch.pooled_text(zero) == "0.00 (95 % CI 0.00–0.09, n = 0)"


def test_size_verdict_compares_trends_and_intervals():
    """The network falls at w = 1 and not at w = 0.5; a model that does the
    same agrees at both spreads, one that never falls at one."""
    network = _sizes({0.5: [[0.8, 0.9, 0.85], [0.8, 0.95, 0.9]],
                      1.0: [[0.5, 0.6, 0.55], [0.0, 0.05, 0.1]]})
    same = _sizes({0.5: [[0.9, 0.8], [0.85, 0.9]], 1.0: [[0.5, 0.6], [0.05, 0.1]]})
    flat = _sizes({0.5: [[0.9, 0.8], [0.85, 0.9]], 1.0: [[0.5, 0.6], [0.5, 0.6]]})
    good, bad = ch.size_verdict(same, network), ch.size_verdict(flat, network)
    assert good.holds and "agrees at 2 of 2 spreads" in good.text
    assert bad.holds is False and "agrees at 1 of 2 spreads" in bad.text
    assert good.n == int(same["full_ps_count"].sum())
    table = ch.size_comparison_table(same, network)
    assert len(table.data) == 4
    assert list(table.data["inside the network's CI"]) == ["yes"] * 4


def _evoked(seed: int, x, thr) -> xr.Dataset:
    thr = np.asarray(thr, float)[None, :]
    return xr.Dataset({"x_at_pulse": (("event", "delay"), np.asarray(x, float)[None, :]),
                       "threshold_mV": (("event", "delay"), thr),
                       "failing_mV": (("event", "delay"), thr - 0.0625)},
                      attrs={"seed": seed})


def test_threshold_ratio_and_verdict():
    """A model whose curve is half the network's thresholds at every x gives a
    ratio of about 0.5 whose CI excludes 1; one equal to the bracket's middle
    gives 1. Pulses outside the model's x range are left out."""
    curve = xr.Dataset({"x_at_pulse": ("delay", [0.30, 0.40, 0.50]),
                        "threshold_mV": ("delay", [1.0, 0.5, 0.25])})
    network = [_evoked(101, [0.30, 0.40, 0.55], [2.03125, 1.03125, 0.3]),
               _evoked(102, [0.35, 0.45, 0.50], [1.53125, 0.78125, 0.53125])]
    pairs = ch.threshold_pairs(curve, network)
    assert len(pairs) == 6 and pairs["model (mV)"].isna().sum() == 1
    ratio = ch.threshold_ratio(pairs)
    assert ratio.n == 2 and ratio.mean == pytest.approx(0.5, rel=1e-9)
    verdict = ch.threshold_verdict(curve, pairs)
    assert verdict.holds is False and "below the network's" in verdict.text and verdict.n == 5
    exact = [_evoked(s, [0.30, 0.40, 0.50], [1.03125, 0.53125, 0.28125]) for s in (1, 2)]
    same = ch.threshold_verdict(curve, ch.threshold_pairs(curve, exact))
    assert same.holds is True and same.estimate.mean == pytest.approx(1.0)
    few = ch.threshold_verdict(curve, ch.threshold_pairs(curve, network[:1]))
    assert few.holds is None and few.text.startswith("too few")


def test_threshold_verdict_without_any_network_pulse():
    """A network with no population spike gives no pulse: "too few", no error."""
    curve = xr.Dataset({"x_at_pulse": ("delay", [0.30, 0.40]),
                        "threshold_mV": ("delay", [1.0, 0.5])})
    empty = xr.Dataset({name: (("event", "delay"), np.empty((0, 2)))
                        for name in ("x_at_pulse", "threshold_mV", "failing_mV")},
                       attrs={"seed": 101})
    pairs = ch.threshold_pairs(curve, [empty])
    assert len(pairs) == 0 and pairs["model (mV)"].dtype == float
    verdict = ch.threshold_verdict(curve, pairs)
    assert verdict.holds is None and verdict.text.startswith("too few") and verdict.n == 0
    assert ch.threshold_ratio(pairs).n == 0
