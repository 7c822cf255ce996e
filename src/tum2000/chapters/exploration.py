"""Values and text of the exploration chapter (``book/exploration.ipynb``).

Every number and verdict the page glues into its prose is computed here, from
the sweeps (:func:`tum2000.sweeps.run.run_sweep` datasets with a ``seed``
dimension) to floats, :class:`Totals`, :class:`~tum2000.chapters.tables.Verdict`
and strings; the notebook only glues them. The ``*_glue`` functions return the
glued values of one section of the page by glue name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from tum2000.analysis.statistics import over_seeds
from tum2000.chapters.tables import MISSING, UNDEFINED, Estimate, Verdict, value_or_undefined
from tum2000.sweeps.bounds import duration_text
from tum2000.sweeps.stored import FileCheck, regenerate_command


def stored_data_box(check: FileCheck) -> str:
    """A MyST warning box for a page whose stored data did not verify: which
    file, why, that the page draws it as stored, and the command that
    regenerates it."""
    return (f"```{{warning}}\n**The stored data `book/data/{check.path.name}` did not "
            f"verify against this code**: {check.reason()}. The figures and numbers "
            f"below are drawn from the file as it is stored. To make it anew, run "
            f"`{regenerate_command(check.name)}` in the book's folder"
            + (f" (it took {duration_text(check.made_in_s)} when it was made)"
               if check.made_in_s == check.made_in_s else "") + ".\n```")


def stored_check_table(checks: Mapping[str, FileCheck | None]) -> pd.DataFrame:
    """One row per recomputed point of every stored sweep the page read: the
    point, whether its spikes are the same to the last bit, how many
    statistics were compared, the largest relative deviation among them and
    whether all are within tolerance. A sweep computed in this build (not
    stored) gets one row saying so."""
    rows = []
    for name, check in checks.items():
        if check is None:
            rows.append({"sweep": name, "source": "computed in this build",
                         "point recomputed": "", "spikes": "", "statistics": "",
                         "largest deviation": "", "verdict": ""})
            continue
        source = f"book/data/{check.path.name}"
        if check.problem or not check.points:
            rows.append({"sweep": name, "source": source,
                         "point recomputed": "none cheap enough" if not check.problem else "",
                         "spikes": "", "statistics": "", "largest deviation": "",
                         "verdict": "verified" if check.verified else check.problem})
            continue
        for point in check.points:
            largest = max((d.relative for d in point.deviations), default=0.0)
            rows.append({
                "sweep": name, "source": source, "point recomputed": point.label,
                "spikes": "differ" if "spikes" in point.fingerprint_differs
                else "bit-identical",
                "statistics": len(point.deviations),
                "largest deviation": f"{largest:.1e}" if largest else "0 (identical)",
                "verdict": "within tolerance" if point.agrees else point.describe()})
    return pd.DataFrame(rows).set_index("sweep")


def regenerate_commands(checks: Mapping[str, FileCheck | None]) -> list[str]:
    """The command that regenerates each stored sweep the page read."""
    return [regenerate_command(name) for name, check in checks.items() if check is not None]





# --- small helpers --------------------------------------------------------------------------

NO_EVENT = "none (no event)"
"""What :func:`change` says of a per-event statistic where no seed had an event."""


def fmt(value: float, digits: int = 2, missing: str = UNDEFINED) -> str:
    """``value`` with ``digits`` decimals, or ``missing`` when it is NaN."""
    return value_or_undefined(value, f"{{:.{digits}f}}", undefined=missing)


def listing(values: Iterable[float], digits: int = 2, missing: str = UNDEFINED) -> str:
    """Comma-separated :func:`fmt` of each value ("" when there is none), with
    ``missing`` for a value that is not defined."""
    return ", ".join(fmt(v, digits, missing) for v in values)


def sizes_text(sizes: Iterable[int]) -> str:
    """Network sizes with thousands separators, comma-separated: "2,000, 5,000"."""
    return ", ".join(f"{n:,}" for n in sizes)


def nearest(values: Sequence[float], target: float) -> float:
    """The element of ``values`` closest to ``target`` (the first of a tie)."""
    return min(values, key=lambda v: abs(v - target))


def mean_sem(ds: xr.Dataset, name: str, **where: Any) -> tuple[float, float, int]:
    """(mean over seeds, its standard error, seeds with a value) of ``ds[name]``
    at the point ``where`` (same unit as the variable; the s.e. is NaN with
    fewer than two seeds)."""
    stats = over_seeds(ds[name].sel(**where) if where else ds[name])
    return float(stats["mean"]), float(stats["sem"]), int(stats["n"])


def estimate(ds: xr.Dataset, name: str, **where: Any) -> Estimate:
    """The mean over seeds of ``ds[name]`` at ``where`` with its 95 % Student-t
    interval (:class:`~tum2000.chapters.tables.Estimate`; seeds without a value
    left out)."""
    return Estimate.of((ds[name].sel(**where) if where else ds[name]).values)


def mean_sem_table(ds: xr.Dataset, dim: str, label: str,
                   columns: Sequence[tuple[str, str, int]],
                   extra: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Mean ± standard error over seeds of each sweep statistic, one row per
    value of ``dim`` (index named ``label``). ``columns``: (statistic, title,
    decimals); ``extra``: columns given as they are. A value with one seed
    shows its mean alone, a value without any shows :data:`tables.MISSING`."""
    rows: dict[str, Any] = dict(extra or {})
    for name, title, digits in columns:
        stats = over_seeds(ds[name])
        rows[title] = [f"{m:.{digits}f} ± {s:.{digits}f}" if np.isfinite(s) else
                       (f"{m:.{digits}f}" if np.isfinite(m) else MISSING)
                       for m, s in zip(stats["mean"].values, stats["sem"].values)]
    return pd.DataFrame(rows, index=pd.Index(ds[dim].values, name=label))


def ends(values: xr.DataArray) -> tuple[float, float]:
    """The mean over seeds at the first and at the last point (along the one
    remaining dimension) where it is defined; (NaN, NaN) with fewer than two
    such points."""
    mean = over_seeds(values)["mean"].values
    ok = np.flatnonzero(np.isfinite(mean))
    return (float(mean[ok[0]]), float(mean[ok[-1]])) if ok.size >= 2 else (np.nan, np.nan)


def change(values: xr.DataArray, dim: str, digits: int = 2, unit: str = "") -> str:
    """"from a at first to b at last": the mean over seeds of ``values`` at the
    first and the last value of ``dim``, followed by ``unit`` (the values'
    unit, if any); "none (no event)" where no seed has a value (a per-event
    statistic at a point without events). The caller adds ``dim``'s unit."""
    stats = over_seeds(values)["mean"]
    first, last = values[dim].values[0], values[dim].values[-1]

    def at(point: Any) -> str:
        text = fmt(float(stats.sel({dim: point})), digits, NO_EVENT)
        return f"{text} {unit}" if unit and text != NO_EVENT else text

    return f"from {at(first)} at {first:g} to {at(last)} at {last:g}"


def log_log_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """The least-squares slope of log y against log x (an exponent: y ~ x^slope)."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def _within(a: float, a_se: float, b: float, b_se: float, k: float = 2.0) -> bool:
    """|a - b| within k combined standard errors (an undefined s.e. counts as 0)."""
    a_se = a_se if np.isfinite(a_se) else 0.0
    return bool(np.isfinite(a) and abs(a - b) <= k * np.hypot(a_se, b_se))


# --- events at one point of a sweep -------------------------------------------------------------

@dataclass(frozen=True)
class Totals:
    """Events of each kind summed over the seeds of one point of a sweep, and
    the seconds recorded in all of them (s)."""

    full: int
    partial: int
    sharp: int
    seconds: float

    @property
    def events(self) -> int:
        """Full and partial events together."""
        return self.full + self.partial

    @property
    def partial_share(self) -> float:
        """Fraction of the events that are partial (NaN without events)."""
        return self.partial / self.events if self.events else float("nan")

    @property
    def sharp_share(self) -> float:
        """Fraction of the full events that are sharp (NaN without full events)."""
        return self.sharp / self.full if self.full else float("nan")

    @property
    def sharp_rate_hz(self) -> float:
        """Sharp events per second of recording (Hz)."""
        return float(self.sharp) / self.seconds


def totals(ds: xr.Dataset, **where: Any) -> Totals:
    """:class:`Totals` of the point ``where`` of a sweep (``*_ps_count`` summed
    over seeds; seconds = ``duration_ms`` / 1000 times the seeds)."""
    point = ds.sel(**where)
    seconds = float(point["duration_ms"]) / 1000 * point.sizes["seed"]
    return Totals(*(int(point[f"{kind}_ps_count"].sum()) for kind in ("full", "partial", "sharp")),
                  seconds=seconds)


def like_fig1(t: Totals) -> Verdict:
    """Whether the events look like those of Fig. 1: full, mostly (at least half)
    sharp, and at most 10 % partial ones. ``holds`` is the answer, ``n`` the events."""
    holds = bool(t.full > 0 and t.sharp / t.full >= 0.5 and t.partial <= 0.1 * t.events)
    return Verdict("like Fig. 1" if holds else "unlike Fig. 1", t.events, holds=holds)


def small_spread_claim(t: Totals, largest: float) -> Verdict:
    """The reference script's claim that a tiny spread gives only partial events
    with a participation of at most about 0.4, judged on the events ``t`` with
    ``largest`` the largest participation (fraction of excitatory neurons)."""
    if t.events == 0:
        return Verdict("cannot be tested here: the network makes no event at all at this "
                       "spread", 0)
    if t.full == 0:
        return Verdict("holds: every event is partial"
                       + ("" if largest <= 0.45 else
                          ", although some reach a participation above 0.4"), t.events, holds=True)
    if t.partial_share >= 0.9:
        return Verdict("holds for most events, not for all: a few reach half of the excitatory "
                       "neurons or more", t.events, holds=True)
    return Verdict("does not hold: full events are common", t.events, holds=False)


def relative_reading(relative: Totals, small: Totals) -> tuple[Verdict, Verdict]:
    """(what the relative spread, 5 % of the threshold, looks like; whether the
    data single out that reading of the paper's "0.05" over 0.05 mV)."""
    rel, tiny = like_fig1(relative), like_fig1(small)
    reading = Verdict("the picture of Fig. 1: full, mostly sharp population spikes" if rel.holds
                      else "a picture that differs from Fig. 1 (few sharp full events)",
                      rel.n, holds=rel.holds)
    fits = bool(rel.holds and not tiny.holds)
    fit = Verdict("That the paper's \"0.05\" is this relative range (5 % of the threshold) "
                  "rather than 0.05 mV fits the data" if fits else
                  "These data do not single out the relative reading (5 % of the threshold) "
                  "over 0.05 mV", rel.n + tiny.n, holds=fits)
    return reading, fit


def compare_rates(a: tuple[float, float, int], b: tuple[float, float, int],
                  estimate: Estimate | None = None) -> Verdict:
    """Whether rate ``a`` is "more often", "less often" or "about as often" than
    ``b``: beyond two combined standard errors. ``a`` and ``b`` are
    :func:`mean_sem` triples (Hz); ``n`` is the seeds behind both; ``estimate``
    (e.g. ``a``'s :class:`~tum2000.chapters.tables.Estimate`) is carried along."""
    margin = 2 * np.hypot(a[1], b[1])
    text = ("more often" if a[0] > b[0] + margin else
            "less often" if a[0] < b[0] - margin else "about as often")
    return Verdict(text, a[2] + b[2], estimate, holds=text != "about as often")


def rate_comparison(spread: xr.Dataset, w: float, w_reference: float) -> Verdict:
    """:func:`compare_rates` of the full-event rate (Hz) at the spread ``w``
    against ``w_reference`` (mV), with the rate at ``w`` as an
    :class:`~tum2000.chapters.tables.Estimate` over seeds."""
    return compare_rates(mean_sem(spread, "full_ps_rate_hz", I_b_spread_mV=w),
                         mean_sem(spread, "full_ps_rate_hz", I_b_spread_mV=w_reference),
                         estimate(spread, "full_ps_rate_hz", I_b_spread_mV=w))


# --- readings of the maps ----------------------------------------------------------------------

def wait_reading(ipi: tuple[float, float], x_before: tuple[float, float]) -> str:
    """How the interval between full events (ms) and x before them change from
    the shortest to the longest recovery time: :func:`ends` pairs."""
    wait = ("Slower recovery means a longer wait" if ipi[1] > ipi[0] else
            "The wait does not grow with the recovery time" if np.isfinite(ipi[1]) else
            "Too few full events to compare the waits")
    state = ("" if not np.isfinite(x_before[1]) else
             " for the same state" if abs(x_before[1] - x_before[0]) < 0.05 else
             ", and the network launches its events from a more recovered state"
             if x_before[1] > x_before[0] else
             ", and the network launches its events from a less recovered state")
    return wait + state


def partial_reason(partial_rate: tuple[float, float]) -> str:
    """Why partial events are commoner at short recovery times, when they are
    (rate of partial events, Hz, at the shortest and longest tau_rec); "" otherwise."""
    return (": when resources come back quickly, the network fires again before it has "
            "recovered enough to recruit everyone" if partial_rate[0] > partial_rate[1] else "")


def u_reading(full_rate: tuple[float, float]) -> str:
    """What a larger U does, read from the full-event rate (Hz) at the smallest
    and the largest U; "" when it does not change."""
    if full_rate[1] > full_rate[0]:
        return ("A larger U makes each spike of a recovered synapse stronger, so the network "
                "tips over into a population spike more easily, although each event uses more "
                "of the resources.")
    if full_rate[1] < full_rate[0]:
        return ("Each spike of a synapse with a larger U uses more of its resources: a "
                "population spike empties them further, and the network needs longer to come "
                "back.")
    return ""


def strength_reading(x_before: tuple[float, float]) -> str:
    """What stronger EE synapses do to x before a full event (weakest, strongest
    A); "" unless it falls."""
    return ("Stronger synapses need fewer recovered resources to recruit the network, so a "
            "population spike can start at a lower x." if x_before[1] < x_before[0] else "")


# --- network size ------------------------------------------------------------------------------

def trigger_sentence(size: xr.Dataset, N: Sequence[int]) -> str:
    """Whether the sizes without any full event (summed over seeds) lack resources
    or a trigger: their mean x against x before the smallest network's events."""
    counts = size["full_ps_count"].sum("seed").values
    quiet = [n for n, count in zip(N, counts) if count == 0]
    if not quiet:
        return "Every size tried makes population spikes."
    x_small_before = mean_sem(size, "full_x_before_mean", N_exc=size["N_exc"].values[0])[0]
    x_quiet = float(over_seeds(size["x_mean"].sel(
        N_exc=[e for e, n in zip(size["N_exc"].values, N) if n in quiet]))["mean"].mean())
    return (f"The networks without population spikes (N = {sizes_text(quiet)}) "
            f"rest at x = {fmt(x_quiet)}, "
            + (f"more than the {fmt(x_small_before)} from which the {N[0]:,}-neuron networks "
               "launch theirs: they lack not resources but a trigger."
               if x_quiet > x_small_before else
               f"below the {fmt(x_small_before)} from which the {N[0]:,}-neuron networks launch "
               "theirs."))


def size_glue(size: xr.Dataset, N: Sequence[int]) -> dict[str, Any]:
    """The glued values of the network-size section (``e_*`` but the in-degree
    and duration): the sizes, rates, events, x and excitatory rates per size, the
    exponent of the between-event fluctuations and :func:`trigger_sentence`."""
    return {
        "e_slope": log_log_slope(N, over_seeds(size["activity_sd_between_ps"])["mean"].values),
        "e_sizes": sizes_text(N),
        "e_rate_list": listing(over_seeds(size["full_ps_rate_hz"])["mean"].values),
        "e_events_list": ", ".join(str(int(c)) for c in
                                   size["full_ps_count"].sum("seed").values),
        "e_x_list": listing(over_seeds(size["x_mean"])["mean"].values),
        "e_n_seeds": size.sizes["seed"],
        "e_exc_list": listing(over_seeds(size["exc_rate_hz"])["mean"].values, 1),
        "e_trigger": trigger_sentence(size, N),
    }


def size_verdict(size: xr.Dataset, N: Sequence[int], default_n: int) -> Verdict:
    """Whether population spikes survive in the largest network of the size
    series (same in-degree): ``n`` is the full events there over all seeds."""
    count = int(size["full_ps_count"].isel(N_exc=-1).sum())
    if N[-1] <= default_n:
        return Verdict("in the network sizes tried", count)
    if count == 0:
        return Verdict(f"only in small networks: with the same in-degree, no full event is left "
                       f"at N = {N[-1]:,} ({size.sizes['seed']} networks)", 0, holds=False)
    largest = mean_sem(size, "full_ps_rate_hz", N_exc=size["N_exc"].values[-1])[0]
    smallest = mean_sem(size, "full_ps_rate_hz", N_exc=size["N_exc"].values[0])[0]
    if largest < smallest / 2:
        return Verdict(f"mostly in small networks: with the same in-degree, N = {N[-1]:,} makes "
                       f"{fmt(largest)} full events per second against {fmt(smallest)} "
                       f"at N = {N[0]:,}", count,
                       estimate(size, "full_ps_rate_hz", N_exc=size["N_exc"].values[-1]),
                       holds=False)
    return Verdict(f"at every size tried, up to N = {N[-1]:,}", count, holds=True)


# --- what keeps population spikes in larger networks ------------------------------------------

def matching_spread(ds: xr.Dataset, n: int, name: str, goal: float) -> float:
    """The spread (mV) at which the mean over seeds of ``ds[name]`` at size ``n``
    crosses ``goal``: linear interpolation between the two grid values around the
    first crossing, or NaN when it does not cross."""
    mean = over_seeds(ds[name].sel(N=n))["mean"].values
    w = ds["I_b_spread_mV"].values
    for k in range(len(w) - 1):
        a, b = mean[k] - goal, mean[k + 1] - goal
        if np.isfinite(a) and np.isfinite(b) and a * b <= 0 and a != b:
            return float(w[k] + (w[k + 1] - w[k]) * a / (a - b))
    return float("nan")


def interpolate(ds: xr.Dataset, n: int, name: str, w_star: float) -> tuple[float, float]:
    """(mean, s.e.) over seeds of ``ds[name]`` at size ``n``, linearly interpolated
    to the spread ``w_star`` (mV) between the spreads where it is defined; NaNs
    when ``w_star`` is NaN or fewer than two spreads have a value."""
    stats = over_seeds(ds[name].sel(N=n))
    ok = np.isfinite(stats["mean"].values)
    w = ds["I_b_spread_mV"].values[ok]
    if not np.isfinite(w_star) or ok.sum() < 2:
        return float("nan"), float("nan")
    return (float(np.interp(w_star, w, stats["mean"].values[ok])),
            float(np.interp(w_star, w, np.nan_to_num(stats["sem"].values[ok]))))


AGREE = "participation within 2 s.e. of N = 500"
W_STAR = "spread w* matching the rate (mV)"


def matched_table(scaling: xr.Dataset, target: Mapping[str, tuple[float, float, int]]
                  ) -> pd.DataFrame:
    """Per size N of ``scaling`` (dims ``I_b_spread_mV``, ``N``, ``seed``): the
    spread w* (mV) at which the full-event rate matches ``target`` (the
    :func:`mean_sem` of the reference network), the participation and CV of
    intervals interpolated there, and whether the participation agrees within
    two combined standard errors."""
    goal_rate = target["full_ps_rate_hz"][0]
    goal_part, goal_part_se, _ = target["full_participation_mean"]
    rows = []
    for n in scaling["N"].values:
        w_star = matching_spread(scaling, n, "full_ps_rate_hz", goal_rate)
        part, part_se = interpolate(scaling, n, "full_participation_mean", w_star)
        agrees = bool(np.isfinite(part)
                      and abs(part - goal_part) <= 2 * np.hypot(part_se, goal_part_se))
        cv, _ = interpolate(scaling, n, "cv_ipi", w_star)
        rows.append({"N": int(n), W_STAR: w_star, "participation at w*": part, "± s.e.": part_se,
                     AGREE: agrees, "CV of intervals at w*": cv})
    return pd.DataFrame(rows).set_index("N")


def scaling_verdict(big: pd.DataFrame, goal_part: float) -> Verdict:
    """Whether a narrower spread restores the small network's population spikes
    in the larger ones (``big``: the rows of :func:`matched_table` above the
    default size; ``goal_part`` the small network's participation). ``n`` is the
    sizes where a matching spread was found."""
    found = big[W_STAR].notna()
    agree = big[AGREE]
    found_sizes = [n for n in big.index if found[n]]
    agree_sizes = [n for n in found_sizes if agree[n]]
    differ_sizes = [n for n in found_sizes if not agree[n]]
    if not found_sizes:
        return Verdict("No spread tried gives the large networks the rate of the small one", 0,
                       holds=False)
    if not differ_sizes and len(found_sizes) == len(big.index):
        return Verdict("So a narrower spread alone restores the population spikes of the small "
                       "network, rate and participation within two standard errors, at every "
                       "size tried", len(found_sizes), holds=True)
    smaller = (np.nanmean(big["participation at w*"][differ_sizes]) < goal_part
               if differ_sizes else False)
    return Verdict(
        f"So a narrower spread restores the rate at N = {sizes_text(found_sizes)}; the "
        "participation matches the 500-neuron network within two standard errors at "
        + (f"N = {sizes_text(agree_sizes)}" if agree_sizes else "none of them")
        + (f", while at N = {sizes_text(differ_sizes)} the events are "
           + ("smaller" if smaller else "larger") + " (beyond two standard errors)"
           if differ_sizes else ""), len(found_sizes), holds=False)


def scaling_glue(matched: pd.DataFrame, default_n: int,
                 target: Mapping[str, tuple[float, float, int]], goal_cv: float
                 ) -> dict[str, Any]:
    """The glued values of the search for a spread that keeps population spikes
    (``f_*``): the goals, the matching spreads, participations and CVs at the
    sizes above ``default_n``, :func:`scaling_verdict`, whether the large
    networks fire more regularly and how the matching spread scales with N."""
    big = matched.drop(index=[n for n in matched.index if n <= default_n])
    found = big[W_STAR].notna()
    cvs = big["CV of intervals at w*"][found]
    regular = bool(found.any() and np.nanmax(cvs) < goal_cv)
    ws_found = big[W_STAR][found]
    return {
        "f_goal_rate": fmt(target["full_ps_rate_hz"][0]),
        "f_goal_part": fmt(target["full_participation_mean"][0]),
        "f_goal_cv": fmt(goal_cv),
        "f_cvs": listing(cvs) or "–",
        "f_regular": "The large networks' events also come more regularly: the coefficient of "
        f"variation of their intervals is {listing(cvs)} "
        f"against {fmt(goal_cv)}. A narrower spread does not give them back the small "
        "network's fluctuations; it moves them closer to where they fire population spikes "
        "by themselves, almost like a clock." if regular else "",
        "f_sizes": sizes_text(big.index[found]) or "no larger size",
        "f_spreads": ", ".join(f"{w:.2f}" for w in ws_found) or "–",
        "f_parts": listing(big["participation at w*"][found]) or "–",
        "f_verdict": scaling_verdict(big, target["full_participation_mean"][0]).text,
        "f_trend": f"The matching spread shrinks with size, roughly as "
        f"N^{log_log_slope(ws_found.index.values.astype(float), ws_found.values):.2f} over "
        "the sizes tried." if found.sum() >= 2 else "",
    }


def dense_verdict(dense: xr.Dataset, target: Mapping[str, tuple[float, float, int]]) -> Verdict:
    """Whether the networks at the default connection probability (synapses
    weakened in proportion) match the reference network's full-event rate and
    participation (``target``: :func:`mean_sem` triples) within two combined
    standard errors at every size above the first. ``n`` is their full events."""
    d_rate = over_seeds(dense["full_ps_rate_hz"])
    d_part = over_seeds(dense["full_participation_mean"])
    goal_rate, goal_rate_se, _ = target["full_ps_rate_hz"]
    goal_part, goal_part_se, _ = target["full_participation_mean"]
    rate_ok = [abs(m - goal_rate) <= 2 * np.hypot(s if np.isfinite(s) else 0, goal_rate_se)
               for m, s in zip(d_rate["mean"].values[1:], d_rate["sem"].values[1:])]
    part_ok = [_within(m, s, goal_part, goal_part_se)
               for m, s in zip(d_part["mean"].values[1:], d_part["sem"].values[1:])]
    n = int(dense["full_ps_count"].isel(N_exc=slice(1, None)).sum()) \
        if "full_ps_count" in dense else 0
    if all(rate_ok) and all(part_ok):
        return Verdict("Both match the 500-neuron network within two standard errors at every "
                       "size: what has to scale with the network is the number of partners each "
                       "neuron has (a fixed connection probability), with the synapses weakened "
                       "in proportion", n, holds=True)
    if any(np.asarray(d_rate["mean"].values[1:]) > 0):
        return Verdict("They do not match the 500-neuron network within two standard errors at "
                       "every size, but population spikes survive longer than at a fixed "
                       "in-degree", n, holds=False)
    return Verdict("Population spikes fade as they do at a fixed in-degree: sharing inputs does "
                   "not keep the fluctuations that launch them", n, holds=False)


# --- the spread section and the summary ------------------------------------------------------

def spread_glue(spread: xr.Dataset, threshold_mV: float, default_w: float) -> dict[str, Any]:
    """The glued values of the background-spread section (``a_*``): the
    reference script's claim at the spread nearest 0.05 mV
    (:func:`small_spread_claim`), sharp-event rates (Hz) there and at the
    spread nearest ``default_w`` (mV), the relative reading (5 % of
    ``threshold_mV``, :func:`relative_reading`, :func:`compare_rates`), the
    spread of the most frequent full events and the changes across spreads."""
    ws = [float(w) for w in spread["I_b_spread_mV"].values]
    small = nearest(ws, 0.05)
    t = totals(spread, I_b_spread_mV=small)
    largest = float(spread["participation_max"].sel(I_b_spread_mV=small).max())
    w_default = nearest(ws, default_w)
    relative = nearest(ws, 0.05 * threshold_mV)  # 5 % of the threshold
    rel = totals(spread, I_b_spread_mV=relative)
    rel_rate = mean_sem(spread, "full_ps_rate_hz", I_b_spread_mV=relative)
    def_rate = mean_sem(spread, "full_ps_rate_hz", I_b_spread_mV=w_default)
    reading, fit = relative_reading(rel, t)
    peak_w = spread_peak(spread)
    all_rate = spread["full_ps_rate_hz"] + spread["partial_ps_rate_hz"]
    return {
        "a_small": small, "a_small_seconds": t.seconds, "a_small_events": t.events,
        "a_small_partial": t.partial, "a_small_share": t.partial_share,
        "a_small_partial_participation": fmt(mean_sem(spread, "partial_participation_mean",
                                                      I_b_spread_mV=small)[0]),
        "a_small_full": t.full, "a_small_sharp": t.sharp, "a_small_largest": fmt(largest),
        "a_verdict": small_spread_claim(t, largest).text,
        "a_small_sharp_rate": t.sharp_rate_hz,
        "a_default_w": w_default,
        "a_default_sharp_rate": totals(spread, I_b_spread_mV=w_default).sharp_rate_hz,
        "a_rel_w": relative, "a_rel_fraction": relative / threshold_mV,
        "a_rel_rate": fmt(rel_rate[0]), "a_rel_rate_se": fmt(rel_rate[1]),
        "a_def_rate": fmt(def_rate[0]), "a_def_rate_se": fmt(def_rate[1]),
        "a_rel_participation": fmt(mean_sem(spread, "full_participation_mean",
                                            I_b_spread_mV=relative)[0]),
        "a_rel_sharp_share": rel.sharp_share,
        "a_rel_reading": reading.text, "a_rel_fit": fit.text,
        "a_rel_vs_default": rate_comparison(spread, relative, w_default).text,
        "a_peak_w": peak_w,
        "a_partial_at_peak": fmt(mean_sem(spread, "partial_ps_rate_hz",
                                          I_b_spread_mV=peak_w)[0]),
        "a_total_change": change(all_rate, "I_b_spread_mV") + " mV",
        "a_x_change": change(spread["x_mean"], "I_b_spread_mV") + " mV",
        "a_part_change": change(spread["full_participation_mean"], "I_b_spread_mV") + " mV",
    }


def spread_peak(spread: xr.Dataset) -> float:
    """The spread (mV) with the most full events per second (mean over seeds)."""
    ws = [float(w) for w in spread["I_b_spread_mV"].values]
    return ws[int(np.nanargmax(over_seeds(spread["full_ps_rate_hz"])["mean"].values))]


def tau_u_glue(u_tau: xr.Dataset, default_U: float, default_tau_rec_ms: float
               ) -> dict[str, Any]:
    """The glued values of the U × tau_rec map (``b_*``): changes of the means
    over seeds along tau_rec (ms) at the U nearest ``default_U`` and along U at
    the tau_rec nearest ``default_tau_rec_ms``, and the readings
    (:func:`wait_reading`, :func:`partial_reason`, :func:`u_reading`)."""
    U0 = nearest(list(u_tau["EE_U"].values), default_U)
    tau0 = nearest(list(u_tau["EE_tau_rec_ms"].values), default_tau_rec_ms)
    at_U0, at_tau0 = u_tau.sel(EE_U=U0), u_tau.sel(EE_tau_rec_ms=tau0)
    glued: dict[str, Any] = {
        "b_U0": float(U0), "b_tau0": float(tau0),
        "b_ipi_change": change(at_U0["full_ipi_ms_mean"], "EE_tau_rec_ms", 0, unit="ms") + " ms"}
    for key, name in (("xb", "full_x_before_mean"), ("part", "full_participation_mean"),
                      ("partial", "partial_ps_rate_hz")):
        glued[f"b_{key}_change"] = change(at_U0[name], "EE_tau_rec_ms") + " ms"
    for key, name in (("rate", "full_ps_rate_hz"), ("xa", "full_x_after_mean"),
                      ("part", "full_participation_mean")):
        glued[f"b_{key}_U_change"] = change(at_tau0[name], "EE_U")
    glued["b_wait"] = wait_reading(ends(at_U0["full_ipi_ms_mean"]),
                                   ends(at_U0["full_x_before_mean"]))
    glued["b_partial_reason"] = partial_reason(ends(at_U0["partial_ps_rate_hz"]))
    glued["b_U_reading"] = u_reading(ends(at_tau0["full_ps_rate_hz"]))
    return glued


def changes_glue(ds: xr.Dataset, dim: str, prefix: str, names: Mapping[str, str],
                 unit: str = "") -> dict[str, Any]:
    """``{prefix}_{key}_change``: :func:`change` of ``ds[name]`` along ``dim``
    for each ``key: name`` of ``names``, followed by `` unit`` when given."""
    return {f"{prefix}_{key}_change": change(ds[name], dim) + (f" {unit}" if unit else "")
            for key, name in names.items()}


def side_of_peak(w: float, peak_w: float) -> str:
    """Where the spread ``w`` lies relative to the spread of the most frequent
    full events ``peak_w`` (both mV)."""
    return ("on the side of rare events: a wider spread makes them rarer still, a narrower one "
            "more frequent" if w > peak_w else
            "on the side of frequent events" if w < peak_w else
            "at the peak of the event rate")


def clock_reading(cv: float, estimate: Estimate | None = None) -> Verdict:
    """Irregular (mean coefficient of variation of the intervals ``cv`` above
    0.2) or nearly periodic; an undefined CV counts as not irregular.
    ``estimate``, the CV over seeds where given, is carried along with its
    ``n`` (seeds); without it ``n`` is 0."""
    irregular = bool(np.isfinite(cv) and cv > 0.2)
    return Verdict("irregular, not a clock: the intervals scatter with a coefficient of "
                   f"variation of {fmt(cv)}" if irregular else
                   f"nearly periodic (coefficient of variation {fmt(cv)})",
                   estimate.n if estimate else 0, estimate, holds=irregular)


def summary_glue(spread: xr.Dataset, size: xr.Dataset, N: Sequence[int], default_w: float,
                 default_n: int) -> dict[str, Any]:
    """The glued values of the summary (``r_*``): the default spread's rates,
    shares, CV and x against the spread sweep's peak, :func:`side_of_peak`,
    :func:`clock_reading` and :func:`size_verdict`."""
    w = nearest([float(v) for v in spread["I_b_spread_mV"].values], default_w)
    d = totals(spread, I_b_spread_mV=w)
    def_rate = mean_sem(spread, "full_ps_rate_hz", I_b_spread_mV=w)[0]
    cv = mean_sem(spread, "cv_ipi", I_b_spread_mV=w)[0]
    peak_w = spread_peak(spread)
    clock = clock_reading(cv, estimate(spread, "cv_ipi", I_b_spread_mV=w))
    return {
        "r_rate": fmt(def_rate),
        "r_share_of_peak": def_rate / float(over_seeds(spread["full_ps_rate_hz"])["mean"].max()),
        "r_peak_w": peak_w, "r_partial_share": d.partial_share, "r_sharp_share": d.sharp_share,
        "r_cv": fmt(cv),
        "r_x_before": fmt(mean_sem(spread, "full_x_before_mean", I_b_spread_mV=w)[0]),
        "r_x_mean": fmt(mean_sem(spread, "x_mean", I_b_spread_mV=w)[0]),
        "r_side": side_of_peak(w, peak_w),
        "r_clock": clock.text,
        "r_size_verdict": size_verdict(size, N, default_n).text,
    }


def dense_glue(dense: xr.Dataset, target: Mapping[str, tuple[float, float, int]]
               ) -> dict[str, Any]:
    """The glued values of the fixed-probability sizes (``g_*`` but ``g_p``)."""
    n_dense = dense["N_exc"].values + dense["N_inh"].values
    return {
        "g_sizes": sizes_text(n_dense),
        "g_rates": listing(over_seeds(dense["full_ps_rate_hz"])["mean"].values),
        "g_parts": listing(over_seeds(dense["full_participation_mean"])["mean"].values,
                           missing=NO_EVENT),
        "g_slope": log_log_slope(n_dense,
                                 over_seeds(dense["activity_sd_between_ps"])["mean"].values),
        "g_verdict": dense_verdict(dense, target).text,
    }
