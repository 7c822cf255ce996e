"""Mean-field theory of the network: why and when population spikes happen.

* :mod:`~tum2000.meanfield.synapse`: one synapse driven at a constant rate
  (periodic and Poisson trains; depression and facilitation), hand-solvable;
"""

from . import synapse
from .synapse import CV_REGULAR_MAX

__all__ = ["CV_REGULAR_MAX", "synapse"]
