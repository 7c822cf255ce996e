"""Render the executed notebooks with Jupyter Book (``tum2000 book``).

The published book and a reader's re-execution go through the same path (the
NCAR CUPiD pattern): every notebook is executed by papermill
(:mod:`tum2000.book.execute`) beside a copy of the other pages, then Jupyter
Book renders that folder with ``execute_notebooks: 'off'``, warnings as
errors. A variant book (other parameters) and the student edition (no
solutions) are the same build with other inputs, each in its own folders
(:mod:`tum2000.book.editions`):

* a variant's notebooks execute into its own folder, never into the
  published book's ``book/_executed``; every page of a variant carries a
  banner naming what was changed;
* the student edition renders a copy of the executed notebooks and pages
  with every solution removed (:mod:`tum2000.book.solutions`), so that
  nothing derived from them (HTML, ``_sources``, search index) holds one,
  and writes the student bundle (:mod:`tum2000.book.bundle`).

Maths is rendered by MathJax 3 served from the book itself
(``book/_ext/offline_mathjax.py``): the book reads offline.
"""

from __future__ import annotations

import html as html_escape
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping

from tum2000.store.atomic import atomic_path
from tum2000.book.editions import Edition, variant_name
from tum2000.book.execute import BookError, execute_all, say
from tum2000.book.layout import EXECUTED, SOURCE, find_root, source_notebooks
from tum2000.book.parameters import QUICK, plan, read_parameter_file
from tum2000.book.parameters_box import format_value
from tum2000.book.solutions import strip_notebook, strip_text


def parameter_substitutions() -> dict[str, str]:
    """``{{ name }}`` substitutions for the pages: every parameter's default value.

    The model pages quote parameter values through these, so the parameters
    module stays the one place where a value is written down.
    """
    from tum2000.model.parameters import preset

    values = {}
    for name, value in preset("default").items():
        if isinstance(value, bool) or value is None or isinstance(value, str):
            values[name] = str(value).lower() if isinstance(value, bool) else str(value)
        else:
            values[name] = f"{value:g}"
    return values


COLAB_URL = "https://colab.research.google.com"
BINDERHUB_URL = "https://mybinder.org"


def repository_settings(config: dict[str, Any], url: str, student: bool) -> None:
    """Set the theme's repository, issue and launch buttons in ``config`` from
    one repository URL (``""``: none of them, as before the book had a home).

    The student edition gets no launch buttons: the committed notebooks they
    open hold the solutions.
    """
    repository = config.setdefault("repository", {}) or {}
    config["repository"] = {**repository, "url": url,
                            "branch": repository.get("branch") or "main",
                            "path_to_book": repository.get("path_to_book") or ""}
    html = config.setdefault("html", {})
    html["use_repository_button"] = bool(url)
    html["use_issues_button"] = bool(url)
    launch = bool(url) and not student
    config["launch_buttons"] = {"notebook_interface": "classic",
                                "binderhub_url": BINDERHUB_URL if launch else "",
                                "colab_url": COLAB_URL if launch else "",
                                "jupyterhub_url": "", "thebe": False}


LAUNCH_HREF = re.compile(r'href="((?:https://colab\.research\.google\.com|https://mybinder\.org)'
                         r'[^"]*)"')


def point_launch_links_at_sources(html: Path) -> int:
    """Rewrite every Colab/Binder link of the rendered pages from the executed
    copy (``book/_executed/X.ipynb``, which git ignores) to the committed
    notebook (``book/X.ipynb``, no outputs); return the number of links rewritten.

    The theme builds the links from the page's path in the rendered folder.
    """
    rewritten = 0
    executed = EXECUTED.as_posix() + "/"
    source = SOURCE.as_posix() + "/"
    for page in html.rglob("*.html"):
        text = page.read_text(encoding="utf-8")

        def fix(match: re.Match) -> str:
            nonlocal rewritten
            link = match.group(1)
            fixed = link.replace(executed, source).replace(
                executed.replace("/", "%2F"), source.replace("/", "%2F"))
            rewritten += fixed != link
            return f'href="{fixed}"'

        new = LAUNCH_HREF.sub(fix, text)
        if new != text:
            page.write_text(new, encoding="utf-8")
    return rewritten


def write_config(root: Path, path: Path, student: bool = False,
                 banner: str | None = None, repository_url: str | None = None) -> Path:
    """``_config.yml`` plus the parameter substitutions, written for this build.

    ``student``: the student edition (book/_ext/student_edition.py checks that
    no solution is left). ``banner``: HTML shown at the top of every page
    (the theme's announcement). ``repository_url``: the repository the buttons
    point to (None: ``repository.url`` of ``_config.yml``; see
    :func:`repository_settings`). Paths in the configuration are made absolute,
    so that an edition rendered from another folder finds them.
    """
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text())
    parse = config.setdefault("parse", {})
    parse["myst_substitutions"] = {**parameter_substitutions(),
                                   **(parse.get("myst_substitutions") or {})}
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["tum2000_student_edition"] = bool(student)
    for name, folder in (sphinx.get("local_extensions") or {}).items():
        sphinx["local_extensions"][name] = str((root / folder).resolve())
    config["bibtex_bibfiles"] = [str((root / bib).resolve())
                                 for bib in config.get("bibtex_bibfiles") or []]
    if banner:
        config.setdefault("html", {})["announcement"] = banner
    if repository_url is None:
        repository_url = str(((config.get("repository") or {}).get("url")) or "")
    repository_settings(config, repository_url, student)
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# --- what a variant changed ---------------------------------------------------------------

def changes_of(sets: Mapping[str, Any], quick: bool, root: Path) -> dict[str, Any]:
    """The given values as the banner names them: global names, then
    ``notebook: {name: value}`` (``--quick`` adds the quick preset's durations)."""
    stems = {nb.stem for nb in source_notebooks(root)}
    global_values = {**(QUICK if quick else {}),
                     **{k: v for k, v in sets.items() if k not in stems}}
    return {**global_values, **{k: v for k, v in sets.items() if k in stems}}


def describe(changes: Mapping[str, Any]) -> str:
    """``"seed = 2, panel_b_activity: ps_threshold = 0.1"``."""
    parts = []
    for name, value in changes.items():
        if isinstance(value, Mapping):
            parts += [f"{name}: {k} = {format_value(v)}" for k, v in value.items()]
        else:
            parts.append(f"{name} = {format_value(value)}")
    return ", ".join(parts)


def banner_html(edition: Edition, changes: Mapping[str, Any]) -> str | None:
    """The announcement at the top of every page of a variant or student edition."""
    parts = []
    if edition.variant:
        what = describe(changes) or "the values of its parameter file (all equal to the defaults)"
        parts.append(f"<strong>Variant book “{html_escape.escape(edition.variant)}”</strong>: "
                     f"built with {html_escape.escape(what)}. The published book uses the "
                     "defaults; each page's parameters box shows the values in force.")
    if edition.student:
        parts.append("<strong>Student edition</strong>: every exercise, no solutions.")
    return " ".join(parts) or None


# --- the student edition's sources -----------------------------------------------------------

def stage_student(executed: Path, target: Path) -> int:
    """Copy the executed tree ``executed`` to ``target`` with every solution
    removed (notebooks and MyST pages); return the number of solutions removed.

    Files are rewritten only if their content changed (Sphinx then re-reads
    only those); files no longer in ``executed`` are deleted.
    """
    removed = 0
    staged = {}
    for rel, data, count in _stripped(executed):
        staged[rel] = data
        removed += count
    for rel, data in staged.items():  # every file stripped (or refused) before one is written
        dest = target / rel
        if not dest.is_file() or dest.read_bytes() != data:
            with atomic_path(dest) as tmp:
                tmp.write_bytes(data)
    for path in sorted(target.rglob("*"), reverse=True):
        if path.is_file() and path.relative_to(target) not in staged:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed


def check_solutions_close(root: Path) -> None:
    """Refuse (:class:`~tum2000.book.solutions.UnclosedSolution`, exit status 2)
    a source notebook or page whose solution never closes, before anything runs."""
    for _ in _stripped(root / SOURCE):
        pass


def _stripped(folder: Path):
    """``(relative path, content without solutions, solutions removed)`` of every
    file of ``folder`` a book is made from."""
    import nbformat

    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_dir() or path.name.endswith(".failed.ipynb") or path.name.startswith(".") \
                or ".ipynb_checkpoints" in rel.parts or rel.parts[0] == "_executed":
            continue
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            count = strip_notebook(nb, str(rel))
            yield rel, nbformat.writes(nb).encode(), count
        elif path.suffix == ".md":
            text, count = strip_text(path.read_text(encoding="utf-8"), str(rel))
            yield rel, text.encode(), count
        else:
            yield rel, path.read_bytes(), 0


# --- Jupyter Book -------------------------------------------------------------------------------

def _render(source_root: Path, html: Path, config: Path, toc: Path, progress: bool,
            builder: str = "html", allow_warnings: bool = False) -> None:
    """Run Jupyter Book in a child process; on Ctrl-C/SIGTERM stop it first."""
    command = [sys.executable, "-m", "tum2000.book.render", str(source_root), str(html),
               "--config", str(config), "--toc", str(toc), "--builder", builder]
    if allow_warnings:
        command.append("--allow-warnings")
    process = subprocess.Popen(command, cwd=source_root, text=True,
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


def check_stored_data(root: Path, strict: bool, progress: bool) -> list[Any]:
    """Check the book's stored data (``tum2000 data check``'s rules) before any
    notebook runs; return the checks that failed. ``strict``: refuse them
    (:class:`~tum2000.errors.StoredDataError`, exit status 1) instead."""
    from tum2000.store.stored import data_dir, stored_files
    from tum2000.sweeps.stored import check_all, require_verified

    if not stored_files(data_dir(root)):
        return []
    started = time.perf_counter()
    checks = check_all(root)
    say(progress, f"stored data: {sum(c.verified for c in checks)} of {len(checks)} file(s) "
                  f"verified in {time.perf_counter() - started:.0f} s")
    for check in checks:
        for note in check.notes:
            say(progress, f"      {check.path.name}: {note}")
    if strict:
        require_verified(checks, strict=True)
    return [c for c in checks if not c.verified]


def build(parameter_file: str | os.PathLike | None = None, quick: bool = False,
          student: bool = False,
          output_dir: str | os.PathLike | None = None, *, root: str | os.PathLike | None = None,
          parameters: Mapping[str, Any] | None = None, progress: bool = True,
          force: bool = False, strict: bool = False,
          repository_url: str | None = None) -> Path:
    """Execute every notebook, then build the HTML book; return the HTML folder.

    ``root``: the book (default: found from the working directory).
    ``parameter_file`` (YAML/JSON) and ``parameters`` (a mapping of the same
    shape, applied after the file) set the notebooks' parameters; ``quick``
    runs short simulations. Any of them makes a variant book
    (:mod:`tum2000.book.editions`). ``student``: the student edition, plus
    its bundle. ``output_dir`` holds ``_build`` (default: the root). Jupyter
    Book runs with warnings as errors: any warning fails the build.

    The book's stored data is checked first (:func:`check_stored_data`). A
    file that does not verify fails a ``strict`` build (as CI runs it) before
    any notebook runs; otherwise the build goes on, the page that reads the
    file shows a warning box, and the build ends with a warning line naming
    the file and the command that regenerates it.

    ``repository_url`` overrides ``repository.url`` of ``_config.yml`` for
    this build (repository, issue and launch buttons; launch links point at
    the committed notebooks, :func:`point_launch_links_at_sources`).
    """
    root = Path(root).resolve() if root is not None else find_root()
    sets = {**read_parameter_file(parameter_file), **(parameters or {})}
    if output_dir is not None:
        from tum2000.store.output_files import check_folder

        check_folder(output_dir, "--output-dir")
    output = Path(output_dir).resolve() if output_dir is not None else root
    edition = Edition(root, output / "_build",
                      variant_name(parameter_file, parameters, quick), student)
    jobs = plan(sets, quick, root)  # every value checked before anything runs
    if student:
        check_solutions_close(root)
    started = time.perf_counter()
    say(progress, f"building the {edition.label} into {edition.folder}")
    unverified = check_stored_data(root, strict, progress)
    execute_all(root=root, progress=progress, force=force, executed_dir=edition.executed,
                jobs=jobs)
    source_root = edition.source_root
    if student:
        removed = stage_student(edition.executed, source_root / EXECUTED)
        say(progress, f"student edition: {removed} solution(s) removed from the sources "
                      f"({source_root / EXECUTED})")
    changes = changes_of(sets, quick, root)
    say(progress, f"rendering the book with Jupyter Book into {edition.html}")
    config = write_config(root, edition.folder / "_config.generated.yml", student=student,
                          banner=banner_html(edition, changes), repository_url=repository_url)
    _render(source_root, edition.html, config, root / "_toc.yml", progress)
    point_launch_links_at_sources(edition.html)
    if student:
        from tum2000.book.bundle import write_bundle

        write_bundle(root, edition.bundle, changes)
        say(progress, f"student bundle: {edition.bundle}")
    say(progress, f"{edition.label} built in {time.perf_counter() - started:.0f} s: "
                  f"{edition.html / 'index.html'}")
    for check in unverified:  # always shown: the reader must see it
        say(True, f"warning: stored data did not verify: {check.line()}")
    return edition.html


# --- rendering without executing (the weekly link check) -----------------------------------

UNEXECUTED = "unexecuted"
"""``_build/unexecuted/``: the committed notebooks rendered as they are."""


def render_unexecuted(root: str | os.PathLike | None = None, builder: str = "html",
                      progress: bool = True) -> Path:
    """Render the committed notebooks and pages without executing anything;
    return the output folder (``_build/unexecuted/<builder>``).

    For what needs the pages but not their results: the weekly link check
    (``builder="linkcheck"``, which writes ``output.txt`` and ``output.json``
    there and fails on a broken link) and a look at the text. The notebooks
    have no outputs, so glued values are missing: warnings do not fail this
    build. Runs in seconds; nothing of the published book is touched.
    """
    root = Path(root).resolve() if root is not None else find_root()
    folder = root / "_build" / UNEXECUTED
    source_root = folder / "source"
    staged = source_root / EXECUTED
    if staged.exists():
        shutil.rmtree(staged)
    shutil.copytree(root / SOURCE, staged, ignore=shutil.ignore_patterns(
        EXECUTED.name, "data", ".ipynb_checkpoints", "*.failed.ipynb", ".*"))
    banner = ("<strong>Unexecuted</strong>: the committed notebooks, rendered without "
              "running them (no figures or computed numbers).")
    config = write_config(root, folder / "_config.generated.yml", banner=banner)
    say(progress, f"rendering the committed notebooks ({builder}, nothing executed) "
                  f"into {folder / builder}")
    _render(source_root, folder / builder, config, root / "_toc.yml", progress,
            builder=builder, allow_warnings=True)
    return folder / builder
