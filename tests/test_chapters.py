"""The verdicts of the exploration and mean-field pages (:mod:`tum2000.chapters`),
on synthetic inputs whose answer is known: each outcome of each verdict, and the
edge cases (no event, one value for an interval, NaN)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from tum2000.chapters import exploration as ex
from tum2000.chapters import mean_field as mf
from tum2000.chapters.tables import Estimate, Verdict, value_or_undefined

NAN = float("nan")


# --- tables.Estimate and Verdict ------------------------------------------------------------

def test_estimate_student_t_interval():
    e = Estimate.of([1.0, 2.0, 3.0])
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert (e.mean, e.n) == (2.0, 3)
    assert e.low == pytest.approx(2.0 - half) and e.high == pytest.approx(2.0 + half)
    assert e.defined and "95 % CI" in e.text()


def test_estimate_leaves_out_nan_and_is_undefined_below_two_values():
    one = Estimate.of([NAN, 0.5, np.inf])
    assert one.n == 1 and one.mean == 0.5
    assert math.isnan(one.low) and math.isnan(one.high) and not one.defined
    assert one.text() == "0.50 (n = 1)"
    none = Estimate.of([])
    assert none.n == 0 and math.isnan(none.mean) and none.text() == "undefined"


def test_estimate_of_constant_values_has_zero_width():
    e = Estimate.of(xr.DataArray([0.3, 0.3]))
    assert e.low == pytest.approx(0.3) and e.high == pytest.approx(0.3)


def test_verdict_is_its_text():
    v = Verdict("holds", 3, holds=True)
    assert str(v) == "holds" and v.n == 3 and v.estimate is None


def test_value_or_undefined_is_what_the_notebooks_format_with():
    assert ex.fmt(0.1234) == "0.12" and ex.fmt(NAN) == "undefined" and ex.fmt(2.0, 1) == "2.0"
    assert mf.number(0.256, ".0%") == "26%" and mf.number(NAN, ".2f", "none") == "none"
    assert mf.number(None, ".2f") == value_or_undefined(None) == "undefined"
    assert ex.listing([1.0, NAN], 1) == "1.0, undefined" and ex.listing([]) == ""
    assert ex.listing([0.85, NAN], missing=ex.NO_EVENT) == "0.85, none (no event)"


# --- exploration: synthetic sweeps --------------------------------------------------------

def spread_sweep(full, partial, sharp, ws=(0.05, 0.75, 1.0), duration_ms=(5000.0,) * 3,
                 **more):
    """A spread sweep with 2 seeds: per spread and seed counts of each kind."""
    coords = {"I_b_spread_mV": list(ws), "seed": [1, 2]}
    dims = ("I_b_spread_mV", "seed")
    data = {f"{k}_ps_count": (dims, np.asarray(v, float)) for k, v in
            (("full", full), ("partial", partial), ("sharp", sharp))}
    data["duration_ms"] = ("I_b_spread_mV", list(duration_ms))
    data.update({k: (dims, np.asarray(v, float)) for k, v in more.items()})
    return xr.Dataset(data, coords=coords)


def test_totals_sum_over_seeds_and_record_time():
    ds = spread_sweep([[1, 2], [3, 4], [0, 0]], [[5, 5], [0, 1], [0, 0]],
                      [[0, 1], [3, 3], [0, 0]])
    t = ex.totals(ds, I_b_spread_mV=0.05)
    assert (t.full, t.partial, t.sharp, t.seconds) == (3, 10, 1, 10.0)
    assert t.events == 13 and t.partial_share == pytest.approx(10 / 13)
    assert t.sharp_share == pytest.approx(1 / 3) and t.sharp_rate_hz == pytest.approx(0.1)
    none = ex.totals(ds, I_b_spread_mV=1.0)
    assert none.events == 0 and math.isnan(none.partial_share) and math.isnan(none.sharp_share)


def test_like_fig1_both_outcomes_and_no_event():
    assert ex.like_fig1(ex.Totals(10, 1, 6, 10.0)).holds
    assert not ex.like_fig1(ex.Totals(10, 1, 4, 10.0)).holds  # few sharp
    assert not ex.like_fig1(ex.Totals(10, 5, 10, 10.0)).holds  # many partial
    nothing = ex.like_fig1(ex.Totals(0, 0, 0, 10.0))
    assert not nothing.holds and nothing.n == 0


@pytest.mark.parametrize("t, largest, start, holds", [
    (ex.Totals(0, 0, 0, 5.0), 0.0, "cannot be tested", None),
    (ex.Totals(0, 7, 0, 5.0), 0.3, "holds: every event is partial", True),
    (ex.Totals(1, 9, 0, 5.0), 0.6, "holds for most events", True),
    (ex.Totals(5, 5, 0, 5.0), 0.9, "does not hold", False),
])
def test_small_spread_claim(t, largest, start, holds):
    v = ex.small_spread_claim(t, largest)
    assert v.text.startswith(start) and v.holds is holds and v.n == t.events


def test_small_spread_claim_notes_large_partial_events():
    assert ex.small_spread_claim(ex.Totals(0, 7, 0, 5.0), 0.5).text.endswith("above 0.4")
    assert ex.small_spread_claim(ex.Totals(0, 7, 0, 5.0), 0.45).text.endswith("partial")


def test_relative_reading():
    fig1, unlike = ex.Totals(10, 0, 8, 5.0), ex.Totals(0, 10, 0, 5.0)
    reading, fit = ex.relative_reading(fig1, unlike)
    assert reading.holds and fit.holds and "fits the data" in fit.text
    reading, fit = ex.relative_reading(fig1, fig1)
    assert reading.holds and not fit.holds and fit.text.startswith("These data do not")
    reading, _ = ex.relative_reading(unlike, unlike)
    assert not reading.holds and "differs from Fig. 1" in reading.text


@pytest.mark.parametrize("a, text", [((2.0, 0.1, 2), "more often"), ((1.0, 0.1, 2), "less often"),
                                     ((1.6, 0.1, 2), "about as often")])
def test_compare_rates(a, text):
    v = ex.compare_rates(a, (1.5, 0.1, 2))  # two s.e. of the difference: 0.28
    assert v.text == text and v.n == 4


def test_compare_rates_with_one_seed_is_undecided():
    assert ex.compare_rates((5.0, NAN, 1), (1.0, NAN, 1)).text == "about as often"


def test_readings_of_the_maps():
    assert ex.wait_reading((100.0, 300.0), (0.5, 0.52)) == \
        "Slower recovery means a longer wait for the same state"
    assert ex.wait_reading((300.0, 100.0), (0.5, 0.7)).endswith("from a more recovered state")
    assert ex.wait_reading((300.0, 300.0), (0.7, 0.5)).endswith("from a less recovered state")
    assert ex.wait_reading((NAN, NAN), (NAN, NAN)) == "Too few full events to compare the waits"
    assert ex.partial_reason((2.0, 1.0)).startswith(": when")
    assert ex.partial_reason((1.0, 2.0)) == ""
    assert ex.partial_reason((NAN, NAN)) == ""
    assert ex.u_reading((1.0, 2.0)).startswith("A larger U")
    assert ex.u_reading((2.0, 1.0)).startswith("Each spike")
    assert ex.u_reading((1.0, 1.0)) == ex.u_reading((NAN, NAN)) == ""
    assert ex.strength_reading((0.6, 0.5)).startswith("Stronger")
    assert ex.strength_reading((0.5, 0.6)) == ""


def test_ends_and_change_skip_undefined_points():
    da = xr.DataArray([[NAN, NAN], [1.0, 3.0], [NAN, NAN], [4.0, 6.0]], dims=("w", "seed"),
                      coords={"w": [0.1, 0.2, 0.3, 0.4]})
    assert ex.ends(da) == (2.0, 5.0)
    assert all(math.isnan(v) for v in ex.ends(da.isel(w=[0, 1])))
    assert ex.change(da, "w") == "from none (no event) at 0.1 to 5.00 at 0.4"
    assert ex.change(da, "w", 0) == "from none (no event) at 0.1 to 5 at 0.4"
    assert ex.change(da, "w", 0, unit="ms") == "from none (no event) at 0.1 to 5 ms at 0.4"


def test_nearest_and_slope_and_sizes():
    assert ex.nearest([0.05, 0.25, 0.5], 0.3) == 0.25
    N = np.array([500, 2000, 8000])
    assert ex.log_log_slope(N, 3.0 * N ** -0.5) == pytest.approx(-0.5)
    assert ex.sizes_text([500, 20000]) == "500, 20,000"


def test_spread_glue_on_a_synthetic_sweep():
    ws = (0.05, 0.75, 1.0)
    ds = spread_sweep([[0, 0], [4, 6], [2, 2]], [[6, 4], [0, 0], [1, 1]], [[0, 0], [4, 4], [1, 1]],
                      ws=ws, participation_max=[[0.3, 0.35], [0.9, 0.9], [0.8, 0.8]],
                      partial_participation_mean=[[0.2, 0.3], [NAN, NAN], [0.3, 0.3]],
                      full_participation_mean=[[NAN, NAN], [0.8, 0.9], [0.7, 0.7]],
                      full_ps_rate_hz=[[0.0, 0.0], [0.8, 1.2], [0.4, 0.4]],
                      partial_ps_rate_hz=[[1.2, 0.8], [0.0, 0.0], [0.2, 0.2]],
                      x_mean=[[0.5, 0.5], [0.6, 0.6], [0.7, 0.7]],
                      cv_ipi=[[NAN, NAN], [0.3, 0.5], [0.1, 0.1]],
                      full_x_before_mean=[[NAN, NAN], [0.6, 0.6], [0.65, 0.65]])
    g = ex.spread_glue(ds, threshold_mV=15.0, default_w=1.0)
    assert g["a_small"] == 0.05 and g["a_small_events"] == 10 and g["a_small_full"] == 0
    assert g["a_verdict"] == "holds: every event is partial"
    assert g["a_rel_w"] == 0.75 and g["a_rel_fraction"] == pytest.approx(0.05)
    assert g["a_rel_reading"].startswith("the picture of Fig. 1")
    assert g["a_rel_fit"].startswith("That the paper")
    assert g["a_rel_vs_default"] == "more often"  # 1.0 ± 0.2 against 0.4 ± 0
    assert g["a_peak_w"] == 0.75 and g["a_partial_at_peak"] == "0.00"
    assert g["a_total_change"] == "from 1.00 at 0.05 to 0.60 at 1 mV"
    assert g["a_small_partial_participation"] == "0.25" and g["a_small_largest"] == "0.35"
    s = ex.summary_glue(ds, size_sweep([[3, 3], [1, 1]], [[1.0, 1.0], [0.2, 0.2]]),
                        [500, 2000], default_w=1.0, default_n=500)
    assert s["r_side"].startswith("on the side of rare events") and s["r_peak_w"] == 0.75
    assert s["r_share_of_peak"] == pytest.approx(0.4)
    assert s["r_partial_share"] == pytest.approx(1 / 3)
    assert s["r_size_verdict"].startswith("mostly in small networks")
    assert s["r_clock"].startswith("nearly periodic") and s["r_x_before"] == "0.65"


def test_side_of_peak_and_clock():
    assert ex.side_of_peak(1.0, 0.5).startswith("on the side of rare")
    assert ex.side_of_peak(0.25, 0.5) == "on the side of frequent events"
    assert ex.side_of_peak(0.5, 0.5) == "at the peak of the event rate"
    assert ex.clock_reading(0.5).holds and ex.clock_reading(0.5).text.startswith("irregular")
    assert not ex.clock_reading(0.1).holds
    assert ex.clock_reading(NAN).text == "nearly periodic (coefficient of variation undefined)"


def size_sweep(counts, rates, x_before=None, x_mean=None, sizes=(500, 2000)):
    n_exc = [int(0.8 * n) for n in sizes]
    dims = ("N_exc", "seed")
    k = len(sizes)
    return xr.Dataset({
        "full_ps_count": (dims, np.asarray(counts, float)),
        "full_ps_rate_hz": (dims, np.asarray(rates, float)),
        "full_x_before_mean": (dims, np.asarray(x_before if x_before is not None
                                                else [[0.5, 0.5]] * k, float)),
        "x_mean": (dims, np.asarray(x_mean if x_mean is not None else [[0.6, 0.6]] * k, float)),
    }, coords={"N_exc": n_exc, "seed": [1, 2]})


@pytest.mark.parametrize("counts, rates, default_n, start, holds", [
    ([[3, 3], [3, 3]], [[1.0, 1.0], [1.0, 1.0]], 2000, "in the network sizes tried", None),
    ([[3, 3], [0, 0]], [[1.0, 1.0], [0.0, 0.0]], 500, "only in small networks", False),
    ([[3, 3], [1, 0]], [[1.0, 1.0], [0.2, 0.0]], 500, "mostly in small networks", False),
    ([[3, 3], [3, 2]], [[1.0, 1.0], [0.8, 0.6]], 500, "at every size tried", True),
])
def test_size_verdict(counts, rates, default_n, start, holds):
    v = ex.size_verdict(size_sweep(counts, rates), [500, 2000], default_n)
    assert v.text.startswith(start) and v.holds is holds
    assert v.n == int(np.sum(counts[-1]))


def test_trigger_sentence():
    assert ex.trigger_sentence(size_sweep([[1, 1], [1, 0]], [[1, 1], [1, 0]]), [500, 2000]) == \
        "Every size tried makes population spikes."
    quiet_high = size_sweep([[1, 1], [0, 0]], [[1, 1], [0, 0]], x_mean=[[0.6, 0.6], [0.8, 0.8]])
    text = ex.trigger_sentence(quiet_high, [500, 2000])
    assert "(N = 2,000) rest at x = 0.80" in text and "lack not resources but a trigger" in text
    quiet_low = size_sweep([[1, 1], [0, 0]], [[1, 1], [0, 0]], x_mean=[[0.6, 0.6], [0.3, 0.3]])
    assert "below the 0.50" in ex.trigger_sentence(quiet_low, [500, 2000])


def scaling_sweep(rate, part, cv=None, ws=(0.5, 0.75), sizes=(500, 2000)):
    """rate, part[w][N] identical over 2 seeds."""
    dims = ("I_b_spread_mV", "N", "seed")
    rep = lambda a: np.repeat(np.asarray(a, float)[..., None], 2, axis=-1)
    return xr.Dataset({"full_ps_rate_hz": (dims, rep(rate)),
                       "full_participation_mean": (dims, rep(part)),
                       "cv_ipi": (dims, rep(cv if cv is not None else np.ones_like(rate)))},
                      coords={"I_b_spread_mV": list(ws), "N": list(sizes), "seed": [1, 2]})


def test_matching_spread_interpolates_the_first_crossing():
    ds = scaling_sweep([[2.0, 0.0], [1.0, 2.0]], [[0.7, 0.7], [0.7, 0.7]])
    assert ex.matching_spread(ds, 500, "full_ps_rate_hz", 1.5) == pytest.approx(0.625)
    assert ex.matching_spread(ds, 2000, "full_ps_rate_hz", 1.0) == pytest.approx(0.625)
    assert math.isnan(ex.matching_spread(ds, 500, "full_ps_rate_hz", 5.0))
    assert all(math.isnan(v) for v in ex.interpolate(ds, 500, "cv_ipi", NAN))


def test_matched_table_and_scaling_glue():
    target = {"full_ps_rate_hz": (1.0, 0.1, 2), "full_participation_mean": (0.7, 0.01, 2)}
    # N = 2000 reaches the rate at w* = 0.625 with the participation 0.7 (agrees),
    # N = 5000 with 0.3 (smaller), N = 8000 never
    ds = scaling_sweep([[1.0, 0.0, 0.0, 0.0], [1.0, 2.0, 2.0, 0.0]],
                       [[0.7, 0.7, 0.3, NAN], [0.7, 0.7, 0.3, NAN]],
                       cv=[[1.0, 0.4, 0.4, 1.0], [1.0, 0.4, 0.4, 1.0]],
                       sizes=(500, 2000, 5000, 8000))
    matched = ex.matched_table(ds, target)
    assert matched.loc[2000, ex.W_STAR] == pytest.approx(0.625)
    assert bool(matched.loc[2000, ex.AGREE]) and not bool(matched.loc[5000, ex.AGREE])
    assert math.isnan(matched.loc[8000, ex.W_STAR])
    g = ex.scaling_glue(matched, 500, target, goal_cv=1.0)
    assert g["f_sizes"] == "2,000, 5,000" and g["f_spreads"] == "0.62, 0.62"
    assert g["f_verdict"].endswith("while at N = 5,000 the events are smaller (beyond two "
                                   "standard errors)")
    assert g["f_regular"].startswith("The large networks' events also come more regularly")
    assert g["f_trend"].startswith("The matching spread shrinks with size")
    g = ex.scaling_glue(matched, 500, target, goal_cv=0.1)
    assert g["f_regular"] == ""


def test_scaling_verdict_outcomes():
    table = lambda w, agree, part: pd.DataFrame(
        {ex.W_STAR: w, ex.AGREE: agree, "participation at w*": part},
        index=pd.Index([2000, 5000], name="N"))
    none = ex.scaling_verdict(table([NAN, NAN], [False, False], [NAN, NAN]), 0.7)
    assert none.n == 0 and none.text.startswith("No spread tried")
    every = ex.scaling_verdict(table([0.6, 0.5], [True, True], [0.7, 0.7]), 0.7)
    assert every.holds and every.n == 2 and "at every size tried" in every.text
    larger = ex.scaling_verdict(table([0.6, NAN], [False, False], [0.9, NAN]), 0.7)
    assert "none of them" in larger.text and "events are larger" in larger.text
    partly = ex.scaling_verdict(table([0.6, NAN], [True, False], [0.7, NAN]), 0.7)
    assert partly.text.endswith("at N = 2,000") and partly.holds is False


def dense_sweep(rates, parts):
    dims = ("N_exc", "seed")
    rep = lambda a: np.repeat(np.asarray(a, float)[:, None], 2, axis=1)
    return xr.Dataset({"full_ps_rate_hz": (dims, rep(rates)),
                       "full_participation_mean": (dims, rep(parts)),
                       "full_ps_count": (dims, rep([3, 2, 1])),
                       "N_inh": ("N_exc", [100, 200, 400]),
                       "activity_sd_between_ps": (dims, rep([0.4, 0.2, 0.1]))},
                      coords={"N_exc": [400, 800, 1600], "seed": [1, 2]})


@pytest.mark.parametrize("rates, parts, start, holds", [
    ([1.0, 1.05, 0.95], [0.7, 0.7, 0.71], "Both match", True),
    ([1.0, 0.5, 0.2], [0.7, 0.5, NAN], "They do not match", False),
    ([1.0, 0.0, 0.0], [0.7, NAN, NAN], "Population spikes fade", False),
])
def test_dense_verdict(rates, parts, start, holds):
    target = {"full_ps_rate_hz": (1.0, 0.1, 2), "full_participation_mean": (0.7, 0.01, 2)}
    v = ex.dense_verdict(dense_sweep(rates, parts), target)
    assert v.text.startswith(start) and v.holds is holds and v.n == 2 * (2 + 1)
    g = ex.dense_glue(dense_sweep(rates, parts), target)
    assert g["g_sizes"] == "500, 1,000, 2,000" and g["g_slope"] == pytest.approx(-1.0)


# --- mean field ---------------------------------------------------------------------------

def recoveries(x_after=(), x_end=(), rmse=(), rmse_naive=(), t0=(), t1=(), meaningful=()):
    n = len(x_after)
    col = lambda v: ("ps", list(v) if len(v) else [NAN] * n)
    return xr.Dataset({"x_after": col(x_after), "x_end": col(x_end),
                       "x_recovery_rmse": col(rmse), "x_recovery_rmse_naive": col(rmse_naive),
                       "fit_t0": col(t0), "fit_t1": col(t1), "fit_meaningful": col(meaningful),
                       "pre_rate_hz": ("ps", [2.0, 4.0, 6.0][:n])})


def test_naive_rate_with_and_without_recoveries():
    fitted = recoveries([0.3, 0.4], [0.6, 0.7], t0=[100.0, 900.0], t1=[800.0, 1500.0])
    windows, rate, where = mf.naive_rate(fitted, np.array([]), np.array([]), np.arange(4), 2000.0)
    assert windows.tolist() == [[100.0, 800.0], [900.0, 1500.0]] and rate == 3.0
    assert where.startswith("between population spikes")
    # 4 excitatory neurons (0-3), 6 of the 8 spikes excitatory, in 2 s: 0.75 Hz
    times, neurons = np.arange(8.0), np.array([0, 1, 2, 3, 4, 5, 0, 1])
    windows, rate, where = mf.naive_rate(recoveries(), times, neurons, np.arange(4), 2000.0)
    assert rate == pytest.approx(0.75) and where == "over the whole recording"


def test_naive_verdict():
    fitted = recoveries([0.6, 0.8], [0.9, 0.9], rmse_naive=[0.2, 0.3])
    above = mf.naive_verdict(fitted, np.array([0.5]), x_inf=0.5)
    assert "already above" in above.text and "the wrong sign of the slope" in above.text
    assert above.n == 2 and above.estimate.mean == pytest.approx(0.7) and above.estimate.defined
    below = mf.naive_verdict(fitted, np.array([0.5]), x_inf=0.9)
    assert "below" in below.text and "far too low an end point" in below.text
    none = mf.naive_verdict(recoveries(), np.array([0.8, 0.9]), x_inf=0.5)
    assert none.n == 0 and "between 0.80 and 0.90, well above" in none.text
    assert "near" in mf.naive_verdict(recoveries(), np.array([0.52, 0.9]), x_inf=0.5).text


def test_rmse_and_fit_sentences():
    none = mf.rmse_sentence(recoveries([0.5], [0.6], [0.01], [0.2], [0.0], [100.0]))
    assert none.n == 0 and none.text.startswith("This run has no recovery longer than 500 ms")
    assert mf.rmse_sentence(recoveries()).n == 0
    lost = mf.rmse_sentence(recoveries([0.5], [0.6], [NAN], [0.2], [0.0], [900.0]))
    assert lost.text.startswith("The per-synapse prediction could not be computed")
    good = mf.rmse_sentence(recoveries([0.5, 0.5], [0.6, 0.6], [0.01, 0.03], [0.2, 0.3],
                                       [0.0, 0.0], [900.0, 100.0]))
    assert good.n == 1 and good.holds and "error of 0.010, against 0.20" in good.text
    assert mf.fit_sentence([1, 1]) == "" and mf.fit_sentence([]) == ""
    assert mf.fit_sentence([0, 1, 0]).startswith(" 2 of the exponential fits")


def test_drop_sentence():
    assert mf.drop_sentence(xr.Dataset({"x_after": ("ps", [])}), np.array([]), 0.5).n == 0
    rec = xr.Dataset({"drop_map_error": ("ps", [0.01, -0.02]), "exp_map_error": ("ps", [0.1, 0.1]),
                      "weighted_map_error": ("ps", [0.0, 0.0]), "n_pre_spikes": ("ps", [1.0, 1.2]),
                      "release_fraction_weighted": ("ps", [0.45, 0.45])})
    v = mf.drop_sentence(rec, np.array([True, False]), 0.5)
    assert v.holds and v.n == 2 and "(1 sharp:" in v.text and "always overestimating" in v.text
    rec["exp_map_error"] = ("ps", [-0.1, 0.005])
    v = mf.drop_sentence(rec, np.array([True, False]), 0.5)
    assert not v.holds and "always underestimating" in v.text


def test_rate_window_correlation():
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 40, 300)
    steady = mf.rate_window_correlation(np.vstack([base + rng.normal(0, 1, 300) for _ in range(4)]))
    assert steady.n == 3 and steady.low > 0.99
    shuffled = mf.rate_window_correlation(np.vstack([rng.permutation(base) for _ in range(4)]))
    assert abs(shuffled.mean) < 0.2
    assert mf.rate_window_correlation(base[None, :]).n == 0


def test_presynaptic_glue_and_per_synapse_x_inf():
    rates = np.array([[0.0, 2.0, 4.0], [0.0, 6.0, 4.0]])
    counts = np.array([[0, 2, 4], [0, 6, 4]])
    g = mf.presynaptic_glue(rates, counts, np.array([NAN, 0.5, 1.0]), 0.5, 800.0, n_rec=2)
    assert g["mf_silent_pct"] == "33 %" and g["mf_cv_median"] == "0.75"
    assert g["mf_rate_max"] == "6" and g["mf_r_example"] == "4.0"
    assert g["mf_between"] == "Between population spikes"
    g = mf.presynaptic_glue(np.zeros((1, 2)), np.zeros((1, 2), int), np.full(2, NAN), 0.5, 800.0, 0)
    assert g["mf_cv_median"] == "undefined" and g["mf_r_example"] == "undefined"
    assert g["mf_between"].startswith("Over this recording")
    assert mf.per_synapse_x_inf(None, 3, np.arange(3), rates, np.ones(3)).startswith("undefined")


def test_verdicts_carry_their_averages():
    ds = spread_sweep([[2, 2], [1, 1], [0, 0]], [[0, 0]] * 3, [[1, 1]] * 3,
                      full_ps_rate_hz=[[0.4, 0.6], [0.2, 0.2], [NAN, 0.1]],
                      cv_ipi=[[0.3, 0.5], [NAN, 0.1], [NAN, NAN]])
    v = ex.rate_comparison(ds, 0.05, 0.75)
    assert v.text == "more often" and v.holds and v.estimate.mean == pytest.approx(0.5)
    assert v.estimate.n == 2 and v.estimate.low < 0.5 < v.estimate.high
    one = ex.rate_comparison(ds, 1.0, 0.75)  # one seed with a value: no interval
    assert one.estimate.n == 1 and not one.estimate.defined
    clock = ex.clock_reading(0.4, ex.estimate(ds, "cv_ipi", I_b_spread_mV=0.05))
    assert clock.holds and clock.n == 2 and clock.estimate.mean == pytest.approx(0.4)
    v = ex.size_verdict(size_sweep([[3, 3], [1, 0]], [[1.0, 1.0], [0.2, 0.0]]), [500, 2000], 500)
    assert v.estimate.mean == pytest.approx(0.1) and v.estimate.n == 2


def test_readable_tables_show_no_nan_none_or_true():
    import pandas as pd

    from tum2000.chapters.tables import MISSING, readable

    table = pd.DataFrame({"tau_f (ms)": [None, 1028.2], "rmse": [0.0085, np.nan],
                          "meaningful": [True, False], "PS": [3, 0],
                          "x": [0.5, 0.25]}, index=pd.Index(["EE", "EI"], name="pathway"))
    html = readable(table).to_html()
    cells = [c.split(">")[-1] for c in html.split("</td>")[:-1]]
    assert cells == [MISSING, "0.0085", "yes", "3", "0.50", "1028.2", MISSING, "no", "0", "0.25"]
    for word in ("NaN", "None", "True", "False", "nan"):
        assert f">{word}<" not in html
    assert table["rmse"].isna().sum() == 1  # the data are unchanged
    assert readable(table).to_html() == html  # the same table gives the same page
    indexed = pd.DataFrame({"n": [1, 2]}, index=pd.MultiIndex.from_tuples(
        [("EE_U", 0.5), ("EE_U", 1990.0)], names=["parameter", "value"]))
    html = readable(indexed).to_html()
    assert ">0.5<" in html and ">1990<" in html and "000000" not in html


def test_intro_counts_events_instead_of_averaging_one_interval():
    from tum2000.chapters.intro import how_often

    assert how_often(2, 4200.0) == ("in the run below, 2 times in 4.2 s; the chapter on "
                                    "reproducibility gives the rate over networks")
    assert how_often(1, 4200.0) == "in the run below, once in 4.2 s"
    assert how_often(0, 4200.0).startswith("though not once")


def test_intro_verdict_follows_the_fig1_criterion():
    from tum2000.chapters.intro import like_figure_1

    summary = {"ps_width_ms": 2.5, "ps_participation": 0.82}
    sharp = like_figure_1(summary, {"full": 2, "partial": 0, "sharp": 2, "all": 2}, 4200.0)
    assert sharp.holds is True and sharp.n == 2 and sharp.text.startswith("As in the paper")
    assert "2 of 2 full events sharp, 0 partial" in sharp.text
    broad = like_figure_1({"ps_width_ms": 9.0, "ps_participation": 0.6},
                          {"full": 3, "partial": 0, "sharp": 1, "all": 3}, 4200.0)
    assert broad.holds is False and broad.text.startswith("Unlike the paper's figure")
    partial = like_figure_1(summary, {"full": 1, "partial": 5, "sharp": 1, "all": 6}, 4200.0)
    assert partial.holds is False and partial.n == 6
    none = like_figure_1({"ps_width_ms": float("nan"), "ps_participation": float("nan")},
                         {"full": 0, "partial": 3, "sharp": 0, "all": 3}, 4200.0)
    assert none.holds is False and "no population spike" in none.text and "nan" not in none.text


def test_mean_sem_table_rows_per_value_and_a_dash_only_where_nothing_was_measured():
    from tum2000.chapters.tables import MISSING

    ds = xr.Dataset({"rate": (("w", "seed"), [[1.0, 3.0], [2.0, NAN], [NAN, NAN]])},
                    coords={"w": [0.5, 1.0, 1.5], "seed": [1, 2]})
    table = ex.mean_sem_table(ds, "w", "w (mV)", [("rate", "rate (Hz)", 1)],
                              extra={"seeds": [2, 1, 0]})
    assert table.index.name == "w (mV)" and list(table.index) == [0.5, 1.0, 1.5]
    assert table["rate (Hz)"].tolist() == ["2.0 ± 1.0", "2.0", MISSING]
    assert table["seeds"].tolist() == [2, 1, 0]
