"""Numerical convergence: dividing dt by 10 does not change the statistics.

Paired design (tum2000.convergence): the same seeds, i.e. the same networks,
at dt = 0.1 ms and at dt/10; a statistic agrees when the mean paired
difference is within three standard errors. The same procedure applied to
the reference script's numerics (dt = 1 ms, input held over the step) must
detect a difference, which shows the test can fail. The full-length study is
benchmarks/convergence.py.
"""

import pytest

import tum2000
from tum2000.convergence import dt_variants, study

pytestmark = pytest.mark.slow
SEEDS = (1, 2, 3, 4, 5, 6)
LENGTH = dict(burn_in_ms=300.0, duration_ms=1500.0)


@pytest.fixture(scope="module")
def result():
    variants, baseline = dt_variants([0.1], fine_dt_ms=0.01)
    return study(tum2000.preset("default", **LENGTH), variants, baseline, SEEDS)


@pytest.mark.parametrize("statistic", ["exc_rate_hz", "inh_rate_hz", "x_EE_mean", "u_EI_mean"])
def test_default_is_converged_in_dt(result, statistic):
    sel = dict(variant="exact, dt = 0.1 ms", statistic=statistic)
    assert bool(result["agrees"].sel(**sel)), (
        f"{statistic}: dt vs dt/10 differ by {float(result['difference'].sel(**sel)):.4g} "
        f"± {float(result['standard_error'].sel(**sel)):.2g}")


def test_reference_numerics_are_detected(result):
    sel = dict(variant="reference_script, dt = 1 ms", statistic="inh_rate_hz")
    assert not bool(result["agrees"].sel(**sel))
    assert float(result["difference"].sel(**sel)) > 0  # larger PSPs: more inhibitory firing
