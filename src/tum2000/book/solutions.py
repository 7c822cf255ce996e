"""Remove every exercise solution from notebooks and MyST pages (the student edition).

sphinx-exercise writes a solution in one of two ways (MyST, backtick or colon
fences of any length):

* a solution directive, ````` ```{solution} ex-label ````` ... closing fence;
* a gated solution, ````` ```{solution-start} ex-label ````` ... ````` ```{solution-end} `````
  (then its closing fence), whose body may span several notebook cells,
  code cells with their outputs included.

:func:`strip_notebook` and :func:`strip_text` remove both, with everything
inside them, from the sources Jupyter Book reads, so that no file derived
from them (HTML, ``_sources/`` behind the download button, the search index,
the student bundle) carries solution text. The exercises stay. A source that
opens a solution and never closes it is refused: the page would be wrong
either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from tum2000.errors import BadInput

_OPEN = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\s*\{(?P<name>solution|solution-start|solution-end)\}")


class UnclosedSolution(BadInput):
    """A solution directive or gated solution without its end."""


@dataclass
class _State:
    """Where the scanner is: outside a solution, or inside one (and which kind)."""

    mode: str = "text"  # text | directive | gated-start | gated | gated-end
    fence: str = ""     # the fence that closes the current directive
    removed: int = 0    # solutions removed so far
    opened_at: str = ""  # where the open solution began, for the error message


def _closes(line: str, fence: str) -> bool:
    """``line`` is a bare closing fence for an opening ``fence`` (same character, at
    least as long, nothing else), as in MyST."""
    stripped = line.strip()
    return bool(stripped) and set(stripped) == {fence[0]} and len(stripped) >= len(fence)


def _scan(lines: Iterable[str], state: _State, where: str) -> list[str]:
    """The lines outside solutions; ``state`` carries over to the next cell."""
    kept = []
    for line in lines:
        if state.mode == "text":
            match = _OPEN.match(line)
            if match and match["name"] == "solution":
                state.mode, state.fence, state.opened_at = "directive", match["fence"], where
            elif match and match["name"] == "solution-start":
                state.mode, state.fence, state.opened_at = "gated-start", match["fence"], where
            else:
                kept.append(line)
        elif state.mode == "directive":
            if _closes(line, state.fence):
                state.mode = "text"
                state.removed += 1
        elif state.mode == "gated-start":  # the solution-start directive's own block
            if _closes(line, state.fence):
                state.mode = "gated"
        elif state.mode == "gated":
            match = _OPEN.match(line)
            if match and match["name"] == "solution-end":
                state.mode, state.fence = "gated-end", match["fence"]
        elif state.mode == "gated-end":
            if _closes(line, state.fence):
                state.mode = "text"
                state.removed += 1
    return kept


def _check_closed(state: _State) -> None:
    if state.mode != "text":
        raise UnclosedSolution(f"{state.opened_at}: a solution is opened and never closed "
                               "(expected a closing fence or {solution-end})")


def strip_text(text: str, where: str = "page") -> tuple[str, int]:
    """A MyST page without its solutions, and how many were removed."""
    state = _State()
    kept = _scan(text.splitlines(keepends=True), state, where)
    _check_closed(state)
    return "".join(kept), state.removed


def strip_notebook(nb, where: str = "notebook") -> int:
    """Remove every solution from ``nb`` (an nbformat notebook) in place.

    A markdown cell keeps its text outside solutions (and goes if nothing is
    left); every code or raw cell inside a gated solution goes, with its
    outputs. Returns the number of solutions removed.
    """
    state = _State()
    cells = []
    for index, cell in enumerate(nb.cells):
        inside = state.mode != "text"
        if cell.cell_type == "markdown":
            lines = cell.source.splitlines(keepends=True)
            kept = _scan(lines, state, f"{where}, cell {index}")
            if len(kept) != len(lines):
                cell.source = "".join(kept).strip("\n")
                if not cell.source.strip():
                    continue
            cells.append(cell)
        elif not inside:
            cells.append(cell)
    _check_closed(state)
    nb.cells = cells
    return state.removed


