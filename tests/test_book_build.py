"""Execute every notebook with papermill (quick parameters), build the book with
warnings as errors, and open every page in headless Chromium.

Slow (about two minutes on two cores with an empty cache): marked ``book``.
The build happens once per session, in a copy of the book's sources in a
temporary directory, so the checkout's own ``book/_executed`` is untouched.
"""

from __future__ import annotations

import ast
import functools
import html as html_module
import http.server
import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import nbformat
import pytest

from tum2000 import book

SMART_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})

pytestmark = pytest.mark.book
SOURCE_ROOT = book.find_root(Path(__file__).parent)

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  # No internet in CI: external hosts (MathJax's CDN) fail at once.
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]

# Injected into every served HTML page: collects script errors and failed
# resource loads, then (after the load event) checks every image and writes a
# JSON report into the DOM, which --dump-dom prints.
PROBE = """<script>
window.__tum2000 = [];
window.addEventListener('error', function (e) {
  var t = e.target;
  if (t && t !== window && (t.src || t.href)) { window.__tum2000.push('load failed: ' + (t.src || t.href)); }
  else { window.__tum2000.push('script error: ' + e.message + ' at ' + e.filename + ':' + e.lineno); }
}, true);
window.addEventListener('load', function () { setTimeout(function () {
  var bad = [];
  Array.prototype.forEach.call(document.images, function (i) {
    if (!(i.complete && i.naturalWidth > 0)) { bad.push(i.currentSrc || i.src); } });
  var out = document.createElement('pre'); out.id = 'tum2000-probe';
  out.textContent = JSON.stringify({errors: window.__tum2000, bad_images: bad,
                                    images: document.images.length});
  document.body.appendChild(out);
}, 500); });
</script>"""


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """(root, html directory) of a quick build of a copy of the book."""
    root = tmp_path_factory.mktemp("book_root")
    shutil.copy(SOURCE_ROOT / "_config.yml", root)
    shutil.copy(SOURCE_ROOT / "_toc.yml", root)
    shutil.copytree(SOURCE_ROOT / "book", root / "book",
                    ignore=shutil.ignore_patterns("_executed", ".ipynb_checkpoints"))
    html = book.build(quick=True, root=root, progress=False)
    return root, html


def _executed(root: Path) -> list[Path]:
    return sorted((root / book.EXECUTED).rglob("*.ipynb"))


def _glue_values(nb) -> dict[str, object]:
    values = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            plain = (meta or {}).get("mime_prefix", "") + "text/plain"
            if meta and "image/png" not in str(output.get("data", {})) \
                    and plain in output.get("data", {}):
                text = output["data"][plain]
                try:
                    values[meta["name"]] = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    values[meta["name"]] = text
            elif meta:
                values[meta["name"]] = None  # a figure
    return values


def _glue_uses(nb) -> list[tuple[str, str]]:
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return re.findall(r"\{glue:text\}`([\w]+)(?::([^`]*))?`", text)


def test_every_notebook_was_executed_with_quick_parameters(built_book):
    root, _ = built_book
    executed = {p.relative_to(root / book.EXECUTED) for p in _executed(root)}
    sources = {p.relative_to(root / "book") for p in book.source_notebooks(root)}
    assert executed == sources
    for path in _executed(root):
        nb = nbformat.read(path, as_version=4)
        meta = nb.metadata["tum2000"]
        declared = book.declared_parameters(root / "book" / path.relative_to(root / book.EXECUTED))
        if "duration_ms" in declared:
            assert meta["parameters"]["duration_ms"] == 1200.0


def test_executed_notebooks_have_no_errors_and_all_glued_values(built_book):
    root, _ = built_book
    for path in _executed(root):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                assert output["output_type"] != "error", f"{path.name}: {output.get('ename')}"
        values = _glue_values(nb)
        for key, _ in _glue_uses(nb):
            assert key in values, f"{path.name}: glue key {key} missing"


def test_rebuild_without_changes_executes_nothing(built_book):
    root, _ = built_book
    before = {p: p.stat().st_mtime_ns for p in _executed(root)}
    book.execute_all(quick=True, root=root, progress=False)
    assert before == {p: p.stat().st_mtime_ns for p in _executed(root)}


def test_every_toc_page_was_rendered(built_book):
    root, html = built_book
    for entry in book.toc_files(root):
        assert (html / f"{entry}.html").is_file(), entry
    assert (html / "index.html").is_file()


class _Handler(http.server.SimpleHTTPRequestHandler):
    failures: list[str] = []

    def log_message(self, *args):  # quiet
        pass

    def send_error(self, code, message=None, explain=None):
        if not self.path.endswith("favicon.ico"):
            _Handler.failures.append(f"{code} {self.path}")
        super().send_error(code, message, explain)

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if path.suffix == ".html" and path.is_file():
            body = path.read_text(encoding="utf-8").replace("<head>", "<head>" + PROBE, 1)
            data = body.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()


@pytest.fixture(scope="session")
def served_book(built_book):
    _, html = built_book
    handler = functools.partial(_Handler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", html
    server.shutdown()
    server.server_close()


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("headless Chromium is not installed (Debian package 'chromium')")


def _expected_texts(root: Path, entry: str) -> list[str]:
    """The glued numbers, formatted as the page's {glue:text} roles format them."""
    path = root / f"{entry}.ipynb"
    if not path.exists():
        return []
    nb = nbformat.read(path, as_version=4)
    values = _glue_values(nb)
    texts = []
    for key, fmt in _glue_uses(nb):
        value = values[key]
        texts.append(format(value, fmt) if fmt else str(value))
    return texts


def test_every_page_loads_in_chromium_with_images_and_glued_numbers(built_book, served_book,
                                                                    tmp_path):
    root, _ = built_book
    base, html = served_book
    chromium = _chromium()
    problems = []
    for entry in book.toc_files(root):
        _Handler.failures.clear()
        url = f"{base}/{entry}.html"
        # A loaded machine can end Chromium's virtual-time budget before the load
        # event: retry (with a fresh profile) before calling the page broken.
        for attempt in range(3):
            result = subprocess.run(
                [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / f'profile{attempt}'}",
                 "--virtual-time-budget=20000", "--dump-dom", url],
                capture_output=True, text=True, timeout=120)
            match = re.search(r'<pre id="tum2000-probe">(.*?)</pre>', result.stdout, re.S)
            if match:
                break
        if not match:
            problems.append(f"{entry}: no probe report (exit {result.returncode}): "
                            f"{result.stderr.strip()[-300:]}")
            continue
        report = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&")
                            .replace("&lt;", "<").replace("&gt;", ">"))
        local = [e for e in report["errors"] if "127.0.0.1" in e or "script error" in e]
        # External scripts (e.g. MathJax from its CDN) cannot load without internet.
        local = [e for e in local if "at :0" not in e and "Script error." not in e]
        if local:
            problems.append(f"{entry}: {local}")
        if report["bad_images"]:
            problems.append(f"{entry}: images not loaded: {report['bad_images']}")
        if _Handler.failures:
            problems.append(f"{entry}: server errors {_Handler.failures}")
        # Sphinx turns straight quotes into typographic ones ("smartquotes").
        text = html_module.unescape(re.sub(r"<[^>]+>", "", result.stdout))
        text = text.translate(SMART_QUOTES)
        for expected in _expected_texts(root, entry):
            if "**" in expected or "`" in expected:
                problems.append(f"{entry}: glued text {expected[:60]!r}... has Markdown, "
                                "which {glue:text} shows literally")
            if expected not in text:
                problems.append(f"{entry}: glued value {expected!r} not on the page")
        if entry.endswith(("intro", "figure1", "panel_a_raster", "panel_b_activity",
                           "panel_c_recovered", "reproducibility", "parameters")):
            if report["images"] == 0:
                problems.append(f"{entry}: no image on the page")
    assert not problems, "\n".join(problems)


def test_student_edition_has_the_exercises_but_no_solutions(built_book, tmp_path):
    root, teacher_html = built_book
    student_html = book.build(quick=True, root=root, student=True, output_dir=tmp_path,
                              progress=False)
    pages = [p.relative_to(teacher_html) for p in teacher_html.rglob("*.html")
             if "exercise-start" in p.read_text() or 'class="admonition solution' in p.read_text()
             or "solution dropdown" in p.read_text()]
    assert pages, "the book has no exercises with solutions"
    for page in pages:
        teacher, student = (teacher_html / page).read_text(), (student_html / page).read_text()
        assert 'class="solution' in teacher and 'class="exercise' in student, page
        assert 'class="solution' not in student and "-solution-" not in student, page
