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
 *   <form data-once>: sent once (riado.js does it for every page that loads it).
 *
 *   <button data-print hidden>
 *     Shown and wired to the browser's print dialog.
 *
 * Without Leaflet or without tiles the rest of the page works; the map shows the point and the
 * area on a plain background. Needs riado.js, loaded before.
 */
(function () {
  "use strict";

  function number(text) {
    var n = Number(String(text === null || text === undefined ? "" : text).trim());
    return String(text || "").trim() !== "" && isFinite(n) ? n : null;
  }

  function incidentMap(el) {
    if (typeof window.L === "undefined") {
      return;
    }
    var L = window.L;
    var lat = number(el.getAttribute("data-lat"));
    var lon = number(el.getAttribute("data-lon"));
    if (lat === null || lon === null) {
      return;
    }
    var map = Riado.smallMap(el, [lat, lon]);
    Riado.marker(el, [lat, lon]).addTo(map);

    var area = Riado.parseJson(el.getAttribute("data-area"), null);
    if (area && (area.type === "Polygon" || area.type === "MultiPolygon")) {
      var layer = L.geoJSON(area, { style: Riado.AREA_STYLE, interactive: false }).addTo(map);
      var bounds = layer.getBounds().extend([lat, lon]);
      if (bounds.isValid()) {
        map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17 });
      }
      el.setAttribute("data-has-area", "true");
    }
    el.setAttribute("data-ready", "true");
  }

  function printButton(button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  }

  Riado.ready(function () {
    Riado.each("[data-incident-map]", incidentMap);
    Riado.each("[data-print]", printButton);
  });
}());
