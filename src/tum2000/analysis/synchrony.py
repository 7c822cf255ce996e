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

Speed without changing a value (the tests compare with Elephant called the
plain way): spike trains are made once per condition and shared; they
are binned once per condition, in one vectorized pass with Elephant's rule,
and Elephant's correlation coefficients computed from a ``BinnedSpikeTrain``
of those counts; firing rates are counts over the duration exactly as ``mean_firing_rate``
computes them; spike contrast runs Elephant's own function with its inner
per-train histogram loop (``_get_theta_and_n_per_bin``) replaced, for the
duration of the call, by a vectorized one that returns the same integers.
"""

from __future__ import annotations

from typing import Sequence

import contextlib

import neo
import numpy as np
import quantities as pq
import xarray as xr
from elephant.conversion import BinnedSpikeTrain
from elephant.spike_train_correlation import (correlation_coefficient,
                                              spike_time_tiling_coefficient)
from elephant.spike_train_synchrony import spike_contrast
from elephant.statistics import cv, isi
from scipy import stats

from tum2000.store.dataset import POPULATIONS, duration_ms
from tum2000.analysis.neo_bridge import (bin_indices, complement_windows, quiet, spiketrains,
                         windowed_spiketrains)
from tum2000.analysis.population_spikes import detect_population_spikes, inside_windows

CONDITIONS: tuple[str, ...] = ("all", "inside", "outside")


def firing_rates(ds: xr.Dataset) -> xr.DataArray:
    """Mean firing rate of every neuron over the recording (Hz).

    As ``elephant.statistics.mean_firing_rate`` of each train computes it:
    the number of spikes in [t_start, t_stop] over ``t_stop - t_start`` (the
    recorded duration), in 1/ms, rescaled to Hz (the same floating-point
    operations; the tests compare with Elephant). Coordinates
    ``population`` and ``I_b`` (mV) give the "spectrum of basal discharge
    rates" against the background input.
    """
    t_stop = duration_ms(ds)
    times = np.asarray(ds["spike_time"].values, dtype=np.float64)
    neurons = np.asarray(ds["spike_neuron"].values, dtype=np.int64)
    inside = (times >= 0.0) & (times <= t_stop)
    counts = np.bincount(neurons[inside], minlength=ds.sizes["neuron"])
    rates = counts / (t_stop - 0.0) * 1000.0  # 1/ms -> Hz, as quantities rescales
    return xr.DataArray(
        rates, dims="neuron", name="rate",
        coords={"neuron": ds["neuron"].values,
                "population": ("neuron", np.asarray(ds["population"].values).astype(str)),
                "I_b": ("neuron", np.asarray(ds["I_b"].values, dtype=np.float64), {"units": "mV"})},
        attrs={"units": "Hz", "long_name": "mean firing rate",
               "source": "as elephant.statistics.mean_firing_rate"})


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

    Counts from one ``BinnedSpikeTrain`` (made from :func:`binned_counts`, the
    same counts Elephant bins from the trains); NaN for a silent train.
    """
    if not trains:
        return np.zeros(0)
    t_stop = float(trains[0].t_stop.rescale("ms").magnitude)
    n_win = int(np.floor(t_stop / window_ms + 1e-9))
    if n_win < 2:
        return np.full(len(trains), np.nan)
    with quiet():
        counts = BinnedSpikeTrain(binned_counts(trains, window_ms, n_win),
                                  bin_size=window_ms * pq.ms, t_start=0 * pq.ms,
                                  t_stop=n_win * window_ms * pq.ms).to_array()
        mean = counts.mean(axis=1)
        return np.where(mean > 0, counts.var(axis=1) / np.where(mean > 0, mean, 1), np.nan)


def binned_counts(trains: Sequence[neo.SpikeTrain], bin_ms: float, n_bins: int) -> np.ndarray:
    """(trains, n_bins) int32 spike counts, binned from 0 as Elephant's
    ``BinnedSpikeTrain`` bins them (:func:`~tum2000.analysis.neo_bridge.bin_indices`),
    for all trains in one pass."""
    lengths = np.fromiter((len(st) for st in trains), dtype=np.int64, count=len(trains))
    if not len(trains):
        times = np.zeros(0)
    else:  # trains share their units (Elephant requires it); one conversion factor
        to_ms = float((1.0 * trains[0].units).rescale(pq.ms).magnitude)
        times = np.concatenate([np.asarray(st.magnitude) for st in trains])
        times = times * to_ms if to_ms != 1.0 else times
    rows = np.repeat(np.arange(len(trains)), lengths)
    kept, bins = bin_indices(times, bin_ms, n_bins, n_bins * bin_ms)
    counts = np.zeros((len(trains), n_bins), dtype=np.int32)
    np.add.at(counts, (rows[kept], bins), 1)
    return counts


def mean_correlation(trains: Sequence[neo.SpikeTrain], bin_ms: float,
                     counts: np.ndarray | None = None) -> float:
    """Mean pairwise Pearson correlation of the binned trains (silent trains ignored).

    ``elephant.spike_train_correlation.correlation_coefficient`` of a
    ``BinnedSpikeTrain`` made from the count matrix (``counts``, computed
    here when not given: :func:`binned_counts` of ``trains``), which holds
    the same counts as one binned from the trains.
    """
    active = np.array([len(st) > 0 for st in trains], dtype=bool)
    if active.sum() < 2:
        return np.nan
    t_stop = float(trains[0].t_stop.rescale("ms").magnitude)
    n_bins = int(np.floor(t_stop / bin_ms + 1e-9))
    if n_bins < 2:
        return np.nan
    if counts is None:
        counts = binned_counts(trains, bin_ms, n_bins)
    with quiet():
        binned = BinnedSpikeTrain(counts[active], bin_size=bin_ms * pq.ms, t_start=0 * pq.ms,
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
    """Probability of k = 0..n_max neurons spiking in a ``bin_ms`` bin.

    The complexity distribution of ``elephant.statistics.Complexity(trains,
    bin_size, binary=True)``: the histogram (``np.bincount``) of the number of
    trains with a spike in each bin, normalized to sum 1. The per-bin numbers
    come from :func:`binned_counts` (Elephant's binning, one pass over all
    trains); the tests check that the result equals Elephant's.
    """
    out = np.full(n_max + 1, np.nan)
    if not trains:
        return out
    t_stop = float(trains[0].t_stop.rescale("ms").magnitude)
    n_bins = int(np.floor(t_stop / bin_ms + 1e-9))
    if n_bins < 1:
        return out
    per_bin = np.count_nonzero(binned_counts(trains, bin_ms, n_bins), axis=0)
    hist = np.bincount(per_bin).astype(np.float64)
    out[:] = 0.0
    out[:min(hist.size, n_max + 1)] = hist[:n_max + 1] / hist.sum()
    return out


def _theta_and_n_per_bin(spiketrains, t_start, t_stop, bin_size):
    """Vectorized ``elephant.spike_train_synchrony._get_theta_and_n_per_bin``.

    Elephant histograms each train with ``np.histogram(train, bins=edges)``
    (bins [e_i, e_i+1), the last one closed) and adds neighbouring bins (half
    overlap); theta is the sum over trains, n the number of trains with a
    spike. Here every spike's bin comes from one ``searchsorted`` over the
    same edges: the same integers.
    """
    bin_step = bin_size / 2
    edges = np.arange(t_start, t_stop + bin_step, bin_step)
    n_hist = edges.size - 1
    lengths = np.fromiter((len(st) for st in spiketrains), dtype=np.int64,
                          count=len(spiketrains))
    times = np.concatenate(spiketrains) if len(spiketrains) else np.zeros(0)
    train = np.repeat(np.arange(len(spiketrains)), lengths)
    index = np.searchsorted(edges, times, side="right") - 1
    index[times == edges[-1]] = n_hist - 1  # np.histogram's closed last bin
    keep = (index >= 0) & (index < n_hist)
    hist = np.zeros((len(spiketrains), n_hist), dtype=np.int64)
    np.add.at(hist, (train[keep], index[keep]), 1)
    histogram = hist[:, :-1] + hist[:, 1:]
    return histogram.sum(axis=0), np.count_nonzero(histogram, axis=0)


@contextlib.contextmanager
def _vectorized_spike_contrast():
    import elephant.spike_train_synchrony as sts

    original = sts._get_theta_and_n_per_bin
    sts._get_theta_and_n_per_bin = _theta_and_n_per_bin
    try:
        yield
    finally:
        sts._get_theta_and_n_per_bin = original


def _spike_contrast(trains: Sequence[neo.SpikeTrain], min_bin_ms: float) -> float:
    trains = [st for st in trains if len(st) > 0]
    if len(trains) < 2 or not any(len(st) > 1 for st in trains):
        return np.nan
    t_stop = trains[0].t_stop
    if float(t_stop.rescale("ms").magnitude) < 2 * min_bin_ms:
        return np.nan
    with quiet(), _vectorized_spike_contrast():
        return float(spike_contrast(trains, t_start=0 * pq.ms, t_stop=t_stop,
                                    min_bin=min_bin_ms * pq.ms))


def synchrony(ds: xr.Dataset, ps: xr.Dataset | None = None, *, pad_ms: float = 5.0,
              complexity_bin_ms: float = 1.0, corr_bin_ms: float = 5.0,
              sttc_dt_ms: float = 5.0, n_pairs: int = 30, seed: int = 0,
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
        Size and seed of the sample of pairs for the STTC (each pair costs
        ~1 ms in Elephant; 30 pairs per condition and population keep the
        whole summary within ~2 s).
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
    trains_whole = spiketrains(ds, "all")
    for c, cond in enumerate(CONDITIONS):
        w = windows[cond]
        cdur[c] = float(np.sum(w[:, 1] - w[:, 0])) if w.size else 0.0
        if cdur[c] <= 0:
            continue
        trains_all = trains_whole if cond == "all" else windowed_spiketrains(ds, w, "all")
        pops = np.array([st.annotations["population"] for st in trains_all])
        cpdf[c] = complexity_pdf(trains_all, complexity_bin_ms, n_all)
        sc[c] = _spike_contrast(trains_all, spike_contrast_min_bin_ms)
        # Binned once per condition; each population takes its rows.
        n_bins = int(np.floor(cdur[c] / corr_bin_ms + 1e-9))
        counts = binned_counts(trains_all, corr_bin_ms, n_bins) if n_bins >= 2 else None
        for p, pop in enumerate(POPULATIONS):
            member = np.ones(len(trains_all), bool) if pop == "all" else pops == pop
            sel = [st for st, m in zip(trains_all, member) if m]
            corr[c, p] = mean_correlation(sel, corr_bin_ms,
                                          None if counts is None else counts[member])
            sttc[c, p] = mean_sttc(sel, sttc_dt_ms, n_pairs, seed + 1000 * c + p)

    rates = firing_rates(ds)
    trains = trains_whole
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
