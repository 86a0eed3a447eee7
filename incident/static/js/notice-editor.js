/* Riadó: the notice editor's preview follows what is typed and chosen (title, text, what to do,
 * where, severity), as text: the preview shows exactly what the public page will. A part left
 * empty is hidden, as the public page leaves it out; no severity chosen shows the incident's
 * (or unknown), as the notice will have. Without scripts, "Update the preview" asks the server
 * for it. */
(function () {
  "use strict";

  var SEVERITY_CLASS = /(^|\s)notice-(extreme|severe|moderate|minor|unknown)(?=\s|$)/;

  Riado.ready(function () {
    var form = document.querySelector("[data-notice-editor]");
    var preview = document.querySelector("[data-testid=preview]");
    if (!form || !preview) {
      return;
    }
    var article = preview.querySelector(".notice");
    var severityWords = Riado.parseJson(preview.getAttribute("data-severity-words"));
    var targets = {
      title: preview.querySelector(".notice-title"),
      body: preview.querySelector(".notice-body"),
      instruction: preview.querySelector(".notice-instruction"),
      area_desc: preview.querySelector(".notice-where")
    };
    var incident = form.querySelector("#incident_id");
    var severity = form.querySelector("[data-preview=severity]");

    function showText(input) {
      var target = targets[input.getAttribute("data-preview")];
      if (!target) {
        return;
      }
      var label = target.querySelector("strong");
      if (label) {
        // "What to do:" and "Where:" are shown only with something after them.
        target.textContent = "";
        target.appendChild(label);
        target.appendChild(document.createTextNode(" " + input.value));
        target.hidden = !input.value.trim();
      } else {
        target.textContent = input.value;
      }
    }

    function showSeverity() {
      var code = severity ? severity.value : "";
      if (!code && incident && incident.selectedIndex >= 0) {
        code = incident.options[incident.selectedIndex].getAttribute("data-severity") || "";
      }
      if (!Object.prototype.hasOwnProperty.call(severityWords, code)) {
        code = "unknown";
      }
      var word = preview.querySelector(".severity");
      if (word) {
        word.textContent = severityWords[code];
      }
      if (article) {
        article.className = article.className.replace(SEVERITY_CLASS, "$1notice-" + code);
      }
    }

    Riado.each("[data-preview]", function (input) {
      if (input === severity) {
        return;
      }
      input.addEventListener("input", function () {
        showText(input);
      });
      if (input.value) {
        showText(input); // typed before this script ran (a slow page), or kept by the browser
      }
    }, form);
    [severity, incident].forEach(function (select) {
      if (select) {
        select.addEventListener("change", showSeverity);
      }
    });
    showSeverity();
    form.setAttribute("data-ready", "true");
  });
}());
