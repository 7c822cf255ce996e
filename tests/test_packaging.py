"""The package as a user installs it: metadata, license, citation, and a plain
(non-editable) ``pip install`` into a fresh virtual environment.

The installs need the package index (or pip's cache) and take minutes: slow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import venv
from importlib import metadata
from pathlib import Path

import pytest
import yaml

import tum2000
from tum2000 import book

ROOT = book.find_root(Path(__file__).parent)
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_one_version_everywhere():
    assert tum2000.__version__ == metadata.version("tum2000") == PYPROJECT["version"]
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert str(citation["version"]) == PYPROJECT["version"]
    result = subprocess.run([sys.executable, "-m", "tum2000.cli", "--version"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"tum2000 {tum2000.__version__}"


def test_license_is_an_spdx_string_with_its_file():
    assert PYPROJECT["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert yaml.safe_load((ROOT / "CITATION.cff").read_text())["license"] == "MIT"


def test_requires_python_matches_the_pins():
    assert PYPROJECT["requires-python"] == ">=3.11"
    assert "Python 3.11" in (ROOT / "requirements.txt").read_text().splitlines()[0]
    assert "Python ≥ 3.11" in (ROOT / "README.md").read_text()


def test_every_imported_distribution_is_a_declared_dependency():
    """What src/tum2000 imports at top level is declared (core or an extra)."""
    import ast

    declared = " ".join(PYPROJECT["dependencies"]
                        + sum(PYPROJECT["optional-dependencies"].values(), [])).lower()
    modules = {"brian2": "brian2", "numpy": "numpy", "scipy": "scipy",
               "matplotlib": "matplotlib", "xarray": "xarray", "netCDF4": "netcdf4",
               "pandas": "pandas", "neo": "neo", "elephant": "elephant",
               "quantities": "quantities", "yaml": "pyyaml", "dask": "dask[distributed]",
               "distributed": "dask[distributed]", "papermill": "papermill",
               "nbformat": "nbformat", "jupyter_client": "jupyter_client",
               "traitlets": "jupyter_client", "myst_nb": "myst-nb",
               "sphinx": "jupyter-book", "sphinx_exercise": "sphinx-exercise",
               "pyparsing": "brian2", "jupyter_book": "jupyter-book", "platformdirs": "platformdirs",
               "IPython": "ipykernel",  # exercises.py, inside the kernel (ipykernel brings it)
               "tqdm": "tqdm", "dask_jobqueue": "dask-jobqueue",  # sweeps: progress bar, [slurm]
               "pynwb": "pynwb"}  # store/export.py, [export]
    imported = set()
    for path in (ROOT / "src" / "tum2000").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in sys.stdlib_module_names and m != "tum2000"}
    unknown = third_party - set(modules)
    assert not unknown, f"imports not mapped to a declared distribution: {unknown}"
    for module in third_party:
        assert modules[module].lower() in declared, f"{module}: {modules[module]} not declared"


def _venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    python = path / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    return python


def _sources(target: Path) -> Path:
    """The checkout's tracked files, copied (a build writes build/ and *.egg-info/
    beside the sources, which must not happen in the checkout)."""
    import shutil

    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    for name in files:
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


@pytest.mark.slow
def test_plain_pip_install_in_a_fresh_environment(tmp_path):
    """Non-editable install (with the book tools); run from a folder outside the checkout."""
    python = _venv(tmp_path / "venv")
    sources = _sources(tmp_path / "sources")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "-c",
                    str(ROOT / "requirements.txt"), f"{sources}[book]"], check=True)
    tum = tmp_path / "venv" / "bin" / "tum2000"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "TUM2000_CACHE": str(tmp_path / "cache")}
    env.pop("PYTHONPATH", None)

    def run(*args, cwd=elsewhere):
        result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, result.stderr
        return result

    # The installed package, not the checkout's sources.
    where = run(python, "-c", "import tum2000; print(tum2000.__file__)").stdout
    assert str(tmp_path / "venv") in where
    assert run(tum, "--version").stdout.strip() == f"tum2000 {PYPROJECT['version']}"
    run(tum, "simulate", "--preset", "quick", "--out", "quick.nc", "--quiet")
    assert tum2000.load(elsewhere / "quick.nc").attrs["seed"] == 1
    code = ("import tum2000\n"
            "if __name__ == '__main__':\n"
            "    p = tum2000.preset('quick', burn_in_ms=100.0, duration_ms=200.0)\n"
            "    runs = tum2000.simulate_many([(p, 1), (p, 2)], n_workers=2)\n"
            "    print(sorted(int(r.attrs['seed']) for r in runs))\n")
    (elsewhere / "many.py").write_text(code)
    assert run(python, "many.py").stdout.strip() == "[1, 2]"
    # The book commands find the book from the working directory (no checkout path baked in).
    listing = run(tum, "params", "panel_a_raster", cwd=ROOT).stdout
    assert "seed: int = 1" in listing
    refused = subprocess.run([tum, "params", "panel_a_raster"], cwd=elsewhere, env=env,
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "no tum2000 book" in refused.stderr
    # Stored data is read from the book it is given, never from the installed package:
    # the exploration chapter's sweep comes from the book and nothing is swept again.
    code = ("import json, tum2000\n"
            "from tum2000.sweeps.stored import stored_sweep\n"
            "import tum2000.sweeps.run as sweep\n"
            "def refuse(*args, **kwargs):\n"
            "    raise AssertionError('the stored sweep was recomputed')\n"
            "sweep.run_sweep = refuse\n"
            "if __name__ == '__main__':\n"
            "    base = tum2000.preset('default', duration_ms=5000.0)\n"
            f"    ds, check = stored_sweep('a_ee', base, {{'EE_A_mV': [1.2, 1.8, 2.4]}}, [1, 2],\n"
            f"                             root={str(sources)!r})\n"
            "    print(json.dumps([ds.attrs['source'], check.verified, len(check.points)]))\n")
    (elsewhere / "stored.py").write_text(code)
    source, verified, points = json.loads(run(python, "stored.py").stdout.strip())
    assert source == "stored book/data/a_ee.nc" and verified and points == 2
    no_book = subprocess.run([tum, "data", "check"], cwd=elsewhere, env=env,
                             capture_output=True, text=True)
    assert no_book.returncode == 2 and "no tum2000 book" in no_book.stderr


@pytest.mark.slow
def test_citation_file_is_valid_cff(tmp_path):
    """cffconvert (pinned jsonschema < 4, so in an environment of its own)."""
    python = _venv(tmp_path / "cff")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "cffconvert==2.0.0"], check=True)
    result = subprocess.run([tmp_path / "cff" / "bin" / "cffconvert", "--validate", "-i",
                             ROOT / "CITATION.cff"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in (result.stdout + result.stderr).lower()
