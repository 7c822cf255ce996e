"""Where the book is, and its notebooks in table-of-contents order.

A book root is a folder holding ``_config.yml``, ``_toc.yml`` and ``book/``
(the sources). The commands find it from the working directory upwards, or
from ``--root``; a notebook given by path finds its book from its own folder.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from tum2000.config import BOOK_ROOT_FILES as ROOT_FILES
from tum2000.config import BOOK_SOURCE as SOURCE
from tum2000.config import find_book_root
from tum2000.config import is_book_root as is_root
from tum2000.errors import BadInput

EXECUTED = SOURCE / "_executed"
"""Where the executed notebooks and a copy of the other pages go; ``_toc.yml``
points here."""


def find_root(start: str | os.PathLike | None = None, *, required: bool = True) -> Path | None:
    """The book root at ``start`` (default: the working directory) or above it.

    ``start`` that is itself given (``--root``) must be a root. Raises
    :class:`tum2000.errors.BadInput` when there is none (or returns None
    when not ``required``).
    """
    here = Path(start if start is not None else os.getcwd()).resolve()
    found = find_book_root(here)
    if found is not None:
        return found
    if not required:
        return None
    raise BadInput(f"no tum2000 book in {here} or above it (a book is a folder with "
                   f"{', '.join(ROOT_FILES)} and {SOURCE}/): run from the book's folder "
                   "or give --root")


def check_root(root: str | os.PathLike) -> Path:
    """``--root`` as given: it must be a book root."""
    path = Path(root).resolve()
    if not is_root(path):
        raise BadInput(f"--root {root}: not a tum2000 book (expected {', '.join(ROOT_FILES)} "
                       f"and {SOURCE}/ in it)")
    return path


def toc_files(root: Path) -> list[str]:
    """Every ``root``/``file`` entry of ``_toc.yml``, without suffix, in order."""
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


def source_notebooks(root: str | os.PathLike | None = None) -> list[Path]:
    """The book's notebooks (sources, without outputs) in table-of-contents order."""
    root = Path(root) if root is not None else find_root()
    found = sorted(p for p in (root / SOURCE).rglob("*.ipynb")
                   if EXECUTED.name not in p.relative_to(root / SOURCE).parts
                   and ".ipynb_checkpoints" not in p.parts)
    order = {name: i for i, name in enumerate(toc_files(root))}
    return sorted(found, key=lambda p: order.get(
        (EXECUTED / p.relative_to(root / SOURCE).with_suffix("")).as_posix(), len(order)))


def find_notebook(name: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """A notebook given by path, or by stem (``panel_a_raster``) among the book's."""
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path
    if path.suffix not in ("", ".ipynb"):
        raise BadInput(f"{str(name)!r} is not a notebook (expected NAME or NAME.ipynb)")
    stem = path.stem if path.suffix == ".ipynb" else path.name
    book_root = Path(root) if root is not None else find_root()
    notebooks = source_notebooks(book_root)
    for notebook in notebooks:
        if notebook.stem == stem:
            return notebook
    names = [n.stem for n in notebooks]
    close = difflib.get_close_matches(stem, names, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise BadInput(f"no notebook {str(name)!r}{hint} (book notebooks: {', '.join(names)})")


def root_of(notebook: Path) -> Path | None:
    """The book a notebook file belongs to (None: a notebook outside any book)."""
    return find_root(notebook.resolve().parent, required=False)
