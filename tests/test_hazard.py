"""The escape-rate estimator and the scenario measures on synthetic data with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tum2000.analysis import hazard

X_AFTER, X_INF, TAU_MS = 0.25, 0.6, 1000.0


def true_hazard_hz(x):
    """A known escape rate: 0 below x = 0.35, then rising linearly (Hz)."""
    return np.clip(8.0 * (np.asarray(x) - 0.35), 0.0, None)


def synthetic_run(seed: int, duration_ms: float = 200_000.0, dt_ms: float = 1.0):
    """x recovers exponentially from X_AFTER to X_INF; a PS fires with hazard
    h(x) per ms step, lasts 5 ms and resets x to X_AFTER."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, duration_ms, dt_ms)
    x = np.empty(t.size)
    onsets, xb = [], []
    since = 0.0
    draws = rng.random(t.size)
    for k in range(t.size):
        x[k] = X_INF - (X_INF - X_AFTER) * np.exp(-since / TAU_MS)
        since += dt_ms
        if since > 10 and draws[k] < true_hazard_hz(x[k]) * dt_ms / 1000.0:
            onsets.append(t[k])
            xb.append(x[k])
            since = 0.0
    onsets = np.array(onsets)
    ev = xr.Dataset({"onset_ms": ("event", onsets), "offset_ms": ("event", onsets + 5.0),
                     "x_before": ("event", np.array(xb)),
                     "x_after": ("event", np.full(onsets.size, X_AFTER)),
                     "next_interval_ms": ("event", np.append(np.diff(onsets), np.nan))},
                    attrs={"duration_ms": duration_ms})
    return xr.DataArray(x, coords={"time": t}, dims="time"), ev


@pytest.fixture(scope="module")
def runs():
    return [synthetic_run(s) for s in (1, 2)]


def test_escape_rate_recovers_a_known_hazard(runs):
    edges = np.arange(0.25, 0.61, 0.025)
    rate = hazard.escape_rate(runs, edges, pad_ms=0.0)
    assert rate.attrs["n_events"] > 250   # 274 with these seeds
    visited = rate["exposure_s"].values > 5.0
    truth = true_hazard_hz(rate["x"].values)
    inside = ((rate["hazard_low_hz"].values <= truth * 1.0 + 0.15)
              & (truth <= rate["hazard_high_hz"].values + 0.15))[visited]
    # 95 % intervals: nearly every visited bin holds the true rate (the bins
    # are 0.025 wide and h changes by 0.2 Hz across one, hence the 0.15 slack)
    assert inside.mean() >= 0.85, (rate.to_dataframe(), truth)
    # far below the onset the estimate is 0 with an upper bound, not a number out of nothing
    low = rate.sel(x=0.2875, method="nearest")
    assert low["events"] == 0 and low["hazard_high_hz"] < 2.0


def test_the_hazard_above_a_level_is_the_pooled_rate(runs):
    above = hazard.escape_rate(runs, [0.5, 1.0], pad_ms=0.0)
    # mean of h over the time spent above 0.5 (x dwells near 0.5-0.6): between h(0.5) and h(0.6)
    h = float(above["hazard_hz"][0])
    assert true_hazard_hz(0.5) < h < true_hazard_hz(0.6)
    assert above["hazard_low_hz"][0] < h < above["hazard_high_hz"][0]


def test_a_threshold_has_a_huge_hazard_above_it():
    # deterministic: every PS fires when x reaches 0.45 (the time above 0.45 is ~1 sample)
    t = np.arange(0.0, 100_000.0, 1.0)
    since = np.mod(t, 2000.0)
    x = X_INF - (X_INF - X_AFTER) * np.exp(-since / TAU_MS)
    crossing = t[(since > 0) & (x >= 0.45) & (np.roll(x, 1) < 0.45)]
    ev = xr.Dataset({"onset_ms": ("event", crossing), "offset_ms": ("event", crossing + 5),
                     "x_before": ("event", np.full(crossing.size, 0.45))})
    x = np.where(x >= 0.45, X_AFTER, x)   # the PS resets x at once
    above = hazard.escape_rate([(xr.DataArray(x, coords={"time": t}, dims="time"), ev)],
                               [0.449, 1.0], pad_ms=0.0)
    assert float(above["hazard_low_hz"][0]) > 100.0


def test_poisson_interval_matches_known_values():
    low, high = hazard.poisson_interval(np.array([0, 10]), np.array([1.0, 1.0]))
    assert low[0] == 0 and high[0] == pytest.approx(3.689, abs=1e-3)   # Garwood, k = 0
    assert low[1] == pytest.approx(4.795, abs=1e-3) and high[1] == pytest.approx(18.390, abs=1e-3)


def test_predictability_tells_a_set_interval_from_a_random_one():
    rng = np.random.default_rng(3)
    xa = rng.uniform(0.2, 0.3, 60)
    set_by_x = hazard.interval_predictability(xa, 5000.0 - 10_000.0 * xa
                                              + rng.normal(0, 10, 60))
    random = hazard.interval_predictability(xa, rng.exponential(1000.0, 60))
    assert set_by_x.low > 0.9 and set_by_x.n == 60
    assert random.high < 0.3 and random.low <= random.r2 <= random.high


def test_coincidence_of_identical_and_independent_trains():
    rng = np.random.default_rng(4)
    train = np.sort(rng.uniform(0, 600_000, 300))
    same = hazard.coincidence([train, train.copy(), train + 1.0], 10.0, 0.0, 600_000.0)
    assert same.observed == 1.0 and same.low > 0.95 and same.n_pairs == 6
    others = [np.sort(rng.uniform(0, 600_000, 300)) for _ in range(3)]
    independent = hazard.coincidence(others, 10.0, 0.0, 600_000.0)
    assert independent.low <= independent.chance <= independent.high
    assert independent.chance == pytest.approx(2 * 10.0 * 300 / 600_000, rel=0.05)
