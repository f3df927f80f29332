// Makes the ipywidgets HTML manager work from the book's own files (see scripts/vendor_assets.py).
// Loaded on every page before require.js and the widget manager (scripts/nnlab_book_ext.py).
(function () {
  var here = (document.currentScript && document.currentScript.src) || document.baseURI;
  var manager = new URL("html-manager/", here).href;
  window.__jupyter_widgets_assets_path__ = manager;
  // The widget modules find their icon fonts next to the URL require.js gives each module;
  // by default that is a CDN-style path relative to the page. A global `require` object
  // defined before require.js loads is its configuration.
  if (typeof window.require === "undefined") {
    window.require = {
      paths: {
        "@jupyter-widgets/html-manager/dist": manager.replace(/\/$/, ""),
        "@jupyter-widgets/html-manager": manager + "embed-amd",
      },
    };
  }
  // @jupyter-widgets/base typesets widget labels with MathJax 2's API (MathJax.Hub.Queue);
  // the book loads MathJax 3 (deferred: ready at DOMContentLoaded, before widgets render
  // at "load"). Translate the one call it makes.
  document.addEventListener("DOMContentLoaded", function () {
    var mj = window.MathJax;
    if (mj && !mj.Hub) {
      mj.Hub = {
        Queue: function (job) {
          var element = job && job[2];
          if (window.MathJax.typesetPromise) {
            window.MathJax.typesetPromise(element ? [element] : undefined).catch(function () {});
          }
        },
      };
    }
  });
})();
