"""Settings that come from outside the program: the one place that reads the environment.

==================  ===========================================================
variable            meaning
==================  ===========================================================
``TUM2000_BOOK``    the book whose stored data (``book/data/``) a notebook reads;
                    ``tum2000 run`` and ``tum2000 book`` set it for the kernels
                    they start, so that a notebook executed outside the book's
                    folder (``output/notebooks``, a variant's folder) finds it
==================  ===========================================================
"""

from __future__ import annotations

import os
from pathlib import Path

BOOK_VAR = "TUM2000_BOOK"

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


__all__ = ["BOOK_ROOT_FILES", "BOOK_SOURCE", "BOOK_VAR", "book_environment",
           "book_root_setting", "find_book_root", "is_book_root"]
