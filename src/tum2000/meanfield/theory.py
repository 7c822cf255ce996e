"""``tum2000 theory``: predict the network's population spikes from its parameters alone.

:func:`predict` never simulates the network. It has two models, every
constant derived from the parameters (:mod:`.constants`):

``model="density"`` (the default, :func:`predict_density`)
    The population-density model of the two integrate-and-fire populations
    (:mod:`.density`). First deterministic: if it fires population spikes
    (PS) on its own, the regime is "oscillatory" and the period and x
    before/after come from that run. Otherwise it is run with finite-size
    noise (``finite_size=True``: each class's spike count is a Poisson count
    of its N/classes neurons, while each neuron's own input noise is the
    diffusion set by its in-degree), and its *full* PS (excitatory
    participation >= 0.5, the network's ``full_ps_rate_hz``) are counted with
    the network's event definitions
    (:func:`~tum2000.meanfield.bifurcation.rate_model_events`). It replaced the
    rate model because it scores better on the held-out points of
    :mod:`tum2000.sweeps.held_out` (the theory page computes both scores) and
    gets the trend of the PS rate with N at a fixed in-degree that the rate
    model misses (the density page).

``model="rate"`` (:func:`predict_rate`)
    The heterogeneous class-based rate model of :mod:`.rate_model` with the
    network's LIF transfer function: a limit cycle of the deterministic model
    (:func:`~tum2000.meanfield.bifurcation.limit_cycle`; with LIF units none
    exists for any coupling, :func:`~tum2000.meanfield.reduced.loop_gain_maximum`),
    else the escapes of the same model with Poisson noise sized by the
    **in-degrees** (``C_EE = p N_E``, ``C_IE = p N_I``), long (it is cheap).
    Its noise is shared by every neuron of a class, while in the network two
    neurons share only ~p of their inputs, so it escapes at too low an x.

Noise-driven escapes from a stable quiet state: Holcman & Tsodyks (2006, PLoS
Comput Biol 2:e23); finite-size noise of a population-density model: Mattia &
Del Giudice (2002, Phys Rev E 66:051917), Schwalger et al. (2017).

Synapses: Tsodyks, Pawelzik & Markram (1998, Neural Comput 10:821).
Threshold-linear alternative: Loebel & Tsodyks (2002) (:mod:`.bifurcation`).
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

import numpy as np

from tum2000.model.parameters import Parameters
from tum2000.meanfield.bifurcation import limit_cycle, rate_model_events
from tum2000.meanfield.rate_model import simulate_rate_model

QUIESCENT_RATE_HZ = 0.02
"""Predicted full-PS rate (1/s) below which the regime is "quiescent" (issue 18)."""
SEEDS_PER_BATCH = 4
"""Noise realizations integrated together (one batch costs little more than one)."""
BATCH_DURATION_MS = 10_000.0
"""Recorded time of each realization of a batch (ms)."""
BURN_IN_MS = 1_000.0
"""Discarded start of each realization (ms): x settles in ~U tau_rec r ~ 1 s."""
MAX_BATCHES = 2
"""Batches at most: 2 x 4 x 10 s = 80 s of model time, ~40 s on one core (measured)."""
ENOUGH_EVENTS = 30
"""Full PS after which no further batch is run (relative error of the rate ~ 1/sqrt(30))."""
NOISE_DT_MS = 0.1
"""Step of the noisy model (ms), the network's converged default ``dt_ms``; fixed here so
that a coarse ``dt_ms`` of the network does not change the theory's noise."""
KEYS: tuple[str, ...] = ("regime", "ps_rate_hz", "x_before_ps", "x_after_ps",
                         "mean_interval_ms", "model", "elapsed_s")
"""Keys of :func:`predict`'s result, in order."""
MODEL_NAME = "lif-class-rate-model+in-degree-poisson-noise"
"""The ``model`` the rate model's prediction reports."""
DENSITY_MODEL_NAME = "population-density-model+finite-size-noise"
"""The ``model`` the density model's prediction reports."""
MODELS: tuple[str, ...] = ("density", "rate")
"""The models :func:`predict` offers; the first is the default."""
DENSITY_CHECK_MS = 3_000.0
"""Recorded time of the deterministic density run (ms, after :data:`BURN_IN_MS`): two
full PS in it make the regime oscillatory (a period up to 3 s)."""
DENSITY_RUNS = 2
"""Noisy density runs per prediction (run side by side where workers are given)."""
DENSITY_RUN_MS = 20_000.0
"""Recorded time of each noisy density run (ms): 2 x 20 s, ~28 s of computing
each with :data:`~tum2000.meanfield.density.FAST_OPTIONS` (measured)."""


def _progress(message: str, progress: bool) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def predict(params: Parameters, seed: int = 1, *, model: str = MODELS[0],
            progress: bool = False, run_map: Callable[..., Any] = map,
            run_ms: float = DENSITY_RUN_MS) -> dict[str, Any]:
    """Predict the network's full population spikes from ``params`` alone.

    ``model`` is one of :data:`MODELS` (see the module docstring);
    ``run_map`` maps a function over its arguments' lists, e.g.
    :func:`tum2000.sweeps.cluster.parallel_map` to run the density model's
    noisy runs side by side (default: the built-in ``map``, one after the
    other); ``run_ms`` is the recorded time of each of the density model's
    noisy runs (ms; shorter for a quick look). The result is
    :func:`predict_density`'s or :func:`predict_rate`'s.
    """
    if model == "density":
        return predict_density(params, seed, progress=progress, run_map=run_map,
                               run_ms=run_ms)
    if model == "rate":
        return predict_rate(params, seed, progress=progress)
    raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")


def noisy_density_events(params_json: str, seed: int, duration_ms: float) -> dict[str, list]:
    """One noisy density run (:data:`~tum2000.meanfield.density.FAST_OPTIONS`,
    ``finite_size=True``): its full PS's x before and after and onsets (ms),
    and the recorded time (ms). A top-level function, so workers can run it."""
    from tum2000.meanfield.density import FAST_OPTIONS, simulate_density

    params = Parameters.from_json(params_json)
    ds = simulate_density(params.replace(duration_ms=float(duration_ms)), finite_size=True,
                          seed=int(seed), burn_in_ms=BURN_IN_MS, **FAST_OPTIONS)
    ev = rate_model_events(ds)
    full = ev["full"] & ev["whole"]
    return {"x_before": ev["x_before"][full].tolist(), "x_after": ev["x_after"][full].tolist(),
            "onset_ms": ev["onset_ms"][full].tolist(), "recorded_ms": float(duration_ms)}


def predict_density(params: Parameters, seed: int = 1, *, progress: bool = False,
                    run_map: Callable[..., Any] = map,
                    run_ms: float = DENSITY_RUN_MS) -> dict[str, Any]:
    """:func:`predict` with the population-density model (the module docstring).

    The noise seeds are ``1000 seed + k`` (k < :data:`DENSITY_RUNS`), in the
    model's own stream. Returns :data:`KEYS` as :func:`predict_rate` does.
    """
    from tum2000.meanfield.density import FAST_OPTIONS, simulate_density

    started = time.perf_counter()
    _progress("theory: deterministic density model (population spikes on its own?)", progress)
    ds = simulate_density(params.replace(duration_ms=DENSITY_CHECK_MS), burn_in_ms=BURN_IN_MS,
                          **FAST_OPTIONS)
    ev = rate_model_events(ds)
    full = ev["full"] & ev["whole"]
    if full.sum() >= 2:
        period = float(np.mean(np.diff(ev["onset_ms"][full])))
        return _result("oscillatory", 1000.0 / period, float(np.mean(ev["x_before"][full])),
                       float(np.mean(ev["x_after"][full])), period, "population-density-model",
                       started)
    seeds = [int(seed) * 1000 + k for k in range(DENSITY_RUNS)]
    _progress(f"theory: noisy density model ({DENSITY_RUNS} x {run_ms / 1000:g} s)", progress)
    runs = list(run_map(noisy_density_events, [params.to_json()] * len(seeds), seeds,
                        [float(run_ms)] * len(seeds)))
    x_before = [v for r in runs for v in r["x_before"]]
    x_after = [v for r in runs for v in r["x_after"]]
    intervals = [v for r in runs for v in np.diff(r["onset_ms"]).tolist()]
    rate = 1000.0 * len(x_before) / sum(r["recorded_ms"] for r in runs)
    if rate < QUIESCENT_RATE_HZ:
        return _result("quiescent", 0.0, None, None, None, DENSITY_MODEL_NAME, started)
    interval = float(np.mean(intervals)) if intervals else 1000.0 / rate
    return _result("excitable", rate, float(np.mean(x_before)), float(np.mean(x_after)),
                   interval, DENSITY_MODEL_NAME, started)


def predict_rate(params: Parameters, seed: int = 1, *, progress: bool = False
                 ) -> dict[str, Any]:
    """:func:`predict` with the class-based rate model (the module docstring).

    Parameters
    ----------
    params
        The network's parameters (already checked).
    seed
        Seed of the rate model's noise (its own stream: it never coincides
        with the network's).
    progress
        Progress lines on stderr.

    Returns
    -------
    dict with :data:`KEYS`: ``regime`` ("oscillatory", "excitable" or
    "quiescent"), ``ps_rate_hz`` (full PS per s; 0 when quiescent),
    ``x_before_ps`` and ``x_after_ps`` (mean EE x at a full PS's onset and
    its minimum just after; None when quiescent), ``mean_interval_ms``
    (mean interval between consecutive full PS; None when quiescent),
    ``model`` and ``elapsed_s`` (wall-clock seconds).
    """
    started = time.perf_counter()
    _progress("theory: deterministic class model (limit cycle?)", progress)
    cycle = limit_cycle(params, transfer="lif", transient_ms=3000.0, window_ms=3000.0)
    if cycle["oscillates"] and cycle["participation"] >= 0.5:
        return _result("oscillatory", 1000.0 / cycle["period_ms"], cycle["x_before"],
                       cycle["x_after"], cycle["period_ms"], "lif-class-rate-model",
                       started)
    n_full = 0
    recorded_ms = 0.0
    x_before: list[float] = []
    x_after: list[float] = []
    intervals: list[float] = []
    for batch in range(MAX_BATCHES):
        seeds = [int(seed) * 1000 + batch * SEEDS_PER_BATCH + k for k in range(SEEDS_PER_BATCH)]
        _progress(f"theory: noisy class model, batch {batch + 1} "
                  f"({SEEDS_PER_BATCH} x {BATCH_DURATION_MS / 1000:g} s)", progress)
        rm = simulate_rate_model(params, finite_size=True, seeds=seeds, transfer="lif",
                                 noise_size="in_degree", noise_dt_ms=NOISE_DT_MS,
                                 burn_in_ms=BURN_IN_MS,
                                 duration_ms=BATCH_DURATION_MS, record_dt_ms=1.0)
        for s in seeds:
            ev = rate_model_events(rm.sel(seed=s))
            full = ev["full"] & ev["whole"]
            n_full += int(full.sum())
            x_before += list(ev["x_before"][full])
            x_after += list(ev["x_after"][full])
            intervals += list(np.diff(ev["onset_ms"][full]))
            recorded_ms += BATCH_DURATION_MS
        if n_full >= ENOUGH_EVENTS:
            break
    rate = 1000.0 * n_full / recorded_ms
    if rate < QUIESCENT_RATE_HZ:
        return _result("quiescent", 0.0, None, None, None, MODEL_NAME, started)
    interval = float(np.mean(intervals)) if intervals else 1000.0 / rate
    return _result("excitable", rate, float(np.mean(x_before)), float(np.mean(x_after)),
                   interval, MODEL_NAME, started)


def _result(regime: str, rate: float, x_before: float | None, x_after: float | None,
            interval: float | None, model: str, started: float) -> dict[str, Any]:
    return {"regime": regime, "ps_rate_hz": float(rate), "x_before_ps": x_before,
            "x_after_ps": x_after, "mean_interval_ms": interval, "model": model,
            "elapsed_s": round(time.perf_counter() - started, 3)}
