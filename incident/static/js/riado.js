/* Riadó: the helpers every page script shares. A plain script, no bundler: a page loads it before
 * its own scripts (js/*.js), which find it as window.Riado.
 *
 *   Riado.each(selector, fn[, root])    fn(element) for each element that matches
 *   Riado.ready(fn)                     fn once the document is parsed (at once if it is)
 *   Riado.parseJson(text[, fallback])   the JSON in a data attribute; fallback ({} if not given)
 *                                       when it is missing or broken
 *   Riado.request(url[, options])       fetch() of this site's JSON (the session's cookie sent,
 *                                       JSON asked for): resolves to the response if it is JSON
 *                                       with a 2xx status; rejects with error.signedOut for a
 *                                       sign-out (401, a redirect to the sign-in page, a page
 *                                       instead of JSON), with error.status for another status
 *   Riado.getJson(url[, options])       the same, resolving to the parsed JSON
 *   Riado.once(form)                    the form is sent once: a second Enter or click while the
 *                                       first request is on its way is ignored (a log entry
 *                                       cannot be deleted, an alert must not go out twice).
 *                                       Done here for every <form data-once>; a page restored by
 *                                       the Back button may send it again.
 *   Riado.tileLayer(el)                 the tile layer named by el's data-tile-url and
 *                                       data-tile-attribution, or null: without tiles (no
 *                                       network, no tile server) a map still works on a plain
 *                                       background
 *   Riado.smallMap(el, [lat, lon])      a Leaflet map in el (a form's or a record's small map):
 *                                       the tiles, the view at data-zoom, no zoom by the wheel
 *   Riado.marker(el, [lat, lon][, options])  a marker named by el's data-marker-label (its
 *                                       tooltip and its text for screen readers)
 *   Riado.boundary(geojson)             the district outline as a layer, the same on every map
 *   Riado.AREA_STYLE                    an affected area's look
 *   Riado.drawWords(words)              Leaflet.draw's toolbar and hints in the page's language
 *                                       (the words of incident.web.display.draw_labels); call it
 *                                       before a draw control is made
 *   Riado.polygonsOf(geojson)           the polygons (rings of [lon, lat]) of a GeoJSON geometry,
 *                                       Feature or FeatureCollection, [] for anything else
 *   Riado.registerMap(name, handler)    handler({map, layers}) for every folium map whose script
 *                                       queues itself for the consumer name (maps/builder.py's
 *                                       LayerHook), whether it ran before or after this call
 *
 * On every page (base.html loads this file on each): a form sent once (data-once, above), and a
 * wide table that scrolls inside its wrapper (.table-wrap) on a narrow screen takes the keyboard's
 * focus, so that the arrow keys scroll it (WCAG 2.1.1); a wrapper that fits takes no tab stop.
 *
 * The map helpers need Leaflet (loaded only on pages with a map); everything else works without.
 */
(function () {
  "use strict";

  var BOUNDARY_STYLE = { color: "#0b3d6b", weight: 3, opacity: 0.8, fill: false, dashArray: "10 6" };
  var AREA_STYLE = { color: "#c8102e", weight: 2, fillColor: "#c8102e", fillOpacity: 0.15 };
  var DEFAULT_ZOOM = 15;
  var MAX_ZOOM = 19;

  function each(selector, fn, root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(selector), fn);
  }

  function ready(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  function parseJson(text, fallback) {
    var otherwise = arguments.length > 1 ? fallback : {};
    if (text === null || text === undefined || String(text).trim() === "") {
      return otherwise;
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      return otherwise;
    }
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

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      each("form[data-sent]", function (form) {
        form.removeAttribute("data-sent");
      });
    }
  });

  function tileLayer(el) {
    var url = el.getAttribute("data-tile-url");
    if (!url || !window.L) {
      return null;
    }
    return window.L.tileLayer(url, { maxZoom: MAX_ZOOM, attribution: el.getAttribute("data-tile-attribution") || "" });
  }

  function smallMap(el, centre) {
    var map = window.L.map(el, { scrollWheelZoom: false });
    var tiles = tileLayer(el);
    if (tiles) {
      tiles.addTo(map);
    }
    var zoom = parseInt(el.getAttribute("data-zoom"), 10);
    map.setView(centre, isFinite(zoom) ? zoom : DEFAULT_ZOOM);
    // A map inside a closed <details> has no size until it opens.
    var details = el.closest("details");
    if (details) {
      details.addEventListener("toggle", function () {
        if (details.open) {
          map.invalidateSize();
        }
      });
    }
    return map;
  }

  function marker(el, latlng, options) {
    var label = el.getAttribute("data-marker-label") || "";
    return window.L.marker(latlng, Object.assign({ keyboard: false, title: label, alt: label }, options));
  }

  function boundary(data) {
    return window.L.geoJSON(data, { interactive: false, style: BOUNDARY_STYLE });
  }

  function drawWords(words) {
    var local = window.L && window.L.drawLocal;
    if (!local) {
      return;
    }
    function set(object, key, value) {
      if (object && value) {
        object[key] = value;
      }
    }
    var toolbar = local.draw.toolbar;
    set(toolbar.buttons, "polygon", words.polygon);
    set(toolbar.buttons, "rectangle", words.rectangle);
    set(toolbar.actions, "title", words.cancel);
    set(toolbar.actions, "text", words.cancel);
    set(toolbar.finish, "title", words.finish);
    set(toolbar.finish, "text", words.finish);
    set(toolbar.undo, "title", words.undo);
    set(toolbar.undo, "text", words.undo);
    var handlers = local.draw.handlers;
    set(handlers.polygon.tooltip, "start", words.polygon_start);
    set(handlers.polygon.tooltip, "cont", words.polygon_continue);
    set(handlers.polygon.tooltip, "end", words.polygon_end);
    set(handlers.rectangle.tooltip, "start", words.rectangle_start);
    set(handlers.simpleshape.tooltip, "end", words.rectangle_start);
    if (handlers.polyline && words.crossing) {
      handlers.polyline.error = words.crossing;
    }
    var edit = local.edit.toolbar;
    set(edit.actions.save, "title", words.save);
    set(edit.actions.save, "text", words.save);
    set(edit.actions.cancel, "title", words.cancel);
    set(edit.actions.cancel, "text", words.cancel);
    set(edit.actions.clearAll, "title", words.clear_all);
    set(edit.actions.clearAll, "text", words.clear_all);
    set(edit.buttons, "edit", words.edit);
    set(edit.buttons, "editDisabled", words.edit_disabled);
    set(edit.buttons, "remove", words.remove);
    set(edit.buttons, "removeDisabled", words.remove_disabled);
    set(local.edit.handlers.edit.tooltip, "text", words.edit_hint);
    set(local.edit.handlers.edit.tooltip, "subtext", " ");
    set(local.edit.handlers.remove.tooltip, "text", words.remove_hint);
  }

  function polygonsOf(geometry) {
    if (!geometry) {
      return [];
    }
    if (geometry.type === "Feature") {
      return polygonsOf(geometry.geometry);
    }
    if (geometry.type === "FeatureCollection") {
      return (geometry.features || []).reduce(function (all, f) { return all.concat(polygonsOf(f)); }, []);
    }
    if (geometry.type === "Polygon") {
      return [geometry.coordinates];
    }
    if (geometry.type === "MultiPolygon") {
      return geometry.coordinates || [];
    }
    return [];
  }

  // The folium maps' queue: each map's script pushes {consumer, map, layers}; the consumer's
  // script takes it whichever of the two runs first.
  var consumers = {};
  var waiting = [];

  function dispatch(entry) {
    var handler = entry && consumers[entry.consumer];
    if (handler) {
      handler(entry);
    } else {
      waiting.push(entry);
    }
  }

  function registerMap(name, handler) {
    consumers[name] = handler;
    var queued = waiting;
    waiting = [];
    queued.forEach(dispatch);
  }

  var early = window.riadoMapQueue;
  window.riadoMapQueue = { push: dispatch };
  if (Array.isArray(early)) {
    early.forEach(dispatch);
  }

  function request(url, options) {
    var settings = Object.assign({ credentials: "same-origin" }, options || {});
    settings.headers = Object.assign({ Accept: "application/json" }, settings.headers || {});
    return fetch(url, settings).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (response.status === 401 || response.redirected || (response.ok && type.indexOf("json") < 0)) {
        var signedOut = new Error("signed out");
        signedOut.signedOut = true;
        throw signedOut;
      }
      if (!response.ok) {
        var failed = new Error(url + " answered " + response.status);
        failed.status = response.status;
        throw failed;
      }
      return response;
    });
  }

  function getJson(url, options) {
    return request(url, options).then(function (response) { return response.json(); });
  }

  window.Riado = {
    each: each,
    ready: ready,
    parseJson: parseJson,
    request: request,
    getJson: getJson,
    once: once,
    tileLayer: tileLayer,
    smallMap: smallMap,
    marker: marker,
    boundary: boundary,
    drawWords: drawWords,
    polygonsOf: polygonsOf,
    AREA_STYLE: AREA_STYLE,
    registerMap: registerMap
  };

  // A table wrapper that scrolls sideways is focusable (tabindex 0), one that fits is not; checked
  // again when the page or a table changes size (a phone turned, rows added by a page script).
  function scrollRegions() {
    var pending = false;
    function update() {
      pending = false;
      each(".table-wrap", function (wrap) {
        var scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
        if (scrolls && !wrap.hasAttribute("tabindex")) {
          wrap.setAttribute("tabindex", "0");
          wrap.setAttribute("data-scrolls", "true");
        } else if (!scrolls && wrap.getAttribute("data-scrolls") === "true") {
          wrap.removeAttribute("tabindex");
          wrap.removeAttribute("data-scrolls");
        }
      });
    }
    function later() {
      if (!pending) {
        pending = true;
        window.requestAnimationFrame(update);
      }
    }
    if (window.ResizeObserver) {
      var observer = new window.ResizeObserver(later);
      each(".table-wrap", function (wrap) {
        observer.observe(wrap);
        if (wrap.firstElementChild) {
          observer.observe(wrap.firstElementChild);
        }
      });
    }
    window.addEventListener("resize", later);
    update();
  }

  ready(function () {
    each("form[data-once]", once);
    scrollRegions();
  });
}());
