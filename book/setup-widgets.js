// Loaded (by nb_ipywidgets_js in _config.yml) on every page that holds widgets,
// after require.js and before the ipywidgets HTML manager (embed-amd.js).
// Copied into _build/html/_static/attnbook-js/ by tools/vendor_js.py.
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script.src.replace(/[^/]*$/, ""); // .../_static/attnbook-js/
  // The live views (attnbook.widgets.live) load onnxruntime-web from here, the
  // first time one is used; their code runs from a blob: URL, so it cannot find
  // the book's files by a relative path. Without this (Jupyter, Colab) they ask the kernel.
  window.attnbookAssets = base;

  // 1. Widget modules come from the book itself, never from a CDN.
  //    The HTML manager first asks requirejs for a module by name ("anywidget"),
  //    which this mapping resolves to the copy served with the book.
  //    The two @jupyter-widgets entries only give the manager's bundled modules
  //    (defined inside embed-amd.js) a URL next to their font files, which the
  //    manager's CSS loads relative to the module's URL.
  window.requirejs.config({
    paths: {
      anywidget: base + "anywidget/index",
      "@jupyter-widgets/html-manager/dist": base + "html-manager",
      "@jupyter-widgets": base + "html-manager",
    },
  });
  //    Only for a module that is not mapped does the manager fall back to the
  //    "CDN" named by a data-jupyter-widgets-cdn attribute; point that at the
  //    book too, so a missing module is a local 404 and never an outside request.
  script.setAttribute("data-jupyter-widgets-cdn", base + "npm/");
  //    The manager's own fonts sit next to it.
  window.__jupyter_widgets_assets_path__ = base + "html-manager/";

  // 2. The manager typesets widget labels with the MathJax 2 API
  //    (MathJax.Hub.Queue(["Typeset", MathJax.Hub, el])); the book loads MathJax 3,
  //    which has no Hub. Give every MathJax object a small Hub that calls v3.
  //    Widget labels write inline math as $...$ (as in Jupyter); the book's MathJax
  //    reads \(...\) only, so the text of the widget's element is rewritten first.
  function dollarsToParens(el) {
    var walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (var n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n.data.indexOf("$") < 0) continue;
      n.data = n.data
        .replace(/\$\$([^$]+)\$\$/g, "\\[$1\\]")
        .replace(/\$([^$]+)\$/g, "\\($1\\)");
    }
  }
  function typeset(el) {
    var mj = window.MathJax;
    if (!el || !mj || !mj.startup || !mj.startup.promise || !mj.typesetPromise) return;
    dollarsToParens(el);
    mj.startup.promise
      .then(function () { return mj.typesetPromise([el]); })
      .catch(function (err) { console.warn("MathJax typeset failed", err); });
  }
  var hub = {
    Queue: function () {
      for (var i = 0; i < arguments.length; i++) {
        var cmd = arguments[i];
        if (Array.isArray(cmd) && cmd[0] === "Typeset") typeset(cmd[2]);
        else if (typeof cmd === "function") cmd();
      }
    },
  };
  function withHub(mj) {
    if (mj && typeof mj === "object" && !mj.Hub) {
      Object.defineProperty(mj, "Hub", { value: hub, enumerable: false, configurable: true });
    }
    return mj;
  }
  // MathJax 3 replaces window.MathJax (the configuration object) when it loads.
  var current = withHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    enumerable: true,
    get: function () { return current; },
    set: function (value) { current = withHub(value); },
  });
})();
