/* Riadó: the small map of the public page (notice areas, public shelters). Loaded last, with
 * Leaflet and riado.js: the page says everything in its text, the map only shows where. A notice's
 * area is drawn as an area; a shelter is a place, so it is a marker (Leaflet's pin, reachable
 * with the keyboard) whose popup gives its name and free places. Every name is put into the map
 * as text (a text node or an attribute), never as HTML.
 *
 *   <div data-public-map data-features="GeoJSON FeatureCollection" data-tile-url
 *        data-tile-attribution data-shelter-label data-free-label></div>
 */
(function () {
  "use strict";

  var AREA = { color: "#b34700", weight: 2, fillColor: "#b34700", fillOpacity: 0.15 };

  function text(value, tag) {
    var element = document.createElement(tag || "span");
    element.textContent = value;
    return element;
  }

  function shelterWords(el, p) {
    return {
      label: (el.getAttribute("data-shelter-label") || "") + ": " + p.title,
      free: p.free + " " + (el.getAttribute("data-free-label") || "")
    };
  }

  function shelterPopup(el, p) {
    var words = shelterWords(el, p);
    var box = document.createElement("div");
    box.className = "shelter-popup";
    box.appendChild(text(words.label, "strong"));
    box.appendChild(text(words.free, "p"));
    return box;
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
      style: function () { return AREA; },  // areas only: a marker has no style
      pointToLayer: function (feature, latlng) {
        var words = shelterWords(el, feature.properties || {});
        return L.marker(latlng, { title: words.label, alt: words.label + " (" + words.free + ")", keyboard: true });
      },
      onEachFeature: function (feature, item) {
        var p = feature.properties || {};
        if (p.kind === "shelter") {
          item.bindPopup(shelterPopup(el, p));
        } else {
          item.bindTooltip(text(p.title), { className: "notice-tooltip" });
        }
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
