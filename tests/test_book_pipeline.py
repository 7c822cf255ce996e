"""The book's sources and its papermill pipeline (fast: nothing is simulated)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

import tum2000
from tum2000 import book

ROOT = book.find_root(Path(__file__).parent)
NOTEBOOKS = book.source_notebooks(ROOT)
REQUIRED_BIB_KEYS = ("tsodyks2000synchrony", "tsodyks1997neural", "tsodyks1998neural",
                     "stimberg2019brian", "denker2018elephant", "garcia2014neo")


def test_there_are_notebooks():
    names = {nb.stem for nb in NOTEBOOKS}
    assert {"intro", "simulate", "panel_a_raster", "panel_b_activity", "panel_c_recovered",
            "figure1", "reproducibility", "parameters"} <= names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_in_git_has_no_outputs_and_one_parameters_cell(notebook):
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    # First among the code cells, after the hidden install cell for Colab and Binder
    # (tum2000.book.site), which comes before everything.
    code = [c for c in code if "tum2000-install" not in c.metadata.get("tags", [])]
    assert nb.cells.index(tagged[0]) == min(nb.cells.index(c) for c in code)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_are_typed_and_commented(notebook):
    declared = book.declared_parameters(notebook)
    assert declared
    for name, (kind, default, help_) in declared.items():
        assert help_.strip(), f"{name} has no comment"
        if name.endswith("_ms"):
            assert "(ms" in help_ or "ms)" in help_, f"{name}: unit missing from the comment"
        if name.endswith("_mV"):
            assert "mV" in help_, f"{name}: unit missing from the comment"
        if kind is not None:
            assert isinstance(default, kind) or (kind is float and isinstance(default, int))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameter_defaults_are_the_default_preset(notebook):
    """One place per fact: a notebook's default equals the parameters module's."""
    defaults = tum2000.preset("default")
    for name, (_, default, _) in book.declared_parameters(notebook).items():
        if name in tum2000.SPECS:
            assert default == defaults[name], name


def test_every_page_is_in_the_toc_and_every_toc_entry_exists():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    entries = set(book.toc_files(ROOT))
    pages = {(book.EXECUTED / p.relative_to(ROOT / "book").with_suffix("")).as_posix()
             for p in (ROOT / "book").rglob("*")
             if p.suffix in (".md", ".ipynb") and "_executed" not in p.parts
             and ".ipynb_checkpoints" not in p.parts}
    assert pages == entries
    assert toc["root"] == "book/_executed/intro"


def test_config_executes_nothing_and_excludes_non_book_folders():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["only_build_toc_files"] is True
    for folder in (".venv", "_build", "tests", "benchmarks", "src"):
        assert folder in config["exclude_patterns"]
    assert config["sphinx"]["config"]["hide_solutions"] is False
    assert "book/references.bib" in config["bibtex_bibfiles"]


def test_bibliography_has_the_required_references():
    text = (ROOT / "book" / "references.bib").read_text()
    for key in REQUIRED_BIB_KEYS:
        assert re.search(r"@\w+\{" + key + ",", text), key


def test_every_citation_is_in_the_bibliography():
    keys = set(re.findall(r"@\w+\{([^,]+),", (ROOT / "book" / "references.bib").read_text()))
    for page in list((ROOT / "book").rglob("*.md")) + NOTEBOOKS:
        if "_executed" in page.parts:
            continue
        for group in re.findall(r"\{cite:[pt]\}`([^`]+)`", page.read_text()):
            for key in group.split(","):
                assert key.strip() in keys, f"{page.name}: {key}"


# --- parameters: conversion and refusal ----------------------------------------

def test_string_values_are_converted_to_the_declared_type():
    values = book.check_parameters("panel_a_raster",
                                   {"seed": "3", "sort_by_I_b": "true", "duration_ms": "1200"})
    assert values == {"seed": 3, "sort_by_I_b": True, "duration_ms": 1200.0}
    assert isinstance(values["duration_ms"], float)


def test_misspelled_parameter_is_refused_naming_the_declared_ones(tmp_path):
    out = tmp_path / "out.ipynb"
    with pytest.raises(tum2000.ParameterError) as err:
        book.run_notebook("panel_a_raster", {"sead": 3}, out, progress=False)
    message = str(err.value)
    assert "'sead'" in message and "seed" in message and "duration_ms" in message
    assert not out.exists()


@pytest.mark.parametrize("bad", [{"seed": "three"}, {"I_b_spread_mV": "-1"},
                                 {"sort_by_I_b": "maybe"}, {"N_exc": "2.5"}])
def test_bad_values_are_refused(bad):
    with pytest.raises(tum2000.ParameterError):
        book.check_parameters("panel_a_raster", bad)


def test_command_line_refuses_misspelled_parameter_with_status_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tum2000.cli", "run", "panel_a_raster", "--set", "sead=3",
         "--out", str(tmp_path / "out.ipynb"), "--root", str(ROOT)],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "sead" in result.stderr and "declared" in result.stderr
    assert not (tmp_path / "out.ipynb").exists()


def test_unknown_notebook_is_refused(monkeypatch):
    from tum2000.cli import main

    monkeypatch.chdir(ROOT)
    assert main(["run", "panel_z", "--set", "seed=1"]) == 2


def test_parameters_command_lists_types_and_help(capsys, monkeypatch):
    from tum2000.cli import main

    monkeypatch.chdir(ROOT / "book")  # the book is found from a folder inside it
    assert main(["params", "panel_b_activity"]) == 0
    out = capsys.readouterr().out
    assert "seed: int = 1" in out and "ps_threshold: float" in out


def test_plan_applies_global_and_per_notebook_parameters():
    jobs = {nb.stem: values for nb, values in
            book.plan({"I_b_spread_mV": 0.75, "panel_a_raster": {"sort_by_I_b": True}},
                      quick=True, root=ROOT)}
    assert jobs["panel_a_raster"] == {"I_b_spread_mV": 0.75, "sort_by_I_b": True,
                                      "duration_ms": 1200.0, "burn_in_ms": 300.0}
    assert "I_b_spread_mV" not in jobs["reproducibility"]
    assert jobs["reproducibility"]["duration_ms"] == 1200.0
    assert jobs["model/parameters".split("/")[-1]]["duration_ms"] == 1200.0


def test_plan_refuses_a_global_name_no_notebook_declares():
    with pytest.raises(tum2000.ParameterError, match="I_b_sprd_mV"):
        book.plan({"I_b_sprd_mV": 0.75}, root=ROOT)


def test_parameter_file_is_read_and_checked(tmp_path):
    good = tmp_path / "p.yml"
    good.write_text("seed: 2\npanel_b_activity:\n  ps_threshold: 0.1\n")
    assert book.read_parameter_file(good) == {"seed": 2, "panel_b_activity": {"ps_threshold": 0.1}}
    bad = tmp_path / "p.json"
    bad.write_text("[1, 2]")
    with pytest.raises(tum2000.BadInput, match="must be a mapping"):
        book.read_parameter_file(bad)
    from tum2000.cli import main

    assert main(["book", "--root", str(ROOT), "--parameters", str(tmp_path / "missing.yml")]) == 2


def test_execution_key_changes_with_source_and_parameters(tmp_path):
    source = NOTEBOOKS[0]
    key = book.execution_key(source, {"seed": 1}, "code")
    assert key == book.execution_key(source, {"seed": 1}, "code")
    assert key != book.execution_key(source, {"seed": 2}, "code")
    assert key != book.execution_key(source, {"seed": 1}, "other code")
    assert key != book.execution_key(NOTEBOOKS[1], {"seed": 1}, "code")


def test_pages_quote_parameters_through_substitutions(tmp_path):
    """Model pages write parameter values as {{ name }}; every name is a parameter
    and the generated configuration carries its default value."""
    import re

    import yaml

    from tum2000 import SPECS, preset
    from tum2000.book import write_config

    import nbformat

    texts = [p.read_text() for p in (ROOT / "book").rglob("*.md") if "_executed" not in p.parts]
    texts += ["".join(c.source) for p in (ROOT / "book").rglob("*.ipynb")
              if "_executed" not in p.parts
              for c in nbformat.read(p, as_version=4).cells if c.cell_type == "markdown"]
    used = set()
    for text in texts:
        used |= set(re.findall(r"\{\{\s*(\w+)\s*\}\}", text))
    assert used and used <= set(SPECS)
    config = yaml.safe_load(write_config(ROOT, tmp_path / "c.yml").read_text())
    subs = config["parse"]["myst_substitutions"]
    assert subs["v_thresh_mV"] == f"{preset('default')['v_thresh_mV']:g}"
    assert all(name in subs for name in used)
    assert {"dt_ms", "burn_in_ms", "record_dt_ms"} <= used  # notebooks use them too


def test_student_edition_hides_solutions(tmp_path):
    import yaml

    from tum2000.book import write_config

    teacher = yaml.safe_load(write_config(ROOT, tmp_path / "t.yml").read_text())
    student = yaml.safe_load(write_config(ROOT, tmp_path / "s.yml", student=True).read_text())
    assert teacher["sphinx"]["config"]["tum2000_student_edition"] is False
    assert student["sphinx"]["config"]["tum2000_student_edition"] is True


def test_every_notebook_parameter_has_a_rule():
    """A model parameter's name is checked by its Spec; every other name needs a
    rule in tum2000.book.NOTEBOOK_RULES, so that bad values stop before a kernel starts."""
    for notebook in NOTEBOOKS:
        for name in book.declared_parameters(notebook):
            assert name in tum2000.SPECS or name in book.NOTEBOOK_RULES, (
                f"{notebook.stem}: parameter {name} has no rule in tum2000.book.NOTEBOOK_RULES")


def test_every_notebooks_defaults_pass_their_own_checks():
    for notebook in NOTEBOOKS:
        declared = book.declared_parameters(notebook)
        book.check_parameters(notebook, {n: d for n, (_, d, _) in declared.items()}, ROOT)
