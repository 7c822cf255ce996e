"""The population-density model over the size study's grid: full population
spikes against N at a fixed in-degree, from the model's finite-size noise.

The network's size study (:func:`tum2000.sweeps.scenarios.size_study`, K = 50
presynaptic partners at N = 500, 2,000, 5,000 and three spreads of the
background input) is repeated with :func:`tum2000.meanfield.density.simulate_density`
at the same parameters, with ``finite_size=True``: each neuron's own input
noise (the diffusion, set by K) does not change with N, while the population's
spike counts, which drive every synapse, fluctuate like Poisson counts of N
neurons. Runs go to Dask workers (:func:`tum2000.sweeps.cluster.parallel_map`).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Sequence

import numpy as np
import xarray as xr

from tum2000.model.parameters import Parameters

NOISE_SEEDS: tuple[int, ...] = (1, 2)
"""Seeds of the model's finite-size noise (its own stream,
``SeedSequence([seed, 2000])``, never one of the network's)."""

BURN_IN_MS = 1000.0
"""Model time before the recording (ms): the start-up volley dies out."""


def _events_of_run(params_json: str, seed: int, options_json: str) -> dict[str, float]:
    """Worker task: one finite-size run; its full and partial PS counts and the
    means of x before and participation of its full PS."""
    from tum2000.meanfield.bifurcation import rate_model_events
    from tum2000.meanfield.density import simulate_density

    params = Parameters.from_json(params_json)
    ds = simulate_density(params, finite_size=True, seed=int(seed), burn_in_ms=BURN_IN_MS,
                          **json.loads(options_json))
    ev = rate_model_events(ds)
    whole = ev["whole"]
    full = ev["full"] & whole
    return {"full_ps_count": float(full.sum()),
            "partial_ps_count": float((~ev["full"] & whole).sum()),
            "full_x_before_mean": float(np.mean(ev["x_before"][full])) if full.any() else np.nan,
            "full_participation_mean": (float(np.mean(ev["participation"][full]))
                                        if full.any() else np.nan),
            "duration_s": float(params["duration_ms"]) / 1000.0}


def density_size_study(seeds: Sequence[int] = NOISE_SEEDS, duration_ms: float = 20_000.0,
                       *, options: dict[str, Any] | None = None, workers: int | None = None,
                       progress: bool = False) -> xr.Dataset:
    """The density model at every point of the network's size study.

    Parameters
    ----------
    seeds
        Seeds of the model's finite-size noise.
    duration_ms
        Recorded model time per run (ms), after a burn-in of :data:`BURN_IN_MS`.
    options
        Numerical options of :func:`~tum2000.meanfield.density.simulate_density`
        (default :data:`tum2000.meanfield.density.FAST_OPTIONS`).
    workers
        Local Dask worker processes (default: one per core).

    Returns
    -------
    xarray.Dataset over (``I_b_spread_mV``, ``N_exc``, ``seed``) with
    ``full_ps_count``, ``partial_ps_count``, ``full_ps_rate_hz`` (1/s),
    ``full_x_before_mean``, ``full_participation_mean`` and ``duration_s``;
    coordinate ``N_inh`` along ``N_exc``, as the network's stored sweep.
    """
    from tum2000.sweeps.cluster import parallel_map
    from tum2000.sweeps.scenarios import size_grid

    from tum2000.meanfield.density import FAST_OPTIONS

    opts = json.dumps(FAST_OPTIONS if options is None else options)
    base, grid = size_grid()
    base = base.replace(duration_ms=float(duration_ms))
    seeds = [int(s) for s in seeds]
    points = [grid.point(index) for index in grid.indices()]
    jobs = [(i, s, base.replace(**point)) for i, point in enumerate(points) for s in seeds]
    if progress:
        print(f"  {len(jobs)} density-model run(s) of {duration_ms / 1000.0:g} s through Dask",
              file=sys.stderr, flush=True)
    results = parallel_map(_events_of_run, [p.to_json() for _, _, p in jobs],
                           [s for _, s, _ in jobs], [opts] * len(jobs), n_workers=workers)

    spreads = sorted({float(p["I_b_spread_mV"]) for p in points})
    n_exc = sorted({int(p["N_exc"]) for p in points})
    n_inh = {int(p["N_exc"]): int(p["N_inh"]) for p in points}
    names = list(results[0])
    data = {name: np.full((len(spreads), len(n_exc), len(seeds)), np.nan) for name in names}
    for (i, s, _), result in zip(jobs, results):
        at = (spreads.index(float(points[i]["I_b_spread_mV"])),
              n_exc.index(int(points[i]["N_exc"])), seeds.index(s))
        for name in names:
            data[name][at] = result[name]
    dims = ("I_b_spread_mV", "N_exc", "seed")
    out = xr.Dataset({name: (dims, values) for name, values in data.items()},
                     coords={"I_b_spread_mV": ("I_b_spread_mV", spreads, {"units": "mV"}),
                             "N_exc": n_exc, "seed": seeds,
                             "N_inh": ("N_exc", [n_inh[n] for n in n_exc])})
    out["full_ps_rate_hz"] = out["full_ps_count"] / out["duration_s"]
    out["full_ps_rate_hz"].attrs["units"] = "1/s"
    out["duration_s"].attrs["units"] = "s"
    out.attrs.update({"model": "population-density model, finite_size=True",
                      "options": opts, "burn_in_ms": BURN_IN_MS,
                      "base_parameters": base.to_json()})
    return out


__all__ = ["BURN_IN_MS", "NOISE_SEEDS", "density_size_study"]
