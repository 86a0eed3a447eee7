/* Riadó: the wall map's clock and counts.
 *
 *   <time data-clock data-timezone="Europe/Budapest" data-lang="hu"></time>
 *     The local time of the configured zone (RIADO_TIMEZONE), whatever the wall computer's own
 *     zone, every second.
 *
 *   <div data-wall-summary data-summary-url="/api/v1/map/summary?…">
 *     <span data-summary-open></span> <div data-wing-counts></div>
 *   </div>
 *     Open incidents and what the other wings count (alerts in flight, acknowledgements), fetched
 *     again each time the map's layers were loaded ("riado:map-loaded"). Texts go in as text.
 *     <ul data-readiness> inside it gets the incidents under a readiness level, highest first
 *     ("II. fokú készültség · 2026-0003 …"), coloured by level.
 *
 *   <div data-wall-banners></div>
 *     The wings' banners (a hazard watch proposal) from the same summary, replaced each time.
 *
 * Needs riado.js, loaded before.
 */
(function () {
  "use strict";

  function clock(node) {
    var zone = node.getAttribute("data-timezone") || undefined;
    var lang = node.getAttribute("data-lang") || undefined;
    var time, date;
    try {
      time = new Intl.DateTimeFormat(lang, { timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
      date = new Intl.DateTimeFormat(lang, { timeZone: zone, year: "numeric", month: "long", day: "numeric", weekday: "long" });
    } catch (e) {
      time = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
      date = new Intl.DateTimeFormat(lang, { year: "numeric", month: "long", day: "numeric", weekday: "long" });
    }
    var timeNode = document.createElement("span");
    timeNode.className = "wall-clock-time";
    var dateNode = document.createElement("span");
    dateNode.className = "wall-clock-date";
    node.textContent = "";
    node.appendChild(timeNode);
    node.appendChild(dateNode);
    function tick() {
      var now = new Date();
      timeNode.textContent = time.format(now);
      dateNode.textContent = date.format(now);
      node.setAttribute("datetime", now.toISOString());
    }
    tick();
    window.setInterval(tick, 1000);
  }

  function banners(list) {
    var holder = document.querySelector("[data-wall-banners]");
    if (!holder) {
      return;
    }
    var nodes = list.map(function (banner) {
      var node = document.createElement("div");
      node.className = "wall-banner wall-banner-" + (banner.level === "danger" ? "danger" : "warning");
      node.setAttribute("role", "alert");
      node.setAttribute("data-testid", "wall-banner");
      node.setAttribute("data-key", String(banner.key));
      var title = document.createElement("strong");
      title.textContent = String(banner.title);
      var text = document.createElement("span");
      text.textContent = " – " + String(banner.text);
      node.appendChild(title);
      node.appendChild(text);
      return node;
    });
    holder.replaceChildren.apply(holder, nodes);
  }

  function summary(box) {
    var url = box.getAttribute("data-summary-url");
    var openNode = box.querySelector("[data-summary-open]");
    var wing = box.querySelector("[data-wing-counts]");
    var readiness = box.querySelector("[data-readiness]");
    var busy = false;

    function item(key) {
      var found = null;
      Array.prototype.forEach.call(wing.children, function (child) {
        if (child.getAttribute("data-key") === key) {
          found = child;
        }
      });
      if (found) {
        return found;
      }
      found = document.createElement("div");
      found.className = "wall-count";
      found.setAttribute("data-key", key);
      var value = document.createElement("span");
      value.className = "wall-count-value";
      var label = document.createElement("span");
      label.className = "wall-count-label";
      found.appendChild(value);
      found.appendChild(label);
      wing.appendChild(found);
      return found;
    }

    function load() {
      if (busy || !url) {
        return;
      }
      busy = true;
      Riado.getJson(url, { cache: "no-store" })
        .then(function (data) {
          if (openNode) {
            openNode.textContent = String((data.incidents && data.incidents.open) || 0);
          }
          if (readiness) {
            readiness.textContent = "";
            (data.readiness || []).forEach(function (item) {
              var li = document.createElement("li");
              var level = parseInt(item.level, 10) || 0;
              li.className = "readiness readiness-large readiness-" + level;
              li.setAttribute("data-level", String(level));
              li.setAttribute("data-incident", String(item.incident_id));
              var strong = document.createElement("strong");
              strong.textContent = String(item.label);
              var small = document.createElement("span");
              small.className = "wall-readiness-incident";
              small.textContent = String(item.number) + " " + String(item.title);
              li.appendChild(strong);
              li.appendChild(small);
              readiness.appendChild(li);
            });
          }
          (data.counts || []).forEach(function (count) {
            var node = item(String(count.key));
            node.children[0].textContent = String(count.value);
            node.children[1].textContent = String(count.label);
          });
          banners(data.banners || []);
          box.setAttribute("data-loaded", String(Date.now()));
        })
        .catch(function () {
          box.setAttribute("data-failed", String(Date.now()));
        })
        .then(function () {
          busy = false;
        });
    }

    var frame = document.querySelector("[data-riado-map]");
    if (frame) {
      frame.addEventListener("riado:map-loaded", load);
    }
    load();
  }

  Riado.ready(function () {
    Riado.each("[data-clock]", clock);
    Riado.each("[data-wall-summary]", summary);
  });
}());
