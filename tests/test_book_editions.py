"""Editions and variants each in their own folders; progress lines; solutions
removed from notebooks and pages.

A tiny book (one notebook that sleeps and prints, one page with an exercise
and a gated solution whose code cell has an output), built for real: the
published book, its student edition and a variant, with papermill and Jupyter
Book (about a minute; marked ``book``). The stripping itself is tested on
text (fast).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import nbformat
import pytest

from tum2000 import book
from tum2000.book import solutions

SOURCE_ROOT = book.find_root(Path(__file__).parent)

EXERCISE = """
```{exercise-start}
:label: ex-tiny
```

What is two times x? Predict, then run the cell.

```{exercise-end}
```

```{solution-start} ex-tiny
:class: dropdown
```

Doubling gives the answer wombatfrequency below.
"""
SOLUTION_CODE = "print('the hidden answer is', 2 * x, 'platypus')"
SOLUTION_END = "```{solution-end}\n```\n\nText after the solution stays."
PAGE = """# A page

Maths: $\\tau_\\text{rec}$.

:::{exercise} Count the spikes
:label: ex-page
How many?
:::

::::{solution} ex-page
:class: dropdown
Seventeen echidnas, always.
```python
print("nested fence inside the solution")
```
::::

The end of the page.
"""


def _tiny_book(root: Path) -> Path:
    (root / "book" / "_ext").mkdir(parents=True)
    for ext in (SOURCE_ROOT / "book" / "_ext").glob("*.py"):
        shutil.copy(ext, root / "book" / "_ext")
    shutil.copy(SOURCE_ROOT / "_config.yml", root)
    shutil.copy(SOURCE_ROOT / "book" / "references.bib", root / "book")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/_executed/tiny\n"
                                   "chapters:\n  - file: book/_executed/page\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Tiny\n\nThe value is $x$."),
        nbformat.v4.new_code_cell("x: int = 1  # a number to double",
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import sys, time\nfor step in range(4):\n"
                                  "    print(f'step {step} of 4', file=sys.stderr, flush=True)\n"
                                  "    time.sleep(0.6)"),
        nbformat.v4.new_markdown_cell(EXERCISE),
        nbformat.v4.new_code_cell(SOLUTION_CODE),
        nbformat.v4.new_markdown_cell(SOLUTION_END),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, root / "book" / "tiny.ipynb")
    (root / "book" / "page.md").write_text(PAGE)
    return root


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny_builds(tmp_path_factory):
    """The published book, then its student edition, then a variant (x = 2)."""
    root = _tiny_book(tmp_path_factory.mktemp("tiny"))
    published = book.build(root=root, progress=False)
    before = {"html": _digest(published), "executed": _digest(root / book.EXECUTED)}
    student = book.build(root=root, student=True, progress=False)
    variant = book.build(root=root, parameters={"x": 2}, progress=False)
    return root, published, student, variant, before


@pytest.mark.book
def test_editions_and_variants_do_not_overwrite_each_other(tiny_builds):
    root, published, student, variant, before = tiny_builds
    assert published == root / "_build" / "html"
    assert student == root / "_build" / "student" / "html"
    assert variant == root / "_build" / "variant-x-2" / "html"
    # Building the student edition and the variant changed nothing of the published book.
    assert _digest(published) == before["html"]
    assert _digest(root / book.EXECUTED) == before["executed"]
    executed = root / "_build" / "variant-x-2" / "source" / book.EXECUTED / "tiny.ipynb"
    assert nbformat.read(executed, as_version=4).metadata["tum2000"]["parameters"] == {"x": 2}
    published_nb = nbformat.read(root / book.EXECUTED / "tiny.ipynb", as_version=4)
    assert published_nb.metadata["tum2000"]["parameters"] == {}
    assert "the hidden answer is 4" in (variant / "book/_executed/tiny.html").read_text()
    assert "the hidden answer is 2" in (published / "book/_executed/tiny.html").read_text()
    assert (root / "_build" / "student" / "tum2000-student.zip").is_file()


@pytest.mark.book
def test_published_book_has_the_box_and_no_banner_a_variant_both(tiny_builds):
    root, published, _, variant, _ = tiny_builds
    page = (published / "book/_executed/tiny.html").read_text()
    assert page.count("tum2000-parameters") == 1 and "a number to double" in page
    assert "Variant book" not in page and "x = 1  #" not in page
    for html in variant.rglob("*.html"):
        text = html.read_text()
        if text.startswith('<meta http-equiv="Refresh"') or "_static" in html.parts:
            continue  # index.html (a redirect) and the theme's templates
        assert "Variant book" in text and "x = 2" in text, html
    page = (variant / "book/_executed/tiny.html").read_text()
    assert page.count("tum2000-parameters") == 1
    assert "published book: <code" in page  # x's published value beside the one in force


@pytest.mark.book
def test_student_edition_of_the_tiny_book_holds_no_solution(tiny_builds):
    root, published, student, _, _ = tiny_builds
    folder = student.parent
    secrets = ("wombatfrequency", "hidden answer", "platypus", "Seventeen echidnas",
               "nested fence inside")
    teacher_text = "".join(p.read_text(errors="ignore") for p in published.rglob("*")
                           if p.is_file() and p.suffix in (".html", ".ipynb", ".md", ".js"))
    assert all(secret in teacher_text for secret in secrets)  # the check can fail
    import zipfile

    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                texts = [zf.read(n).decode(errors="ignore") for n in zf.namelist()]
        else:
            texts = [path.read_bytes().decode(errors="ignore")]
        for text in texts:
            for secret in secrets:
                assert secret not in text, (path, secret)
    page = (student / "book/_executed/tiny.html").read_text()
    assert 'id="ex-tiny"' in page and "Predict, then run the cell" in page
    assert "Text after the solution stays" in page
    other = (student / "book/_executed/page.html").read_text()
    assert 'id="ex-page"' in other and "The end of the page" in other


@pytest.mark.book
def test_book_build_reports_progress_of_a_long_notebook(tmp_path, capfd, monkeypatch):
    """One line per notebook with the elapsed time, and while a notebook runs a
    line every HEARTBEAT_S seconds naming its cell and the kernel's last output."""
    import importlib

    monkeypatch.setattr(importlib.import_module("tum2000.book.execute"), "HEARTBEAT_S", 0.5)
    root = _tiny_book(tmp_path)
    book.execute_all(root=root, progress=True)
    err = capfd.readouterr().err
    assert "[1/1 0:00] executing tiny.ipynb" in err
    assert "tiny: cell 2 of 3" in err and "step " in err and "of 4" in err
    assert "done in" in err


# --- stripping on text (fast) --------------------------------------------------------------------

def test_strip_notebook_removes_gated_solutions_with_their_code_cells():
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell(SOLUTION_CODE)
    code.outputs = [nbformat.v4.new_output("stream", text="the hidden answer is 2 platypus\n")]
    nb.cells = [nbformat.v4.new_markdown_cell(EXERCISE), code,
                nbformat.v4.new_markdown_cell(SOLUTION_END),
                nbformat.v4.new_code_cell("print('kept')")]
    assert solutions.strip_notebook(nb) == 1
    text = nbformat.writes(nb)
    assert "wombat" not in text and "platypus" not in text
    assert "{solution-start}" not in text and "{solution-end}" not in text
    assert "Predict, then run the cell" in text and "Text after the solution stays" in text
    assert "print('kept')" in text


def test_strip_text_removes_solution_directives_with_nested_fences():
    text, count = solutions.strip_text(PAGE)
    assert count == 1
    assert "echidnas" not in text and "nested fence" not in text
    assert "How many?" in text and "The end of the page." in text


def test_an_unclosed_solution_is_refused():
    with pytest.raises(solutions.UnclosedSolution, match="never closed"):
        solutions.strip_text("```{solution-start} ex\n```\nanswer\n")
    with pytest.raises(solutions.UnclosedSolution):
        solutions.strip_text(":::{solution} ex\nanswer\n")


def test_student_build_refuses_an_unclosed_solution_with_status_2(tmp_path):
    """Checked before anything runs: exit status 2, one line naming the page, nothing written."""
    import subprocess
    import sys

    root = _tiny_book(tmp_path)
    (root / "book" / "page.md").write_text(PAGE.replace("::::\n\nThe end", "\nThe end"))
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    result = subprocess.run([sys.executable, "-m", "tum2000.cli", "book", "--student",
                             "--root", str(root)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "page.md" in lines[0] and "never closed" in lines[0], lines
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_build_code_changes_re_render_but_do_not_re_execute():
    """The execution key hashes what a notebook's outputs depend on: the package,
    not the modules that only render or stage executed notebooks."""
    import importlib

    execute = importlib.import_module("tum2000.book.execute")

    package = execute.PACKAGE_DIR
    for name in execute.AFTER_EXECUTION:
        assert (package / name).is_file(), name
    hashed = {p.relative_to(package).as_posix() for p in package.rglob("*.py")} \
        - execute.AFTER_EXECUTION
    assert {"book/execute.py", "book/parameters_box.py", "model/simulation.py"} <= hashed


def test_variant_names_are_short_and_stable():
    assert book.variant_name() is None
    assert book.variant_name("classes/my.yml").startswith("my-")  # + a hash of the path
    assert book.variant_name(parameters={"seed": 2}) == "seed-2"
    assert book.variant_name(quick=True) == "quick"
    long = {"I_b_spread_mV": 0.75, "panel_a_raster": {"sort_by_I_b": True}}
    assert book.variant_name(parameters=long) == book.variant_name(parameters=dict(long))
    assert book.variant_name(parameters=long).startswith("set-")
    assert len(book.variant_name(parameters=long)) <= 12
