// The dashboard refreshes itself: every 30 s the page is fetched again and its panels are
// swapped in place (the server renders and escapes them; nothing is built from data here).
// Needs riado.js, loaded before.
(function () {
  "use strict";

  function refresher(grid) {
    if (!window.fetch || !window.DOMParser) { return; }
    var every = parseInt(grid.getAttribute("data-refresh-seconds") || "30", 10) * 1000;

    function refresh() {
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok || response.redirected) { throw new Error("status " + response.status); }
          return response.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-testid=dashboard]");
          if (fresh) {
            grid.replaceChildren.apply(grid, Array.prototype.map.call(fresh.children, function (node) {
              return document.importNode(node, true);
            }));
            grid.setAttribute("data-refreshed", new Date().toISOString());
          }
        })
        .catch(function () { /* keep what is shown; try again next time */ })
        .then(function () { window.setTimeout(refresh, every); });
    }
    window.setTimeout(refresh, every);
  }

  Riado.ready(function () {
    Riado.each("[data-testid=dashboard]", refresher);
  });
})();
