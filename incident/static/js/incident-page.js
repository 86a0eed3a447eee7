/* Riadó: the incident page and the situation report.
 *
 * No inline script anywhere (the CSP is script-src 'self'): this file finds its elements by
 * data attributes.
 *
 *   <div data-incident-map data-lat data-lon [data-area="GeoJSON"] data-tile-url
 *        data-tile-attribution data-zoom [data-marker-label]></div>
 *     A read-only map with the incident's point and, if given, its affected area (a GeoJSON
 *     Polygon or MultiPolygon), zoomed to show both.
 *
 *   <form data-once>
 *     Sent once: a second Enter or click while the first request is on its way is ignored
 *     (log entries cannot be deleted, so a double submit must not write two).
 *
 *   <button data-print hidden>
 *     Shown and wired to the browser's print dialog.
 *
 * Without Leaflet or without tiles the rest of the page works; the map shows the point and the
 * area on a plain background.
 */
(function () {
  "use strict";

  function number(text) {
    var n = Number(String(text === null || text === undefined ? "" : text).trim());
    return String(text || "").trim() !== "" && isFinite(n) ? n : null;
  }

  function incidentMap(el) {
    var L = window.L;
    if (typeof L === "undefined") {
      return;
    }
    var lat = number(el.getAttribute("data-lat"));
    var lon = number(el.getAttribute("data-lon"));
    if (lat === null || lon === null) {
      return;
    }
    var zoom = parseInt(el.getAttribute("data-zoom"), 10);
    var map = L.map(el, { scrollWheelZoom: false });
    var url = el.getAttribute("data-tile-url");
    if (url) {
      L.tileLayer(url, { maxZoom: 19, attribution: el.getAttribute("data-tile-attribution") || "" }).addTo(map);
    }
    map.setView([lat, lon], isFinite(zoom) ? zoom : 15);
    var label = el.getAttribute("data-marker-label") || "";
    L.marker([lat, lon], { keyboard: false, title: label, alt: label }).addTo(map);

    var text = el.getAttribute("data-area") || "";
    if (text) {
      var area = null;
      try {
        area = JSON.parse(text);
      } catch (e) {
        area = null;
      }
      if (area && (area.type === "Polygon" || area.type === "MultiPolygon")) {
        var layer = L.geoJSON(area, {
          style: { color: "#c8102e", weight: 2, fillColor: "#c8102e", fillOpacity: 0.15 },
          interactive: false
        }).addTo(map);
        var bounds = layer.getBounds().extend([lat, lon]);
        if (bounds.isValid()) {
          map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17 });
        }
        el.setAttribute("data-has-area", "true");
      }
    }
    el.setAttribute("data-ready", "true");
  }

  function once(form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sent") === "true") {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-sent", "true");
    });
  }

  // A page restored by the Back button may be sent again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      Array.prototype.forEach.call(document.querySelectorAll("form[data-sent]"), function (form) {
        form.removeAttribute("data-sent");
      });
    }
  });

  function printButton(button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-incident-map]"), incidentMap);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-once]"), once);
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), printButton);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
