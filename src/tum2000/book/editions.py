"""Where each edition of the book goes: no edition overwrites another's output.

=================================  ==================================================  =========================================
book                               executed notebooks                                  HTML
=================================  ==================================================  =========================================
published (``tum2000 book``)       ``book/_executed``                                  ``_build/html``
student (``--student``)            stripped copy in ``_build/student/source``          ``_build/student/html``
variant (``--parameters my.yml``)  ``_build/variant-my-<hash>/source/book/_executed``  ``_build/variant-my-<hash>/html``
student edition of a variant       stripped copy in ``.../student/source``             ``_build/variant-my-<hash>/student/html``
=================================  ==================================================  =========================================

A variant is any build with other notebook parameters than the published
book's: a parameter file (named after its stem and a hash of its path),
``--set`` values (named after them, with a hash unless they are plain, or a
short hash when they are long) or ``--quick`` (short runs); different inputs
never share a folder (:func:`variant_name`). Every
folder keeps the same layout inside (``book/_executed/...``), so a page has
the same address in every edition.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from tum2000.book.layout import EXECUTED

MAX_NAME = 40
"""Longer ``--set`` names are replaced by a hash of the values."""


def _slug(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._]+", "-", text)).strip("-.") or "x"


_PLAIN = re.compile(r"[A-Za-z0-9_.]+")


def variant_name(parameter_file: str | os.PathLike | None = None,
                 parameters: Mapping[str, Any] | None = None, quick: bool = False) -> str | None:
    """The variant's folder name (``_build/variant-<name>``), None for the published book.

    Different inputs never share a folder (``figure_path=a/b.png`` and
    ``a-b.png``, ``alice/my.yml`` and ``bob/my.yml`` used to). ``quick`` alone
    gives ``quick``; ``--set`` values alone whose names and values are plain
    (letters, digits, ``_`` and ``.``: ``seed-2``) give ``name-value`` pairs,
    which spell them unambiguously. Anything else gives a readable prefix (the
    parameter file's stem, ``quick``, the values) and 10 hex digits of a hash
    of the exact input: the parameter file's resolved path, the values and
    ``quick`` (``my-3f2a...``); ``set-`` and 8 hex digits when the values
    alone are longer than :data:`MAX_NAME` characters. The same inputs always
    give the same name.
    """
    if parameter_file is None and not parameters:
        return "quick" if quick else None
    if parameter_file is None and not quick:
        plain = all(_PLAIN.fullmatch(str(k)) and _PLAIN.fullmatch(_text(v))
                    for k, v in parameters.items())
        if plain:
            readable = "-".join(f"{k}-{_text(v)}" for k, v in parameters.items())
            if len(readable) <= MAX_NAME:
                return readable
    exact = json.dumps({"quick": bool(quick),
                        "file": None if parameter_file is None else
                        os.path.abspath(os.fspath(parameter_file)),
                        "parameters": parameters or {}}, sort_keys=True, default=repr)
    digest = hashlib.sha256(exact.encode()).hexdigest()
    if parameter_file is None and not quick:
        readable = _slug("-".join(f"{k}-{_flat(v)}" for k, v in parameters.items()))
        if len(readable) > MAX_NAME:
            return f"set-{digest[:8]}"
        return f"{readable}-{digest[:10]}"
    parts = ["quick"] if quick else []
    if parameter_file is not None:
        parts.append(_slug(Path(parameter_file).stem)[:MAX_NAME])
    if parameters:
        readable = _slug("-".join(f"{k}-{_flat(v)}" for k, v in parameters.items()))
        parts.append(readable if len(readable) <= MAX_NAME else "set")
    return "-".join(parts + [digest[:10]])


def _text(value: Any) -> str:
    return str(value) if isinstance(value, (str, int, float)) else "-"


def _flat(value: Any) -> str:
    if isinstance(value, Mapping):
        return "-".join(f"{k}-{_flat(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "-".join(map(_flat, value))
    return str(value)


@dataclass(frozen=True)
class Edition:
    """The folders of one build: sources, executed notebooks, HTML."""

    root: Path
    """The book's root (``_config.yml``, ``_toc.yml``, ``book/``)."""
    build_dir: Path
    """``<output dir>/_build``."""
    variant: str | None = None
    student: bool = False

    @property
    def book_dir(self) -> Path:
        """``_build`` (published) or ``_build/variant-<name>``."""
        return self.build_dir / f"variant-{self.variant}" if self.variant else self.build_dir

    @property
    def folder(self) -> Path:
        """Everything this edition writes (its HTML, and its sources if it has its own)."""
        return self.book_dir / "student" if self.student else self.book_dir

    @property
    def html(self) -> Path:
        return self.folder / "html"

    @property
    def executed(self) -> Path:
        """Where papermill writes the executed notebooks this edition is made from."""
        if self.variant is None:
            return self.root / EXECUTED
        return self.book_dir / "source" / EXECUTED

    @property
    def source_root(self) -> Path:
        """The folder Jupyter Book reads (it holds ``book/_executed/``)."""
        if self.student:
            return self.folder / "source"
        return self.root if self.variant is None else self.book_dir / "source"

    @property
    def bundle(self) -> Path | None:
        """The student bundle (student editions only)."""
        return self.folder / "tum2000-student.zip" if self.student else None

    @property
    def label(self) -> str:
        name = f"variant book {self.variant!r}" if self.variant else "published book"
        return f"student edition of the {name}" if self.student else name
