"""analyse() and summarize(): fields, nulls, truth and one real simulation."""

import json

import numpy as np
import pytest

import tum2000
import synthetic
from tum2000.analysis import SUMMARY_FIELDS, analyse, summarize

REQUIRED = ["exc_rate_hz", "inh_rate_hz", "n_ps", "ps_times_ms", "ps_rate_hz", "mean_ipi_ms",
            "ps_peak_mean", "ps_width_ms", "ps_participation", "x_mean", "x_min", "x_max",
            "x_before_ps", "x_after_ps", "cv_isi_exc", "spike_contrast", "n_spikes_exc",
            "n_spikes_inh", "duration_ms", "seed"]


def _check_plain(summary):
    json.dumps(summary, allow_nan=False)
    for key, value in summary.items():
        assert value is None or isinstance(value, (int, float, str, list)), key
        if isinstance(value, list):
            assert all(v is None or isinstance(v, (int, float)) for v in value), key


def test_no_population_spike_gives_nulls():
    ds = synthetic.poisson_dataset(duration_ms=1000.0, seed=7)
    s = summarize(ds, n_pairs=20)
    _check_plain(s)
    assert s["n_ps"] == 0 and s["ps_times_ms"] == [] and s["x_before_ps"] == []
    for key in ("mean_ipi_ms", "ps_peak_mean", "ps_width_ms", "ps_participation",
                "spike_contrast_inside", "recovery_tau_ms", "recovery_x_inf",
                "recovery_tau_naive_ms", "recovery_x_inf_per_synapse", "x_recovery_rmse",
                "x_recovery_rmse_naive", "ps_drop_error"):
        assert s[key] is None, key
    assert s["recovery_fits_meaningful"] == 0
    t, n = ds["spike_time"].values, ds["spike_neuron"].values
    assert s["n_spikes_exc"] == int((n < 400).sum())
    assert s["exc_rate_hz"] == pytest.approx((n < 400).sum() / 400 / 1.0)
    assert s["inh_rate_hz"] == pytest.approx((n >= 400).sum() / 100 / 1.0)
    assert s["duration_ms"] == 1000.0 and s["seed"] == 7


def test_summary_of_injected_population_spikes():
    times = [300.0, 900.0, 1600.0]
    ds = synthetic.population_spike_dataset(times, participation_exc=0.5,
                                            participation_inh=0.7, seed=3)
    s = summarize(ds, n_pairs=20)
    _check_plain(s)
    assert s["n_ps"] == 3 and s["ps_times_ms"] == times
    assert s["mean_ipi_ms"] == pytest.approx(np.diff(times).mean())
    assert s["ps_participation_exc"] == pytest.approx(0.5)
    assert s["ps_participation_inh"] == pytest.approx(0.7)
    assert s["ps_participation"] == pytest.approx((0.5 * 400 + 0.7 * 100) / 500)
    assert len(s["x_before_ps"]) == 3
    # a synthetic dataset cannot be replayed: the per-synapse fields are null
    assert s["x_recovery_rmse"] is None and s["recovery_x_inf_per_synapse"] is None
    assert s["ps_drop_error"] is not None and s["ps_drop_error"] >= 0


def test_analyse_dataset_layout():
    ds = synthetic.population_spike_dataset([500.0], duration_ms=1000.0, seed=1)
    a = analyse(ds, n_pairs=10)
    assert a.sizes["ps"] == 1 and list(a["pathway"].values) == ["EE", "EI", "IE", "II"]
    assert a["x_before"].dims == ("pathway", "ps")
    assert a["participation"].dims == ("ps", "population")
    assert a["activity"].dims == ("population", "time") and a.sizes["time"] == 1000
    assert "I_b" in a["rate"].coords and "neuron_population" in a["rate"].coords


@pytest.fixture(scope="module")
def quick():
    return tum2000.simulate("quick", seed=1)


def test_summarize_real_quick_simulation(quick):
    s = summarize(quick)
    _check_plain(s)
    assert tuple(s) == SUMMARY_FIELDS
    for key in REQUIRED:
        assert key in s, key
    for key in ("exc_rate_hz", "inh_rate_hz", "x_mean", "x_min", "x_max", "cv_isi_exc",
                "spike_contrast"):
        assert isinstance(s[key], float), key
    assert 0 < s["x_min"] <= s["x_mean"] <= s["x_max"] <= 1
    assert s["n_ps"] == len(s["ps_times_ms"]) == len(s["x_before_ps"])
    assert s["duration_ms"] == 1200.0
    assert s["n_spikes_exc"] + s["n_spikes_inh"] == quick.sizes["spike"]


@pytest.mark.slow
def test_summary_reports_the_recovery_agreement(default_datasets):
    """Default run, seed 1: the per-synapse prediction follows x (rmse <= 0.02), the
    homogeneous one does not (> 0.1), and the drop map is within 0.05."""
    s = summarize(default_datasets[1])
    _check_plain(s)
    assert s["n_ps"] >= 1
    assert s["x_recovery_rmse"] <= 0.02 < 0.1 < s["x_recovery_rmse_naive"]
    assert s["ps_drop_error"] <= 0.05
    assert 0.0 <= s["recovery_x_inf"] <= 1.0 and s["recovery_fits_meaningful"] >= 1
    assert s["recovery_x_inf_naive"] < s["recovery_x_inf_per_synapse"]
    other = default_datasets[1].copy()
    other.attrs["code_version"] = "0.0.0+000000000000"
    with pytest.warns(RuntimeWarning, match="code_version"):
        s_other = summarize(other, n_pairs=10)
    assert s_other["x_recovery_rmse"] is None and s_other["recovery_x_inf_per_synapse"] is None
    assert s_other["x_recovery_rmse_naive"] == pytest.approx(s["x_recovery_rmse_naive"])
