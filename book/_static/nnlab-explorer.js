// The book's explorers without a kernel (see nnlab/widgets.py, Explorer.static_html).
// Each explorer's cell output holds native, labelled controls over a grid of values, an
// <img> and the alt text of every frame; the frames are PNG files precomputed when the
// notebook was executed, published in _explorer_frames/<key>/0000.png, 0001.png, ...
// (row-major over the controls). Moving a control shows the frame of the new values.
(function () {
  "use strict";

  function pad(index) {
    return ("000" + index).slice(-4);
  }

  function setUp(root) {
    var base = root.getAttribute("data-nnlab-frames");
    var image = root.querySelector("img.nnlab-frames-image");
    var altScript = root.querySelector("script.nnlab-frames-alt");
    if (!base || !image || !altScript) return;
    var alts = JSON.parse(altScript.textContent);
    var controls = Array.prototype.slice.call(root.querySelectorAll("[data-nnlab-stride]"));
    // Announces the new figure's description to screen readers when a control moves.
    var status = document.createElement("p");
    status.className = "nnlab-sr-only";
    status.setAttribute("role", "status");
    root.appendChild(status);

    function position(control) {
      if (control.type === "checkbox") return control.checked ? 1 : 0;
      return parseInt(control.value, 10);
    }

    function update(announce) {
      var index = 0;
      controls.forEach(function (control) {
        index += position(control) * parseInt(control.getAttribute("data-nnlab-stride"), 10);
        if (control.type === "range") {
          var labels = JSON.parse(control.getAttribute("data-nnlab-labels"));
          var label = labels[position(control)];
          control.setAttribute("aria-valuetext", label);
          var output = control.parentNode.querySelector("output");
          if (output) output.textContent = label;
        }
      });
      image.src = base + pad(index) + ".png";
      image.alt = alts[index];
      root.setAttribute("data-nnlab-index", String(index));
      if (announce) status.textContent = alts[index];
    }

    controls.forEach(function (control) {
      control.addEventListener("input", function () { update(true); });
      control.addEventListener("change", function () { update(true); });
    });
    update(false);
    root.classList.add("nnlab-frames-ready");
  }

  function setUpAll() {
    document.querySelectorAll(".nnlab-frames").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
})();
