"""Draw every random quantity of one network instance with NumPy.

All randomness of a simulation comes from here, from one
``numpy.random.SeedSequence(seed)`` (and ``v_init_seed``, when set): background inputs, initial potentials,
connectivity and per-synapse parameters. Brian2 only receives the drawn
arrays, so the numpy, cython and cpp_standalone targets simulate the same
network (Brian2's own ``connect(p=...)`` draws differently on each target).

Each component has its own child stream (``SeedSequence.spawn``), so changing,
say, the background-input spread does not rewire the network. The initial
membrane potentials alone may come from a seed of their own
(``v_init_seed``, :func:`v_init_stream`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from tum2000.model.parameters import PATHWAYS, Parameters

STREAMS: tuple[str, ...] = ("I_b", "v_init", *PATHWAYS)
"""Order of the child random streams spawned from the user's seed."""


@dataclass(frozen=True)
class Network:
    """One drawn network. Neurons 0..N_exc-1 are excitatory, the rest inhibitory.

    Synapse arrays are concatenated pathway by pathway in :data:`PATHWAYS`
    order and sorted by presynaptic neuron within each pathway;
    ``pathway_start[k]:pathway_start[k + 1]`` are pathway k's synapses.
    """

    N_exc: int
    N_inh: int
    I_b_mV: np.ndarray        # (N,) background input, mV
    v_init_mV: np.ndarray     # (N,) initial membrane potential, mV
    pre: np.ndarray           # (S,) presynaptic neuron index
    post: np.ndarray          # (S,) postsynaptic neuron index
    pathway_start: np.ndarray  # (5,) offsets of the pathways in the synapse arrays
    A_mV: np.ndarray          # (S,) absolute synaptic strength, mV
    U: np.ndarray             # (S,) utilization of synaptic efficacy
    tau_rec_ms: np.ndarray    # (S,) recovery time constant, ms
    tau_facil_ms: np.ndarray  # (S,) facilitation time constant, ms (NaN: no facilitation)
    tau_I_ms: np.ndarray      # (S,) decay time constant of the active state, ms

    @property
    def N(self) -> int:
        return self.N_exc + self.N_inh

    @property
    def n_synapses(self) -> int:
        return int(self.pre.size)

    def pathway_slice(self, pathway: str) -> slice:
        k = PATHWAYS.index(pathway)
        return slice(int(self.pathway_start[k]), int(self.pathway_start[k + 1]))

    @property
    def facilitating(self) -> np.ndarray:
        """(S,) bool: the synapse facilitates."""
        return ~np.isnan(self.tau_facil_ms)


def bernoulli_pairs(rng: np.random.Generator, n_pre: int, n_post: int,
                    p: float) -> tuple[np.ndarray, np.ndarray]:
    """Each of the n_pre x n_post ordered pairs connected independently with prob. p.

    Draws the gaps between successive connected pairs (geometric), so the cost
    grows with the number of synapses, not with the number of pairs.
    Returns (pre, post), sorted by pre then post.
    """
    n_pairs = n_pre * n_post
    if p >= 1.0:
        flat = np.arange(n_pairs, dtype=np.int64)
    else:
        expected = n_pairs * p
        chunk = int(expected + 6.0 * np.sqrt(expected) + 64)
        parts, last = [], -1
        while last < n_pairs:
            positions = last + np.cumsum(rng.geometric(p, size=chunk), dtype=np.int64)
            parts.append(positions)
            last = int(positions[-1])
        flat = np.concatenate(parts)
        flat = flat[flat < n_pairs]
    return (flat // n_post).astype(np.int32), (flat % n_post).astype(np.int32)


def truncated_normal(rng: np.random.Generator, mean: float, sd: float,
                     low: float, high: float, size: int) -> np.ndarray:
    """Normal(mean, sd) samples restricted to [low, high] (sd = 0: all equal to mean).

    Inverse-CDF sampling: uniform draws between the bounds' normal CDF values,
    mapped back through the normal quantile function. Bounds above the mean
    are handled on the mirrored side, where the CDF keeps its precision.
    """
    if sd == 0.0:
        return np.full(size, float(np.clip(mean, low, high)))
    a, b = (low - mean) / sd, (high - mean) / sd
    if a > 0:  # mirror: sample -Z truncated to [-b, -a]
        z = -ndtri(rng.uniform(ndtr(-b), ndtr(-a), size=size))
    else:
        z = ndtri(rng.uniform(ndtr(a), ndtr(b), size=size))
    return np.clip(mean + sd * z, low, high)


def expected_synapses(params: Parameters) -> float:
    """Expected number of synapses of a network drawn from ``params``: every ordered
    pair of neurons connected with probability ``p_connect``, a neuron with itself
    only when ``allow_autapses`` (as :func:`draw_network` draws them)."""
    n = params["N_exc"] + params["N_inh"]
    pairs = n * n if params["allow_autapses"] else n * (n - 1)
    return float(pairs * params["p_connect"])


V_INIT_SEED_KEY = 7919
"""Second entropy word of the initial state's own stream,
``SeedSequence([v_init_seed, V_INIT_SEED_KEY])``: its entropy (two words, no
spawn key) differs from that of a network's ``SeedSequence(seed)`` (one word)
and of its spawned children (padded words and a spawn key), so
``v_init_seed = s`` does not repeat a stream of ``seed = s``."""


def v_init_stream(params: Parameters, network_stream: np.random.Generator) -> np.random.Generator:
    """The generator of the initial membrane potentials.

    ``network_stream`` (the network seed's ``v_init`` child) when
    ``v_init_seed`` is null, so that the draw is the one it always was;
    otherwise a generator of ``v_init_seed`` alone, so that one wiring (and
    background input, drawn from the network's seed) can start from many
    initial states.
    """
    if params["v_init_seed"] is None:
        return network_stream
    return np.random.default_rng(
        np.random.SeedSequence([int(params["v_init_seed"]), V_INIT_SEED_KEY]))


def draw_network(params: Parameters, seed: int) -> Network:
    """Draw a network instance for ``params`` from ``seed`` (an integer >= 0)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    streams = dict(zip(STREAMS, (np.random.default_rng(s) for s in
                                 np.random.SeedSequence(int(seed)).spawn(len(STREAMS)))))
    n_exc, n_inh = params["N_exc"], params["N_inh"]
    N = n_exc + n_inh
    half = params["I_b_spread_mV"] / 2.0
    I_b = params["I_b_center_mV"] + streams["I_b"].uniform(-half, half, size=N)
    v_init = v_init_stream(params, streams["v_init"]).uniform(
        params["v_init_min_mV"], params["v_init_max_mV"], size=N)

    offsets = {"E": 0, "I": n_exc}
    sizes = {"E": n_exc, "I": n_inh}
    columns: dict[str, list[np.ndarray]] = {k: [] for k in
                                            ("pre", "post", "A", "U", "rec", "fac", "tauI")}
    starts = [0]
    for pathway in PATHWAYS:
        rng = streams[pathway]
        src, tgt = pathway
        pre, post = bernoulli_pairs(rng, sizes[src], sizes[tgt], params["p_connect"])
        pre, post = pre + offsets[src], post + offsets[tgt]
        if not params["allow_autapses"] and src == tgt:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        n = pre.size
        a = params[f"{pathway}_A_mV"]
        a_bounds = sorted((params["A_min_fraction"] * a, params["A_max_fraction"] * a))
        A = truncated_normal(rng, a, params["A_sd_fraction"] * abs(a), *a_bounds, n)
        u = params[f"{pathway}_U"]
        U = truncated_normal(rng, u, params["U_sd_fraction"] * u,
                             params[f"{pathway}_U_min"], params[f"{pathway}_U_max"], n)
        tau_min = params["tau_min_ms"]
        mean_rec = params[f"{pathway}_tau_rec_ms"]
        rec = truncated_normal(rng, mean_rec, params["tau_sd_fraction"] * mean_rec,
                               tau_min, np.inf, n)
        mean_fac = params[f"{pathway}_tau_facil_ms"]
        fac = (np.full(n, np.nan) if mean_fac is None else truncated_normal(
            rng, mean_fac, params["tau_sd_fraction"] * mean_fac, tau_min, np.inf, n))
        for key, value in zip(columns, (pre, post, A, U, rec, fac,
                                        np.full(n, params[f"{pathway}_tau_I_ms"]))):
            columns[key].append(value)
        starts.append(starts[-1] + n)

    def cat(key: str) -> np.ndarray:
        return np.concatenate(columns[key])

    return Network(
        N_exc=n_exc, N_inh=n_inh, I_b_mV=I_b, v_init_mV=v_init,
        pre=cat("pre"), post=cat("post"), pathway_start=np.asarray(starts, dtype=np.int64),
        A_mV=cat("A"), U=cat("U"), tau_rec_ms=cat("rec"), tau_facil_ms=cat("fac"),
        tau_I_ms=cat("tauI"),
    )
