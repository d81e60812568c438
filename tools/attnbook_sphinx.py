"""A small Sphinx extension that keeps the built book's browser console clean.

Loaded by `_config.yml` (``sphinx: local_extensions: {attnbook_sphinx: tools/}``).

Sphinx 7.4 writes an inline script twice when an extension registers it after
the builder started (sphinx-thebe and sphinx-togglebutton do): the builder
stores it with ``filename=None`` and, when writing starts, adds the registry's
copy again as ``filename=''``, which compares unequal. For sphinx-thebe's
``const THEBE_JS_URL = ...`` the second copy is a SyntaxError in every page
("Identifier 'THEBE_JS_URL' has already been declared"). We drop the repeats
just before each page is written.
"""
from __future__ import annotations

from typing import Any


def _dedupe_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    files = getattr(app.builder, "_js_files", None)
    if not isinstance(files, list):
        return
    seen = set()
    unique = []
    for js in files:
        attrs = getattr(js, "attributes", {}) or {}
        key = (getattr(js, "filename", None) or "", tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    files[:] = unique  # in place: the page context holds this very list


def setup(app: Any) -> dict:
    # run after every other html-page-context handler (myst-nb adds the widget JS there)
    app.connect("html-page-context", _dedupe_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
