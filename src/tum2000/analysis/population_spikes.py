"""Detection and statistics of population spikes (PS).

Default definition (issue #3): a population spike is a maximal run of
``bin_ms`` = 1 ms bins in which the activity (fraction of *all* neurons,
N = N_exc + N_inh, that spike in the bin; :func:`population_activity`)
exceeds ``threshold`` = 0.05; runs separated by less than ``merge_gap_ms``
= 20 ms of sub-threshold bins are merged; the PS is timed at the left edge
of its peak bin (the first bin of maximal activity).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats

from tum2000.analysis.activity import population_activity
from tum2000.store.dataset import POPULATIONS, duration_ms, neuron_mask

N_FIRST = 10
"""How many leading neurons of each PS are listed in ``first_neurons``."""

# Kinds of population spikes, defined once for the whole project. "Participation"
# always means the fraction of the *excitatory* neurons that fire in the PS.
PARTIAL_MAX_PARTICIPATION = 0.5
"""A PS in which fewer than this fraction of excitatory neurons fire is *partial*."""
SHARP_MAX_WIDTH_MS = 6.0
"""A *sharp* PS is at most this wide at half maximum (ms) ..."""
SHARP_MIN_PARTICIPATION = 0.7
"""... and at least this fraction of the excitatory neurons fire in it."""


def spike_bins(times_ms: np.ndarray, bin_ms: float) -> np.ndarray:
    """Bin index of each spike time, with Elephant's rounding convention.

    A time within 1e-8 bin below an edge belongs to the next bin, as in
    ``elephant.utils.round_binning_errors`` (used by ``BinnedSpikeTrain``).
    """
    return np.floor(np.asarray(times_ms, dtype=np.float64) / bin_ms + 1e-8).astype(np.int64)


def _runs(above: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and stop (exclusive) bin indices of runs of True."""
    padded = np.concatenate([[False], above, [False]]).astype(np.int8)
    change = np.diff(padded)
    return np.flatnonzero(change == 1), np.flatnonzero(change == -1)


def _merge(starts: np.ndarray, stops: np.ndarray, min_gap_bins: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """Merge runs whose gap (stop of one to start of the next) is < ``min_gap_bins``."""
    if starts.size == 0:
        return starts, stops
    new_starts, new_stops = [int(starts[0])], [int(stops[0])]
    for a, b in zip(starts[1:], stops[1:]):
        if a - new_stops[-1] < min_gap_bins - 1e-9:
            new_stops[-1] = int(b)
        else:
            new_starts.append(int(a))
            new_stops.append(int(b))
    return np.asarray(new_starts, dtype=np.int64), np.asarray(new_stops, dtype=np.int64)


def detect_population_spikes(ds: xr.Dataset, threshold: float = 0.05,
                             merge_gap_ms: float = 20.0, bin_ms: float = 1.0,
                             lead_ms: float = 5.0,
                             activity: xr.DataArray | None = None) -> xr.Dataset:
    """Find population spikes and describe each one.

    Parameters
    ----------
    ds
        A tum2000 dataset.
    threshold
        A bin belongs to a PS when the fraction of all neurons spiking in it
        is strictly above ``threshold`` (default 0.05: 25 of 500 neurons).
    merge_gap_ms
        Runs of supra-threshold bins whose gap (start of the next run minus
        end of the previous one) is shorter than this are one PS (ms).
    bin_ms
        Bin width of the activity (ms).
    lead_ms
        For the recruitment order only: first spikes are looked for from
        ``lead_ms`` before the onset (but not before the previous PS ended)
        to the offset, so the neurons that start the PS are seen (ms).
    activity
        A precomputed ``population_activity(ds, bin_ms, "all")`` to reuse.

    Returns
    -------
    xarray.Dataset with dimension ``ps`` and variables

    * ``ps_time`` (ms): left edge of the peak bin;
    * ``ps_peak`` (1): activity in the peak bin;
    * ``ps_onset`` / ``ps_offset`` (ms): left edge of the first and right edge
      of the last supra-threshold bin;
    * ``ps_width`` (ms): full width at half maximum, the number of contiguous
      bins around the peak with activity >= peak / 2, times ``bin_ms``;
    * ``participation`` (ps, population = all/exc/inh): fraction of the
      population's neurons that spike at least once in [onset, offset);
    * ``n_participants`` (ps): number of neurons spiking in [onset, offset);
    * ``first_neurons`` (ps, rank): indices of the first ``N_FIRST`` neurons to
      fire (-1 when fewer fired); ``first_I_b_percentile`` (ps): mean
      percentile of their I_b among all neurons (100 = largest input);
      ``recruitment_rho`` (ps): Spearman correlation between first-spike
      latency and I_b of the participating neurons (negative: neurons with
      larger background input fire first);
    * ``ipi_before`` (ps, ms): interval from the previous PS (NaN for the first);
    * ``is_partial`` (ps): excitatory participation below
      :data:`PARTIAL_MAX_PARTICIPATION`; ``is_sharp`` (ps): width at most
      :data:`SHARP_MAX_WIDTH_MS` and excitatory participation at least
      :data:`SHARP_MIN_PARTICIPATION`;

    and scalars ``n_ps``, ``ps_rate_hz`` (PS per second of recording),
    ``mean_ipi_ms`` and ``cv_ipi`` (std / mean of the inter-PS intervals,
    ddof 0; NaN with fewer than two intervals).
    """
    if activity is None:
        activity = population_activity(ds, bin_ms, "all")
    act = np.asarray(activity.values, dtype=np.float64)
    n_bins = act.size
    starts, stops = _runs(act > threshold)
    starts, stops = _merge(starts, stops, merge_gap_ms / bin_ms)
    n = starts.size

    peak_bin = np.array([s + int(np.argmax(act[s:e])) for s, e in zip(starts, stops)],
                        dtype=np.int64)
    peak = act[peak_bin] if n else np.zeros(0)
    width = np.zeros(n)
    for k in range(n):
        lo_limit = stops[k - 1] if k > 0 else 0
        hi_limit = starts[k + 1] if k + 1 < n else n_bins
        half = peak[k] / 2.0
        lo = peak_bin[k]
        while lo - 1 >= lo_limit and act[lo - 1] >= half:
            lo -= 1
        hi = peak_bin[k]
        while hi + 1 < hi_limit and act[hi + 1] >= half:
            hi += 1
        width[k] = (hi - lo + 1) * bin_ms

    times = np.asarray(ds["spike_time"].values, dtype=np.float64)
    neurons = np.asarray(ds["spike_neuron"].values, dtype=np.int64)
    bins = spike_bins(times, bin_ms)
    n_neurons = ds.sizes["neuron"]
    masks = {p: neuron_mask(ds, p) for p in POPULATIONS}
    I_b = np.asarray(ds["I_b"].values, dtype=np.float64)
    I_b_pct = 100.0 * stats.rankdata(I_b) / I_b.size if I_b.size else I_b

    participation = np.zeros((n, len(POPULATIONS)))
    n_part = np.zeros(n, dtype=np.int64)
    first = np.full((n, N_FIRST), -1, dtype=np.int64)
    first_pct = np.full(n, np.nan)
    rho = np.full(n, np.nan)
    lead_bins = int(round(lead_ms / bin_ms))
    for k in range(n):
        lo, hi = np.searchsorted(bins, [starts[k], stops[k]])
        fired = np.zeros(n_neurons, dtype=bool)
        fired[neurons[lo:hi]] = True
        n_part[k] = fired.sum()
        for j, p in enumerate(POPULATIONS):
            m = masks[p]
            participation[k, j] = fired[m].sum() / m.sum() if m.any() else np.nan
        # recruitment order: first spike of each neuron from lead_ms before onset
        r_lo = max(starts[k] - lead_bins, stops[k - 1] if k > 0 else 0)
        lo2 = np.searchsorted(bins, r_lo)
        seg_n, seg_t = neurons[lo2:hi], times[lo2:hi]
        uniq, idx = np.unique(seg_n, return_index=True)  # first occurrence = first spike
        order = np.lexsort((uniq, seg_t[idx]))
        leaders = uniq[order][:N_FIRST]
        first[k, :leaders.size] = leaders
        if leaders.size:
            first_pct[k] = float(np.mean(I_b_pct[leaders]))
        if uniq.size >= 3 and np.ptp(I_b[uniq]) > 0 and np.ptp(seg_t[idx]) > 0:
            rho[k] = stats.spearmanr(seg_t[idx], I_b[uniq]).statistic

    ps_time = peak_bin * float(bin_ms)
    ipi = np.diff(ps_time)
    ipi_before = np.concatenate([[np.nan], ipi]) if n else np.zeros(0)
    dur = duration_ms(ds)
    mean_ipi = float(np.mean(ipi)) if ipi.size else np.nan
    cv_ipi = float(np.std(ipi) / np.mean(ipi)) if ipi.size >= 2 else np.nan

    exc_part = participation[:, list(POPULATIONS).index("exc")] if n else np.zeros(0)
    is_partial = exc_part < PARTIAL_MAX_PARTICIPATION
    is_sharp = (width <= SHARP_MAX_WIDTH_MS) & (exc_part >= SHARP_MIN_PARTICIPATION)

    ms = {"units": "ms"}
    one = {"units": "1"}
    out = xr.Dataset(
        {
            "ps_time": ("ps", ps_time, {**ms, "long_name": "population spike time (left edge of peak bin)"}),
            "ps_peak": ("ps", peak, {**one, "long_name": "peak activity (fraction of all neurons)"}),
            "ps_onset": ("ps", starts * float(bin_ms), {**ms, "long_name": "left edge of first supra-threshold bin"}),
            "ps_offset": ("ps", stops * float(bin_ms), {**ms, "long_name": "right edge of last supra-threshold bin"}),
            "ps_width": ("ps", width, {**ms, "long_name": "full width at half maximum"}),
            "participation": (("ps", "population"), participation,
                              {**one, "long_name": "fraction of the population spiking in [onset, offset)"}),
            "n_participants": ("ps", n_part, {**one, "long_name": "neurons spiking in [onset, offset)"}),
            "first_neurons": (("ps", "rank"), first,
                              {**one, "long_name": "first neurons to fire (-1: none)"}),
            "first_I_b_percentile": ("ps", first_pct,
                                     {"units": "%", "long_name": "mean I_b percentile of the first neurons"}),
            "recruitment_rho": ("ps", rho, {**one, "long_name": "Spearman correlation of "
                                            "first-spike latency with I_b"}),
            "ipi_before": ("ps", ipi_before, {**ms, "long_name": "interval since the previous PS"}),
            "is_partial": ("ps", is_partial, {**one, "long_name": "partial PS: excitatory "
                           f"participation < {PARTIAL_MAX_PARTICIPATION:g}"}),
            "is_sharp": ("ps", is_sharp, {**one, "long_name": f"sharp PS: width <= "
                         f"{SHARP_MAX_WIDTH_MS:g} ms and excitatory participation >= "
                         f"{SHARP_MIN_PARTICIPATION:g}"}),
            "n_ps": ((), n, {**one, "long_name": "number of population spikes"}),
            "ps_rate_hz": ((), n / dur * 1000.0 if dur > 0 else np.nan,
                           {"units": "Hz", "long_name": "population spikes per second"}),
            "mean_ipi_ms": ((), mean_ipi, {**ms, "long_name": "mean inter-PS interval"}),
            "cv_ipi": ((), cv_ipi, {**one, "long_name": "coefficient of variation of inter-PS intervals"}),
        },
        coords={"ps": ("ps", np.arange(n)), "population": ("population", list(POPULATIONS)),
                "rank": ("rank", np.arange(N_FIRST))},
        attrs={"threshold": float(threshold), "merge_gap_ms": float(merge_gap_ms),
               "bin_ms": float(bin_ms), "lead_ms": float(lead_ms), "duration_ms": dur,
               "definition": "maximal runs of bins with activity > threshold, runs with "
                             "gaps < merge_gap_ms merged, timed at the peak bin's left edge"},
    )
    return out


def inside_windows(ps: xr.Dataset, pad_ms: float = 0.0) -> np.ndarray:
    """(n, 2) array of [onset - pad, offset + pad) windows of the PS, merged if overlapping."""
    if ps.sizes.get("ps", 0) == 0:
        return np.zeros((0, 2))
    dur = float(ps.attrs.get("duration_ms", np.inf))
    lo = np.clip(ps["ps_onset"].values - pad_ms, 0.0, dur)
    hi = np.clip(ps["ps_offset"].values + pad_ms, 0.0, dur)
    merged: list[list[float]] = []
    for a, b in zip(lo, hi):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([float(a), float(b)])
    return np.asarray(merged)
