/* Riadó: the location picker of the contact, resource and incident forms, the area picker of the
 * alert's compose page, and read-only location and area maps.
 *
 * No inline script anywhere (the CSP is script-src 'self'): this file finds its elements by
 * data attributes.
 *
 *   <div data-location-picker data-lat-inputs="id id…" data-lon-inputs="id id…"
 *        [data-clear-button="id"] data-tile-url data-tile-attribution
 *        data-centre-lat data-centre-lon data-zoom [data-marker-label]></div>
 *     A click on the map sets the point (a marker that can be dragged); every input named in
 *     data-lat-inputs / data-lon-inputs gets the coordinates, and typing in any of them moves
 *     the marker. The clear button empties them all.
 *
 *   The same picker with data-area-input="id" (the incident form) also draws the affected area
 *   with Leaflet.draw (its polygon and rectangle tools; shapes can be edited and deleted), when
 *   Leaflet.draw is loaded, with the words of data-draw-labels='{JSON}'. The textarea named by
 *   data-area-input holds the area as GeoJSON text: what is drawn is written into it (a
 *   FeatureCollection; the server joins its shapes into one area) and what is pasted into it is
 *   drawn. It is the only thing sent, so the form works the same with or without the map. While
 *   a shape is being drawn, edited or deleted, a click on the map does not move the location.
 *
 *   <div data-area-picker data-area-input="id" data-draw-labels='{JSON}' data-tile-url …
 *        [data-reference-area="GeoJSON"]></div>
 *     The same drawing of an area without a location (the alert's compose page): the map opens
 *     on the municipality (data-centre-lat/-lon, data-zoom) or on what is drawn. The reference
 *     area (the chosen incident's affected area) is shown dashed, not editable; an event
 *     "riado:reference-area" on the element with detail {area: GeoJSON or null} replaces it.
 *     Each change of the drawing fires "input" on the textarea, as typing there does.
 *
 *   <div data-area-map data-area="GeoJSON" data-tile-url … ></div>
 *     A read-only map of an area (the alert's confirmation).
 *
 *   <div data-location-map data-lat data-lon data-tile-url … ></div>
 *     A map with one fixed marker.
 *
 * Tiles are optional: without them (no network, a tile server down) the map still takes
 * clicks and shows the marker on a plain background. Needs riado.js and Leaflet, loaded before.
 */
(function () {
  "use strict";

  if (typeof window.L === "undefined") {
    return; // Leaflet did not load: the coordinate inputs still work on their own
  }

  function parse(text) {
    var s = String(text === null || text === undefined ? "" : text).trim().replace(",", ".");
    if (s === "") {
      return null;
    }
    var n = Number(s);
    return isFinite(n) ? n : NaN;
  }

  function valid(lat, lon) {
    return typeof lat === "number" && typeof lon === "number" && isFinite(lat) && isFinite(lon) &&
      lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180;
  }

  function byIds(list) {
    return (list || "").split(/\s+/).filter(Boolean).map(function (id) {
      return document.getElementById(id);
    }).filter(Boolean);
  }

  function fixed(x) {
    return String(Math.round(x * 1e6) / 1e6);
  }

  function firstValue(inputs) {
    for (var i = 0; i < inputs.length; i++) {
      var v = parse(inputs[i].value);
      if (v !== null) {
        return v;
      }
    }
    return null;
  }

  function defaultCentre(el) {
    var lat = parse(el.getAttribute("data-centre-lat"));
    var lon = parse(el.getAttribute("data-centre-lon"));
    return valid(lat, lon) ? [lat, lon] : [47.5, 19.05];
  }

  // The chosen incident's area beside the one being drawn: dashed, lighter, not a shape to edit.
  var REFERENCE_STYLE = { color: "#7a4b00", weight: 2, dashArray: "6 5", fillColor: "#7a4b00", fillOpacity: 0.06 };

  function areaLayer(geojson, style) {
    if (!Riado.polygonsOf(geojson).length) {
      return null;
    }
    try {
      return window.L.geoJSON(geojson, { style: style, interactive: false });
    } catch (e) {
      return null; // not coordinates: nothing to show
    }
  }

  function areaDrawing(el, map, point) {
    var L = window.L;
    var input = document.getElementById(el.getAttribute("data-area-input") || "");
    var idle = { busy: function () { return false; } };
    if (!input || !L.Control || !L.Control.Draw) {
      return idle; // the GeoJSON text field still takes an area
    }
    Riado.drawWords(Riado.parseJson(el.getAttribute("data-draw-labels")));
    var drawn = new L.FeatureGroup().addTo(map);
    var busy = false;

    function count() {
      el.setAttribute("data-shapes", String(drawn.getLayers().length));
    }

    function load(text) {
      drawn.clearLayers();
      Riado.polygonsOf(Riado.parseJson(text, null)).forEach(function (rings) {
        try {
          drawn.addLayer(L.polygon(L.GeoJSON.coordsToLatLngs(rings, 1), Riado.AREA_STYLE));
        } catch (e) {
          // rings that are not coordinates: nothing to draw; the server will say why
        }
      });
      count();
    }

    function show() {
      var bounds = drawn.getBounds();
      if (bounds.isValid()) {
        var where = point();
        if (where) {
          bounds.extend(where);
        }
        map.fitBounds(bounds, { padding: [24, 24], maxZoom: 17, animate: false });
      }
    }

    // Only a change of the drawing is written: an untouched area is sent as it was stored.
    function write() {
      input.value = drawn.getLayers().length ? JSON.stringify(drawn.toGeoJSON()) : "";
      count();
      el.setAttribute("data-changed", "true");
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }

    map.addControl(new L.Control.Draw({
      position: "topleft",
      draw: {
        polyline: false, circle: false, marker: false, circlemarker: false,
        polygon: { allowIntersection: true, showArea: false, shapeOptions: Riado.AREA_STYLE },
        // showArea: Leaflet.draw 1.0.4's area readout fails for rectangles.
        rectangle: { showArea: false, shapeOptions: Riado.AREA_STYLE }
      },
      edit: { featureGroup: drawn, poly: { allowIntersection: true } }
    }));
    map.on("draw:created", function (event) {
      drawn.addLayer(event.layer);
      write();
    });
    map.on("draw:edited draw:deleted", write);
    map.on("draw:drawstart draw:editstart draw:deletestart", function () {
      busy = true;
    });
    map.on("draw:drawstop draw:editstop draw:deletestop", function () {
      // The click that ends a rectangle or a polygon comes after its stop event.
      window.setTimeout(function () { busy = false; }, 0);
    });
    input.addEventListener("change", function () {
      load(input.value);
      show();
    });
    load(input.value);
    show();
    return { busy: function () { return busy; }, shapes: function () { return drawn.getLayers().length; } };
  }

  function areaPicker(el) {
    var map = Riado.smallMap(el, defaultCentre(el));
    var reference = null;
    var area = areaDrawing(el, map, function () { return null; });

    function showReference(geojson) {
      if (reference) {
        map.removeLayer(reference);
      }
      reference = areaLayer(geojson, REFERENCE_STYLE);
      el.setAttribute("data-has-reference", reference ? "true" : "false");
      if (!reference) {
        return;
      }
      reference.addTo(map);
      reference.bringToBack();
      if (!(area.shapes && area.shapes())) {
        // Nothing drawn yet: the incident's area is where the officer will want to draw.
        map.fitBounds(reference.getBounds(), { padding: [24, 24], maxZoom: 17, animate: false });
      }
    }

    showReference(Riado.parseJson(el.getAttribute("data-reference-area"), null));
    el.addEventListener("riado:reference-area", function (event) {
      showReference(event.detail ? event.detail.area : null);
    });
    el.setAttribute("data-ready", "true");
  }

  function areaMap(el) {
    var layer = areaLayer(Riado.parseJson(el.getAttribute("data-area"), null), Riado.AREA_STYLE);
    var map = Riado.smallMap(el, defaultCentre(el));
    if (layer) {
      layer.addTo(map);
      map.fitBounds(layer.getBounds(), { padding: [16, 16], maxZoom: 17, animate: false });
    }
    el.setAttribute("data-ready", "true");
  }

  function picker(el) {
    var latInputs = byIds(el.getAttribute("data-lat-inputs"));
    var lonInputs = byIds(el.getAttribute("data-lon-inputs"));
    var clearButton = document.getElementById(el.getAttribute("data-clear-button") || "");
    var marker = null;

    var lat = firstValue(latInputs);
    var lon = firstValue(lonInputs);
    var map = Riado.smallMap(el, valid(lat, lon) ? [lat, lon] : defaultCentre(el));

    function write(newLat, newLon) {
      latInputs.forEach(function (input) { input.value = newLat === null ? "" : fixed(newLat); });
      lonInputs.forEach(function (input) { input.value = newLon === null ? "" : fixed(newLon); });
      el.setAttribute("data-has-point", newLat === null ? "false" : "true");
    }

    function place(newLat, newLon) {
      if (marker) {
        marker.setLatLng([newLat, newLon]);
        return;
      }
      marker = Riado.marker(el, [newLat, newLon], { draggable: true, autoPan: true, keyboard: true }).addTo(map);
      marker.on("dragend", function () {
        var p = marker.getLatLng().wrap();
        write(p.lat, p.lng);
      });
    }

    function remove() {
      if (marker) {
        map.removeLayer(marker);
        marker = null;
      }
    }

    if (valid(lat, lon)) {
      place(lat, lon);
      el.setAttribute("data-has-point", "true");
    }

    var area = areaDrawing(el, map, function () { return marker ? marker.getLatLng() : null; });

    map.on("click", function (event) {
      if (area.busy()) {
        return; // a corner of the area, not the location
      }
      var p = event.latlng.wrap();
      write(p.lat, p.lng);
      place(p.lat, p.lng);
    });

    latInputs.concat(lonInputs).forEach(function (input) {
      input.addEventListener("input", function () {
        var group = latInputs.indexOf(input) >= 0 ? latInputs : lonInputs;
        group.forEach(function (other) {
          if (other !== input) {
            other.value = input.value.trim().replace(",", ".");
          }
        });
        var typedLat = firstValue(latInputs);
        var typedLon = firstValue(lonInputs);
        if (typedLat === null && typedLon === null) {
          remove();
          el.setAttribute("data-has-point", "false");
        } else if (valid(typedLat, typedLon)) {
          place(typedLat, typedLon);
          // No animation: typing moves the map at once, and a click that follows lands on
          // the map as it is drawn, not on a frame of a pan still under way.
          map.panTo([typedLat, typedLon], { animate: false });
          el.setAttribute("data-has-point", "true");
        }
      });
    });

    if (clearButton) {
      clearButton.hidden = false;
      clearButton.addEventListener("click", function () {
        write(null, null);
        remove();
      });
    }
    el.setAttribute("data-ready", "true");
  }

  function viewMap(el) {
    var lat = parse(el.getAttribute("data-lat"));
    var lon = parse(el.getAttribute("data-lon"));
    if (!valid(lat, lon)) {
      return;
    }
    var map = Riado.smallMap(el, [lat, lon]);
    Riado.marker(el, [lat, lon]).addTo(map);
    el.setAttribute("data-ready", "true");
  }

  Riado.ready(function () {
    Riado.each("[data-location-picker]", picker);
    Riado.each("[data-location-map]", viewMap);
    Riado.each("[data-area-picker]", areaPicker);
    Riado.each("[data-area-map]", areaMap);
  });
}());
