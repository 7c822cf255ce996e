"""When does a population spike fire? Measures that tell a threshold from an escape.

Two scenarios explain a population spike (PS) that fires once the recovered
fraction x of the excitatory synapses has recovered far enough:

* **a threshold (a fold)**: the quiet state disappears when x reaches a
  critical value x_c, and the PS fires then, deterministically. The PS
  fires at one x, the interval after a PS is set by how far x fell, and two
  runs of one network that differ only in their initial membrane potentials
  end up firing at the same intervals;
* **an escape**: the quiet state exists at every x the network visits, but
  the network's own fluctuations (its irregular spikes, which act as noise)
  push it over a barrier that shrinks as x recovers (Holcman & Tsodyks 2006,
  PLoS Comput Biol 2:e23). The PS then has a *hazard* h(x), a probability
  per unit time that rises with x; given x, its timing is random.

This module measures, from network datasets:

* :func:`full_events`: the full population spikes (excitatory participation
  >= ``PARTIAL_MAX_PARTICIPATION``), their onset, x before and after, and
  the interval to the next;
* :func:`escape_rate`: the hazard h(x) (events per second of time spent at
  x, outside population spikes) with exact Poisson 95 % intervals;
  (with the two edges [x_level, 1], the hazard above ``x_level``: under a
  threshold at x_c the network spends almost no time above x_c without
  firing, so the hazard there is huge; under an escape it is finite, and
  1/h is the mean wait at high x);
* :func:`interval_predictability`: how much of the variance of the interval
  after a PS the drop of x explains (R^2 with a bootstrap interval);
* :func:`coincidence`: how many PS of one run have a PS of another run within
  a window, against the chance level of independent trains.

Times in ms, rates in Hz (1/s); x is dimensionless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import xarray as xr
from scipy import stats

from tum2000.analysis import population_spikes as pskinds

CONFIDENCE = 0.95
"""Level of every interval this module returns."""


# --- the events ------------------------------------------------------------------

def full_events(ds: xr.Dataset, analysis: xr.Dataset | None = None) -> xr.Dataset:
    """The full population spikes of one run and the mean EE x around them.

    Returns a Dataset over ``event`` with ``onset_ms``, ``offset_ms``,
    ``x_before`` (mean x of the EE synapses at the onset), ``x_after``
    (minimum just after), ``next_interval_ms`` (onset to the next full PS's
    onset; NaN for the last) and attributes ``duration_ms`` and ``seed``.
    """
    from tum2000.analysis import analyse

    a = analysis if analysis is not None else analyse(ds, synchrony=False, pathways=("EE",))
    n = a.sizes.get("ps", 0)
    if n:
        full = ~np.asarray(a["is_partial"].values, dtype=bool)
        ee = a.sel(pathway="EE")
        onset = np.asarray(a["ps_onset"].values, float)[full]
        offset = np.asarray(a["ps_offset"].values, float)[full]
        xb = np.asarray(ee["x_before"].values, float)[full]
        xa = np.asarray(ee["x_after"].values, float)[full]
    else:
        onset = offset = xb = xa = np.zeros(0)
    nxt = np.append(np.diff(onset), np.nan) if onset.size else np.zeros(0)
    return xr.Dataset(
        {"onset_ms": ("event", onset, {"units": "ms"}),
         "offset_ms": ("event", offset, {"units": "ms"}),
         "x_before": ("event", xb, {"units": "1"}),
         "x_after": ("event", xa, {"units": "1"}),
         "next_interval_ms": ("event", nxt, {"units": "ms"})},
        attrs={"duration_ms": float(ds["time"].values[-1] - ds["time"].values[0]
                                    + float(ds["time"].values[1] - ds["time"].values[0])),
               "seed": int(ds.attrs.get("seed", -1)),
               "full_min_participation": pskinds.PARTIAL_MAX_PARTICIPATION})


# --- the hazard ------------------------------------------------------------------

def poisson_interval(count: np.ndarray, exposure: np.ndarray,
                     level: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval of a Poisson rate ``count / exposure``."""
    count = np.asarray(count, float)
    exposure = np.asarray(exposure, float)
    alpha = 1.0 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(count > 0, stats.chi2.ppf(alpha / 2, 2 * count) / 2, 0.0) / exposure
        high = stats.chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2 / exposure
    return low, high


def at_risk(time_ms: np.ndarray, onsets_ms: np.ndarray, offsets_ms: np.ndarray,
            pad_ms: float) -> np.ndarray:
    """Samples outside every [onset, offset + pad) window: the network is quiet
    and could start a PS there."""
    mask = np.ones(time_ms.size, dtype=bool)
    for on, off in zip(onsets_ms, offsets_ms):
        mask &= ~((time_ms >= on) & (time_ms < off + pad_ms))
    return mask


RISK_PAD_MS = 20.0
"""After a PS's offset, samples this long (ms) are not at risk: the
excitatory neurons have just fired and are recovering from their reset."""


def exposure_and_events(runs: Sequence[tuple[xr.DataArray, xr.Dataset]],
                        x_edges: np.ndarray, pad_ms: float = RISK_PAD_MS
                        ) -> tuple[np.ndarray, np.ndarray, int]:
    """Time at risk (s) and PS onsets per x bin, summed over ``runs``.

    Each run is (mean EE x sampled on its time axis, its :func:`full_events`).
    Events are counted at their ``x_before``. Returns (exposure_s, events,
    events outside the bins).
    """
    exposure = np.zeros(len(x_edges) - 1)
    events = np.zeros(len(x_edges) - 1)
    outside = 0
    for x_trace, ev in runs:
        t = np.asarray(x_trace["time"].values, float)
        x = np.asarray(x_trace.values, float)
        dt_s = float(t[1] - t[0]) / 1000.0
        risk = at_risk(t, ev["onset_ms"].values, ev["offset_ms"].values, pad_ms)
        exposure += np.histogram(x[risk], bins=x_edges)[0] * dt_s
        counts = np.histogram(ev["x_before"].values, bins=x_edges)[0]
        outside += int(ev.sizes["event"] - counts.sum())
        events += counts
    return exposure, events, outside


def escape_rate(runs: Sequence[tuple[xr.DataArray, xr.Dataset]],
                x_edges: Sequence[float] | np.ndarray, pad_ms: float = RISK_PAD_MS,
                level: float = CONFIDENCE) -> xr.Dataset:
    """The hazard of a full PS as a function of x, with exact Poisson intervals.

    ``h(x) = (PS whose onset x falls in the bin) / (time at risk spent in the
    bin)``, pooled over runs. A bin never visited has NaN hazard.

    Returns a Dataset over ``x`` (bin centres) with ``hazard_hz``,
    ``hazard_low_hz``, ``hazard_high_hz``, ``events``, ``exposure_s`` and
    coordinates ``x_low``/``x_high``; attributes ``n_events``,
    ``events_outside_bins``, ``level``.
    """
    edges = np.asarray(x_edges, float)
    exposure, events, outside = exposure_and_events(runs, edges, pad_ms)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(exposure > 0, events / exposure, np.nan)
    low, high = poisson_interval(events, exposure, level)
    low = np.where(exposure > 0, low, np.nan)
    high = np.where(exposure > 0, high, np.nan)
    centre = 0.5 * (edges[1:] + edges[:-1])
    return xr.Dataset(
        {"hazard_hz": ("x", hazard, {"units": "Hz", "long_name": "PS per second at risk"}),
         "hazard_low_hz": ("x", low, {"units": "Hz"}),
         "hazard_high_hz": ("x", high, {"units": "Hz"}),
         "events": ("x", events, {"units": "1"}),
         "exposure_s": ("x", exposure, {"units": "s"})},
        coords={"x": centre, "x_low": ("x", edges[:-1]), "x_high": ("x", edges[1:])},
        attrs={"n_events": int(events.sum()), "events_outside_bins": outside,
               "level": level, "risk_pad_ms": pad_ms})


# --- is the interval set by x? -----------------------------------------------------

@dataclass(frozen=True)
class Predictability:
    """R^2 of the interval after a PS on the x it fell to, with a bootstrap interval."""

    r2: float
    low: float
    high: float
    n: int


def interval_predictability(x_after: np.ndarray, next_interval_ms: np.ndarray,
                            n_boot: int = 2000, seed: int = 0,
                            level: float = CONFIDENCE) -> Predictability:
    """Share of the variance of the next interval that a straight line in
    ``x_after`` explains (squared Pearson r), with a percentile bootstrap
    interval over events. If the interval were set by x (a threshold reached
    by a deterministic recovery from x_after), R^2 would be close to 1."""
    xa = np.asarray(x_after, float)
    iv = np.asarray(next_interval_ms, float)
    ok = np.isfinite(xa) & np.isfinite(iv)
    xa, iv = xa[ok], iv[ok]
    n = int(xa.size)
    if n < 3 or np.ptp(xa) == 0 or np.ptp(iv) == 0:
        return Predictability(math.nan, math.nan, math.nan, n)
    r2 = float(np.corrcoef(xa, iv)[0, 1] ** 2)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    a, b = xa[idx], iv[idx]
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = (np.sum(a * b, axis=1) ** 2 / (np.sum(a * a, axis=1) * np.sum(b * b, axis=1)))
    boot = boot[np.isfinite(boot)]
    lo, hi = np.quantile(boot, [0.5 - level / 2, 0.5 + level / 2])
    return Predictability(r2, float(lo), float(hi), n)


# --- do two runs fire together? ------------------------------------------------------

@dataclass(frozen=True)
class Coincidence:
    """Fraction of one run's PS with a PS of another run within ``window_ms``,
    observed and expected by chance (independent trains with the same rates)."""

    observed: float
    low: float
    high: float
    chance: float
    n_events: int
    n_pairs: int


def coincidence(trains: Sequence[np.ndarray], window_ms: float, start_ms: float,
                stop_ms: float, level: float = CONFIDENCE) -> Coincidence:
    """Pairwise coincidence of PS onsets across runs (every ordered pair).

    Only onsets in [start_ms, stop_ms) count (leave out the start, where all
    runs share the synchronous first event). Chance: a PS of run A meets one
    of run B with probability ``1 - exp(-2 window r_B)`` for a Poisson train
    of rate r_B. The interval is Wilson's for the pooled proportion.
    """
    trains = [np.sort(np.asarray(t, float)) for t in trains]
    trains = [t[(t >= start_ms) & (t < stop_ms)] for t in trains]
    span_s = (stop_ms - start_ms) / 1000.0
    hits = total = 0
    chance_sum = 0.0
    pairs = 0
    for i, a in enumerate(trains):
        for j, b in enumerate(trains):
            if i == j or a.size == 0:
                continue
            pairs += 1
            if b.size:
                pos = np.searchsorted(b, a)
                left = np.abs(a - b[np.clip(pos - 1, 0, b.size - 1)])
                right = np.abs(b[np.clip(pos, 0, b.size - 1)] - a)
                hits += int(np.sum(np.minimum(left, right) <= window_ms))
            total += a.size
            chance_sum += a.size * (1.0 - math.exp(-2.0 * window_ms / 1000.0 * b.size / span_s))
    if total == 0:
        return Coincidence(math.nan, math.nan, math.nan, math.nan, 0, pairs)
    p = hits / total
    z = stats.norm.ppf(0.5 + level / 2)
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return Coincidence(p, max(0.0, centre - half), min(1.0, centre + half),
                       chance_sum / total, total, pairs)


__all__ = ["CONFIDENCE", "Coincidence", "Predictability", "RISK_PAD_MS", "at_risk",
           "coincidence", "escape_rate", "exposure_and_events", "full_events",
           "interval_predictability", "poisson_interval"]
