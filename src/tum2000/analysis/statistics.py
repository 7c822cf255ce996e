"""The statistics a sweep keeps of each run: one flat dict of numbers.

:func:`run_statistics` is the one place a sweep analyses a run. It calls
:func:`tum2000.analysis.summarize` (whatever fields that returns: scalars are
kept, per-population-spike lists are summarised by count, mean and median)
and adds statistics of the two kinds of population spikes defined in
:mod:`tum2000.analysis.population_spikes`: *full* events (excitatory
participation at least ``PARTIAL_MAX_PARTICIPATION``) and *partial* ones,
and the *sharp* full events among them.

Sweeps skip the costly synchrony measures (spike contrast, correlations):
:data:`SUMMARY_OPTIONS` says what the per-run summary is asked for. The
statistics' version (:func:`statistics_version`) hashes the analysis code and
these options, so cached per-run summaries are recomputed when either changes.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache
from typing import Any

import numpy as np
import xarray as xr

from tum2000.analysis import population_spikes as pskinds

SUMMARY_OPTIONS: dict[str, Any] = {"synchrony": False, "pathways": ("EE",)}
"""Options of the per-run analysis (:func:`tum2000.analysis.analyse`): no
synchrony measures (they cost more than the rest of the analysis together),
recovery statistics of the EE pathway only (the one Fig. 1C shows and every
``x_*`` field refers to)."""

SYNCHRONY_FIELDS: tuple[str, ...] = (
    "cv_isi_exc", "cv_isi_inh", "fano_exc", "fano_inh", "spike_contrast",
    "spike_contrast_inside", "spike_contrast_outside", "correlation_exc",
    "correlation_inh", "sttc_exc", "rate_I_b_spearman_exc")
"""Summary fields left empty without synchrony measures; a sweep does not keep them."""

KINDS: dict[str, str] = {
    "full": f"excitatory participation >= {pskinds.PARTIAL_MAX_PARTICIPATION:g}",
    "partial": f"excitatory participation < {pskinds.PARTIAL_MAX_PARTICIPATION:g}",
    "sharp": f"width <= {pskinds.SHARP_MAX_WIDTH_MS:g} ms and excitatory participation "
             f">= {pskinds.SHARP_MIN_PARTICIPATION:g}",
}
"""Kinds of population spikes whose statistics are kept separately."""

PER_EVENT: dict[str, tuple[str, str]] = {
    "participation": ("1", "fraction of the excitatory neurons that fire in the event"),
    "peak": ("1", "peak activity, fraction of all neurons per 1 ms bin"),
    "width_ms": ("ms", "full width at half maximum"),
    "x_before": ("1", "mean recovered fraction x of EE synapses at the event's onset"),
    "x_after": ("1", "minimum of x of EE synapses just after the event"),
    "ipi_ms": ("ms", "interval from the previous event of the same kind"),
}
"""Per-event quantities summarised for each kind, with unit and meaning."""

SUMMARIES: tuple[str, ...] = ("count", "mean", "median")
"""How a list of per-event values is summarised."""

SKIPPED_FIELDS: tuple[str, ...] = ("seed", "code_version", "ps_times_ms") + SYNCHRONY_FIELDS
"""Summary fields that are not statistics of the run (the seed is a dimension,
the code version an attribute; the PS times are summarised by ``n_ps``) or
that a sweep does not compute (:data:`SYNCHRONY_FIELDS`)."""


def summary_options() -> dict[str, Any]:
    """:data:`SUMMARY_OPTIONS` (a copy)."""
    return dict(SUMMARY_OPTIONS)


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    return float(value)


def describe(prefix: str, values: Any) -> dict[str, float]:
    """``{prefix}_count``, ``_mean`` and ``_median`` of the finite ``values``."""
    arr = np.asarray([np.nan if v is None else v for v in np.ravel(values)], dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return {f"{prefix}_count": float(arr.size),
            f"{prefix}_mean": float(arr.mean()) if arr.size else math.nan,
            f"{prefix}_median": float(np.median(arr)) if arr.size else math.nan}


def _kind_statistics(a: xr.Dataset) -> dict[str, float]:
    n = a.sizes.get("ps", 0)
    exc = np.asarray(a["participation"].sel(population="exc").values, dtype=np.float64) \
        if n else np.zeros(0)
    partial = np.asarray(a["is_partial"].values, dtype=bool) if n else np.zeros(0, bool)
    sharp = np.asarray(a["is_sharp"].values, dtype=bool) if n else np.zeros(0, bool)
    masks = {"full": ~partial, "partial": partial, "sharp": sharp}
    ee = a.sel(pathway="EE") if "pathway" in a.dims else None
    per_event = {
        "participation": exc,
        "peak": np.asarray(a["ps_peak"].values, dtype=np.float64),
        "width_ms": np.asarray(a["ps_width"].values, dtype=np.float64),
        "x_before": np.asarray(ee["x_before"].values, dtype=np.float64) if ee is not None
        else np.full(n, np.nan),
        "x_after": np.asarray(ee["x_after"].values, dtype=np.float64) if ee is not None
        else np.full(n, np.nan),
    }
    times = np.asarray(a["ps_time"].values, dtype=np.float64)
    duration_s = float(a["duration_ms"]) / 1000.0
    out: dict[str, float] = {}
    for kind, mask in masks.items():
        out[f"{kind}_ps_count"] = float(mask.sum())
        out[f"{kind}_ps_rate_hz"] = float(mask.sum()) / duration_s if duration_s > 0 \
            else math.nan
        for name, values in per_event.items():
            out.update(describe(f"{kind}_{name}", values[mask]))
        out.update(describe(f"{kind}_ipi_ms", np.diff(times[mask])))
    out["participation_max"] = float(exc.max()) if n else math.nan
    out.update(_quiet_activity(a))
    return out


QUIET_PAD_MS = 20.0
"""Bins this close to a population spike (ms) do not count as between events."""


def _quiet_activity(a: xr.Dataset) -> dict[str, float]:
    """Mean and standard deviation of the activity (fraction of all neurons
    spiking per bin) between population spikes: the fluctuations from which
    a population spike has to be recruited."""
    activity = a["activity"].sel(population="all")
    t = np.asarray(activity["time"].values, dtype=np.float64)
    values = np.asarray(activity.values, dtype=np.float64)
    quiet = np.ones(t.size, dtype=bool)
    for onset, offset in pskinds.inside_windows(a, pad_ms=QUIET_PAD_MS):
        quiet &= ~((t >= onset) & (t < offset))
    values = values[quiet]
    return {"activity_mean_between_ps": float(values.mean()) if values.size else math.nan,
            "activity_sd_between_ps": float(values.std()) if values.size else math.nan}


def run_statistics(ds: xr.Dataset) -> dict[str, float]:
    """The statistics a sweep keeps of one run (numbers only; NaN when undefined).

    Every numeric field of :func:`tum2000.analysis.summarize` (computed with
    :data:`SUMMARY_OPTIONS`); each list field ``f`` as ``f_count``,
    ``f_mean``, ``f_median``; for each kind of :data:`KINDS`,
    ``{kind}_ps_count``, ``{kind}_ps_rate_hz`` and count, mean and median of each quantity of
    :data:`PER_EVENT`; ``participation_max``; ``activity_mean_between_ps`` and
    ``activity_sd_between_ps`` (activity away from population spikes). Units: :func:`units_of`.
    """
    from tum2000.analysis import analyse, summarize

    a = analyse(ds, **SUMMARY_OPTIONS)
    summary = summarize(ds, analysis=a)
    out: dict[str, float] = {}
    for key, value in summary.items():
        if key in SKIPPED_FIELDS or isinstance(value, str):
            continue
        if isinstance(value, (list, tuple)):
            out.update(describe(key, value))
        else:
            out[key] = _float(value)
    out.update(_kind_statistics(a))
    return out


def units_of(name: str) -> str:
    """The unit of a statistic of :func:`run_statistics`, from its name."""
    if name.endswith("_count") or name.startswith("n_"):
        return "1"
    if name.endswith("_hz") or "_hz_" in name:
        return "Hz"
    if name.endswith("_ms") or "_ms_" in name:
        return "ms"
    return "1"


def long_name(name: str) -> str | None:
    """A description of a per-kind statistic, or None for summary fields."""
    for kind, definition in KINDS.items():
        if name == f"{kind}_ps_rate_hz":
            return f"{kind} population spikes ({definition}) per second of recording"
        if name == f"{kind}_ps_count":
            return f"number of {kind} population spikes ({definition})"
        for quantity, (_, meaning) in PER_EVENT.items():
            for summary in SUMMARIES:
                if name == f"{kind}_{quantity}_{summary}":
                    what = "number" if summary == "count" else summary
                    return f"{what} over {kind} population spikes of the {meaning}"
    if name == "participation_max":
        return "largest excitatory participation of any population spike"
    if name == "activity_mean_between_ps":
        return (f"mean activity (fraction of all neurons per bin) more than "
                f"{QUIET_PAD_MS:g} ms away from any population spike")
    if name == "activity_sd_between_ps":
        return (f"standard deviation of the activity (fraction of all neurons per bin) "
                f"more than {QUIET_PAD_MS:g} ms away from any population spike")
    return None


def over_seeds(values: xr.DataArray) -> xr.Dataset:
    """The average of a sweep statistic over seeds (networks).

    Returns ``mean``, ``sem`` (standard error of the mean, ddof 1; undefined
    with fewer than two finite values) and ``n`` (seeds with a finite value)
    of ``values`` over its ``seed`` dimension, in the units of ``values``.
    """
    n = values.notnull().sum("seed")
    mean = values.mean("seed", skipna=True)
    sd = values.std("seed", ddof=1, skipna=True)
    sem = (sd / np.sqrt(n)).where(n > 1)
    return xr.Dataset({"mean": mean, "sem": sem, "n": n})


@lru_cache(maxsize=1)
def statistics_version() -> str:
    """Hash of the analysis code (this module included) and the summary options."""
    from tum2000.model.provenance import PACKAGE_DIR, code_version

    digest = hashlib.sha256()
    for path in sorted((PACKAGE_DIR / "analysis").rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps(summary_options(), sort_keys=True, default=list).encode())
    return f"{code_version()}/{digest.hexdigest()[:12]}"


__all__ = ["KINDS", "PER_EVENT", "SUMMARY_OPTIONS", "SYNCHRONY_FIELDS", "describe", "long_name",
           "over_seeds", "run_statistics", "statistics_version", "summary_options", "units_of"]
