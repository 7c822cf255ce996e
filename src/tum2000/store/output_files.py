"""Output files checked before any work: format by suffix, and a place to write.

``tum2000 simulate --out run.nc --figure fig.xyz`` used to simulate for a
minute, write the dataset and only then fail on the figure's format; an
unwritable ``/proc/x.nc`` was reported after the simulation. Every command
now calls :func:`check_output` for each file it will write before it starts.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from tum2000.errors import BadInput
from tum2000.model.values import check_path_length

DATASET_SUFFIXES: tuple[str, ...] = (".nc",)
NOTEBOOK_SUFFIXES: tuple[str, ...] = (".ipynb",)


@lru_cache(maxsize=1)
def image_suffixes() -> tuple[str, ...]:
    """Formats matplotlib can write (``.png``, ``.pdf``, ``.svg``, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(f".{name}" for name in sorted(FigureCanvasBase.get_supported_filetypes()))


SUFFIXES = {"dataset": lambda: DATASET_SUFFIXES, "image": image_suffixes,
            "notebook": lambda: NOTEBOOK_SUFFIXES}


def _probe_writable(folder: Path) -> None:
    """Create and remove a file in ``folder``: the only test that works as root too."""
    try:
        handle, name = tempfile.mkstemp(prefix=".tum2000-probe-", dir=folder)
    except OSError as err:
        raise BadInput(f"cannot write in {folder} ({err.strerror})") from None
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(name)


def check_output(path: str | os.PathLike, kind: str, what: str = "output") -> Path:
    """Refuse an output that cannot be written, before any work.

    ``kind`` is "dataset" (``.nc``), "image" (a format matplotlib writes) or
    "notebook" (``.ipynb``). The file may exist (it will be replaced whole); its
    folder may be missing (it will be created), but the nearest existing folder
    above it must be a writable folder.
    """
    check_path_length(path, what)
    path = Path(path)
    if path.is_dir():
        raise BadInput(f"{what} {path} is a folder, expected a file name")
    allowed = SUFFIXES[kind]()
    if path.suffix.lower() not in allowed:
        raise BadInput(f"{what} {path}: unknown {kind} format {path.suffix or '(no suffix)'!r} "
                       f"(allowed: {', '.join(allowed)})")
    if path.exists() and not path.is_file():
        raise BadInput(f"{what} {path} exists and is not a regular file")
    _check_writable_place(path.parent if str(path.parent) else Path("."), path, what)
    return path


def check_folder(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Refuse an output folder that is a file or cannot be created or written."""
    check_path_length(path, what)
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise BadInput(f"{what} {path} is a file, expected a folder")
    _check_writable_place(path, path, what)
    return path


def nearest_existing(path: Path) -> Path:
    """``path`` if it exists, else the nearest of its parents that does."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_writable_place(folder: Path, path: Path, what: str) -> None:
    """The nearest existing folder at or above ``folder`` must be a writable folder."""
    folder = nearest_existing(folder)
    if not folder.is_dir():
        raise BadInput(f"{what} {path}: {folder} is a file, not a folder")
    _probe_writable(folder)


def check_distinct(**paths: str | os.PathLike | None) -> None:
    """Refuse two roles (e.g. input and output) given the same file."""
    seen: dict[Path, str] = {}
    for role, path in paths.items():
        if path is None:
            continue
        resolved = Path(path).resolve()
        if resolved in seen:
            raise BadInput(f"{seen[resolved]} and {role} are the same file ({path}); "
                           "give different files")
        seen[resolved] = role
