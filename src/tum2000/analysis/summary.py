"""One call for everything: the analysis Dataset and its JSON summary."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import xarray as xr

from tum2000.analysis.activity import population_activities
from tum2000.store.dataset import duration_ms, neuron_mask
from tum2000.analysis.population_spikes import detect_population_spikes
from tum2000.analysis.recovery import RMSE_MIN_RECOVERY_MS, recovery_dynamics
from tum2000.analysis.synchrony import firing_rates
from tum2000.analysis.synchrony import synchrony as synchrony_measures

SUMMARY_FIELDS: tuple[str, ...] = (
    "seed", "code_version", "duration_ms", "n_spikes_exc", "n_spikes_inh",
    "exc_rate_hz", "inh_rate_hz", "n_ps", "ps_times_ms", "ps_rate_hz", "mean_ipi_ms",
    "cv_ipi", "ps_peak_mean", "ps_width_ms", "ps_participation", "ps_participation_exc",
    "ps_participation_inh", "recruitment_rho_mean", "x_mean", "x_min", "x_max",
    "x_before_ps", "x_after_ps", "x_drop_mean", "recovery_fits_meaningful",
    "recovery_tau_ms", "recovery_x_inf", "recovery_tau_naive_ms", "recovery_x_inf_naive",
    "recovery_x_inf_per_synapse", "x_recovery_rmse", "x_recovery_rmse_naive",
    "ps_drop_error",
    "cv_isi_exc", "cv_isi_inh", "fano_exc", "fano_inh", "spike_contrast",
    "spike_contrast_inside", "spike_contrast_outside", "correlation_exc",
    "correlation_inh", "sttc_exc", "rate_I_b_spearman_exc", "threshold", "merge_gap_ms",
    "bin_ms",
)
"""Keys of :func:`summarize`'s dict, in order."""


def analyse(ds: xr.Dataset, *, threshold: float = 0.05, merge_gap_ms: float = 20.0,
            bin_ms: float = 1.0, pathways: tuple[str, ...] = ("EE", "EI", "IE", "II"),
            synchrony: bool = True, **synchrony_options: Any) -> xr.Dataset:
    """The full analysis of one simulation as one Dataset.

    Contents: ``activity`` (population, time: left bin edges, ms) from
    :func:`population_activity`; the population spikes of
    :func:`detect_population_spikes` on dim ``ps`` (``ps_time``, ``ps_peak``,
    ``ps_onset``, ``ps_offset``, ``ps_width``, ``participation``, ...);
    :func:`recovery_dynamics` of every pathway in ``pathways``, stacked on dim
    ``pathway`` (``x_before`` (pathway, ps), ``fit_tau``, ``tau_pred``, ...);
    :func:`synchrony` (``spike_contrast``, ``correlation``, ``sttc``,
    ``complexity_pdf``, ``cv_isi``, ``fano_factor``, ...); ``rate`` (neuron,
    Hz) with coords ``I_b`` and ``neuron_population``; scalars
    ``exc_rate_hz``, ``inh_rate_hz``, ``n_spikes_exc``, ``n_spikes_inh``,
    ``duration_ms``. Times are ms from the start of the recording.
    ``synchrony_options`` go to :func:`synchrony`. ``synchrony=False`` leaves
    the synchrony measures out (what a sweep needs, in a fraction of the time).
    """
    detect = {"threshold": threshold, "merge_gap_ms": merge_gap_ms, "bin_ms": bin_ms}
    activity = population_activities(ds, bin_ms)
    ps = detect_population_spikes(ds, activity=activity.sel(population="all", drop=True),
                                  **detect)
    # The predicted trajectories (dim time) stay in recovery_dynamics' own output.
    rec = xr.concat([recovery_dynamics(ds, p, ps).drop_vars("ps_time").drop_dims("time")
                     for p in pathways],
                    dim=xr.DataArray(list(pathways), dims="pathway", name="pathway"),
                    combine_attrs="drop")
    syn = synchrony_measures(ds, ps, **synchrony_options) if synchrony else None
    rates = firing_rates(ds)
    pop = rates["population"].values
    rates = rates.rename({"population": "neuron_population"})
    neurons = np.asarray(ds["spike_neuron"].values)
    exc = neuron_mask(ds, "exc")
    dur = duration_ms(ds)
    n_exc, n_inh = int(exc[neurons].sum()), int((~exc)[neurons].sum())
    parts = [activity.to_dataset(name="activity"), ps, rec, syn, rates.to_dataset(name="rate")]
    out = xr.merge([part for part in parts if part is not None], combine_attrs="drop",
                   compat="override", join="outer")
    out["exc_rate_hz"] = ((), n_exc / max(exc.sum(), 1) / dur * 1000.0, {"units": "Hz"})
    out["inh_rate_hz"] = ((), n_inh / max((~exc).sum(), 1) / dur * 1000.0, {"units": "Hz"})
    out["n_spikes_exc"] = ((), n_exc, {"units": "1"})
    out["n_spikes_inh"] = ((), n_inh, {"units": "1"})
    out["duration_ms"] = ((), dur, {"units": "ms"})
    del pop
    out.attrs = {"title": "tum2000 analysis", "seed": int(ds.attrs.get("seed", -1)),
                 "code_version": str(ds.attrs.get("code_version", "")),
                 "options": json.dumps({**detect, "pathways": list(pathways),
                                        **synchrony_options}),
                 "source_parameters": ds.attrs.get("parameters", "")}
    return out


def _num(value: Any) -> float | int | None:
    """A plain Python number; NaN and infinities become None."""
    if value is None:
        return None
    v = np.asarray(value).item()
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    v = float(v)
    return None if not math.isfinite(v) else v


def _list(values: Any) -> list[float | int | None]:
    return [_num(v) for v in np.asarray(values).ravel()]


def _mean(values: Any) -> float | None:
    arr = np.asarray(values, dtype=np.float64).ravel()
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else None


def _median(values: Any) -> float | None:
    arr = np.asarray(values, dtype=np.float64).ravel()
    arr = arr[np.isfinite(arr)]
    return float(np.median(arr)) if arr.size else None


def summarize(ds: xr.Dataset, analysis: xr.Dataset | None = None, *,
              synchrony: bool = True, **options: Any) -> dict[str, Any]:
    """Headline statistics of one simulation as a JSON-serializable dict.

    Computed from :func:`analyse` (passed as ``analysis`` or computed with
    ``options``). Values are plain ints, floats, strings or lists; NaN
    becomes None; a run without population spikes gives None and empty
    lists for the PS fields. Rates in Hz, times in ms from the start of the
    recording; ``x_*`` refer to the EE pathway (mean recovered fraction of
    the excitatory-to-excitatory synapses, Fig. 1C); ``ps_width_ms`` and
    ``ps_peak_mean`` / ``ps_participation*`` are means over population spikes;
    ``x_before_ps`` / ``x_after_ps`` list x at each PS's onset and its
    minimum just after. The recovery fields (see
    :func:`tum2000.analysis.recovery_dynamics`) are medians:
    ``recovery_tau_ms`` and ``recovery_x_inf`` over the meaningful bounded
    fits (``recovery_fits_meaningful`` counts them; None when there is
    none), ``recovery_tau_naive_ms`` / ``recovery_x_inf_naive`` of the
    homogeneous mean-field prediction at the mean rate,
    ``recovery_x_inf_per_synapse`` of the per-synapse steady state;
    ``x_recovery_rmse`` and ``x_recovery_rmse_naive`` over the recoveries of
    at least :data:`RMSE_MIN_RECOVERY_MS` of the rmse between the per-synapse
    (homogeneous) prediction and the recorded mean x; ``ps_drop_error`` over
    population spikes of ``|x_before (1 - mean(U) n_E) - x_after|`` (the drop
    map). None where undefined (no PS, no long recovery, or a dataset of
    another code version for the per-synapse fields).
    See :data:`SUMMARY_FIELDS` for the keys. ``synchrony=False``: the
    synchrony fields (CV, Fano, spike contrast, correlation, STTC, rate-I_b
    correlation) are None, and the rest costs a fraction of the time.
    """
    a = analysis if analysis is not None else analyse(ds, synchrony=synchrony, **options)
    ee = a.sel(pathway="EE") if "pathway" in a.dims and "EE" in a["pathway"].values else None
    opts = json.loads(a.attrs.get("options", "{}"))
    sel = {"condition": "all"}

    if ee is not None:
        meaningful = ee["fit_meaningful"] == 1
        long = (ee["fit_t1"] - ee["fit_t0"]) >= RMSE_MIN_RECOVERY_MS

    def ee_value(name: str, reduce: Any) -> Any:
        """A recovery variable of the EE pathway, reduced; None without EE."""
        return reduce(ee[name]) if ee is not None else None

    def sv(name: str, **where: Any) -> float | int | None:
        if name not in a:
            return None
        return _num(a[name].sel(**where) if where else a[name])

    out: dict[str, Any] = {
        "seed": int(ds.attrs.get("seed", a.attrs.get("seed", -1))),
        "code_version": str(ds.attrs.get("code_version", "")),
        "duration_ms": _num(a["duration_ms"]),
        "n_spikes_exc": _num(a["n_spikes_exc"]),
        "n_spikes_inh": _num(a["n_spikes_inh"]),
        "exc_rate_hz": _num(a["exc_rate_hz"]),
        "inh_rate_hz": _num(a["inh_rate_hz"]),
        "n_ps": _num(a["n_ps"]),
        "ps_times_ms": _list(a["ps_time"]),
        "ps_rate_hz": _num(a["ps_rate_hz"]),
        "mean_ipi_ms": _num(a["mean_ipi_ms"]),
        "cv_ipi": _num(a["cv_ipi"]),
        "ps_peak_mean": _mean(a["ps_peak"]),
        "ps_width_ms": _mean(a["ps_width"]),
        "ps_participation": _mean(a["participation"].sel(population="all")),
        "ps_participation_exc": _mean(a["participation"].sel(population="exc")),
        "ps_participation_inh": _mean(a["participation"].sel(population="inh")),
        "recruitment_rho_mean": _mean(a["recruitment_rho"]),
        "x_mean": ee_value("x_mean", _num),
        "x_min": ee_value("x_min", _num),
        "x_max": ee_value("x_max", _num),
        "x_before_ps": ee_value("x_before", _list) or [],
        "x_after_ps": ee_value("x_after", _list) or [],
        "x_drop_mean": ee_value("x_drop", _mean),
        "recovery_fits_meaningful": ee_value("fit_meaningful", lambda v: int(np.nansum(v))),
        "recovery_tau_ms": ee_value("fit_tau", lambda v: _median(v.where(meaningful))),
        "recovery_x_inf": ee_value("fit_x_inf", lambda v: _median(v.where(meaningful))),
        "recovery_tau_naive_ms": ee_value("tau_naive", _median),
        "recovery_x_inf_naive": ee_value("x_inf_naive", _median),
        "recovery_x_inf_per_synapse": ee_value("x_inf_per_synapse", _median),
        "x_recovery_rmse": ee_value("x_recovery_rmse", lambda v: _median(v.where(long))),
        "x_recovery_rmse_naive": ee_value("x_recovery_rmse_naive",
                                          lambda v: _median(v.where(long))),
        "ps_drop_error": ee_value("drop_map_error", lambda v: _median(np.abs(v))),
        "cv_isi_exc": sv("cv_isi", population="exc"),
        "cv_isi_inh": sv("cv_isi", population="inh"),
        "fano_exc": sv("fano_factor", population="exc"),
        "fano_inh": sv("fano_factor", population="inh"),
        "spike_contrast": sv("spike_contrast", **sel),
        "spike_contrast_inside": sv("spike_contrast", condition="inside"),
        "spike_contrast_outside": sv("spike_contrast", condition="outside"),
        "correlation_exc": sv("correlation", condition="all", population="exc"),
        "correlation_inh": sv("correlation", condition="all", population="inh"),
        "sttc_exc": sv("sttc", condition="all", population="exc"),
        "rate_I_b_spearman_exc": sv("rate_I_b_spearman", population="exc"),
        "threshold": _num(opts.get("threshold")),
        "merge_gap_ms": _num(opts.get("merge_gap_ms")),
        "bin_ms": _num(opts.get("bin_ms")),
    }
    assert tuple(out) == SUMMARY_FIELDS
    return out


def summary_json(ds: xr.Dataset, **options: Any) -> str:
    """:func:`summarize` as a JSON string (strict JSON: no NaN)."""
    return json.dumps(summarize(ds, **options), allow_nan=False, indent=2)


__all__ = ["SUMMARY_FIELDS", "analyse", "summarize", "summary_json"]
