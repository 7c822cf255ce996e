"""The "parameters of this page" box of an executed notebook.

Papermill leaves two code cells at the top of an executed notebook: the one
tagged ``parameters`` (the declared defaults) and, when values were given,
``injected-parameters`` (the values that replaced them). A reader of the
rendered page would see both values of a changed parameter. The executed
notebook therefore gets one markdown box with the values in force, each
changed one marked with the published book's value; the two code cells stay
in the notebook (Jupyter still runs them) but are not rendered
(``remove-cell``).
"""

from __future__ import annotations

import re

from typing import Any, Mapping

BOX_TAG = "tum2000-parameters"
"""Tag of the box's markdown cell (one per executed notebook)."""
HIDDEN_TAGS = ("parameters", "injected-parameters")


def format_value(value: Any) -> str:
    """A value as the reader would type it after ``--set NAME=``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


COMMAND = re.compile(r"(?<!`)\b(tum2000 [a-z]+(?: --?[a-z][a-z-]*)*)")
"""A ``tum2000`` command inside a parameter's help text."""


def _help_cell(text: str) -> str:
    """Help text for the box; commands as code, so that the page prints ``--``
    (Sphinx turns ``--`` in prose into an en-dash, which breaks a copied command)."""
    return COMMAND.sub(r"`\1`", _cell(text))


def box_markdown(notebook: str, declared: Mapping[str, tuple[Any, Any, str]],
                 values: Mapping[str, Any]) -> str:
    """The MyST text of the box: one row per declared parameter, values in force.

    ``declared``: ``{name: (type, default, help)}``; ``values``: the given
    (checked) values. A value that differs from the declared default (the
    published book's) is shown in bold with the default beside it.
    """
    changed = [name for name in declared
               if name in values and values[name] != declared[name][1]]
    rows = []
    for name, (_, default, help_) in declared.items():
        if name in changed:
            value = (f"**`{_cell(format_value(values[name]))}`** "
                     f"(published book: `{_cell(format_value(default))}`)")
        else:
            value = f"`{_cell(format_value(values.get(name, default)))}`"
        rows.append(f"| `{name}` | {value} | {_help_cell(help_.strip())} |")
    title = "Parameters of this page"
    if changed:
        title += (f": {len(changed)} differ{'s' if len(changed) == 1 else ''} "
                  "from the published book")
    example = changed[0] if changed else next(iter(declared), None)
    rerun = ""
    if example is not None:
        rerun = (f"\n\nRe-execute this page with other values: `tum2000 run {notebook} --set "
                 f"{example}=...` (`tum2000 params {notebook}` lists what each one allows).")
    return "\n".join([
        f":::{{admonition}} {title}",
        f":class: {BOX_TAG}" + ("" if changed else " dropdown"),
        "",
        "| parameter | value | meaning |",
        "|:--|:--|:--|",
        *rows,
    ]) + rerun + "\n:::"


def show_parameters(nb, notebook: str, declared: Mapping[str, tuple[Any, Any, str]],
                    values: Mapping[str, Any]) -> None:
    """Put the box into the executed notebook ``nb`` (in place; idempotent)."""
    import nbformat

    nb.cells = [c for c in nb.cells if BOX_TAG not in c.metadata.get("tags", [])]
    last = None
    for index, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags", [])
        if any(tag in tags for tag in HIDDEN_TAGS):
            if "remove-cell" not in tags:
                cell.metadata["tags"] = [*tags, "remove-cell"]
            last = index
    if last is None or not declared:
        return
    box = nbformat.v4.new_markdown_cell(box_markdown(notebook, declared, values),
                                        metadata={"tags": [BOX_TAG]})
    if "id" in nb.cells[0]:
        box["id"] = BOX_TAG  # stable: the same parameters give the same notebook
    else:
        box.pop("id", None)  # a notebook of nbformat < 4.5 has no cell ids
    nb.cells.insert(last + 1, box)
