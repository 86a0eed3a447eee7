/* Riadó: an alert's progress, live.
 *
 * No inline script anywhere (the CSP is script-src 'self'): this file finds its elements by
 * data attributes. Without it the page shows the state when it was loaded.
 *
 *   <section data-alert-progress data-alert-url data-deliveries-url data-replies-url data-status
 *            data-require-ack data-awaiting data-recipients data-timezone data-words="{json}">
 *     While the alert is in flight (the API's in_flight) or acknowledgements are awaited, polls
 *     GET /api/v1/alerts/<id>, /api/v1/alerts/<id>/deliveries and …/replies every 2.5 s and
 *     updates the counts ([data-count]), the progress bar ([data-bar]), each delivery row (same
 *     order as the API: by name; an opt-out marked), the "still silent" list (who acknowledged,
 *     opted out or answered with other text leaves it), the "replied with other text" list
 *     ([data-other-text-list]: who answered neither OK nor STOP, with what they wrote), the replies, the alert's status, and hides the "being sent" notice
 *     ([data-in-flight-notice]) once the alert is no longer in flight, without reloading the page.
 *
 * Needs riado.js, loaded before.
 */
(function () {
  "use strict";

  var INTERVAL_MS = 2500;
  var RETRY_MS = 6000;
  var PAGE = 500;
  var WAITING = ["queued", "sending", "sent", "delivered"];

  var each = Riado.each;
  var parseJson = Riado.parseJson;

  var getJson = Riado.getJson;

  function withQuery(url, params) {
    var target = new URL(url, window.location.href);
    Object.keys(params).forEach(function (key) { target.searchParams.set(key, params[key]); });
    return target.toString();
  }

  function allDeliveries(url) {
    var items = [];
    function next(offset) {
      return getJson(withQuery(url, { limit: PAGE, offset: offset, kind: "alert" })).then(function (page) {
        items = items.concat(page.items || []);
        if ((page.items || []).length === PAGE && items.length < page.total) {
          return next(items.length);
        }
        return items;
      });
    }
    return next(0);
  }

  function progress(root) {
    var alertUrl = root.getAttribute("data-alert-url");
    var deliveriesUrl = root.getAttribute("data-deliveries-url");
    var repliesUrl = root.getAttribute("data-replies-url");
    var words = parseJson(root.getAttribute("data-words"));
    var requireAck = root.getAttribute("data-require-ack") === "true";
    var recipients = parseInt(root.getAttribute("data-recipients"), 10) || 0;
    var zone = root.getAttribute("data-timezone") || undefined;
    var format;
    try {
      // sv-SE writes 2026-01-31 14:05:09, the way the page does.
      format = new Intl.DateTimeFormat("sv-SE", {
        timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
      });
    } catch (e) {
      format = null;
    }

    function localTime(iso) {
      if (!iso) {
        return "";
      }
      var date = new Date(iso);
      if (isNaN(date.getTime())) {
        return iso;
      }
      return format ? format.format(date) : date.toISOString();
    }

    function word(table, code) {
      return (words[table] && words[table][code]) || code;
    }

    function setTime(cell, iso) {
      if (!cell) {
        return;
      }
      var current = cell.querySelector("time");
      if ((current ? current.getAttribute("datetime") : "") === (iso || "") && (current || !iso)) {
        return;
      }
      cell.textContent = "";
      if (iso) {
        var time = document.createElement("time");
        time.setAttribute("datetime", iso);
        time.textContent = localTime(iso);
        cell.appendChild(time);
      }
    }

    function setStatus(cell, status) {
      var span = cell && cell.querySelector("[data-status]");
      if (!span || span.getAttribute("data-status") === status) {
        return;
      }
      span.setAttribute("data-status", status);
      span.className = "delivery-status delivery-" + status;
      span.textContent = word("status", status);
    }

    function setError(cell, code, message) {
      if (!cell) {
        return;
      }
      var shown = cell.querySelector("code");
      var said = cell.querySelector("[data-testid=error-message]");
      if ((shown ? shown.textContent : "") === (code ? String(code) : "") &&
          (said ? said.textContent : "") === (message || "")) {
        return;
      }
      cell.textContent = "";
      if (!code) {
        return;
      }
      var wrap = document.createElement("span");
      wrap.className = "error-code";
      var el = document.createElement("code");
      el.textContent = String(code);
      wrap.appendChild(el);
      var meaning = words.errors && words.errors[String(code)];
      if (meaning) {
        var note = document.createElement("span");
        note.className = "muted";
        note.textContent = meaning;
        wrap.appendChild(document.createTextNode(" "));
        wrap.appendChild(note);
      }
      cell.appendChild(wrap);
      if (message) {  // the server's own words (officers only: null for viewers)
        var reply = document.createElement("small");
        reply.className = "muted";
        reply.setAttribute("data-testid", "error-message");
        reply.textContent = message;
        cell.appendChild(document.createTextNode(" "));
        cell.appendChild(reply);
      }
    }

    function showCounts(alert) {
      var counts = alert.counts || {};
      var total = recipients || alert.recipients || 1;
      Object.keys(counts).forEach(function (key) {
        each("[data-count=\"" + key + "\"]", function (el) {
          el.textContent = String(counts[key]);
        });
        var bar = root.querySelector("[data-bar=\"" + key + "\"]");
        if (bar) {
          bar.style.width = (100 * counts[key] / total).toFixed(2) + "%";
        }
      });
      each("[data-count=\"acknowledged-summary\"]", function (el) {
        el.textContent = String(counts.acknowledged || 0);
      });
      each("[data-sent-total]", function (el) {
        el.textContent = String((counts.sent || 0) + (counts.delivered || 0));
      });
      root.setAttribute("data-status", alert.status);
      each("[data-in-flight-notice]", function (el) {
        el.hidden = !alert.in_flight;
      });
      each("[data-alert-status-slot] [data-status]", function (el) {
        if (el.getAttribute("data-status") !== alert.status) {
          el.setAttribute("data-status", alert.status);
          el.className = "alert-status alert-status-" + alert.status;
          el.textContent = word("alert", alert.status);
        }
      });
      if (alert.completed_at) {
        each("[data-completed]", function (el) {
          setTime(el, alert.completed_at);
        });
      }
    }

    // What each delivery was answered with other text (neither OK nor STOP/START), by delivery id.
    function otherTexts(replies) {
      var out = {};
      (replies || []).forEach(function (r) {
        if (r.action === "unknown" && r.delivery_id !== null && r.delivery_id !== undefined) {
          (out[r.delivery_id] = out[r.delivery_id] || []).push(r.text || "");
        }
      });
      return out;
    }

    // Who answered with other text and has neither acknowledged nor opted out since (text only).
    function showOtherTexts(items, other) {
      var list = document.querySelector("[data-other-text-list]");
      if (!list) {
        return;
      }
      var people = [];
      items.forEach(function (d, i) {
        if (d.acknowledged_at || d.opted_out_at || !other[d.id]) {
          return;
        }
        var li = document.createElement("li");
        li.setAttribute("data-index", String(i));
        li.setAttribute("data-testid", "other-text-person");
        li.appendChild(document.createTextNode((d.name || d.phone || "") + ": "));
        other[d.id].forEach(function (text, k) {
          if (k > 0) {
            li.appendChild(document.createTextNode(" · "));
          }
          var q = document.createElement("q");
          q.className = "sms-text-inline";
          q.setAttribute("data-testid", "other-text");
          q.textContent = text;
          li.appendChild(q);
        });
        people.push(li);
      });
      list.replaceChildren.apply(list, people);
      each("[data-other-text-count]", function (el) {
        el.textContent = String(people.length);
      });
      each("[data-other-text-section]", function (el) {
        el.hidden = people.length === 0;
      });
    }

    function showDeliveries(items, replies) {
      var rows = document.querySelectorAll("[data-delivery-rows] tr[data-index]");
      var silent = 0;
      var other = replies ? otherTexts(replies) : null;
      items.forEach(function (d, i) {
        var row = rows[i];
        if (row) {
          if (row.getAttribute("data-status") !== d.status) {
            row.setAttribute("data-status", d.status);
          }
          setStatus(row.querySelector("[data-cell=status]"), d.status);
          setError(row.querySelector("[data-cell=error]"), d.error_code,
                   (d.status === "failed" || d.status === "undelivered") ? d.error_message : null);
          setTime(row.querySelector("[data-cell=sent_at]"), d.sent_at);
          setTime(row.querySelector("[data-cell=delivered_at]"), d.delivered_at);
          setTime(row.querySelector("[data-cell=acknowledged_at]"), d.acknowledged_at);
          var optedOut = row.querySelector("[data-opted-out]");
          if (optedOut) {
            optedOut.hidden = !d.opted_out_at;
          }
        }
        var person = document.querySelector(".silent-list li[data-index=\"" + i + "\"]");
        var replied = Boolean(d.acknowledged_at || d.opted_out_at) ||
          (other ? Boolean(other[d.id]) : Boolean(person && person.hidden));
        if (person) {
          person.hidden = replied;
          setStatus(person, d.status);
          if (!replied) {
            silent += 1;
          }
        }
      });
      each("[data-silent-count]", function (el) {
        el.textContent = String(silent);
      });
      each("[data-all-acknowledged]", function (el) {
        el.hidden = silent > 0;
      });
      if (other) {
        showOtherTexts(items, other);
      }
    }

    function awaiting(items) {
      return requireAck && items.some(function (d) {
        return !d.acknowledged_at && !d.opted_out_at && WAITING.indexOf(d.status) !== -1;
      });
    }

    function cell(text, className) {
      var td = document.createElement("td");
      if (className) {
        td.className = className;
      }
      td.textContent = text;
      return td;
    }

    // The replies, rebuilt from the API when there are more than shown (text only, never HTML).
    function showReplies(items) {
      var body = document.querySelector("[data-reply-rows]");
      if (!body || body.querySelectorAll("tr").length === items.length) {
        return;
      }
      var rows = items.map(function (r) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-testid", "reply");
        tr.setAttribute("data-reply", String(r.id));
        tr.setAttribute("data-action", r.action);
        var when = cell("", "nowrap");
        setTime(when, r.received_at);
        tr.appendChild(when);
        tr.appendChild(cell(r.name || "—")).setAttribute("data-testid", "reply-name");
        // phone_display: the number as the page writes it (+36 20 555 0702), masked for viewers.
        tr.appendChild(cell(r.phone_display || r.phone || "", "nowrap")).setAttribute("data-testid", "reply-phone");
        tr.appendChild(cell(r.text || "", "sms-text-inline")).setAttribute("data-testid", "reply-text");
        var did = cell(word("reply", r.action));
        did.setAttribute("data-testid", "reply-action");
        if (r.simulated) {
          var note = document.createElement("span");
          note.className = "muted";
          note.textContent = "(" + (words.simulated || "simulated") + ")";
          did.appendChild(document.createTextNode(" "));
          did.appendChild(note);
        }
        tr.appendChild(did);
        return tr;
      });
      body.replaceChildren.apply(body, rows);
      each("[data-reply-count]", function (el) {
        el.textContent = String(items.length);
      });
      each("[data-testid=replies]", function (el) {
        el.hidden = items.length === 0;
      });
      each("[data-no-replies]", function (el) {
        el.hidden = items.length > 0;
      });
    }

    function allReplies() {
      if (!repliesUrl) {
        return Promise.resolve(null);
      }
      return getJson(withQuery(repliesUrl, { limit: PAGE })).then(function (page) {
        return page.items || [];
      });
    }

    function poll() {
      Promise.all([getJson(alertUrl), allDeliveries(deliveriesUrl), allReplies()]).then(function (results) {
        var alert = results[0];
        var items = results[1];
        showCounts(alert);
        showDeliveries(items, results[2]);
        if (results[2]) {
          showReplies(results[2]);
        }
        var more = alert.in_flight || awaiting(items);
        root.setAttribute("data-awaiting", awaiting(items) ? "true" : "false");
        root.setAttribute("data-polls", String((parseInt(root.getAttribute("data-polls"), 10) || 0) + 1));
        each("[data-live-note]", function (el) {
          el.hidden = !more;
        });
        if (more) {
          window.setTimeout(poll, INTERVAL_MS);
        }
      }).catch(function () {
        window.setTimeout(poll, RETRY_MS);
      });
    }

    if (root.getAttribute("data-in-flight") === "true" || root.getAttribute("data-awaiting") === "true") {
      window.setTimeout(poll, INTERVAL_MS);
    }
  }

  Riado.ready(function () {
    each("[data-alert-progress]", progress);
  });
}());
