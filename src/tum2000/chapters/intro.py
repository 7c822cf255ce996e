"""What the introduction states about its one run: how often population spikes
come, and whether the run looks like the paper's Fig. 1.

Each function takes the run's numbers (from :func:`tum2000.analysis.summarize`
and :func:`tum2000.analysis.detect_population_spikes`) and returns the
sentence the page glues, so that the sentence is true of every seed and every
parameter set a reader re-runs the page with.
"""

from __future__ import annotations

from typing import Any, Mapping

from tum2000.chapters.exploration import Totals, like_fig1
from tum2000.chapters.tables import Verdict


def how_often(n_full: int, duration_ms: float) -> str:
    """How often the run's (full) population spikes come, as counted events in
    the recorded time (ms): a rate from a count, not a mean over one or two
    intervals. The spread over networks is the reproducibility chapter's."""
    seconds = duration_ms / 1000.0
    if n_full == 0:
        return "though not once in the run below, as the text under the figure explains"
    if n_full == 1:
        return f"in the run below, once in {seconds:.1f} s"
    return (f"in the run below, {n_full} times in {seconds:.1f} s; the chapter on "
            "reproducibility gives the rate over networks")


def like_figure_1(summary: Mapping[str, Any], counts: Mapping[str, int],
                  duration_ms: float) -> Verdict:
    """Whether the run shows what Fig. 1 shows, by the criterion of
    :func:`tum2000.chapters.exploration.like_fig1` (full events, at least half
    of them sharp, at most 10 % partial ones), with the numbers behind it.

    ``summary`` is the run's :func:`tum2000.analysis.summarize` (``ps_width_ms``
    in ms, ``ps_participation`` a fraction), ``counts`` its
    :func:`tum2000.chapters.tables.event_counts`, ``duration_ms`` the recording.
    """
    totals = Totals(full=counts["full"], partial=counts["partial"], sharp=counts["sharp"],
                    seconds=duration_ms / 1000.0)
    verdict = like_fig1(totals)
    if totals.full == 0:
        return Verdict(
            "Unlike the paper's figure, this run has no population spike: it is too short, "
            "or its parameters keep the network asynchronous (a short run such as the "
            "quick preset's often has none). Re-run it with the published parameters, or "
            "with the classroom preset, to see them.", totals.events, holds=False)
    shape = (f"on average {summary['ps_width_ms']:.1f} ms wide at half maximum, with "
             f"{100 * summary['ps_participation']:.0f} % of the neurons taking part; "
             f"{totals.sharp} of {totals.full} full event{'s' if totals.full != 1 else ''} "
             f"sharp, {totals.partial} partial")
    if verdict.holds:
        return Verdict(f"As in the paper, population spikes are rare and sharp ({shape}), and "
                       "each is followed by a drop in x.", totals.events, holds=True)
    return Verdict(f"Unlike the paper's figure, this run's events are not mostly sharp, full "
                   f"population spikes ({shape}).", totals.events, holds=False)


__all__ = ["how_often", "like_figure_1"]
