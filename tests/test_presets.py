"""The classroom preset: population spikes on every seed the book uses, and every
notebook takes a ``preset`` parameter that changes the model it builds."""

from __future__ import annotations

import pytest

import tum2000
from tum2000 import analysis
from tum2000.chapters import tables
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


def _glued_text(notebook) -> dict[str, str]:
    import json

    out = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        for output in cell.get("outputs", []):
            name = (output.get("metadata") or {}).get("scrapbook", {}).get("name")
            text = output.get("data", {}).get("application/papermill.record/text/plain")
            if name and text:
                out[name] = text
    return out


def _stderr_warnings(notebook) -> list[str]:
    import json

    found = []
    for cell in json.loads(notebook.read_text())["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", "")) if output.get("name") == "stderr" else ""
            if "Warning" in text or output.get("output_type") == "error":
                found.append(text or output.get("evalue", ""))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("notebook", ["intro", "figure1", "panel_a_raster", "panel_b_activity",
                                      "panel_c_recovered"])
def test_pages_without_population_spike_say_so(notebook, tmp_path, monkeypatch):
    """Weak EE synapses (U = 0.1) on the classroom preset: no population spike.
    The page runs without warnings (hidden stderr included) and its prose says there
    is none instead of describing population spikes."""
    from tum2000.book.execute import run_notebook

    monkeypatch.setenv("TUM2000_CACHE", str(tmp_path / "cache"))
    executed = run_notebook(notebook, {"preset": "classroom", "EE_U": 0.1},
                            output=tmp_path / f"{notebook}.ipynb", progress=False)
    assert _stderr_warnings(executed) == []
    glued = " ".join(_glued_text(executed).values())
    assert "no population spike" in glued or "cannot show it" in glued
    assert "As in the paper" not in glued and "and does in this run" not in glued
