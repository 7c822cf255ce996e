"""Transfer function of the network's leaky integrate-and-fire neuron.

A neuron with ``tau_m dv/dt = -v + mu`` under a constant input mu (mV) that
is reset to ``V_reset`` after each spike and held there for ``tau_ref``
climbs back to the threshold theta in ``tau_m ln((mu - V_reset)/(mu - theta))``,
so it fires at

    phi(mu) = 1 / (tau_ref + tau_m ln((mu - V_reset) / (mu - theta)))   (mu > theta)

and not at all for mu <= theta. phi rises steeply from 0 at threshold (its
slope is infinite there) and saturates at 1/tau_ref.
"""

from __future__ import annotations

import numpy as np

from .constants import NeuronConstants


def lif_rate_per_ms(mu_mV, tau_mem_ms: float, v_thresh_mV: float, v_reset_mV: float,
                    tau_ref_ms: float) -> np.ndarray:
    """phi(mu) in spikes per ms (0 at or below threshold)."""
    mu = np.asarray(mu_mV, dtype=np.float64)
    above = mu > v_thresh_mV
    safe = np.where(above, mu, v_thresh_mV + 1.0)
    period = tau_ref_ms + tau_mem_ms * np.log((safe - v_reset_mV) / (safe - v_thresh_mV))
    return np.where(above, 1.0 / period, 0.0)


def lif_rate_hz(mu_mV, tau_mem_ms: float, v_thresh_mV: float, v_reset_mV: float,
                tau_ref_ms: float) -> np.ndarray:
    """phi(mu) in Hz."""
    return 1000.0 * lif_rate_per_ms(mu_mV, tau_mem_ms, v_thresh_mV, v_reset_mV, tau_ref_ms)


def population_phi(neurons: NeuronConstants):
    """phi(mu) in spikes per ms for one population's constants."""
    def phi(mu_mV):
        return lif_rate_per_ms(mu_mV, neurons.tau_mem_ms, neurons.v_thresh_mV,
                               neurons.v_reset_mV, neurons.tau_ref_ms)
    return phi


class BinAveragedRate:
    """Mean of phi over the neurons of a class of background inputs.

    A class covers inputs [lo, hi) uniformly; its mean rate at synaptic input
    mu is ``(Phi(hi + mu) - Phi(lo + mu)) / (hi - lo)`` with Phi the integral
    of phi, tabulated once (trapezoid rule on a grid that is geometric above
    threshold, where phi's slope is infinite). Averaging over the bin is what
    the neurons of a class do, and it keeps the rate's slope finite, which
    the integrator needs. Classes of zero width get phi itself.
    """

    def __init__(self, neurons: NeuronConstants, lo_mV: np.ndarray, hi_mV: np.ndarray):
        self.phi = population_phi(neurons)
        self.theta = neurons.v_thresh_mV
        s = np.concatenate([[0.0], np.geomspace(1e-9, 1e4, 6000)])
        rate = self.phi(self.theta + s)
        self.grid = self.theta + s
        self.table = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(s))])
        self.lo, self.hi = np.asarray(lo_mV, float), np.asarray(hi_mV, float)
        self.n = self.lo.size
        self.edges = np.concatenate([self.lo, self.hi])
        # zero-width classes (no spread of inputs) are single points: phi itself
        self.point = bool(np.all(self.hi - self.lo <= 0))
        if not self.point and np.any(self.hi - self.lo <= 0):
            raise ValueError("classes must all have a width, or all none")
        self.inv_width = 0.0 if self.point else 1.0 / (self.hi - self.lo)

    def integral(self, m: np.ndarray) -> np.ndarray:
        """Phi(m) = integral of phi from threshold to m (ms^-1 mV); 0 below threshold."""
        return np.interp(m, self.grid, self.table, left=0.0)

    def __call__(self, mu_mV) -> np.ndarray:
        """Class rates (1/ms) at input ``mu_mV``: shape ``mu.shape + (classes,)``."""
        mu = np.asarray(mu_mV, dtype=np.float64)[..., None]
        if self.point:
            return self.phi(self.lo + mu)
        both = self.integral(self.edges + mu)
        return (both[..., self.n:] - both[..., :self.n]) * self.inv_width
