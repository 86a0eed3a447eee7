/* Riadó: composing an SMS alert, and its confirmation.
 *
 * No inline script anywhere (the CSP is script-src 'self'): this file finds its elements by
 * data attributes. Everything here is an enhancement; the forms work without it.
 *
 *   <form data-compose data-preview-url data-messages="{json}">
 *     The live counter: as the officer types (debounced), the text is sent to
 *     POST /api/v1/alerts/preview (with the page's CSRF token as X-CSRFToken) twice, plain and
 *     transliterated, and [data-counter] shows the encoding, characters, segments, the length
 *     against the limit and the text as it will go out (with the drill prefix, and the reply
 *     hint when acknowledgement is required), and what transliteration saves.
 *     Choosing a drill incident ticks and locks the drill checkbox (the server makes it a drill
 *     anyway); the reminder field and the replies notice show only with "require acknowledgement".
 *
 *   <fieldset data-area-choice> (in the compose form)
 *     The area's source: "the chosen incident's affected area" is offered only while the incident
 *     chosen has one (its id in data-incidents-with-area), and that area is shown on the map
 *     ([data-area-picker], location-picker.js) for reference, fetched from the incidents API
 *     (data-incident-url, the id at its end). Drawing or pasting an area chooses "an area drawn on
 *     the map"; deleting it all goes back to "no area". The GeoJSON box is sent only with a drawn
 *     area chosen, so a drawing kept aside while another choice is tried is not sent.
 *
 *   <fieldset data-contact-picker>
 *     A filter box over the contact checkboxes (accents and case ignored); Enter in it does not
 *     send the form.
 *
 *   <form data-once>
 *     Sent once (riado.js does it): a second click while the first request is on its way is
 *     ignored (the server's Idempotency-Key makes a resubmission harmless anyway).
 *
 * Needs riado.js, loaded before.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 250;

  var each = Riado.each;
  var parseJson = Riado.parseJson;

  function fold(text) {
    return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function codePoints(text) {
    return Array.from(String(text || "")).length;
  }

  function fill(template, n) {
    return String(template || "").replace("{n}", String(n));
  }

  function composeForm(form) {
    var url = form.getAttribute("data-preview-url");
    var messages = parseJson(form.getAttribute("data-messages"));
    var token = (form.querySelector("input[name=csrf_token]") || {}).value || "";
    var body = form.querySelector("#body");
    var transliterate = form.querySelector("#transliterate");
    var drill = form.querySelector("#drill");
    var incident = form.querySelector("#incident_id");
    var requireAck = form.querySelector("#require_ack");
    var counter = document.querySelector("[data-counter]");
    if (!url || !body || !counter) {
      return;
    }
    var out = {
      encoding: counter.querySelector("[data-testid=encoding]"),
      characters: counter.querySelector("[data-testid=characters]"),
      segments: counter.querySelector("[data-testid=segments]"),
      length: counter.querySelector("[data-testid=length]"),
      max: counter.querySelector("[data-testid=max-length]"),
      tooLong: counter.querySelector("[data-testid=too-long]"),
      saving: counter.querySelector("[data-testid=saving]"),
      preview: counter.querySelector("[data-testid=preview-body]")
    };
    var drillHint = document.getElementById("drill-from-incident");
    // What the officer ticked, apart from what a drill incident imposes.
    var drillChosen = drill ? drill.getAttribute("data-chosen") === "true" : false;
    var latest = 0;
    var timer = null;

    function incidentIsDrill() {
      if (!incident || incident.selectedIndex < 0) {
        return false;
      }
      return incident.options[incident.selectedIndex].getAttribute("data-drill") === "true";
    }

    function isDrill() {
      return Boolean((drill && drill.checked) || incidentIsDrill());
    }

    function preview(folded) {
      return Riado.getJson(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify({ body: body.value, transliterate: folded, drill: isDrill(),
                               require_ack: Boolean(requireAck && requireAck.checked) })
      });
    }

    function savingText(plain, folded) {
      var saved = plain.segments - folded.segments;
      if (saved > 0) {
        return fill(transliterate && transliterate.checked ? messages.saves : messages.would_save, saved);
      }
      if (plain.encoding === "UCS-2" && folded.encoding === "GSM-7") {
        return messages.gsm || "";
      }
      if (folded.encoding === "UCS-2") {
        return messages.still_ucs2 || "";
      }
      return "";
    }

    function show(plain, folded) {
      var shown = transliterate && transliterate.checked ? folded : plain;
      var length = codePoints(shown.body);
      var max = shown.max_characters;
      out.encoding.textContent = shown.encoding;
      out.characters.textContent = String(shown.characters);
      out.segments.textContent = String(shown.segments);
      out.length.textContent = String(length);
      if (out.max && max) {
        out.max.textContent = String(max);
      }
      out.preview.textContent = shown.body;
      var tooLong = Boolean(max) && length > max;
      out.tooLong.hidden = !tooLong;
      counter.setAttribute("data-too-long", tooLong ? "true" : "false");
      if (tooLong) {
        body.setAttribute("aria-invalid", "true");
      } else if (!body.closest(".has-error")) {
        body.removeAttribute("aria-invalid");
      }
      var text = savingText(plain, folded);
      out.saving.textContent = text;
      out.saving.hidden = !text;
      counter.setAttribute("data-encoding", shown.encoding);
      counter.setAttribute("data-segments", String(shown.segments));
      counter.setAttribute("data-state", "ready");
    }

    function update() {
      var mine = ++latest;
      counter.setAttribute("data-state", "loading");
      Promise.all([preview(false), preview(true)]).then(function (results) {
        if (mine === latest) {
          show(results[0], results[1]);
        }
      }).catch(function () {
        if (mine === latest) {
          counter.setAttribute("data-state", "error");
          out.saving.textContent = messages.error || "";
          out.saving.hidden = !messages.error;
        }
      });
    }

    function later() {
      if (timer) {
        window.clearTimeout(timer);
      }
      timer = window.setTimeout(update, DEBOUNCE_MS);
    }

    function syncDrill() {
      if (!drill) {
        return;
      }
      if (incidentIsDrill()) {
        drill.checked = true;
        drill.disabled = true;
      } else {
        drill.disabled = false;
        drill.checked = drillChosen;
      }
      if (drillHint) {
        drillHint.hidden = !incidentIsDrill();
      }
    }

    function syncAck() {
      var on = Boolean(requireAck && requireAck.checked);
      each("[data-ack-only]", function (el) {
        el.hidden = !on;
        each("input, select", function (input) {
          input.disabled = !on;
        }, el);
      }, form);
    }

    body.addEventListener("input", later);
    if (transliterate) {
      transliterate.addEventListener("change", update);
    }
    if (drill) {
      drill.addEventListener("change", function () {
        drillChosen = drill.checked;
        update();
      });
    }
    if (incident) {
      incident.addEventListener("change", function () {
        syncDrill();
        update();
      });
    }
    if (requireAck) {
      requireAck.addEventListener("change", function () {
        syncAck();
        update();
      });
    }
    // A disabled checkbox is not sent: send the drill choice the incident imposes anyway.
    form.addEventListener("submit", function () {
      if (drill && drill.disabled) {
        drill.disabled = false;
      }
    });
    syncDrill();
    syncAck();
    update();
  }

  function areaChoice(form, fieldset) {
    var incident = form.querySelector("#incident_id");
    var box = fieldset.querySelector("textarea[name=area]");
    var option = fieldset.querySelector("[data-incident-area-option]");
    var map = fieldset.querySelector("[data-area-picker]");
    var url = map ? map.getAttribute("data-incident-url") || "" : "";
    var latest = 0;

    function radio(value) {
      return fieldset.querySelector("input[name=area_source][value=" + value + "]");
    }

    function choose(value) {
      var input = radio(value);
      if (input) {
        input.checked = true;
      }
    }

    function chosen() {
      var input = fieldset.querySelector("input[name=area_source]:checked");
      return input ? input.value : "none";
    }

    function reference(area) {
      if (map) {
        map.dispatchEvent(new CustomEvent("riado:reference-area", { detail: { area: area } }));
      }
    }

    // The ids of the incidents listed that have an affected area.
    var withArea = (fieldset.getAttribute("data-incidents-with-area") || "").split(/\s+/).filter(Boolean);

    function selectedHasArea() {
      return Boolean(incident && incident.value && withArea.indexOf(incident.value) >= 0);
    }

    function syncIncident(fetchArea) {
      var has = selectedHasArea();
      if (option) {
        option.hidden = !has;
        if (!has && chosen() === "incident") {
          choose(box && box.value.trim() ? "drawn" : "none");
        }
      }
      if (!fetchArea) {
        return; // the page came with the chosen incident's area drawn
      }
      var mine = ++latest;
      if (!has || !url) {
        reference(null);
        return;
      }
      Riado.getJson(url.replace(/\/0$/, "/" + encodeURIComponent(incident.value))).then(function (record) {
        if (mine === latest) {
          reference(record && record.area ? record.area : null);
        }
      }).catch(function () {
        if (mine === latest) {
          reference(null); // the choice still works; only the picture is missing
        }
      });
    }

    // Who the area reaches, counted on the server as the area is drawn or picked.
    var reachOut = fieldset.querySelector("[data-area-reach]");
    var reachWords = reachOut ? parseJson(reachOut.getAttribute("data-words")) : {};
    var token = (form.querySelector("input[name=csrf_token]") || {}).value || "";
    var drillBox = form.querySelector("#drill");
    var reachTimer = null;
    var reachLatest = 0;

    function say(text) {
      reachOut.textContent = text;
      reachOut.hidden = !text;
    }

    function reachRequest() {
      var source = chosen();
      if (source === "drawn" && box && box.value.trim()) {
        try {
          return { area: JSON.parse(box.value) };
        } catch (e) {
          return null; // half-typed text: its error comes with the form
        }
      }
      if (source === "incident" && incident && incident.value && selectedHasArea()) {
        return { incident_id: parseInt(incident.value, 10) };
      }
      return null;
    }

    function countReach() {
      if (!reachOut) {
        return;
      }
      var request = reachRequest();
      var mine = ++reachLatest;
      if (!request) {
        say("");
        return;
      }
      request.drill = Boolean(drillBox && drillBox.checked);
      say(reachWords.counting || "");
      Riado.getJson(reachOut.getAttribute("data-reach-url"), {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify(request)
      }).then(function (reach) {
        if (mine !== reachLatest) {
          return;
        }
        var c = reach.channels || {};
        say(reach.contacts ? (reachWords.some || "").replace("{n}", reach.contacts).replace("{sms}", c.sms || 0)
          .replace("{email}", c.email || 0).replace("{voice}", c.voice || 0) : reachWords.none || "");
        reachOut.setAttribute("data-contacts", String(reach.contacts || 0));
      }).catch(function (error) {
        if (mine === reachLatest) {
          say(error && error.status === 422 ? reachWords.invalid || "" : reachWords.error || "");
        }
      });
    }

    function laterReach() {
      clearTimeout(reachTimer);
      reachTimer = setTimeout(countReach, 300);
    }

    if (box) {
      box.addEventListener("input", function () {
        if (box.value.trim()) {
          choose("drawn");
        } else if (chosen() === "drawn") {
          choose("none");
        }
        laterReach();
      });
      box.addEventListener("change", laterReach);
    }
    Array.prototype.forEach.call(fieldset.querySelectorAll("input[name=area_source]"), function (input) {
      input.addEventListener("change", laterReach);
    });
    if (drillBox) {
      drillBox.addEventListener("change", laterReach);
    }
    if (incident) {
      incident.addEventListener("change", function () {
        syncIncident(true);
        laterReach();
      });
    }
    form.addEventListener("submit", function () {
      if (box) {
        box.disabled = chosen() !== "drawn";
      }
    });
    window.addEventListener("pageshow", function () {
      if (box) {
        box.disabled = false; // back from the confirmation: the box is the form's again
      }
    });
    syncIncident(false);
    countReach();
  }

  function contactPicker(fieldset) {
    var tools = fieldset.querySelector("[data-picker-tools]");
    var filter = fieldset.querySelector("input[type=search]");
    var count = fieldset.querySelector("[data-selected-count]");
    var none = fieldset.querySelector("[data-no-match]");
    var options = Array.prototype.slice.call(fieldset.querySelectorAll("label[data-search]"));
    if (!tools || !filter || !options.length) {
      return;
    }
    tools.hidden = false;

    function countChosen() {
      if (!count) {
        return;
      }
      var n = options.filter(function (label) {
        var box = label.querySelector("input[type=checkbox]");
        return box && box.checked;
      }).length;
      count.textContent = n ? fill(count.getAttribute("data-template"), n) : "";
    }

    function apply() {
      var words = fold(filter.value).split(/\s+/).filter(Boolean);
      var shown = 0;
      options.forEach(function (label) {
        var haystack = label.getAttribute("data-search") || "";
        var box = label.querySelector("input[type=checkbox]");
        // A chosen contact stays visible, so that nothing chosen is hidden from view.
        var match = (box && box.checked) || words.every(function (w) {
          return haystack.indexOf(w) !== -1;
        });
        label.hidden = !match;
        if (match) {
          shown += 1;
        }
      });
      if (none) {
        none.hidden = shown > 0;
      }
    }

    filter.addEventListener("input", apply);
    filter.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
      }
    });
    fieldset.addEventListener("change", countChosen);
    countChosen();
  }

  Riado.ready(function () {
    each("form[data-compose]", composeForm);
    each("form[data-compose]", function (form) {
      var fieldset = form.querySelector("[data-area-choice]");
      if (fieldset) {
        areaChoice(form, fieldset);
      }
    });
    each("[data-contact-picker]", contactPicker);
  });
}());
