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

from tum2000.meanfield.constants import NeuronConstants


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
    """Mean of phi over the neurons of classes of background inputs.

    A class covers inputs [lo, hi) uniformly; its mean rate at synaptic input
    mu is ``(Phi(hi + mu) - Phi(lo + mu)) / (hi - lo)`` with Phi the integral
    of phi, tabulated once (trapezoid rule on a grid that is geometric above
    threshold, where phi's slope is infinite). Averaging over the bin is what
    the neurons of a class do, and it keeps the rate's slope finite, which
    the integrator needs. A class of zero width gets phi itself.

    ``lo_mV`` and ``hi_mV`` are (..., classes) arrays; the leading axes (e.g.
    several parameter sets) broadcast against those of ``mu``.
    """

    def __init__(self, neurons: NeuronConstants, lo_mV: np.ndarray, hi_mV: np.ndarray):
        self.phi = population_phi(neurons)
        self.theta = neurons.v_thresh_mV
        s = np.concatenate([[0.0], np.geomspace(1e-9, 1e4, 6000)])
        rate = self.phi(self.theta + s)
        self.grid = self.theta + s
        self.table = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(s))])
        self.lo, self.hi = np.asarray(lo_mV, float), np.asarray(hi_mV, float)
        self.n = self.lo.shape[-1]
        self.edges = np.concatenate([self.lo, self.hi], axis=-1)
        width = self.hi - self.lo
        self.point = width <= 0
        self.any_point = bool(self.point.any())
        self.inv_width = np.where(self.point, 0.0, 1.0 / np.where(self.point, 1.0, width))

    def integral(self, m: np.ndarray) -> np.ndarray:
        """Phi(m) = integral of phi from threshold to m (ms^-1 mV); 0 below threshold."""
        return np.interp(m, self.grid, self.table, left=0.0)

    def _align(self, a: np.ndarray, ndim: int) -> np.ndarray:
        """(lead..., k) -> (lead..., 1, ..., k) to broadcast with ndim-dimensional inputs."""
        lead = a.ndim - 1
        return a.reshape(a.shape[:-1] + (1,) * max(ndim - lead, 0) + a.shape[-1:])

    def __call__(self, mu_mV) -> np.ndarray:
        """Class rates (1/ms) at input ``mu_mV``: shape ``mu.shape + (classes,)``.

        The leading axes of ``mu`` match those of the classes (e.g. (R,) or
        (R, time) inputs for (R, classes) classes)."""
        mu = np.asarray(mu_mV, dtype=np.float64)
        both = self.integral(self._align(self.edges, mu.ndim) + mu[..., None])
        rate = (both[..., self.n:] - both[..., :self.n]) * self._align(self.inv_width, mu.ndim)
        if self.any_point:
            rate = np.where(self._align(self.point, mu.ndim),
                            self.phi(self._align(self.lo, mu.ndim) + mu[..., None]), rate)
        return rate
