"""Bifurcation diagram of the threshold-linear rate model, and the LIF model beside it.

The heterogeneous class-based rate model (:mod:`.rate_model`) with
threshold-linear units (Loebel & Tsodyks 2002, J Comput Neurosci
13:111-124) and the network's inhibition and facilitating E->I/I->I synapses
is scanned over the excitatory coupling (``EE_A_mV``, i.e. J_EE = C A tau_I)
and the spread of the background inputs (``I_b_spread_mV``, w). At each point:

* the fold of the reduced one-x model, ``x_c = 1/(g J_EE U)``
  (:func:`~tum2000.meanfield.reduced.threshold_linear_fold`), where the
  low state of excitatory units alone disappears;
* whether the deterministic class model settles on a limit cycle of regular
  population spikes (PS), found by a converged scan: the model is integrated
  for ``transient_ms`` (discarded) and then ``window_ms``; the onsets of the
  PS in the window (:func:`rate_model_events`) must be at least
  ``MIN_CYCLES + 1`` and their intervals equal within ``PERIOD_RTOL``;
* the period and the mean EE x at a PS's onset and just after it.

The LIF model beside it cannot fold for any J: at a fixed point of
``s = J U x E(s)`` the loop gain ``J U x E'(s)`` equals ``s E'(s)/E(s)``,
independent of J, and its converged maximum is below 1
(:func:`~tum2000.meanfield.reduced.loop_gain_maximum`; 0.754 with the
default parameters). :func:`lif_loop_gain` gives it over w.

Event definitions are the network's (Tsodyks, Uziel & Markram 2000; the
project's :func:`tum2000.analysis.detect_population_spikes`): a PS is a run of
1-ms samples in which more than 5 % of all neurons fire, runs closer than
20 ms merged; a *full* PS has an excitatory participation of at least
:data:`~tum2000.analysis.population_spikes.PARTIAL_MAX_PARTICIPATION`. The
synapse model is that of Tsodyks, Pawelzik & Markram (1998, Neural Comput
10:821).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import xarray as xr

from tum2000.analysis.population_spikes import PARTIAL_MAX_PARTICIPATION
from tum2000.model.parameters import Parameters
from tum2000.meanfield.constants import constants
from tum2000.meanfield.rate_model import N_CLASSES, simulate_rate_model
from tum2000.meanfield.reduced import loop_gain_maximum, threshold_linear_fold
from tum2000.meanfield.transfer import threshold_linear_gain

ACTIVITY_THRESHOLD = 0.05
"""Fraction of all neurons firing in a 1-ms sample above which a sample is inside a PS
(the network's ``detect_population_spikes`` default)."""
MERGE_GAP_MS = 20.0
"""Runs above threshold closer than this are one PS (the network's default)."""
AFTER_MS = 20.0
"""x after a PS: the minimum of the EE x up to this long after the PS's offset."""
MIN_CYCLES = 3
"""Intervals a limit cycle must show within the analysis window."""
PERIOD_RTOL = 1e-2
"""Largest relative spread (max - min)/mean of the intervals of a limit cycle. The
deterministic model's intervals agree to ~1e-3 once the transient is over (measured
at EE_A 3.6 mV without inhibition: 240-241 ms on a 1-ms sampling grid, i.e. the
sampling step); 1e-2 leaves room for that grid and rejects slow drifts."""
TRANSIENT_MS = 6000.0
"""Integration time discarded before looking for a limit cycle (several tau_rec)."""
WINDOW_MS = 6000.0
"""Analysis window after the transient; room for MIN_CYCLES intervals up to 2 s."""


def rate_model_events(rm: xr.Dataset, threshold: float = ACTIVITY_THRESHOLD,
                      merge_gap_ms: float = MERGE_GAP_MS, after_ms: float = AFTER_MS
                      ) -> dict[str, np.ndarray]:
    """Population spikes of one rate-model realization, with the network's definitions.

    The model's rate of all neurons (Hz) times the sample interval is the
    expected fraction of neurons firing per sample, the network's activity; a
    PS is a maximal run of samples above ``threshold``, runs less than
    ``merge_gap_ms`` apart merged. Returns arrays (one value per PS):
    ``onset_ms``, ``offset_ms``, ``x_before`` (mean EE x at the onset),
    ``x_after`` (its minimum up to ``after_ms`` after the offset, not past
    the next onset), ``participation`` (fraction of excitatory neurons firing:
    per class the expected spikes in the PS, at most one) and ``full``
    (participation >= PARTIAL_MAX_PARTICIPATION), ``whole`` (False for a PS
    cut by the start or the end of the recording: its onset, x or
    participation are not known).
    """
    t = rm["time"].values
    step = float(t[1] - t[0])
    activity = rm["rate"].sel(population="all").values * step / 1000.0
    above = np.concatenate([[False], activity > threshold, [False]]).astype(np.int8)
    starts = np.flatnonzero(np.diff(above) == 1)
    stops = np.flatnonzero(np.diff(above) == -1)
    keep_s: list[int] = []
    keep_e: list[int] = []
    for a, b in zip(starts, stops):
        if keep_s and (a - keep_e[-1]) * step < merge_gap_ms:
            keep_e[-1] = b
        else:
            keep_s.append(int(a))
            keep_e.append(int(b))
    x = rm["recovered"].sel(pathway="EE").values
    cls = rm["class_rate_exc"].values                    # (time, class), Hz
    n = len(keep_s)
    out = {k: np.full(n, np.nan) for k in ("onset_ms", "offset_ms", "x_before", "x_after",
                                           "participation")}
    for k, (a, b) in enumerate(zip(keep_s, keep_e)):
        end = min(b + int(round(after_ms / step)), t.size)
        if k + 1 < n:
            end = min(end, keep_s[k + 1])
        out["onset_ms"][k], out["offset_ms"][k] = t[a], t[a] + (b - a) * step
        out["x_before"][k] = x[a]
        out["x_after"][k] = float(np.min(x[a:max(end, a + 1)]))
        spikes = cls[a:b].sum(axis=0) * step / 1000.0
        out["participation"][k] = float(np.mean(np.minimum(spikes, 1.0)))
    out["full"] = out["participation"] >= PARTIAL_MAX_PARTICIPATION
    out["whole"] = np.array([a > 0 and b < t.size for a, b in zip(keep_s, keep_e)], dtype=bool)
    return out


def limit_cycle(params: Parameters, *, n_classes: int = N_CLASSES,
                transfer: str = "threshold_linear", transient_ms: float = TRANSIENT_MS,
                window_ms: float = WINDOW_MS, rtol: float = 1e-6) -> dict[str, float]:
    """Whether the deterministic rate model fires regular population spikes.

    Integrates the model (``solve_ivp``, relative tolerance ``rtol``) for
    ``transient_ms`` + ``window_ms`` and looks at the PS in the window.
    Returns ``oscillates`` (1.0 or 0.0), ``period_ms``, ``x_before``,
    ``x_after``, ``participation`` (means over the window's PS; NaN without
    a limit cycle) and ``n_ps`` (PS in the window).
    """
    rm = simulate_rate_model(params, n_classes=n_classes, transfer=transfer,
                             burn_in_ms=transient_ms, duration_ms=window_ms,
                             record_dt_ms=1.0, rtol=rtol)
    ev = rate_model_events(rm)
    whole = ev["whole"]
    ev = {k: v[whole] for k, v in ev.items()}
    onsets = ev["onset_ms"]
    intervals = np.diff(onsets)
    regular = (intervals.size >= MIN_CYCLES
               and float(np.ptp(intervals)) <= PERIOD_RTOL * float(np.mean(intervals)))
    nan = float("nan")
    return {"oscillates": float(regular),
            "period_ms": float(np.mean(intervals)) if regular else nan,
            "x_before": float(np.mean(ev["x_before"])) if regular else nan,
            "x_after": float(np.mean(ev["x_after"])) if regular else nan,
            "participation": float(np.mean(ev["participation"])) if regular else nan,
            "n_ps": float(onsets.size)}


def tl_bifurcation_diagram(params: Parameters, EE_A_mV: Sequence[float],
                           I_b_spread_mV: Sequence[float], *, n_classes: int = N_CLASSES,
                           transient_ms: float = TRANSIENT_MS, window_ms: float = WINDOW_MS,
                           rtol: float = 1e-6) -> xr.Dataset:
    """The threshold-linear model's fold and limit cycle over J_EE (via EE_A) and w.

    Every other parameter is ``params``'s (inhibition and facilitation as in
    the network). Returns a Dataset over (``EE_A_mV``, ``I_b_spread_mV``)
    with ``x_c`` (fold of the one-x model, 1/(g J U)), ``J_EE_mV_ms``,
    ``oscillates`` (1: a deterministic limit cycle), ``period_ms``,
    ``x_before``, ``x_after``, ``participation`` (NaN without a cycle) and
    ``n_ps``; units in each variable's attrs, the scan's settings in the
    Dataset's.
    """
    a_values = np.asarray(EE_A_mV, dtype=np.float64)
    w_values = np.asarray(I_b_spread_mV, dtype=np.float64)
    names = ("oscillates", "period_ms", "x_before", "x_after", "participation", "n_ps")
    table = {k: np.full((a_values.size, w_values.size), np.nan) for k in names}
    x_c = np.full((a_values.size, w_values.size), np.nan)
    J = np.full_like(x_c, np.nan)
    for i, a in enumerate(a_values):
        for j, w in enumerate(w_values):
            p = params.replace(EE_A_mV=float(a), I_b_spread_mV=float(w))
            c = constants(p)
            ee = c.pathways["EE"]
            J[i, j] = ee.J_mV_ms
            x_c[i, j] = threshold_linear_fold(threshold_linear_gain(c.populations["E"]),
                                              ee.J_mV_ms, ee.U)
            cycle = limit_cycle(p, n_classes=n_classes, transient_ms=transient_ms,
                                window_ms=window_ms, rtol=rtol)
            for k in names:
                table[k][i, j] = cycle[k]
    dims = ("EE_A_mV", "I_b_spread_mV")
    meta = {"x_c": ("1", "fold of the one-x threshold-linear model, 1/(g J_EE U_EE)"),
            "J_EE_mV_ms": ("mV ms", "EE coupling C mean(A) tau_I"),
            "oscillates": ("1", "1: the deterministic model fires regular population spikes"),
            "period_ms": ("ms", "period of the limit cycle"),
            "x_before": ("1", "mean EE x at a population spike's onset"),
            "x_after": ("1", "mean EE x just after a population spike"),
            "participation": ("1", "excitatory participation of a population spike"),
            "n_ps": ("1", "population spikes in the analysis window")}
    data = {"x_c": x_c, "J_EE_mV_ms": J, **table}
    return xr.Dataset(
        {k: (dims, v, {"units": meta[k][0], "long_name": meta[k][1]}) for k, v in data.items()},
        coords={"EE_A_mV": ("EE_A_mV", a_values, {"units": "mV"}),
                "I_b_spread_mV": ("I_b_spread_mV", w_values, {"units": "mV"})},
        attrs={"title": "bifurcation diagram of the threshold-linear rate model",
               "transfer": "threshold_linear", "n_classes": int(n_classes),
               "transient_ms": float(transient_ms), "window_ms": float(window_ms),
               "rtol": float(rtol), "period_rtol": PERIOD_RTOL, "min_cycles": MIN_CYCLES,
               "tl_gain_hz_per_mV": 1000.0 * threshold_linear_gain(
                   constants(params).populations["E"]),
               "parameters": params.to_json(),
               "source": "Loebel & Tsodyks (2002) J Comput Neurosci 13:111-124"})


def lif_loop_gain(params: Parameters, I_b_spread_mV: Sequence[float]) -> xr.Dataset:
    """The LIF model's converged largest loop gain over w (it does not depend on J).

    A fold needs the gain ``s E'(s)/E(s)`` to reach 1 at a fixed point; its
    maximum over s (:func:`~tum2000.meanfield.reduced.loop_gain_maximum`) is
    set by phi's shape and w alone, so one value per w holds for every J_EE.
    Returns ``gain`` and the input ``s_mV`` where it is attained.
    """
    w_values = np.asarray(I_b_spread_mV, dtype=np.float64)
    found = [loop_gain_maximum(params.replace(I_b_spread_mV=float(w))) for w in w_values]
    return xr.Dataset(
        {"gain": ("I_b_spread_mV", [f.gain for f in found],
                  {"units": "1", "long_name": "largest loop gain s E'(s)/E(s), any J"}),
         "s_mV": ("I_b_spread_mV", [f.s_mV for f in found],
                  {"units": "mV", "long_name": "input where the largest gain is attained"})},
        coords={"I_b_spread_mV": ("I_b_spread_mV", w_values, {"units": "mV"})},
        attrs={"transfer": "lif", "folds": int(any(f.gain >= 1 for f in found))})
