"""Glued text in the weight of the sentence around it.

myst-nb sets every ``{glue:text}`` value in bold (``span.pasted-text``). This
book glues whole sentences, so that its prose can branch on the run; in bold
they read as shouting. A small stylesheet, written into the HTML output's
``_static`` folder, sets them in the surrounding weight.
"""

from pathlib import Path

CSS_NAME = "tum2000-glued-text.css"
CSS = "span.pasted-text { font-weight: inherit; }\n"


def _write_css(app, exception):
    if exception is None and app.builder.format == "html":
        static = Path(app.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        (static / CSS_NAME).write_text(CSS, encoding="utf-8")


def setup(app):
    app.add_css_file(CSS_NAME)
    app.connect("build-finished", _write_css)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
