"""The book's exercises.

1. :mod:`tum2000.chapters.exercises` itself: a solution's check agrees or disagrees with
   its stated answer as it should, says so when a run cannot decide, and the
   tests can collect the records from an executed notebook.
2. Every exercise in ``book/`` has the gated form (sphinx-exercise): one
   solution, its code in code cells, and exactly one ``check_answer`` or
   ``open_question`` with the exercise's label, in the solution's last code
   cell (static: reads the sources only).
3. Every solution is executed with the published book's parameters and checked
   against the answer it states (slow: the notebooks are run with papermill).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tum2000 import book
from tum2000.chapters.exercises import MIME, AnswerCheck, check_answer, collect, open_question

ROOT = book.find_root(Path(__file__).parent)
BOOK = ROOT / "book"

EXERCISE_START = re.compile(r"```\{exercise-start\}\s*\n:label:\s*(\S+)")
SOLUTION_START = re.compile(r"```\{solution-start\}\s+(\S+)")
SOLUTION_END = "```{solution-end}"
CHECK_CALL = re.compile(r"\b(check_answer|open_question)\(\s*[\"']([^\"']+)[\"']")

# Chapters that compute must each have at least two exercises, one of them open.
CHAPTERS_WITH_EXERCISES = ("panel_a_raster", "panel_b_activity", "panel_c_recovered",
                           "figure1", "simulate", "model/synapse", "model/parameters",
                           "mean_field")

# Parameters that only set how much a page computes beside what its exercises
# read, made small for the solutions test to keep it within minutes: the
# parameters page's 0.05 mV run (its exercise compares 0.75 with 1 mV). The
# page's own run, seed and model are the published ones.
CHEAPER = {"model/parameters": {"spreads_mV": [0.75, 1.0]}}


# --- 1. tum2000.chapters.exercises --------------------------------------------------------------

def test_numbers_agree_within_the_stated_tolerance():
    assert check_answer("ex-a", "about 0.26", 0.259, expected=0.26, rel=0.01).ok is True
    assert check_answer("ex-a", "about 0.26", 0.30, expected=0.26, rel=0.01).ok is False
    assert check_answer("ex-a", "1795 ms", 1795.4, expected=1795.0, abs_tol=1.0).ok is True
    assert check_answer("ex-a", "1795 ms", 1797.0, expected=1795.0, abs_tol=1.0).ok is False
    # no tolerance given: exact
    assert check_answer("ex-a", "3", 3, expected=3).ok is True
    assert check_answer("ex-a", "3", 3.0000001, expected=3).ok is False


def test_undefined_numbers_never_agree():
    assert check_answer("ex-a", "0.5", float("nan"), expected=0.5, rel=1.0).ok is False
    assert check_answer("ex-a", "0.5", None, expected=0.5, rel=1.0).ok is False


def test_claims_agree_when_true():
    assert check_answer("ex-b", "more spikes", True).ok is True
    assert check_answer("ex-b", "more spikes", False).ok is False
    assert check_answer("ex-b", "no spike", False, expected=False).ok is True
    assert check_answer("ex-b", "exc", "exc", expected="exc").ok is True
    assert check_answer("ex-b", "exc", "inh", expected="exc").ok is False


def test_a_run_that_cannot_decide_says_why(capsys):
    check = check_answer("ex-c", "more spikes", True, not_checkable="no population spike")
    assert (check.ok, check.reason, check.computed) == (None, "no population spike", "")
    assert "cannot check the answer: no population spike" in capsys.readouterr().out


def test_the_reader_sees_the_verdict(capsys):
    check_answer("ex-d", "about 0.26", 0.2601, expected=0.26, rel=0.01)
    assert "agrees with the answer (0.2601)" in capsys.readouterr().out
    check_answer("ex-d", "about 0.26", 0.5, expected=0.26, rel=0.01)
    out = capsys.readouterr().out
    assert "does not agree" in out and "gives 0.5" in out and "says about 0.26" in out
    check_answer("ex-d", "more spikes", True)
    assert "agrees with the answer: more spikes." in capsys.readouterr().out
    check_answer("ex-d", "more spikes", False)
    assert "does not agree with the answer (more spikes)" in capsys.readouterr().out


def test_open_questions_are_marked_as_such():
    check = open_question("ex-e")
    assert check.label == "ex-e" and check.ok is None and check.stated == "open question"


def test_collect_reads_the_records_of_an_executed_notebook(tmp_path):
    """A real kernel displays the records; collect finds them, in order, and
    ignores every other output."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from tum2000.chapters.exercises import check_answer, open_question\n"
                                  "print('not a record')"),
        nbformat.v4.new_code_cell("check_answer('ex-x', 'about 2', 2.01, expected=2, rel=0.01)"),
        nbformat.v4.new_code_cell("check_answer('ex-y', 'more', False)"),
        nbformat.v4.new_code_cell("check_answer('ex-z', 'more', True, not_checkable='no PS')"),
        nbformat.v4.new_code_cell("open_question('ex-o')"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    source = tmp_path / "checks.ipynb"
    nbformat.write(nb, source)
    executed = book.execute(source, {}, tmp_path / "out" / "checks.ipynb", progress=False)
    executed_nb = nbformat.read(executed, as_version=4)
    assert collect(executed_nb) == [
        AnswerCheck("ex-x", "about 2", "2.01", True),
        AnswerCheck("ex-y", "more", "False", False),
        AnswerCheck("ex-z", "more", "", None, "no PS"),
        AnswerCheck("ex-o", "open question", "", None, "an open question"),
    ]
    # the reader's text travels beside the record
    texts = [o["data"]["text/plain"] for c in executed_nb.cells for o in c.get("outputs", [])
             if MIME in o.get("metadata", {})]
    # only text for the book to render: an unknown MIME type would fail its build
    assert all(set(o.get("data", {})) <= {"text/plain"} for c in executed_nb.cells
               for o in c.get("outputs", []) if MIME in o.get("metadata", {}))
    assert texts[0].startswith("This run agrees") and "does not agree" in texts[1]


def test_collect_ignores_notebooks_without_records():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("text"), nbformat.v4.new_code_cell("1")]
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "1"})]
    assert collect(nb) == []


# --- 2. the form of every exercise (static) ----------------------------------------------

def _source(cell) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def _notebooks() -> list[Path]:
    return sorted(p for p in BOOK.rglob("*.ipynb")
                  if not {"_executed", "_build", ".ipynb_checkpoints"} & set(p.parts))


def _name(path: Path) -> str:
    return path.relative_to(BOOK).with_suffix("").as_posix()


def exercises_of(path: Path) -> dict[str, dict]:
    """Every exercise of a source notebook: label -> its solution's cells and checks.

    Fails (AssertionError) on a malformed exercise: a solution without its
    exercise, one not closed, a solution inside another."""
    cells = nbformat.read(path, as_version=4).cells
    found: dict[str, dict] = {}
    solution = None
    for index, cell in enumerate(cells):
        text = _source(cell)
        if cell.cell_type == "markdown":
            for label in EXERCISE_START.findall(text):
                assert label not in found, f"{path.name}: exercise {label} defined twice"
                assert "```{exercise-end}" in text, f"{path.name}: {label} has no exercise-end"
                found[label] = {"solutions": 0, "code": [], "checks": [], "fences": False,
                                "cell": index}
            start = SOLUTION_START.search(text)
            if start:
                label = start.group(1)
                assert solution is None, f"{path.name}: solution {label} opens inside {solution}"
                assert label in found, f"{path.name}: solution {label} before its exercise"
                assert ":class: dropdown" in text, f"{path.name}: solution {label} not a dropdown"
                found[label]["solutions"] += 1
                found[label]["fences"] |= "```python" in text
                solution = label
            elif SOLUTION_END in text:
                assert solution is not None, f"{path.name}: solution-end without a solution"
                solution = None
            elif solution is not None:
                found[solution]["fences"] |= "```python" in text
        elif cell.cell_type == "code":
            calls = CHECK_CALL.findall(text)
            if solution is not None:
                found[solution]["code"].append(text)
            for kind, label in calls:
                assert solution == label, (f"{path.name}: {kind}({label!r}) outside the "
                                           f"solution of {label}")
                found[label]["checks"].append(kind)
    assert solution is None, f"{path.name}: solution {solution} never ends"
    return found


ALL_EXERCISES = {_name(p): exercises_of(p) for p in _notebooks()}
WITH_EXERCISES = sorted(name for name, found in ALL_EXERCISES.items() if found)


@pytest.mark.parametrize("name", WITH_EXERCISES)
def test_every_exercise_has_one_gated_solution_with_one_check(name):
    for label, ex in ALL_EXERCISES[name].items():
        assert ex["solutions"] == 1, f"{name}: {label} has {ex['solutions']} solutions"
        assert ex["code"], f"{name}: the solution of {label} has no code cell"
        assert not ex["fences"], f"{name}: {label}'s solution has code in a markdown fence"
        assert len(ex["checks"]) == 1, f"{name}: {label} checks {len(ex['checks'])} times"
        last = ex["code"][-1]
        assert CHECK_CALL.search(last), f"{name}: {label}'s last solution cell does not check"


def test_labels_are_unique_across_the_book():
    labels = [label for found in ALL_EXERCISES.values() for label in found]
    assert len(labels) == len(set(labels))


def test_markdown_pages_have_no_untestable_exercises():
    """Solutions must run, so exercises live in notebooks only."""
    for page in BOOK.rglob("*.md"):
        if not {"_executed", "_build"} & set(page.parts):
            assert "{exercise-start}" not in page.read_text(), page


def test_every_computing_chapter_has_exercises_and_an_open_question():
    for name in CHAPTERS_WITH_EXERCISES:
        found = ALL_EXERCISES[name]
        assert len(found) >= 2, f"{name}: {len(found)} exercises"
        kinds = [kind for ex in found.values() for kind in ex["checks"]]
        assert "open_question" in kinds, f"{name} has no open question"
        assert "check_answer" in kinds, f"{name} has no checked answer"
    assert sum(len(found) for found in ALL_EXERCISES.values()) >= 14


# --- 3. every solution, executed and checked (slow) --------------------------------------

def published_execution(name: str) -> Path | None:
    """The published book's executed notebook ``name`` (``book/_executed``, as
    ``make book`` left it) if it is current: made from this source, these
    parameters, this package code and stored data. CI builds the book first,
    so its executions are checked here instead of executing every page again."""
    from tum2000.book.execute import data_hash, execution_key, package_hash, stored_key

    jobs = {source.relative_to(BOOK).with_suffix("").as_posix(): (source, values)
            for source, values in book.plan(root=ROOT)}
    source, values = jobs[name]
    executed = ROOT / "book" / "_executed" / source.relative_to(BOOK)
    current = execution_key(source, values, package_hash(), data_hash(ROOT))
    return executed if executed.is_file() and stored_key(executed) == current else None


@pytest.mark.slow
@pytest.mark.parametrize("name", WITH_EXERCISES)
def test_solutions_give_their_stated_answers_on_the_published_run(name, tmp_path):
    """Run the page as published (default preset, the page's seed) and check
    every solution's record: each checked answer holds, each open question is
    marked as open, and no exercise is missing."""
    executed = published_execution(name) or book.run_notebook(
        name, CHEAPER.get(name), tmp_path / f"{Path(name).name}.ipynb", progress=False, root=ROOT)
    checks = {check.label: check for check in collect(nbformat.read(executed, as_version=4))}
    expected = ALL_EXERCISES[name]
    assert set(checks) == set(expected), f"{name}: records {sorted(checks)}"
    for label, ex in expected.items():
        check = checks[label]
        if ex["checks"] == ["open_question"]:
            assert check.stated == "open question" and check.ok is None
        else:
            assert check.ok is True, (f"{name}: {label} states {check.stated!r}; this run: "
                                      f"{check.computed or check.reason!r}")
