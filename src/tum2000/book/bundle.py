"""The student bundle: ``tum2000-student.zip`` beside the student edition.

What a student needs to work through the book on a laptop, and nothing that
gives an answer away:

* ``book/``: every notebook without solutions and without outputs, the pages
  (solutions removed too), the bibliography; with ``_config.yml`` and
  ``_toc.yml`` the folder is a book, so ``tum2000 run NOTEBOOK`` finds the
  notebooks by name;
* ``src/``, ``pyproject.toml``, ``LICENSE``: the tum2000 package (it is not on
  PyPI), installed with ``pip install --no-deps .``;
* ``requirements.txt``: the pinned versions of the tested environment,
  JupyterLab included;
* ``README.md``: how to install and run, on Linux, macOS and Windows.

Written atomically (a temporary file, then a rename).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Iterator, Mapping

from tum2000.store.atomic import atomic_path
from tum2000.book.layout import SOURCE, source_notebooks
from tum2000.book.parameters_box import format_value
from tum2000.book.solutions import strip_notebook, strip_text

TOP = "tum2000-student"
"""The folder the zip unpacks into."""
PACKAGE_FILES = ("pyproject.toml", "LICENSE", "CITATION.cff")


def _package_root() -> Path | None:
    """The project folder of the installed package (an editable or source checkout),
    or None if tum2000 was installed from a wheel."""
    here = Path(__file__).resolve().parents[3]
    return here if (here / "pyproject.toml").is_file() and (here / "src" / "tum2000").is_dir() \
        else None


def _notebook_bytes(path: Path) -> bytes:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    strip_notebook(nb, str(path))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nbformat.writes(nb).encode()


def _book_files(root: Path) -> Iterator[tuple[str, bytes]]:
    """(name in the zip, content) of the book: solutions removed, no outputs."""
    notebooks = source_notebooks(root)
    for path in notebooks:
        yield path.relative_to(root).as_posix(), _notebook_bytes(path)
    for path in sorted((root / SOURCE).rglob("*")):
        rel = path.relative_to(root / SOURCE)
        if not path.is_file() or path.suffix == ".ipynb" or rel.parts[0].startswith("_") \
                or ".ipynb_checkpoints" in rel.parts or "__pycache__" in rel.parts:
            continue
        if path.suffix == ".md":
            text, _ = strip_text(path.read_text(encoding="utf-8"), str(path))
            yield path.relative_to(root).as_posix(), text.encode()
        else:
            yield path.relative_to(root).as_posix(), path.read_bytes()
    for name in ("_config.yml", "_toc.yml"):
        yield name, (root / name).read_bytes()
    for path in sorted((root / SOURCE / "_ext").glob("*.py")):
        yield path.relative_to(root).as_posix(), path.read_bytes()


def _package_files(project: Path) -> Iterator[tuple[str, bytes]]:
    for name in PACKAGE_FILES:
        if (project / name).is_file():
            yield name, (project / name).read_bytes()
    for path in sorted((project / "src" / "tum2000").rglob("*.py")):
        yield path.relative_to(project).as_posix(), path.read_bytes()


def readme(root: Path, changes: Mapping[str, Any] | None = None) -> str:
    """The bundle's README: installation and the ways to run a notebook."""
    from tum2000.book.parameters import declared_parameters

    notebooks = source_notebooks(root)
    names = [nb.stem for nb in notebooks]
    first = names[0] if names else "intro"
    has_preset = any("preset" in declared_parameters(nb) for nb in notebooks)
    sets = " ".join(f"--set {k}={format_value(v)}" for k, v in (changes or {}).items()
                    if not isinstance(v, Mapping))
    lines = [
        "# tum2000: the student notebooks",
        "",
        "The notebooks of the book *Synchrony from frequency-dependent synapses*",
        "(Tsodyks, Uziel & Markram 2000, Fig. 1), with every exercise and without",
        "the solutions. Each notebook imports the `tum2000` package, which is in",
        "this folder (`src/`).",
        "",
        "## Install (once, a few minutes; needs Python 3.11 or newer and internet)",
        "",
        "Linux and macOS:",
        "",
        "```bash",
        "python3 -m venv .venv",
        ".venv/bin/pip install -r requirements.txt",
        ".venv/bin/pip install --no-deps .",
        "```",
        "",
        "Windows (PowerShell or cmd):",
        "",
        "```",
        "py -m venv .venv",
        r".venv\Scripts\pip install -r requirements.txt",
        r".venv\Scripts\pip install --no-deps .",
        "```",
        "",
        "No compiler is needed: without one, simulations run on Brian2's numpy",
        "target (slower, same results). Instead of typing `.venv/bin/` before every",
        "command you can activate the environment: `source .venv/bin/activate`",
        r"(Windows: `.venv\Scripts\activate`).",
        "",
        "## Work in JupyterLab",
        "",
        "```bash",
        ".venv/bin/jupyter lab book",
        "```",
        "",
        "opens the notebooks in your browser. Run a notebook top to bottom (Run >",
        "Run All Cells); its first code cell holds its parameters: change them",
        "there and run again. The notebooks' notes in `{...}` brackets are for the",
        "rendered book; in JupyterLab they show as text.",
        "",
        "## Or run a notebook from the command line",
        "",
        "```bash",
        f".venv/bin/tum2000 params {first}            # what the notebook's parameters are",
        f".venv/bin/tum2000 run {first} --set seed=2  # executes it with other values",
        "```",
        "",
        "`tum2000 run` checks every value before it starts, executes the notebook",
        "with papermill and writes the executed notebook (with its figures) to",
        "`output/notebooks/NAME.ipynb`; it prints that path. Open it with",
        "`.venv/bin/jupyter lab output/notebooks/NAME.ipynb`.",
    ]
    if has_preset:
        lines += ["", "On a slow laptop add `--set preset=classroom` (shorter runs that still",
                  "show population spikes)."]
    if sets:
        lines += ["", "Your class's book was built with other values than the published",
                  "book; to run a notebook with the same values add:", "", "```",
                  sets, "```"]
    lines += ["", f"Notebooks: {', '.join(names)}.", ""]
    return "\n".join(lines)


def write_bundle(root: Path, target: Path, changes: Mapping[str, Any] | None = None,
                 requirements: Path | None = None) -> Path:
    """Write the student bundle for the book at ``root`` to ``target`` (a .zip).

    ``changes``: the variant's global parameter values, quoted in the README;
    ``requirements``: the pinned requirements file (default: the project's).
    """
    project = _package_root()
    requirements = requirements or (project / "requirements.txt" if project else None)
    if project is None or requirements is None or not requirements.is_file():
        from tum2000.book.execute import BookError

        raise BookError("the student bundle needs the tum2000 project folder (pyproject.toml, "
                        "src/, requirements.txt): install tum2000 from a checkout "
                        "(pip install -e .)")
    entries = [("README.md", readme(root, changes).encode()),
               ("requirements.txt", requirements.read_bytes()),
               *_book_files(root), *_package_files(project)]
    with atomic_path(target) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries:
                info = zipfile.ZipInfo(f"{TOP}/{name}", date_time=(2000, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
    return target


