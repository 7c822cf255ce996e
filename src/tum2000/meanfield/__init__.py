"""Mean-field theory of the network: why and when population spikes happen.

* :mod:`~tum2000.meanfield.synapse`: one synapse driven at a constant rate
  (periodic and Poisson trains; depression and facilitation), hand-solvable;
* :mod:`~tum2000.meanfield.constants`: the rate models' constants from the
  network's parameters (mean in-degree, truncated-normal means, couplings);
* :mod:`~tum2000.meanfield.transfer`: the LIF transfer function and
  threshold-linear units (Loebel & Tsodyks 2002) matched to it;
* :mod:`~tum2000.meanfield.rate_model`: the heterogeneous E-I rate model
  (:func:`simulate_rate_model`), deterministic or with finite-size noise;
* :mod:`~tum2000.meanfield.reduced`: the slow-fast picture (the S-curve and
  its fold, the converged loop gain);
* :mod:`~tum2000.meanfield.bifurcation`: the threshold-linear model's fold and
  limit cycle over J_EE and w (a converged scan), the LIF loop gain beside it;
* :mod:`~tum2000.meanfield.density`: the population-density (Fokker-Planck)
  model of the two LIF populations, deterministic or with finite-size noise,
  and its evoked threshold after a population spike;
* :mod:`~tum2000.meanfield.theory`: :func:`~tum2000.meanfield.theory.predict`,
  the network's full-PS rate and x before/after from the parameters alone
  (``tum2000 theory``: the density model with finite-size noise, or the rate
  model; Holcman & Tsodyks 2006 for noise-driven switching).

Experiments on the network that test these models run simulations, so they
live with the other studies: :mod:`tum2000.sweeps.scenarios` (hazard,
initial states, evoked population spikes, size),
:mod:`tum2000.sweeps.density_size` (the density model over the size series) and
:mod:`tum2000.sweeps.held_out` (the out-of-sample score of ``tum2000 theory``).

The mean-field equation for x is that of Tsodyks, Pawelzik & Markram (1998),
Neural Computation 10:821.
"""

from tum2000.meanfield import synapse
from tum2000.meanfield.constants import constants
from tum2000.meanfield.rate_model import RateModel, simulate_rate_model
from tum2000.meanfield.reduced import loop_gain_maximum, s_curve
from tum2000.meanfield.synapse import CV_REGULAR_MAX


__all__ = ["CV_REGULAR_MAX", "RateModel", "constants", "loop_gain_maximum",
           "s_curve", "simulate_rate_model", "synapse"]
