"""The held-out evaluation of ``tum2000 theory``: network points nobody tuned on.

Five parameter points inside the ranges ``tum2000 theory`` must cover (N =
500; background spread w 0.25-1.5 mV, EE_tau_rec_ms 400-1600, EE_U 0.3-0.7,
EE_A_mV 1.2-2.4), chosen before any theory was written and never simulated
while the theory was developed, each with ten seeds (101-110) that no
development run used (development used seeds 1-8). Every run records 60 s.
The result is stored with the book (``book/data/held_out.nc``), made and
checked like the other stored sweeps (:mod:`tum2000.sweeps.stored`).

The points move four parameters together (one zipped grid axis, named after
``EE_A_mV``, whose values are distinct so that the axis has a unique index).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import xarray as xr

from tum2000.model.parameters import Parameters, preset

NAME = "held_out"
"""Base name of the stored file (``book/data/held_out.nc``)."""

SEEDS: tuple[int, ...] = tuple(range(101, 111))
"""Seeds of the evaluation; development runs used seeds 1-8 only."""

DURATION_MS = 60_000.0
"""Recorded time of every evaluation run (ms)."""

POINTS: dict[str, tuple[float, ...]] = {
    # point:        1      2       3      4      5
    "EE_A_mV":       (1.8,   1.9,    1.7,   2.2,   1.5),
    "I_b_spread_mV": (0.5,   1.0,    0.75,  1.25,  0.5),
    "EE_tau_rec_ms": (800.0, 1200.0, 800.0, 800.0, 600.0),
    "EE_U":          (0.5,   0.5,    0.6,   0.5,   0.45),
}
"""The five evaluation points: each column is one point (the other parameters
are the default preset's)."""


def base() -> Parameters:
    """The parameters every evaluation point starts from: the default preset
    with a 60 s recording."""
    return preset("default", duration_ms=DURATION_MS)


def zipped() -> list[dict[str, Any]]:
    """The evaluation points as one zipped grid axis (:func:`tum2000.sweeps.grid.make_grid`)."""
    return [{name: list(values) for name, values in POINTS.items()}]


def point_parameters() -> list[Parameters]:
    """The full parameters of each evaluation point, in order."""
    b = base()
    n = len(next(iter(POINTS.values())))
    return [b.replace(**{name: values[k] for name, values in POINTS.items()}) for k in range(n)]


FINGERPRINT_MAX_COST = 12.5
"""Runs of this file cost ~11.9 default runs each (60.9 s simulated at the
default size); fingerprints are kept for them all, so that a build recomputes
two of them (about 15 s) instead of checking the content hash alone."""


def make(root: str | None = None, *, workers: int | None = None, progress: bool = True):
    """Simulate every evaluation run and write ``book/data/held_out.nc`` (once;
    afterwards ``tum2000 data regenerate held_out`` remakes it from the file)."""
    from tum2000.sweeps.grid import make_grid
    from tum2000.sweeps.stored import make_stored

    return make_stored(NAME, base(), make_grid(None, zipped(), base()), SEEDS, root=root,
                       fingerprint_max_cost=FINGERPRINT_MAX_COST, workers=workers,
                       progress=progress)


def index_of(params: Parameters) -> int | None:
    """The evaluation point whose parameters are ``params`` (the recording
    length aside), or None."""
    wanted = params.replace(duration_ms=DURATION_MS)
    for k, p in enumerate(point_parameters()):
        if p == wanted:
            return k
    return None


def per_seed(ds: xr.Dataset, index: int, names: Sequence[str]) -> list[dict[str, float]]:
    """The statistics ``names`` of every seed's run at evaluation point ``index``."""
    dim = ds["full_ps_rate_hz"].dims[0]
    point = ds.isel({dim: index})
    return [{name: float(point[name].sel(seed=s)) for name in names}
            for s in point["seed"].values]


RATE_FACTOR = 1.5
"""Target of the issue: the predicted full-PS rate within this factor of the network's."""
X_TOLERANCE = 0.05
"""Target of the issue: the predicted x before a PS within this of the network's."""


def network_at_points(ds: xr.Dataset) -> list[dict[str, Any]]:
    """Per evaluation point, the network's full-PS rate, x before and after a PS
    and mean interval as :class:`~tum2000.chapters.tables.Estimate`-ready arrays
    (one value per seed; NaN where a seed had no event) and the events behind them."""
    dim = ds["full_ps_rate_hz"].dims[0]
    out = []
    for k in range(ds.sizes[dim]):
        point = ds.isel({dim: k})
        out.append({
            "rate_hz": np.asarray(point["full_ps_rate_hz"].values, float),
            "x_before": np.asarray(point["full_x_before_mean"].values, float),
            "x_after": np.asarray(point["full_x_after_mean"].values, float),
            "interval_ms": np.asarray(point["full_ipi_ms_mean"].values, float),
            "events": int(np.nansum(point["full_ps_count"].values)),
            "seeds": int(point.sizes["seed"]),
        })
    return out


def predictions(model: str = "density", progress: bool = False,
                **options: Any) -> list[dict[str, Any]]:
    """``tum2000 theory``'s prediction at every evaluation point (parameters
    only), with one of its models (:data:`tum2000.meanfield.theory.MODELS`);
    the density model's noisy runs go to local Dask workers. ``options`` go to
    :func:`~tum2000.meanfield.theory.predict` (e.g. ``run_ms``)."""
    from functools import partial

    from tum2000.meanfield.theory import DENSITY_RUNS, predict
    from tum2000.sweeps.cluster import parallel_map

    run_map = partial(parallel_map, n_workers=DENSITY_RUNS)
    return [predict(p, model=model, progress=progress, run_map=run_map, **options)
            for p in point_parameters()]


def scores(network: list[dict[str, Any]], predicted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per point: whether the rate is within :data:`RATE_FACTOR` and x before
    within :data:`X_TOLERANCE` of the network's mean over seeds (None where
    either side has no value)."""
    out = []
    for net, pred in zip(network, predicted):
        rate_net = float(np.nanmean(net["rate_hz"]))
        rate_pred = float(pred["ps_rate_hz"])
        if rate_net > 0 and rate_pred > 0:
            ratio = rate_pred / rate_net
            rate_ok: bool | None = 1 / RATE_FACTOR <= ratio <= RATE_FACTOR
        else:
            ratio = float("nan")
            rate_ok = (rate_net == 0) == (rate_pred == 0)
        xb_net = np.asarray(net["x_before"], float)
        xb_net = float(np.nanmean(xb_net)) if np.isfinite(xb_net).any() else float("nan")
        xb_pred = pred["x_before_ps"]
        x_ok = (None if xb_pred is None or not np.isfinite(xb_net)
                else abs(float(xb_pred) - xb_net) <= X_TOLERANCE)
        out.append({"rate_ratio": ratio, "rate_ok": rate_ok, "x_before_ok": x_ok,
                    "both_ok": bool(rate_ok) and bool(x_ok)})
    return out


__all__ = ["RATE_FACTOR", "X_TOLERANCE", "index_of", "make", "per_seed", "network_at_points", "predictions",
           "scores", "DURATION_MS", "FINGERPRINT_MAX_COST", "NAME", "POINTS", "SEEDS", "base",
           "point_parameters", "zipped"]
