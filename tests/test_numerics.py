"""Numerical convergence: dividing dt by 10 does not change the statistics.

Paired design (tum2000.sweeps.convergence): the same seeds, i.e. the same networks,
at dt = 0.1 ms and at dt/10, compared by an equivalence test with a stated
tolerance per statistic (the 90 % confidence interval of the mean paired
difference must lie inside it). The same test applied to the reference
script's numerics (dt = 1 ms, input held over the step) must find a
difference, which shows the test can fail. The fast tests check the test
itself on known numbers; the full-length study is benchmarks/convergence.py.
"""

import numpy as np
import pytest
import xarray as xr

import tum2000
from tum2000.sweeps.convergence import TOLERANCES, compare, dt_variants, study

SEEDS = tuple(range(1, 9))
LENGTH = dict(burn_in_ms=300.0, duration_ms=3000.0)


@pytest.fixture(scope="module")
def result():
    variants, baseline = dt_variants([0.1], fine_dt_ms=0.01)
    return study(tum2000.preset("default", **LENGTH), variants, baseline, SEEDS)


@pytest.mark.slow
@pytest.mark.parametrize("statistic", ["exc_rate_hz", "inh_rate_hz", "n_ps"])
def test_default_is_equivalent_to_a_ten_times_finer_step(result, statistic):
    sel = result.sel(variant="exact, dt = 0.1 ms", statistic=statistic)
    assert str(sel["verdict"].item()) == "equivalent" and bool(sel["agrees"]), (
        f"{statistic}: 90% CI [{float(sel['ci_low']):.3g}, {float(sel['ci_high']):.3g}] "
        f"against tolerance ±{float(sel['tolerance']):g}")


@pytest.mark.slow
@pytest.mark.parametrize("statistic", ["x_EE_mean", "u_EI_mean", "ps_peak"])
def test_default_is_never_found_different(result, statistic):
    """With 8 seeds of 3 s these are not always decided; they must never differ."""
    sel = result.sel(variant="exact, dt = 0.1 ms", statistic=statistic)
    assert str(sel["verdict"].item()) != "different"
    assert abs(float(sel["difference"])) <= TOLERANCES[statistic]


@pytest.mark.slow
def test_reference_numerics_are_detected(result):
    sel = result.sel(variant="reference_script, dt = 1 ms", statistic="inh_rate_hz")
    assert str(sel["verdict"].item()) == "different" and not bool(sel["agrees"])
    assert float(sel["difference"]) > 0  # larger PSPs: more inhibitory firing


# --- the equivalence test on known numbers --------------------------------------------------

def _values(diffs: dict[str, list[float]]) -> xr.DataArray:
    n = len(next(iter(diffs.values())))
    data = np.zeros((1 + len(diffs), n, 1))
    for k, d in enumerate(diffs.values(), 1):
        data[k, :, 0] = d
    return xr.DataArray(data + 7.0, dims=("variant", "seed", "statistic"),
                        coords={"variant": ["base", *diffs], "seed": range(n),
                                "statistic": ["exc_rate_hz"]})


def test_equivalence_test_decides_on_known_differences():
    r = compare(_values({"tiny": [0.05, -0.05, 0.02, -0.02, 0.0, 0.01],
                         "large": [2.0, 2.1, 1.9, 2.05, 1.95, 2.0],
                         "noisy": [1.5, -1.5, 1.0, -1.0, 0.5, -0.4]}), "base")
    verdict = {v: str(r["verdict"].sel(variant=v, statistic="exc_rate_hz").item())
               for v in ("tiny", "large", "noisy")}
    assert verdict == {"tiny": "equivalent", "large": "different", "noisy": "undecided"}
    # Every difference inside the tolerance (0.5 Hz), but three seeds leave the
    # interval wider: not equivalent.
    edge = compare(_values({"edge": [0.30, 0.49, 0.45]}), "base")
    assert str(edge["verdict"].sel(variant="edge", statistic="exc_rate_hz").item()) == "undecided"
    assert r["agrees"].dtype == bool
    assert r["agrees"].sel(variant="tiny").item() and not r["agrees"].sel(variant="noisy").item()


def test_undefined_or_single_seed_is_never_agreement():
    r = compare(_values({"nan": [0.0, np.nan, 0.0, 0.0]}), "base")
    assert str(r["verdict"].sel(variant="nan").item()) == "undecided"
    assert not bool(r["agrees"].sel(variant="nan").item())
    one = compare(_values({"one": [0.0]}), "base")
    assert not bool(one["agrees"].sel(variant="one").item())
    assert not np.isnan(one["agrees"].values.astype(float)).any()  # a bool, never NaN
