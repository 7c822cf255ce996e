"""The out-of-sample page's table and verdicts on synthetic inputs with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from tum2000.chapters import theory
from tum2000.sweeps import held_out

NAN = float("nan")


def net(rate, xb, events=100):
    return {"rate_hz": np.array(rate, float), "x_before": np.array(xb, float),
            "x_after": np.array(xb, float) / 2, "interval_ms": 1000 / np.array(rate, float),
            "events": events, "seeds": len(rate)}


def pred(rate, xb):
    return {"ps_rate_hz": rate, "x_before_ps": xb, "x_after_ps": None if xb is None else xb / 2,
            "mean_interval_ms": None if not rate else 1000 / rate, "regime": "excitable"}


def test_scores_apply_the_issue_targets():
    network = [net([1.0, 1.0], [0.40, 0.40]), net([1.0, 1.0], [0.40, 0.40]),
               net([1.0, 1.0], [0.40, 0.40]), net([0.0, 0.0], [NAN, NAN])]
    predicted = [pred(1.4, 0.44), pred(1.6, 0.40), pred(1.0, 0.46), pred(0.0, None)]
    s = held_out.scores(network, predicted)
    assert [x["rate_ok"] for x in s] == [True, False, True, True]
    assert [x["x_before_ok"] for x in s] == [True, True, False, None]
    assert [x["both_ok"] for x in s] == [True, False, False, False]
    assert s[0]["rate_ratio"] == pytest.approx(1.4)
    v = theory.score_verdict(s, network)
    assert v.holds is False and v.text.startswith("both targets at 1 of 4 points")
    assert v.n == 400
    assert theory.score_verdict(s, network, needed=1).holds is True


def test_x_bias_and_the_miss_sentence():
    network = [net([1.0], [0.40]), net([1.0], [0.50]), net([1.0], [0.45])]
    predicted = [pred(0.5, 0.35), pred(2.0, 0.44), pred(1.0, 0.38)]
    bias = theory.x_bias(network, predicted)
    assert bias.n == 3 and bias.mean == pytest.approx(-0.06)
    text = theory.miss_sentence(network, predicted)
    assert "lower than the network's" in text and "0.50 to 2.00 times" in text


def test_table_has_a_row_per_point_and_no_nan():
    network = [net([1.0, 0.8], [0.40, 0.41]), net([0.0, 0.0], [NAN, NAN])]
    predicted = [pred(0.9, 0.39), pred(0.0, None)]
    points = [dict(EE_A_mV=1.8, I_b_spread_mV=0.5, EE_tau_rec_ms=800.0, EE_U=0.5)] * 2
    table = theory.comparison_table(points, network, predicted,
                                    held_out.scores(network, predicted))
    html = table.to_html()
    assert "nan" not in html.lower() and "point 2" in html and html.count("<tr") == 17
    assert table.data.loc["x within 0.05", "point 1"] == "yes"


def test_where_sentence_names_the_points_that_miss():
    network = [net([1.0, 1.0], [0.40, 0.40])] * 4
    predicted = [pred(1.4, 0.44), pred(1.6, 0.40), pred(1.0, 0.46), pred(1.0, 0.47)]
    s = held_out.scores(network, predicted)
    assert theory.where_sentence(s) == ("The rate misses at point 2; x before a PS misses at "
                                        "points 3 and 4.")
    assert theory.where_sentence(s[:1]) == ""


def test_model_comparison_counts_points_meeting_both_targets():
    good = [{"both_ok": True}, {"both_ok": True}, {"both_ok": False}]
    bad = [{"both_ok": False}, {"both_ok": True}, {"both_ok": False}]
    v = theory.model_comparison({"density": good, "rate": bad})
    assert v.text == "the density model meets both targets at 2 of 3 points, the rate model at 1"
    assert v.holds is True and v.n == 3
    assert theory.model_comparison({"rate": bad, "density": good}).holds is False


def test_replaced_sentence():
    v = theory.score_verdict([{"both_ok": True, "rate_ok": True, "x_before_ok": True}],
                             [net([1.0, 1.0], [0.4, 0.4])])
    assert theory.replaced_sentence(v, "Miss.") == (
        f"The rate model it replaced gets {v.text}. Miss.")
    assert "did not score" in theory.replaced_sentence(None, "")
