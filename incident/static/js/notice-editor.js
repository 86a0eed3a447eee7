/* Riadó: the notice editor's preview follows what is typed (title, text, what to do, where), as
 * text: the preview shows exactly what the public page will. Without scripts, "Update the
 * preview" asks the server for it. */
(function () {
  "use strict";

  Riado.ready(function () {
    var form = document.querySelector("[data-notice-editor]");
    var preview = document.querySelector("[data-testid=preview]");
    if (!form || !preview) {
      return;
    }
    var targets = {
      title: preview.querySelector(".notice-title"),
      body: preview.querySelector(".notice-body"),
      instruction: preview.querySelector(".notice-instruction"),
      area_desc: preview.querySelector(".notice-where")
    };
    function show(input) {
      var target = targets[input.getAttribute("data-preview")];
      if (!target) {
        return;
      }
      var label = target.querySelector("strong");
      if (label) {
        target.textContent = "";
        target.appendChild(label);
        target.appendChild(document.createTextNode(" " + input.value));
      } else {
        target.textContent = input.value;
      }
    }
    Riado.each("[data-preview]", function (input) {
      input.addEventListener("input", function () {
        show(input);
      });
      if (input.value) {
        show(input); // typed before this script ran (a slow page), or kept by the browser
      }
    }, form);
    form.setAttribute("data-ready", "true");
  });
}());
