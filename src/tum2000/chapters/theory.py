"""Values and text of the out-of-sample page (``book/theory.ipynb``).

``tum2000 theory`` predicts the network from its parameters alone; the page
scores it on the held-out points of :mod:`tum2000.sweeps.held_out` (seeds
101-110, never run while the theory was written). Every number and verdict
the page states is computed here, with its interval and the events behind it.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from tum2000.chapters.tables import MISSING, Estimate, Verdict, readable


def _value(value: Any, fmt: str) -> str:
    return MISSING if value is None or not np.isfinite(float(value)) else fmt.format(float(value))


def comparison_table(points: Sequence[dict[str, Any]], network: Sequence[dict[str, Any]],
                     predicted: Sequence[dict[str, Any]], scores: Sequence[dict[str, Any]]):
    """One column per held-out point: its parameters, the network's mean over
    seeds with its 95 % interval, the theory's prediction, and the scores."""
    def yes(flag: Any) -> str:
        return MISSING if flag is None else "yes" if flag else "no"

    columns = {}
    for k, (pt, net, pred, sc) in enumerate(zip(points, network, predicted, scores), 1):
        columns[f"point {k}"] = {
            "A_EE (mV)": f"{pt['EE_A_mV']:g}", "w (mV)": f"{pt['I_b_spread_mV']:g}",
            "tau_rec (ms)": f"{pt['EE_tau_rec_ms']:g}", "U": f"{pt['EE_U']:g}",
            "full PS per s, network": Estimate.of(net["rate_hz"]).text("{:.2f}"),
            "full PS per s, theory": _value(pred["ps_rate_hz"], "{:.2f}"),
            "ratio theory/network": _value(sc["rate_ratio"], "{:.2f}"),
            "rate within 1.5x": yes(sc["rate_ok"]),
            "x before, network": Estimate.of(net["x_before"]).text("{:.3f}"),
            "x before, theory": _value(pred["x_before_ps"], "{:.3f}"),
            "x within 0.05": yes(sc["x_before_ok"]),
            "x after, network": Estimate.of(net["x_after"]).text("{:.3f}"),
            "x after, theory": _value(pred["x_after_ps"], "{:.3f}"),
            "interval (ms), network": Estimate.of(net["interval_ms"]).text("{:.0f}"),
            "interval (ms), theory": _value(pred["mean_interval_ms"], "{:.0f}"),
            "network population spikes": str(net["events"]),
        }
    return readable(pd.DataFrame(columns))


def score_verdict(scores: Sequence[dict[str, Any]], network: Sequence[dict[str, Any]],
                  needed: int = 4) -> Verdict:
    """How many points meet both targets, against the issue's ``needed`` of them."""
    n_points = len(scores)
    both = sum(bool(s["both_ok"]) for s in scores)
    rate = sum(bool(s["rate_ok"]) for s in scores)
    x = sum(bool(s["x_before_ok"]) for s in scores)
    events = int(sum(n["events"] for n in network))
    text = (f"both targets at {both} of {n_points} points (the rate within a factor 1.5 at "
            f"{rate}, x before a PS within 0.05 at {x}; {events} network population spikes "
            f"behind the comparison)")
    return Verdict(text, events, None, both >= needed)


def x_bias(network: Sequence[dict[str, Any]], predicted: Sequence[dict[str, Any]]) -> Estimate:
    """Predicted minus network x before a PS, over the points with both (Student-t
    interval over points)."""
    diffs = [float(p["x_before_ps"]) - float(np.nanmean(n["x_before"]))
             for n, p in zip(network, predicted)
             if p["x_before_ps"] is not None and np.isfinite(n["x_before"]).any()]
    return Estimate.of(diffs)


def miss_sentence(network: Sequence[dict[str, Any]], predicted: Sequence[dict[str, Any]]) -> str:
    """Where the theory misses, in numbers: the sign and size of its x bias and
    the range of its rate ratios."""
    bias = x_bias(network, predicted)
    if bias.n == 0:
        return "No point has both a predicted and a measured x before a population spike."
    ratios = [float(p["ps_rate_hz"]) / float(np.nanmean(n["rate_hz"]))
              for n, p in zip(network, predicted) if np.nanmean(n["rate_hz"]) > 0]
    side = "lower" if bias.high < 0 else "higher" if bias.low > 0 else "neither lower nor higher"
    interval = (f" (95 % CI {bias.low:+.3f} to {bias.high:+.3f})" if bias.defined else "")
    text = (f"The predicted x before a population spike is {side} than the network's: by "
            f"{bias.mean:+.3f} on average over the {bias.n} points{interval}")
    if ratios:
        text += (f", and the predicted rate is {min(ratios):.2f} to {max(ratios):.2f} times "
                 "the network's")
    return text + "."


def where_sentence(scores: Sequence[dict[str, Any]]) -> str:
    """Which points (numbered from 1, as in the table) miss which target: "The
    rate misses at point 2; x before a PS misses at points 1 and 5."; "" when
    none misses."""
    parts = []
    for key, what in (("rate_ok", "the rate"), ("x_before_ok", "x before a PS")):
        missed = [str(k + 1) for k, sc in enumerate(scores) if sc[key] is False]
        if missed:
            where = (f"point {missed[0]}" if len(missed) == 1 else
                     "points " + ", ".join(missed[:-1]) + " and " + missed[-1])
            parts.append(f"{what} misses at {where}")
    if not parts:
        return ""
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def model_comparison(scores_by_model: dict[str, Sequence[dict[str, Any]]]) -> Verdict:
    """Which model meets both targets at more points: "the density model meets both
    targets at 3 of 5 points, the rate model at 1". ``holds``: the first model
    is at least as good as every other; ``n``: points."""
    counts = {name: sum(bool(s["both_ok"]) for s in sc) for name, sc in scores_by_model.items()}
    names = list(counts)
    n_points = len(next(iter(scores_by_model.values())))
    first = names[0]
    text = (f"the {first} model meets both targets at {counts[first]} of {n_points} points, "
            + ", ".join(f"the {n} model at {counts[n]}" for n in names[1:]))
    return Verdict(text, n_points, None, all(counts[first] >= counts[n] for n in names[1:]))


def replaced_sentence(verdict_rate: Verdict | None, miss_rate: str) -> str:
    """The score of the rate model the density model replaced, or that this
    build did not compute it."""
    if verdict_rate is None:
        return "This build did not score the rate model it replaced (compare_rate_model is false)."
    return f"The rate model it replaced gets {verdict_rate.text}. {miss_rate}"


__all__ = ["comparison_table", "miss_sentence", "model_comparison", "replaced_sentence",
           "score_verdict", "where_sentence", "x_bias"]
