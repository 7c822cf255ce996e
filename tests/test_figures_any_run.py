"""Every figure of the book holds up on any run: no, one or many population spikes.

Synthetic datasets with known population spikes (tum2000.synthetic) and a
sawtooth x are drawn with every figure function, with Python warnings as
errors (a collapsed constrained layout is a UserWarning), and the drawings are
checked for what a reader needs: markers and inset only where there is a
population spike, an explanation where there is none, the whole x trace
inside panel C's axis, the inset clear of the trace, a white background.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure

from tum2000 import analysis

from tum2000.plotting import figure1 as figures

import synthetic

from tum2000.chapters import tables

DURATION_MS = 3000.0
CASES = {"none": [], "one": [1400.0], "many": [300.0, 1100.0, 1900.0, 2700.0]}


def _with_sawtooth(ds: xr.Dataset, ps_times: list[float], x_low: float = 0.12) -> xr.Dataset:
    """``ds`` with an EE sawtooth that drops at each population spike (to below the
    paper's 0.2 when ``x_low`` is, so the axis must widen)."""
    t = ds["time"].values
    x = synthetic.analytic_recovery(t, ps_times, drop_fraction=0.75, tau_ms=500.0,
                                    x_inf=0.58, x_start=0.5)
    if ps_times:
        x = np.maximum(x, x_low)
        x[np.searchsorted(t, ps_times[0]) + 2] = x_low
    recovered = ds["recovered"].copy()
    recovered.loc[{"pathway": "EE"}] = x
    return ds.assign(recovered=recovered)


@pytest.fixture(scope="module", params=list(CASES))
def run(request):
    times = CASES[request.param]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # building the data is not under test
        if times:
            ds = synthetic.population_spike_dataset(times, duration_ms=DURATION_MS, seed=3)
        else:
            ds = synthetic.poisson_dataset(duration_ms=DURATION_MS, seed=3)
        ds = _with_sawtooth(ds, times)
        ps = analysis.detect_population_spikes(ds)
        rec = analysis.recovery_dynamics(ds, "EE", ps=ps)
    assert ps.sizes["ps"] == len(times)
    return request.param, ds, ps, rec


def _draw(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(buffer, format="png", dpi=60)
    return buffer.getvalue()


def _axes(*shape, **kw):
    fig = Figure(figsize=(7, 3 * shape[0] if shape else 3), layout="constrained",
                 facecolor="white")
    return fig, fig.subplots(*shape, **kw) if shape else fig.subplots()


def test_figure1_draws_without_warning_and_white(run):
    name, ds, ps, _ = run
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = figures.figure1(ds, ps=ps)
    png = _draw(fig)
    assert fig.get_facecolor()[3] == 1.0 and fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    raster, activity, recovered = fig.axes[:3]
    # the three panels share one height: none collapsed, none a blank gap
    heights = [ax.get_position().height for ax in (raster, activity, recovered)]
    assert min(heights) > 0.15 and max(heights) / min(heights) < 1.5
    for ax in (raster, activity, recovered):
        assert ax.get_xlabel() == figures.TIME_LABEL or ax is not recovered
        assert "(" in ax.get_ylabel() or ax is raster  # a unit or what it counts
    assert recovered.get_xlabel() == figures.TIME_LABEL


def test_raster_marks_each_population_spike_with_a_triangle(run):
    name, ds, ps, _ = run
    fig, ax = _axes()
    figures.plot_raster(ds, ax, ps=ps)
    _draw(fig)
    markers = [line for line in ax.get_lines() if line.get_marker() == "v"]
    if name == "none":
        assert markers == []
    else:
        assert len(markers) == 1
        np.testing.assert_allclose(markers[0].get_xdata(), ps["ps_time"].values)


def test_activity_inset_only_on_a_population_spike_and_clear_of_the_trace(run):
    name, ds, ps, _ = run
    fig, ax = _axes()
    figures.plot_activity(ds, ax, ps=ps)
    _draw(fig)
    insets = [child for child in ax.child_axes]
    if name == "none":
        assert insets == []
        assert any("no population spike" in text.get_text() for text in ax.texts)
        return
    (inset,) = insets
    largest = float(ps["ps_time"].values[np.argmax(ps["ps_peak"].values)])
    lo, hi = inset.get_xlim()
    assert lo < largest < hi
    # the trace under the inset stays below its lower edge
    box, panel = inset.get_position(), ax.get_position()  # figure coordinates, after drawing
    left = (box.x0 - panel.x0) / panel.width
    width = box.width / panel.width
    bottom = (box.y0 - panel.y0) / panel.height
    t0, t1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    activity = analysis.population_activity(ds)
    t = activity["time"].values
    under = activity.values[(t >= t0 + left * (t1 - t0)) & (t <= t0 + (left + width) * (t1 - t0))]
    assert under.max() < y0 + bottom * (y1 - y0)
    # every peak is inside the axis
    assert float(activity.max()) <= y1


def test_activity_inset_follows_the_given_detection():
    """The inset uses the page's population spikes, not a detection of its own."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = synthetic.population_spike_dataset([500.0, 2000.0], participation_exc=0.9,
                                                duration_ms=DURATION_MS, seed=1)
    ps = analysis.detect_population_spikes(ds).isel(ps=[0])  # a page keeping the first only
    fig, ax = _axes()
    figures.plot_activity(ds, ax, ps=ps)
    lo, hi = ax.child_axes[0].get_xlim()
    assert lo < 500.0 < hi


def test_recovered_axis_holds_the_whole_trace(run):
    name, ds, _, _ = run
    fig, ax = _axes()
    figures.plot_recovered(ds, ax)
    _draw(fig)
    x = ds["recovered"].sel(pathway="EE").values
    lo, hi = ax.get_ylim()
    assert lo < x.min() and x.max() < hi
    assert lo <= figures.RECOVERED_YLIM[0] and hi >= figures.RECOVERED_YLIM[1]
    assert ax.get_xlabel() == figures.TIME_LABEL and "recovered" in ax.get_ylabel()


def test_recovered_with_theory_and_sawtooth_tops(run):
    name, ds, ps, rec = run
    fig, ax = _axes()
    figures.plot_recovered_with_theory(ds, ax, rec)
    _draw(fig)
    tops = figures.sawtooth_tops(ds, ps, rec)
    assert tops.sizes["ps"] == ps.sizes["ps"]
    x = ds["recovered"].sel(pathway="EE")
    for time, top, onset in zip(tops["time"].values, tops["x_top"].values,
                                ps["ps_onset"].values):
        assert time <= onset
        # the top is at least x at the onset: it is what the plot shows before the drop
        assert top >= float(x.sel(time=onset, method="nearest")) - 1e-12


def test_rate_vs_input_and_tables(run):
    name, ds, ps, _ = run
    fig, ax = _axes()
    figures.plot_rate_vs_input(ds, ax, threshold_mV=15.0)
    _draw(fig)
    counts = tables.event_counts(ps)
    assert counts["all"] == len(CASES[name]) == counts["full"] + counts["partial"]
    phrase = tables.events_phrase(ps)
    assert phrase.startswith({"none": "no population spike", "one": "1 population spike",
                              "many": "4 population spikes"}[name])


def test_events_phrase_separates_partial_events():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = synthetic.population_spike_dataset([500.0, 1500.0], participation_exc=0.3,
                                                participation_inh=0.3, duration_ms=DURATION_MS)
    ps = analysis.detect_population_spikes(ds)
    assert tables.event_counts(ps) == {"all": 2, "full": 0, "partial": 2, "sharp": 0}
    assert tables.events_phrase(ps) == "no population spike (2 partial events)"


def test_summary_table_formats_counts_as_whole_numbers():
    table = tables.summary_table({"a": {"n_ps": 2, "ps_rate_hz": 0.5, "exc_rate_hz": 7.04,
                                        "inh_rate_hz": 20.0, "x_mean": 0.4512,
                                        "ps_peak_mean": None, "ps_width_ms": None}})
    column = table["a"]
    assert column["population spikes"] == "2"
    assert column["mean recovered fraction x (EE)"] == "0.451"
    assert column["population spike width at half maximum (ms)"].startswith("undefined")
    assert all(" " in label or label.isalpha() for label in table.index)
    assert "n_ps" not in table.index
