"""`tum2000 theory`: bad input refused in one line before any work; one JSON object.

Runtime is not asserted here (the command's budget is 60 s on 2 cores); the
prediction's noisy model is shortened through the module's constants.
"""

import json

import pytest

import tum2000

from tum2000.cli import main
from tum2000.meanfield import theory


@pytest.fixture
def short(monkeypatch):
    """The density model: 1 s deterministic, 2 x 3 s noisy (default 3 s and
    2 x 20 s); the rate model: one batch of 4 x 2 s (default up to 2 x 4 x 10 s)."""
    monkeypatch.setattr(theory, "DENSITY_CHECK_MS", 1000.0)
    monkeypatch.setattr(theory, "DENSITY_RUN_MS", 3000.0)
    monkeypatch.setattr(theory, "BATCH_DURATION_MS", 2000.0)
    monkeypatch.setattr(theory, "MAX_BATCHES", 1)


@pytest.mark.parametrize("argv,says", [
    (["--set", "NO_SUCH_NAME=1"], "unknown parameter"),
    (["--set", "EE_A_mV=abc"], "EE_A_mV"),
    (["--set", "EE_U=5"], "EE_U"),
    (["--set", "EE_A_mV"], "EE_A_mV"),
    (["--seed", "-1"], "seed"),
    (["--preset", "nope"], "preset"),
])
def test_bad_input_exits_2_with_one_line_and_no_output(capsys, monkeypatch, argv, says):
    def never(*args, **kwargs):
        raise AssertionError("predict ran on bad input")

    monkeypatch.setattr(theory, "predict", never)
    assert main(["theory", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and says in err


def _run(capsys, *argv):
    assert main(["theory", "--quiet", *argv]) == 0
    out, err = capsys.readouterr()
    assert err == ""                                   # --quiet: no progress
    assert len(out.strip().splitlines()) == 1
    return json.loads(out)


def test_quiescent_prediction_has_nulls_and_rate_zero(capsys, short):
    got = _run(capsys, "--set", "EE_A_mV=0.1")
    assert list(got) == list(theory.KEYS)
    assert got["regime"] == "quiescent" and got["ps_rate_hz"] == 0.0
    assert got["x_before_ps"] is None and got["x_after_ps"] is None
    assert got["mean_interval_ms"] is None
    assert got["model"] == theory.DENSITY_MODEL_NAME and got["elapsed_s"] >= 0


def test_excitable_prediction_has_numbers(capsys, short):
    """Spread 0.5 mV (held-out point 1's, where the network fires ~1 full PS
    per s): the deterministic model is quiet, the noisy one escapes."""
    got = _run(capsys, "--set", "I_b_spread_mV=0.5", "--seed", "3")
    assert list(got) == list(theory.KEYS)
    assert got["regime"] == "excitable" and got["ps_rate_hz"] >= theory.QUIESCENT_RATE_HZ
    assert 0 < got["x_after_ps"] < got["x_before_ps"] < 1
    assert got["mean_interval_ms"] > 0


def test_oscillatory_prediction_gives_the_period(capsys, short):
    """EE_U 0.7, tau_rec 400 ms (the network fires ~3.4 full PS per s,
    u_tau_rec.nc): the deterministic density model fires on its own; the rate
    is one over its mean period."""
    got = _run(capsys, "--set", "EE_U=0.7", "--set", "EE_tau_rec_ms=400")
    assert got["regime"] == "oscillatory"
    assert got["ps_rate_hz"] == pytest.approx(1000.0 / got["mean_interval_ms"])
    assert 0 < got["x_after_ps"] < got["x_before_ps"] < 1


def test_progress_goes_to_stderr(capsys, short):
    assert main(["theory", "--set", "EE_A_mV=0.1"]) == 0
    out, err = capsys.readouterr()
    assert "theory:" in err and "theory:" not in out
    json.loads(out)


def test_the_rate_model_is_still_offered(short):
    """predict(model="rate") is the earlier theory; an unknown model is refused."""
    got = theory.predict(tum2000.preset("default", EE_A_mV=0.1), model="rate")
    assert got["model"] == theory.MODEL_NAME and got["regime"] == "quiescent"
    with pytest.raises(ValueError, match="model must be one of density, rate"):
        theory.predict(tum2000.preset("default"), model="nope")
