"""Numerical convergence: dividing dt by 10 does not change the statistics.

Paired design: the same seeds (the same networks) at dt and dt/10; a
statistic passes when the mean paired difference is within three standard
errors of the paired differences. The same procedure applied to the
reference script's numerics (dt = 1 ms, input held over the step) must
detect a difference, which shows the test has the power to fail.
The full study (more seeds, full length, dt from 1 to 0.01 ms) is
benchmarks/convergence.py.
"""

import numpy as np
import pytest

import tum2000
from tum2000.dataset import parameters_of

SEEDS = (1, 2, 3, 4, 5, 6)
LENGTH = dict(burn_in_ms=300.0, duration_ms=1500.0)


def statistics(ds) -> dict[str, float]:
    p = parameters_of(ds)
    seconds = p["duration_ms"] / 1000.0
    exc = ds["population"].values[ds["spike_neuron"].values] == "exc"
    return {
        "exc_rate_hz": exc.sum() / p["N_exc"] / seconds,
        "inh_rate_hz": (~exc).sum() / p["N_inh"] / seconds,
        "x_EE_mean": float(ds["recovered"].sel(pathway="EE").mean()),
        "u_EI_mean": float(ds["utilization"].sel(pathway="EI").mean()),
    }


def paired(a: list[dict], b: list[dict], key: str) -> tuple[float, float]:
    diff = np.array([x[key] - y[key] for x, y in zip(a, b)])
    return diff.mean(), diff.std(ddof=1) / np.sqrt(diff.size)


@pytest.fixture(scope="module")
def runs():
    def batch(target="numpy", **changes):
        params = tum2000.preset("default", **LENGTH, **changes)
        return [statistics(tum2000.cached_simulate(params, s, target=target)) for s in SEEDS]

    return {
        "default": batch(),
        # dt/10 on the compiled target: same results as numpy, 10x the steps.
        "fine": batch(target="cython", dt_ms=0.01),
        "reference_script": batch(dt_ms=1.0, integration="reference_script"),
    }


@pytest.mark.slow
@pytest.mark.parametrize("key", ["exc_rate_hz", "inh_rate_hz", "x_EE_mean", "u_EI_mean"])
def test_default_is_converged_in_dt(runs, key):
    mean, se = paired(runs["default"], runs["fine"], key)
    assert abs(mean) <= 3 * se, f"{key}: dt vs dt/10 differ by {mean:.4g} ± {se:.2g}"


@pytest.mark.slow
def test_reference_numerics_are_detected(runs):
    mean, se = paired(runs["reference_script"], runs["fine"], "inh_rate_hz")
    assert mean > 3 * se, f"reference numerics not distinguished: {mean:.3g} ± {se:.2g}"
