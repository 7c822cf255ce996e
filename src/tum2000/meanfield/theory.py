"""``tum2000 theory``: predict the network's population spikes from its parameters alone.

:func:`predict` never simulates the network. It uses the heterogeneous
class-based rate model of :mod:`.rate_model` with the network's LIF transfer
function, every constant derived from the parameters (:mod:`.constants`), in
two steps:

1. **Deterministic model** (:func:`~tum2000.meanfield.bifurcation.limit_cycle`):
   a limit cycle of regular population spikes (PS) makes the regime
   "oscillatory" and gives the period and x before/after directly. With LIF
   units this does not happen for any coupling (the loop gain
   ``s E'(s)/E(s)`` stays below 1: :func:`~tum2000.meanfield.reduced.loop_gain_maximum`).
2. **Noise-driven escape**: otherwise the PS are escapes from a stable low
   state driven by fluctuations (Holcman & Tsodyks 2006, PLoS Comput Biol
   2:e23). Their rate is estimated by simulating the same class model with
   finite-size Poisson noise, long (it is cheap), and counting *full* PS
   (excitatory participation >= 0.5, the network's ``full_ps_rate_hz``) with
   the network's event definitions
   (:func:`~tum2000.meanfield.bifurcation.rate_model_events`).

The noise's size is the choice that matters, and it is made from the
parameters, not fitted: the Poisson counts are those of the **in-degrees**
(``C_EE = p N_E`` excitatory and ``C_IE = p N_I`` inhibitory neurons,
``noise_size="in_degree"``), the inputs one excitatory neuron receives. At a
fixed in-degree the network's PS rate does not fall with N (issue 18: 0.95 /
0.71 / 1.03 per s at N = 500 / 2,000 / 5,000, w = 0.5 mV), which the
population-size noise (shrinking like 1/sqrt(N)) cannot reproduce. Noise
of the in-degree size is fully shared by all neurons in the model while in the
network only a fraction ~p of a neuron's input variance is shared, so this
model over-estimates the rate where escapes are rare (wide spreads w); the
population-size noise under-estimates it everywhere (2-13x on the stored
sweeps). See the report of issue 18 for the calibration table.

Synapses: Tsodyks, Pawelzik & Markram (1998, Neural Comput 10:821).
Threshold-linear alternative: Loebel & Tsodyks (2002) (:mod:`.bifurcation`).
"""

from __future__ import annotations

import sys
import time
from typing import Any

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


def _progress(message: str, progress: bool) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def predict(params: Parameters, seed: int = 1, *, progress: bool = False) -> dict[str, Any]:
    """Predict the network's full population spikes from ``params`` alone.

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
