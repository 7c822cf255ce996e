"""Why a population spike fires: the slow-fast picture of a reduced model.

The synaptic input s (mV) of the excitatory population is fast (tau_I = 3 ms)
and the recovered fraction x is slow (tau_rec ~ 800 ms). For a frozen x the
fast input settles where

    s = J U x E(s),        E(s) = mean over neurons of phi(b + s),

with b spread uniformly over [theta - w/2, theta + w/2] (the neurons with
b > theta fire even without recurrent input). Plotted against x, the
solutions form an S-shaped curve: a low branch (few neurons firing), a middle
unstable branch and a high branch (everybody firing). The low branch ends in a
fold (saddle-node) at a critical x_c: while x < x_c the network sits on the
low branch and x recovers; when x reaches x_c the low state disappears and the
activity jumps to the high branch, a population spike, which uses up x and
brings the network back. Noise (a finite network) triggers the jump a little
before the fold.

* Threshold-linear units, phi(b + s) = g [b + s - theta]_+: for
  s <= w/2 the fixed points are
  ``E = w [(1 - g a/2) +- sqrt(1 - g a)] / (g a^2)`` with ``a = J U x``, and
  they merge at the fold ``x_c = 1/(g J U)``.
* LIF units: the curve of a large population (:func:`s_curve`) never
  folds: phi is concave above threshold, its largest gain along the low branch
  (:func:`loop_gain_maximum`: 0.752 at the cusp s = w/2 with the default
  parameters) stays below 1, and a deterministic population never jumps;
  the finite network's fluctuations do it once the gain is close to 1
  (noise-driven switching, Holcman & Tsodyks 2006, PLoS Comput Biol 2:e23).
  At a fixed point the gain ``J U x E'(s)`` equals ``s E'(s)/E(s)``, which
  does not depend on J: no coupling strength makes the LIF population fold.
* The same S-curve with threshold-linear units (``transfer="threshold_linear"``
  in :func:`s_curve`, Loebel & Tsodyks 2002): the gain ``2s/(w/2 + s)``
  reaches 1 at s = w/2, where x = 1/(g J U); beyond, every unit is above
  threshold, E = g s and x stays at 1/(g J U) (unbounded units: the upper
  branch is degenerate, the rate is limited only by depression).
* Inhibition (:func:`s_curve` with ``inhibition=True``): the inhibitory
  population, driven through facilitating E->I synapses (release fraction
  ``U + (1 - U) u``), responds within tau_I and cancels part of the
  excitatory gain.

(An earlier estimate, ``x_c ~ w/(J U phi_top)`` from the slope of E at s = 0,
had no bifurcation behind it and is gone: s = 0 is a fixed point only at
x = 0.)

J, U and the spread come from the network's :class:`Parameters`
(:mod:`.constants`). Rates in 1/ms inside, Hz in outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from tum2000.model.parameters import Parameters
from tum2000.meanfield.constants import Constants, constants
from tum2000.meanfield.transfer import BinAveragedRate, check_transfer


# --- threshold-linear units (hand-solvable) -------------------------------------

def threshold_linear_rates(x, g: float, J: float, U: float, w: float) -> tuple[np.ndarray, np.ndarray]:
    """The two roots E of the threshold-linear fixed-point equation at recovered fraction x.

    Units ``g [b + s - theta]_+`` (g in 1/(ms mV)), b uniform over a width w
    (mV) centred on theta, input ``s = J U x E``. While s <= w/2 (the bottom
    unit silent) the fixed points solve a quadratic with the roots returned
    here. The lower one is the low state (its s stays below w/2 up to the
    fold); the upper one lies beyond s = w/2, where the quadratic no longer
    holds, and is not a fixed point of unbounded threshold-linear units (the
    rate then grows without limit). Both merge at the fold ``g J U x = 1``;
    NaN beyond it.
    """
    a = J * U * np.asarray(x, dtype=np.float64)
    ga = g * a
    root = np.sqrt(np.where(ga <= 1.0, 1.0 - ga, np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        low = w * ((1.0 - ga / 2.0) - root) / (g * a ** 2)
        mid = w * ((1.0 - ga / 2.0) + root) / (g * a ** 2)
    # x -> 0: the low state is the uncoupled one, E = g w / 8
    low = np.where(a == 0, g * w / 8.0, low)
    return low, mid


def threshold_linear_fold(g: float, J: float, U: float) -> float:
    """Critical x of threshold-linear units: ``1 / (g J U)``."""
    return 1.0 / (g * J * U)


# --- LIF units --------------------------------------------------------------------

@dataclass(frozen=True)
class SCurve:
    """Fixed points of the fast input for frozen slow variables, parametrised by s_E.

    ``x`` is the recovered fraction at which input ``s_mV`` is a fixed point,
    ``rate_hz`` the excitatory population's rate there (and ``rate_inh_hz``
    the inhibitory one, NaN without inhibition). ``x_c``/``rate_c_hz``/``s_c``
    locate the fold that ends the low branch: NaN when x rises monotonically
    with s (no fold in range, the case of LIF populations). ``rate`` is the
    excitatory population's E(s) (for :func:`max_loop_gain`), ``transfer``
    the units' transfer function.
    """

    s_mV: np.ndarray
    x: np.ndarray
    rate_hz: np.ndarray
    rate_inh_hz: np.ndarray
    x_c: float
    rate_c_hz: float
    s_c: float
    rate: BinAveragedRate | None = None
    transfer: str = "lif"


# x may stay constant past the fold (threshold-linear units: a line of fixed points at
# x = 1/(g J U)); a relative rise below this counts as no rise. The LIF curve's
# smallest relative step on the default grid is ~1e-3, far above it.
_FLAT = 1e-9


def _population_rate(params_consts: Constants, population: str,
                     transfer: str = "lif") -> BinAveragedRate:
    """E(s) (1/ms): phi averaged over the population's uniform background inputs."""
    n = params_consts.populations[population]
    half = n.I_b_spread_mV / 2.0
    return BinAveragedRate(n, np.array([n.I_b_center_mV - half]),
                           np.array([n.I_b_center_mV + half]), transfer=transfer)


def s_curve(params: Parameters, *, inhibition: bool = False, x_IE: float = 1.0,
            x_EI: float = 1.0, u_EI: float = 0.0, x_II: float = 1.0, u_II: float = 0.0,
            s_range_mV: tuple[float, float] = (-30.0, 30.0), n_points: int = 1201,
            transfer: str = "lif") -> SCurve:
    """The S-shaped curve of fixed points of the reduced model and its lower fold.

    Without ``inhibition``: one excitatory population, ``s = J_EE U_EE x E(s)``.
    With it, the inhibitory population settles with the excitatory input too:
    ``s_E = J_EE U x E(s_E) + J_IE U_IE x_IE I(s_I)`` and
    ``s_I = J_EI rho_EI x_EI E(s_E) + J_II rho_II x_II I(s_I)``, with the
    slow variables of the other pathways frozen at the given values and
    rho = U + (1 - U) u on the facilitating ones.

    ``transfer`` "lif" (the network's neurons) or "threshold_linear" (Loebel
    & Tsodyks 2002, gain matched to the LIF neuron 1 mV above threshold). A
    TL curve without inhibition folds at x = 1/(g J U), s = w/2 (its x stays
    at that value beyond, within a relative 1e-9, which counts as the end of
    the low branch).
    """
    check_transfer(transfer)
    c = constants(params)
    rate_e = _population_rate(c, "E", transfer)
    rate_i = _population_rate(c, "I", transfer)
    ee, ie, ei, ii = (c.pathways[p] for p in ("EE", "IE", "EI", "II"))
    s = np.linspace(*s_range_mV, n_points)
    E = rate_e(s)[..., 0]
    inh = np.full(s.size, np.nan)
    inhibitory_input = np.zeros(s.size)
    if inhibition:
        rho_ei = ei.U + (1.0 - ei.U) * u_EI if ei.facilitating else ei.U
        rho_ii = ii.U + (1.0 - ii.U) * u_II if ii.facilitating else ii.U
        drive = ei.J_mV_ms * rho_ei * x_EI * E
        self_gain = ii.J_mV_ms * rho_ii * x_II        # negative
        # s_I - self_gain I(s_I) = drive: increasing in s_I, one root
        for k in range(s.size):
            f = lambda si: si - self_gain * rate_i(si)[0] - drive[k]  # noqa: E731
            lo, hi = drive[k] + self_gain * rate_i(drive[k])[0] - 1.0, drive[k] + 1.0
            s_i = brentq(f, lo, hi, xtol=1e-10)
            inh[k] = rate_i(s_i)[0]
        inhibitory_input = ie.J_mV_ms * ie.U * x_IE * inh
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (s - inhibitory_input) / (ee.J_mV_ms * ee.U * E)
    valid = np.isfinite(x) & (x >= 0)
    x_c = rate_c = s_c = np.nan
    idx = np.flatnonzero(valid)
    if idx.size > 2:
        xv = x[idx]
        # the low branch rises from x = 0; its end is the first local maximum (or the
        # start of a plateau)
        falls = np.flatnonzero(np.diff(xv) <= _FLAT * np.abs(xv[1:]))
        if falls.size:
            k = idx[falls[0]]
            x_c, rate_c, s_c = float(x[k]), float(E[k] * 1000.0), float(s[k])
    return SCurve(s_mV=s, x=np.where(valid, x, np.nan), rate_hz=E * 1000.0,
                  rate_inh_hz=inh * 1000.0, x_c=x_c, rate_c_hz=rate_c, s_c=s_c,
                  rate=rate_e, transfer=transfer)


@dataclass(frozen=True)
class LoopGain:
    """The largest loop gain of the excitatory population along its low branch.

    ``gain`` = max over s > 0 of ``s E'(s)/E(s)``, attained at input ``s_mV``
    (mV), where the population fires at ``rate_hz`` (Hz); ``x`` is the EE x
    of that fixed point for the given coupling (``s / (J U E(s))``; the gain
    itself does not depend on J). ``cusp_mV`` = w/2, where the bottom
    neuron reaches threshold.
    """

    gain: float
    s_mV: float
    rate_hz: float
    x: float
    cusp_mV: float


def loop_gain(rate: BinAveragedRate, s_mV) -> np.ndarray:
    """``s E'(s) / E(s)`` with the exact derivative of the bin-averaged rate (one class).

    At a fixed point of ``s = J U x E(s)``, ``J U x = s/E(s)``, so the loop
    gain ``J U x E'(s)`` equals ``s E'(s)/E(s)``: it depends on the shape of
    E alone, not on J (nor on U or x). NaN where E = 0.
    """
    s = np.asarray(s_mV, dtype=np.float64)
    E = rate(s)[..., 0]
    slope = rate.derivative(s)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(E > 0, s * slope / E, np.nan)


def _max_gain(rate: BinAveragedRate, s_max_mV: float) -> tuple[float, float]:
    """(gain, s) at the largest ``s E'/E`` over 0 < s <= s_max (bounded optimisation).

    ``s E'/E`` has a cusp at s = w/2 (below it the bottom neuron is silent,
    above it its rate rises with infinite slope), so the two sides are
    maximised separately (Brent's bounded method, xatol 1e-9 mV) and the cusp
    itself is a candidate.
    """
    w = float(rate.hi[0] - rate.lo[0])
    cusp = (rate.hi[0] + rate.lo[0]) / 2.0 - rate.theta + w / 2.0   # the bottom at threshold
    candidates = [float(cusp)] if 0 < cusp <= s_max_mV else []
    for a, b in ((1e-9, min(cusp, s_max_mV)), (max(cusp, 1e-9), s_max_mV)):
        if b > a:
            res = minimize_scalar(lambda v: -float(loop_gain(rate, v)), bounds=(a, b),
                                  method="bounded", options={"xatol": 1e-9})
            candidates += [float(res.x), a, b]
    candidates.sort()
    gains = np.array([float(loop_gain(rate, v)) for v in candidates])
    # threshold-linear units keep gain 1 on the whole line beyond the cusp: report the
    # smallest s that attains the maximum (to rounding, 1e-12)
    k = int(np.flatnonzero(gains >= np.nanmax(gains) - 1e-12)[0])
    return float(gains[k]), candidates[k]


def loop_gain_maximum(params: Parameters, *, transfer: str = "lif",
                      s_max_mV: float = 30.0) -> LoopGain:
    """The converged largest loop gain of the excitatory population, and where it is.

    Without inhibition. E'(s) is exact (:meth:`BinAveragedRate.derivative`)
    and the maximum is found by bounded scalar optimisation on either side of
    the cusp s = w/2 (0 < s <= ``s_max_mV``). With the default parameters
    and LIF units: 0.752 at s = w/2 = 0.5 mV (a 1,201-point ``np.gradient``
    gave 0.711; issue 18). Below 1 for every J: the LIF population cannot
    fold (threshold-linear units reach exactly 1 at the cusp, the fold).
    """
    c = constants(params)
    rate = _population_rate(c, "E", check_transfer(transfer))
    gain, s = _max_gain(rate, s_max_mV)
    ee = c.pathways["EE"]
    E = float(rate(s)[0])
    return LoopGain(gain=gain, s_mV=s, rate_hz=E * 1000.0,
                    x=s / (ee.J_mV_ms * ee.U * E) if E > 0 else np.nan,
                    cusp_mV=c.populations["E"].I_b_spread_mV / 2.0)


def max_loop_gain(curve: SCurve) -> float:
    """Largest gain ``s E'(s) / E(s)`` of the excitatory loop along the low branch.

    At a fixed point of ``s = J U x E(s)`` the loop gain is ``J U x E'(s)``
    = ``s E'(s)/E(s)``; a fold needs it to reach 1. Converged (exact E',
    bounded optimisation: :func:`loop_gain_maximum`, which also says where),
    over the curve's positive s range, without inhibition.
    """
    rate = curve.rate if curve.rate is not None else None
    if rate is None:
        raise ValueError("this SCurve carries no rate function; use loop_gain_maximum(params)")
    return _max_gain(rate, float(np.max(curve.s_mV)))[0]
