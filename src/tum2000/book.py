"""Execute the book's notebooks with papermill, then render them with Jupyter Book.

The published book and a reader's re-execution go through the same path
(the NCAR CUPiD pattern):

1. every notebook under ``book/`` is executed by papermill with a parameter
   set (by default the values declared in its ``parameters`` cell, which are
   those of the ``default`` preset) into ``book/_executed/``, beside a copy of
   the book's other pages;
2. Jupyter Book renders ``book/_executed/`` with ``execute_notebooks: 'off'``
   and warnings as errors.

A notebook is executed again only when its source, its parameters or the
package's code changed: the executed copy carries a key (SHA-256 of the three)
in its metadata.

Command line::

    python -m tum2000.book build [--parameters FILE] [--quick]
    python -m tum2000.book run NOTEBOOK [--set NAME=VALUE ...] [--output FILE]
    python -m tum2000.book parameters NOTEBOOK

A parameter name that a notebook does not declare, or a value that its type or
the model's allowed range refuses, is an error (:class:`tum2000.ParameterError`,
exit status 2) raised before anything is executed or written.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .atomic import atomic_path
from .model.parameters import PRESET_CHANGES, SPECS, ParameterError

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parents[1]
"""The project root (the Jupyter Book build root) of this checkout."""

SOURCE = Path("book")
"""The book's sources, relative to the root."""
EXECUTED = SOURCE / "_executed"
"""Where the executed notebooks and a copy of the other pages go; ``_toc.yml``
points here."""

KERNEL = "python3"
TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool}
QUICK: dict[str, Any] = dict(PRESET_CHANGES["quick"])
"""Global parameters of a quick build: the ``quick`` preset's short run."""


class BookError(RuntimeError):
    """A notebook failed to execute or the book failed to build."""


# --- notebooks and their parameters ---------------------------------------------

def source_notebooks(root: str | os.PathLike | None = None) -> list[Path]:
    """The book's notebooks (sources, without outputs) in table-of-contents order."""
    root = Path(root or ROOT)
    found = sorted(p for p in (root / SOURCE).rglob("*.ipynb")
                   if EXECUTED.name not in p.relative_to(root / SOURCE).parts
                   and ".ipynb_checkpoints" not in p.parts)
    order = {name: i for i, name in enumerate(_toc_files(root))}
    return sorted(found, key=lambda p: order.get(
        (EXECUTED / p.relative_to(root / SOURCE).with_suffix("")).as_posix(), len(order)))


def _toc_files(root: Path) -> list[str]:
    import yaml

    toc = root / "_toc.yml"
    if not toc.exists():
        return []
    files: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    files.append(str(Path(node[key]).with_suffix("").as_posix()))
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(toc.read_text()))
    return files


def find_notebook(name: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """A notebook given by path, or by stem (``panel_a_raster``) among the book's."""
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path
    stem = path.stem if path.suffix == ".ipynb" else path.name
    notebooks = source_notebooks(root)
    for notebook in notebooks:
        if notebook.stem == stem:
            return notebook
    names = [n.stem for n in notebooks]
    close = difflib.get_close_matches(stem, names, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise ParameterError(f"no notebook {str(name)!r}{hint} (book notebooks: {', '.join(names)})")


def declared_parameters(notebook: str | os.PathLike) -> dict[str, tuple[type | None, Any, str]]:
    """``{name: (type, default, help)}`` from the notebook's ``parameters`` cell.

    The type is the annotation (``int``, ``float``, ``str``, ``bool``; None if
    absent or another one), the default is the literal value, the help is the
    comment after it.
    """
    import papermill

    inferred = papermill.inspect_notebook(str(find_notebook(notebook)))
    declared = {}
    for name, p in inferred.items():
        try:
            default = ast.literal_eval(p["default"])
        except (ValueError, SyntaxError):
            default = p["default"]
        declared[name] = (TYPES.get(p["inferred_type_name"]), default, p["help"])
    return declared


def _convert(name: str, value: Any, kind: type | None) -> Any:
    """``value`` (a string from the command line, or a value) as the declared type."""
    try:
        if kind is None:
            if isinstance(value, str):
                try:
                    return ast.literal_eval(value)
                except (ValueError, SyntaxError):
                    return value
            return value
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                return value.lower() in ("true", "1", "yes")
            if isinstance(value, bool) or value in (0, 1):
                return bool(value)
            raise ValueError
        if kind is str:
            if not isinstance(value, str):
                raise ValueError
            return value
        if isinstance(value, bool):
            raise ValueError
        if kind is int:
            number = float(value) if isinstance(value, str) else value
            if float(number) != int(number):
                raise ValueError
            return int(number)
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise ParameterError(
            f"parameter {name} must be {kind.__name__ if kind else 'a Python literal'}, "
            f"got {value!r}") from None


def check_parameters(notebook: str | os.PathLike, parameters: Mapping[str, Any] | None
                     ) -> dict[str, Any]:
    """The parameters converted to the declared types; refuse undeclared names.

    A name that is also a model parameter (``tum2000.SPECS``) is checked
    against the model's allowed values too.
    """
    notebook = find_notebook(notebook)
    declared = declared_parameters(notebook)
    converted: dict[str, Any] = {}
    for name, value in (parameters or {}).items():
        if name not in declared:
            close = difflib.get_close_matches(name, declared, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ParameterError(
                f"notebook {notebook.stem} does not declare parameter {name!r}{hint} "
                f"(declared: {', '.join(declared) or 'none'})")
        converted[name] = _convert(name, value, declared[name][0])
        if name in SPECS and converted[name] is not None:
            SPECS[name].coerce(converted[name])
    return converted


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["NAME=VALUE", ...]`` from the command line as ``{NAME: "VALUE"}``."""
    out: dict[str, str] = {}
    for text in items:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"expected NAME=VALUE, got {text!r}")
        out[name.strip()] = value.strip()
    return out


# --- execution ----------------------------------------------------------------

def run_notebook(notebook: str | os.PathLike, parameters: Mapping[str, Any] | None = None,
                 output: str | os.PathLike | None = None, progress: bool = True, *,
                 kernel_name: str = KERNEL, log_output: bool = False) -> Path:
    """Execute one notebook with papermill and return the executed notebook's path.

    ``parameters`` maps declared names to values or strings (converted to the
    declared type); an undeclared name raises :class:`tum2000.ParameterError`
    before anything runs. ``output`` defaults to ``output/notebooks/<stem>.ipynb``
    under the current directory. The notebook runs in the output's directory.
    A failing cell raises :class:`BookError` naming the notebook and the error;
    the executed notebook (with the error) is still written to ``output``.
    """
    import papermill

    source = find_notebook(notebook)
    values = check_parameters(source, parameters)
    output = Path(output) if output is not None else Path("output/notebooks") / source.name
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(
            str(source), str(output), parameters=values, kernel_name=kernel_name,
            cwd=str(output.parent), progress_bar=progress, log_output=log_output)
    except papermill.PapermillExecutionError as err:
        raise BookError(f"{source.name} failed in cell {err.exec_count}: "
                        f"{err.ename}: {err.evalue} (see {output})") from None
    return output


def package_hash() -> str:
    """SHA-256 of every module of the package (simulation, analysis, figures)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def execution_key(source: Path, values: Mapping[str, Any], code: str | None = None) -> str:
    """What an executed notebook depends on: its source, parameters, package code."""
    text = json.dumps({"source": hashlib.sha256(source.read_bytes()).hexdigest(),
                       "parameters": dict(sorted(values.items())),
                       "code": code or package_hash(), "kernel": KERNEL}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _stored_key(executed: Path) -> str | None:
    try:
        meta = json.loads(executed.read_text())["metadata"]
        return meta.get("tum2000", {}).get("execution_key")
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _mark(executed: Path, key: str, values: Mapping[str, Any], seconds: float) -> None:
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    nb.metadata["tum2000"] = {"execution_key": key, "parameters": dict(values),
                              "seconds": round(seconds, 1)}
    # The injected-parameters cell shows which values differ from the defaults;
    # papermill's own metadata (paths of this machine) is not for the reader.
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nb.metadata.pop("papermill", None)
    nbformat.write(nb, executed)


def read_parameter_file(path: str | os.PathLike | None) -> dict[str, Any]:
    """A YAML or JSON mapping: notebook stem -> {name: value}, or name -> value."""
    if path is None:
        return {}
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ParameterError(f"cannot read parameter file {path}: {err.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        raise ParameterError(f"parameter file {path} is not valid YAML/JSON: "
                             f"{str(err).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(f"parameter file {path} must be a mapping of name: value")
    return data


def plan(parameter_sets: Mapping[str, Any] | None = None, quick: bool = False,
         root: str | os.PathLike | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """Each notebook with its checked parameters; nothing is executed.

    A key naming a notebook (its stem) maps to that notebook's parameters; any
    other key is a global parameter given to every notebook that declares it
    and must be declared by at least one. ``quick`` adds the ``quick`` preset's
    short durations as global parameters (the file's values win).
    """
    notebooks = source_notebooks(root)
    stems = {nb.stem for nb in notebooks}
    given = dict(parameter_sets or {})
    per_notebook = {k: v for k, v in given.items() if k in stems}
    for stem, values in per_notebook.items():
        if not isinstance(values, dict):
            raise ParameterError(f"parameters of notebook {stem} must be a mapping, "
                                 f"got {values!r}")
    global_values = {**(QUICK if quick else {}),
                     **{k: v for k, v in given.items() if k not in stems}}
    declared = {nb: declared_parameters(nb) for nb in notebooks}
    everywhere = set().union(*map(set, declared.values())) if declared else set()
    for name in global_values:
        if name not in everywhere and name not in QUICK:
            close = difflib.get_close_matches(name, sorted(everywhere | stems), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ParameterError(f"no notebook declares parameter {name!r}{hint} "
                                 f"(notebooks: {', '.join(sorted(stems))})")
    result = []
    for nb in notebooks:
        values = {k: v for k, v in global_values.items() if k in declared[nb]}
        values.update(per_notebook.get(nb.stem, {}))
        result.append((nb, check_parameters(nb, values)))
    return result


def _sync_pages(root: Path) -> None:
    """Copy the book's non-notebook files into the executed tree (only if changed)."""
    source, target = root / SOURCE, root / EXECUTED
    wanted = set()
    for path in source.rglob("*"):
        rel = path.relative_to(source)
        if rel.parts[0] in (EXECUTED.name, "_ext") or path.is_dir() \
                or path.suffix == ".ipynb" or ".ipynb_checkpoints" in rel.parts \
                or "__pycache__" in rel.parts:
            continue
        wanted.add(rel)
        dest = target / rel
        if not dest.exists() or dest.read_bytes() != path.read_bytes():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
    notebooks = {p.relative_to(source) for p in source_notebooks(root)}
    for path in list(target.rglob("*")):
        rel = path.relative_to(target)
        # Only stale pages go; files the notebooks wrote (datasets, figures) stay.
        if path.is_file() and rel not in wanted and rel not in notebooks \
                and path.suffix in (".md", ".ipynb", ".bib") \
                and not path.name.endswith(".failed.ipynb"):
            path.unlink()


def execute_all(parameter_sets: Mapping[str, Any] | None = None, quick: bool = False,
                root: str | os.PathLike | None = None, progress: bool = True,
                force: bool = False) -> list[Path]:
    """Execute every notebook whose key changed into ``book/_executed``.

    All notebooks are attempted; failures are collected and raised together
    as a :class:`BookError` (the failing executed notebook is kept beside,
    as ``<name>.failed.ipynb``, for inspection).
    """
    root = Path(root or ROOT)
    jobs = plan(parameter_sets, quick, root)
    code = package_hash()
    failures: list[str] = []
    outputs: list[Path] = []
    _sync_pages(root)
    for i, (source, values) in enumerate(jobs, 1):
        rel = source.relative_to(root / SOURCE)
        executed = root / EXECUTED / rel
        key = execution_key(source, values, code)
        failed = executed.with_suffix(".failed.ipynb")
        outputs.append(executed)
        if not force and executed.exists() and _stored_key(executed) == key:
            _say(progress, f"[{i}/{len(jobs)}] {rel}: unchanged, not re-executed")
            continue
        _say(progress, f"[{i}/{len(jobs)}] executing {rel}"
             + (f" with {values}" if values else ""))
        executed.parent.mkdir(parents=True, exist_ok=True)
        tmp = executed.with_name(f".{executed.stem}.tmp.ipynb")
        started = time.perf_counter()
        try:
            run_notebook(source, values, tmp, progress=False)
        except BookError as err:
            failures.append(str(err).replace(str(tmp), str(failed)))
            if tmp.exists():
                os.replace(tmp, failed)
            executed.unlink(missing_ok=True)
            _say(progress, f"      FAILED: {failures[-1]}")
            continue
        seconds = time.perf_counter() - started
        _mark(tmp, key, values, seconds)
        os.replace(tmp, executed)
        failed.unlink(missing_ok=True)
        _say(progress, f"      done in {seconds:.1f} s")
    if failures:
        raise BookError(f"{len(failures)} notebook(s) failed: " + "; ".join(failures))
    return outputs


def build(parameter_file: str | os.PathLike | None = None, quick: bool = False,
          student: bool = False,
          output_dir: str | os.PathLike | None = None, *, root: str | os.PathLike | None = None,
          parameters: Mapping[str, Any] | None = None, progress: bool = True,
          force: bool = False) -> Path:
    """Execute every notebook, then build the HTML book; return the HTML directory.

    ``parameter_file`` (YAML/JSON) and ``parameters`` (a mapping of the same
    shape, applied after the file) set the notebooks' parameters; ``quick``
    runs short simulations. ``output_dir`` holds ``_build`` (default: the root).
    Jupyter Book runs with ``-W -n --keep-going``: any warning fails the build.
    """
    root = Path(root or ROOT).resolve()
    sets = {**read_parameter_file(parameter_file), **(parameters or {})}
    started = time.perf_counter()
    execute_all(sets, quick, root, progress, force)
    output = Path(output_dir).resolve() if output_dir is not None else root
    _say(progress, f"rendering the book with Jupyter Book into {output / '_build' / 'html'}")
    config = write_config(root, output / "_build" / "_config.generated.yml", student=student)
    command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
               "build", str(root), "--path-output", str(output), "--config", str(config),
               "-W", "-n", "--keep-going"]
    result = subprocess.run(command, cwd=root, capture_output=not progress, text=True)
    if result.returncode != 0:
        detail = "" if progress else ("\n" + (result.stdout or "")[-4000:]
                                      + (result.stderr or "")[-4000:])
        raise BookError(f"jupyter-book build failed (exit status {result.returncode})"
                        + detail)
    _say(progress, f"book built in {time.perf_counter() - started:.0f} s: "
         f"{output / '_build' / 'html' / 'index.html'}")
    return output / "_build" / "html"


def parameter_substitutions() -> dict[str, str]:
    """``{{ name }}`` substitutions for the pages: every parameter's default value.

    The model pages quote parameter values through these, so the parameters
    module stays the one place where a value is written down.
    """
    from .model.parameters import preset

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
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)


# --- helpers for the reproducibility chapter ----------------------------------

def simulate_in_subprocess(params: Any, seed: int, target: str = "numpy",
                           timeout: float | None = 1800) -> "xarray.Dataset":
    """:func:`tum2000.simulate` in a fresh Python process (no cache), read back.

    The book uses it to check that a result does not depend on the process
    that computed it, nor on the Brian2 code-generation ``target``.
    """
    from . import dataset
    from .model.simulation import as_parameters

    params = as_parameters(params)
    with tempfile.TemporaryDirectory(prefix="tum2000_subprocess_") as tmp:
        out = Path(tmp) / "run.nc"
        code = ("import sys, tum2000\n"
                "p = tum2000.Parameters.from_json(sys.argv[1])\n"
                "tum2000.save(tum2000.simulate(p, int(sys.argv[2]), target=sys.argv[3]), "
                "sys.argv[4])\n")
        result = subprocess.run([sys.executable, "-c", code, params.to_json(), str(int(seed)),
                                 target, str(out)], capture_output=True, text=True,
                                timeout=timeout)
        if result.returncode != 0:
            raise BookError(f"simulation on target {target!r} failed: "
                            f"{result.stderr.strip().splitlines()[-1:]}")
        return dataset.load(out)


# --- command line ---------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tum2000.book",
        description="Execute the tum2000 book's notebooks with papermill and build it.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="execute every notebook and build the HTML book")
    b.add_argument("--parameters", metavar="FILE",
                   help="YAML/JSON: notebook -> {name: value}, or global name: value")
    b.add_argument("--quick", action="store_true",
                   help="short simulations (the 'quick' preset's durations)")
    b.add_argument("--student", action="store_true",
                   help="student edition: exercises without their solutions")
    b.add_argument("--output-dir", metavar="DIR", help="where _build/ goes (default: root)")
    b.add_argument("--force", action="store_true", help="re-execute every notebook")
    r = sub.add_parser("run", help="execute one notebook with papermill")
    r.add_argument("notebook", help="a notebook path or its name (e.g. panel_a_raster)")
    r.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a parameter the notebook declares (repeatable)")
    r.add_argument("--output", metavar="FILE",
                   help="executed notebook (default: output/notebooks/NAME.ipynb)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    p = sub.add_parser("parameters", help="list the parameters a notebook declares")
    p.add_argument("notebook")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "build":
            build(args.parameters, quick=args.quick, student=args.student,
                  output_dir=args.output_dir,
                  force=args.force)
        elif args.command == "run":
            out = run_notebook(args.notebook, parse_assignments(args.set), args.output,
                               progress=not args.no_progress)
            print(out)
        else:
            for name, (kind, default, help_) in declared_parameters(args.notebook).items():
                type_name = kind.__name__ if kind else "?"
                print(f"{name}: {type_name} = {default!r}  # {help_}")
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
