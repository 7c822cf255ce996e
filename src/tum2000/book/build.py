"""Render the executed notebooks with Jupyter Book (``tum2000 book``).

The published book and a reader's re-execution go through the same path (the
NCAR CUPiD pattern): every notebook is executed by papermill
(:mod:`tum2000.book.execute`) into ``book/_executed/`` beside a copy of the
other pages, then Jupyter Book renders that folder with ``execute_notebooks:
'off'``, warnings as errors. A variant book (a parameter file) and the student
edition (no solutions) are the same build with other inputs, each in its own
output folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping

from ..atomic import atomic_path
from .execute import BookError, execute_all, say
from .layout import find_root
from .parameters import read_parameter_file


def parameter_substitutions() -> dict[str, str]:
    """``{{ name }}`` substitutions for the pages: every parameter's default value.

    The model pages quote parameter values through these, so the parameters
    module stays the one place where a value is written down.
    """
    from ..model.parameters import preset

    values = {}
    for name, value in preset("default").items():
        if isinstance(value, bool) or value is None or isinstance(value, str):
            values[name] = str(value).lower() if isinstance(value, bool) else str(value)
        else:
            values[name] = f"{value:g}"
    return values


def write_config(root: Path, path: Path, student: bool = False) -> Path:
    """``_config.yml`` plus the parameter substitutions, written for this build.

    ``student``: the student edition, every exercise's solution removed
    (book/_ext/student_edition.py)."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text())
    parse = config.setdefault("parse", {})
    parse["myst_substitutions"] = {**parameter_substitutions(),
                                   **(parse.get("myst_substitutions") or {})}
    # Local extension folders are relative to the config file: make them absolute.
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["tum2000_student_edition"] = bool(student)
    for name, folder in (sphinx.get("local_extensions") or {}).items():
        sphinx["local_extensions"][name] = str((root / folder).resolve())
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _jupyter_book(command: list[str], root: Path, progress: bool) -> None:
    """Run Jupyter Book in a child process; on Ctrl-C/SIGTERM stop it first."""
    process = subprocess.Popen(command, cwd=root, text=True,
                               stdout=None if progress else subprocess.PIPE,
                               stderr=None if progress else subprocess.STDOUT)
    try:
        output, _ = process.communicate()
    except BaseException:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise
    if process.returncode != 0:
        detail = "" if progress else " (" + " | ".join(
            line.strip() for line in (output or "").splitlines()
            if "WARNING" in line or "ERROR" in line or "Error" in line)[-600:] + ")"
        raise BookError(f"jupyter-book build failed (exit status {process.returncode}) "
                        "with warnings or errors above" + detail)


def build(parameter_file: str | os.PathLike | None = None, quick: bool = False,
          student: bool = False,
          output_dir: str | os.PathLike | None = None, *, root: str | os.PathLike | None = None,
          parameters: Mapping[str, Any] | None = None, progress: bool = True,
          force: bool = False) -> Path:
    """Execute every notebook, then build the HTML book; return the HTML folder.

    ``root``: the book (default: found from the working directory).
    ``parameter_file`` (YAML/JSON) and ``parameters`` (a mapping of the same
    shape, applied after the file) set the notebooks' parameters; ``quick``
    runs short simulations. ``output_dir`` holds ``_build`` (default: the root).
    Jupyter Book runs with ``-W -n --keep-going``: any warning fails the build.
    """
    root = Path(root).resolve() if root is not None else find_root()
    sets = {**read_parameter_file(parameter_file), **(parameters or {})}
    if output_dir is not None:
        from ..outputs import check_folder

        check_folder(output_dir, "--output-dir")
    output = Path(output_dir).resolve() if output_dir is not None else root
    started = time.perf_counter()
    execute_all(sets, quick, root, progress, force)
    html = output / "_build" / "html"
    say(progress, f"rendering the book with Jupyter Book into {html}")
    config = write_config(root, output / "_build" / "_config.generated.yml", student=student)
    _jupyter_book([sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
                   "build", str(root), "--path-output", str(output), "--config", str(config),
                   "-W", "-n", "--keep-going"], root, progress)
    say(progress, f"book built in {time.perf_counter() - started:.0f} s: {html / 'index.html'}")
    return html
