"""Population-spike detection finds injected population spikes exactly."""

import json

import numpy as np
import pytest

import synthetic
from tum2000.analysis import detect_population_spikes, synchrony

TIMES = [250.0, 610.0, 1100.0, 1730.0]


@pytest.fixture(scope="module")
def ps_ds():
    return synthetic.population_spike_dataset(TIMES, participation_exc=0.6,
                                              participation_inh=0.85,
                                              profile=(0.1, 0.3, 0.3, 0.2, 0.1),
                                              duration_ms=2000.0, seed=11)


def test_injected_population_spikes_found_exactly(ps_ds):
    truth = json.loads(ps_ds.attrs["synthetic_truth"])
    ps = detect_population_spikes(ps_ds)
    assert int(ps["n_ps"]) == len(TIMES)
    np.testing.assert_array_equal(ps["ps_time"].values, truth["ps_times_ms"])
    part = ps["participation"]
    np.testing.assert_allclose(part.sel(population="exc"), truth["participation_exc"])
    np.testing.assert_allclose(part.sel(population="inh"), truth["participation_inh"])
    n_all = truth["participation_exc"] * 400 + truth["participation_inh"] * 100
    np.testing.assert_allclose(part.sel(population="all"), n_all / 500)
    # profile (0.1, 0.3, 0.3, 0.2, 0.1): every bin above 0.05, peak = first 0.3 bin,
    # 3 bins at >= half maximum
    np.testing.assert_allclose(ps["ps_width"], 3.0)
    centre = int(np.argmax(truth["profile"]))
    np.testing.assert_array_equal(ps["ps_onset"], np.array(TIMES) - centre)
    np.testing.assert_array_equal(ps["ps_offset"], np.array(TIMES) - centre + 5)
    # the injected participants fire in order of decreasing I_b
    assert np.all(ps["recruitment_rho"] < -0.9)
    assert np.all(ps["first_I_b_percentile"] > 90)


def test_interval_statistics(ps_ds):
    ps = detect_population_spikes(ps_ds)
    ipi = np.diff(TIMES)
    assert float(ps["mean_ipi_ms"]) == pytest.approx(ipi.mean())
    assert float(ps["cv_ipi"]) == pytest.approx(ipi.std() / ipi.mean())
    assert float(ps["ps_rate_hz"]) == pytest.approx(len(TIMES) / 2.0)
    np.testing.assert_allclose(ps["ipi_before"].values[1:], ipi)


def test_merge_gap_and_threshold_are_parameters():
    ds = synthetic.population_spike_dataset([500.0, 512.0, 900.0], participation_exc=0.3,
                                            participation_inh=0.3, guard_ms=2.0, seed=2)
    assert int(detect_population_spikes(ds)["n_ps"]) == 2          # 12 ms gap merged
    assert int(detect_population_spikes(ds, merge_gap_ms=5.0)["n_ps"]) == 3
    assert int(detect_population_spikes(ds, threshold=0.5)["n_ps"]) == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_poisson_at_network_rates_gives_no_population_spike(seed):
    ds = synthetic.poisson_dataset(duration_ms=3000.0, seed=seed)
    ps = detect_population_spikes(ds)
    assert int(ps["n_ps"]) == 0 and ps.sizes["ps"] == 0


def test_synchrony_higher_inside_population_spikes(ps_ds):
    s = synchrony(ps_ds, n_pairs=30)
    assert s["spike_contrast"].sel(condition="inside") > s["spike_contrast"].sel(condition="outside")
    assert (s["correlation"].sel(condition="all", population="exc")
            > s["correlation"].sel(condition="outside", population="exc"))
    assert abs(float(s["correlation"].sel(condition="outside", population="exc"))) < 0.01
    np.testing.assert_allclose(s["complexity_pdf"].sel(condition="all").sum(), 1.0)
    assert float(s["condition_duration"].sel(condition="inside")) == pytest.approx(
        len(TIMES) * (5 + 2 * 5.0))
