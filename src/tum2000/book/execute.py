"""Execute notebooks with papermill: one notebook, or every notebook of the book.

Guarantees:

* the kernel is this Python (``sys.executable``), whatever kernels are
  registered, so ``tum2000 run`` works after a plain ``pip install``; it talks
  to us over local (ipc) sockets, which also avoids ipykernel's "Kernel is
  running over TCP without encryption" warning on every notebook;
* a notebook is executed into a temporary file beside its output and renamed
  into place only when every cell ran: a failed or interrupted run never
  replaces (or deletes) the previous good executed notebook. A failure keeps
  the executed notebook with its error as ``NAME.failed.ipynb`` for inspection;
* Ctrl-C or SIGTERM interrupts the kernel (as Jupyter's interrupt button does),
  waits for it to clean up and shuts it down; the temporary file and every file
  the notebook's cells wrote in its folder are removed, files they replaced are
  restored (:func:`tum2000.store.atomic.restorable_folder`): the folder is left as it
  was found. (Simulations that finished before the interruption stay in the
  dataset cache: they are complete.) The kernel alone gets the SIGINT, not its
  process group: a cell's Dask cluster is closed by the cell, quietly;
* the kernel's connection file (it holds the kernel's key), its sockets and what
  the kernel process writes to its own stdout/stderr live in a private folder
  ``tum2000-kernel-<pid>-*`` removed after the run; papermill writes into
  ``tum2000-notebook-<pid>-*``. A run killed outright (SIGKILL) cannot clean up:
  the next run removes such folders whose process is gone, and undoes what the
  killed run did in the output's folder (its backup records the folder's state).

Papermill runs in a worker thread: the main thread keeps receiving signals
(nbclient would otherwise replace the process's SIGINT/SIGTERM handlers).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from tum2000.store.atomic import (atomic_path, missing_parents, owned_prefix, remove_stale,
                                  restorable_folder)
from tum2000.config import book_environment
from tum2000.errors import BookError, Interrupted, NotebookCancelled

from tum2000.book.layout import EXECUTED, SOURCE, find_notebook, find_root, root_of, source_notebooks
from tum2000.book.parameters import check_parameters, plan

PACKAGE_DIR = Path(__file__).resolve().parents[1]
KERNEL_PREFIX = "tum2000-kernel-"
"""Private temporary folder of a run's kernels (connection file, sockets), with
the process id: ``tum2000-kernel-<pid>-*``."""
NOTEBOOK_PREFIX = "tum2000-notebook-"
"""Private temporary folder papermill writes the executed notebook into."""
KERNEL_START_TIMEOUT_S = 120
INTERRUPT_GRACE_S = 20.0
"""How long an interrupted kernel may take to clean up before it is killed."""


# --- the kernel: this Python, over ipc ----------------------------------------------------

def this_python_kernel_spec(env: Mapping[str, str] | None = None):
    """A kernel spec that runs ipykernel on this interpreter, with ``env``
    added to its environment (e.g. which book it belongs to)."""
    from jupyter_client.kernelspec import KernelSpec

    return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f",
                            "{connection_file}"],
                      display_name=f"Python {sys.version_info.major}.{sys.version_info.minor} "
                                   "(tum2000)", language="python", metadata={},
                      env=dict(env or {}))


@dataclass
class _Run:
    """Shared between the main thread and the thread that runs papermill."""

    sockets: Path
    env: dict = field(default_factory=dict)  # added to the kernel's environment
    managers: list = field(default_factory=list)
    cancelled: bool = False
    kernel_output: Any = None    # the kernels' own stdout/stderr (a file in ``sockets``)
    # What the kernel is doing, for the progress lines of a long notebook:
    code_cells: int = 0          # code cells in the notebook
    code_cell: int = 0           # the code cell being executed (1-based)
    cell_text: str = ""          # its first line
    kernel_line: str = ""        # the last line the kernel printed in this cell
    started: float = field(default_factory=time.perf_counter)


class _LastLine:
    """A file-like sink for the kernel's stdout/stderr (papermill's ``stdout_file``):
    keeps the last non-empty line (progress bars rewrite with carriage returns)."""

    def __init__(self, run: _Run):
        self.run = run

    def write(self, text: str) -> int:
        lines = [part.strip() for part in text.replace("\r", "\n").split("\n")]
        lines = [line for line in lines if line]
        if lines:
            self.run.kernel_line = lines[-1]
        return len(text)

    def flush(self) -> None:
        pass


HEARTBEAT_S = 10.0
"""A long-running notebook reports what it is doing this often (seconds)."""


def describe(run: _Run) -> str:
    """``"cell 3 of 9, 42 s: simulating ..."``: where a running notebook is."""
    doing = run.kernel_line or run.cell_text
    where = f"cell {run.code_cell} of {run.code_cells}" if run.code_cells else "starting"
    if run.code_cell == 0:
        where = "starting the kernel"
    return (f"{where}, {time.perf_counter() - run.started:.0f} s"
            + (f": {doing[:100]}" if doing else ""))


def _manager_class(run: _Run):
    from jupyter_client import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class ThisPythonKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"],
                                    default_value="ipc" if os.name == "posix" else "tcp",
                                    config=True)

        def __init__(self, **kwargs: Any):
            super().__init__(**kwargs)
            # The connection file (it holds the kernel's key) and the sockets in a
            # private folder, removed after the run whatever happens; by default
            # the file would be /tmp/tmpXXXX.json, left behind by a killed kernel.
            self.connection_file = str(run.sockets / f"kernel-{len(run.managers)}.json")
            if self.transport == "ipc":
                self.ip = str(run.sockets / f"kernel-{len(run.managers)}")
            run.managers.append(self)

        async def start_kernel(self, **kwargs: Any):
            # What the kernel process (and its children: Dask workers, compilers)
            # writes to its own stdout/stderr goes to a file, shown after the
            # notebook ends; an interruption drops it (asyncio's and Dask's
            # shutdown noise would otherwise follow our last line).
            if run.kernel_output is not None:
                kwargs.setdefault("stdout", run.kernel_output)
                kwargs.setdefault("stderr", run.kernel_output)
            return await super().start_kernel(**kwargs)

        @property
        def kernel_spec(self):  # the registered kernels do not matter
            return this_python_kernel_spec(run.env)

    return ThisPythonKernelManager


def _signal_kernels(run: _Run, signum: int) -> None:
    """Send ``signum`` to every kernel: SIGINT to the kernel process alone (its
    cell stops and cleans up, e.g. closes a Dask cluster, whose processes share
    the kernel's process group and would print tracebacks of their own);
    anything else to the kernel's whole process group."""
    for manager in run.managers:
        provisioner = getattr(manager, "provisioner", None)
        pgid, pid = getattr(provisioner, "pgid", None), getattr(provisioner, "pid", None)
        with contextlib.suppress(OSError, TypeError):
            if pgid and signum != signal.SIGINT:
                os.killpg(pgid, signum)
            elif pid:
                os.kill(pid, signum)


def _wait_for_kernels(run: _Run, timeout: float = 10.0) -> None:
    """Let every kernel process end (killed after ``timeout``), so that none
    outlives us and prints to the terminal after our last line."""
    import subprocess

    for manager in run.managers:
        process = getattr(getattr(manager, "provisioner", None), "process", None)
        if process is None:
            continue
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_kernels(run, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)


# --- one notebook ---------------------------------------------------------------------------

def _papermill(source: Path, values: Mapping[str, Any], target: Path, cwd: Path,
               progress: bool, log_output: bool, run: _Run) -> None:
    import papermill

    def on_notebook_start(notebook):
        run.code_cells = sum(1 for c in notebook.cells if c.cell_type == "code")

    def on_cell_start(cell, cell_index):
        if run.cancelled:
            raise NotebookCancelled("interrupted")
        if cell.cell_type == "code":
            run.code_cell += 1
            run.cell_text = next((line.strip() for line in cell.source.splitlines()
                                  if line.strip() and not line.lstrip().startswith("#")), "")
            run.kernel_line = ""


    # The kernel starts in ``cwd`` (nbclient's resources); papermill's own ``cwd``
    # would chdir this whole process while the notebook runs, and every relative
    # path of the main thread (the output's folder) would point elsewhere.
    papermill.execute_notebook(
        str(source), str(target), parameters=dict(values),
        resources={"metadata": {"path": str(cwd)}},
        progress_bar=False, log_output=log_output, start_timeout=KERNEL_START_TIMEOUT_S,
        stdout_file=_LastLine(run), stderr_file=_LastLine(run),
        kernel_manager_class=_manager_class(run), on_notebook_start=on_notebook_start,
        on_cell_start=on_cell_start)


def _execute_in_thread(source: Path, values: Mapping[str, Any], target: Path, cwd: Path,
                       progress: bool, log_output: bool, label: str,
                       env: Mapping[str, str]) -> None:
    """Run papermill in a worker thread; on Ctrl-C/SIGTERM stop the kernel cleanly.
    With ``progress``, say every :data:`HEARTBEAT_S` seconds what the kernel is doing."""
    import shutil
    import tempfile

    run = _Run(Path(tempfile.mkdtemp(prefix=owned_prefix(KERNEL_PREFIX))), env=dict(env))
    try:
        run.kernel_output = open(run.sockets / "kernel-output.log", "w+b")
        _run_in_thread(run, source, values, target, cwd, progress, log_output, label)
    except KeyboardInterrupt:
        raise  # the kernel's last words are not for the reader
    except BaseException:
        _show_kernel_output(run)
        raise
    else:
        _show_kernel_output(run)
    finally:
        if run.kernel_output is not None:
            run.kernel_output.close()
        shutil.rmtree(run.sockets, ignore_errors=True)


def _show_kernel_output(run: _Run) -> None:
    """Copy what the kernel processes wrote to their stdout/stderr to our stderr."""
    if run.kernel_output is None:
        return
    with contextlib.suppress(OSError, ValueError):
        run.kernel_output.flush()
        run.kernel_output.seek(0)
        text = run.kernel_output.read()
        if text:
            sys.stderr.write(text.decode(errors="replace"))
            sys.stderr.flush()


def _run_in_thread(run: _Run, source: Path, values: Mapping[str, Any], target: Path, cwd: Path,
                   progress: bool, log_output: bool, label: str) -> None:
    outcome: dict[str, BaseException] = {}

    def work() -> None:
        try:
            _papermill(source, values, target, cwd, progress, log_output, run)
        except BaseException as err:  # noqa: BLE001 - handed to the main thread
            outcome["error"] = err

    worker = threading.Thread(target=work, name=f"papermill {source.name}", daemon=True)
    worker.start()
    last_report = time.perf_counter()
    try:
        while worker.is_alive():
            worker.join(0.1)
            if progress and time.perf_counter() - last_report >= HEARTBEAT_S:
                last_report = time.perf_counter()
                say(True, f"      {label}: {describe(run)}")
    except KeyboardInterrupt:
        run.cancelled = True
        _signal_kernels(run, signal.SIGINT)  # the cell stops and cleans up, as in Jupyter
        worker.join(INTERRUPT_GRACE_S)
        if worker.is_alive():
            _signal_kernels(run, signal.SIGKILL)
            worker.join(INTERRUPT_GRACE_S)
        _wait_for_kernels(run)
        raise
    if "error" in outcome:
        raise outcome["error"]


def _failure(source: Path, err: BaseException, failed: Path | None) -> BookError:
    import papermill

    where = f" (the executed notebook with the error: {failed})" if failed else ""
    if isinstance(err, papermill.PapermillExecutionError):
        return BookError(f"{source.name} failed in cell {err.exec_count}: "
                         f"{err.ename}: {str(err.evalue).splitlines()[0] if err.evalue else ''}"
                         f"{where}")
    text = str(err).strip().splitlines()
    return BookError(f"{source.name} failed: {type(err).__name__}"
                     f"{': ' + text[0] if text else ''}{where}")


def execute(source: Path, values: Mapping[str, Any], output: Path, *, progress: bool = True,
            log_output: bool = False, metadata: Mapping[str, Any] | None = None,
            label: str | None = None, root: Path | None = None) -> Path:
    """Execute ``source`` with checked ``values`` into ``output`` (see the module's doc).

    ``metadata`` goes into the executed notebook under ``tum2000``. Papermill
    writes into a private temporary folder (so a write that comes late, after
    an interruption, cannot land beside the output); the result is copied
    into place atomically when every cell ran. The executed notebook shows one
    box with the parameter values in force (:mod:`tum2000.book.parameters_box`).
    With ``progress``, a line every :data:`HEARTBEAT_S` seconds says which
    cell runs and the kernel's last output line, prefixed by ``label``.
    ``root``: the book the notebook belongs to (its kernel reads that book's
    stored data, wherever the notebook runs).
    """
    import tempfile

    source, output = Path(source).absolute(), Path(output).absolute()
    failed = output.with_suffix(".failed.ipynb")
    started = time.perf_counter()
    for prefix in (KERNEL_PREFIX, NOTEBOOK_PREFIX):  # left by killed runs (SIGKILL)
        remove_stale(tempfile.gettempdir(), prefix)
    created = missing_parents(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        _execute_into(source, values, output, failed, progress, log_output, metadata, label,
                      root, started)
    except BaseException:
        for folder in reversed(created):  # made for this output: gone again if empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    failed.unlink(missing_ok=True)
    return output


def _execute_into(source: Path, values: Mapping[str, Any], output: Path, failed: Path,
                  progress: bool, log_output: bool, metadata: Mapping[str, Any] | None,
                  label: str | None, root: Path | None, started: float) -> None:
    """:func:`execute`'s work, inside the output's restorable folder."""
    import shutil
    import tempfile

    import papermill

    with restorable_folder(output.parent, keep=lambda path: path == failed), \
            tempfile.TemporaryDirectory(prefix=owned_prefix(NOTEBOOK_PREFIX)) as private:
        result = Path(private) / output.name
        try:
            _execute_in_thread(source, values, result, output.parent, progress, log_output,
                               label or source.stem,
                               book_environment(root) if root is not None else {})
        except KeyboardInterrupt:
            raise
        except papermill.PapermillExecutionError as err:
            if err.ename == "KeyboardInterrupt":  # the kernel itself was interrupted
                raise Interrupted("SIGINT") from None
            _keep_failed(result, failed)
            raise _failure(source, err, failed) from None
        except Exception as err:  # noqa: BLE001 - a dead kernel, a timeout: one line
            kept = _keep_failed(result, failed)
            raise _failure(source, err, failed if kept else None) from None
        _mark(result, source, values, {**(metadata or {}), "parameters": dict(values),
                                       "seconds": round(time.perf_counter() - started, 1)})
        with atomic_path(output) as tmp:
            shutil.copyfile(result, tmp)


def _keep_failed(result: Path, failed: Path) -> bool:
    """The executed notebook with its error, beside the output, for inspection."""
    import shutil

    if not result.is_file() or not result.stat().st_size:
        return False
    with atomic_path(failed) as tmp:
        shutil.copyfile(result, tmp)
    return True


def _mark(executed: Path, source: Path, values: Mapping[str, Any],
          metadata: Mapping[str, Any]) -> None:
    import nbformat

    from tum2000.book.parameters import declared_parameters
    from tum2000.book.parameters_box import show_parameters

    nb = nbformat.read(executed, as_version=4)
    nb.metadata["tum2000"] = dict(metadata)
    show_parameters(nb, source.stem, declared_parameters(source), values)
    # Papermill's own metadata (paths of this machine) is not for the reader.
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nb.metadata.pop("papermill", None)
    nbformat.write(nb, executed)


def run_notebook(notebook: str | os.PathLike, parameters: Mapping[str, Any] | None = None,
                 output: str | os.PathLike | None = None, progress: bool = True, *,
                 root: str | os.PathLike | None = None, log_output: bool = False) -> Path:
    """Execute one notebook with papermill and return the executed notebook's path.

    ``notebook`` is a path or the name of one of the book's notebooks (the
    book is found from the working directory, or ``root``). ``parameters``
    maps declared names to values or strings; every check
    (:func:`tum2000.book.parameters.check_parameters`) and the output's place
    are verified before a kernel starts. ``output`` defaults to
    ``output/notebooks/<name>.ipynb``; the notebook runs in the output's folder.
    """
    from tum2000.store.output_files import check_output

    source = find_notebook(notebook, root)
    values = check_parameters(source, parameters, root)
    output = Path(output) if output is not None else Path("output/notebooks") / source.name
    check_output(output, "notebook", "--out")
    if output.resolve() == source.resolve():
        from tum2000.errors import BadInput

        raise BadInput(f"--out {output} is the notebook's source: give another file")
    say(progress, f"executing {source.name} into {output}")
    started = time.perf_counter()
    book = Path(root) if root is not None else root_of(source)
    result = execute(source, values, output, progress=progress, log_output=log_output,
                     root=book)
    say(progress, f"done in {time.perf_counter() - started:.1f} s")
    return result


# --- every notebook of the book -----------------------------------------------------------------

AFTER_EXECUTION = frozenset({"book/build.py", "book/render.py", "book/editions.py",
                             "book/bundle.py", "book/solutions.py", "cli/__init__.py",
                             "cli/__main__.py", "cli/sweep.py"})
"""Modules (relative to the package) that only act on executed notebooks, or
start the build: a change to them re-renders the book but re-executes nothing."""


def package_hash() -> str:
    """SHA-256 of every module of the package (simulation, analysis, figures, the
    execution itself), except :data:`AFTER_EXECUTION`."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if path.relative_to(PACKAGE_DIR).as_posix() in AFTER_EXECUTION:
            continue
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def data_hash(root: Path) -> str:
    """SHA-256 of the book's stored data (``book/data/``): a regenerated file
    re-executes the pages that read stored data."""
    from tum2000.store.stored import DATA_FOLDER

    digest = hashlib.sha256()
    folder = root / DATA_FOLDER
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def execution_key(source: Path, values: Mapping[str, Any], code: str | None = None,
                  data: str = "") -> str:
    """What an executed notebook depends on: its source, parameters, package
    code and the book's stored data."""
    text = json.dumps({"source": hashlib.sha256(source.read_bytes()).hexdigest(),
                       "parameters": dict(sorted(values.items())),
                       "code": code or package_hash(), "kernel": sys.executable,
                       "data": data},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def stored_key(executed: Path) -> str | None:
    try:
        meta = json.loads(executed.read_text())["metadata"]
        return meta.get("tum2000", {}).get("execution_key")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def sync_pages(root: Path, executed: Path | None = None) -> None:
    """Copy the book's non-notebook files into the executed tree ``executed``
    (default: the published book's ``book/_executed``), only those that changed."""
    import shutil

    source, target = root / SOURCE, (executed or root / EXECUTED)
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
            with atomic_path(dest) as tmp:
                shutil.copyfile(path, tmp)
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
                force: bool = False, executed_dir: str | os.PathLike | None = None,
                jobs: list[tuple[Path, dict[str, Any]]] | None = None) -> list[Path]:
    """Execute every notebook whose key changed into ``executed_dir`` (default:
    the published book's ``book/_executed``; a variant book has its own).

    Every parameter of every notebook is checked before the first one runs
    (or ``jobs``, an already checked :func:`~tum2000.book.parameters.plan`).
    All notebooks are attempted; failures are collected and raised together as
    a :class:`BookError`. A notebook that fails keeps its previous good
    executed copy (the failed one is beside it, as ``NAME.failed.ipynb``).
    Progress: one line per notebook with the time since the start, and for a
    long one a line every :data:`HEARTBEAT_S` seconds (cell, kernel output).
    """
    root = Path(root) if root is not None else find_root()
    target = Path(executed_dir) if executed_dir is not None else root / EXECUTED
    jobs = jobs if jobs is not None else plan(parameter_sets, quick, root)
    code, data = package_hash(), data_hash(root)
    failures: list[str] = []
    outputs: list[Path] = []
    sync_pages(root, target)
    begun = time.perf_counter()
    for i, (source, values) in enumerate(jobs, 1):
        rel = source.relative_to(root / SOURCE)
        executed = target / rel
        key = execution_key(source, values, code, data)
        outputs.append(executed)
        clock = _clock(time.perf_counter() - begun)
        if not force and executed.exists() and stored_key(executed) == key:
            say(progress, f"[{i}/{len(jobs)} {clock}] {rel}: unchanged, not re-executed")
            continue
        say(progress, f"[{i}/{len(jobs)} {clock}] executing {rel}"
            + (f" with {values}" if values else ""))
        started = time.perf_counter()
        try:
            execute(source, values, executed, progress=progress,
                    metadata={"execution_key": key}, label=rel.stem, root=root)
        except BookError as err:
            failures.append(str(err))
            say(progress, f"      FAILED: {failures[-1]}")
            continue
        say(progress, f"      done in {time.perf_counter() - started:.1f} s")
    if failures:
        raise BookError(f"{len(failures)} notebook(s) failed: " + "; ".join(failures))
    return outputs


def _clock(seconds: float) -> str:
    """Elapsed time as m:ss."""
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def say(progress: bool, text: str) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)
