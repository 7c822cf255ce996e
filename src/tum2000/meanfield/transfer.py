"""Transfer functions: the network's leaky integrate-and-fire neuron, and threshold-linear units.

A neuron with ``tau_m dv/dt = -v + mu`` under a constant input mu (mV) that
is reset to ``V_reset`` after each spike and held there for ``tau_ref``
climbs back to the threshold theta in ``tau_m ln((mu - V_reset)/(mu - theta))``,
so it fires at

    phi(mu) = 1 / (tau_ref + tau_m ln((mu - V_reset) / (mu - theta)))   (mu > theta)

and not at all for mu <= theta. phi rises steeply from 0 at threshold (its
slope is infinite there) and saturates at 1/tau_ref.

The threshold-linear (TL) units of Loebel & Tsodyks (2002, J Comput Neurosci
13:111-124) fire at ``phi(mu) = g [mu - theta]_+``. Their gain g is matched
to the LIF neuron 1 mV above threshold (:func:`threshold_linear_gain`):
``g = phi_LIF(theta + 1 mV) / 1 mV``, 32.8 Hz/mV with the default parameters
(tau_m 30 ms, reset 1.5 mV below theta, tau_ref 3 ms). phi_LIF is concave
above threshold while TL is linear: that difference in shape alone decides
whether the rate model can fold (:mod:`.reduced`).
"""

from __future__ import annotations

import numpy as np

from tum2000.meanfield.constants import NeuronConstants

TRANSFERS: tuple[str, ...] = ("lif", "threshold_linear")
"""Transfer functions a rate model can use: the LIF neuron's ``phi`` or threshold-linear units."""
TL_MATCH_ABOVE_MV = 1.0
"""Distance above threshold (mV) at which the threshold-linear gain equals the LIF rate
(the reviewer's choice in issue 18; 1 mV is the spread w of the default network, so the
top neuron of the default network fires at the same rate in both)."""


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


def threshold_linear_gain(neurons: NeuronConstants, above_mV: float = TL_MATCH_ABOVE_MV
                          ) -> float:
    """Gain g (1/(ms mV)) of threshold-linear units matched to the LIF neuron.

    ``g = phi_LIF(theta + above_mV) / above_mV``: the TL unit and the LIF
    neuron fire at the same rate ``above_mV`` above threshold. With the
    default parameters and 1 mV, 0.0328 /(ms mV) = 32.8 Hz/mV.
    """
    if not above_mV > 0:
        raise ValueError(f"above_mV must be > 0, got {above_mV!r}")
    return float(population_phi(neurons)(neurons.v_thresh_mV + above_mV)) / above_mV


def check_transfer(transfer: str) -> str:
    """``transfer`` if it is one of :data:`TRANSFERS` (ValueError otherwise)."""
    if transfer not in TRANSFERS:
        raise ValueError(f"unknown transfer {transfer!r} (allowed: {', '.join(TRANSFERS)})")
    return transfer


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

    ``transfer="threshold_linear"`` uses ``phi = g [mu - theta]_+`` (Loebel &
    Tsodyks 2002) with ``g = gain_per_ms_mV`` (default
    :func:`threshold_linear_gain`); its integral ``g [m - theta]_+^2 / 2`` is
    exact, so no table is needed.
    """

    def __init__(self, neurons: NeuronConstants, lo_mV: np.ndarray, hi_mV: np.ndarray,
                 transfer: str = "lif", gain_per_ms_mV: float | None = None):
        self.transfer = check_transfer(transfer)
        self.theta = neurons.v_thresh_mV
        if transfer == "threshold_linear":
            g = threshold_linear_gain(neurons) if gain_per_ms_mV is None else float(gain_per_ms_mV)
            self.gain = g
            theta = self.theta
            self.phi = lambda mu: g * np.maximum(np.asarray(mu, dtype=np.float64) - theta, 0.0)
        else:
            self.gain = None
            self.phi = population_phi(neurons)
            s = np.concatenate([[0.0], np.geomspace(1e-9, 1e4, 6000)])
            rate = self.phi(self.theta + s)
            self.grid = self.theta + s
            self.table = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1])
                                                          * np.diff(s))])
        self.lo, self.hi = np.asarray(lo_mV, float), np.asarray(hi_mV, float)
        self.n = self.lo.shape[-1]
        self.edges = np.concatenate([self.lo, self.hi], axis=-1)
        width = self.hi - self.lo
        self.point = width <= 0
        self.any_point = bool(self.point.any())
        self.inv_width = np.where(self.point, 0.0, 1.0 / np.where(self.point, 1.0, width))

    def integral(self, m: np.ndarray) -> np.ndarray:
        """Phi(m) = integral of phi from threshold to m (ms^-1 mV); 0 below threshold."""
        if self.gain is not None:
            return 0.5 * self.gain * np.maximum(np.asarray(m, dtype=np.float64) - self.theta,
                                                0.0) ** 2
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

    def derivative(self, mu_mV) -> np.ndarray:
        """d(class rate)/d mu (1/(ms mV)), exact: ``(phi(hi + mu) - phi(lo + mu)) / (hi - lo)``.

        Same shapes as :meth:`__call__`. The derivative of a bin average is the
        difference of phi at the bin's edges, so no finite difference (and no
        grid) is involved; classes of zero width get NaN (phi's own slope is
        infinite at the LIF threshold).
        """
        mu = np.asarray(mu_mV, dtype=np.float64)
        both = self.phi(self._align(self.edges, mu.ndim) + mu[..., None])
        slope = (both[..., self.n:] - both[..., :self.n]) * self._align(self.inv_width, mu.ndim)
        if self.any_point:
            slope = np.where(self._align(self.point, mu.ndim), np.nan, slope)
        return slope
