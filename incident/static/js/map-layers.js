/* Riadó: the layers of the operational map and of the wall map.
 *
 * The folium map (maps/builder.py) creates the Leaflet map and one empty layer per entry and
 * queues them for the consumer "layers" (riado.js's Riado.registerMap, loaded before). This file
 * fills the layers from the GeoJSON endpoints named by the map's frame:
 *
 *   <div data-riado-map data-incidents-url data-areas-url data-resources-url data-boundary-url
 *        data-refresh="seconds (0: load once)" data-fit="page|data" data-labels='{JSON}'>
 *     …folium's map div…
 *   </div>
 *
 * Layers: "incidents" and "drills" (markers coloured by severity, clustered), "areas" (the
 * affected areas), "resources:<kind>" (one clustered layer per kind, an icon and colour per
 * kind; shelters show their free places), "boundary" (the district outline).
 *
 * Every text of a record is put on the page as text (textContent, DOM nodes): popups and tooltips
 * are built from elements, never from HTML strings with the data in them, so a name such as
 * <script>…</script> or "><img onerror=…> shows as it was typed. Links go only to this site's
 * own paths.
 *
 * After each load the frame says what it drew: data-state="ready", data-incidents-drawn,
 * data-drills-drawn, data-resources-drawn, data-areas-drawn, data-boundary-drawn, data-loads,
 * data-drawn-ms (first load: milliseconds from navigation start until all layers were drawn),
 * and fires "riado:map-loaded" on the frame. Without tiles (no network) the layers still show.
 */
(function () {
  "use strict";

  var SEVERITY_COLOURS = {
    extreme: "#5c0a2e", severe: "#c8102e", moderate: "#d46a00", minor: "#e8c31a", unknown: "#7a8591"
  };
  // White glyphs (16×16) on a coloured disc, one per seeded kind; constants, no data in them.
  var GLYPHS = {
    vehicle: '<path d="M1 4h8.5v6.5H1zM9.5 6.5h3l2.5 3v1h-5.5z"/><circle cx="4" cy="12.2" r="1.7"/><circle cx="12" cy="12.2" r="1.7"/>',
    boat: '<path d="M1.5 9.5h13l-2.5 4h-8zM7.2 1.5v7h-4zM8.2 3l4 5.5h-4z"/>',
    pump: '<path d="M8 1.3S3 6.8 3 10a5 5 0 0 0 10 0c0-3.2-5-8.7-5-8.7z"/>',
    generator: '<path d="M9.5 1L3 9.2h4.2L6.2 15l6.6-8.4H8.6z"/>',
    sandbags: '<rect x="1" y="9.5" width="6.6" height="4.5" rx="2.2"/><rect x="8.4" y="9.5" width="6.6" height="4.5" rx="2.2"/><rect x="4.7" y="4.3" width="6.6" height="4.5" rx="2.2"/>',
    shelter: '<path d="M8 1.2L.8 7.8h2.1v6.9h3.9v-4.2h2.4v4.2h3.9V7.8h2.1z"/>',
    heavy_machinery: '<path d="M1 10.2h8.6v3.4H1zM2.4 6.8h4.4v3.4H2.4zM7.4 7.6l4.3-5 3.5 4.5h-2.1l-1.3-1.6-3 3.2z"/>',
    medical: '<path d="M6 1.5h4v4.5h4.5v4H10v4.5H6V10H1.5V6H6z"/>',
    food_water: '<path d="M3 2h10l-1.6 12.3H4.6zM4.3 5h7.4l.3-2H4z"/>',
    communications: '<path d="M7 6.5h2V15H7z"/><circle cx="8" cy="5" r="1.8"/><path d="M4 1.8a5.5 5.5 0 0 0 0 6.4M12 1.8a5.5 5.5 0 0 1 0 6.4" fill="none" stroke="#fff" stroke-width="1.5"/>',
    lighting: '<circle cx="8" cy="6.3" r="4.8"/><rect x="6" y="11.3" width="4" height="3.4" rx=".8"/>',
    other: '<circle cx="8" cy="8" r="3.6"/>'
  };
  var KIND_COLOURS = {
    vehicle: "#1f5fa8", boat: "#0a7d9c", pump: "#2b6fd6", generator: "#8a5a00", sandbags: "#7a6a3a",
    shelter: "#1d7a3a", heavy_machinery: "#b25a00", medical: "#c8102e", food_water: "#6b3fa0",
    communications: "#37474f", lighting: "#a68b00", other: "#5b6570"
  };
  var SPARE_COLOURS = ["#00796b", "#ad1457", "#4e342e", "#283593", "#558b2f", "#6a1b9a", "#00838f", "#9e5200"];

  function escapeHtml(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"'`=\/]/g, function (c) {
      return "&#" + c.charCodeAt(0) + ";";
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  // Only this site's own paths ("/incidents/12"), never "//host", "javascript:", "data:"…
  function ownPath(url) {
    return typeof url === "string" && /^\/(?![\/\\])[^\s]*$/.test(url) ? url : null;
  }

  function kindCode(code) {
    return String(code || "other").toLowerCase().replace(/[^a-z0-9_]/g, "_");
  }

  function colourOf(code) {
    if (Object.prototype.hasOwnProperty.call(KIND_COLOURS, code)) {
      return KIND_COLOURS[code];
    }
    var hash = 0;
    for (var i = 0; i < code.length; i++) {
      hash = (hash * 31 + code.charCodeAt(i)) % 9973;
    }
    return SPARE_COLOURS[hash % SPARE_COLOURS.length];
  }

  // The inside of a resource pin: a glyph, or for a kind added later the first letter of its name.
  function glyphHtml(code, word) {
    if (Object.prototype.hasOwnProperty.call(GLYPHS, code)) {
      return '<svg viewBox="0 0 16 16" width="16" height="16" fill="#fff" aria-hidden="true" focusable="false">' +
        GLYPHS[code] + "</svg>";
    }
    var letter = String(word || code).trim().charAt(0).toUpperCase() || "?";
    return '<span class="riado-pin-letter">' + escapeHtml(letter) + "</span>";
  }

  function pinHtml(code, word) {
    return '<span class="riado-pin-body" style="background:' + colourOf(code) + '">' + glyphHtml(code, word) + "</span>";
  }

  var iconCache = {};

  function resourceIcon(p) {
    var code = kindCode(p.kind);
    // Faded: not deployable now (not available, or all of it assigned; a shelter shows its free
    // places instead and is marked full when it has none).
    var faded = p.status !== "available" || (code !== "shelter" && p.available_quantity <= 0);
    if (code === "shelter" && typeof p.free_capacity === "number") {
      var free = Math.max(0, Math.floor(p.free_capacity));
      return L.divIcon({
        className: "riado-pin riado-pin-shelter" + (faded ? " riado-pin-faded" : "") + (free > 0 ? "" : " riado-pin-full"),
        html: pinHtml(code, p.kind_label) + '<span class="riado-badge">' + escapeHtml(String(free)) + "</span>",
        iconSize: [28, 28],
        iconAnchor: [14, 14],
        popupAnchor: [0, -12]
      });
    }
    var key = code + (faded ? "|faded" : "");
    if (!iconCache[key]) {
      iconCache[key] = L.divIcon({
        className: "riado-pin riado-kind-" + code + (faded ? " riado-pin-faded" : ""),
        html: pinHtml(code, p.kind_label),
        iconSize: [28, 28],
        iconAnchor: [14, 14],
        popupAnchor: [0, -12]
      });
    }
    return iconCache[key];
  }

  function incidentIcon(p) {
    var severity = Object.prototype.hasOwnProperty.call(SEVERITY_COLOURS, p.severity) ? p.severity : "unknown";
    var key = "incident|" + severity + (p.drill ? "|drill" : "") + (p.status === "contained" ? "|contained" : "");
    if (!iconCache[key]) {
      iconCache[key] = L.divIcon({
        className: "riado-incident sev-" + severity + (p.drill ? " riado-incident-drill" : "") +
          (p.status === "contained" ? " riado-incident-contained" : ""),
        html: '<span class="riado-incident-body"><span class="riado-incident-mark">!</span></span>',
        iconSize: [32, 32],
        iconAnchor: [16, 16],
        popupAnchor: [0, -14]
      });
    }
    return iconCache[key];
  }

  function validPoint(geometry) {
    if (!geometry || geometry.type !== "Point" || !geometry.coordinates) {
      return null;
    }
    var lon = Number(geometry.coordinates[0]);
    var lat = Number(geometry.coordinates[1]);
    return isFinite(lon) && isFinite(lat) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 ? [lat, lon] : null;
  }

  // Popups: elements with text in them

  function fact(list, term, value) {
    if (value === null || value === undefined || value === "") {
      return;
    }
    list.appendChild(el("dt", null, term));
    list.appendChild(el("dd", null, value));
  }

  function link(box, url, text) {
    var href = ownPath(url);
    if (!href) {
      return;
    }
    var p = el("p", "map-popup-link");
    var a = el("a", null, text);
    a.setAttribute("href", href);
    p.appendChild(a);
    box.appendChild(p);
  }

  function incidentContent(p, labels) {
    var box = el("div", "map-popup map-popup-incident");
    box.setAttribute("data-record", "incident");
    box.setAttribute("data-id", String(p.id));
    var head = el("p", "map-popup-number");
    head.appendChild(el("span", null, p.number));
    if (p.drill) {
      head.appendChild(document.createTextNode(" "));
      head.appendChild(el("strong", "drill-tag", labels.drill));
    }
    box.appendChild(head);
    box.appendChild(el("p", "map-popup-title", p.title));
    var list = el("dl", "map-popup-facts");
    fact(list, labels.kind, p.kind_label);
    fact(list, labels.severity, p.severity_label);
    fact(list, labels.status, p.status_label);
    box.appendChild(list);
    if (p.has_area) {
      box.appendChild(el("p", "muted", labels.has_area));
    }
    link(box, p.url, labels.open_incident);
    return box;
  }

  // A shelter's headcounts of the evacuees present (counts only: the layer carries no names).
  function receptionCounts(box, counts, labels, drill) {
    if (!counts || typeof counts.present !== "number" || (drill && counts.present === 0)) {
      return;
    }
    var line = el("p", "map-popup-reception");
    line.setAttribute("data-testid", drill ? "popup-reception-drill" : "popup-reception");
    if (drill) {
      line.appendChild(el("span", "drill-tag", labels.drill));
      line.appendChild(document.createTextNode(" "));
    }
    var parts = [(drill ? labels.in_drills + ": " : "") + labels.present + ": " + counts.present];
    if (counts.present) {
      parts.push(labels.children + ": " + counts.children);
      parts.push(labels.elderly + ": " + counts.elderly);
      Object.keys(counts.needs || {}).forEach(function (code) {
        if (counts.needs[code] > 0) {
          parts.push(((labels.needs || {})[code] || code) + ": " + counts.needs[code]);
        }
      });
    }
    line.appendChild(document.createTextNode(parts.join(" · ")));
    box.appendChild(line);
  }

  function resourceContent(p, labels) {
    var box = el("div", "map-popup map-popup-resource");
    box.setAttribute("data-record", "resource");
    box.setAttribute("data-id", String(p.id));
    box.appendChild(el("p", "map-popup-title", p.name));
    var list = el("dl", "map-popup-facts");
    fact(list, labels.kind, p.kind_label);
    fact(list, labels.status, p.status_label);
    if (typeof p.free_capacity === "number") {
      fact(list, labels.free_places, p.free_capacity + " " + labels.of + " " + (p.capacity === null ? "?" : p.capacity) +
        " " + labels.persons);
    } else {
      fact(list, labels.available, p.available_quantity + " " + labels.of + " " + p.quantity +
        (p.unit ? " " + p.unit : ""));
    }
    box.appendChild(list);
    receptionCounts(box, p.reception, labels, false);
    receptionCounts(box, p.reception_drill, labels, true);
    if (Array.isArray(p.assigned_to) && p.assigned_to.length) {
      var deployed = el("div", "map-popup-deployed");
      deployed.setAttribute("data-testid", "popup-assigned-to");
      deployed.appendChild(el("p", "map-popup-term", labels.assigned_to));
      p.assigned_to.forEach(function (a) {
        var href = ownPath(a.url);
        var line = el("p", "map-popup-assignment");
        var number = el(href ? "a" : "span", null, a.number);
        if (href) {
          number.setAttribute("href", href);
        }
        line.appendChild(number);
        if (a.drill) {
          line.appendChild(document.createTextNode(" "));
          line.appendChild(el("span", "drill-tag", labels.drill));
        }
        line.appendChild(document.createTextNode(" " + a.title + " (" + a.quantity + (p.unit && p.kind !== "shelter" ? " " + p.unit : "") + ")"));
        deployed.appendChild(line);
      });
      box.appendChild(deployed);
    }
    link(box, p.url, labels.open_resource);
    return box;
  }

  // One map

  function Controller(entry, frame) {
    this.map = entry.map;
    this.layers = entry.layers || {};
    this.frame = frame;
    this.labels = Riado.parseJson(frame.getAttribute("data-labels"));
    this.urls = {
      incidents: frame.getAttribute("data-incidents-url"),
      areas: frame.getAttribute("data-areas-url"),
      resources: frame.getAttribute("data-resources-url"),
      boundary: frame.getAttribute("data-boundary-url")
    };
    this.refresh = Math.max(0, Number(frame.getAttribute("data-refresh")) || 0);
    this.fit = frame.getAttribute("data-fit") || "data";
    this.last = {};
    this.loads = 0;
    this.fitted = false;
    this.popup = L.popup({ maxWidth: 320, autoPanPadding: [24, 24] });
    this.markers = { incidents: {}, resources: {} };
    this.counts = {};
    var self = this;
    Object.keys(this.layers).forEach(function (key) {
      var layer = self.layers[key];
      if (key === "incidents" || key === "drills") {
        layer.on("click", function (e) {
          self.open(e.layer, incidentContent(e.layer.feature.properties, self.labels));
        });
      } else if (key.indexOf("resources:") === 0) {
        layer.on("click", function (e) {
          self.open(e.layer, resourceContent(e.layer.feature.properties, self.labels));
        });
      }
    });
    var incidentClusters = this.layers["cluster:incidents"];
    if (incidentClusters) {
      incidentClusters.options.iconCreateFunction = function (cluster) {
        var n = cluster.getChildCount();
        return L.divIcon({
          html: "<div><span>" + Number(n) + "</span></div>",
          className: "marker-cluster riado-incident-cluster",
          iconSize: L.point(40, 40)
        });
      };
    }
    frame.riadoMap = this;
  }

  Controller.prototype.open = function (layer, content) {
    this.popup.setLatLng(layer.getLatLng()).setContent(content).openOn(this.map);
  };

  // A time of day in the configured zone (RIADO_TIMEZONE), whatever the computer's own.
  Controller.prototype.time = function (when) {
    try {
      this.timeFormat = this.timeFormat || new Intl.DateTimeFormat(this.frame.getAttribute("data-lang") || undefined, {
        timeZone: this.frame.getAttribute("data-timezone") || undefined,
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
      });
      return this.timeFormat.format(when);
    } catch (e) {
      return when.toLocaleTimeString();
    }
  };

  Controller.prototype.status = function (text, kind) {
    var box = document.querySelector("[data-map-status]");
    if (box) {
      box.textContent = text;
      box.setAttribute("data-kind", kind || "");
    }
  };

  // GET a layer; resolves to the response text, or null if it is the same as the last time.
  Controller.prototype.get = function (key) {
    var self = this;
    var url = this.urls[key];
    if (!url) {
      return Promise.resolve(null);
    }
    // The first load takes what the page preloaded; the refreshes always ask the server.
    var options = { cache: this.loads ? "no-store" : "default", headers: { Accept: "application/geo+json" } };
    return Riado.request(url, options)
      .then(function (response) { return response.text(); })
      .then(function (text) {
        if (self.last[key] === text) {
          return null;
        }
        self.last[key] = text;
        return JSON.parse(text);
      });
  };

  // Replace what the subgroups of one clustered layer hold, and cluster them all at once (the
  // parent leaves the map meanwhile); resolves when the clusters are drawn. A subgroup turned off
  // in the layer control keeps its markers for when it is turned on again.
  Controller.prototype.refill = function (parentKey, markersByKey) {
    var map = this.map;
    var layers = this.layers;
    var parent = layers[parentKey];
    if (!parent) {
      return Promise.resolve();
    }
    var onMap = map.hasLayer(parent);
    if (onMap) {
      map.removeLayer(parent);
    }
    parent.clearLayers();
    var queued = 0;
    Object.keys(markersByKey).forEach(function (key) {
      var sub = layers[key];
      if (!sub) {
        return;
      }
      sub.clearLayers();
      var markers = markersByKey[key];
      for (var i = 0; i < markers.length; i++) {
        sub.addLayer(markers[i]);
      }
      if (map.hasLayer(sub)) {
        queued += markers.length;
      }
    });
    if (!onMap) {
      return Promise.resolve();
    }
    return new Promise(function (resolve) {
      if (!queued || !parent.options.chunkedLoading) {
        map.addLayer(parent);
        resolve();
        return;
      }
      parent.options.chunkProgress = function (processed, total) {
        if (processed >= total) {
          parent.options.chunkProgress = null;
          resolve();
        }
      };
      map.addLayer(parent);
    });
  };

  function mark(name) {
    if (window.performance && performance.mark) {
      performance.mark("riado:" + name);
    }
  }

  Controller.prototype.drawIncidents = function (data) {
    var self = this;
    mark("incidents-fetched");
    var byLayer = { incidents: [], drills: [] };
    var severities = {};
    (data.features || []).forEach(function (f) {
      var p = f.properties || {};
      var at = validPoint(f.geometry);
      if (!at) {
        return;
      }
      var key = p.drill ? "drills" : "incidents";
      if (!self.layers[key]) {
        return;
      }
      var marker = L.marker(at, { icon: incidentIcon(p), title: String(p.number || "") + " " + String(p.title || ""),
        riseOnHover: true, zIndexOffset: 1000 });
      marker.feature = f;
      marker.bindTooltip(function () {
        return el("span", null, String(p.number || "") + " · " + String(p.title || ""));
      }, { direction: "top", offset: [0, -14] });
      byLayer[key].push(marker);
      severities[p.severity] = (severities[p.severity] || 0) + 1;
    });
    this.counts.incidents = byLayer.incidents.length;
    this.counts.drills = byLayer.drills.length;
    this.counts.severity = severities;
    if (this.fit === "data" && !this.fitted) {
      this.incidentBounds = byLayer.incidents.concat(byLayer.drills).map(function (m) { return m.getLatLng(); });
    }
    return this.refill("cluster:incidents", byLayer);
  };

  Controller.prototype.drawResources = function (data) {
    var self = this;
    mark("resources-fetched");
    var byLayer = {};
    var kinds = {};
    var total = 0;
    var points = this.fit === "data" && !this.fitted ? [] : null;
    (data.features || []).forEach(function (f) {
      var p = f.properties || {};
      var at = validPoint(f.geometry);
      if (!at) {
        return;
      }
      var key = "resources:" + kindCode(p.kind);
      if (!self.layers[key]) {
        key = "resources:other";
        if (!self.layers[key]) {
          return;
        }
      }
      var marker = L.marker(at, { icon: resourceIcon(p), title: String(p.name || "") });
      marker.feature = f;
      (byLayer[key] = byLayer[key] || []).push(marker);
      kinds[p.kind] = (kinds[p.kind] || 0) + 1;
      total += 1;
      if (points) {
        points.push(at);
      }
    });
    mark("resources-markers");
    this.counts.resources = total;
    this.counts.kind = kinds;
    this.resourceBounds = points || [];
    Object.keys(this.layers).forEach(function (key) {
      if (key.indexOf("resources:") === 0 && !byLayer[key]) {
        byLayer[key] = [];
      }
    });
    return this.refill("cluster:resources", byLayer);
  };

  Controller.prototype.drawAreas = function (data) {
    var self = this;
    var group = this.layers.areas;
    if (!group) {
      return;
    }
    group.clearLayers();
    var count = 0;
    L.geoJSON(data, {
      filter: function (f) {
        return f && f.geometry && (f.geometry.type === "Polygon" || f.geometry.type === "MultiPolygon");
      },
      style: function (f) {
        var p = f.properties || {};
        var colour = SEVERITY_COLOURS[p.severity] || SEVERITY_COLOURS.unknown;
        return { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.18, dashArray: p.drill ? "8 6" : null };
      },
      onEachFeature: function (f, layer) {
        count += 1;
        layer.on("click", function (e) {
          self.popup.setLatLng(e.latlng).setContent(incidentContent(f.properties || {}, self.labels)).openOn(self.map);
        });
      }
    }).addTo(group);
    this.counts.areas = count;
  };

  Controller.prototype.drawBoundary = function (data) {
    var group = this.layers.boundary;
    if (!group) {
      return;
    }
    group.clearLayers();
    var layer = Riado.boundary(data).addTo(group);
    this.counts.boundary = (data.features || []).length;
    if (this.fit === "page" && !this.fitted && layer.getBounds().isValid()) {
      this.fitted = true;
    }
  };

  Controller.prototype.fitToData = function () {
    if (this.fitted || this.fit !== "data") {
      return;
    }
    var points = (this.incidentBounds || []).concat(this.resourceBounds || []);
    if (points.length) {
      this.fitted = true;
      this.map.fitBounds(L.latLngBounds(points), { padding: [24, 24], maxZoom: 16 });
    }
  };

  Controller.prototype.legendCounts = function () {
    var counts = this.counts;
    Riado.each("[data-count-for]", function (node) {
      var parts = node.getAttribute("data-count-for").split(":");
      var table = counts[parts[0]] || {};
      var n = table[parts[1]] || 0;
      node.textContent = "(" + n + ")";
    });
  };

  Controller.prototype.report = function () {
    var frame = this.frame;
    var c = this.counts;
    frame.setAttribute("data-incidents-drawn", String((c.incidents || 0) + (c.drills || 0)));
    frame.setAttribute("data-drills-drawn", String(c.drills || 0));
    frame.setAttribute("data-resources-drawn", String(c.resources || 0));
    frame.setAttribute("data-areas-drawn", String(c.areas || 0));
    frame.setAttribute("data-boundary-drawn", String(c.boundary || 0));
    frame.setAttribute("data-loads", String(this.loads));
    if (!frame.hasAttribute("data-drawn-ms") && window.performance) {
      frame.setAttribute("data-drawn-ms", String(Math.round(window.performance.now())));
    }
    frame.setAttribute("data-state", "ready");
    this.legendCounts();
    this.status((this.labels.updated || "") + " " + this.time(new Date()), "ok");
    var event;
    try {
      event = new CustomEvent("riado:map-loaded", { detail: { loads: this.loads } });
    } catch (e) {
      event = document.createEvent("CustomEvent");
      event.initCustomEvent("riado:map-loaded", false, false, { loads: this.loads });
    }
    frame.dispatchEvent(event);
  };

  Controller.prototype.load = function () {
    var self = this;
    if (!this.loads) {
      this.status(this.labels.loading || "", "loading");
    }
    var jobs = [
      this.get("incidents").then(function (data) { return data && self.drawIncidents(data); }),
      this.get("areas").then(function (data) { return data && self.drawAreas(data); }),
      this.get("resources").then(function (data) { return data && self.drawResources(data); })
    ];
    if (!this.loads) {
      jobs.push(this.get("boundary").then(function (data) { return data && self.drawBoundary(data); }));
    }
    mark("load-start");
    return Promise.all(jobs).then(function () {
      mark("layers-clustered");
      self.loads += 1;
      self.fitToData();
      // Drawn means painted: wait for the frame after the markers went in.
      return new Promise(function (resolve) {
        window.requestAnimationFrame(function () { window.requestAnimationFrame(resolve); });
      });
    }).then(function () {
      self.report();
    }, function (error) {
      self.frame.setAttribute("data-state", error && error.signedOut ? "signed-out" : "error");
      self.status(error && error.signedOut ? self.labels.signed_out : self.labels.failed, "error");
    }).then(function () {
      if (self.refresh > 0) {
        window.setTimeout(function () { self.load(); }, self.refresh * 1000);
      }
    });
  };

  // For scripts and tests: show one record's popup, zooming in if it is inside a cluster.
  Controller.prototype.show = function (layerKey, id) {
    var group = this.layers[layerKey];
    var self = this;
    if (!group) {
      return false;
    }
    var found = null;
    group.eachLayer(function (layer) {
      if (!found && layer.feature && layer.feature.properties && layer.feature.properties.id === id) {
        found = layer;
      }
    });
    if (!found) {
      return false;
    }
    var content = layerKey.indexOf("resources:") === 0 ? resourceContent : incidentContent;
    var open = function () { self.open(found, content(found.feature.properties, self.labels)); };
    var cluster = typeof group.getParentGroup === "function" ? group.getParentGroup() : group;
    if (cluster && typeof cluster.zoomToShowLayer === "function" && this.map.hasLayer(group)) {
      cluster.zoomToShowLayer(found, open);
    } else {
      open();
    }
    return true;
  };

  function legendIcons() {
    Riado.each("[data-kind-icon]", function (node) {
      var code = kindCode(node.getAttribute("data-kind-icon"));
      node.innerHTML = pinHtml(code, node.getAttribute("data-kind-word") || code);
    });
  }

  function attach(entry) {
    if (!entry || !entry.map) {
      return;
    }
    var frame = entry.map.getContainer().closest("[data-riado-map]");
    if (!frame) {
      return;
    }
    legendIcons();
    var controller = new Controller(entry, frame);
    controller.load();
  }

  window.RiadoMapLayers = { attach: attach, escapeHtml: escapeHtml, ownPath: ownPath, pinHtml: pinHtml };

  // The folium map queues itself for "layers"; whichever script runs first, every map gets here.
  Riado.registerMap("layers", attach);
}());
