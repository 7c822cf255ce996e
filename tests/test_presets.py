"""The classroom preset: population spikes on every seed the book uses, and every
notebook takes a ``preset`` parameter that changes the model it builds."""

from __future__ import annotations

import pytest

import tum2000
from tum2000 import analysis, tables
from tum2000.book.parameters import check_parameters, declared_parameters
from tum2000.book.layout import source_notebooks
from tum2000.errors import ParameterError
from tum2000.model.parameters import PRESETS, notebook_parameters, preset


def test_every_notebook_declares_preset_with_the_published_default():
    for notebook in source_notebooks():
        declared = declared_parameters(notebook)
        assert "preset" in declared, notebook.stem
        kind, default, _ = declared["preset"]
        assert kind is str and default == "default", notebook.stem


def test_a_wrong_preset_names_the_allowed_ones():
    with pytest.raises(ParameterError) as err:
        check_parameters("panel_a_raster", {"preset": "fast"})
    for name in PRESETS:
        assert repr(name) in str(err.value)
    assert check_parameters("panel_a_raster", {"preset": "classroom"}) == {"preset": "classroom"}



@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_classroom_preset_shows_population_spikes_on_the_books_seeds(seed):
    """Seeds 1-4 (the book's pages and its seed statistics) give at least two full
    population spikes, so panel C has a recovery to fit."""
    ds = tum2000.simulate(preset("classroom"), seed=seed)
    ps = analysis.detect_population_spikes(ds)
    counts = tables.event_counts(ps)
    assert counts["full"] >= 2, tables.events_phrase(ps)
    s = analysis.summarize(ds, synchrony=False)
    assert 4.0 < s["exc_rate_hz"] < 12.0
    assert s["x_max"] - s["x_min"] > 0.15  # a sawtooth, not a flat line


def test_notebook_values_at_the_published_default_leave_the_preset_in_force():
    published = preset("default")
    params = notebook_parameters(
        "classroom", duration_ms=published["duration_ms"], dt_ms=published["dt_ms"],
        I_b_spread_mV=published["I_b_spread_mV"], EE_U=0.4)
    assert params == preset("classroom", EE_U=0.4)
