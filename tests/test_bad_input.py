"""Bad input, table-driven: exit status 2, one line naming what is wrong and what
is allowed, nothing written, previous good outputs untouched.

Every case runs the real command line (``python -m tum2000.cli``) in a folder
holding good and bad files; afterwards that folder, the dataset cache and the
book's sources must be exactly as before. ``python tests/test_bad_input.py``
prints the table with the outcomes.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tum2000 import book

ROOT = book.find_root(Path(__file__).parent)

# (command line, fragment of the one-line message); {root} is the book's folder.
CASES: list[tuple[str, str]] = [
    # simulate: parameters
    ("simulate --set I_b_sprad_mV=1 --out run.nc", "unknown parameter 'I_b_sprad_mV'; did you mean I_b_spread_mV"),
    ("simulate --set p_connect=2 --out run.nc", "p_connect must be a number in (0, 1]"),
    ("simulate --set dt_ms=nan --out run.nc", "dt_ms must be a number in [0.001, 1]"),
    ("simulate --set N_exc=2.5 --out run.nc", "N_exc must be an integer in [1, 1000000]"),
    ("simulate --set allow_autapses=maybe --out run.nc", "allow_autapses must be true or false"),
    ("simulate --set v_reset_mV=16 --out run.nc", "v_reset_mV must be below v_thresh_mV"),
    ("simulate --set duration_ms=1000.05 --out run.nc", "duration_ms must be a whole multiple of dt_ms"),
    ("simulate --set EE_U=0.95 --out run.nc", "EE_U must lie between EE_U_min and EE_U_max"),
    ("simulate --set integration=rk4 --out run.nc", "integration must be one of 'exact', 'reference_script'"),
    ("simulate --set dt_ms --out run.nc", "expected NAME=VALUE"),
    ("simulate --preset fast --out run.nc", "invalid choice: 'fast'"),
    ("simulate --seed -4 --out run.nc", "seed must be an integer >= 0"),
    ("simulate --target gpu --out run.nc", "invalid choice: 'gpu'"),
    ("simulate --set N_exc=1000000 --out run.nc", "of memory; this machine has"),
    # simulate: outputs, checked before any work; previous outputs untouched
    ("simulate --out afile/run.nc", "afile is a file, not a folder"),
    ("simulate --out /proc/run.nc", "cannot write in /proc"),
    ("simulate --out run.txt", "unknown dataset format '.txt' (allowed: .nc)"),
    ("simulate --out adir", "--out adir is a folder, expected a file name"),
    ("simulate --out good.nc --figure fig.jpgx", "unknown image format '.jpgx'"),
    ("simulate --out run.nc --figure adir/", "--figure adir is a folder, expected a file name"),
    ("simulate", "the following arguments are required: --out"),
    # summary and figure: datasets
    ("summary missing.nc", "missing.nc: no such file"),
    ("summary adir", "adir is a folder, expected a dataset file"),
    ("summary corrupt.nc", "corrupt.nc is not a readable netCDF file"),
    ("summary truncated.nc", "truncated.nc is not a readable netCDF file"),
    ("summary foreign.nc", "foreign.nc is not a tum2000 dataset"),
    ("summary incomplete.nc", "incomplete.nc is incomplete: the simulation reached 500 ms"),
    ("summary old.nc", "older format ('tum2000-dataset/2'"),
    ("figure good.nc --out fig.xyz", "unknown image format '.xyz'"),
    ("figure foreign.nc --out prev.png", "foreign.nc is not a tum2000 dataset"),
    ("figure good.nc --out afile/fig.png", "afile is a file, not a folder"),
    # run: notebook parameters, checked before a kernel starts
    ("run panel_a_raster --root {root} --set sead=3 --out prev.ipynb", "does not declare parameter 'sead'; did you mean seed?"),
    ("run panel_a_raster --root {root} --set seed=three --out prev.ipynb", "seed must be an integer"),
    ("run panel_a_raster --root {root} --set sort_by_I_b=maybe --out prev.ipynb", "sort_by_I_b must be true or false"),
    ("run panel_a_raster --root {root} --set I_b_spread_mV=-1 --out prev.ipynb", "I_b_spread_mV must be a number in [0, 100]"),
    ("run panel_a_raster --root {root} --set N_exc=1000000 --out prev.ipynb", "of memory"),
    ("run reproducibility --root {root} --set dt_values_ms=0.5 --out prev.ipynb", "dt_values_ms must be a list such as [a, b]"),
    ("run reproducibility --root {root} --set dt_values_ms=[0.5,-1] --out prev.ipynb", "each item of dt_values_ms must be a number in [0.001, 1]"),
    ("run reproducibility --root {root} --set short_duration_ms=1500.5 --out prev.ipynb", "its short runs (short_duration_ms, short_burn_in_ms) with the reference script's numerics: duration_ms must be a whole multiple of dt_ms (1 ms)"),
    ("run reproducibility --root {root} --set n_convergence_seeds=1 --out prev.ipynb", "n_convergence_seeds must be an integer in [2, 1000]"),
    ("run reproducibility --root {root} --set other_target=gpu --out prev.ipynb", "other_target must be one of"),
    ("run parameters --root {root} --set spreads_mV=[] --out prev.ipynb", "got an empty list"),
    ("run parameters --root {root} --set preset=fast --out prev.ipynb", "preset must be one of 'default'"),
    ("run figure1 --root {root} --set figure_path=fig.xyz --out prev.ipynb", "figure_path must be a file name ending in .avif"),
    ("run panel_z --root {root}", "no notebook 'panel_z' (book notebooks: intro"),
    ("run panel_a_raster --root {root} --out out.txt", "unknown notebook format '.txt'"),
    ("run panel_a_raster --root .", "--root .: not a tum2000 book"),
    ("run panel_a_raster", "no tum2000 book in"),
    # book: parameter files and global values
    ("book --root {root} --parameters missing.yml", "parameter file missing.yml: no such file"),
    ("book --root {root} --parameters invalid.yml", "parameter file invalid.yml is not valid YAML"),
    ("book --root {root} --parameters list.yml", "must be a mapping of name: value"),
    ("book --root {root} --parameters params.txt", "unknown format '.txt' (allowed: .yml, .yaml, .json)"),
    ("book --root {root} --parameters unknown.yml", "no notebook declares parameter 'I_b_sprd_mV'"),
    ("book --root {root} --parameters section.yml", "no notebook named 'panel_z'"),
    ("book --root {root} --parameters range.json", "notebook panel_b_activity: ps_threshold must be a number in (0, 1]"),
    ("book --root {root} --parameters scalar.yml", "spreads_mV must be a list"),
    ("book --root {root} --set sead=1", "no notebook declares parameter 'sead'"),
    ("book --root {root} --output-dir afile", "--output-dir afile is a file, expected a folder"),
    # cache
    ("cache --list --clear", "not allowed with argument"),
]

FILES = {
    "invalid.yml": "seed: [1, 2\n",
    "list.yml": "- seed: 1\n",
    "params.txt": "seed: 1\n",
    "unknown.yml": "I_b_sprd_mV: 0.75\n",
    "section.yml": "panel_z:\n  seed: 1\n",
    "range.json": '{"panel_b_activity": {"ps_threshold": 2}}',
    "scalar.yml": "parameters:\n  spreads_mV: 0.5\n",
    "afile": "a regular file\n",
    "prev.png": "a good figure from an earlier run",
    "prev.ipynb": '{"a good": "executed notebook from an earlier run"}',
    "corrupt.nc": "garbage",
}


def _datasets(folder: Path) -> None:
    import xarray as xr

    from tum2000.store import dataset

    import synthetic

    good = synthetic.poisson_dataset(duration_ms=500.0, seed=1)
    dataset.save(good, folder / "good.nc")
    data = (folder / "good.nc").read_bytes()
    (folder / "truncated.nc").write_bytes(data[: len(data) // 2])
    xr.Dataset({"a": ("x", [1.0])}).to_netcdf(folder / "foreign.nc")
    incomplete = good.copy()
    incomplete.attrs["simulated_ms"] = 500.0
    incomplete.attrs["parameters"] = dataset.parameters_of(good).replace(
        duration_ms=1000.0).to_json()
    incomplete.attrs["duration_ms"] = 1000.0
    dataset.write_netcdf(incomplete, folder / "incomplete.nc")
    old = good.copy()
    old.attrs["format"] = "tum2000-dataset/2"
    dataset.write_netcdf(old, folder / "old.nc")


def _snapshot(*folders: Path) -> dict[str, str]:
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if "__pycache__" in path.parts or ".ipynb_checkpoints" in path.parts:
                continue
            found[str(path)] = (hashlib.sha256(path.read_bytes()).hexdigest()
                                if path.is_file() else "folder")
    return found


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    work = tmp_path_factory.mktemp("bad_input")
    for name, text in FILES.items():
        (work / name).write_text(text)
    (work / "adir").mkdir()
    _datasets(work)
    cache = tmp_path_factory.mktemp("bad_input_cache")
    (cache / "sim-000000000000000000000000.nc").write_bytes(b"an earlier entry")
    return work, cache


def run_case(command: str, work: Path, cache: Path) -> subprocess.CompletedProcess:
    import os
    import shlex

    args = shlex.split(command.format(root=ROOT))
    return subprocess.run([sys.executable, "-m", "tum2000.cli", *args], cwd=work,
                          capture_output=True, text=True,
                          env={**os.environ, "TUM2000_CACHE": str(cache)}, timeout=300)


@pytest.mark.parametrize("command,fragment", CASES, ids=[c for c, _ in CASES])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(command, fragment, workspace):
    work, cache = workspace
    before = _snapshot(work, cache, ROOT / "book")
    result = run_case(command, work, cache)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr and not result.stdout
    assert _snapshot(work, cache, ROOT / "book") == before


def test_there_are_at_least_25_cases_across_the_commands():
    commands = {c.split()[0] for c, _ in CASES}
    assert len(CASES) >= 25
    assert {"simulate", "summary", "figure", "run", "book"} <= commands


if __name__ == "__main__":  # print the table with the outcomes (for the record)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        work, cache = Path(tmp) / "work", Path(tmp) / "cache"
        work.mkdir(), cache.mkdir()
        for name, text in FILES.items():
            (work / name).write_text(text)
        (work / "adir").mkdir()
        _datasets(work)
        print("| input | exit | message |\n|---|---|---|")
        for command, _ in CASES:
            result = run_case(command, work, cache)
            message = result.stderr.strip().replace(str(ROOT), "ROOT").replace("|", "\\|")
            print(f"| `tum2000 {command.format(root='ROOT')}` | {result.returncode} | {message} |")
