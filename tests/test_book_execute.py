"""Executing a notebook: the kernel is this Python over ipc, a failure never
replaces the previous good result, and the command line reports in one line.

A tiny notebook written here (no simulation): two kernel starts, seconds.
"""

from __future__ import annotations

import subprocess
import sys

import nbformat


def _notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x: int = 1  # a number that must be 1",
                                          metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"),
                nbformat.v4.new_code_cell("from tum2000.store.atomic import atomic_path\n"
                                          "with atomic_path('side.txt') as tmp:\n"
                                          "    tmp.write_text(str(x))"),
                nbformat.v4.new_code_cell("assert x == 1, 'x must be 1'")]
    nb.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "none",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def _tum(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tum2000.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_failed_run_keeps_the_previous_result_and_reports_one_line(tmp_path):
    source = _notebook(tmp_path / "tiny.ipynb")
    out = tmp_path / "out" / "tiny.ipynb"
    good = _tum("run", source, "--out", out, "--no-progress", cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    # This Python, whatever kernel the notebook names; ipc: no TCP warning.
    executed = nbformat.read(out, as_version=4)
    code = [cell for cell in executed.cells if cell.cell_type == "code"]  # the box is markdown
    assert code[1].outputs[0]["text"].strip() == sys.executable
    assert "without encryption" not in good.stderr
    assert executed.metadata["tum2000"]["parameters"] == {}
    before = out.read_bytes()
    assert (out.parent / "side.txt").read_text() == "1"

    bad = _tum("run", source, "--set", "x=2", "--out", out, "--no-progress", cwd=tmp_path)
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1, bad.stderr
    assert "tiny.ipynb failed in cell" in lines[0] and "AssertionError: x must be 1" in lines[0]
    assert out.read_bytes() == before  # the previous good result is untouched
    assert (out.parent / "side.txt").read_text() == "1"  # so is the file a cell rewrote
    failed = out.with_suffix(".failed.ipynb")
    assert "x must be 1" in failed.read_text()
    assert sorted(p.name for p in out.parent.iterdir()) == ["side.txt", "tiny.failed.ipynb",
                                                             "tiny.ipynb"]
