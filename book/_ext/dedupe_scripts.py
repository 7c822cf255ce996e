"""Drop duplicate inline scripts from every HTML page.

With Jupyter Book 1.0.4 (Sphinx 7, sphinx-thebe 0.3.1) the inline script that
declares ``const THEBE_JS_URL`` is added twice to each page, and the browser
reports "Identifier 'THEBE_JS_URL' has already been declared". This keeps the
first copy of each identical script.
"""


def _dedupe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        # Sphinx 7 assets: an inline script has filename None or "" and a body.
        filename = getattr(script, "filename", str(script)) or ""
        key = (filename, repr(getattr(script, "attributes", None)))
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
