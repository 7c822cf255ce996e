"""Serve MathJax 3 from the built book itself: equations render offline.

Sphinx loads MathJax from a CDN by default, so a reader without internet (a
laptop in a lecture hall, the test browser with the network blocked) sees raw
TeX. Here ``mathjax_path`` (``_config.yml``) points into ``_static/mathjax/``,
and this extension copies MathJax 3 there after each HTML build, from the
files of the PyPI package ``sphinx-mathjax-offline`` (pinned; it ships
MathJax 3.2.2; nothing of MathJax is committed). Its package folder has a
hyphen, so it is located through its distribution's file list rather than
imported. Only the parts a TeX-input, CommonHTML-output page can load are
copied (the combined component, the TeX extensions it autoloads, the CHTML
fonts, the context menu and its accessibility components).
"""

from __future__ import annotations

from pathlib import Path

from sphinx.errors import ExtensionError

DISTRIBUTION = "sphinx-mathjax-offline"
ENTRY = "tex-chtml.js"
KEEP = (ENTRY, "input/", "output/chtml", "a11y/", "sre/", "ui/")
"""Paths (relative to MathJax's folder) copied into the book."""


def mathjax_folder() -> Path:
    """The folder of MathJax 3 inside the installed ``sphinx-mathjax-offline``."""
    from importlib import metadata

    try:
        files = metadata.distribution(DISTRIBUTION).files or []
    except metadata.PackageNotFoundError:
        raise ExtensionError(f"offline maths needs the package {DISTRIBUTION} "
                             "(pip install -r requirements.txt, or pip install 'tum2000[book]')")
    for entry in files:
        if entry.name == ENTRY and entry.parent.name == "mathjax":
            return Path(entry.locate()).parent
    raise ExtensionError(f"{DISTRIBUTION} has no mathjax/{ENTRY}")


def _copy(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import shutil

    source = mathjax_folder()
    target = Path(app.outdir) / "_static" / "mathjax"
    for item in KEEP:
        matches = [p for p in source.glob(item.rstrip("/") + "*")
                   if p.relative_to(source).as_posix().startswith(item.rstrip("/"))]
        if not matches:
            raise ExtensionError(f"{DISTRIBUTION}: {item} missing from {source}")
        for top in matches:
            for path in [top] if top.is_file() else sorted(top.rglob("*")):
                dest = target / path.relative_to(source)
                if path.is_file() and (not dest.is_file()
                                       or dest.stat().st_size != path.stat().st_size):
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, dest)


def _check(app, config) -> None:
    expected = f"mathjax/{ENTRY}"
    if config.mathjax_path != expected:
        raise ExtensionError(f"offline maths: set mathjax_path: {expected} in _config.yml "
                             f"(found {config.mathjax_path!r}, which a reader may not reach)")
    mathjax_folder()


def setup(app):
    app.connect("config-inited", _check)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
