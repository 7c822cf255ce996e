"""Bridge between tum2000 datasets and Neo objects.

Every Elephant call in :mod:`tum2000.analysis` receives its spike trains
from this module, so units (ms), ``t_start`` = 0 and ``t_stop`` = the
recording's duration are set in one place.

Sources: Neo 0.14 (``neo.Block``, ``neo.Segment``, ``neo.SpikeTrain``,
``neo.core.spiketrainlist.SpikeTrainList``); dataset layout from
:mod:`tum2000.store.dataset` (CF indexed ragged array of spikes).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Iterator, Sequence

import neo
import numpy as np
import quantities as pq
import xarray as xr

from tum2000.store.dataset import duration_ms, neuron_mask


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence the known, harmless messages of Elephant and Neo.

    * Elephant's binning logs "Correcting N rounding errors" when a spike
      time lies within 1e-8 bin of the next edge (e.g. 29.000000000000004 ms
      computed as 290 * 0.1 ms); shifting it into the next bin is right.
    * "Binning discarded ... spike(s)": a spike at exactly ``t_stop`` lies
      outside the half-open bins [k, k+1) * bin_size.
    * quantities' deprecation of the ``copy`` argument, which Elephant 1.2
      still passes;
    * correlation of a silent train divides by zero (gives NaN, which we
      ignore in means).
    """
    logger = logging.getLogger("elephant")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Binning discarded.*")
            warnings.filterwarnings("ignore", message=".*'copy' argument in Quantity.*")
            warnings.filterwarnings("ignore", message=".*matrix subclass.*")
            warnings.filterwarnings("ignore", message=".*rounding errors.*")
            warnings.filterwarnings("ignore", category=RuntimeWarning,
                                    message=".*(invalid value|divide by zero|Mean of empty).*")
            warnings.filterwarnings("ignore", message=".*[Dd]etected (some|one or more) "
                                    "spike ?trains? .*")
            yield
    finally:
        logger.setLevel(level)


def _split_by_neuron(ds: xr.Dataset) -> list[np.ndarray]:
    """Spike times (ms) of every neuron, in neuron order, each sorted."""
    times = np.asarray(ds["spike_time"].values, dtype=np.float64)
    neurons = np.asarray(ds["spike_neuron"].values, dtype=np.int64)
    order = np.argsort(neurons, kind="stable")  # keeps time order within a neuron
    bounds = np.searchsorted(neurons[order], np.arange(ds.sizes["neuron"] + 1))
    sorted_times = times[order]
    return [sorted_times[bounds[i]:bounds[i + 1]] for i in range(ds.sizes["neuron"])]


def spiketrains(ds: xr.Dataset, population: str | None = None) -> list[neo.SpikeTrain]:
    """One ``neo.SpikeTrain`` per neuron of ``population`` (None/"all", "exc", "inh").

    Times in ms, ``t_start`` = 0 ms, ``t_stop`` = the recorded duration;
    annotations ``neuron`` (index into the dataset's ``neuron`` dimension),
    ``population`` ("exc"/"inh") and ``I_b`` (background input, mV).
    """
    mask = neuron_mask(ds, population)
    # Quantities instead of unit strings: quantities parses a string on every call.
    t_start, t_stop = 0.0 * pq.ms, duration_ms(ds) * pq.ms
    pops = np.asarray(ds["population"].values).astype(str)
    I_b = np.asarray(ds["I_b"].values, dtype=np.float64)
    per_neuron = _split_by_neuron(ds)
    return [neo.SpikeTrain(per_neuron[i], t_start=t_start, t_stop=t_stop, units=pq.ms,
                           neuron=int(i), population=str(pops[i]), I_b=float(I_b[i]))
            for i in np.flatnonzero(mask)]


def bin_indices(times_ms: np.ndarray, bin_ms: float, n_bins: int, t_stop_ms: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Bin of each spike in [0, n_bins) as Elephant's ``BinnedSpikeTrain`` bins it.

    The same operations as ``elephant.conversion.BinnedSpikeTrain`` (with
    ``t_start`` = 0): spikes outside [0, ``t_stop_ms``] are dropped, times are
    multiplied by 1 / ``bin_ms``, values within 1e-8 below the next integer are
    moved into the next bin (``elephant.utils.round_binning_errors``), and bins
    at or beyond ``n_bins`` are discarded. Returns (kept, bins): a boolean mask
    over ``times_ms`` and the bin of each kept spike. Vectorized over all spike
    trains at once, so binning costs one pass instead of one Elephant call per
    neuron (the tests check that the results are identical).
    """
    times = np.asarray(times_ms, dtype=np.float64)
    inside = (times >= 0.0) & (times <= t_stop_ms)
    bins = times[inside] * (1 / bin_ms)
    shift = 1 - 1e-8 <= bins % 1
    bins[shift] += 0.5
    bins = bins.astype(np.int32)
    valid = bins < n_bins
    kept = np.zeros(times.size, dtype=bool)
    kept[np.flatnonzero(inside)[valid]] = True
    return kept, bins[valid]


def spiketrain_list(ds: xr.Dataset) -> neo.core.spiketrainlist.SpikeTrainList:
    """All spikes as a Neo ``SpikeTrainList`` built straight from the ragged arrays."""
    from neo.core.spiketrainlist import SpikeTrainList

    return SpikeTrainList.from_spike_time_array(
        np.asarray(ds["spike_time"].values, dtype=np.float64),
        np.asarray(ds["spike_neuron"].values, dtype=np.int64),
        np.arange(ds.sizes["neuron"]), t_stop=duration_ms(ds) * pq.ms, units="ms",
        t_start=0.0 * pq.ms)


def to_block(ds: xr.Dataset) -> neo.Block:
    """The dataset as a ``neo.Block`` with one ``Segment`` holding every neuron's train.

    The block is annotated with the dataset's ``seed`` and ``code_version``;
    the segment's ``spiketrains`` are those of :func:`spiketrains` (all neurons,
    excitatory first).
    """
    block = neo.Block(name="tum2000", seed=int(ds.attrs.get("seed", -1)),
                      code_version=str(ds.attrs.get("code_version", "")))
    segment = neo.Segment(name="recording", index=0)
    segment.spiketrains = spiketrains(ds, "all")
    block.segments.append(segment)
    segment.block = block
    return block


def spikes_from_trains(trains: Sequence[neo.SpikeTrain]) -> tuple[np.ndarray, np.ndarray]:
    """Back from Neo: (spike_time in ms, spike_neuron) sorted by time.

    The neuron index is the ``neuron`` annotation when present, else the
    train's position in ``trains``.
    """
    times, neurons = [], []
    for k, st in enumerate(trains):
        idx = int(st.annotations.get("neuron", k))
        t = np.asarray(st.rescale("ms").magnitude, dtype=np.float64)
        times.append(t)
        neurons.append(np.full(t.size, idx, dtype=np.int32))
    if not times:
        return np.zeros(0), np.zeros(0, dtype=np.int32)
    t, n = np.concatenate(times), np.concatenate(neurons)
    order = np.lexsort((n, t))
    return t[order], n[order]


def from_block(block: neo.Block) -> tuple[np.ndarray, np.ndarray]:
    """Spike times (ms) and neuron indices of a block made by :func:`to_block`."""
    return spikes_from_trains(block.segments[0].spiketrains)


def windowed_spiketrains(ds: xr.Dataset, windows_ms: np.ndarray,
                         population: str | None = None) -> list[neo.SpikeTrain]:
    """Spike trains restricted to time windows and stitched end to end.

    ``windows_ms`` is an (n, 2) array of disjoint, sorted [start, stop) windows
    in ms. Spikes inside window k are shifted so that the windows follow one
    another without gaps; the trains run from 0 to the total window length.
    Used to compute Elephant measures "inside" or "outside" population spikes.
    Returns an empty list when the windows have no length.
    """
    windows = np.asarray(windows_ms, dtype=np.float64).reshape(-1, 2)
    lengths = windows[:, 1] - windows[:, 0]
    total = float(lengths.sum())
    if total <= 0:
        return []
    offsets = np.concatenate([[0.0], np.cumsum(lengths)[:-1]]) - windows[:, 0]
    mask = neuron_mask(ds, population)
    pops = np.asarray(ds["population"].values).astype(str)
    I_b = np.asarray(ds["I_b"].values, dtype=np.float64)
    per_neuron = _split_by_neuron(ds)
    out = []
    for i in np.flatnonzero(mask):
        t = per_neuron[i]
        k = np.searchsorted(windows[:, 0], t, side="right") - 1
        inside = (k >= 0) & (t < windows[np.clip(k, 0, None), 1])
        shifted = np.clip(t[inside] + offsets[k[inside]], 0.0, total)
        out.append(neo.SpikeTrain(np.sort(shifted), t_start=0.0, t_stop=total, units="ms",
                                  neuron=int(i), population=str(pops[i]), I_b=float(I_b[i])))
    return out


def complement_windows(windows_ms: np.ndarray, t_stop: float) -> np.ndarray:
    """The parts of [0, t_stop) not covered by the sorted, disjoint ``windows_ms``."""
    windows = np.asarray(windows_ms, dtype=np.float64).reshape(-1, 2)
    starts = np.concatenate([[0.0], windows[:, 1]])
    stops = np.concatenate([windows[:, 0], [t_stop]])
    keep = stops > starts
    return np.column_stack([starts[keep], stops[keep]])
