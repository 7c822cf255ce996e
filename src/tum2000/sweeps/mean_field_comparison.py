"""Rate model against network: when population spikes fire, over seeds and parameters.

The same statistics are measured on network runs (spikes, through
:func:`tum2000.analysis.detect_population_spikes` and
:func:`tum2000.analysis.recovery_dynamics`) and on rate-model runs
(:func:`rate_model_events`, the same definitions applied to the model's
population rate): the interval between population spikes (PS), x of the EE
synapses just before and just after each PS, the excitatory participation and
the fraction of partial events (participation below
:data:`~tum2000.analysis.population_spikes.PARTIAL_MAX_PARTICIPATION`).

Network runs go through one function, :func:`network_runs`, which calls
:func:`tum2000.simulate_many` (Dask; the dataset cache makes a repeated call
free).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from tum2000.model.parameters import Parameters
from tum2000.meanfield.rate_model import simulate_rate_model

STATISTICS: tuple[str, ...] = (
    "n_ps", "n_intervals", "interval_sum_ms", "interval_sumsq_ms2", "x_before_sum",
    "x_after_sum", "participation_sum", "n_partial", "n_sharp", "duration_ms")
"""Per-run sums from which pooled means over seeds follow (:func:`pooled`)."""


def network_runs(base: Parameters, changes: Sequence[Mapping[str, Any]], seeds: Sequence[int],
                 **simulate_many_options: Any) -> list[list[xr.Dataset]]:
    """Network datasets for every parameter change (outer list) and seed (inner list).

    The single entry point of the chapter's multi-seed, multi-parameter
    network runs: one :func:`tum2000.simulate_many` call (Dask, the dataset
    cache) for all of them. ``simulate_many_options`` (``scheduler``,
    ``n_workers``, ``progress``, ...) are passed on.
    """
    from tum2000 import simulate_many

    jobs = [(base.replace(**dict(change)), int(seed)) for change in changes for seed in seeds]
    datasets = simulate_many(jobs, **simulate_many_options)
    n = len(seeds)
    return [datasets[i * n:(i + 1) * n] for i in range(len(changes))]


def network_rate_hz(ds: xr.Dataset, bin_ms: float = 1.0, population: str = "all"
                    ) -> xr.DataArray:
    """The network's population rate in Hz (spikes per neuron per second, per bin).

    The unit of the rate model's ``rate``: Elephant's ``time_histogram`` with
    ``output="rate"`` counts every spike (a neuron firing twice in a bin counts
    twice, unlike the activity of Fig. 1B, which counts neurons). Bins are
    [k, k + 1) * ``bin_ms`` from the start of the recording; ``time`` holds the
    left edges (ms).
    """
    import quantities as pq
    from elephant.statistics import time_histogram

    from tum2000.analysis.activity import bin_count
    from tum2000.analysis.neo_bridge import quiet, spiketrains

    n_bins = bin_count(ds, bin_ms)
    trains = spiketrains(ds, population)
    with quiet():
        hist = time_histogram(trains, bin_size=bin_ms * pq.ms, t_start=0.0 * pq.ms,
                              t_stop=n_bins * bin_ms * pq.ms, output="rate", binary=False)
    values = np.asarray(hist.rescale("Hz").magnitude, dtype=np.float64).ravel()
    return xr.DataArray(values, dims="time", name="rate",
                        coords={"time": ("time", np.arange(n_bins) * float(bin_ms),
                                         {"units": "ms", "long_name": "left edge of the bin"})},
                        attrs={"units": "Hz", "population": population, "bin_ms": float(bin_ms),
                               "source": "elephant.statistics.time_histogram(output='rate')"})


def critical_x_at_population_spikes(ds: xr.Dataset, ps: xr.Dataset | None = None) -> xr.Dataset:
    """The fold estimate of the critical x at each PS against the network's x before it.

    For each PS the slow variables of the other pathways (x of IE, EI, II; u of
    EI, II) are the network's recorded means at the PS onset; the estimate
    (:func:`tum2000.meanfield.reduced.critical_x`) is given for the excitatory
    population alone, with inhibition but no facilitation (u = 0), and with
    both. ``x_before`` is the network's (as in
    :func:`tum2000.analysis.recovery_dynamics`).
    """
    from tum2000.analysis import detect_population_spikes
    from tum2000.store.dataset import parameters_of
    from tum2000.meanfield.reduced import critical_x

    if ps is None:
        ps = detect_population_spikes(ds)
    params = parameters_of(ds)
    t = ds["time"].values
    onset = ps["ps_onset"].values
    idx = np.clip(np.searchsorted(t, onset, side="right") - 1, 0, t.size - 1)
    x = ds["recovered"]
    u = ds["utilization"]
    alone = critical_x(params, inhibition=False).x_c
    rows = {"x_before": [], "x_c_excitation": [], "x_c_inhibition": [], "x_c_facilitated": []}
    for i in idx:
        slow = {"x_IE": float(x.sel(pathway="IE")[i]), "x_EI": float(x.sel(pathway="EI")[i]),
                "x_II": float(x.sel(pathway="II")[i])}
        rows["x_before"].append(float(x.sel(pathway="EE")[i]))
        rows["x_c_excitation"].append(alone)
        rows["x_c_inhibition"].append(critical_x(params, **slow).x_c)
        rows["x_c_facilitated"].append(critical_x(
            params, u_EI=float(u.sel(pathway="EI")[i]), u_II=float(u.sel(pathway="II")[i]),
            **slow).x_c)
    return xr.Dataset({k: ("ps", np.asarray(v, dtype=np.float64), {"units": "1"})
                       for k, v in rows.items()},
                      coords={"ps": np.arange(idx.size),
                              "ps_time": ("ps", ps["ps_time"].values, {"units": "ms"})},
                      attrs={"seed": int(ds.attrs.get("seed", -1))})


def _sums(intervals: np.ndarray, x_before: np.ndarray, x_after: np.ndarray,
          participation: np.ndarray, partial: np.ndarray, sharp: np.ndarray,
          duration_ms: float) -> dict[str, float]:
    return {"n_ps": float(x_before.size), "n_intervals": float(intervals.size),
            "interval_sum_ms": float(np.sum(intervals)),
            "interval_sumsq_ms2": float(np.sum(intervals ** 2)),
            "x_before_sum": float(np.sum(x_before)), "x_after_sum": float(np.sum(x_after)),
            "participation_sum": float(np.sum(participation)),
            "n_partial": float(np.sum(partial)), "n_sharp": float(np.sum(sharp)),
            "duration_ms": float(duration_ms)}


def network_statistics(ds: xr.Dataset) -> dict[str, float]:
    """PS statistics of one network run (sums; see :data:`STATISTICS`)."""
    from tum2000.analysis import detect_population_spikes, recovery_dynamics
    from tum2000.store.dataset import duration_ms

    ps = detect_population_spikes(ds)
    rec = recovery_dynamics(ds, "EE", ps, per_synapse=False)
    return _sums(np.diff(ps["ps_time"].values), rec["x_before"].values, rec["x_after"].values,
                 ps["participation"].sel(population="exc").values, ps["is_partial"].values,
                 ps["is_sharp"].values, duration_ms(ds))


def rate_model_events(rm: xr.Dataset, threshold: float = 0.05, merge_gap_ms: float = 20.0,
                      after_ms: float = 20.0) -> xr.Dataset:
    """Population spikes of a rate-model run, with the network's definitions.

    The model's rate of all neurons (Hz) times the sample interval is the
    expected fraction of neurons firing per interval, the network's activity;
    a PS is a maximal run of samples above ``threshold``, runs less than
    ``merge_gap_ms`` apart merged. ``x_before`` is the EE x at the onset,
    ``x_after`` its minimum up to ``after_ms`` after the offset;
    ``participation`` the fraction of excitatory neurons that fire: per
    class the expected number of spikes in the PS, at most one. For one
    realization (no ``seed`` dimension).
    """
    from tum2000.analysis.population_spikes import PARTIAL_MAX_PARTICIPATION

    t = rm["time"].values
    step = float(t[1] - t[0])
    activity = rm["rate"].sel(population="all").values * step / 1000.0
    above = np.concatenate([[False], activity > threshold, [False]]).astype(np.int8)
    starts = np.flatnonzero(np.diff(above) == 1)
    stops = np.flatnonzero(np.diff(above) == -1)
    keep_s, keep_e = [], []
    for a, b in zip(starts, stops):
        if keep_s and (a - keep_e[-1]) * step < merge_gap_ms:
            keep_e[-1] = b
        else:
            keep_s.append(a)
            keep_e.append(b)
    x = rm["recovered"].sel(pathway="EE").values
    cls = rm["class_rate_exc"].values                  # (time, class), Hz
    n = len(keep_s)
    out = {k: np.full(n, np.nan) for k in ("ps_time", "ps_onset", "ps_offset", "ps_peak_hz",
                                           "x_before", "x_after", "participation")}
    for k, (a, b) in enumerate(zip(keep_s, keep_e)):
        peak = a + int(np.argmax(activity[a:b]))
        end = min(b + int(round(after_ms / step)), t.size)
        if k + 1 < n:
            end = min(end, keep_s[k + 1])
        out["ps_time"][k], out["ps_onset"][k], out["ps_offset"][k] = t[peak], t[a], t[a] + (b - a) * step
        out["ps_peak_hz"][k] = rm["rate"].sel(population="all").values[peak]
        out["x_before"][k] = x[a]
        out["x_after"][k] = float(np.min(x[a:max(end, a + 1)]))
        spikes = cls[a:b].sum(axis=0) * step / 1000.0
        out["participation"][k] = float(np.mean(np.minimum(spikes, 1.0)))
    data = {k: ("ps", v) for k, v in out.items()}
    data["is_partial"] = ("ps", out["participation"] < PARTIAL_MAX_PARTICIPATION)
    return xr.Dataset(data, coords={"ps": np.arange(n)},
                      attrs={"threshold": threshold, "merge_gap_ms": merge_gap_ms,
                             "after_ms": after_ms,
                             "duration_ms": float(t[-1] - t[0]) if t.size else 0.0})


def rate_model_statistics(rm: xr.Dataset) -> dict[str, float]:
    """PS statistics of one rate-model realization (sums; see :data:`STATISTICS`).

    A rate-model PS is never "sharp" in the network's sense (see the chapter):
    ``n_sharp`` counts events that are not partial.
    """
    ev = rate_model_events(rm)
    return _sums(np.diff(ev["ps_time"].values), ev["x_before"].values, ev["x_after"].values,
                 ev["participation"].values, ev["is_partial"].values,
                 ~ev["is_partial"].values, ev.attrs["duration_ms"])


def pooled(stats: xr.Dataset, dim: str = "seed") -> xr.Dataset:
    """Means over the runs along ``dim``: ``interval_ms`` (mean interval between PS),
    ``interval_cv``, ``x_before``, ``x_after``, ``participation`` (means over all
    PS), ``partial_fraction``, ``ps_per_s`` and the counts ``n_ps``, ``n_intervals``."""
    s = stats.sum(dim)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_i = s["interval_sum_ms"] / s["n_intervals"]
        var_i = s["interval_sumsq_ms2"] / s["n_intervals"] - mean_i ** 2
        return xr.Dataset({
            "interval_ms": mean_i.assign_attrs(units="ms"),
            "interval_cv": (np.sqrt(np.maximum(var_i, 0.0)) / mean_i).where(
                s["n_intervals"] >= 2).assign_attrs(units="1"),
            "x_before": (s["x_before_sum"] / s["n_ps"]).assign_attrs(units="1"),
            "x_after": (s["x_after_sum"] / s["n_ps"]).assign_attrs(units="1"),
            "participation": (s["participation_sum"] / s["n_ps"]).assign_attrs(units="1"),
            "partial_fraction": (s["n_partial"] / s["n_ps"]).assign_attrs(units="1"),
            "ps_per_s": (s["n_ps"] / s["duration_ms"] * 1000.0).assign_attrs(units="Hz"),
            "n_ps": s["n_ps"], "n_intervals": s["n_intervals"]})


def _stack(rows: list[list[dict[str, float]]], values: Sequence[Any], seeds: Sequence[int],
           name: str) -> xr.Dataset:
    arr = {k: (("value", "seed"), np.array([[r[k] for r in row] for row in rows]))
           for k in STATISTICS}
    return xr.Dataset(arr, coords={"value": ("value", list(values)),
                                   "seed": ("seed", list(seeds))},
                      attrs={"parameter": name})


def parameter_dependence(base: Parameters, values: Mapping[str, Sequence[Any]],
                         seeds: Sequence[int], rate_model_seeds: Sequence[int] | None = None,
                         **simulate_many_options: Any) -> dict[str, xr.Dataset]:
    """Network and finite-size rate model for each value of each parameter.

    ``values`` maps parameter names to the values to try (each changed alone
    from ``base``). All network runs go through one :func:`network_runs`
    call; the rate model runs every value and seed of ``rate_model_seeds``
    (default ``seeds``) as one batch, over the network's recording time.
    Returns, per parameter, a Dataset with dims (``model`` = network,
    rate_model; ``value``; ``seed``) holding the :data:`STATISTICS` sums (NaN
    where a model has fewer seeds); pool them with :func:`pooled`.
    """
    rm_seeds = list(seeds if rate_model_seeds is None else rate_model_seeds)
    changes = [(name, v) for name, vs in values.items() for v in vs]
    runs = network_runs(base, [{name: v} for name, v in changes], seeds,
                        **simulate_many_options)
    model = simulate_rate_model([base.replace(**{name: v}) for name, v in changes],
                                finite_size=True, seeds=rm_seeds)
    out = {}
    for name, vs in values.items():
        rows = [k for k, (n, _) in enumerate(changes) if n == name]
        net = _stack([[network_statistics(ds) for ds in runs[k]] for k in rows], vs, seeds,
                     name)
        rm = _stack([[rate_model_statistics(model.isel(run=k).sel(seed=sd)) for sd in rm_seeds]
                     for k in rows], vs, rm_seeds, name)
        both = xr.concat([net, rm], dim=xr.DataArray(["network", "rate_model"], dims="model"),
                         join="outer")
        both.attrs = {"parameter": name, "base_parameters": base.to_json()}
        out[name] = both
    return out
