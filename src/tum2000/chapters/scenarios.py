"""What the experiments on the network say: a threshold or an escape.

Each function turns one measure of :mod:`tum2000.analysis.hazard` (computed
by a study of :mod:`tum2000.sweeps.scenarios`) into the sentence the chapter
glues, with the interval and the number of events behind it, and decides
which scenario the measure supports (``holds``: True for the escape, False
for the threshold, None when the measure cannot tell). The decision rules
and their constants are written here, next to their reasons.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import xarray as xr

from tum2000.analysis.hazard import Coincidence, Predictability
from tum2000.chapters.tables import Estimate, Verdict

THRESHOLD_WAIT_MS = 20.0
"""Under a threshold the network cannot stay above x_c without firing: the
wait above the level where half the PS fire is then at most the time x takes
to cross the scatter of that level, a few ms at the recovery's slope
(~0.1-0.2 per s near x = 0.45, times a scatter of < 0.002 without noise). A
mean wait whose whole interval is above this is not a threshold."""
ESCAPE_WAIT_MS = 100.0
"""A mean wait above the median x before a PS longer than this (the whole
interval) is an escape: the network sat there, able to fire, and did not."""

SET_BY_X_R2 = 0.8
"""If x decided the interval (a threshold reached by a deterministic
recovery), the x a PS leaves behind would explain most of the next interval's
variance; a lower bound above 0.8 says so."""
RANDOM_GIVEN_X_R2 = 0.5
"""An upper bound below 0.5: most of the interval's variance is not x's."""

MIN_COINCIDENCE_EVENTS = 20
"""Fewer spike-run pairs than this cannot tell locked from independent runs
(with 20, chance at ~1 % and locking at > 90 % have disjoint Wilson intervals)."""
MIN_PULSE_TIMES = 3
"""The evoked threshold needs at least this many pulse times (x values) to
say how it changes with x."""

LOCKED_COINCIDENCE = 0.9
"""Runs of one wiring whose PS coincide (within the window) at least this
often have the same timing: the state's start does not matter."""


def wait_estimate(above: xr.Dataset) -> Estimate:
    """Mean wait (ms) above a level, ``1 / h``, with the interval of h inverted
    (n = events above the level)."""
    h, lo, hi = (float(above[name][0]) for name in ("hazard_hz", "hazard_low_hz",
                                                    "hazard_high_hz"))
    n = int(above["events"][0])
    wait = 1000.0 / h if h > 0 else math.inf
    low = 1000.0 / hi if hi > 0 else math.nan
    high = 1000.0 / lo if lo > 0 else math.inf
    return Estimate(wait, low, high, n)


def hazard_verdict(above: xr.Dataset, level: float) -> Verdict:
    """The hazard above the median x before a PS, and what it says."""
    wait = wait_estimate(above)
    h = float(above["hazard_hz"][0])
    exposure = float(above["exposure_s"][0])
    if wait.n == 0:
        return Verdict(f"no population spike fired above x = {level:.2f}", 0, wait, None)
    if wait.low > ESCAPE_WAIT_MS:
        holds: bool | None = True
        what = ("the network sat above that level, able to fire, for "
                f"{exposure:.1f} s in all and fired {wait.n} times: a finite hazard, "
                "as in an escape, not a threshold")
    elif wait.high < THRESHOLD_WAIT_MS:
        holds = False
        what = "it fired almost as soon as x got there, as at a threshold"
    else:
        holds = None
        what = "this cannot tell a threshold from an escape"
    text = (f"above x = {level:.2f} (the median x before a population spike) the hazard is "
            f"{h:.2f} per s (95 % CI {float(above['hazard_low_hz'][0]):.2f}-"
            f"{float(above['hazard_high_hz'][0]):.2f}, {wait.n} events), a mean wait of "
            f"{wait.mean:.0f} ms: {what}")
    return Verdict(text, wait.n, wait, holds)


def predictability_verdict(p: Predictability) -> Verdict:
    """How much of the interval after a PS the x it left behind explains."""
    est = Estimate(p.r2, p.low, p.high, p.n)
    if p.n < 3 or not math.isfinite(p.r2):
        return Verdict("too few intervals to say whether x sets the interval", p.n, est, None)
    share = (f"the x a population spike leaves behind explains {100 * p.r2:.0f} % "
             f"(95 % CI {100 * p.low:.0f}-{100 * p.high:.0f} %, {p.n} intervals) of the "
             "variance of the interval to the next one")
    if p.high < RANDOM_GIVEN_X_R2:
        return Verdict(share + ": given x, the timing is mostly random", p.n, est, True)
    if p.low > SET_BY_X_R2:
        return Verdict(share + ": x sets the timing", p.n, est, False)
    return Verdict(share + ": x sets the timing in part", p.n, est, None)


def initial_state_verdict(c: Coincidence, n_states: int) -> Verdict:
    """Do runs of one wiring from different initial states fire together?"""
    est = Estimate(c.observed, c.low, c.high, c.n_events)
    if c.n_events == 0:
        return Verdict("no population spike after the start in these runs", 0, est, None)
    if c.n_events < MIN_COINCIDENCE_EVENTS:
        return Verdict(f"only {c.n_events} population spike(s) after the start in these runs: "
                       "too few to tell locked from independent starts", c.n_events, est, None)
    share = (f"{100 * c.observed:.0f} % (95 % CI {100 * c.low:.0f}-{100 * c.high:.0f} %) of "
             f"the population spikes of one run have one in another run within "
             f"the window ({c.n_events} spike-run pairs, {n_states} initial states; "
             f"{100 * c.chance:.0f} % expected by chance)")
    if c.low > LOCKED_COINCIDENCE:
        return Verdict(share + ": the same wiring fires at the same times whatever its start",
                       c.n_events, est, False)
    if c.low <= c.chance <= c.high or c.high < 2 * c.chance:
        return Verdict(share + ": the initial state alone decides when the spikes come, "
                       "as if the network drew them at random", c.n_events, est, True)
    return Verdict(share + ": partly locked to the wiring", c.n_events, est, None)


def scenario_verdict(verdicts: Sequence[Verdict]) -> Verdict:
    """The measures together: the escape if every one that can tell says so,
    the threshold if every one says that; otherwise undecided."""
    said = [v.holds for v in verdicts if v.holds is not None]
    n = int(sum(v.n for v in verdicts))
    if said and all(said):
        return Verdict(f"{len(said)} of {len(verdicts)} measures support a noise-driven "
                       "escape and none a threshold", n, None, True)
    if said and not any(said):
        return Verdict(f"{len(said)} of {len(verdicts)} measures support a threshold "
                       "and none an escape", n, None, False)
    return Verdict(f"the measures disagree or cannot tell ({sum(said)} for an escape, "
                   f"{len(said) - sum(said)} for a threshold, "
                   f"{len(verdicts) - len(said)} undecided)", n, None, None)


def conclusion(verdict: Verdict) -> str:
    """What the page concludes from :func:`scenario_verdict`, in one or two sentences."""
    if verdict.holds is True:
        return ("The network's population spikes are not the relaxation oscillation of a "
                "rate model that folds: the network sits in a quiet state that gets "
                "shallower as x recovers, and its own spiking noise decides when it leaves.")
    if verdict.holds is False:
        return ("With these parameters the network behaves like a relaxation oscillator: its "
                "population spikes come when x reaches a threshold.")
    return "With these parameters the measures do not settle the question."


def hazard_table(rate: xr.Dataset) -> "object":
    """The hazard per x bin as a readable table (bins never visited left out)."""
    import pandas as pd

    from tum2000.chapters.tables import readable

    keep = np.asarray(rate["exposure_s"].values) > 0
    frame = pd.DataFrame({
        "x from": rate["x_low"].values[keep].round(2), "x to": rate["x_high"].values[keep].round(2),
        "time at risk (s)": rate["exposure_s"].values[keep].round(1),
        "population spikes": rate["events"].values[keep].astype(int),
        "hazard (1/s)": rate["hazard_hz"].values[keep].round(2),
        "95 % CI low (1/s)": rate["hazard_low_hz"].values[keep].round(2),
        "95 % CI high (1/s)": rate["hazard_high_hz"].values[keep].round(2)})
    return readable(frame.set_index(["x from", "x to"]))





# --- the two rate models ----------------------------------------------------------------------

def default_fold(params) -> float:
    """``x_c = 1/(g J_EE U_EE)`` of threshold-linear units for ``params``."""
    from tum2000.meanfield.constants import constants
    from tum2000.meanfield.reduced import threshold_linear_fold
    from tum2000.meanfield.transfer import threshold_linear_gain

    c = constants(params)
    ee = c.pathways["EE"]
    return threshold_linear_fold(threshold_linear_gain(c.populations["E"]), ee.J_mV_ms, ee.U)


def model_glue(params, gains: xr.Dataset, diagram: xr.Dataset) -> dict[str, str]:
    """The two rate models' numbers and sentences for the page.

    ``gains``: :func:`tum2000.meanfield.bifurcation.lif_loop_gain` over w;
    ``diagram``: :func:`tum2000.meanfield.bifurcation.tl_bifurcation_diagram`.
    """
    from tum2000.meanfield.reduced import loop_gain_maximum

    here = loop_gain_maximum(params)
    g_values = np.asarray(gains["gain"].values, float)
    w_values = np.asarray(gains["I_b_spread_mV"].values, float)
    lif = (f"Over spreads w = {w_values.min():g}-{w_values.max():g} mV the largest gain "
           f"is {g_values.min():.3f}-{g_values.max():.3f}: "
           + ("this model never folds, whatever the coupling; deterministic, it sits in its "
              "quiet state for ever, and only noise can make it fire."
              if g_values.max() < 1 else "at some spread it reaches 1 and the model folds."))
    osc = np.asarray(diagram["oscillates"].values) == 1
    n_points = int(osc.size)
    a0, w0 = float(params["EE_A_mV"]), float(params["I_b_spread_mV"])
    at_default = ""
    if a0 in diagram["EE_A_mV"].values and w0 in diagram["I_b_spread_mV"].values:
        point = diagram.sel(EE_A_mV=a0, I_b_spread_mV=w0)
        if int(point["oscillates"]) == 1:
            at_default = (f" At the network's coupling ({a0:g} mV) and spread ({w0:g} mV) it "
                          f"fires every {float(point['period_ms']):.0f} ms, at x = "
                          f"{float(point['x_before']):.2f}, falling to "
                          f"{float(point['x_after']):.2f}.")
        else:
            at_default = (f" At the network's coupling ({a0:g} mV) and spread ({w0:g} mV) it "
                          f"does not: its quiet state is stable there (fold of the one-x "
                          f"model at x = {float(point['x_c']):.2f}).")
    tl = (f"Deterministic limit cycles at {int(osc.sum())} of the {n_points} points scanned."
          + at_default)
    return {"why_g": f"{float(diagram.attrs['tl_gain_hz_per_mV']):.1f}",
            "why_tl_xc": f"{default_fold(params):.2f}",
            "why_lif_gain": f"{here.gain:.3f}", "why_lif_s": f"{here.s_mV:.2f}",
            "why_lif_sentence": lif, "why_tl_sentence": tl}


# --- the hazard experiment ------------------------------------------------------------------------

def seed_range(seeds: Sequence[int]) -> str:
    """"21-28" for consecutive seeds, else a comma-separated list."""
    s = sorted(int(v) for v in seeds)
    if s and s == list(range(s[0], s[-1] + 1)) and len(s) > 2:
        return f"{s[0]}-{s[-1]}"
    return ", ".join(str(v) for v in s)


MIN_BIN_EXPOSURE_S = 5.0
"""Bins of x with less time at risk (s) are left out of the shape of the hazard."""


def hazard_shape(rate: xr.Dataset) -> str:
    """Where the hazard peaks and whether it falls again at the highest x reached."""
    ok = np.asarray(rate["exposure_s"].values) >= MIN_BIN_EXPOSURE_S
    if float(np.nansum(rate["events"].values)) == 0:
        return "There were no population spikes to measure a hazard from."
    if not ok.any():
        return (f"No bin of x held the network for {MIN_BIN_EXPOSURE_S:g} s or more: too "
                "little time to give the hazard a shape.")
    sub = rate.isel(x=np.flatnonzero(ok))
    h = np.asarray(sub["hazard_hz"].values, float)
    k = int(np.nanargmax(h))
    peak = sub.isel(x=k)
    top = sub.isel(x=-1)
    text = (f"The hazard is largest at x = {float(peak['x_low']):.2f}-{float(peak['x_high']):.2f} "
            f"({float(peak['hazard_hz']):.2f} per s, 95 % CI "
            f"{float(peak['hazard_low_hz']):.2f}-{float(peak['hazard_high_hz']):.2f})")
    if k < sub.sizes["x"] - 1 and float(top["hazard_high_hz"]) < float(peak["hazard_low_hz"]):
        text += (f" and lower at the highest x the networks reached "
                 f"({float(top['x_low']):.2f}-{float(top['x_high']):.2f}: "
                 f"{float(top['hazard_hz']):.2f} per s, at most "
                 f"{float(top['hazard_high_hz']):.2f}): a hazard that falls again is no "
                 "threshold, and not a function of x alone (the exercise below asks why).")
    else:
        text += "."
    return text


def hazard_glue(study, verdict_hazard: Verdict, verdict_interval: Verdict) -> dict[str, Any]:
    """The hazard experiment's glue values (``study``: a
    :class:`tum2000.sweeps.scenarios.HazardStudy`)."""
    xb = study.x_before
    return {"why_hz_runs": len(study.seeds), "why_hz_seeds": seed_range(study.seeds),
            "why_hz_duration": f"{study.recorded_s / max(len(study.seeds), 1):.0f}",
            "why_hz_events": study.n_events,
            "why_hz_onset": f"{np.floor(100 * xb.min()) / 100:.2f}" if xb.size else "(none)",
            "why_hz_sentence": verdict_hazard.text[0].upper() + verdict_hazard.text[1:],
            "why_iv_sentence": verdict_interval.text,
            "why_hz_shape": hazard_shape(study.rate)}


# --- the evoked experiment ------------------------------------------------------------------------

EVOKED_MIN_MV = 0.125
"""A threshold pulse this small (two bisection steps of 0.0625 mV, a 5 ms
pulse moving the membrane by ~0.02 mV) counts as 'almost nothing': under a
fold the needed pulse shrinks to zero near x_c."""


def evoked_verdict(evoked: xr.Dataset) -> Verdict:
    """How the smallest evoking pulse changes with x at the pulse (``evoked``:
    :func:`tum2000.sweeps.scenarios.evoked_study`)."""
    thr = np.asarray(evoked["threshold_mV"].values, float).ravel()
    x = np.asarray(evoked["x_at_pulse"].values, float).ravel()
    tried = np.isfinite(x)
    found = tried & np.isfinite(thr)
    n = int(tried.sum())
    if not found.any():
        return Verdict(f"no pulse up to the largest amplitude tried evoked a population spike "
                       f"({n} pulse times)", n, None, None)
    if int(found.sum()) < MIN_PULSE_TIMES:
        return Verdict(f"a threshold was found at {int(found.sum())} pulse time(s) only: too "
                       "few to say how it changes with x", int(found.sum()), None, None)
    order = np.argsort(x[found])
    xs, ts = x[found][order], thr[found][order]
    slope = float(np.polyfit(xs, ts, 1)[0]) if xs.size > 1 and np.ptp(xs) > 0 else math.nan
    text = (f"over {int(found.sum())} pulse times (x from {xs[0]:.2f} to {xs[-1]:.2f}) the "
            f"smallest evoking pulse goes from {ts[0]:.2f} mV to {ts[-1]:.2f} mV"
            + (f" (a straight line through them: {slope:.1f} mV per unit x)"
               if math.isfinite(slope) else ""))
    if ts.min() >= EVOKED_MIN_MV:
        return Verdict(text + "; it stays finite at every x tested, as for a stable quiet "
                       "state that an escape has to leave", int(found.sum()), None, True)
    return Verdict(text + f"; near x = {xs[np.argmin(ts)]:.2f} almost no pulse is needed, as "
                   "close to a fold", int(found.sum()), None, False)


# --- the size experiment --------------------------------------------------------------------------

def size_table(sizes: xr.Dataset):
    """Full-PS rate, x before a PS and participation against N, per spread (mean
    and 95 % CI over seeds)."""
    import pandas as pd

    from tum2000.chapters.tables import readable

    rows = []
    for w in sizes["I_b_spread_mV"].values:
        for n_exc in sizes["N_exc"].values:
            point = sizes.sel(I_b_spread_mV=w, N_exc=n_exc)
            n_total = int(n_exc) + int(point["N_inh"])
            rate = Estimate.of(point["full_ps_rate_hz"].values)
            row = {"spread w (mV)": float(w), "N": n_total, "seeds": rate.n,
                   "full PS per s": rate.text("{:.2f}"),
                   "x before a PS": Estimate.of(point["full_x_before_mean"].values).text("{:.3f}"),
                   "participation": Estimate.of(point["full_participation_mean"].values
                                                ).text("{:.2f}")}
            rows.append(row)
    return readable(pd.DataFrame(rows).set_index(["spread w (mV)", "N"]))


def falls_with_size(smallest: Estimate, largest: Estimate) -> bool:
    """Whether a rate falls with N: the interval at the largest N lies below the
    mean at the smallest (an undefined interval never falls)."""
    return largest.defined and largest.high < smallest.mean


def size_glue(sizes: xr.Dataset) -> dict[str, str]:
    """Whether the full-PS rate falls with N at each spread (its CI at the largest
    N below the mean at the smallest)."""
    parts = []
    n_values = [int(n) + int(sizes["N_inh"].sel(N_exc=n)) for n in sizes["N_exc"].values]
    for w in sizes["I_b_spread_mV"].values:
        ests = [Estimate.of(sizes["full_ps_rate_hz"].sel(I_b_spread_mV=w, N_exc=n).values)
                for n in sizes["N_exc"].values]
        means = ", ".join(f"{e.mean:.2f}" for e in ests)
        falls = falls_with_size(ests[0], ests[-1])
        parts.append(f"at w = {float(w):g} mV {'it falls' if falls else 'it does not fall'} "
                     f"({means} per s at N = " + ", ".join(str(n) for n in n_values) + ")")
    text = "; ".join(parts)
    return {"why_sz_sentence": text + ".",
            "why_sz_seeds": str(sizes.sizes["seed"]),
            "why_sz_duration": f"{json_duration_s(sizes):g}"}


def json_duration_s(sweep: xr.Dataset) -> float:
    """Recorded time of a stored sweep's runs (s), from its base parameters."""
    import json

    return float(json.loads(sweep.attrs["base_parameters"])["duration_ms"]) / 1000.0


__all__ = ["ESCAPE_WAIT_MS", "EVOKED_MIN_MV", "LOCKED_COINCIDENCE", "MIN_BIN_EXPOSURE_S",
           "MIN_COINCIDENCE_EVENTS", "MIN_PULSE_TIMES",
           "RANDOM_GIVEN_X_R2", "SET_BY_X_R2", "THRESHOLD_WAIT_MS", "conclusion",
           "default_fold", "falls_with_size",
           "evoked_verdict", "hazard_glue", "hazard_shape", "hazard_table", "hazard_verdict",
           "initial_state_verdict", "json_duration_s", "model_glue", "predictability_verdict",
           "scenario_verdict", "seed_range", "size_glue", "size_table", "wait_estimate"]
