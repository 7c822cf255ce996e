"""A heterogeneous excitatory-inhibitory rate model of the network.

Each population (E, I) is split into ``n_classes`` classes by background
input: class b holds the neurons whose I_b falls in the b-th of equal bins of
the uniform distribution [I_b_center - w/2, I_b_center + w/2], and fires at

    r_b = phi(b + mu_pop)

with phi the LIF transfer function (:mod:`.transfer`) and mu_pop the
population's synaptic input (mV). ``transfer="threshold_linear"`` replaces
phi by the threshold-linear units of Loebel & Tsodyks (2002, J Comput
Neurosci 13:111-124), ``g [mu - theta]_+`` with g matched to the LIF neuron
1 mV above threshold (:func:`~tum2000.meanfield.transfer.threshold_linear_gain`,
per population): everything else (classes, pathways, depression,
facilitation, inhibition, noise) stays the same, so the two models differ in
phi's shape alone. The TL model can fold and fire deterministic population
spikes; the LIF model cannot (:mod:`.reduced`, :mod:`.bifurcation`). Each pathway (source then target) has a
synaptic current

    tau_I dI/dt = -I + J <rho x r>_source classes,      J = C mean(A) tau_I

(:mod:`.constants`), and per source class the depression and facilitation
of Tsodyks, Pawelzik & Markram (1998):

    dx_b/dt = (1 - x_b)/tau_rec - rho_b x_b r_b,
    du_b/dt = -u_b/tau_f + U (1 - u_b) r_b          (facilitating pathways),

with the release fraction rho_b = U (depressing) or U + (1 - U) u_b
(facilitating; u is the recorded utilization, which decays to 0). Every
constant comes from the network's :class:`~tum2000.model.parameters.Parameters`
(mean in-degree, truncated-normal means). Keeping one x per class, rather
than one per population, is what lets silent classes keep x near 1 while the
active ones are depressed: the mean x of the model is then the mean over
synapses of the network, not x at the mean rate.

Two variants:

* ``depression=False`` holds every x at 1 (tau_rec cannot be set to 0 in the
  shared parameters): there is then no slow recovery and no population spike;
* ``finite_size=True``: each class of N_b neurons emits a Poisson number of
  spikes per time step (mean N_b r_b dt), and these counts, not the rates,
  drive the synapses and deplete x. Integrated with a fixed step (by default
  the network's ``dt_ms``), exactly over the step for the linear decays; the
  noise is defined per step, so an adaptive solver does not apply.

Several parameter sets (differing in synaptic parameters or in the spread of
the background inputs, sharing the neurons' constants) and several noise
seeds are integrated together, as one batch: the cost of a step hardly grows
with the batch.

The deterministic model is integrated with ``scipy.integrate.solve_ivp``
(explicit Runge-Kutta 4(5), relative tolerance 1e-6; the class rates are
averages of phi over each class's inputs, whose slope is finite, so the
adaptive steps stay long between fast events).

Output: an ``xarray.Dataset`` with the network dataset's names where they mean
the same: ``recovered`` and ``utilization`` (pathway, time) are the means over
source classes (= over synapses: every neuron has the same mean out-degree);
``rate`` (population = exc, inh, all; time) is the population's rate in Hz;
``input`` (population, time) the synaptic input in mV; ``class_rate_exc``
(time, exc_class) each excitatory class's rate in Hz. Times are ms from the
start of the recording, sampled every ``record_dt_ms`` after a burn-in of
``burn_in_ms``, as for the network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy.integrate import solve_ivp

from tum2000.model.parameters import PATHWAYS, Parameters
from tum2000.meanfield.constants import Constants, constants
from tum2000.meanfield.transfer import BinAveragedRate, check_transfer

SOURCE = np.array([0 if pw[0] == "E" else 1 for pw in PATHWAYS])
"""Source population (0: E, 1: I) of each pathway, in :data:`PATHWAYS` order."""

N_CLASSES = 50
"""Default number of background-input classes per population."""
NOISE_DT_MS: float | None = None
"""Default step of the finite-size model: None, the network's own ``dt_ms``
(0.1 ms by default). Spikes of one step act on the synaptic currents from the
next step on, a delay of one step as in the network; larger steps lengthen
that delay and change the population spikes (see the chapter)."""
NOISE_SIZES: tuple[str, ...] = ("population", "in_degree")
"""Neurons whose Poisson counts make the finite-size noise: the populations' N (every
neuron's spikes reach the population's mean input), or the in-degrees C_EE = p N_E
and C_IE = p N_I (the inputs one excitatory neuron actually receives: at a fixed
in-degree its input fluctuations do not shrink with N, as the network's PS rate
does not; issue 18)."""
NOISE_STREAM = 2000
"""Extra key of the finite-size noise's random stream (``SeedSequence([seed, 2000])``),
so that it never coincides with the network's streams for the same seed."""


def class_edges(center_mV: float, spread_mV: float, n_classes: int) -> np.ndarray:
    """Edges of ``n_classes`` equal bins of [center - spread/2, center + spread/2] (mV)."""
    return np.linspace(center_mV - spread_mV / 2.0, center_mV + spread_mV / 2.0, n_classes + 1)


@dataclass
class RateModel:
    """Constants, classes and dynamics of the heterogeneous rate model, for a batch.

    ``consts`` holds R parameter sets' constants (they must share the neurons'
    LIF constants; populations, inputs and synapses may differ). The state is
    x (R, pathway, class), u (R, pathway, class; rows of depressing pathways
    stay 0, so their release fraction ``U + (1 - U) u`` is U) and the four
    synaptic currents I (R, pathway) in mV, pathways in :data:`PATHWAYS`
    order (EE, EI from E classes; IE, II from I classes).

    ``transfer`` is "lif" (the network's neurons) or "threshold_linear"
    (Loebel & Tsodyks 2002); ``tl_gain_hz_per_mV`` overrides the TL gain of
    both populations (default: each matched to its LIF neuron 1 mV above
    threshold). ``noise_size`` sets how many neurons' Poisson counts make
    the finite-size noise (:data:`NOISE_SIZES`).
    """

    consts: Sequence[Constants]
    n_classes: int = N_CLASSES
    depression: bool = True
    transfer: str = "lif"
    tl_gain_hz_per_mV: float | None = None
    noise_size: str = "population"

    def __post_init__(self) -> None:
        check_transfer(self.transfer)
        self.consts = list(self.consts)
        self.R = len(self.consts)
        first = self.consts[0].populations
        for c in self.consts[1:]:
            for p in ("E", "I"):
                a, b = c.populations[p], first[p]
                if (a.tau_mem_ms, a.v_thresh_mV, a.v_reset_mV, a.tau_ref_ms) != \
                        (b.tau_mem_ms, b.v_thresh_mV, b.v_reset_mV, b.tau_ref_ms):
                    raise ValueError("a batch of rate models must share the neurons' "
                                     "tau_mem, threshold, reset and refractory period")
        self.phi = {}
        self.b = {}
        for p in ("E", "I"):
            edges = np.stack([class_edges(c.populations[p].I_b_center_mV,
                                          c.populations[p].I_b_spread_mV, self.n_classes)
                              for c in self.consts])                       # (R, K + 1)
            self.b[p] = 0.5 * (edges[:, :-1] + edges[:, 1:])
            gain = None if self.tl_gain_hz_per_mV is None else self.tl_gain_hz_per_mV / 1000.0
            self.phi[p] = BinAveragedRate(first[p], edges[:, :-1], edges[:, 1:],
                                          transfer=self.transfer, gain_per_ms_mV=gain)
        if self.noise_size not in NOISE_SIZES:
            raise ValueError(f"unknown noise_size {self.noise_size!r} "
                             f"(allowed: {', '.join(NOISE_SIZES)})")
        self.size = np.array([[[c.populations["E"].N], [c.populations["I"].N]]
                              for c in self.consts], dtype=np.float64)      # (R, 2, 1)
        if self.noise_size == "in_degree":
            # what one excitatory neuron sees: C_EE excitatory and C_IE inhibitory inputs
            noise = np.array([[[c.pathways["EE"].in_degree], [c.pathways["IE"].in_degree]]
                              for c in self.consts], dtype=np.float64)
        else:
            noise = self.size
        self.per_class = noise / self.n_classes                              # (R, 2, 1)

        def table(get) -> np.ndarray:
            return np.array([[get(c.pathways[pw]) for pw in PATHWAYS] for c in self.consts],
                            dtype=np.float64)

        self.U = table(lambda c: c.U)[..., None]                               # (R, 4, 1)
        self.facil = table(lambda c: float(c.facilitating))[..., None]
        self.tau_rec = table(lambda c: c.tau_rec_ms)[..., None]
        self.tau_f = table(lambda c: c.tau_facil_ms if c.facilitating else np.inf)[..., None]
        self.tau_I = table(lambda c: c.tau_I_ms)                               # (R, 4)
        self.J = table(lambda c: c.J_mV_ms)
        self.shape = (self.R, len(PATHWAYS), self.n_classes)

    # --- state ------------------------------------------------------------------
    def initial_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every synapse at rest (x = 1, u = 0), no synaptic current: the network's start."""
        return np.ones(self.shape), np.zeros(self.shape), np.zeros(self.shape[:2])

    def pack(self, x: np.ndarray, u: np.ndarray, current: np.ndarray) -> np.ndarray:
        return np.concatenate([x.ravel(), u.ravel(), current.ravel()])

    def unpack(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = int(np.prod(self.shape))
        return (y[:n].reshape(self.shape), y[n:2 * n].reshape(self.shape),
                y[2 * n:].reshape(self.shape[:2]))

    @staticmethod
    def inputs(current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Synaptic input (mV) onto E (EE + IE) and onto I (EI + II)."""
        return current[..., 0] + current[..., 2], current[..., 1] + current[..., 3]

    def class_rates(self, current: np.ndarray) -> np.ndarray:
        """Mean rate (1/ms) of every class: (R, population (E, I), class).

        ``current`` is (R, pathway) or (R, time, pathway) (then the rates are
        (R, time, population, class))."""
        mu_e, mu_i = self.inputs(current)
        return np.stack((self.phi["E"](mu_e), self.phi["I"](mu_i)), axis=-2)

    @staticmethod
    def by_pathway(per_population: np.ndarray) -> np.ndarray:
        """(..., population, class) values of the source classes as (..., pathway, class)."""
        return per_population[..., SOURCE, :]

    # --- dynamics ---------------------------------------------------------------
    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        """dy/dt of the deterministic model (``solve_ivp``'s signature)."""
        x, u, current = self.unpack(y)
        rate = self.by_pathway(self.class_rates(current))
        flux = (self.U + (1.0 - self.U) * u) * x * rate
        dx = (1.0 - x) / self.tau_rec - flux if self.depression else np.zeros(self.shape)
        du = self.facil * (self.U * (1.0 - u) * rate - u / self.tau_f)
        dI = (self.J * flux.mean(axis=-1) - current) / self.tau_I
        return self.pack(dx, du, dI)

    def _decays(self, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """exp(-dt/tau) of recovery, facilitation (0 where depressing) and currents."""
        if getattr(self, "_decay_dt", None) != dt:
            self._decay = (np.exp(-dt / self.tau_rec), self.facil * np.exp(-dt / self.tau_f),
                           np.exp(-dt / self.tau_I))
            self._decay_dt = dt
        return self._decay

    def noisy_step(self, x: np.ndarray, u: np.ndarray, current: np.ndarray, dt: float,
                   rngs: Sequence[np.random.Generator]):
        """One step of ``dt`` ms with a Poisson spike count per class (finite size).

        Each class of N_b neurons (N / n_classes) emits Poisson(N_b r_b dt)
        spikes; per neuron of the class that is ``spikes`` = count / N_b. Each
        releases the fraction ``rho x`` of its synapses' resources and adds
        that to the synaptic current; recovery, facilitation decay and current
        decay are then exact over the step. One generator per member of the
        batch. Returns (x, u, current, spike counts (R, population, class)).
        """
        rec_decay, facil_decay, current_decay = self._decays(dt)
        expected = self.class_rates(current) * (dt * self.per_class)
        uniform = np.stack([g.random(expected.shape[1:]) for g in rngs])
        counts = poisson_by_inversion(expected, uniform)
        spikes = self.by_pathway(counts / self.per_class)
        rho = self.U + (1.0 - self.U) * u
        released = np.minimum(rho * spikes, 1.0) * x
        if self.depression:
            x = 1.0 - (1.0 - x + released) * rec_decay
        u = (u + self.U * (1.0 - u) * np.minimum(spikes, 1.0)) * facil_decay
        current = current * current_decay + (self.J / self.tau_I) * released.mean(axis=-1)
        return x, u, current, counts


def poisson_by_inversion(lam: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Poisson(lam) counts from uniform draws in [0, 1), by inverting the CDF.

    Exact (the smallest k with CDF(k) > uniform) and vectorised over any
    shape; the number of passes is the largest count drawn, a few for the
    small means of one time step.
    """
    term = np.exp(-lam)
    cdf = term.copy()
    counts = np.zeros(lam.shape)
    k = 0
    above = uniform >= cdf
    while above.any():
        k += 1
        counts += above
        term = term * lam / k
        cdf = cdf + term
        above = uniform >= cdf
        if k > 10_000:  # lam this large does not occur in one step of the model
            raise RuntimeError("Poisson inversion did not converge")
    return counts


def simulate_rate_model(params: Parameters | Sequence[Parameters], *,
                        n_classes: int = N_CLASSES, depression: bool = True,
                        finite_size: bool = False, seeds: int | Sequence[int] = 1,
                        transfer: str = "lif", tl_gain_hz_per_mV: float | None = None,
                        noise_dt_ms: float | None = NOISE_DT_MS,
                        duration_ms: float | None = None, burn_in_ms: float | None = None,
                        record_dt_ms: float | None = None, rtol: float = 1e-6,
                        noise_size: str = "population") -> xr.Dataset:
    """Integrate the rate model; return a dataset like the network's.

    Parameters
    ----------
    params
        The network's parameters (every constant of the model comes from
        them), or a list of parameter sets integrated as one batch (they must
        share the neurons' LIF constants and the recording times); a list
        gives a ``run`` dimension.
    n_classes
        Background-input classes per population.
    depression
        False: x held at 1 (no depression).
    finite_size
        True: Poisson spike counts of the populations' N neurons per step of
        ``noise_dt_ms`` (default: the parameters' ``dt_ms``), one realization
        per seed in ``seeds`` (a list gives a ``seed`` dimension); False: the
        deterministic model (``solve_ivp``; ``seeds`` ignored).
    transfer, tl_gain_hz_per_mV
        "lif" (default) or "threshold_linear" units (Loebel & Tsodyks
        2002) and the latter's gain in Hz/mV (default: matched to the LIF
        neuron 1 mV above threshold); see :class:`RateModel`.
    duration_ms, burn_in_ms, record_dt_ms
        Default: the (first) parameters' values (ms).
    noise_size
        "population" (default) or "in_degree": see :data:`NOISE_SIZES`.
    rtol
        Relative tolerance of the deterministic integration (absolute
        tolerance ``rtol / 100``), for convergence checks.

    Returns
    -------
    xarray.Dataset: ``recovered``, ``utilization`` (pathway, time), ``rate``
    (population = exc, inh, all; time; Hz; finite size: spikes counted over
    [t, t + record_dt), like the network's activity in bins), ``input``
    (input_population, time; mV), ``class_rate_exc`` (time, exc_class; Hz),
    with leading ``run`` and ``seed`` dimensions when lists were given.
    """
    runs = [params] if isinstance(params, Parameters) else list(params)
    first = runs[0]
    duration = float(first["duration_ms"] if duration_ms is None else duration_ms)
    burn_in = float(first["burn_in_ms"] if burn_in_ms is None else burn_in_ms)
    rec_dt = float(first["record_dt_ms"] if record_dt_ms is None else record_dt_ms)
    seed_list = [int(seeds)] if np.ndim(seeds) == 0 else [int(s) for s in seeds]
    if not finite_size:
        seed_list = seed_list[:1]
    n_rec = int(round(duration / rec_dt)) + 1
    t_rec = burn_in + rec_dt * np.arange(n_rec)
    # the batch: every run with every seed
    members = [(r, s) for r in range(len(runs)) for s in seed_list]
    model = RateModel([constants(runs[r]) for r, _ in members], n_classes=int(n_classes),
                      depression=depression, transfer=transfer,
                      tl_gain_hz_per_mV=tl_gain_hz_per_mV, noise_size=noise_size)
    if finite_size:
        dt = float(first["dt_ms"] if noise_dt_ms is None else noise_dt_ms)
        x, u, current, rates = _integrate_noisy(model, [s for _, s in members], dt, burn_in,
                                                rec_dt, n_rec)
    else:
        sol = solve_ivp(model.rhs, (0.0, t_rec[-1]), model.pack(*model.initial_state()),
                        method="RK45", t_eval=t_rec, rtol=rtol, atol=rtol * 1e-2)
        if not sol.success:
            raise RuntimeError(f"rate model integration failed: {sol.message}")
        parts = [model.unpack(y) for y in sol.y.T]
        x = np.stack([p[0] for p in parts], axis=1)          # (R, time, pathway, class)
        u = np.stack([p[1] for p in parts], axis=1)
        current = np.stack([p[2] for p in parts], axis=1)    # (R, time, pathway)
        rates = model.class_rates(current)
    out = class_dataset(model, first, x, u, current, rates, t_rec - burn_in, depression,
                      finite_size)
    index = pd.MultiIndex.from_tuples([(r, s if finite_size else -1) for r, s in members],
                                      names=["run", "seed"])
    out = out.assign_coords(xr.Coordinates.from_pandas_multiindex(index, "member"))
    out = out.unstack("member").transpose("run", "seed", ...)
    out.attrs["parameters"] = (json.dumps([json.loads(r.to_json()) for r in runs])
                               if len(runs) > 1 else first.to_json())
    if len(runs) > 1:
        out.attrs["constants"] = "see constants(parameters) of each run"
    if isinstance(params, Parameters):
        out = out.isel(run=0, drop=True)
    if np.ndim(seeds) == 0 or not finite_size:
        out = out.isel(seed=0, drop=True)
    return out


def _integrate_noisy(model: RateModel, seeds: list[int], dt: float, burn_in: float,
                     rec_dt: float, n_rec: int):
    """Fixed-step finite-size integration of the batch (one seed per member).

    Returns x, u (R, time, pathway, class), currents (R, time, pathway) at the
    sample times and the class rates (R, time, population, class) counted over
    each sample's interval [t, t + rec_dt) (the last sample: the instantaneous rate).
    """
    if not (0 < dt <= rec_dt and abs(rec_dt / dt - round(rec_dt / dt)) < 1e-9):
        raise ValueError(f"noise_dt_ms must divide record_dt_ms ({rec_dt:g} ms), got {dt:g}")
    rngs = [np.random.default_rng(np.random.SeedSequence([s, NOISE_STREAM])) for s in seeds]
    x, u, current = model.initial_state()
    per_sample = int(round(rec_dt / dt))
    for _ in range(int(round(burn_in / dt))):
        x, u, current, _ = model.noisy_step(x, u, current, dt, rngs)
    xs = np.empty((model.R, n_rec) + model.shape[1:])
    us = np.empty_like(xs)
    cs = np.empty((model.R, n_rec, model.shape[1]))
    rates = np.empty((model.R, n_rec, 2, model.n_classes))
    for k in range(n_rec):
        xs[:, k], us[:, k], cs[:, k] = x, u, current
        if k == n_rec - 1:
            rates[:, k] = model.class_rates(current)
            break
        counts = np.zeros((model.R, 2, model.n_classes))
        for _ in range(per_sample):
            x, u, current, step_counts = model.noisy_step(x, u, current, dt, rngs)
            counts += step_counts
        rates[:, k] = counts / model.per_class / rec_dt
    return xs, us, cs, rates


def class_dataset(model: RateModel, params: Parameters, x: np.ndarray, u: np.ndarray,
                current: np.ndarray, rates: np.ndarray, time_ms: np.ndarray,
                depression: bool, finite_size: bool) -> xr.Dataset:
    """Dataset of the batch's R members (dim ``member``): x, u (R, time, pathway, class),
    currents (R, time, pathway), class rates (R, time, population, class) in 1/ms."""
    rate_e, rate_i = 1000.0 * rates[..., 0, :], 1000.0 * rates[..., 1, :]   # Hz
    n_e, n_i = model.size[:, 0], model.size[:, 1]
    mean_e, mean_i = rate_e.mean(axis=-1), rate_i.mean(axis=-1)               # (R, time)
    pop_rate = np.stack([mean_e, mean_i, (n_e * mean_e + n_i * mean_i) / (n_e + n_i)], axis=1)
    recovered = np.moveaxis(x.mean(axis=-1), -1, 1)                         # (R, pathway, time)
    utilization = np.moveaxis(np.where(model.facil[:, None, :, 0] > 0, u.mean(axis=-1),
                                       model.U[:, None, :, 0]), -1, 1)
    mu = np.stack(model.inputs(current), axis=1)                             # (R, 2, time)
    first = model.consts[0]
    return xr.Dataset(
        {"recovered": (("member", "pathway", "time"), recovered,
                       {"units": "1", "long_name": "mean recovered fraction x (over synapses)"}),
         "utilization": (("member", "pathway", "time"), utilization,
                         {"units": "1", "long_name": "mean utilization u (over synapses)"}),
         "rate": (("member", "population", "time"), pop_rate,
                  {"units": "Hz", "long_name": "population rate"}),
         "input": (("member", "input_population", "time"), mu,
                   {"units": "mV", "long_name": "synaptic input onto the population"}),
         "class_rate_exc": (("member", "time", "exc_class"), rate_e,
                            {"units": "Hz", "long_name": "rate of each excitatory class"}),
         "exc_I_b": (("member", "exc_class"), model.b["E"],
                     {"units": "mV", "long_name": "background input at the class centre"})},
        coords={"time": ("time", time_ms, {"units": "ms",
                                           "long_name": "time from the start of the recording"}),
                "pathway": ("pathway", list(PATHWAYS)),
                "population": ("population", ["exc", "inh", "all"]),
                "input_population": ("input_population", ["exc", "inh"]),
                "exc_class": ("exc_class", np.arange(model.n_classes))},
        attrs={"title": "heterogeneous E-I rate model of the tum2000 network",
               "n_classes": model.n_classes, "depression": int(depression),
               "finite_size": int(finite_size), "transfer": model.transfer,
               "constants": json.dumps({pw: {"in_degree": c.in_degree, "A_mV": c.A_mV,
                                             "U": c.U, "tau_rec_ms": c.tau_rec_ms,
                                             "tau_facil_ms": c.tau_facil_ms,
                                             "J_mV_ms": c.J_mV_ms}
                                        for pw, c in first.pathways.items()}),
               "burn_in_ms": float(params["burn_in_ms"]),
               "duration_ms": float(time_ms[-1]) if time_ms.size else 0.0})
