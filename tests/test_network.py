"""Drawing the network: one seed, reproducible, the paper's statistics."""

import numpy as np
import pytest

from tum2000 import PATHWAYS, preset
from tum2000.model.network import bernoulli_pairs, draw_network


@pytest.fixture(scope="module")
def params():
    return preset("default")


def test_same_seed_same_network_different_seed_different(params):
    a, b, c = draw_network(params, 7), draw_network(params, 7), draw_network(params, 8)
    for field in ("I_b_mV", "pre", "post", "A_mV", "U", "tau_rec_ms", "tau_facil_ms"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.pre, c.pre)


def test_streams_are_independent(params):
    """Changing the background spread does not rewire the network."""
    a = draw_network(params, 3)
    b = draw_network(params.replace(I_b_spread_mV=0.05), 3)
    np.testing.assert_array_equal(a.pre, b.pre)
    np.testing.assert_array_equal(a.A_mV, b.A_mV)
    assert np.ptp(b.I_b_mV) <= 0.05 < np.ptp(a.I_b_mV)


def test_connectivity_and_parameter_distributions(params):
    net = draw_network(params, 1)
    sizes = {"E": params["N_exc"], "I": params["N_inh"]}
    for pathway in PATHWAYS:
        part = net.pathway_slice(pathway)
        n_pairs = sizes[pathway[0]] * sizes[pathway[1]]
        n = part.stop - part.start
        expected = n_pairs * params["p_connect"]
        sd = np.sqrt(n_pairs * params["p_connect"] * (1 - params["p_connect"]))
        assert abs(n - expected) < 5 * sd, pathway
        a = params[f"{pathway}_A_mV"]
        lo, hi = sorted((0.2 * a, 2.0 * a))
        assert lo <= net.A_mV[part].min() and net.A_mV[part].max() <= hi
        assert params[f"{pathway}_U_min"] <= net.U[part].min()
        assert net.U[part].max() <= params[f"{pathway}_U_max"]
        assert net.tau_rec_ms[part].min() >= params["tau_min_ms"]
        assert np.isnan(net.tau_facil_ms[part]).all() == (not params.facilitating(pathway))
        # sources and targets in the right populations
        src_exc = net.pre[part] < params["N_exc"]
        tgt_exc = net.post[part] < params["N_exc"]
        assert src_exc.all() == (pathway[0] == "E") and (~src_exc).all() == (pathway[0] == "I")
        assert tgt_exc.all() == (pathway[1] == "E")
    I_b = net.I_b_mV
    assert 14.5 <= I_b.min() and I_b.max() <= 15.5


def test_autapses_follow_the_parameter(params):
    with_self = draw_network(params, 2)
    without = draw_network(params.replace(allow_autapses=False), 2)
    assert np.any(with_self.pre == with_self.post)
    assert not np.any(without.pre == without.post)


def test_bernoulli_pairs_is_uniform_and_exact_in_expectation():
    rng = np.random.default_rng(0)
    pre, post = bernoulli_pairs(rng, 300, 200, 0.05)
    flat = pre.astype(np.int64) * 200 + post
    assert np.all(np.diff(flat) > 0)          # sorted, no duplicates
    n_pairs, p = 300 * 200, 0.05
    assert abs(flat.size - n_pairs * p) < 5 * np.sqrt(n_pairs * p * (1 - p))
    # every row receives about p * 200 connections (no bias by position)
    per_pre = np.bincount(pre, minlength=300)
    assert abs(per_pre[:150].mean() - per_pre[150:].mean()) < 1.0
    full = bernoulli_pairs(rng, 5, 4, 1.0)
    assert full[0].size == 20


def test_bad_seed(params):
    for seed in (-1, 1.5, "3", True):
        with pytest.raises(ValueError, match="seed must be an integer >= 0"):
            draw_network(params, seed)


def test_truncated_normal_matches_scipy_moments():
    """Our inverse-CDF sampler against scipy's analytic truncated-normal moments."""
    from scipy import stats

    from tum2000.model.network import truncated_normal

    rng = np.random.default_rng(3)
    for mean, sd, low, high in [(1.8, 0.9, 0.36, 3.6), (-5.4, 2.7, -10.8, -1.08),
                                (0.04, 0.02, 0.001, 0.07), (800.0, 400.0, 5.0, np.inf),
                                (1.0, 0.5, 1.8, 3.0)]:
        x = truncated_normal(rng, mean, sd, low, high, 200_000)
        ref = stats.truncnorm((low - mean) / sd, (high - mean) / sd, loc=mean, scale=sd)
        assert low <= x.min() and x.max() <= high
        assert abs(x.mean() - ref.mean()) < 5 * ref.std() / np.sqrt(x.size)
        assert abs(x.std() / ref.std() - 1) < 0.01
