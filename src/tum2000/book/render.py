"""Render one edition with Jupyter Book 1.x into a given HTML folder.

``jupyter-book build`` always writes to ``<path-output>/_build/html``; the
editions need their own folders (``_build/student/html``, ...), so this calls
the function behind that command, ``jupyter_book.sphinx.build_sphinx``, with
the same arguments it would pass (the table of contents, nitpicky, warnings
as errors, keep going). Run as a child process (``python -m
tum2000.book.render``) so that an interruption stops Sphinx cleanly and
Sphinx's global state never leaks into the caller.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tum2000.book.render")
    parser.add_argument("source", help="folder Jupyter Book reads")
    parser.add_argument("html", help="HTML output folder")
    parser.add_argument("--config", required=True, help="the generated _config.yml")
    parser.add_argument("--toc", required=True, help="_toc.yml")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--builder", default="html", help="Sphinx builder (html, linkcheck)")
    parser.add_argument("--allow-warnings", action="store_true",
                        help="warnings do not fail the build (rendering without executing)")
    args = parser.parse_args(argv)

    from jupyter_book.sphinx import build_sphinx

    result = build_sphinx(Path(args.source).resolve(), Path(args.html).resolve(),
                          noconfig=True, path_config=str(Path(args.config).resolve()),
                          confoverrides={"external_toc_path": Path(args.toc).resolve().as_posix(),
                                         "latex_individualpages": False, "nitpicky": True},
                          builder=args.builder, warningiserror=not args.allow_warnings,
                          keep_going=True,
                          quiet=args.quiet)
    if isinstance(result, BaseException):
        print(f"error: {type(result).__name__}: {result}", file=sys.stderr)
        return 1
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
