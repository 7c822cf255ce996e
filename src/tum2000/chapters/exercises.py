"""Checked answers for the book's exercises.

An exercise states its answer (in its solution's prose); the solution's last
code cell computes that answer from a run and calls :func:`check_answer`, which

* shows the reader, under the solution, whether *this* run agrees with the
  stated answer (a run on another seed or preset may not: the page says so
  instead of claiming agreement), and
* attaches a machine-readable record (in the output's metadata, under the key
  :data:`MIME`; not as an output MIME type, which myst-nb would warn about and
  the book build, run with warnings as errors, refuse) that the test suite
  (``tests/test_exercises.py``) collects from the executed notebooks to check
  every solution against its stated answer.

It never raises for a disagreeing answer: a page must render on any seed.
Open questions call :func:`open_question` instead, so that the tests know
they are exempt.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

MIME = "application/vnd.tum2000.answer+json"


@dataclass(frozen=True)
class AnswerCheck:
    """One solution's check: the stated answer and what this run gave."""

    label: str          # the exercise's label (``:label:`` of its exercise-start)
    stated: str         # the answer as the solution states it, in words
    computed: str       # what this run gave, in words or as a number
    ok: bool | None     # True: agrees; False: disagrees; None: not checkable on this run
    reason: str = ""    # why not checkable (e.g. "no population spike in this run")


def _agrees(computed: Any, expected: Any, rel: float | None, abs_: float | None) -> bool:
    if isinstance(expected, bool) or not isinstance(expected, (int, float)):
        return bool(computed == expected)
    if computed is None or (isinstance(computed, float) and math.isnan(computed)):
        return False
    return math.isclose(float(computed), float(expected), rel_tol=rel or 0.0,
                        abs_tol=abs_ or 0.0)


def _report(check: AnswerCheck) -> AnswerCheck:
    if check.ok is None:
        text = f"This run cannot check the answer: {check.reason}."
    elif check.computed in ("True", "False"):  # a claim: say which one
        text = (f"This run agrees with the answer: {check.stated}." if check.ok else
                f"This run does not agree with the answer ({check.stated}). Runs differ; "
                "try the book's seed.")
    elif check.ok:
        text = f"This run agrees with the answer ({check.computed})."
    else:
        text = (f"This run does not agree with the answer: it gives {check.computed}, "
                f"the answer says {check.stated}. Runs differ; try the book's seed.")
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python: the reader's text only
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display({"text/plain": text}, metadata={MIME: asdict(check)}, raw=True)
    else:
        print(text)
    return check


def check_answer(label: str, stated: str, computed: Any, expected: Any = True, *,
                 rel: float | None = None, abs_tol: float | None = None,
                 not_checkable: str = "") -> AnswerCheck:
    """Compare what a solution computed with the answer its exercise states.

    Parameters
    ----------
    label
        The exercise's label, e.g. ``"ex-raster-spread"``.
    stated
        The stated answer in words, e.g. ``"fewer population spikes"``.
    computed
        What this run gave: a bool (the stated claim holds), a number or a string.
    expected
        What ``computed`` must equal for agreement (default ``True``: ``computed``
        is the truth of the claim). Numbers compare with ``rel``/``abs_tol``.
    not_checkable
        If given (e.g. ``"no population spike in this run"``), the run cannot
        check the answer; ``computed`` is ignored.

    Returns
    -------
    AnswerCheck
        Also displayed: the verdict in words for the reader, the record for the tests.
    """
    if not_checkable:
        return _report(AnswerCheck(label, stated, "", None, not_checkable))
    ok = _agrees(computed, expected, rel, abs_tol)
    shown = f"{computed:.4g}" if isinstance(computed, float) else str(computed)
    return _report(AnswerCheck(label, stated, shown, ok))


def open_question(label: str) -> AnswerCheck:
    """Mark exercise ``label`` as an open question: no single answer, exempt from checks."""
    return _report(AnswerCheck(label, "open question", "", None, "an open question"))


def collect(notebook: dict) -> list[AnswerCheck]:
    """Every :class:`AnswerCheck` displayed in an executed notebook (nbformat 4 dict)."""
    checks = []
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get(MIME)
            if record is not None:
                checks.append(AnswerCheck(**record))
    return checks
