"""Values and text of the population-density page (``book/density.ipynb``).

The page runs :func:`tum2000.meanfield.density.simulate_density` without and
with a brief pulse and compares the evoked population spike with the
network's full population spikes. Everything it states is computed here.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from tum2000.chapters.tables import Estimate, Verdict, readable


def fwhm_ms(values: np.ndarray, step_ms: float) -> float:
    """Full width at half maximum of a bump, the network's definition: the
    contiguous samples around the peak at or above half of it, times the step."""
    v = np.asarray(values, float)
    if v.size == 0 or not np.isfinite(v).any() or np.nanmax(v) <= 0:
        return math.nan
    k = int(np.nanargmax(v))
    half = v[k] / 2.0
    lo = k
    while lo > 0 and v[lo - 1] >= half:
        lo -= 1
    hi = k
    while hi < v.size - 1 and v[hi + 1] >= half:
        hi += 1
    return (hi - lo + 1) * step_ms


def model_event(ds: xr.Dataset) -> dict[str, float]:
    """The first full population spike of a density-model run: width (FWHM of
    the activity of all neurons, ms), excitatory participation, x before and
    after, its onset (ms, the dataset's time axis); NaN without one. Also the
    number of full events."""
    from tum2000.meanfield.bifurcation import rate_model_events

    ev = rate_model_events(ds)
    full = np.flatnonzero(ev["full"] & ev["whole"])
    out = {"n_full": float(full.size), "width_ms": math.nan, "participation": math.nan,
           "x_before": math.nan, "x_after": math.nan, "onset_ms": math.nan}
    if full.size:
        k = int(full[0])
        t = ds["time"].values
        step = float(t[1] - t[0])
        window = (t >= ev["onset_ms"][k] - 10.0) & (t <= ev["offset_ms"][k] + 10.0)
        out.update(width_ms=fwhm_ms(ds["rate"].sel(population="all").values[window], step),
                   participation=float(ev["participation"][k]),
                   x_before=float(ev["x_before"][k]), x_after=float(ev["x_after"][k]),
                   onset_ms=float(ev["onset_ms"][k]))
    return out


NETWORK_STATISTICS: dict[str, str] = {
    "width_ms": "full_width_ms_mean", "participation": "full_participation_mean",
    "x_before": "full_x_before_mean", "x_after": "full_x_after_mean"}
"""Per-run statistics (:func:`tum2000.analysis.statistics.run_statistics`) of the
network's full population spikes that the model's event is compared with."""


def comparison_table(model: dict[float, dict[str, float]],
                     network: dict[float, Sequence[dict[str, float]]]):
    """Model event against the network's full population spikes (mean over seeds,
    95 % CI), one row per spread and quantity."""
    rows = []
    labels = {"width_ms": "width (ms)", "participation": "participation",
              "x_before": "x before", "x_after": "x after"}
    for w in model:
        runs = network[w]
        for key, name in NETWORK_STATISTICS.items():
            est = Estimate.of([r[name] for r in runs])
            value = model[w][key]
            rows.append({"spread w (mV)": w, "quantity": labels[key],
                         "density model": "none" if not np.isfinite(value) else
                         f"{value:.3f}", "network": est.text("{:.3f}"),
                         "inside the network's CI": (est.defined
                                                     and est.low <= value <= est.high)})
    frame = pd.DataFrame(rows)
    frame["inside the network's CI"] = frame["inside the network's CI"].map(
        {True: "yes", False: "no"})
    return readable(frame.set_index(["spread w (mV)", "quantity"]))


def agreement_verdict(model: dict[float, dict[str, float]],
                      network: dict[float, Sequence[dict[str, float]]]) -> Verdict:
    """How many of the compared quantities fall inside the network's 95 % CI."""
    inside = total = events = 0
    for w in model:
        runs = network[w]
        events += int(sum(r.get("full_ps_count", 0) for r in runs))
        for key, name in NETWORK_STATISTICS.items():
            est = Estimate.of([r[name] for r in runs])
            if est.defined and np.isfinite(model[w][key]):
                total += 1
                inside += int(est.low <= model[w][key] <= est.high)
    return Verdict(f"{inside} of {total} quantities inside the network's 95 % confidence "
                   f"interval ({events} network population spikes behind them)", events, None,
                   inside == total if total else None)


def fixed_point_sentence(quiet: dict[float, dict[str, Any]]) -> str:
    """What the model does without a pulse, per spread."""
    parts = []
    for w, q in quiet.items():
        if q["n_full"]:
            parts.append(f"at w = {w:g} mV it fires {int(q['n_full'])} population spike(s) "
                         f"in {q['duration_s']:g} s on its own")
        else:
            parts.append(f"at w = {w:g} mV it settles at {q['rate_exc_hz']:.2f} Hz "
                         f"(excitatory) with x = {q['x']:.3f} and fires no population spike "
                         f"in {q['duration_s']:g} s")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


__all__ = ["BURN_IN_MS", "NETWORK_STATISTICS", "agreement_verdict", "network_events", "probe", "comparison_table", "delay_sentence",
           "excitable_sentence", "pulse_sentence",
           "sources_sentence",
           "fixed_point_sentence", "fwhm_ms", "model_event"]


def sources_sentence(sources: dict[float, Sequence[int]]) -> str:
    """"at w = 1 mV seeds 21-28, at w = 0.5 mV seeds 101-110"."""
    from tum2000.chapters.scenarios import seed_range

    return ", ".join(f"at w = {w:g} mV seeds {seed_range(s)}" for w, s in sources.items())


def excitable_sentence(quiet: dict[float, dict[str, Any]],
                       pulses: dict[float, tuple[float, float]]) -> str:
    """What the runs show about the model's quiet state: excitable (no event
    without a push, a full one with a finite pulse), oscillating, or neither."""
    silent = all(q["n_full"] == 0 for q in quiet.values())
    evoked = all(math.isfinite(a) for a, _ in pulses.values())
    if silent and evoked:
        return ("The model's population spike is the excursion of an excitable quiet "
                "state: stable without a push, all-or-none with one.")
    if not silent:
        return ("The model fires population spikes without any push at "
                + ", ".join(f"w = {w:g} mV" for w, q in quiet.items() if q["n_full"])
                + ": there its quiet state is not stable.")
    return ("The model's quiet state is stable, and no pulse tried evokes a population "
            "spike at " + ", ".join(f"w = {w:g} mV" for w, (a, _) in pulses.items()
                                    if not math.isfinite(a)) + ".")


def delay_sentence(model: dict[float, dict[str, float]], pulse_at_ms: float) -> str:
    """When the evoked spike starts, after the pulse, per spread."""
    parts = [f"{m['onset_ms'] - pulse_at_ms:.0f} ms after the pulse at w = {w:g} mV"
             for w, m in model.items() if np.isfinite(m["onset_ms"])]
    if not parts:
        return "No pulse evoked a population spike."
    return "The evoked spike starts " + ", ".join(parts) + "."


def pulse_sentence(pulses: dict[float, tuple[float, float]], pulse_ms: float) -> str:
    """The bracket of the smallest evoking pulse per spread, in words."""
    parts = []
    for w, (amplitude, failing) in pulses.items():
        if math.isfinite(amplitude) and failing == 0.0:
            parts.append(f"at w = {w:g} mV it is at most {amplitude:g} mV for {pulse_ms:g} ms "
                         "(the smallest pulse tried already evokes one: the quiet state sits "
                         "at the edge)")
        elif math.isfinite(amplitude):
            parts.append(f"at w = {w:g} mV it lies between {failing:.3f} and {amplitude:.3f} "
                         f"mV for {pulse_ms:g} ms")
        else:
            parts.append(f"at w = {w:g} mV no pulse up to {failing:g} mV evokes one")
    return "The smallest evoking pulse: " + "; ".join(parts) + "."


BURN_IN_MS = 1000.0
"""Model time before the page's settling period (ms): the start-up volley dies out."""


def probe(params, spreads_mV: Sequence[float], *, pulse_ms: float, settle_ms: float,
          halvings: int) -> tuple[dict, dict, dict, dict]:
    """The density model at each spread: its run at the smallest evoking pulse
    (or the quiet run when none evokes), its quiet state before the pulse, the
    evoked event (:func:`model_event`) and the pulse bracket (evoking, failing).
    Returns (runs, quiet, model, pulses), each keyed by the spread (mV)."""
    from tum2000.meanfield.density import simulate_density, smallest_evoking_pulse

    runs, quiet, model, pulses = {}, {}, {}, {}
    for w in spreads_mV:
        p = params.replace(I_b_spread_mV=w, burn_in_ms=BURN_IN_MS)
        amplitude, failing, ds = smallest_evoking_pulse(p, pulse_ms=pulse_ms,
                                                        settle_ms=settle_ms, halvings=halvings)
        if ds is None:   # nothing evoked: the quiet run
            ds = simulate_density(p.replace(duration_ms=settle_ms + 300.0))
        runs[w], pulses[w] = ds, (amplitude, failing)
        before = ds.sel(time=slice(0.0, settle_ms - 1.0))
        quiet[w] = {"n_full": model_event(before)["n_full"],
                    "rate_exc_hz": float(before["rate"].sel(population="exc")[-1]),
                    "x": float(before["recovered"].sel(pathway="EE")[-1]),
                    "duration_s": settle_ms / 1000.0}
        model[w] = model_event(ds.sel(time=slice(settle_ms - 1.0, None)))
    return runs, quiet, model, pulses


def network_events(params, spreads_mV: Sequence[float], progress: bool = False
                   ) -> tuple[dict[float, list[dict[str, float]]], dict[float, Sequence[int]]]:
    """The network's per-seed statistics of full population spikes at each
    spread: the stored held-out runs where the spread is one of their points,
    else the hazard experiment's 60 s runs (dataset cache). Returns
    (statistics per seed, seeds), keyed by the spread."""
    from tum2000.analysis.statistics import run_statistics
    from tum2000.store.stored import data_dir
    from tum2000.sweeps import held_out, scenarios
    from tum2000.sweeps.run import simulate_many

    stored = xr.load_dataset(data_dir() / f"{held_out.NAME}.nc")
    names = (*NETWORK_STATISTICS.values(), "full_ps_count")
    network, sources = {}, {}
    for w in spreads_mV:
        k = held_out.index_of(params.replace(I_b_spread_mV=w))
        if k is not None:
            network[w], sources[w] = held_out.per_seed(stored, k, names), held_out.SEEDS
        else:
            sources[w] = scenarios.STUDY_SEEDS
            runs = simulate_many([(params.replace(I_b_spread_mV=w, duration_ms=60000.0), s)
                                  for s in sources[w]], progress=progress)
            network[w] = [run_statistics(d) for d in runs]
    return network, sources
