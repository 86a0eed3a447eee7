/* Riadó: the small map of the public page (notice areas, public shelters). Loaded last, with
 * Leaflet and riado.js: the page says everything in its text, the map only shows where. Every name is put
 * into the map as text (a text node), never as HTML.
 *
 *   <div data-public-map data-features="GeoJSON FeatureCollection" data-tile-url
 *        data-tile-attribution data-shelter-label data-free-label></div>
 */
(function () {
  "use strict";

  var AREA = { color: "#b34700", weight: 2, fillColor: "#b34700", fillOpacity: 0.15 };
  var SHELTER = { radius: 7, color: "#0b4f8a", weight: 2, fillColor: "#ffffff", fillOpacity: 1 };

  function text(value) {
    var span = document.createElement("span");
    span.textContent = value;
    return span;
  }

  function start(el) {
    var L = window.L;
    var data;
    try {
      data = JSON.parse(el.getAttribute("data-features") || "null");
    } catch (e) {
      data = null;
    }
    if (!L || !data) {
      return;
    }
    var map = L.map(el, { scrollWheelZoom: false });
    var tiles = window.Riado.tileLayer(el);  // the tiles every map of Riadó uses (riado.js)
    if (tiles) {
      tiles.addTo(map);
    }
    var layer = L.geoJSON(data, {
      style: function () { return AREA; },
      pointToLayer: function (feature, latlng) { return L.circleMarker(latlng, SHELTER); },
      onEachFeature: function (feature, item) {
        var p = feature.properties || {};
        var label = p.kind === "shelter"
          ? (el.getAttribute("data-shelter-label") || "") + ": " + p.title + " (" + p.free + " " +
            (el.getAttribute("data-free-label") || "") + ")"
          : p.title;
        item.bindTooltip(text(label), { className: "notice-tooltip" });
      }
    }).addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [16, 16], maxZoom: 16, animate: false });
    }
    el.setAttribute("data-ready", "true");
  }

  window.Riado.ready(function () {
    window.Riado.each("[data-public-map]", start);
  });
}());
