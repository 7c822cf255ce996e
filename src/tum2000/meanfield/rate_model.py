"""A heterogeneous excitatory-inhibitory rate model of the network.

Each population (E, I) is split into ``n_classes`` classes by background
input: class b holds the neurons whose I_b falls in the b-th of equal bins of
the uniform distribution [I_b_center - w/2, I_b_center + w/2], and fires at

    r_b = phi(b + mu_pop)

with phi the LIF transfer function (:mod:`.transfer`) and mu_pop the
population's synaptic input (mV). Each pathway (source then target) has a
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
  drive the synapses and deplete x. Integrated with a fixed step
  (:data:`NOISE_DT_MS`), exactly over the step for the linear decays; the
  noise is defined per step, so an adaptive solver does not apply.

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
import xarray as xr
from scipy.integrate import solve_ivp

from ..model.parameters import PATHWAYS, Parameters
from .constants import Constants, constants
from .transfer import BinAveragedRate

SOURCE = np.array([0 if pw[0] == "E" else 1 for pw in PATHWAYS])
"""Source population (0: E, 1: I) of each pathway, in :data:`PATHWAYS` order."""

N_CLASSES = 50
"""Default number of background-input classes per population."""
NOISE_DT_MS = 0.25
"""Default step of the finite-size model (ms): a tenth of the fastest time
constant (tau_I = 3 ms), over which the linear decays are exact; see the
chapter for the check against a finer step."""
NOISE_STREAM = 2000
"""Extra key of the finite-size noise's random stream (``SeedSequence([seed, 2000])``),
so that it never coincides with the network's streams for the same seed."""


def class_edges(center_mV: float, spread_mV: float, n_classes: int) -> np.ndarray:
    """Edges of ``n_classes`` equal bins of [center - spread/2, center + spread/2] (mV)."""
    return np.linspace(center_mV - spread_mV / 2.0, center_mV + spread_mV / 2.0, n_classes + 1)


@dataclass
class RateModel:
    """Constants, classes and dynamics of the heterogeneous rate model.

    The state is x (..., pathway, class), u (..., pathway, class; rows of
    depressing pathways stay 0, so their release fraction ``U + (1 - U) u``
    is U) and the four synaptic currents I (..., pathway) in mV, pathways in
    :data:`PATHWAYS` order (EE, EI from E classes; IE, II from I classes).
    Leading axes are independent copies (e.g. noise realizations).
    """

    consts: Constants
    n_classes: int = N_CLASSES
    depression: bool = True

    def __post_init__(self) -> None:
        pops = self.consts.populations
        paths = [self.consts.pathways[pw] for pw in PATHWAYS]
        edges = {p: class_edges(pops[p].I_b_center_mV, pops[p].I_b_spread_mV, self.n_classes)
                 for p in ("E", "I")}
        self.b = {p: 0.5 * (e[:-1] + e[1:]) for p, e in edges.items()}
        self.phi = {p: BinAveragedRate(pops[p], e[:-1], e[1:]) for p, e in edges.items()}
        self.N = {p: pops[p].N for p in ("E", "I")}
        self.per_class = np.array([[pops["E"].N], [pops["I"].N]]) / self.n_classes

        def column(values) -> np.ndarray:
            return np.asarray(values, dtype=np.float64)[:, None]

        self.U = column([c.U for c in paths])
        self.facil = column([c.facilitating for c in paths])     # 1.0 / 0.0
        self.tau_rec = column([c.tau_rec_ms for c in paths])
        self.tau_f = column([c.tau_facil_ms if c.facilitating else np.inf for c in paths])
        self.tau_I = np.array([c.tau_I_ms for c in paths])
        self.J = np.array([c.J_mV_ms for c in paths])
        self.shape = (len(PATHWAYS), self.n_classes)
        self.size = 2 * self.shape[0] * self.shape[1] + self.shape[0]

    # --- state ------------------------------------------------------------------
    def initial_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every synapse at rest (x = 1, u = 0), no synaptic current: the network's start."""
        return np.ones(self.shape), np.zeros(self.shape), np.zeros(self.shape[0])

    def pack(self, x: np.ndarray, u: np.ndarray, current: np.ndarray) -> np.ndarray:
        return np.concatenate([x.ravel(), u.ravel(), current.ravel()])

    def unpack(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self.shape[0] * self.shape[1]
        return (y[:n].reshape(self.shape), y[n:2 * n].reshape(self.shape), y[2 * n:])

    def inputs(self, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Synaptic input (mV) onto E (EE + IE) and onto I (EI + II)."""
        return current[..., 0] + current[..., 2], current[..., 1] + current[..., 3]

    def class_rates(self, current: np.ndarray) -> np.ndarray:
        """Mean rate (1/ms) of every class: (..., population (E, I), class)."""
        mu_e, mu_i = self.inputs(current)
        return np.stack((self.phi["E"](mu_e), self.phi["I"](mu_i)), axis=-2)

    @staticmethod
    def by_pathway(per_population: np.ndarray) -> np.ndarray:
        """(..., population, class) values of the source classes as (..., pathway, class)."""
        return per_population[..., SOURCE, :]

    def _decays(self, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """exp(-dt/tau) of recovery, facilitation (0 where depressing) and currents."""
        if getattr(self, "_decay_dt", None) != dt:
            self._decay = (np.exp(-dt / self.tau_rec), self.facil * np.exp(-dt / self.tau_f),
                           np.exp(-dt / self.tau_I))
            self._decay_dt = dt
        return self._decay

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

    def noisy_step(self, x: np.ndarray, u: np.ndarray, current: np.ndarray, dt: float,
                   rngs: list[np.random.Generator]):
        """One step of ``dt`` ms with a Poisson spike count per class (finite size).

        Each class of N_b neurons (N / n_classes) emits Poisson(N_b r_b dt)
        spikes; per neuron of the class that is ``spikes`` = count / N_b. Each
        releases the fraction ``rho x`` of its synapses' resources and adds
        that to the synaptic current; recovery, facilitation decay and current
        decay are then exact over the step. ``x``, ``u``: (R, pathway, class),
        ``current`` (R, pathway), one generator per realization R.
        Returns (x, u, current, spike counts (R, population, class)).
        """
        rec_decay, facil_decay, current_decay = self._decays(dt)
        expected = self.class_rates(current) * (dt * self.per_class)
        counts = np.stack([g.poisson(lam) for g, lam in zip(rngs, expected)])
        spikes = self.by_pathway(counts / self.per_class)
        rho = self.U + (1.0 - self.U) * u
        released = np.minimum(rho * spikes, 1.0) * x
        if self.depression:
            x = 1.0 - (1.0 - x + released) * rec_decay
        u = (u + self.U * (1.0 - u) * np.minimum(spikes, 1.0)) * facil_decay
        current = current * current_decay + (self.J / self.tau_I) * released.mean(axis=-1)
        return x, u, current, counts


def simulate_rate_model(params: Parameters, *, n_classes: int = N_CLASSES,
                        depression: bool = True, finite_size: bool = False,
                        seeds: int | Sequence[int] = 1, noise_dt_ms: float = NOISE_DT_MS,
                        duration_ms: float | None = None, burn_in_ms: float | None = None,
                        record_dt_ms: float | None = None) -> xr.Dataset:
    """Integrate the rate model for ``params``; return a dataset like the network's.

    Parameters
    ----------
    params
        The network's parameters; every constant of the model comes from them.
    n_classes
        Background-input classes per population.
    depression
        False: x held at 1 (no depression).
    finite_size
        True: Poisson spike counts of the populations' N neurons per step of
        ``noise_dt_ms``, one realization per seed in ``seeds`` (computed
        together; a list of seeds gives a ``seed`` dimension); False: the
        deterministic model (``solve_ivp``).
    duration_ms, burn_in_ms, record_dt_ms
        Default: the parameters' values (ms).

    Returns
    -------
    xarray.Dataset: ``recovered``, ``utilization`` (pathway, time), ``rate``
    (population = exc, inh, all; time; Hz; finite size: spikes counted over
    [t, t + record_dt), like the network's activity in bins), ``input``
    (input_population, time; mV), ``class_rate_exc`` (time, exc_class; Hz);
    with a leading ``seed`` dimension when ``seeds`` is a list.
    """
    duration = float(params["duration_ms"] if duration_ms is None else duration_ms)
    burn_in = float(params["burn_in_ms"] if burn_in_ms is None else burn_in_ms)
    rec_dt = float(params["record_dt_ms"] if record_dt_ms is None else record_dt_ms)
    model = RateModel(constants(params), n_classes=int(n_classes), depression=depression)
    n_rec = int(round(duration / rec_dt)) + 1
    t_rec = burn_in + rec_dt * np.arange(n_rec)
    seed_list = [int(seeds)] if np.ndim(seeds) == 0 else [int(s) for s in seeds]
    if finite_size:
        x, u, current, rates = _integrate_noisy(model, seed_list, float(noise_dt_ms),
                                                burn_in, rec_dt, n_rec)
    else:
        sol = solve_ivp(model.rhs, (0.0, t_rec[-1]), model.pack(*model.initial_state()),
                        method="RK45", t_eval=t_rec, rtol=1e-6, atol=1e-8)
        if not sol.success:
            raise RuntimeError(f"rate model integration failed: {sol.message}")
        parts = [model.unpack(y) for y in sol.y.T]
        x = np.stack([p[0] for p in parts])[None]
        u = np.stack([p[1] for p in parts])[None]
        current = np.stack([p[2] for p in parts])[None]
        rates = model.class_rates(current)
        seed_list = [-1]
    out = _to_dataset(model, params, x, u, current, rates, t_rec - burn_in, depression,
                      finite_size, seed_list)
    return out if np.ndim(seeds) else out.isel(seed=0, drop=True)


def _integrate_noisy(model: RateModel, seeds: list[int], dt: float, burn_in: float,
                     rec_dt: float, n_rec: int):
    """Fixed-step finite-size integration of R = len(seeds) realizations at once.

    Returns x, u (R, time, pathway, class), currents (R, time, pathway) at the
    sample times and the class rates (R, time, population, class) counted over each
    sample's interval [t, t + rec_dt) (the last sample: the instantaneous rate).
    """
    if not (0 < dt <= rec_dt and abs(rec_dt / dt - round(rec_dt / dt)) < 1e-9):
        raise ValueError(f"noise_dt_ms must divide record_dt_ms ({rec_dt:g} ms), got {dt:g}")
    rngs = [np.random.default_rng(np.random.SeedSequence([s, NOISE_STREAM])) for s in seeds]
    R = len(seeds)
    x0, u0, i0 = model.initial_state()
    x, u, current = (np.repeat(a[None], R, axis=0) for a in (x0, u0, i0))
    per_sample = int(round(rec_dt / dt))
    for _ in range(int(round(burn_in / dt))):
        x, u, current, _ = model.noisy_step(x, u, current, dt, rngs)
    xs = np.empty((R, n_rec) + model.shape)
    us = np.empty_like(xs)
    cs = np.empty((R, n_rec, model.shape[0]))
    rates = np.empty((R, n_rec, 2, model.n_classes))
    for k in range(n_rec):
        xs[:, k], us[:, k], cs[:, k] = x, u, current
        if k == n_rec - 1:
            rates[:, k] = model.class_rates(current)
            break
        counts = np.zeros((R, 2, model.n_classes))
        for _ in range(per_sample):
            x, u, current, step_counts = model.noisy_step(x, u, current, dt, rngs)
            counts += step_counts
        rates[:, k] = counts / model.per_class / rec_dt
    return xs, us, cs, rates


def _to_dataset(model: RateModel, params: Parameters, x: np.ndarray, u: np.ndarray,
                current: np.ndarray, rates: np.ndarray, time_ms: np.ndarray,
                depression: bool, finite_size: bool, seeds: list[int]) -> xr.Dataset:
    """Dataset of R realizations: x, u (R, time, pathway, class), current (R, time, pathway),
    class rates (R, time, population, class) in 1/ms."""
    rate_e, rate_i = 1000.0 * rates[..., 0, :], 1000.0 * rates[..., 1, :]   # Hz
    n_e, n_i = model.N["E"], model.N["I"]
    mean_e, mean_i = rate_e.mean(axis=-1), rate_i.mean(axis=-1)
    pop_rate = np.stack([mean_e, mean_i, (n_e * mean_e + n_i * mean_i) / (n_e + n_i)], axis=1)
    recovered = np.moveaxis(x.mean(axis=-1), -1, 1)                  # (R, pathway, time)
    utilization = np.moveaxis(np.where(model.facil[:, 0] > 0, u.mean(axis=-1), model.U[:, 0]),
                              -1, 1)
    mu = np.stack(model.inputs(current), axis=1)                      # (R, 2, time)
    return xr.Dataset(
        {"recovered": (("seed", "pathway", "time"), recovered,
                       {"units": "1", "long_name": "mean recovered fraction x (over synapses)"}),
         "utilization": (("seed", "pathway", "time"), utilization,
                         {"units": "1", "long_name": "mean utilization u (over synapses)"}),
         "rate": (("seed", "population", "time"), pop_rate,
                  {"units": "Hz", "long_name": "population rate"}),
         "input": (("seed", "input_population", "time"), mu,
                   {"units": "mV", "long_name": "synaptic input onto the population"}),
         "class_rate_exc": (("seed", "time", "exc_class"), rate_e,
                            {"units": "Hz", "long_name": "rate of each excitatory class"})},
        coords={"seed": ("seed", np.asarray(seeds)),
                "time": ("time", time_ms, {"units": "ms",
                                           "long_name": "time from the start of the recording"}),
                "pathway": ("pathway", list(PATHWAYS)),
                "population": ("population", ["exc", "inh", "all"]),
                "input_population": ("input_population", ["exc", "inh"]),
                "exc_class": ("exc_class", np.arange(model.n_classes)),
                "exc_I_b": ("exc_class", model.b["E"], {"units": "mV",
                                                        "long_name": "background input"})},
        attrs={"title": "heterogeneous E-I rate model of the tum2000 network",
               "parameters": params.to_json(), "n_classes": model.n_classes,
               "depression": int(depression), "finite_size": int(finite_size),
               "constants": json.dumps({pw: {"in_degree": c.in_degree, "A_mV": c.A_mV,
                                             "U": c.U, "tau_rec_ms": c.tau_rec_ms,
                                             "tau_facil_ms": c.tau_facil_ms,
                                             "J_mV_ms": c.J_mV_ms}
                                        for pw, c in model.consts.pathways.items()}),
               "burn_in_ms": float(params["burn_in_ms"]),
               "duration_ms": float(time_ms[-1]) if time_ms.size else 0.0})
