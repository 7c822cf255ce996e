"""Hand-solvable theory of one Tsodyks-Markram synapse driven at a constant rate.

The synapse (Tsodyks, Pawelzik & Markram 1998; the model of
:mod:`tum2000.model.brian_model`): between presynaptic spikes the recovered
fraction x relaxes to 1 with ``tau_rec`` and the recorded utilization u decays
to 0 with ``tau_facil``; at a spike u first jumps, ``u <- u + U (1 - u)``
(facilitating synapses; depressing ones release ``U``), then the fraction
``u x`` of x is released. The *release fraction* of a spike is therefore
``U + (1 - U) u_minus`` where ``u_minus`` is the recorded u just before it.
The short active phase (``tau_I`` = 3 ms against ``tau_rec`` of hundreds of
ms) is neglected here: released resources count as recovering at once.

Two kinds of presynaptic trains have closed forms:

* **periodic** (a regular neuron, period T = 1/r): the state just before a
  spike converges to a fixed point of a one-spike map, e.g.
  ``x_minus = (1 - E) / (1 - (1 - U) E)`` with ``E = exp(-T / tau_rec)``;
  the time-averaged x follows from the balance of recovery and release,
  ``mean x = 1 - U tau_rec r x_minus``; deviations from the fixed point shrink
  by the factor ``(1 - U) E`` per spike, i.e. with the rate
  ``1/tau_rec + r ln(1/(1 - U))``;
* **Poisson** (an irregular neuron): spikes see the time average (PASTA), so
  the mean obeys the mean-field equation of Tsodyks, Pawelzik & Markram
  (1998) exactly, ``dx/dt = (1 - x)/tau_rec - U x r``, whose fixed point is
  ``1 / (1 + U tau_rec r)`` and whose relaxation rate is ``1/tau_rec + U r``.

Which one applies to a neuron is decided by the coefficient of variation of
its inter-spike intervals: below :data:`CV_REGULAR_MAX` the periodic formula,
otherwise the Poisson one. A silent neuron (r = 0) gives the same result
(x relaxes to 1 with tau_rec) in both.

Rates are in Hz, times in ms.
"""

from __future__ import annotations

import numpy as np

CV_REGULAR_MAX = 0.5
"""ISI coefficient of variation below which a neuron is treated as periodic.

A periodic train has CV 0 and a Poisson train CV 1; the active excitatory
neurons of the network between population spikes have CVs around 0.1, and 0.5
sits halfway. The two formulas differ most at high rates, where CVs are low.
"""


def _per_ms(rate_hz: np.ndarray | float) -> np.ndarray:
    return np.asarray(rate_hz, dtype=np.float64) / 1000.0


def periodic_x_minus(rate_hz, U, tau_rec_ms):
    """x just before each spike of a periodic train at ``rate_hz`` (steady state).

    ``(1 - E) / (1 - (1 - U) E)`` with ``E = exp(-T/tau_rec)``, T = 1/r; 1 at r = 0.
    ``U`` may be a release fraction (facilitating synapses: ``U + (1 - U) u_minus``).
    """
    r = _per_ms(rate_hz)
    E = np.where(r > 0, np.exp(-1.0 / np.where(r > 0, r, 1.0) / tau_rec_ms), 0.0)
    return (1.0 - E) / (1.0 - (1.0 - np.asarray(U)) * E)


def periodic_x_mean(rate_hz, U, tau_rec_ms):
    """Time-averaged x of a periodic train: ``1 - U tau_rec r x_minus`` (steady state)."""
    r = _per_ms(rate_hz)
    return 1.0 - np.asarray(U) * tau_rec_ms * r * periodic_x_minus(rate_hz, U, tau_rec_ms)


def periodic_x_rate(rate_hz, U, tau_rec_ms):
    """Relaxation rate (1/ms) of the period-averaged x towards its steady state.

    A deviation from the fixed point shrinks by ``(1 - U) exp(-T/tau_rec)`` per
    period T, i.e. at the rate ``1/tau_rec + r ln(1/(1 - U))``.
    """
    return 1.0 / np.asarray(tau_rec_ms) + _per_ms(rate_hz) * -np.log1p(-np.asarray(U))


def poisson_x_mean(rate_hz, U, tau_rec_ms):
    """Mean x under Poisson spikes: ``1 / (1 + U tau_rec r)`` (the mean-field fixed point)."""
    return 1.0 / (1.0 + np.asarray(U) * tau_rec_ms * _per_ms(rate_hz))


def poisson_x_rate(rate_hz, U, tau_rec_ms):
    """Relaxation rate (1/ms) of the mean x under Poisson spikes: ``1/tau_rec + U r``."""
    return 1.0 / np.asarray(tau_rec_ms) + np.asarray(U) * _per_ms(rate_hz)


def periodic_u_plus(rate_hz, U, tau_facil_ms):
    """Recorded u just after each spike of a periodic train (steady state).

    ``U / (1 - (1 - U) F)`` with ``F = exp(-T/tau_facil)``; it is also the
    release fraction of each spike. U at r = 0 (the first spike's value).
    """
    r = _per_ms(rate_hz)
    F = np.where(r > 0, np.exp(-1.0 / np.where(r > 0, r, 1.0) / tau_facil_ms), 0.0)
    return np.asarray(U) / (1.0 - (1.0 - np.asarray(U)) * F)


def periodic_u_mean(rate_hz, U, tau_facil_ms):
    """Time-averaged recorded u of a periodic train: ``u_plus (tau_f/T)(1 - F)``; 0 at r = 0."""
    r = _per_ms(rate_hz)
    F = np.where(r > 0, np.exp(-1.0 / np.where(r > 0, r, 1.0) / tau_facil_ms), 0.0)
    return periodic_u_plus(rate_hz, U, tau_facil_ms) * tau_facil_ms * r * (1.0 - F)


def periodic_u_rate(rate_hz, U, tau_facil_ms):
    """Relaxation rate (1/ms) of the period-averaged u: ``1/tau_f + r ln(1/(1 - U))``."""
    return 1.0 / np.asarray(tau_facil_ms) + _per_ms(rate_hz) * -np.log1p(-np.asarray(U))


def poisson_u_mean(rate_hz, U, tau_facil_ms):
    """Mean recorded u under Poisson spikes: ``U r tau_f / (1 + U r tau_f)``.

    The fixed point of ``du/dt = -u/tau_f + U (1 - u) r``: the recorded u
    decays to 0 between spikes (not to U).
    """
    a = np.asarray(U) * _per_ms(rate_hz) * tau_facil_ms
    return a / (1.0 + a)


def poisson_u_rate(rate_hz, U, tau_facil_ms):
    """Relaxation rate (1/ms) of the mean u under Poisson spikes: ``1/tau_f + U r``."""
    return 1.0 / np.asarray(tau_facil_ms) + np.asarray(U) * _per_ms(rate_hz)


def release_fraction(U, u_minus):
    """Fraction of x released by a spike that finds the recorded u at ``u_minus``."""
    return np.asarray(U) + (1.0 - np.asarray(U)) * np.asarray(u_minus)


def steady_state(rate_hz, cv, U, tau_rec_ms, tau_facil_ms=None,
                 cv_regular_max: float = CV_REGULAR_MAX) -> dict[str, np.ndarray]:
    """Steady mean x and u (and their relaxation rates, 1/ms) of synapses.

    Every argument broadcasts (one value per synapse). ``cv`` is the ISI CV of
    the presynaptic neuron (NaN: unknown, treated as Poisson);
    ``tau_facil_ms`` None or NaN: a depressing synapse (u = U at every spike;
    the returned u is then U). For facilitating synapses x uses the steady
    release fraction (periodic: ``u_plus``; Poisson: ``U + (1 - U) mean u``).
    Returns ``x``, ``x_rate``, ``u``, ``u_rate``, ``regular`` (bool).
    """
    rate = np.asarray(rate_hz, dtype=np.float64)
    regular = np.asarray(cv, dtype=np.float64) < cv_regular_max
    U = np.asarray(U, dtype=np.float64)
    tau_f = np.asarray(np.nan if tau_facil_ms is None else tau_facil_ms, dtype=np.float64)
    facil = np.isfinite(tau_f)
    tf = np.where(facil, tau_f, 1.0)
    u_mean = np.where(regular, periodic_u_mean(rate, U, tf), poisson_u_mean(rate, U, tf))
    u_rate = np.where(regular, periodic_u_rate(rate, U, tf), poisson_u_rate(rate, U, tf))
    rho = np.where(facil, np.where(regular, periodic_u_plus(rate, U, tf),
                                   release_fraction(U, u_mean)), U)
    x = np.where(regular, periodic_x_mean(rate, rho, tau_rec_ms),
                 poisson_x_mean(rate, rho, tau_rec_ms))
    x_rate = np.where(regular, periodic_x_rate(rate, rho, tau_rec_ms),
                      poisson_x_rate(rate, rho, tau_rec_ms))
    return {"x": x, "x_rate": x_rate, "u": np.where(facil, u_mean, U),
            "u_rate": np.where(facil, u_rate, np.inf), "regular": regular & (rate > 0)}
