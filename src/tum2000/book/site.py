"""The published site (``make site``) and the book's one repository URL.

``python -m tum2000.book.site`` builds exactly what is deployed to GitHub
Pages, into ``_build/site/``::

    _build/site/                          the published book (its index.html)
    _build/site/student/                  the student edition (no solutions, no launch buttons)
    _build/site/student/tum2000-student.zip   the student bundle
    _build/site/.nojekyll                 GitHub Pages serves _static/ as it is

The repository URL is one committed setting, ``repository.url`` in
``_config.yml`` (empty: no repository, issue or launch buttons).
``--repository-url URL`` overrides it for one build (the deploy workflow
passes the repository it runs in). ``--set-repository URL`` writes it into
``_config.yml`` *and* into the first cell of every book notebook: Colab
fetches only the ``.ipynb``, so the install cell must carry the URL itself.
That cell installs the package from the repository when it is missing
(Colab) and does nothing in a kernel that has it (a local one, or Binder,
whose ``postBuild`` installs it); the book hides it (``remove-cell``).

``--render-only`` renders the committed notebooks without executing them
(:func:`tum2000.book.build.render_unexecuted`), ``--linkcheck`` does so with
Sphinx's link checker: the weekly link check.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path

from tum2000.errors import BadInput

CONFIG = "_config.yml"
SITE = Path("_build") / "site"
STUDENT = "student"
BUNDLE = "tum2000-student.zip"

INSTALL_TAG = "tum2000-install"
"""Tag of the install cell, the first cell of every book notebook."""

URL_PATTERN = re.compile(r"https://github\.com/[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")
"""Colab opens notebooks from GitHub and Binder's ``gh`` provider builds GitHub
repositories: the URL is a GitHub repository's."""

INSTALL_CELL = '''\
# Set-up for Colab and Binder: install tum2000 where it is missing.
# In a kernel that has it (a local one, or Binder's) this cell does nothing.
TUM2000_REPOSITORY = {url!r}  # python -m tum2000.book.site --set-repository URL
import importlib.util
if importlib.util.find_spec("tum2000") is None:
    import subprocess, sys
    if not TUM2000_REPOSITORY:
        raise ModuleNotFoundError("tum2000 is not installed and this book has no "
                                  "repository URL to install it from")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                    f"git+{{TUM2000_REPOSITORY}}"], check=True)'''
URL_LINE = re.compile(r"^TUM2000_REPOSITORY = (?P<value>'[^']*'|\"[^\"]*\")", re.M)


def check_repository_url(url: str) -> str:
    """``url`` without a trailing slash or ``.git``, if it is empty or a
    GitHub repository's; else :class:`~tum2000.errors.BadInput`."""
    url = url.strip().rstrip("/")
    url = url[:-4] if url.endswith(".git") else url
    if url and not URL_PATTERN.fullmatch(url):
        raise BadInput(f"repository URL {url!r} is not a GitHub repository's "
                       "(allowed: https://github.com/OWNER/REPO, or empty for none)")
    return url


# --- the setting in _config.yml ------------------------------------------------------------

def configured_repository_url(root: Path) -> str:
    """``repository.url`` of ``_config.yml`` (``""`` when unset)."""
    import yaml

    config = yaml.safe_load((root / CONFIG).read_text(encoding="utf-8")) or {}
    return str(((config.get("repository") or {}).get("url")) or "")


REPOSITORY_BLOCK = re.compile(r"^repository:\n(?:[ \t]+.*\n|[ \t]*\n)*", re.M)
URL_SETTING = re.compile(r"^(?P<indent>[ \t]+)url:.*$", re.M)


def write_config_url(root: Path, url: str) -> None:
    """Write ``url`` into ``repository.url`` of ``_config.yml``, keeping its comments."""
    from tum2000.store.atomic import atomic_path

    path = root / CONFIG
    text = path.read_text(encoding="utf-8")
    block = REPOSITORY_BLOCK.search(text)
    if block is None:
        raise BadInput(f"{path} has no repository: block with a url setting")
    new_block, count = URL_SETTING.subn(lambda m: f"{m['indent']}url: \"{url}\"",
                                        block.group(0), count=1)
    if count != 1:
        raise BadInput(f"{path}: the repository: block has no url setting")
    with atomic_path(path) as tmp:
        tmp.write_text(text[:block.start()] + new_block + text[block.end():], encoding="utf-8")
    if configured_repository_url(root) != url:  # the edit must mean what it says
        raise RuntimeError(f"{path}: repository.url did not read back as {url!r}")


# --- the install cell of every notebook ----------------------------------------------------

def install_cell(url: str, cell_id: str = INSTALL_TAG) -> dict:
    """The install cell for ``url`` as notebook JSON."""
    return {"cell_type": "code", "execution_count": None, "id": cell_id,
            "metadata": {"tags": ["remove-cell", INSTALL_TAG]}, "outputs": [],
            "source": INSTALL_CELL.format(url=url)}


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _is_install_cell(cell: dict) -> bool:
    return INSTALL_TAG in (cell.get("metadata") or {}).get("tags", [])


def notebook_repository_url(path: Path) -> str | None:
    """The URL in a notebook's install cell (None: no install cell first)."""
    import ast

    cells = json.loads(path.read_text(encoding="utf-8")).get("cells") or []
    if not cells or not _is_install_cell(cells[0]):
        return None
    match = URL_LINE.search(_source(cells[0]))
    return None if match is None else ast.literal_eval(match["value"])


def write_install_cell(path: Path, url: str) -> bool:
    """Make the first cell of ``path`` the install cell for ``url`` (inserted if
    missing, rewritten if different); return True if the file changed.

    The notebook's JSON is edited as it is (one-space indentation, sources
    as strings, as the book's notebooks are stored), so the diff is the cell.
    """
    from tum2000.store.atomic import atomic_path

    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    cells = nb.setdefault("cells", [])
    if cells and _is_install_cell(cells[0]):
        if _source(cells[0]) == INSTALL_CELL.format(url=url):
            return False
        cells[0] = install_cell(url, cells[0].get("id", INSTALL_TAG))
    else:
        cells.insert(0, install_cell(url))
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


def set_repository(root: Path, url: str, notebooks: list[Path] | None = None) -> list[Path]:
    """Write ``url`` into ``_config.yml`` and into the install cell of every
    book notebook (or of ``notebooks``); return the notebooks changed."""
    from tum2000.book.layout import source_notebooks

    url = check_repository_url(url)
    targets = source_notebooks(root) if notebooks is None else notebooks
    write_config_url(root, url)
    return [path for path in targets if write_install_cell(path, url)]


# --- the site -------------------------------------------------------------------------------

def assemble(published: Path, student: Path, bundle: Path, site: Path) -> Path:
    """Put the published HTML, the student edition and its bundle into ``site``
    (replaced whole: assembled beside it, then renamed)."""
    staging = site.with_name(f".{site.name}.tmp")
    old = site.with_name(f".{site.name}.old")
    for leftover in (staging, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    try:
        shutil.copytree(published, staging)
        shutil.copytree(student, staging / STUDENT)
        shutil.copy2(bundle, staging / STUDENT / BUNDLE)
        (staging / ".nojekyll").write_text("")
        if site.exists():
            site.rename(old)
        staging.rename(site)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if old.exists() and not site.exists():
            old.rename(site)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return site


def build_site(root: str | os.PathLike | None = None, repository_url: str | None = None,
               quick: bool = False, progress: bool = True, force: bool = False,
               strict: bool = False) -> Path:
    """Build the published book and its student edition (with its bundle) and
    assemble ``_build/site`` (``quick``: the quick variant's, in
    ``_build/variant-quick/site``); return the site folder."""
    from tum2000.book.build import build
    from tum2000.book.layout import find_root

    root = Path(root).resolve() if root is not None else find_root()
    url = check_repository_url(configured_repository_url(root) if repository_url is None
                               else repository_url)
    common = dict(root=root, quick=quick, progress=progress, strict=strict,
                  repository_url=url)
    published = build(force=force, **common)
    student = build(student=True, **common)
    site = published.parent / "site"
    assemble(published, student, student.parent / BUNDLE, site)
    if progress:
        print(f"site: {site} (repository URL: {url or 'none'})", file=sys.stderr)
    return site


def make_parser() -> argparse.ArgumentParser:
    """The options of ``python -m tum2000.book.site``."""
    parser = argparse.ArgumentParser(
        prog="python -m tum2000.book.site",
        description="Build the deployed site (_build/site: the book, student/ with the "
                    "student bundle, .nojekyll), or set the book's repository URL.")
    parser.add_argument("--repository-url", metavar="URL",
                        help="repository for this build's buttons and launch links "
                             "(default: repository.url of _config.yml; empty: none)")
    parser.add_argument("--set-repository", metavar="URL",
                        help="write URL into _config.yml and every notebook's install cell, "
                             "then stop ('' removes it)")
    parser.add_argument("--quick", action="store_true", help="short simulations")
    parser.add_argument("--strict", action="store_true",
                        help="fail if the stored data does not verify (as CI builds)")
    parser.add_argument("--render-only", action="store_true",
                        help="render the committed notebooks without executing them "
                             "(_build/unexecuted/html)")
    parser.add_argument("--linkcheck", action="store_true",
                        help="check every link of the pages without executing anything "
                             "(_build/unexecuted/linkcheck/output.txt; exit 1 on a broken link)")
    parser.add_argument("--root", help="the book's root (default: found from here)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from tum2000.errors import Tum2000Error, exit_status

    args = make_parser().parse_args(argv)
    try:
        from tum2000.book.layout import check_root, find_root

        root = check_root(args.root) if args.root else find_root()
        if args.set_repository is not None:
            changed = set_repository(root, args.set_repository)
            print(f"repository URL {check_repository_url(args.set_repository) or '(none)'} "
                  f"written to {CONFIG} and {len(changed)} notebook(s)")
            return 0
        if args.repository_url is not None:
            check_repository_url(args.repository_url)  # before any work
        if args.render_only or args.linkcheck:
            from tum2000.book.build import render_unexecuted

            out = render_unexecuted(root, builder="linkcheck" if args.linkcheck else "html")
            print(out)
            return 0
        print(build_site(root, args.repository_url, quick=args.quick, strict=args.strict))
        return 0
    except KeyboardInterrupt:
        return 130
    except Tum2000Error as err:  # one line and the exit status, as the CLI does
        print(f"error: {err}", file=sys.stderr)
        return exit_status(err)


if __name__ == "__main__":
    sys.exit(main())
