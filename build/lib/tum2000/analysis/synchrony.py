"""Synchrony and firing statistics, computed with Elephant.

Measures are given for the whole recording ("all"), for the time inside
population spikes ("inside": the [onset - pad, offset + pad) windows) and
for the time between them ("outside"). Inside/outside trains are the
recording restricted to those windows and stitched end to end
(:func:`tum2000.analysis.neo_bridge.windowed_spiketrains`).

Sources: Elephant 1.2 — ``statistics.Complexity`` (complexity
distribution), ``spike_train_synchrony.spike_contrast`` (Ciba et al. 2018),
``conversion.BinnedSpikeTrain`` + ``spike_train_correlation.correlation_coefficient``
(pairwise Pearson correlation of binned trains),
``spike_train_correlation.spike_time_tiling_coefficient`` (Cutts & Eglen
2014), ``statistics.isi`` / ``cv``, ``statistics.mean_firing_rate``; Fano factor
as ``elephant.statistics.fanofactor`` defines it (var / mean, ddof 0) of the
counts in ``fano_window_ms`` windows of each neuron.
"""

from __future__ import annotations

from typing import Sequence

import neo
import numpy as np
import quantities as pq
import xarray as xr
from elephant.conversion import BinnedSpikeTrain
from elephant.spike_train_correlation import (correlation_coefficient,
                                              spike_time_tiling_coefficient)
from elephant.spike_train_synchrony import spike_contrast
from elephant.statistics import Complexity, cv, isi, mean_firing_rate
from scipy import stats

from ..dataset import POPULATIONS, duration_ms
from .neo_bridge import complement_windows, quiet, spiketrains, windowed_spiketrains
from .population_spikes import detect_population_spikes, inside_windows

CONDITIONS: tuple[str, ...] = ("all", "inside", "outside")


def firing_rates(ds: xr.Dataset) -> xr.DataArray:
    """Mean firing rate of every neuron over the recording (Hz).

    ``elephant.statistics.mean_firing_rate`` of each train (spike count over
    ``t_stop - t_start`` = the recorded duration). Coordinates ``population``
    and ``I_b`` (mV) give the "spectrum of basal discharge rates" against
    the background input.
    """
    trains = spiketrains(ds, "all")
    with quiet():
        rates = np.array([float(mean_firing_rate(st).rescale("Hz").magnitude) for st in trains])
    return xr.DataArray(
        rates, dims="neuron", name="rate",
        coords={"neuron": ds["neuron"].values,
                "population": ("neuron", np.asarray(ds["population"].values).astype(str)),
                "I_b": ("neuron", np.asarray(ds["I_b"].values, dtype=np.float64), {"units": "mV"})},
        attrs={"units": "Hz", "long_name": "mean firing rate",
               "source": "elephant.statistics.mean_firing_rate"})


def cv_isi(trains: Sequence[neo.SpikeTrain], min_spikes: int = 3) -> np.ndarray:
    """CV (std / mean, ddof 0) of the ISIs of each train; NaN below ``min_spikes`` spikes."""
    out = np.full(len(trains), np.nan)
    with quiet():
        for k, st in enumerate(trains):
            if len(st) >= min_spikes:
                out[k] = float(cv(np.asarray(isi(st).magnitude)))
    return out


def fano_factors(trains: Sequence[neo.SpikeTrain], window_ms: float) -> np.ndarray:
    """Fano factor (var / mean of counts, ddof 0) of each train in ``window_ms`` windows.

    Counts come from one ``BinnedSpikeTrain``; NaN for a silent train.
    """
    if not trains:
        return np.zeros(0)
    t_stop = float(trains[0].t_stop.rescale("ms").magnitude)
    n_win = int(np.floor(t_stop / window_ms + 1e-9))
    if n_win < 2:
        return np.full(len(trains), np.nan)
    with quiet():
        counts = BinnedSpikeTrain(list(trains), bin_size=window_ms * pq.ms, t_start=0 * pq.ms,
                                  t_stop=n_win * window_ms * pq.ms).to_array()
        mean = counts.mean(axis=1)
        return np.where(mean > 0, counts.var(axis=1) / np.where(mean > 0, mean, 1), np.nan)


def mean_correlation(trains: Sequence[neo.SpikeTrain], bin_ms: float) -> float:
    """Mean pairwise Pearson correlation of the binned trains (silent trains ignored)."""
    active = [st for st in trains if len(st) > 0]
    if len(active) < 2:
        return np.nan
    t_stop = float(active[0].t_stop.rescale("ms").magnitude)
    n_bins = int(np.floor(t_stop / bin_ms + 1e-9))
    if n_bins < 2:
        return np.nan
    with quiet():
        binned = BinnedSpikeTrain(active, bin_size=bin_ms * pq.ms, t_start=0 * pq.ms,
                                  t_stop=n_bins * bin_ms * pq.ms)
        c = correlation_coefficient(binned)
    off = c[~np.eye(c.shape[0], dtype=bool)]
    return float(np.nanmean(off)) if np.isfinite(off).any() else np.nan


def sample_pairs(n: int, n_pairs: int, seed: int) -> np.ndarray:
    """Up to ``n_pairs`` distinct unordered pairs (i < j) of range(n), seeded."""
    total = n * (n - 1) // 2
    if total == 0:
        return np.zeros((0, 2), dtype=np.int64)
    rng = np.random.default_rng(seed)
    flat = np.sort(rng.choice(total, size=min(n_pairs, total), replace=False))
    # unrank flat index -> (i, j) with i < j in row-major order of the upper triangle
    i = (n - 2 - np.floor(np.sqrt(-8 * flat + 4 * n * (n - 1) - 7) / 2.0 - 0.5)).astype(np.int64)
    j = (flat + i + 1 - n * (n - 1) // 2 + (n - i) * ((n - i) - 1) // 2).astype(np.int64)
    return np.column_stack([i, j])


def mean_sttc(trains: Sequence[neo.SpikeTrain], dt_ms: float, n_pairs: int, seed: int) -> float:
    """Mean STTC over a seeded sample of pairs of non-silent trains."""
    active = [st for st in trains if len(st) > 0]
    pairs = sample_pairs(len(active), n_pairs, seed)
    if pairs.size == 0:
        return np.nan
    with quiet():
        vals = [spike_time_tiling_coefficient(active[a], active[b], dt=dt_ms * pq.ms)
                for a, b in pairs]
    vals = np.asarray(vals, dtype=np.float64)
    return float(np.nanmean(vals)) if np.isfinite(vals).any() else np.nan


def complexity_pdf(trains: Sequence[neo.SpikeTrain], bin_ms: float, n_max: int) -> np.ndarray:
    """Probability of k = 0..n_max neurons spiking in a ``bin_ms`` bin (Elephant Complexity)."""
    out = np.full(n_max + 1, np.nan)
    if not trains:
        return out
    t_stop = float(trains[0].t_stop.rescale("ms").magnitude)
    n_bins = int(np.floor(t_stop / bin_ms + 1e-9))
    if n_bins < 1:
        return out
    with quiet():
        trains = [st.time_slice(0 * pq.ms, n_bins * bin_ms * pq.ms) for st in trains] \
            if abs(n_bins * bin_ms - t_stop) > 1e-9 else list(trains)
        hist = np.asarray(Complexity(trains, bin_size=bin_ms * pq.ms, binary=True)
                          .complexity_histogram, dtype=np.float64)
    out[:] = 0.0
    out[:min(hist.size, n_max + 1)] = hist[:n_max + 1] / hist.sum()
    return out


def _spike_contrast(trains: Sequence[neo.SpikeTrain], min_bin_ms: float) -> float:
    trains = [st for st in trains if len(st) > 0]
    if len(trains) < 2 or not any(len(st) > 1 for st in trains):
        return np.nan
    t_stop = trains[0].t_stop
    if float(t_stop.rescale("ms").magnitude) < 2 * min_bin_ms:
        return np.nan
    with quiet():
        return float(spike_contrast(trains, t_start=0 * pq.ms, t_stop=t_stop,
                                    min_bin=min_bin_ms * pq.ms))


def synchrony(ds: xr.Dataset, ps: xr.Dataset | None = None, *, pad_ms: float = 5.0,
              complexity_bin_ms: float = 1.0, corr_bin_ms: float = 5.0,
              sttc_dt_ms: float = 5.0, n_pairs: int = 100, seed: int = 0,
              spike_contrast_min_bin_ms: float = 10.0, fano_window_ms: float = 100.0,
              **detect_options) -> xr.Dataset:
    """Synchrony measures inside and outside population spikes, and firing statistics.

    Parameters
    ----------
    ps
        Population spikes from :func:`detect_population_spikes` (detected with
        ``detect_options`` if None).
    pad_ms
        The "inside" windows are [onset - pad_ms, offset + pad_ms) (ms).
    complexity_bin_ms, corr_bin_ms, sttc_dt_ms
        Bin of the complexity distribution, bin of the correlation
        coefficients, STTC's coincidence window (ms).
    n_pairs, seed
        Size and seed of the sample of pairs for the STTC.
    spike_contrast_min_bin_ms
        Elephant's ``min_bin`` of spike contrast (ms).
    fano_window_ms
        Counting window of the Fano factor (ms).

    Returns
    -------
    xarray.Dataset with coords ``condition`` (all/inside/outside),
    ``population`` (all/exc/inh) and ``complexity`` (0..N):
    ``spike_contrast`` (condition), ``correlation`` and ``sttc``
    (condition, population; means over pairs), ``complexity_pdf``
    (condition, complexity), ``condition_duration`` (condition, ms),
    ``cv_isi`` and ``fano_factor`` (population; means over neurons with
    >= 3 spikes / with spikes) and ``rate_I_b_spearman`` (population:
    Spearman correlation of firing rate with I_b).
    NaN wherever a measure is undefined (e.g. "inside" without any PS).
    """
    if ps is None:
        ps = detect_population_spikes(ds, **detect_options)
    dur = duration_ms(ds)
    inside = inside_windows(ps, pad_ms)
    windows = {"all": np.array([[0.0, dur]]), "inside": inside,
               "outside": complement_windows(inside, dur)}
    n_all = ds.sizes["neuron"]
    sc = np.full(len(CONDITIONS), np.nan)
    corr = np.full((len(CONDITIONS), len(POPULATIONS)), np.nan)
    sttc = np.full((len(CONDITIONS), len(POPULATIONS)), np.nan)
    cpdf = np.full((len(CONDITIONS), n_all + 1), np.nan)
    cdur = np.zeros(len(CONDITIONS))
    for c, cond in enumerate(CONDITIONS):
        w = windows[cond]
        cdur[c] = float(np.sum(w[:, 1] - w[:, 0])) if w.size else 0.0
        if cdur[c] <= 0:
            continue
        trains_all = (spiketrains(ds, "all") if cond == "all"
                      else windowed_spiketrains(ds, w, "all"))
        pops = np.array([st.annotations["population"] for st in trains_all])
        cpdf[c] = complexity_pdf(trains_all, complexity_bin_ms, n_all)
        sc[c] = _spike_contrast(trains_all, spike_contrast_min_bin_ms)
        for p, pop in enumerate(POPULATIONS):
            sel = [st for st, q in zip(trains_all, pops) if pop == "all" or q == pop]
            corr[c, p] = mean_correlation(sel, corr_bin_ms)
            sttc[c, p] = mean_sttc(sel, sttc_dt_ms, n_pairs, seed + 1000 * c + p)

    rates = firing_rates(ds)
    trains = spiketrains(ds, "all")
    cvs = cv_isi(trains)
    fanos = fano_factors(trains, fano_window_ms)
    pop_of = rates["population"].values
    cv_pop, fano_pop, rho = (np.full(len(POPULATIONS), np.nan) for _ in range(3))
    for p, pop in enumerate(POPULATIONS):
        m = np.ones(n_all, bool) if pop == "all" else pop_of == pop
        if np.isfinite(cvs[m]).any():
            cv_pop[p] = float(np.nanmean(cvs[m]))
        if np.isfinite(fanos[m]).any():
            fano_pop[p] = float(np.nanmean(fanos[m]))
        r, ib = rates.values[m], rates["I_b"].values[m]
        if r.size >= 3 and np.ptp(r) > 0 and np.ptp(ib) > 0:
            rho[p] = float(stats.spearmanr(r, ib).statistic)

    one = {"units": "1"}
    return xr.Dataset(
        {
            "spike_contrast": ("condition", sc, {**one, "long_name": "spike-contrast synchrony "
                                                 "(elephant, all neurons)"}),
            "correlation": (("condition", "population"), corr,
                            {**one, "long_name": f"mean pairwise correlation coefficient, "
                             f"{corr_bin_ms:g} ms bins"}),
            "sttc": (("condition", "population"), sttc,
                     {**one, "long_name": f"mean spike time tiling coefficient, dt = "
                      f"{sttc_dt_ms:g} ms, {n_pairs} sampled pairs"}),
            "complexity_pdf": (("condition", "complexity"), cpdf,
                               {**one, "long_name": f"probability that k neurons spike in a "
                                f"{complexity_bin_ms:g} ms bin"}),
            "condition_duration": ("condition", cdur, {"units": "ms"}),
            "cv_isi": ("population", cv_pop, {**one, "long_name": "mean CV of interspike intervals"}),
            "fano_factor": ("population", fano_pop,
                            {**one, "long_name": f"mean Fano factor of counts in "
                             f"{fano_window_ms:g} ms windows"}),
            "rate_I_b_spearman": ("population", rho, {**one, "long_name": "Spearman correlation "
                                                      "of firing rate with I_b"}),
        },
        coords={"condition": list(CONDITIONS), "population": list(POPULATIONS),
                "complexity": np.arange(n_all + 1)},
        attrs={"pad_ms": pad_ms, "complexity_bin_ms": complexity_bin_ms,
               "corr_bin_ms": corr_bin_ms, "sttc_dt_ms": sttc_dt_ms, "n_pairs": n_pairs,
               "seed": seed, "fano_window_ms": fano_window_ms,
               "spike_contrast_min_bin_ms": spike_contrast_min_bin_ms},
    )
