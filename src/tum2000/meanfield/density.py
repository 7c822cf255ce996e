"""A population-density model of the network's two LIF populations.

The rate model (:mod:`.rate_model`) follows the synaptic input instantly
through the stationary transfer function; it has no membrane, no density of
membrane potentials near threshold and no reset. This model keeps them. Each
population (E, I) is split into classes of background input b (equal bins
of the uniform spread [I_b_center - w/2, I_b_center + w/2], the classes of
:class:`~tum2000.meanfield.rate_model.RateModel`), and each class has a
density of membrane potentials p_b(v, t) obeying the Fokker-Planck equation
of the leaky integrate-and-fire neuron driven by the diffusion approximation
of its synaptic input (Brunel 2000, J Comput Neurosci 8:183, eqs. 9-12):

    dp_b/dt = -d/dv [ (b + s(t) - v)/tau_m p_b ] + sigma(t)^2/(2 tau_m) d2p_b/dv2

on [v_min, theta] with an absorbing threshold p_b(theta) = 0. The flux through
threshold is the class's rate r_b(t) (spikes per ms per neuron); it waits in a
refractory queue for tau_ref (3 ms E, 2 ms I; the neuron is clamped at reset in
the network) and re-enters at v_reset. The lower edge v_min (default v_reset
- 6 mV) reflects. s(t) is the population's synaptic input (mV, the sum of its
two pathways' currents).

Synapses, exactly as in :mod:`.rate_model` (Tsodyks, Pawelzik & Markram 1998,
Neural Comput 10:821): per pathway and source class the recovered fraction x_b
and the recorded utilization u_b; a class firing r_b dt spikes per neuron in a
step releases ``min(rho_b r_b dt, 1) x_b`` with rho_b = U + (1 - U) u_b, which
adds ``J / tau_I`` times its mean over classes to the pathway's current,

    tau_I dI/dt = -I + J <rho x r>_source classes,       J = C mean(A) tau_I,

and x and u recover/decay exactly over the step (the update of
``RateModel.noisy_step`` with the class's expected, not Poisson, spike count).
Every constant comes from :func:`~tum2000.meanfield.constants.constants` of
the network's :class:`~tum2000.model.parameters.Parameters`.

Noise (derived here; Campbell's theorem). A pathway's current onto one
neuron is shot noise: K = p_connect N_source inputs, each firing as a Poisson
process at its class's rate, each spike adding a = A rho x (mV) that decays
with tau_I. Its variance Q obeys

    dQ/dt = -2 Q / tau_I + K E[A^2] (E[U^2]/E[U]^2) <(rho x)^2 r>_classes,

(stationary Q = K r E[a^2] tau_I/2). Filtered by the membrane
(tau_m dv/dt = -v + I), a current of variance Q and correlation time tau_I
gives v the variance Q tau_I/(tau_m + tau_I). The white-noise diffusion of
the Fokker-Planck equation gives a free membrane the variance sigma^2/2, so
matching the free membrane's variance,

    sigma(t)^2 = 2 sum_pathways Q tau_I / (tau_m + tau_I).

(Brunel's delta-synapse value, sigma^2 = tau_m K r E[(a tau_I/tau_m)^2], is
larger by (tau_m + tau_I)/tau_m = 1.1; the two agree for tau_I -> 0.)

The synaptic current is not white: with tau_I = 3 ms against tau_m = 30 ms
the threshold is crossed less often than white noise of the same variance
crosses it. By default (``colored_noise=True``) the correction of Fourcaud &
Brunel (2002), Neural Comput 14:2057, is applied: threshold and reset are
raised by (alpha/2) sigma sqrt(tau_I/tau_m), alpha = sqrt(2) |zeta(1/2)|,
which for the density is the same as lowering the input by that amount.
Measured against neurons driven by the network's own shot noise (Poisson
inputs with its in-degrees, A and U, at the network's rates without
depression; sigma = 0.65 mV): 2.84 Hz simulated at b = 15 mV against 3.10 Hz
with the correction and 5.61 Hz without it (and 6.43 / 6.12 / 9.37 Hz at
b = 15.25 mV); in the coupled model it also brings the rates and x closer to
the network's (see ``tests/test_meanfield_density.py``).
The quenched part of the input (in-degrees and A differ between neurons, a
static offset of each neuron's mean input, proportional to the synaptic
drive) is left out by default: the classes only spread the background input.
``n_quenched > 1`` adds it, splitting each background class into classes
offset by z sigma_q(t) (:func:`quenched_factors`); measured, it does not bring
the model closer to the network (without depression and colored-noise
correction it raises E from 7.5 to 8.2 Hz, I from 19.0 to 24.9 Hz; the
network fires at 3.8 and 13.3 Hz).

Numerics. Finite volumes of width dv (cell masses m_i = p_i dv). The flux
between cells is that of Scharfetter & Gummel (1969), exact for a constant
drift a and diffusion D = sigma^2/(2 tau_m) across one cell,

    F_{i+1/2} = (D/dv) [B(-a dv/D) p_i - B(a dv/D) p_{i+1}],  B(z) = z/(e^z - 1),

which becomes the upwind flux a p_upstream as D -> 0 (the deterministic
advection limit, sigma = 0, is allowed) and central differences as a -> 0.
The threshold's flux is the same over the half cell to p(theta) = 0. Time
steps are implicit (backward Euler) in the density with the inputs of the
step's start: the matrix is an M-matrix whose columns sum to 1 (plus the
outflow in the last cell), so the density stays positive for any dt and
density + refractory mass is conserved to round-off (every step, tested to
1e-10). All classes of both populations form one tridiagonal system, solved
by LAPACK's ``dgtsv`` per step. Grid and step are justified by
``tests/test_meanfield_density.py`` (halving dv and dt changes the rates by
less than the tolerances stated there).

The stationary density of one uncoupled class is the null vector of the same
discrete operator with its outflow re-injected at reset
(:func:`stationary_rate`); it is the steady state of the time stepping for
any dt.

A mesoscopic finite-size theory (Schwalger, Deger & Gerstner 2017, PLoS
Comput Biol 13:e1005507) would make the density itself stochastic; here
``finite_size=True`` only replaces the spikes that drive the synapses by
Poisson counts of the class's N_b neurons, as the rate model's option does.

Output: an ``xarray.Dataset`` with the rate model's names and conventions
(:func:`~tum2000.meanfield.rate_model.simulate_rate_model`): ``recovered``,
``utilization`` (pathway, time), ``rate`` (population = exc, inh, all; time;
Hz, the spikes of [t, t + record_dt) over record_dt), ``input``
(input_population, time; mV), ``class_rate_exc`` and ``exc_I_b``; plus
``sigma`` (input_population, time; mV) and the attribute
``max_mass_error`` (largest |density + refractory mass - 1| over all steps
and classes).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import xarray as xr
from scipy.linalg import lapack
from scipy.stats import truncnorm

from tum2000.meanfield.constants import NeuronConstants, constants
from tum2000.meanfield.rate_model import NOISE_STREAM, RateModel, class_dataset, \
    poisson_by_inversion
from tum2000.model.parameters import PATHWAYS, Parameters

N_CLASSES = 20
"""Default number of background-input classes per population."""
DV_MV = 0.025
"""Default cell width (mV): 60 cells between reset and threshold. In the
network's state the excitatory input is nearly noiseless (sigma ~ 0.1 mV),
where the scheme is first-order upwind: halving dv from 0.025 mV moves the
rates by < 1 % (0.05 -> 0.025: 2 %; measured in the convergence test)."""
DT_MS = 0.1
"""Default time step (ms), the network's own; halving it moves the rates by
< 0.5 % (the convergence test)."""
V_MIN_BELOW_RESET_MV = 6.0
"""Default lower edge of the grid, this far below reset (mV). A population
spike's inhibition moves the membranes down by about 3 mV (IE: J U / tau_m ~
-165 mV ms x 0.5 / 30 ms per inhibitory spike per neuron), so 6 mV holds them."""
FAST_OPTIONS: dict[str, int | float] = {"n_classes": 10, "dv_mV": 0.05, "dt_ms": 0.2}
"""Coarser numerics for long noisy runs (the size series, ``tum2000 theory``):
half the default classes, twice the default cell and step, 1.4 instead of
5.3 s of computing per simulated second here. At the default parameters they
move the quiet state's excitatory rate from 7.07 to 6.89 Hz (-2.6 %) and its
x from 0.518 to 0.520 (measured); halving dt alone moves the rate by < 0.01 %."""
POPULATIONS = ("E", "I")
COLORED_ALPHA = 2.0652
"""sqrt(2) |zeta(1/2)| (Fourcaud & Brunel 2002, Neural Comput 14:2057, eq. 4.6)."""


def bernoulli(z: np.ndarray) -> np.ndarray:
    """B(z) = z / (e^z - 1), with B(0) = 1; 0 for large z, -z for very negative z."""
    z = np.asarray(z, dtype=np.float64)
    small = np.abs(z) < 1e-10
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = z / np.expm1(z)
    return np.where(small, 1.0 - 0.5 * z, out)


def flux_coefficients(a: np.ndarray, D: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Scharfetter-Gummel coefficients (c_up, c_down) of a flux over a distance h.

    The flux from density p_left to p_right is ``c_up p_left - c_down p_right``
    (mV/ms times 1/mV) with ``c_up = (D/h) B(-a h/D)``, ``c_down = c_up - a``;
    D = 0 gives the upwind flux (``c_up = max(a, 0)``, ``c_down = max(-a, 0)``).
    ``a`` is the drift (mV/ms) at the interface, ``D`` (mV^2/ms) broadcasts.
    """
    a = np.asarray(a, dtype=np.float64)
    D = np.broadcast_to(np.asarray(D, dtype=np.float64), a.shape)
    diffusive = D > 0
    safe = np.where(diffusive, D, 1.0)
    c_up = np.where(diffusive, safe / h * bernoulli(-a * h / safe), np.maximum(a, 0.0))
    return c_up, c_up - a


@dataclass
class Grid:
    """Cells of width ``dv`` from ``v_min`` to the threshold (mV).

    The reset re-injects mass into the two cells whose centres bracket it,
    split so that the injected mean potential is v_reset.
    """

    theta: float
    v_reset: float
    dv: float
    v_min: float

    def __post_init__(self) -> None:
        n = int(np.ceil((self.theta - self.v_min) / self.dv - 1e-9))
        self.n = n
        self.v_min = self.theta - n * self.dv          # threshold is an edge exactly
        self.edges = self.v_min + self.dv * np.arange(n + 1)
        self.centres = self.edges[:-1] + 0.5 * self.dv
        pos = (self.v_reset - self.v_min) / self.dv - 0.5   # reset in units of centres
        j = int(np.clip(np.floor(pos), 0, n - 2))
        w = float(np.clip(pos - j, 0.0, 1.0))
        self.reset_cells = (j, j + 1)
        self.reset_weights = (1.0 - w, w)

    def cell_of(self, v_mV: float) -> int:
        """Index of the cell holding ``v_mV`` (clipped to the grid)."""
        return int(np.clip(np.floor((v_mV - self.v_min) / self.dv), 0, self.n - 1))


class DensityStepper:
    """Implicit Fokker-Planck steps of many classes at once (one tridiagonal system).

    ``groups`` lists, per group of classes (e.g. a population), its number of
    classes and refractory steps; all share one :class:`Grid` and tau_m.
    State: cell masses ``m`` (classes, cells) and the refractory queue of each
    group (refractory steps, classes of the group), whose oldest row
    re-enters at reset.
    """

    def __init__(self, grid: Grid, tau_m_ms: float, dt_ms: float,
                 groups: list[tuple[int, int]]):
        self.grid, self.tau_m, self.dt = grid, float(tau_m_ms), float(dt_ms)
        self.sizes = [k for k, _ in groups]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        self.n_classes = int(self.offsets[-1])
        self.queues = [np.zeros((max(steps, 1), k)) for k, steps in groups]
        self.ref_steps = [steps for _, steps in groups]
        self.heads = [0] * len(groups)
        self.m = np.zeros((self.n_classes, grid.n))

    def start_at(self, v_lo_mV: float, v_hi_mV: float) -> None:
        """Every class uniform on [v_lo, v_hi] (clipped to the grid), nothing refractory."""
        g = self.grid
        lo, hi = g.cell_of(v_lo_mV), g.cell_of(v_hi_mV)
        self.m[:] = 0.0
        self.m[:, lo:hi + 1] = 1.0 / (hi - lo + 1)
        for q in self.queues:
            q[:] = 0.0

    def refractory_mass(self) -> np.ndarray:
        """Mass waiting in the refractory queues, per class."""
        return np.concatenate([q.sum(axis=0) if s > 0 else np.zeros(q.shape[1])
                               for q, s in zip(self.queues, self.ref_steps)])

    def total_mass(self) -> np.ndarray:
        """Density plus refractory mass per class (1 when conserved)."""
        return self.m.sum(axis=1) + self.refractory_mass()

    def step(self, mu_mV: np.ndarray, D: np.ndarray) -> np.ndarray:
        """Advance by dt with mean input ``mu_mV`` (classes,) and diffusion D (classes,).

        Returns the mass of each class that crossed threshold in the step
        (spikes per neuron); it joins the refractory queue.
        """
        g, dt = self.grid, self.dt
        gam = dt / g.dv
        mu = np.asarray(mu_mV, dtype=np.float64)[:, None]
        Dc = np.asarray(D, dtype=np.float64)[:, None]
        a = (mu - g.edges[None, :]) / self.tau_m                      # (classes, n + 1)
        c_up, c_down = flux_coefficients(a[:, 1:-1], Dc, g.dv)           # interior interfaces
        c_out, _ = flux_coefficients(a[:, -1:], Dc, 0.5 * g.dv)          # to p(theta) = 0
        K = self.n_classes
        zero = np.zeros((K, 1))
        up = np.concatenate([c_up, c_out], axis=1)      # c_up of interfaces 1..n
        down = np.concatenate([zero, c_down], axis=1)   # c_down of interfaces 0..n-1
        diag = 1.0 + gam * (up + down)
        sub = -gam * np.concatenate([zero, c_up], axis=1)     # row i, column i - 1
        sup = -gam * np.concatenate([c_down, zero], axis=1)   # row i, column i + 1
        rhs = self.m.copy()
        # mass whose refractory period ends re-enters at reset, before the step
        j0, j1 = g.reset_cells
        w0, w1 = g.reset_weights
        for q, (lo, hi), steps, idx in zip(self.queues, zip(self.offsets[:-1], self.offsets[1:]),
                                           self.ref_steps, range(len(self.queues))):
            if steps > 0:
                back = q[self.heads[idx]]
                rhs[lo:hi, j0] += w0 * back
                rhs[lo:hi, j1] += w1 * back
        _, _, _, x, info = lapack.dgtsv(sub.ravel()[1:], diag.ravel(), sup.ravel()[:-1],
                                        rhs.reshape(-1, 1), overwrite_b=1)
        if info != 0:
            raise FloatingPointError(f"tridiagonal solve failed (LAPACK info {info})")
        self.m = x.reshape(K, g.n)
        out = gam * c_out[:, 0] * self.m[:, -1]
        for idx, (lo, hi) in enumerate(zip(self.offsets[:-1], self.offsets[1:])):
            if self.ref_steps[idx] > 0:
                # the slot just emptied takes this step's spikes: back in ref_steps steps
                self.queues[idx][self.heads[idx]] = out[lo:hi]
                self.heads[idx] = (self.heads[idx] + 1) % self.ref_steps[idx]
            else:
                self.m[lo:hi, j0] += w0 * out[lo:hi]
                self.m[lo:hi, j1] += w1 * out[lo:hi]
        return out


def _steps(name: str, value_ms: float, dt_ms: float) -> int:
    ratio = value_ms / dt_ms
    if abs(ratio - round(ratio)) > 1e-9 * max(1.0, ratio):
        raise ValueError(f"{name} ({value_ms:g} ms) must be a whole multiple of dt_ms "
                         f"({dt_ms:g} ms)")
    return int(round(ratio))


def make_grid(neurons: NeuronConstants, dv_mV: float, v_min_mV: float | None) -> Grid:
    """The grid of one population's constants (default v_min: reset - 6 mV)."""
    v_min = neurons.v_reset_mV - V_MIN_BELOW_RESET_MV if v_min_mV is None else float(v_min_mV)
    if not v_min < neurons.v_reset_mV:
        raise ValueError(f"v_min_mV must be below v_reset ({neurons.v_reset_mV:g} mV)")
    return Grid(theta=neurons.v_thresh_mV, v_reset=neurons.v_reset_mV, dv=float(dv_mV),
                v_min=v_min)


def stationary_density(neurons: NeuronConstants, mu_mV: float, sigma_mV: float, *,
                       dv_mV: float = DV_MV, v_min_mV: float | None = None
                       ) -> tuple[float, np.ndarray, Grid]:
    """Stationary rate (1/ms) and cell masses of one uncoupled class.

    Solves ``L m = -e_reset`` (unit flux re-entering at reset; L is the
    discrete Fokker-Planck operator of :class:`DensityStepper` with the
    absorbing threshold, invertible when any mass can leave), whose outflow
    is then 1 by construction; normalizing density plus the refractory mass
    ``rate tau_ref`` to 1 gives the rate. Returns 0 and a density at mu when
    nothing can leave (sigma = 0 and mu <= theta).
    """
    grid = make_grid(neurons, dv_mV, v_min_mV)
    D = float(sigma_mV) ** 2 / (2.0 * neurons.tau_mem_ms)
    if D == 0.0 and mu_mV <= grid.theta:
        m = np.zeros(grid.n)
        m[grid.cell_of(mu_mV)] = 1.0
        return 0.0, m, grid
    a = (mu_mV - grid.edges) / neurons.tau_mem_ms
    c_up, c_down = flux_coefficients(a[1:-1], D, grid.dv)
    c_out, _ = flux_coefficients(a[-1:], D, 0.5 * grid.dv)
    up = np.concatenate([c_up, c_out])
    down = np.concatenate([[0.0], c_down])
    diag = (up + down) / grid.dv
    sub = -c_up / grid.dv
    sup = -c_down / grid.dv
    rhs = np.zeros((grid.n, 1))
    for j, w in zip(grid.reset_cells, grid.reset_weights):
        rhs[j, 0] += w
    _, _, _, m, info = lapack.dgtsv(sub, diag, sup, rhs)
    if info != 0:
        raise FloatingPointError(f"stationary solve failed (LAPACK info {info})")
    m = m[:, 0]
    total = m.sum() + neurons.tau_ref_ms      # outflow 1 per ms waits tau_ref
    return 1.0 / total, m / total, grid


def stationary_rate(params: Parameters, mu_mV, sigma_mV: float, *, population: str = "E",
                    dv_mV: float = DV_MV, v_min_mV: float | None = None,
                    colored_noise: bool = False) -> np.ndarray:
    """Stationary rate (Hz) of an uncoupled class at mean input ``mu_mV`` (b + s).

    Parameters
    ----------
    params
        The network's parameters (tau_m, threshold, reset, refractory period
        of ``population``).
    mu_mV
        Mean input(s), mV (broadcast).
    sigma_mV
        Noise amplitude (mV; free membrane s.d. sigma/sqrt(2)); 0 allowed.
    population
        "E" or "I".
    dv_mV, v_min_mV
        Grid (see :func:`simulate_density`).
    colored_noise
        True: threshold and reset raised by the correction of Fourcaud &
        Brunel (2002) for the population's synaptic time constant (see
        :func:`colored_shift_mV`), as :func:`simulate_density` does by default.

    Returns
    -------
    numpy array of rates in Hz, the shape of ``mu_mV``. The sigma -> 0 limit is
    the LIF transfer function (:func:`tum2000.meanfield.transfer.lif_rate_hz`),
    sigma > 0 the Siegert formula (Brunel 2000, eq. 21), both to the grid's
    accuracy.
    """
    neurons = constants(params).populations[population]
    mu = np.asarray(mu_mV, dtype=np.float64)
    if colored_noise:
        mu = mu - colored_shift_mV(params, population, sigma_mV)
    out = np.array([stationary_density(neurons, float(m), sigma_mV, dv_mV=dv_mV,
                                       v_min_mV=v_min_mV)[0] for m in mu.ravel()])
    return 1000.0 * out.reshape(mu.shape)


def colored_shift_mV(params: Parameters, population: str, sigma_mV) -> np.ndarray:
    """(alpha/2) sigma sqrt(tau_s/tau_m) (mV): the rise of the effective threshold
    (and reset) of LIF neurons whose input is filtered with tau_s, the mean
    tau_I of the two pathways onto ``population`` (Fourcaud & Brunel 2002)."""
    c = constants(params)
    tau_s = np.mean([c.pathways[pw].tau_I_ms for pw in PATHWAYS if pw[1] == population])
    tau_m = c.populations[population].tau_mem_ms
    return 0.5 * COLORED_ALPHA * np.asarray(sigma_mV, dtype=np.float64) * np.sqrt(tau_s / tau_m)


def truncated_normal_second_moment(mean: float, sd: float, low: float, high: float) -> float:
    """E[X^2] of Normal(mean, sd) truncated to [low, high] (sd = 0: the clipped mean squared)."""
    if sd == 0.0:
        return float(np.clip(mean, low, high)) ** 2
    a, b = (low - mean) / sd, (high - mean) / sd
    return float(truncnorm.moment(2, a, b, loc=mean, scale=sd))


def shot_noise_factors(params: Parameters) -> np.ndarray:
    """K E[A^2] E[U^2]/E[U]^2 of each pathway (mV^2), in :data:`PATHWAYS` order.

    A spike of a presynaptic neuron whose synapses release rho x adds
    a = A rho x to the current of each target; over the K synapses of a
    neuron, A and U are drawn independently from the truncated normals of
    the network (:func:`tum2000.meanfield.constants.pathway_constants`), so
    the current's variance grows by K E[A^2] (rho x)^2 E[U^2]/E[U]^2 per
    spike per presynaptic neuron (the U-spread factor applied to rho as a
    whole; for facilitating synapses rho ~ U at the network's rates).
    """
    c = constants(params)
    out = []
    for pw in PATHWAYS:
        a = params[f"{pw}_A_mV"]
        a_lo, a_hi = sorted((params["A_min_fraction"] * a, params["A_max_fraction"] * a))
        a2 = truncated_normal_second_moment(a, params["A_sd_fraction"] * abs(a), a_lo, a_hi)
        u = params[f"{pw}_U"]
        u2 = truncated_normal_second_moment(u, params["U_sd_fraction"] * u,
                                            params[f"{pw}_U_min"], params[f"{pw}_U_max"])
        pc = c.pathways[pw]
        out.append(pc.in_degree * a2 * u2 / pc.U ** 2)
    return np.array(out)


def quenched_nodes(n: int) -> np.ndarray:
    """n equally weighted nodes of a standard normal: the midpoints (in
    probability) of n equal-probability bins, rescaled to variance 1 exactly;
    [0] for n = 1."""
    if n == 1:
        return np.zeros(1)
    from scipy.stats import norm
    z = norm.ppf((np.arange(n) + 0.5) / n)
    return z / np.sqrt(np.mean(z ** 2))


def quenched_factors(params: Parameters) -> tuple[np.ndarray, np.ndarray]:
    """(K E[A^2] E[U^2]/E[U]^2, p_connect K E[A]^2) of each pathway (mV^2).

    The mean input of neuron i from a pathway is ``sum_j A_ij C_j`` over its
    in-degree K_i ~ Binomial(N_source, p) inputs, C_j the (tau_I-filtered)
    release of presynaptic neuron j. Over neurons its variance is
    ``Var(K_i) E[c]^2 + E[K_i] Var(c) = K (E[A^2] E[C^2] - p E[A]^2 E[C]^2)``
    (c = A C, Var(K_i) = K (1 - p)); E[C^2] is taken over source classes and
    the U spread enters as for the shot noise (:func:`shot_noise_factors`).
    This static offset of each neuron's input, proportional to the
    synaptic drive, is what the classes of background input alone miss.
    """
    c = constants(params)
    a1 = np.array([params["p_connect"] * c.pathways[pw].in_degree * c.pathways[pw].A_mV ** 2
                   for pw in PATHWAYS])
    return shot_noise_factors(params), a1


@dataclass
class DensityState:
    """Everything the density model carries from one step to the next.

    Returned by ``simulate_density(..., return_state=True)`` at the end of a
    run and accepted as its ``initial_state``, so that one run to a moment
    (e.g. a quiet state, or some time after a population spike) can be
    continued many times with different pulses. Arrays are copied both ways.
    """

    masses: np.ndarray              # (classes, cells): density mass per cell
    queues: list                    # per population (refractory steps, classes)
    heads: list                     # per population: the queue slot that re-enters next
    x: np.ndarray                   # recovered fraction (1, pathway, class)
    u: np.ndarray                   # utilization (1, pathway, class)
    current: np.ndarray             # synaptic currents (1, pathway), mV
    variance: np.ndarray            # shot-noise variance of each current (pathway,), mV^2
    filtered: np.ndarray            # filtered release per source class (pathway, class)
    last_spikes: np.ndarray         # spikes per neuron of the last step (population, class)
    rng: np.random.Generator | None  # the finite-size noise's stream, or None

    def copy(self) -> "DensityState":
        return copy.deepcopy(self)


TARGET = np.array([0 if pw[1] == "E" else 1 for pw in PATHWAYS])
"""Target population (0: E, 1: I) of each pathway, in :data:`PATHWAYS` order."""


def simulate_density(params: Parameters, *, n_classes: int = N_CLASSES,
                     dv_mV: float = DV_MV, dt_ms: float = DT_MS,
                     sigma_mV: float | tuple[float, float] | None = None,
                     v_min_mV: float | None = None,
                     duration_ms: float | None = None, burn_in_ms: float | None = None,
                     record_dt_ms: float | None = None, depression: bool = True,
                     colored_noise: bool = True, n_quenched: int = 1, stimulus_mV=None,
                     finite_size: bool = False, seed: int | None = None,
                     initial_state: DensityState | None = None, return_state: bool = False
                     ) -> xr.Dataset | tuple[xr.Dataset, DensityState]:
    """Integrate the population-density model of the network; a dataset like the network's.

    Parameters
    ----------
    params
        The network's parameters; every constant comes from them
        (:func:`tum2000.meanfield.constants.constants`).
    n_classes
        Background-input classes per population (equal bins of the uniform
        spread of I_b; a spread of 0 makes them identical).
    dv_mV, dt_ms
        Cell width (mV) and time step (ms); dt must divide the refractory
        periods, the burn-in and record_dt.
    sigma_mV
        None: the noise of the network's shot-noise input, derived at every
        step from the presynaptic rates and synaptic states (see the module
        docstring); a number (or one per population E, I): a fixed sigma
        (mV); 0 is the deterministic advection limit.
    v_min_mV
        Lower (reflecting) edge of the grid; default v_reset - 6 mV.
    duration_ms, burn_in_ms, record_dt_ms
        Default: the parameters' values.
    depression
        False: every x held at 1.
    colored_noise
        True (default): the correction of Fourcaud & Brunel (2002) for synaptic
        filtering, threshold and reset raised by
        ``COLORED_ALPHA/2 sigma sqrt(tau_I/tau_m)`` (applied as the same shift
        of the input down, which is equivalent for the density).
    n_quenched
        1: no quenched input heterogeneity. n > 1: each background class is
        split into n classes whose synaptic input is offset by z sigma_q(t),
        z the n equal-probability nodes of a standard normal
        (:func:`quenched_nodes`) and sigma_q(t) the spread across neurons of
        the mean synaptic input that random in-degrees and strengths give
        (:func:`quenched_factors`).
    stimulus_mV
        None, or a function of the time since the start of the simulation
        (ms, burn-in included) returning the extra input (mV) onto E and
        onto I, e.g. a brief pulse to probe excitability.
    finite_size
        True: the synapses are driven by Poisson counts of each class's
        N/n_classes neurons (mean N_b r_b dt), seeded by ``seed`` (stream
        ``SeedSequence([seed, 2000])`` as the rate model's); the density
        itself stays deterministic.
    seed
        Seed of the finite-size noise (required with ``finite_size`` unless
        ``initial_state`` carries the stream).
    initial_state
        None: the network's start (membranes uniform on the v_init range,
        synapses at rest). A :class:`DensityState` from an earlier run with
        the same parameters and options: continue from it (``stimulus_mV``
        times and the burn-in then count from this call's start).
    return_state
        True: return ``(dataset, state at the end)``.

    Returns
    -------
    xarray.Dataset with ``recovered``, ``utilization`` (pathway, time),
    ``rate`` (population = exc, inh, all; time; Hz, spikes in
    [t, t + record_dt) per record_dt; the last sample the rate of the last
    step), ``input`` and ``sigma`` (input_population, time; mV),
    ``class_rate_exc`` (time, exc_class; Hz), ``exc_I_b``; time in ms from
    the start of the recording, every record_dt after burn_in. Attribute
    ``max_mass_error``: the largest |density + refractory mass - 1| of any
    class at any step.
    """
    if finite_size and seed is None and (initial_state is None or initial_state.rng is None):
        raise ValueError("finite_size needs a seed")
    consts = constants(params)
    duration = float(params["duration_ms"] if duration_ms is None else duration_ms)
    burn_in = float(params["burn_in_ms"] if burn_in_ms is None else burn_in_ms)
    rec_dt = float(params["record_dt_ms"] if record_dt_ms is None else record_dt_ms)
    dt = float(dt_ms)
    per_record = _steps("record_dt_ms", rec_dt, dt)
    burn_steps = _steps("burn_in_ms", burn_in, dt)
    n_rec = int(round(duration / rec_dt)) + 1
    neurons = {p: consts.populations[p] for p in POPULATIONS}
    grid = make_grid(neurons["E"], dv_mV, v_min_mV)
    ref_steps = [_steps(f"the refractory period of {p}", neurons[p].tau_ref_ms, dt)
                 for p in POPULATIONS]
    n_q = int(n_quenched)
    syn = RateModel([consts], n_classes=int(n_classes) * n_q, depression=depression)
    K = syn.n_classes
    # classes: every background-input bin (the rate model's, of n_classes)
    # with every quenched-input node z (equal weights, so that means over
    # classes stay means over neurons)
    z = np.tile(quenched_nodes(n_q), int(n_classes))
    for pop in POPULATIONS:
        centres = RateModel([consts], n_classes=int(n_classes)).b[pop]
        syn.b[pop] = np.repeat(centres, n_q, axis=-1)
    quenched_a2, quenched_a1 = quenched_factors(params)
    stepper = DensityStepper(grid, neurons["E"].tau_mem_ms, dt,
                             [(K, ref_steps[0]), (K, ref_steps[1])])
    stepper.start_at(params["v_init_min_mV"], params["v_init_max_mV"])
    b = np.concatenate([syn.b["E"][0], syn.b["I"][0]])             # (2K,) mV
    tau_m = neurons["E"].tau_mem_ms
    if sigma_mV is None:
        fixed_D = None
        noise = shot_noise_factors(params)                          # (4,) mV^2
        tau_I = syn.tau_I[0]                                        # (4,)
        q_decay = np.exp(-2.0 * dt / tau_I)
        to_sigma2 = 2.0 * tau_I / (tau_m + tau_I)
    else:
        sig = np.broadcast_to(np.asarray(sigma_mV, dtype=np.float64), (2,))
        fixed_D = np.repeat(sig ** 2 / (2.0 * tau_m), K)
    # Fourcaud-Brunel: the effective threshold of LIF neurons with synaptic
    # filtering tau_s is theta + (alpha/2) sigma sqrt(tau_s/tau_m)
    tau_s = np.repeat([syn.tau_I[0][TARGET == t].mean() for t in (0, 1)], K)
    shift_per_sigma = 0.5 * COLORED_ALPHA * np.sqrt(tau_s / tau_m)
    per_class = syn.per_class[0]                                    # (2, 1) neurons per class

    if initial_state is None:
        rng = (np.random.default_rng(np.random.SeedSequence([int(seed), NOISE_STREAM]))
               if finite_size else None)
        x, u, current = syn.initial_state()
        q = np.zeros(len(PATHWAYS))                                 # current variances, mV^2
        filtered = np.zeros((len(PATHWAYS), K))  # per source class, released filtered by tau_I
        last_spikes = np.zeros((2, K))
    else:
        start = initial_state.copy()
        if start.masses.shape != stepper.m.shape or [qq.shape for qq in start.queues] != [
                qq.shape for qq in stepper.queues]:
            raise ValueError("initial_state comes from a run with another grid, time step "
                             "or number of classes")
        stepper.m, stepper.queues, stepper.heads = start.masses, start.queues, start.heads
        x, u, current = start.x, start.u, start.current
        q, filtered, last_spikes = start.variance, start.filtered, start.last_spikes
        rng = start.rng if finite_size else None
        if finite_size and rng is None:
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), NOISE_STREAM]))
    rec_decay, facil_decay, current_decay = syn._decays(dt)
    max_err = 0.0
    xs = np.empty((1, n_rec, len(PATHWAYS), K))
    us = np.empty_like(xs)
    cs = np.empty((1, n_rec, len(PATHWAYS)))
    rates = np.empty((1, n_rec, 2, K))
    sigmas = np.empty((n_rec, 2))
    step_index = 0

    def quenched_var() -> np.ndarray:
        # across neurons: K (E[A^2] k_U <C^2> - p E[A]^2 <C>^2) per pathway, C the
        # filtered release of a source class (the pathway's current is K E[A] <C>)
        v = quenched_a2 * (filtered ** 2).mean(axis=-1) - quenched_a1 * filtered.mean(axis=-1) ** 2
        v = np.maximum(v, 0.0)
        return np.array([v[TARGET == t].sum() for t in (0, 1)])

    def sigma2_now() -> np.ndarray:
        return np.array([(to_sigma2 * q)[TARGET == t].sum() for t in (0, 1)])

    def one_step():
        nonlocal x, u, current, q, filtered, max_err, last_spikes, step_index
        mu_e, mu_i = syn.inputs(current[0])
        if stimulus_mV is not None:
            extra_e, extra_i = stimulus_mV(step_index * dt)
            mu_e, mu_i = mu_e + extra_e, mu_i + extra_i
        step_index += 1
        mu = b + np.repeat([mu_e, mu_i], K)
        if n_q > 1:
            mu = mu + np.concatenate([z * sq for sq in np.sqrt(quenched_var())])
        D = fixed_D if fixed_D is not None else np.repeat(sigma2_now() / (2.0 * tau_m), K)
        if colored_noise:
            mu = mu - shift_per_sigma * np.sqrt(2.0 * tau_m * D)
        spikes = stepper.step(mu, D).reshape(2, K)                 # spikes per neuron
        max_err = max(max_err, float(np.abs(stepper.total_mass() - 1.0).max()))
        last_spikes = spikes
        if finite_size:
            counts = poisson_by_inversion(spikes * per_class, rng.random(spikes.shape))
            drive = counts / per_class
        else:
            drive = spikes
        # the rate model's step (RateModel.noisy_step) with these spikes per neuron
        s = syn.by_pathway(drive[None])                             # (1, 4, K)
        rho = syn.U + (1.0 - syn.U) * u
        released = np.minimum(rho * s, 1.0) * x
        if fixed_D is None:
            # shot-noise variance: each released spike adds (A rho x)^2 to Q
            q = q * q_decay + noise * (released * rho * x)[0].mean(axis=-1)
        if depression:
            x = 1.0 - (1.0 - x + released) * rec_decay
        u = (u + syn.U * (1.0 - u) * np.minimum(s, 1.0)) * facil_decay
        current = current * current_decay + (syn.J / syn.tau_I) * released.mean(axis=-1)
        if n_q > 1:
            filtered = filtered * current_decay[0][:, None] + released[0]
        return drive

    for _ in range(burn_steps):
        one_step()
    for k in range(n_rec):
        xs[:, k], us[:, k], cs[:, k] = x, u, current
        sigmas[k] = (np.sqrt(2.0 * tau_m * fixed_D[[0, K]]) if fixed_D is not None
                     else np.sqrt(sigma2_now()))
        if k == n_rec - 1:
            rates[0, k] = last_spikes / dt
            break
        total = np.zeros((2, K))
        for _ in range(per_record):
            total += one_step()
        rates[0, k] = total / rec_dt

    out = class_dataset(syn, params, xs, us, cs, rates, rec_dt * np.arange(n_rec), depression,
                      finite_size).isel(member=0, drop=True)
    out["sigma"] = (("input_population", "time"), sigmas.T,
                    {"units": "mV", "long_name": "noise amplitude sigma of the input"})
    out.attrs.update({
        "title": "population-density model of the tum2000 network",
        "dv_mV": grid.dv, "dt_ms": dt, "v_min_mV": grid.v_min,
        "sigma": "derived from the shot noise" if sigma_mV is None else json.dumps(
            np.broadcast_to(np.asarray(sigma_mV, float), (2,)).tolist()),
        "colored_noise": int(colored_noise), "max_mass_error": max_err, "parameters": params.to_json()})
    if finite_size and seed is not None:
        out.attrs["seed"] = int(seed)
    if return_state:
        return out, DensityState(stepper.m.copy(), [qq.copy() for qq in stepper.queues],
                                 list(stepper.heads), x.copy(), u.copy(), current.copy(),
                                 q.copy(), filtered.copy(), last_spikes.copy(),
                                 copy.deepcopy(rng))
    return out


def square_pulse(at_ms: float, amplitude_mV: float, duration_ms: float
                 ) -> Callable[[float], tuple[float, float]]:
    """A ``stimulus_mV`` for :func:`simulate_density`: ``amplitude_mV`` onto the
    excitatory population from ``at_ms`` (ms since the start of the simulation,
    burn-in included) for ``duration_ms``, nothing onto the inhibitory one; the
    network's pulse (``stim_amplitude_mV``, ``stim_duration_ms``)."""
    def stimulus(t_ms: float) -> tuple[float, float]:
        return (amplitude_mV if at_ms <= t_ms < at_ms + duration_ms else 0.0, 0.0)
    return stimulus


def smallest_evoking_pulse(params: Parameters, *, pulse_ms: float, settle_ms: float,
                           low_mV: float = 0.005, high_mV: float = 2.0, halvings: int = 5,
                           **options) -> tuple[float, float, xr.Dataset | None]:
    """The smallest pulse onto the excitatory population that evokes a full
    population spike, by bisection in log amplitude.

    The model runs ``params['burn_in_ms']`` + ``settle_ms`` to its quiet state,
    then gets a pulse of ``pulse_ms``; "evoked" means a full PS (excitatory
    participation >= 0.5; :func:`tum2000.meanfield.bifurcation.rate_model_events`)
    starting after the pulse. ``halvings`` steps narrow [low_mV, high_mV] by a
    factor (high/low)^(1/2^halvings) (1.18 with the defaults). Returns (the
    smallest evoking amplitude found, the largest failing one, the run at the
    evoking amplitude); (nan, high_mV, None) when even ``high_mV`` fails, and
    (low_mV, 0.0, run) when ``low_mV`` already evokes one (the threshold is at
    most low_mV).
    ``options`` go to :func:`simulate_density`.
    """
    from tum2000.meanfield.bifurcation import rate_model_events

    # One run to the pulse, then every trial continues from its state
    # (DensityState): the same numbers as one run per trial, at a fraction of
    # the cost. The quiet run's last sample (the rate of its last step) gives
    # way to the trial's first (the pulse's first millisecond).
    quiet, state = simulate_density(params.replace(duration_ms=float(settle_ms)),
                                    return_state=True, **options)
    quiet = quiet.isel(time=slice(None, -1))
    trial = params.replace(duration_ms=300.0)

    def run(amplitude: float) -> tuple[bool, xr.Dataset]:
        tail = simulate_density(trial, burn_in_ms=0.0, initial_state=state,
                                stimulus_mV=square_pulse(0.0, amplitude, pulse_ms), **options)
        tail = tail.assign_coords(time=tail["time"] + float(settle_ms))
        ds = xr.concat([quiet, tail], dim="time", data_vars="all", combine_attrs="override")
        ev = rate_model_events(ds.sel(time=slice(settle_ms - 1.0, None)))
        return bool(np.any(ev["full"] & ev["whole"])), ds

    fired, evoked = run(high_mV)
    if not fired:
        return float("nan"), high_mV, None
    fired, ds = run(low_mV)
    if fired:
        return low_mV, 0.0, ds
    lo, hi = low_mV, high_mV
    for _ in range(halvings):
        mid = float(np.sqrt(lo * hi))
        fired, ds = run(mid)
        if fired:
            hi, evoked = mid, ds
        else:
            lo = mid
    return hi, lo, evoked


PULSE_LEAD_MS = 10.0
"""Quiet model time before a pulse in :func:`evoked_threshold_curve` (ms): the
recorded samples before it let the event detection see the onset of the
response, which can start within the pulse's first millisecond."""


def evoked_threshold_curve(params: Parameters, delays_ms: Sequence[float], *,
                           kick_mV: float, pulse_ms: float, settle_ms: float,
                           response_ms: float, amplitude_range_mV: tuple[float, float],
                           halvings: int, **options) -> xr.Dataset:
    """The smallest pulse that evokes a full population spike at delays after
    one, with the recovered fraction x at the pulse: the network's evoked
    experiment (:func:`tum2000.sweeps.scenarios.evoked_study`) on this model.

    The model runs ``params['burn_in_ms']`` + ``settle_ms`` to its quiet state;
    a pulse of ``kick_mV`` for ``pulse_ms`` sets off a population spike (the
    network's spontaneous one); ``delays_ms`` after the kick's start a pulse
    of ``pulse_ms`` onto the excitatory population is tried, continuing from
    the model's state at that moment (:class:`DensityState`), and its
    amplitude is bisected ``halvings`` times in ``amplitude_range_mV``.
    "Evoked" is the network's rule: a full PS (whole, excitatory participation
    >= 0.5; :func:`tum2000.meanfield.bifurcation.rate_model_events`) whose
    onset lies within ``response_ms`` of the pulse's start.

    Returns a Dataset over ``delay`` (ms): ``threshold_mV`` (the lowest
    evoking amplitude found; NaN when the top of the range fails or when the
    model fired a second PS on its own before the pulse), ``failing_mV`` (the
    highest failing one) and ``x_at_pulse`` (mean EE x); attribute
    ``kick_participation`` (of the kicked PS; NaN without one, and then every
    threshold is NaN). ``options`` go to :func:`simulate_density`.
    """
    from tum2000.meanfield.bifurcation import rate_model_events

    delays = np.asarray(delays_ms, dtype=np.float64)
    lead = PULSE_LEAD_MS
    if delays.size == 0 or np.any(np.diff(delays) <= 0) or delays[0] <= lead + response_ms:
        raise ValueError(f"delays_ms must increase and start after {lead + response_ms:g} ms, "
                         f"got {delays.tolist()}")
    low, high = (float(a) for a in amplitude_range_mV)
    thr = np.full(delays.size, np.nan)
    fail = np.full(delays.size, np.nan)
    x_at = np.full(delays.size, np.nan)
    _, state = simulate_density(params.replace(duration_ms=float(settle_ms)),
                                return_state=True, **options)
    trial_params = params.replace(duration_ms=lead + float(response_ms) + 30.0)

    def evokes(start: DensityState, amplitude: float) -> tuple[bool, xr.Dataset]:
        ds = simulate_density(trial_params, burn_in_ms=0.0, initial_state=start,
                              stimulus_mV=square_pulse(lead, amplitude, pulse_ms), **options)
        ev = rate_model_events(ds)
        on = ev["onset_ms"]
        return bool(np.any(ev["full"] & ev["whole"] & (on >= lead)
                           & (on < lead + response_ms))), ds

    # The kick starts `lead` ms into the first segment; segment j ends `lead`
    # ms before the j-th pulse, and a trial runs on from there, pulsing at `lead`
    # (the samples before the pulse tell a PS's onset from the record's start).
    since_kick = []
    kick_participation = float("nan")
    previous = 0.0
    for j, delay in enumerate(delays):
        kick = square_pulse(lead, kick_mV, pulse_ms) if j == 0 else None
        segment, state = simulate_density(params.replace(duration_ms=float(delay - previous)),
                                          burn_in_ms=0.0, initial_state=state,
                                          stimulus_mV=kick, return_state=True, **options)
        segment = segment.assign_coords(time=segment["time"] + previous)
        previous = float(delay)
        # the first sample of a continuation is the last one of the segment before
        since_kick.append(segment if j == 0 else segment.isel(time=slice(1, None)))
        ev = rate_model_events(xr.concat(since_kick, dim="time", data_vars="all"))
        full = ev["full"] & ev["whole"]
        if j == 0:
            if not full.any():
                break                       # the kick evoked nothing: no curve
            kick_participation = float(ev["participation"][np.flatnonzero(full)[0]])
        if full.sum() > 1:
            break                           # a second PS on its own: later pulses are moot
        fired, trial = evokes(state, high)
        x_at[j] = float(trial["recovered"].sel(pathway="EE").sel(time=lead, method="nearest"))
        if not fired:
            fail[j] = high
            continue
        lo, hi = low, high
        if evokes(state, lo)[0]:
            thr[j], fail[j] = lo, lo
            continue
        for _ in range(int(halvings)):
            mid = 0.5 * (lo + hi)
            if evokes(state, mid)[0]:
                hi = mid
            else:
                lo = mid
        thr[j], fail[j] = hi, lo
    return xr.Dataset(
        {"threshold_mV": ("delay", thr, {"units": "mV",
                                         "long_name": "smallest evoking pulse amplitude"}),
         "failing_mV": ("delay", fail, {"units": "mV",
                                        "long_name": "largest failing pulse amplitude"}),
         "x_at_pulse": ("delay", x_at, {"units": "1", "long_name": "EE recovered fraction"})},
        coords={"delay": ("delay", delays, {"units": "ms",
                                            "long_name": "from the kick's start to the pulse's"})},
        attrs={"kick_mV": float(kick_mV), "kick_participation": kick_participation,
               "pulse_ms": float(pulse_ms), "response_ms": float(response_ms)})
