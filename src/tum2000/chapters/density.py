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


__all__ = ["BURN_IN_MS", "CURVE_HALVINGS", "KICK_MV", "NETWORK_STATISTICS", "agreement_verdict", "comparison_table",
           "delay_sentence", "edge_sentence", "excitable_sentence", "fixed_point_sentence",
           "fwhm_ms", "model_event", "network_events", "network_thresholds", "pooled_rate",
           "pooled_text",
           "probe", "pulse_sentence", "size_comparison_table", "size_verdict",
           "sources_sentence", "threshold_pairs", "threshold_ratio", "threshold_verdict"]


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

KICK_MV = 2.0
"""The pulse that sets off the model's population spike before its evoked
experiment (mV for the probing pulse's length): ten times the smallest
evoking pulse at the default spread, so the kicked spike is a full one."""

CURVE_HALVINGS = 8
"""Bisection steps of the model's evoked threshold over the network's range
(0-4 mV): 4/2^8 = 0.016 mV, four times finer than the network's 6 steps;
a model trial costs about 0.3 s."""


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


# --- the full-PS rate against N at a fixed in-degree ------------------------------------


def pooled_rate(sizes: xr.Dataset, spread_mV: float, n_exc: int) -> Estimate:
    """Full PS per second of one model point, pooled over its noise seeds, with
    the exact (Garwood) 95 % Poisson interval; ``n`` is the number of PS."""
    from tum2000.analysis.hazard import poisson_interval

    point = sizes.sel(I_b_spread_mV=spread_mV, N_exc=n_exc)
    count = float(point["full_ps_count"].sum())
    exposure = float(point["duration_s"].sum())
    low, high = poisson_interval(np.array(count), np.array(exposure))
    return Estimate(count / exposure, float(low), float(high), int(count))


def pooled_text(estimate: Estimate) -> str:
    """A :func:`pooled_rate` in words; a count of 0 still has its interval."""
    return (f"{estimate.mean:.2f} (95 % CI {estimate.low:.2f}–{estimate.high:.2f}, "
            f"n = {estimate.n})")


def _network_rate(sizes: xr.Dataset, spread_mV: float, n_exc: int) -> Estimate:
    return Estimate.of(sizes["full_ps_rate_hz"].sel(I_b_spread_mV=spread_mV,
                                                    N_exc=n_exc).values)


def _size_points(model: xr.Dataset, network: xr.Dataset):
    """(spread, N_exc, N) of the points both datasets hold."""
    spreads = [float(w) for w in model["I_b_spread_mV"].values
               if float(w) in set(map(float, network["I_b_spread_mV"].values))]
    n_exc = [int(n) for n in model["N_exc"].values if int(n) in set(map(int, network["N_exc"].values))]
    return [(w, n, n + int(model["N_inh"].sel(N_exc=n))) for w in spreads for n in n_exc]


def size_comparison_table(model: xr.Dataset, network: xr.Dataset):
    """Full PS per second against N at a fixed in-degree: the density model
    (pooled over its noise seeds, Poisson 95 % CI, n = PS) and the network
    (mean over seeds, 95 % CI, n = seeds), and whether the model falls inside."""
    rows = []
    for w, n_exc, n_total in _size_points(model, network):
        m, net = pooled_rate(model, w, n_exc), _network_rate(network, w, n_exc)
        rows.append({"spread w (mV)": w, "N": n_total,
                     "density model (n = PS)": pooled_text(m),
                     "network (n = seeds)": net.text("{:.2f}"),
                     "inside the network's CI": "yes" if net.defined and net.low <= m.mean
                     <= net.high else "no",
                     "model x before a PS": Estimate.of(model["full_x_before_mean"].sel(
                         I_b_spread_mV=w, N_exc=n_exc).values).text("{:.3f}", "no PS"),
                     "network x before a PS": Estimate.of(network["full_x_before_mean"].sel(
                         I_b_spread_mV=w, N_exc=n_exc).values).text("{:.3f}", "no PS")})
    return readable(pd.DataFrame(rows).set_index(["spread w (mV)", "N"]))


def size_verdict(model: xr.Dataset, network: xr.Dataset) -> Verdict:
    """Whether the model's full-PS rate falls with N where the network's does
    (:func:`tum2000.chapters.scenarios.falls_with_size` on both), and at how
    many points it lies inside the network's CI. ``holds``: the trend agrees
    at every spread."""
    from tum2000.chapters.scenarios import falls_with_size

    points = _size_points(model, network)
    spreads = sorted({w for w, _, _ in points})
    agree, parts = 0, []
    for w in spreads:
        n_exc = [n for v, n, _ in points if v == w]
        m = falls_with_size(pooled_rate(model, w, n_exc[0]), pooled_rate(model, w, n_exc[-1]))
        net = falls_with_size(_network_rate(network, w, n_exc[0]),
                              _network_rate(network, w, n_exc[-1]))
        agree += int(m == net)
        word = {True: "falls", False: "does not fall"}
        parts.append(f"at w = {w:g} mV the model's rate {word[m]} and the network's "
                     f"{word[net]}")
    inside = 0
    for w, n, _ in points:
        net = _network_rate(network, w, n)
        inside += int(net.defined and net.low <= pooled_rate(model, w, n).mean <= net.high)
    events = int(model["full_ps_count"].sum())
    text = (f"{'; '.join(parts)}: the trend agrees at {agree} of {len(spreads)} spreads, and "
            f"the model's rate lies inside the network's 95 % confidence interval at "
            f"{inside} of {len(points)} points ({events} model population spikes)")
    return Verdict(text, events, None, agree == len(spreads) if spreads else None)


def edge_sentence(pulses: dict[float, tuple[float, float]], model: xr.Dataset,
                  pulse_ms: float) -> str:
    """Why a rate does or does not fall with N, from the distance of the quiet
    state to a population spike (the smallest evoking pulse of :func:`probe`)
    and the model's size series, per spread both hold."""
    parts = []
    n_exc = [int(n) for n in model["N_exc"].values]
    n_total = [n + int(model["N_inh"].sel(N_exc=n)) for n in n_exc]
    for w, (amplitude, _) in sorted(pulses.items()):
        if w not in set(map(float, model["I_b_spread_mV"].values)) or not math.isfinite(amplitude):
            continue
        rates = [pooled_rate(model, w, n).mean for n in n_exc]
        parts.append(f"at w = {w:g} mV a pulse of {amplitude:.3g} mV for {pulse_ms:g} ms is enough, and "
                     f"the model fires {rates[0]:.2f} full population spikes per s at "
                     f"N = {n_total[0]:,} and {rates[-1]:.2f} at N = {n_total[-1]:,}")
    if not parts:
        return ""
    return ("How far the quiet state is from a population spike decides how much the "
            "population's own fluctuations matter: " + "; ".join(parts) + ".")


# --- the evoked threshold against x -----------------------------------------------------


def network_thresholds(params, seeds: Sequence[int], delays_ms: Sequence[float],
                       n_events: int, duration_ms: float) -> list[xr.Dataset]:
    """The network's evoked experiment (:func:`tum2000.sweeps.scenarios.evoked_study`)
    on each seed, runs of ``duration_ms``."""
    from tum2000.sweeps import scenarios

    return [scenarios.evoked_study(params.replace(duration_ms=float(duration_ms)), int(s),
                                   delays_ms, n_events=n_events) for s in seeds]


def threshold_pairs(curve: xr.Dataset, network: Sequence[xr.Dataset]) -> pd.DataFrame:
    """One row per network pulse with a threshold: its seed, x at the pulse, the
    network's bracket (failing, evoking; mV) and the model's threshold at the
    same x (linear interpolation of the model's curve; NaN outside its x range)."""
    ok = np.isfinite(curve["threshold_mV"].values) & np.isfinite(curve["x_at_pulse"].values)
    xs = curve["x_at_pulse"].values[ok]
    order = np.argsort(xs)
    xs, ths = xs[order], curve["threshold_mV"].values[ok][order]
    rows = []
    for study in network:
        x = study["x_at_pulse"].values.ravel()
        thr = study["threshold_mV"].values.ravel()
        fail = study["failing_mV"].values.ravel()
        for xi, ti, fi in zip(x, thr, fail):
            if not (np.isfinite(xi) and np.isfinite(ti)):
                continue
            inside = xs.size >= 2 and xs[0] <= xi <= xs[-1]
            rows.append({"seed": int(study.attrs["seed"]), "x": float(xi),
                         "network failing (mV)": float(fi), "network evoking (mV)": float(ti),
                         "model (mV)": float(np.interp(xi, xs, ths)) if inside else math.nan})
    columns = ["seed", "x", "network failing (mV)", "network evoking (mV)", "model (mV)"]
    # typed columns also without rows (no network pulse had a threshold)
    return pd.DataFrame(rows, columns=columns).astype(
        {name: (int if name == "seed" else float) for name in columns})


def threshold_ratio(pairs: pd.DataFrame) -> Estimate:
    """The model's threshold over the network's (the middle of its bracket) at the
    same x: the geometric mean over seeds of each seed's mean log ratio, with
    the 95 % CI over seeds (``n`` = seeds)."""
    usable = pairs[np.isfinite(pairs["model (mV)"])]
    network = 0.5 * (usable["network failing (mV)"] + usable["network evoking (mV)"])
    logs = np.log(usable["model (mV)"] / network).groupby(usable["seed"]).mean()
    est = Estimate.of(logs.values)
    return Estimate(*(float(np.exp(v)) for v in (est.mean, est.low, est.high)), est.n) \
        if est.n else est


def threshold_verdict(curve: xr.Dataset, pairs: pd.DataFrame) -> Verdict:
    """How the model's evoked threshold compares with the network's over x:
    both fall with x or not (the threshold at the highest x below the one at
    the lowest), and the ratio model/network with its CI. ``holds``: the ratio's
    CI contains 1."""
    from tum2000.chapters.scenarios import seed_range

    usable = pairs[np.isfinite(pairs["model (mV)"])]
    n_pulses = int(len(usable))
    if n_pulses < 2 or usable["seed"].nunique() < 2:
        return Verdict(f"too few network pulses inside the model's range of x to compare "
                       f"({n_pulses})", n_pulses, None, None)
    ratio = threshold_ratio(pairs)
    ok = np.isfinite(curve["threshold_mV"].values)
    t_model = curve["threshold_mV"].values[ok]
    x_model = curve["x_at_pulse"].values[ok]
    lo_x, hi_x = float(x_model.min()), float(x_model.max())
    holds = ratio.defined and ratio.low <= 1.0 <= ratio.high
    relation = ("the same as the network's within the interval" if holds else
                "below the network's" if ratio.high < 1.0 else "above the network's")
    return Verdict(
        f"the model's smallest evoking pulse goes from {t_model[np.argmin(x_model)]:.2f} mV "
        f"at x = {lo_x:.2f} to {t_model[np.argmax(x_model)]:.2f} mV at x = {hi_x:.2f}; at the "
        f"network's {n_pulses} pulses (seeds {seed_range(usable['seed'].unique())}) "
        f"it is {ratio.mean:.2f} times the network's (95 % CI {ratio.low:.2f}-{ratio.high:.2f} "
        f"over {ratio.n} seeds): {relation}",
        n_pulses, ratio, holds)
