"""The rate models' constants, derived from the network's own :class:`Parameters`.

Nothing here is typed in: every number comes from the same parameters that
draw the network (:func:`tum2000.model.network.draw_network`), so the rate
model and the network describe the same system.

* the mean in-degree of a pathway: each ordered pair is connected with
  probability ``p_connect``, so a neuron of the target population receives on
  average ``p_connect N_source`` synapses (``N_source - 1`` candidates when
  autapses are excluded and the populations coincide);
* the mean synaptic parameters: A, U, tau_rec and tau_facil are drawn from
  normal distributions *truncated* to a range, which shifts their means (A is
  about 1.03 times its nominal value, U onto inhibitory targets about 0.0385
  instead of 0.04, tau_rec onto excitatory targets about 823 ms instead of
  800 ms); the means of the truncated distributions come from
  ``scipy.stats.truncnorm``;
* the coupling of a pathway, ``J = C mean(A) tau_I`` (mV ms): a presynaptic
  spike that releases the fraction ``u x`` adds ``A u x`` to the synaptic
  current, which decays with ``tau_I``; averaged over the C inputs of a
  neuron, the current obeys ``tau_I dI/dt = -I + J <u x r>`` with r in 1/ms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import truncnorm

from tum2000.model.parameters import PATHWAYS, Parameters

POPULATION_OF: dict[str, str] = {"E": "exc", "I": "inh"}


def truncated_normal_mean(mean: float, sd: float, low: float, high: float) -> float:
    """Mean of Normal(mean, sd) truncated to [low, high] (sd = 0: mean clipped)."""
    if sd == 0.0:
        return float(np.clip(mean, low, high))
    a, b = (low - mean) / sd, (high - mean) / sd
    return float(truncnorm.mean(a, b, loc=mean, scale=sd))


@dataclass(frozen=True)
class PathwayConstants:
    """Mean-field constants of one pathway (source then target)."""

    name: str
    in_degree: float        # mean number of synapses per target neuron
    A_mV: float             # mean drawn strength (signed)
    U: float                # mean drawn utilization
    tau_rec_ms: float       # mean drawn recovery time constant
    tau_facil_ms: float | None  # mean drawn facilitation time constant (None: depressing)
    tau_I_ms: float         # decay of the synaptic current

    @property
    def J_mV_ms(self) -> float:
        """Coupling ``C mean(A) tau_I`` (mV ms; signed)."""
        return self.in_degree * self.A_mV * self.tau_I_ms

    @property
    def facilitating(self) -> bool:
        return self.tau_facil_ms is not None


@dataclass(frozen=True)
class NeuronConstants:
    """LIF constants of one population and its background inputs."""

    N: int
    tau_mem_ms: float
    v_thresh_mV: float
    v_reset_mV: float
    tau_ref_ms: float
    I_b_center_mV: float
    I_b_spread_mV: float


@dataclass(frozen=True)
class Constants:
    """Everything a rate model of the network needs, from :func:`constants`."""

    pathways: dict[str, PathwayConstants]
    populations: dict[str, NeuronConstants]   # keys "E", "I"


def pathway_constants(params: Parameters, pathway: str) -> PathwayConstants:
    """Mean in-degree and truncated-normal means of one pathway's synapses."""
    source, target = pathway
    n_source = params["N_exc"] if source == "E" else params["N_inh"]
    candidates = n_source - (1 if (source == target and not params["allow_autapses"]) else 0)
    a = params[f"{pathway}_A_mV"]
    a_lo, a_hi = sorted((params["A_min_fraction"] * a, params["A_max_fraction"] * a))
    u = params[f"{pathway}_U"]
    tau_min = params["tau_min_ms"]
    tau_rec = params[f"{pathway}_tau_rec_ms"]
    tau_f = params[f"{pathway}_tau_facil_ms"]
    sd = params["tau_sd_fraction"]
    return PathwayConstants(
        name=pathway,
        in_degree=params["p_connect"] * candidates,
        A_mV=truncated_normal_mean(a, params["A_sd_fraction"] * abs(a), a_lo, a_hi),
        U=truncated_normal_mean(u, params["U_sd_fraction"] * u, params[f"{pathway}_U_min"],
                                params[f"{pathway}_U_max"]),
        tau_rec_ms=truncated_normal_mean(tau_rec, sd * tau_rec, tau_min, np.inf),
        tau_facil_ms=None if tau_f is None else truncated_normal_mean(
            tau_f, sd * tau_f, tau_min, np.inf),
        tau_I_ms=params[f"{pathway}_tau_I_ms"],
    )


def neuron_constants(params: Parameters, population: str) -> NeuronConstants:
    """LIF constants of population "E" or "I"."""
    return NeuronConstants(
        N=params["N_exc"] if population == "E" else params["N_inh"],
        tau_mem_ms=params["tau_mem_ms"], v_thresh_mV=params["v_thresh_mV"],
        v_reset_mV=params["v_reset_mV"],
        tau_ref_ms=params["tau_ref_exc_ms"] if population == "E" else params["tau_ref_inh_ms"],
        I_b_center_mV=params["I_b_center_mV"], I_b_spread_mV=params["I_b_spread_mV"])


def constants(params: Parameters) -> Constants:
    """All mean-field constants of ``params``."""
    return Constants(pathways={p: pathway_constants(params, p) for p in PATHWAYS},
                     populations={p: neuron_constants(params, p) for p in ("E", "I")})
