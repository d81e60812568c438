"""Copy the JavaScript the built book serves itself from book/node_modules into book/vendor/.

    python tools/vendor_js.py          (run by `make book` after `npm ci` in book/)

The book's pages must work offline and make no request outside the book, so the
widget manager, require.js, anywidget's front end and MathJax 3 are installed
from npm (pinned in book/package.json + package-lock.json) and copied here; then
`html_static_path: [book/vendor]` in _config.yml publishes them as
`_build/html/_static/attnbook-js/...`. The folder is deliberately not a source
folder named `_static`: Jupyter Book 1 would inject every .js file in such a
folder into every page.

Layout of book/vendor/attnbook-js/:

    require.js                   requirejs (AMD loader the widget manager needs)
    setup-widgets.js             ours: points requirejs at the local anywidget,
                                 keeps the widget manager off CDNs, MathJax 2 shim
    html-manager/embed-amd.js    @jupyter-widgets/html-manager (+ its font files)
    anywidget/index.js           anywidget's AMD front end (AnyModel / AnyView)
    ort/ort.wasm.min.mjs         onnxruntime-web (ES module, WebAssembly back end only) and
    ort/ort-wasm-simd-threaded.* its WebAssembly runtime: run by the live views (the
                                 reader types, the chapter's model answers in the page);
                                 fetched only when a live view is first used
    mathjax/...                  MathJax 3 (es5 build: tex-mml-chtml.js, fonts, extensions)
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
MODULES = BOOK / "node_modules"
DEST = BOOK / "vendor" / "attnbook-js"
SETUP_JS = BOOK / "setup-widgets.js"

# MathJax's es5 folder holds several complete bundles; the pages load one
# (tex-mml-chtml.js, Sphinx's default) and whatever it loads lazily
# (fonts, TeX extensions via \require or autoload, the accessibility menu).
MATHJAX_SKIP = {
    "tex-chtml-full-speech.js", "tex-chtml-full.js", "tex-chtml.js", "tex-mml-svg.js",
    "tex-svg-full.js", "tex-svg.js", "mml-svg.js", "mml-chtml.js", "node-main.js",
    "latest.js",
}


# onnxruntime-web: the ES module of the WebAssembly-only build, the loader it imports and the
# (SIMD, thread-capable) WebAssembly binary. The pages run it on one thread: GitHub Pages sends
# no COOP/COEP headers, without which browsers refuse shared memory.
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")


def _version(package: str) -> str:
    return json.loads((MODULES / package / "package.json").read_text())["version"]


def _copy(src: Path, dst: Path) -> int:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)
    return src.stat().st_size


def main() -> int:
    if not MODULES.is_dir():
        print("book/node_modules is missing: run `cd book && npm ci` first (make does).", file=sys.stderr)
        return 1
    if DEST.exists():
        shutil.rmtree(DEST)
    total = 0
    total += _copy(MODULES / "requirejs" / "require.js", DEST / "require.js")
    total += _copy(SETUP_JS, DEST / "setup-widgets.js")

    manager = MODULES / "@jupyter-widgets" / "html-manager" / "dist"
    total += _copy(manager / "embed-amd.js", DEST / "html-manager" / "embed-amd.js")
    for font in manager.iterdir():  # font-awesome files the manager's CSS refers to
        if font.suffix in {".woff2", ".woff", ".ttf", ".eot", ".svg"}:
            total += _copy(font, DEST / "html-manager" / font.name)

    total += _copy(MODULES / "anywidget" / "dist" / "index.js", DEST / "anywidget" / "index.js")

    ort = MODULES / "onnxruntime-web" / "dist"
    for name in ORT_FILES:
        total += _copy(ort / name, DEST / "ort" / name)

    mathjax = MODULES / "mathjax" / "es5"
    for path in sorted(mathjax.rglob("*")):
        rel = path.relative_to(mathjax)
        if path.is_dir() or rel.name in MATHJAX_SKIP or rel.parts[:2] == ("output", "svg"):
            continue
        total += _copy(path, DEST / "mathjax" / rel)

    versions = {p: _version(p) for p in ("@jupyter-widgets/html-manager", "anywidget", "requirejs", "mathjax",
                                         "onnxruntime-web")}
    (DEST / "VERSIONS.json").write_text(json.dumps(versions, indent=2) + "\n")
    print(f"vendored {total / 1e6:.1f} MB of JavaScript into {DEST.relative_to(ROOT)}: "
          + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
