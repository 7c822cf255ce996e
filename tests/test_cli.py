"""The tum2000 command line: simulate, summary, figure, params, run."""

import json
import subprocess
import sys

import pytest

import tum2000

SHORT = ["--set", "burn_in_ms=200", "--set", "duration_ms=600"]


def cli(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "tum2000.cli", *args],
                            capture_output=True, text=True)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run.nc"
    fig = out.with_name("fig1.png")
    result = cli("simulate", *SHORT, "--seed", "2", "--out", str(out), "--figure", str(fig))
    assert "simulated" in result.stderr  # progress is shown
    return out, fig


def test_simulate_writes_dataset_and_figure(simulated):
    out, fig = simulated
    ds = tum2000.load(out)
    assert ds.attrs["seed"] == 2 and ds.attrs["duration_ms"] == 600.0
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_prints_one_json_object(simulated):
    out, _ = simulated
    result = cli("summary", str(out))
    summary = json.loads(result.stdout)
    assert summary["exc_rate_hz"] > 0 and summary["inh_rate_hz"] > 0
    ds = tum2000.load(out)
    exc = (ds["population"].values[ds["spike_neuron"].values] == "exc").sum()
    assert summary["exc_rate_hz"] == pytest.approx(exc / 400 / 0.6)


def test_figure_command(simulated, tmp_path):
    out, _ = simulated
    cli("figure", str(out), "--out", str(tmp_path / "f.png"))
    assert (tmp_path / "f.png").stat().st_size > 10_000


# Bad input of every command: tests/test_bad_input.py (a table of 60 cases).


def test_help_shows_the_cache_location():
    result = cli("simulate", "--help")
    assert str(tum2000.cache_dir()) in result.stdout.replace("\n", " ")


def test_params_list_and_json():
    listing = cli("params", "--list").stdout
    assert "I_b_spread_mV" in listing and "reference script" in listing
    resolved = json.loads(cli("params", "--preset", "reference_script").stdout)
    assert resolved["dt_ms"] == 1.0


def test_run_refuses_a_parameter_the_notebook_does_not_declare(tmp_path):
    out = tmp_path / "executed.ipynb"
    notebook = tum2000.book.find_root() / "book" / "simulate.ipynb"
    result = cli("run", str(notebook), "--set", "I_b_sprad_mV=0.5", "--out", str(out),
                 check=False)
    assert result.returncode == 2
    assert "does not declare parameter 'I_b_sprad_mV'" in result.stderr
    assert "did you mean I_b_spread_mV" in result.stderr
    assert not out.exists()


def test_target_choices_are_the_engines():
    from tum2000.model.targets import TARGETS

    parser = __import__("tum2000.cli", fromlist=["make_parser"]).make_parser()
    for command in ("simulate", "sweep"):
        sub = parser._subparsers._group_actions[0].choices[command]
        target = next(action for action in sub._actions if action.dest == "target")
        assert tuple(target.choices) == TARGETS, command


def test_book_render_only_renders_without_executing(tmp_path):
    """``tum2000 book --render-only`` (the weekly link check's option): the
    committed notebooks rendered as they are, nothing executed, in seconds."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    book = tmp_path / "book_root"
    book.mkdir()
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(root / name, book / name)
    shutil.copytree(root / "book", book / "book",
                    ignore=shutil.ignore_patterns("_executed", "data", ".*"))
    result = cli("book", "--render-only", "--root", str(book))
    out = Path(result.stdout.strip().splitlines()[-1])
    assert out == book / "_build" / "unexecuted" / "html" and (out / "index.html").is_file()
    assert not (book / "book" / "_executed").exists()  # nothing was executed
    assert not list((book / "_build").glob("html*"))  # the published book is untouched


def test_book_render_only_takes_no_build_option():
    result = cli("book", "--render-only", "--quick", "--strict", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --render-only executes nothing, so it takes no --quick, --strict "
        "(allowed with it: --root)"]
