"""Experiments on the network that decide between a threshold and an escape.

Each study runs the network (through the dataset cache, in parallel with
:func:`tum2000.sweeps.run.simulate_many`) and returns data; the measures
come from :mod:`tum2000.analysis.hazard`, the sentences a page states from
:mod:`tum2000.chapters.scenarios`.

* :func:`hazard_study`: the hazard of a full population spike as a function
  of the recovered fraction x, and how well x predicts the interval;
* :func:`initial_state_study`: one wiring (same seed: same background inputs,
  connections and synaptic parameters) started from different initial
  membrane potentials (``v_init_seed``): do the population spikes come at
  the same times?
* :func:`evoked_study`: a brief current pulse to every excitatory neuron at
  chosen delays after a population spike: the smallest pulse that evokes a
  full population spike, as a function of x at the pulse;
* the size study (N at a fixed in-degree) is a stored sweep:
  :func:`size_study`.

Seeds: the book's studies use seeds 21-28 (development runs used seeds
1-8 and 21); the theory's evaluation uses seeds 101-110
(:mod:`tum2000.sweeps.held_out`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import xarray as xr

from tum2000.analysis import hazard
from tum2000.model.parameters import Parameters

STUDY_SEEDS: tuple[int, ...] = tuple(range(21, 29))
"""Seeds of the book's experiments."""

X_EDGES = np.round(np.arange(0.20, 0.70001, 0.02), 10)
"""Bins of x for the hazard (width 0.02: ~8-10 bins between the lowest x after
a PS and the plateau at the default parameters)."""


def _runs(jobs: Sequence[tuple[Parameters, int]], progress: bool = False,
          directory=None) -> list[xr.Dataset]:
    from tum2000.sweeps.run import simulate_many

    return simulate_many(list(jobs), progress=progress, directory=directory)


# --- (ii) the hazard ----------------------------------------------------------------------

@dataclass(frozen=True)
class HazardStudy:
    """The hazard h(x) pooled over runs, the events, and what x predicts."""

    rate: xr.Dataset                      # :func:`hazard.escape_rate`
    above_median: xr.Dataset              # the hazard above the median x before a PS
    events: list[xr.Dataset]              # :func:`hazard.full_events` per run
    predictability: hazard.Predictability
    seeds: tuple[int, ...]
    recorded_s: float

    @property
    def n_events(self) -> int:
        return int(sum(ev.sizes["event"] for ev in self.events))

    @property
    def x_before(self) -> np.ndarray:
        return np.concatenate([ev["x_before"].values for ev in self.events]) \
            if self.events else np.zeros(0)


def hazard_from_runs(datasets: Sequence[xr.Dataset],
                     x_edges: np.ndarray = X_EDGES) -> HazardStudy:
    """:class:`HazardStudy` of given network runs."""
    events = [hazard.full_events(ds) for ds in datasets]
    runs = [(ds["recovered"].sel(pathway="EE"), ev) for ds, ev in zip(datasets, events)]
    rate = hazard.escape_rate(runs, x_edges)
    xb = np.concatenate([ev["x_before"].values for ev in events]) if events else np.zeros(0)
    level = float(np.median(xb)) if xb.size else math.nan
    above = (hazard.escape_rate(runs, [level, 1.0]) if np.isfinite(level)
             else hazard.escape_rate(runs, [1.0, 1.0 + 1e-9]))
    xa = np.concatenate([ev["x_after"].values for ev in events]) if events else np.zeros(0)
    nxt = np.concatenate([ev["next_interval_ms"].values for ev in events]) if events \
        else np.zeros(0)
    recorded = float(sum(ev.attrs["duration_ms"] for ev in events)) / 1000.0
    return HazardStudy(rate, above, events, hazard.interval_predictability(xa, nxt),
                       tuple(int(ds.attrs.get("seed", -1)) for ds in datasets), recorded)


def hazard_study(params: Parameters, seeds: Sequence[int] = STUDY_SEEDS, *,
                 progress: bool = False, directory=None) -> HazardStudy:
    """Simulate ``params`` for each seed and measure the hazard of a PS against x."""
    return hazard_from_runs(_runs([(params, s) for s in seeds], progress, directory))


# --- (i) one wiring, many initial states -----------------------------------------------------

INITIAL_RANGE_MV = (0.0, 15.0)
"""Initial membrane potentials of the initial-state study: uniform from rest
(0 mV, the reference script's start) to the threshold."""
COINCIDENCE_WINDOW_MS = 10.0
"""Two PS 'coincide' when their onsets are this close (ms): twice the width of
a PS, far below the typical interval (~1-2 s)."""
TRANSIENT_MS = 2000.0
"""Onsets before this time (ms of the recording) are left out of the
coincidence: they may still remember the common start."""


@dataclass(frozen=True)
class InitialStateStudy:
    """PS onsets of one wiring started from several initial states."""

    onsets_ms: list[np.ndarray]
    v_init_seeds: tuple[int, ...]
    seed: int
    coincidence: hazard.Coincidence
    predictability: hazard.Predictability
    recorded_ms: float


def initial_state_study(params: Parameters, seed: int, v_init_seeds: Sequence[int], *,
                        v_init_range_mV: tuple[float, float] = INITIAL_RANGE_MV,
                        progress: bool = False, directory=None) -> InitialStateStudy:
    """Run one wiring (``seed``) from each initial state of ``v_init_seeds``.

    The wiring, background inputs and synaptic parameters come from ``seed``;
    only the initial membrane potentials differ (uniform in
    ``v_init_range_mV``, drawn from ``v_init_seed``). The network has no other
    randomness, so whatever differs between the runs comes from the initial
    state alone.
    """
    lo, hi = v_init_range_mV
    runs = _runs([(params.replace(v_init_min_mV=lo, v_init_max_mV=hi, v_init_seed=int(v)), seed)
                  for v in v_init_seeds], progress, directory)
    events = [hazard.full_events(ds) for ds in runs]
    onsets = [np.asarray(ev["onset_ms"].values, float) for ev in events]
    duration = float(params["duration_ms"])
    co = hazard.coincidence(onsets, COINCIDENCE_WINDOW_MS, TRANSIENT_MS, duration)
    xa = np.concatenate([ev["x_after"].values for ev in events])
    nxt = np.concatenate([ev["next_interval_ms"].values for ev in events])
    return InitialStateStudy(onsets, tuple(int(v) for v in v_init_seeds), int(seed), co,
                             hazard.interval_predictability(xa, nxt), duration)


# --- (iv) evoked population spikes -------------------------------------------------------------

PULSE_MS = 5.0
"""Length of the evoking pulse (ms): longer than tau_I (3 ms), so the pulse
acts like a step of input, and far shorter than tau_m (30 ms)."""
RESPONSE_MS = 20.0
"""A full PS whose onset falls within this time after the pulse's start (ms)
is the pulse's response (a spontaneous PS is this close with probability
~ 1 Hz x 20 ms = 2 %)."""
AMPLITUDE_RANGE_MV = (0.0, 4.0)
"""Bisection range of the pulse amplitude (mV added to every excitatory
neuron's background input while the pulse is on). Measured on seeds 1-3
(5 ms pulses): 0.5 mV evokes a full PS (participation 0.99) 90 ms before a
spontaneous one (x 0.55-0.59); 20 ms after a PS (x 0.29-0.31) 2 mV recruits
0.35-0.53 of the excitatory neurons and 3 mV 0.90, mostly driven directly
(every excitatory neuron sits within about 1 mV of threshold). 4 mV brackets
the threshold at every x a network visits."""
BISECTIONS = 6
"""Halvings of the amplitude range: a threshold known to 4/2^6 = 0.0625 mV."""


def evoked(params: Parameters, seed: int, pulse_at_ms: float, amplitude_mV: float,
           directory=None) -> tuple[bool, xr.Dataset]:
    """Whether a pulse at ``pulse_at_ms`` (ms of the recording) evokes a full PS.

    The run stops ``RESPONSE_MS`` + 30 ms after the pulse: the network is
    deterministic, so up to the pulse it is the run without a pulse.
    """
    from tum2000.store.cache import cached_simulate

    dt = params["dt_ms"]
    start = round(pulse_at_ms / dt) * dt
    stop = start + RESPONSE_MS + 30.0
    run = cached_simulate(params.replace(duration_ms=round(stop / dt) * dt,
                                         stim_amplitude_mV=float(amplitude_mV),
                                         stim_duration_ms=PULSE_MS, stim_start_ms=start),
                          seed, directory=directory)
    ev = hazard.full_events(run)
    on = np.asarray(ev["onset_ms"].values, float)
    return bool(np.any((on >= start) & (on < start + RESPONSE_MS))), run


def evoked_threshold(params: Parameters, seed: int, pulse_at_ms: float,
                     directory=None) -> tuple[float, float]:
    """(lowest evoking amplitude found, highest failing one) by bisection (mV).
    (nan, top) when even the top of :data:`AMPLITUDE_RANGE_MV` fails."""
    lo, hi = AMPLITUDE_RANGE_MV
    if not evoked(params, seed, pulse_at_ms, hi, directory)[0]:
        return math.nan, hi
    if evoked(params, seed, pulse_at_ms, lo, directory)[0]:
        return lo, lo
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        if evoked(params, seed, pulse_at_ms, mid, directory)[0]:
            hi = mid
        else:
            lo = mid
    return hi, lo


def evoked_study(params: Parameters, seed: int, delays_ms: Sequence[float],
                 n_events: int = 3, directory=None) -> xr.Dataset:
    """The pulse amplitude that evokes a full PS at ``delays_ms`` after each of
    the first ``n_events`` spontaneous full PS of a run (whose next
    spontaneous PS comes later than the pulse + :data:`RESPONSE_MS`), with x
    of the EE synapses at the pulse.

    Returns a Dataset over (event, delay): ``threshold_mV`` (NaN: nothing in
    range evoked one, or the pulse would come after the next spontaneous PS),
    ``failing_mV`` (the largest amplitude that did not), ``x_at_pulse``.
    """
    from tum2000.store.cache import cached_simulate

    base = cached_simulate(params, seed, directory=directory)
    ev = hazard.full_events(base)
    on = np.asarray(ev["onset_ms"].values, float)
    x = base["recovered"].sel(pathway="EE")
    delays = np.asarray(delays_ms, float)
    chosen = on[:n_events]
    thr = np.full((chosen.size, delays.size), np.nan)
    fail = np.full_like(thr, np.nan)
    xp = np.full_like(thr, np.nan)
    for i, t0 in enumerate(chosen):
        nxt = on[i + 1] if i + 1 < on.size else math.inf
        for j, d in enumerate(delays):
            at = t0 + d
            if at + RESPONSE_MS >= nxt or at >= params["duration_ms"]:
                continue
            xp[i, j] = float(x.sel(time=at, method="nearest"))
            thr[i, j], fail[i, j] = evoked_threshold(params, seed, at, directory)
    return xr.Dataset(
        {"threshold_mV": (("event", "delay"), thr, {"units": "mV"}),
         "failing_mV": (("event", "delay"), fail, {"units": "mV"}),
         "x_at_pulse": (("event", "delay"), xp, {"units": "1"})},
        coords={"event": np.arange(chosen.size), "delay": ("delay", delays, {"units": "ms"}),
                "ps_onset_ms": ("event", chosen)},
        attrs={"seed": int(seed), "pulse_ms": PULSE_MS, "response_ms": RESPONSE_MS})


# --- (iii) N at a fixed in-degree ------------------------------------------------------------

SIZE_SPREADS_MV: tuple[float, ...] = (0.5, 0.75, 1.0)
SIZE_N: tuple[int, ...] = (500, 2000, 5000)
SIZE_SEEDS: tuple[int, ...] = (21, 22, 23)
SIZE_DURATION_MS = 20_000.0
IN_DEGREE = 50.0
"""Presynaptic partners per neuron in the size study: the paper's 0.1 x 500."""


SIZE_FINGERPRINT_MAX_COST = 4.5
"""The N = 500 runs of the size study (20.9 s simulated: ~4.1 default runs)
get fingerprints, the larger ones (16 and 41 default runs) do not."""


def size_grid():
    """The size study's base parameters and grid."""
    from tum2000.model.parameters import preset
    from tum2000.sweeps.grid import fixed_in_degree_axis, make_grid

    base = preset("default", duration_ms=SIZE_DURATION_MS)
    return base, make_grid(None, [{"I_b_spread_mV": list(SIZE_SPREADS_MV)},
                                  fixed_in_degree_axis(list(SIZE_N), IN_DEGREE)], base)


def make_size_study(root=None, workers: int | None = None):
    """Simulate the size study and store it (once; then ``tum2000 data regenerate``)."""
    from tum2000.sweeps.stored import make_stored

    base, grid = size_grid()
    return make_stored("size_fixed_k", base, grid, SIZE_SEEDS, root=root,
                       fingerprint_max_cost=SIZE_FINGERPRINT_MAX_COST, workers=workers)


def size_study(root=None, **run_options) -> tuple[xr.Dataset, object]:
    """Full-PS rate and x before a PS against N at a fixed in-degree (K = 50:
    40 excitatory, 10 inhibitory inputs), for three background spreads:
    the stored ``book/data/size_fixed_k.nc`` (:func:`tum2000.sweeps.stored.stored_sweep`)."""
    from tum2000.sweeps.stored import stored_sweep

    base, grid = size_grid()
    return stored_sweep("size_fixed_k", base, grid, SIZE_SEEDS, root=root, **run_options)


__all__ = ["AMPLITUDE_RANGE_MV", "BISECTIONS", "PULSE_MS", "RESPONSE_MS", "evoked",
           "evoked_study", "evoked_threshold", "COINCIDENCE_WINDOW_MS", "HazardStudy", "INITIAL_RANGE_MV", "InitialStateStudy",
           "SIZE_N", "SIZE_SEEDS", "SIZE_SPREADS_MV", "STUDY_SEEDS", "TRANSIENT_MS",
           "X_EDGES", "hazard_from_runs", "hazard_study", "initial_state_study",
           "make_size_study", "size_grid", "size_study"]
