"""Population activity: the fraction of neurons that fire in each time bin.

Computed with Elephant's ``time_histogram`` (``binary=True``: a neuron counts
once per bin however many spikes it fires there; ``output="mean"``: divided by
the number of spike trains), as in Fig. 1B of Tsodyks, Uziel & Markram (2000),
which plots the "network activity" in 1 ms bins.
"""

from __future__ import annotations

import numpy as np
import quantities as pq
import xarray as xr
from elephant.statistics import time_histogram

from ..dataset import duration_ms
from .neo_bridge import quiet, spiketrains


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
    trains = spiketrains(ds, population)
    edges = np.arange(n_bins) * float(bin_ms)
    if n_bins == 0 or not trains:
        values = np.zeros(n_bins)
    else:
        with quiet():
            hist = time_histogram(trains, bin_size=bin_ms * pq.ms, t_start=0.0 * pq.ms,
                                  t_stop=n_bins * bin_ms * pq.ms, output="mean", binary=True)
        values = np.asarray(hist.magnitude, dtype=np.float64).ravel()
    return xr.DataArray(
        values, dims="time", name="activity",
        coords={"time": ("time", edges, {"units": "ms", "long_name": "left edge of the bin"})},
        attrs={"units": "1", "long_name": f"fraction of {population or 'all'} neurons "
               f"spiking per {bin_ms:g} ms bin", "bin_ms": float(bin_ms),
               "population": population or "all", "n_neurons": len(trains),
               "source": "elephant.statistics.time_histogram(binary=True, output='mean')"})


def population_activities(ds: xr.Dataset, bin_ms: float = 1.0) -> xr.DataArray:
    """:func:`population_activity` of "all", "exc" and "inh", stacked on ``population``."""
    parts = [population_activity(ds, bin_ms, p) for p in ("all", "exc", "inh")]
    out = xr.concat(parts, dim="population", coords="minimal", compat="override",
                    combine_attrs="drop_conflicts")
    out = out.assign_coords(population=("population", ["all", "exc", "inh"]))
    out.attrs.update(units="1", bin_ms=float(bin_ms),
                     long_name=f"fraction of neurons spiking per {bin_ms:g} ms bin")
    return out.rename("activity")
