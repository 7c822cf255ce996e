"""Population activity: the fraction of neurons that fire in each time bin.

Elephant's ``time_histogram`` with ``binary=True`` (a neuron counts once per
bin however many spikes it fires there) and ``output="mean"`` (divided by the
number of spike trains), as in Fig. 1B of Tsodyks, Uziel & Markram (2000),
which plots the "network activity" in 1 ms bins. The counts are made in one
vectorized pass with Elephant's binning rule
(:func:`~tum2000.analysis.neo_bridge.bin_indices`) instead of one Neo spike
train per neuron: ~50 times faster, and the tests check that the values are
identical to ``elephant.statistics.time_histogram``'s.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from tum2000.store.dataset import duration_ms, neuron_mask
from tum2000.analysis.neo_bridge import bin_indices


def bin_count(ds: xr.Dataset, bin_ms: float) -> int:
    """Number of whole bins of ``bin_ms`` in the recording [0, duration)."""
    if not bin_ms > 0:
        raise ValueError(f"bin_ms must be positive, got {bin_ms!r}")
    n = duration_ms(ds) / bin_ms
    return int(np.floor(n + 1e-9))


def population_activity(ds: xr.Dataset, bin_ms: float = 1.0,
                        population: str | None = "all") -> xr.DataArray:
    """Fraction of ``population``'s neurons that spike in each bin.

    Bins are half-open, [k, k + 1) * ``bin_ms`` ms from the start of the
    recording, k = 0 .. floor(duration / bin_ms) - 1 (a spike at exactly the
    end of the recording falls outside the last bin). Spike times within
    1e-8 bin below an edge are counted in the next bin (Elephant's correction
    of floating-point rounding).

    Returns a DataArray named "activity" with dim and coord ``time`` (the left
    bin edges, ms) and values in [0, 1] (units "1"); attributes give the
    bin width and the number of neurons.
    """
    n_bins = bin_count(ds, bin_ms)
    mask = neuron_mask(ds, population)
    n_neurons = int(mask.sum())
    edges = np.arange(n_bins) * float(bin_ms)
    if n_bins == 0 or n_neurons == 0:
        values = np.zeros(n_bins)
    else:
        neurons = np.asarray(ds["spike_neuron"].values, dtype=np.int64)
        chosen = mask[neurons]
        kept, bins = bin_indices(np.asarray(ds["spike_time"].values)[chosen], bin_ms, n_bins,
                                 n_bins * float(bin_ms))
        # binary: each (neuron, bin) pair counts once
        pairs = np.unique(neurons[chosen][kept] * np.int64(n_bins) + bins)
        counts = np.bincount(pairs % n_bins, minlength=n_bins)
        values = counts / n_neurons
    return xr.DataArray(
        values, dims="time", name="activity",
        coords={"time": ("time", edges, {"units": "ms", "long_name": "left edge of the bin"})},
        attrs={"units": "1", "long_name": f"fraction of {population or 'all'} neurons "
               f"spiking per {bin_ms:g} ms bin", "bin_ms": float(bin_ms),
               "population": population or "all", "n_neurons": n_neurons,
               "source": "as elephant.statistics.time_histogram(binary=True, output='mean')"})


def population_activities(ds: xr.Dataset, bin_ms: float = 1.0) -> xr.DataArray:
    """:func:`population_activity` of "all", "exc" and "inh", stacked on ``population``."""
    parts = [population_activity(ds, bin_ms, p) for p in ("all", "exc", "inh")]
    out = xr.concat(parts, dim="population", coords="minimal", compat="override",
                    combine_attrs="drop_conflicts")
    out = out.assign_coords(population=("population", ["all", "exc", "inh"]))
    out.attrs.update(units="1", bin_ms=float(bin_ms),
                     long_name=f"fraction of neurons spiking per {bin_ms:g} ms bin")
    return out.rename("activity")
