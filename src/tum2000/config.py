"""Settings that come from outside the program: the one place that reads the environment.

=======================  ======================================================
variable                 meaning
=======================  ======================================================
``TUM2000_BOOK``         the book whose stored data (``book/data/``) a notebook
                         reads; ``tum2000 run`` and ``tum2000 book`` set it for
                         the kernels they start, so that a notebook executed
                         outside the book's folder finds it
``TUM2000_CACHE``        the dataset cache folder (default: the user's cache
                         folder, ``~/.cache/tum2000`` on Linux, from platformdirs,
                         which also honours ``XDG_CACHE_HOME``)
``TUM2000_ENGINE_DIR``   where compiled engines are kept (default: inside the
                         virtual environment when it is writable, else the
                         user's cache folder, ``engines/``)
``DASK_SCHEDULER_ADDRESS``  the address of a running Dask scheduler for sweeps
                         (Dask's own variable; Dask's ``scheduler-address``
                         setting is used when it is not set)
``CXX``, ``CC``          the C++ and C compilers (default ``g++``; ``cc``, ``gcc``)
=======================  ======================================================

Dask's own settings (workers, memory limits) are read by Dask from its
configuration (``dask.config``), not here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

BOOK_VAR = "TUM2000_BOOK"
CACHE_VAR = "TUM2000_CACHE"
ENGINE_VAR = "TUM2000_ENGINE_DIR"
SCHEDULER_VAR = "DASK_SCHEDULER_ADDRESS"
APP_NAME = "tum2000"

BOOK_SOURCE = Path("book")
"""The book's sources, relative to its root."""
BOOK_ROOT_FILES: tuple[str, ...] = ("_config.yml", "_toc.yml")
"""A book root is a folder holding these files and :data:`BOOK_SOURCE`."""


def book_root_setting() -> Path | None:
    """The book named by ``TUM2000_BOOK``, or None when it is not set."""
    value = os.environ.get(BOOK_VAR, "").strip()
    return Path(value).expanduser() if value else None


def is_book_root(folder: Path) -> bool:
    """Whether ``folder`` is a book's root (``_config.yml``, ``_toc.yml``, ``book/``)."""
    return all((folder / name).is_file() for name in BOOK_ROOT_FILES) \
        and (folder / BOOK_SOURCE).is_dir()


def find_book_root(start: str | os.PathLike | None = None) -> Path | None:
    """The book root at ``start`` (default: the working directory) or above it, or None."""
    here = Path(start if start is not None else os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if is_book_root(folder):
            return folder
    return None


def book_environment(root: str | os.PathLike) -> dict[str, str]:
    """The environment entries that tell a child process (a notebook's kernel)
    which book it belongs to."""
    return {BOOK_VAR: str(Path(root).resolve())}


def _setting(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def user_cache_dir() -> Path:
    """The user's cache folder for tum2000 (platformdirs; ``$XDG_CACHE_HOME/tum2000``
    or ``~/.cache/tum2000`` on Linux)."""
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def cache_setting() -> str | None:
    """The value of ``TUM2000_CACHE`` as given (None when not set)."""
    return _setting(CACHE_VAR)


def cache_dir() -> Path:
    """The dataset cache folder now in effect (``TUM2000_CACHE``, else
    :func:`user_cache_dir`), absolute; not created until first written.

    A relative ``TUM2000_CACHE`` is resolved against the working directory;
    the command line pins it at start-up (:func:`pin_relative_settings`), so
    that a notebook's kernel, which runs in the notebook's folder, uses the
    folder the command was started in."""
    value = _setting(CACHE_VAR)
    return _absolute(value) if value else user_cache_dir()


RELATIVE_SETTINGS: tuple[str, ...] = (CACHE_VAR, ENGINE_VAR)
"""Folder settings that may be given relative to the working directory."""


def _absolute(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else Path(os.getcwd()) / path


def pin_relative_settings() -> None:
    """Make every relative folder setting (:data:`RELATIVE_SETTINGS`) absolute,
    against the working directory now: called when a command starts, so that
    the processes it starts (kernels in a notebook's folder, Dask workers) and a
    later change of folder all see the same folder."""
    for name in RELATIVE_SETTINGS:
        value = _setting(name)
        if value and not Path(value).expanduser().is_absolute():
            os.environ[name] = str(_absolute(value))


def engine_dir() -> Path:
    """Where compiled engines and kernels are kept: ``TUM2000_ENGINE_DIR``, else
    ``share/tum2000/engines`` inside the active virtual environment when it is
    writable (so that deleting the environment deletes them), else
    ``engines/`` in :func:`user_cache_dir`."""
    value = _setting(ENGINE_VAR)
    if value:
        return _absolute(value)
    in_env = Path(sys.prefix) / "share" / APP_NAME / "engines"
    if sys.prefix != sys.base_prefix and _writable(in_env):
        return in_env
    return user_cache_dir() / "engines"


def _writable(path: Path) -> bool:
    """``path`` exists and is writable, or could be created."""
    for parent in (path, *path.parents):
        if parent.exists():
            return os.access(parent, os.W_OK | os.X_OK)
    return False


def cxx_compiler() -> str:
    """The C++ compiler's command (``CXX``, default ``g++``)."""
    return _setting("CXX") or "g++"


def c_compilers() -> tuple[str, ...]:
    """C compilers to try, in order: ``CC`` when set, then ``cc`` and ``gcc``."""
    return tuple(name for name in (_setting("CC"), "cc", "gcc") if name)


def scheduler_address() -> str | None:
    """The Dask scheduler named by ``DASK_SCHEDULER_ADDRESS``, or None."""
    return _setting(SCHEDULER_VAR)


def child_environment(**extra: str) -> dict[str, str]:
    """The environment for a child process: this process's, with ``extra`` added."""
    return {**os.environ, **extra}


__all__ = ["APP_NAME", "CACHE_VAR", "ENGINE_VAR", "RELATIVE_SETTINGS", "SCHEDULER_VAR",
           "c_compilers", "cache_dir", "cache_setting", "child_environment", "cxx_compiler",
           "engine_dir", "pin_relative_settings", "scheduler_address", "user_cache_dir",
           "BOOK_ROOT_FILES", "BOOK_SOURCE", "BOOK_VAR", "book_environment",
           "book_root_setting", "find_book_root", "is_book_root"]
