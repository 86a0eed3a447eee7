/* Riadó: drawing an incident's affected area (Leaflet.draw on a folium map).
 *
 *   <div data-area-editor data-area="GeoJSON Polygon/MultiPolygon or empty" data-lat data-lon
 *        data-boundary-url data-draw-labels='{JSON}'>…folium's map div…</div>
 *   <form data-area-form> <textarea data-area-input name="area"></textarea> … </form>
 *
 * The folium map queues {consumer: "area", map, layers: {area, boundary}}; the area's polygons
 * go into the "area" layer, which Leaflet.draw edits. On submit the drawn shapes are written
 * into the form as a GeoJSON FeatureCollection; the server joins them into one Polygon or
 * MultiPolygon and saves it through the incident operations (version check, validation, log).
 * Loaded after riado.js and before folium's script: Leaflet.draw's words are set before its
 * toolbar is built.
 */
(function () {
  "use strict";

  var editor = document.querySelector("[data-area-editor]");
  var words = editor ? Riado.parseJson(editor.getAttribute("data-draw-labels")) : {};

  Riado.drawWords(words);

  function attach(entry) {
    var L = window.L;
    if (!editor || !entry || !entry.map || !entry.layers || !entry.layers.area) {
      return;
    }
    var map = entry.map;
    var drawn = entry.layers.area;
    var form = document.querySelector("[data-area-form]");
    var input = form && form.querySelector("[data-area-input]");
    var status = form && form.querySelector("[data-area-status]");

    var area = Riado.parseJson(editor.getAttribute("data-area"), null);
    Riado.polygonsOf(area).forEach(function (rings) {
      try {
        drawn.addLayer(L.polygon(L.GeoJSON.coordsToLatLngs(rings, 1), Riado.AREA_STYLE));
      } catch (e) {
        // a ring that is not coordinates: nothing to edit; the server said why
      }
    });

    var lat = Number(editor.getAttribute("data-lat"));
    var lon = Number(editor.getAttribute("data-lon"));
    var hasPoint = editor.hasAttribute("data-lat") && isFinite(lat) && isFinite(lon);
    if (hasPoint) {
      Riado.marker(editor, [lat, lon], { interactive: false }).addTo(map);
    }
    var bounds = drawn.getBounds();
    if (bounds.isValid()) {
      if (hasPoint) {
        bounds.extend([lat, lon]);
      }
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: 17 });
    }

    var boundaryUrl = editor.getAttribute("data-boundary-url");
    if (boundaryUrl && entry.layers.boundary) {
      Riado.getJson(boundaryUrl, { headers: { Accept: "application/geo+json" } })
        .then(function (data) {
          if (data) {
            Riado.boundary(data).addTo(entry.layers.boundary);
          }
        })
        .catch(function () { /* the outline is a guide only */ });
    }

    function count() {
      var n = drawn.getLayers().length;
      editor.setAttribute("data-shapes", String(n));
      return n;
    }

    function changed() {
      count();
      editor.setAttribute("data-changed", "true");
      if (status) {
        status.textContent = drawn.getLayers().length ? (words.unsaved || "") : (words.empty || "");
      }
    }

    map.on("draw:created", function (event) {
      // folium's Draw adds the layer to the group; make sure, once.
      if (!drawn.hasLayer(event.layer)) {
        drawn.addLayer(event.layer);
      }
      changed();
    });
    map.on("draw:edited draw:deleted", changed);

    if (form && input) {
      form.addEventListener("submit", function () {
        input.value = drawn.getLayers().length ? JSON.stringify(drawn.toGeoJSON()) : "";
      });
    }
    count();
    editor.setAttribute("data-ready", "true");
  }

  Riado.registerMap("area", attach);
}());
