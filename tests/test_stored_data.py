"""Data stored with the book: checked by what is reproducible, on any processor.

A tiny stored sweep is made in each test session (two spreads x two seeds,
0.8 s of network each) inside a throw-away book, then checked, tampered with,
regenerated and looked for, as ``tum2000 data`` and a build do.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import tum2000
from tum2000.sweeps import stored as sweep_data
from tum2000.errors import BadInput
from tum2000.store import stored
from tum2000.sweeps.run import run_sweep
from tum2000.sweeps.grid import make_grid

SHORT = dict(burn_in_ms=200.0, duration_ms=600.0)
GRID = {"I_b_spread_mV": [0.5, 1.0]}
SEEDS = [1, 2]
ROOT = Path(__file__).resolve().parents[1]


def make_book(folder: Path) -> Path:
    """An empty book (what a book root needs) with a stored-data folder."""
    (folder / "book" / "data").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        (folder / name).write_text("{}\n")
    return folder


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A stored sweep made the way `tum2000 data regenerate` makes one."""
    book = make_book(tmp_path_factory.mktemp("book"))
    base = tum2000.preset("default", **SHORT)
    ds = run_sweep(base, GRID, SEEDS, n_workers=2)
    path = book / "book" / "data" / "spread.nc"
    plan = sweep_data.Plan(path, base, make_grid(GRID), SEEDS, "auto", math.nan)
    sweep_data.write_stored(ds, path, sweep_data.fingerprints_of(plan))
    return book, path


@pytest.fixture
def book(made, tmp_path):
    """A fresh copy of the made book for a test to change."""
    source, _ = made
    copy = tmp_path / "book_root"
    shutil.copytree(source, copy)
    return copy, copy / "book" / "data" / "spread.nc"


def rewrite(path: Path, change) -> None:
    """Change a stored file's values as a code change would (the hash is made anew)."""
    ds = sweep_data.load_sweep_file(path)
    change(ds)
    sweep_data.write_stored(ds, path, stored.read_fingerprints(ds.attrs))


def tum(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "tum2000.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=900)


# --- the file format ----------------------------------------------------------------------

def test_a_made_file_carries_its_hash_and_a_fingerprint_of_every_cheap_run(made):
    _, path = made
    ds = sweep_data.load_sweep_file(path)
    assert ds.attrs[stored.CONTENT_HASH_ATTR] == stored.content_hash(path)
    records = stored.read_fingerprints(ds.attrs)
    assert sorted((tuple(r["index"]), r["seed"]) for r in records) == \
        [((0,), 1), ((0,), 2), ((1,), 1), ((1,), 2)]
    run = tum2000.cached_simulate(tum2000.preset("default", **SHORT, I_b_spread_mV=1.0), 2)
    assert records[-1] == {"index": [1], "seed": 2, **stored.fingerprint(run)}
    assert records[-1]["n_spikes"] == run.sizes["spike"] + run.sizes["burn_in_spike"]


def test_any_changed_value_breaks_the_content_hash(book):
    _, path = book
    assert stored.content_problem(path) is None
    ds = xr.load_dataset(path)  # an edit that keeps the old hash attribute
    ds["exc_rate_hz"][0, 0] += 1e-12
    ds.to_netcdf(path.with_suffix(".tmp"), format="NETCDF3_64BIT")
    path.with_suffix(".tmp").replace(path)
    assert "do not match its content hash" in stored.content_problem(path)
    check = sweep_data.check_file(path)
    assert not check.verified and check.points == []
    assert check.line().startswith("spread.nc: FAILED: its values do not match")


def test_a_file_without_a_hash_is_refused(book):
    _, path = book
    ds = xr.load_dataset(path)
    del ds.attrs[stored.CONTENT_HASH_ATTR]
    ds.to_netcdf(path.with_suffix(".tmp"), format="NETCDF3_64BIT")
    path.with_suffix(".tmp").replace(path)
    assert "no content hash" in sweep_data.check_file(path).reason()


# --- tolerances -------------------------------------------------------------------------------

def test_tolerances_sit_between_what_was_measured_and_what_must_be_caught():
    for kind, measured in stored.MEASURED_DEVIATIONS.items():
        name = {"other": "x_mean", "count": "n_ps"}.get(kind, kind)
        allowed = stored.tolerance_for(name)
        assert allowed < stored.CATCH_RELATIVE
        assert allowed >= 3 * max(measured.values()) or allowed == max(measured.values()) == 0
    assert stored.tolerance_for("full_ps_count") == 0 and stored.is_count("n_spikes_exc")
    assert stored.relative_deviation(math.nan, math.nan) == 0
    assert stored.relative_deviation(math.nan, 1.0) == math.inf


def test_the_made_file_verifies_here(book):
    _, path = book
    check = sweep_data.check_file(path, points=None)
    assert check.verified_as(strict=True), check.line()
    assert len(check.points) == 4 and all(not p.fingerprint_differs for p in check.points)
    assert check.line().startswith("spread.nc: OK")


def test_an_integer_statistic_off_by_one_is_caught_and_named(book):
    _, path = book

    def plus_one(ds):
        ds["n_spikes_exc"] += 1
    rewrite(path, plus_one)
    check = sweep_data.check_file(path)
    assert not check.verified
    assert "n_spikes_exc" in check.reason() and "spikes differ" not in check.reason()
    assert check.line().startswith("spread.nc: FAILED")
    assert "tum2000 data regenerate spread" in check.line()


def test_a_mean_off_by_a_relative_1e4_is_caught_and_named(book):
    _, path = book

    def scale(ds):
        ds["x_mean"] *= 1 + 1e-4
    rewrite(path, scale)
    check = sweep_data.check_file(path)
    assert not check.verified and "x_mean" in check.reason()


def test_a_changed_fingerprint_is_named_and_fails_a_strict_check(book):
    _, path = book
    ds = sweep_data.load_sweep_file(path)
    records = stored.read_fingerprints(ds.attrs)
    for record in records:
        record["spikes_sha256"] = "0" * 64
    sweep_data.write_stored(ds, path, records)
    check = sweep_data.check_file(path)
    # every statistic agrees: a reader's build goes on, with a note; CI's does not
    assert check.verified and not check.verified_as(strict=True)
    assert check.notes and "spikes differ from the stored fingerprint" in check.notes[0]
    assert "spikes differ" in check.line(strict=True)
    with pytest.raises(tum2000.errors.StoredDataError, match="spread.nc: FAILED"):
        sweep_data.require_verified([check], strict=True)


def test_a_file_made_here_verifies_on_an_emulated_processor(book):
    from emulation import foreign_processor_environment

    root, _ = book
    done = tum("data", "check", "--strict", "--all", "--quiet", "--root", root, cwd=root,
               env=foreign_processor_environment())
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("spread.nc: OK") and "4 of 4" in done.stdout


# --- which points --------------------------------------------------------------------------

def test_the_points_checked_are_decided_by_the_file_content():
    candidates = list(range(50))
    one = stored.chosen_points("ab" * 32, candidates, 3)
    assert one == stored.chosen_points("ab" * 32, candidates, 3)  # every build, every machine
    assert len(set(one)) == 3 and one == sorted(one)
    hashes = [hashlib.sha256(str(k).encode()).hexdigest() for k in range(20)]
    others = {tuple(stored.chosen_points(h, candidates, 3)) for h in hashes}
    assert len(others) > 10  # another file (another hash) picks other points
    assert stored.chosen_points("ab" * 32, candidates[:2], 3) == [0, 1]


def test_two_checks_recompute_the_same_points(book):
    _, path = book
    first, second = sweep_data.check_file(path, points=2), sweep_data.check_file(path, points=2)
    assert [p.label for p in first.points] == [p.label for p in second.points]
    assert len(first.points) == 2


def test_a_check_simulates_afresh_and_caches_nothing(book):
    _, path = book
    cached = set(tum2000.cache_dir().glob("*"))
    assert sweep_data.check_file(path, points=1).verified
    assert set(tum2000.cache_dir().glob("*")) == cached


# --- where stored data is found ---------------------------------------------------------------

def test_stored_data_is_found_from_the_book_never_from_the_package(book, tmp_path, monkeypatch):
    root, path = book
    monkeypatch.delenv("TUM2000_BOOK", raising=False)
    monkeypatch.chdir(root / "book")
    assert stored.data_dir() == root.resolve() / "book" / "data"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput, match="no tum2000 book"):
        stored.data_dir()
    monkeypatch.setenv("TUM2000_BOOK", str(root))  # what `tum2000 run` tells its kernels
    assert stored.data_dir() == root / "book" / "data"
    base = tum2000.preset("default", **SHORT)
    ds, check = sweep_data.stored_sweep("spread", base, GRID, SEEDS, points=1)
    assert ds.attrs["source"] == "stored book/data/spread.nc" and check.verified


def test_another_sweep_than_the_stored_one_is_computed(book, monkeypatch):
    root, _ = book
    base = tum2000.preset("default", **SHORT)
    ds, check = sweep_data.stored_sweep("spread", base, GRID, [1], root=root, n_workers=1)
    assert check is None and ds.sizes["seed"] == 1
    assert ds.attrs["runs_cached"] == 2  # from the cache the made sweep filled


# --- tum2000 data -----------------------------------------------------------------------------

def test_data_check_names_every_failing_file_at_once(book, tmp_path):
    root, path = book
    shutil.copy(path, path.with_name("second.nc"))
    ok = tum("data", "check", "--quiet", cwd=root)
    assert ok.returncode == 0, ok.stderr
    assert [line.split(":")[0] for line in ok.stdout.splitlines()] == ["second.nc", "spread.nc"]
    assert "all verified" in ok.stderr and " s:" in ok.stderr  # how long the check took
    rewrite(path, lambda ds: ds["x_mean"].__imul__(1.001))
    rewrite(path.with_name("second.nc"), lambda ds: ds["n_ps"].__iadd__(1))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    failed = tum("data", "check", "--quiet", "--root", root, cwd=elsewhere)
    assert failed.returncode == 1
    lines = failed.stdout.splitlines()
    assert lines[0].startswith("second.nc: FAILED") and "n_ps" in lines[0]
    assert lines[1].startswith("spread.nc: FAILED") and "x_mean" in lines[1]
    assert "2 did not verify" in failed.stderr


def test_data_commands_refuse_bad_input_before_any_work(book, tmp_path):
    root, _ = book
    unknown = tum("data", "check", "nothing", cwd=root)
    assert unknown.returncode == 2 and "no stored result 'nothing'" in unknown.stderr
    assert "spread" in unknown.stderr
    nowhere = tum("data", "regenerate", cwd=tmp_path)
    assert nowhere.returncode == 2 and "no tum2000 book" in nowhere.stderr
    workers = tum("data", "regenerate", "--workers", "0", cwd=root)
    assert workers.returncode == 2 and "integer >= 1" in workers.stderr


def test_regenerate_replaces_the_file_atomically_in_the_book_it_is_given(book, tmp_path):
    root, path = book
    before = sweep_data.load_sweep_file(path)
    rewrite(path, lambda ds: ds["x_mean"].__imul__(1.001))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = tum("data", "regenerate", "spread", "--quiet", "--workers", "1", "--root", root,
               cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(path)
    assert [p.name for p in path.parent.iterdir()] == ["spread.nc"]  # no temporary left
    after = sweep_data.load_sweep_file(path)
    for name in sweep_data.statistic_names(before):
        np.testing.assert_array_equal(after[name].values, before[name].values, err_msg=name)
    assert stored.read_fingerprints(after.attrs) == stored.read_fingerprints(before.attrs)
    assert sweep_data.check_file(path).verified
    assert not (elsewhere / "book").exists()


def test_regenerate_refuses_a_file_that_does_not_fit_in_memory(book):
    root, path = book

    def huge(ds):
        base = tum2000.Parameters.from_json(ds.attrs["base_parameters"])
        ds.attrs["base_parameters"] = base.replace(N_exc=800_000, N_inh=200_000).to_json()
    rewrite(path, huge)
    stamp = path.stat().st_mtime_ns
    done = tum("data", "regenerate", cwd=root)
    assert done.returncode == 2
    assert done.stderr.startswith("error: spread.nc: regenerating it runs networks of "
                                  "N_exc=800000") and "this machine has" in done.stderr
    assert path.stat().st_mtime_ns == stamp


# --- a build with stored data that does not verify ---------------------------------------------

READER = """\
from IPython.display import Markdown, display
import tum2000
from tum2000.chapters.exploration import stored_data_box
from tum2000.sweeps.stored import stored_sweep

base = tum2000.preset("default", burn_in_ms=200.0, duration_ms=600.0)
ds, check = stored_sweep("spread", base, {"I_b_spread_mV": [0.5, 1.0]}, [1, 2], points=1)
if not check.verified:
    display(Markdown(stored_data_box(check)))
print("source:", ds.attrs["source"])
"""


@pytest.fixture(scope="module")
def stale_book(made, tmp_path_factory):
    """A tiny book whose one page reads a stored sweep the code no longer gives."""
    import nbformat
    from test_book_editions import _tiny_book

    root = _tiny_book(tmp_path_factory.mktemp("stale"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Stored"), nbformat.v4.new_code_cell(READER)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, root / "book" / "stored.ipynb")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/_executed/tiny\n"
                                   "chapters:\n  - file: book/_executed/stored\n")
    (root / "book" / "data").mkdir()
    shutil.copy(made[1], root / "book" / "data" / "spread.nc")
    rewrite(root / "book" / "data" / "spread.nc", lambda ds: ds["x_mean"].__imul__(1.01))
    return root


@pytest.mark.book
def test_a_strict_build_refuses_stale_stored_data_before_executing_anything(stale_book):
    from tum2000 import book
    from tum2000.errors import StoredDataError

    with pytest.raises(StoredDataError, match=r"spread\.nc: FAILED: .*x_mean.*"
                       r"tum2000 data regenerate spread"):
        book.build(root=stale_book, progress=False, strict=True)
    assert not (stale_book / "book" / "_executed" / "stored.ipynb").exists()


@pytest.mark.book
def test_a_readers_build_shows_the_stale_data_in_a_box_and_ends_with_a_warning(stale_book,
                                                                                capfd):
    from tum2000 import book

    html = book.build(root=stale_book, progress=False)
    err = capfd.readouterr().err.strip().splitlines()
    assert err[-1].startswith("warning: stored data did not verify: spread.nc: FAILED")
    page = (html / "book" / "_executed" / "stored.html").read_text()
    assert "admonition warning" in page
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
    assert "did not verify against this code: at I_b_spread_mV=" in text
    assert "x_mean" in text and "tum2000 data regenerate spread" in text
    assert "source: stored book/data/spread.nc" in text


@pytest.mark.slow
def test_the_books_stored_data_verifies_strictly_on_an_emulated_processor(tmp_path):
    from emulation import foreign_processor_environment

    done = tum("data", "check", "--strict", "--quiet", "--root", ROOT, cwd=tmp_path,
               env=foreign_processor_environment())
    assert done.returncode == 0, done.stdout + done.stderr
    names = sorted(p.name for p in (ROOT / "book" / "data").glob("*.nc"))
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == names


def test_a_file_may_raise_its_fingerprint_cap_and_keeps_it_when_regenerated(tmp_path):
    """make_stored writes the cap into the file; plan_of reads it back, so a
    regeneration fingerprints the same runs. The book's long-run files carry
    theirs (held_out: every 60 s run; size_fixed_k: the N = 500 runs)."""
    from tum2000.sweeps import held_out, scenarios

    book = make_book(tmp_path)
    base = tum2000.preset("default", **SHORT)
    grid = make_grid(GRID)
    # a cap below these runs' cost (0.16 default runs): no fingerprint at all
    path = sweep_data.make_stored("capped", base, grid, [1], root=book,
                                  fingerprint_max_cost=0.1, workers=1, progress=False)
    plan = sweep_data.plan_of(path)
    assert plan.fingerprint_max_cost == 0.1
    assert stored.read_fingerprints(sweep_data.load_sweep_file(path).attrs) == []
    data = stored.data_dir(ROOT)
    assert sweep_data.plan_of(data / "held_out.nc").fingerprint_max_cost == \
        held_out.FINGERPRINT_MAX_COST
    assert sweep_data.plan_of(data / "size_fixed_k.nc").fingerprint_max_cost == \
        scenarios.SIZE_FINGERPRINT_MAX_COST
    assert sweep_data.plan_of(data / "spread.nc").fingerprint_max_cost == \
        stored.FINGERPRINT_MAX_COST
    assert len(stored.read_fingerprints(sweep_data.load_sweep_file(
        data / "held_out.nc").attrs)) == 50
