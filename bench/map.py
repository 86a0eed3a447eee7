"""The operational map with 10,000 resources and 500 incidents, beside folium's plain map.

    .venv/bin/python bench/map.py [--backend sqlite|postgis|both] [--resources N] [--incidents N]
                                  [--runs N] [--pg-url URL]

For each backend: a fresh database (as bench/spatial.py makes them), migrated, filled by plain
bulk INSERTs with ``--resources`` resources over greater Budapest (bench/spatial.py's rows) and
``--incidents`` open incidents among them (a tenth drills, a fifth with an affected area); the
real app served in this process by werkzeug's threaded server; headless Chromium
(/usr/bin/chromium, through Playwright) with every other host blocked, as in the browser tests.

Other hosts are unresolvable for the browser (``--host-resolver-rules``) and every request to one
is recorded: only the tile server may be asked (and cannot answer).

Riadó's map: ``GET /map`` signed in as a viewer, in a fresh browser context each run (cold
cache), until the page's script says every layer is drawn (``data-state=ready``; its
``data-drawn-ms`` is milliseconds since navigation start, taken after the markers went into
the clusters and two animation frames passed). Printed: the page's bytes, each GeoJSON
layer's bytes (and gzipped, as a proxy would send them) with the server's time, all bytes the
browser fetched, and the time until drawn (median of ``--runs``).

folium's plain map: the same features, one ``folium.Marker`` (popup and tooltip) per resource
and incident plus the areas as ``folium.GeoJson``, built with folium directly, rendered to a
file with the same local assets (jQuery, which folium's popups call, replaced by a ten-line
local shim) and served from 127.0.0.1; timed until its ``load`` event plus two frames (its
markers are all added by its inline script).

Goal: the /map page at most 300 KB and every layer drawn within 2 s. Timing never fails the
run: the exit status is 1 only if something fails or a layer does not hold every feature.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import html
import http.client
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # runnable as a plain script from any folder

from bench.spatial import (
    AREA,
    BACKEND_TITLES,
    DEFAULT_PG_URL,
    build_app,
    create_database,
    load_resources,
    make_token,
    resource_rows,
    serve,
)

CHROMIUM = "/usr/bin/chromium"
# As the browser tests' flags, and every other host unresolvable: nothing leaves 127.0.0.1, without
# intercepting each request (which the tests do to record them, and which costs time per request).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
VIEWPORT = {"width": 1280, "height": 800}
INCIDENT_SEED = 20_260_103
PAGE_GOAL_BYTES = 300 * 1024
DRAWN_GOAL_MS = 2000.0
VIEWER = ("bench-viewer@riado-bench.example", "bench-password-not-secret")
INCIDENT_KINDS = ("flood", "storm", "fire", "power_outage", "water_outage", "gas_leak", "traffic", "other")
SEVERITIES = ("extreme", "severe", "moderate", "minor", "unknown")
STATUSES = ("reported", "active", "contained")
LAYERS = (("incidents", "/api/v1/map/incidents.geojson"), ("areas", "/api/v1/map/incident-areas.geojson"),
          ("resources", "/api/v1/map/resources.geojson"), ("boundary", "/api/v1/map/boundary.geojson"))
# folium's popups call $(html)[0]; this is all of jQuery they need.
JQUERY_SHIM = """window.$ = window.jQuery = function (markup) {
  var t = document.createElement("template");
  t.innerHTML = String(markup).trim();
  return [t.content.firstChild];
};
"""


# Data --------------------------------------------------------------------------------------


def incident_rows(count: int) -> list[dict]:
    """``count`` open incidents over AREA from a fixed seed; a tenth drills, a fifth with a
    small square affected area around the point."""
    rng = random.Random(INCIDENT_SEED)
    now = dt.datetime.now(dt.UTC)
    rows = []
    for i in range(1, count + 1):
        lon, lat = rng.uniform(AREA[0], AREA[2]), rng.uniform(AREA[1], AREA[3])
        area = None
        if rng.random() < 0.2:
            d = rng.uniform(0.001, 0.004)
            area = (f"POLYGON(({lon - d} {lat - d}, {lon + d} {lat - d}, {lon + d} {lat + d}, {lon - d} {lat + d},"
                    f" {lon - d} {lat - d}))")
        kind = rng.choice(INCIDENT_KINDS)
        rows.append({
            "year": now.year, "serial": i, "title": f"{kind.replace('_', ' ').capitalize()} {i:04d}", "kind": kind,
            "severity": rng.choice(SEVERITIES), "status": rng.choice(STATUSES), "drill": rng.random() < 0.1,
            "lon": lon, "lat": lat, "area": area, "created_at": now, "updated_at": now,
        })
    return rows


def load_incidents(app, rows: list[dict]) -> float:
    """Bulk-insert incidents (no log entries: the map does not read them); seconds taken."""
    from sqlalchemy import bindparam, text

    from incident.database import UTCDateTime
    from incident.extensions import db
    from incident.models import GENESIS_HASH

    with app.app_context():
        engine = db.engine
        sqlite = engine.dialect.name == "sqlite"
        point = "MakePoint(:lon, :lat, 4326)" if sqlite else "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
        area = "GeomFromText(:area, 4326)" if sqlite else "ST_GeomFromText(:area, 4326)"
        insert = text(
            "INSERT INTO incidents (year, serial, title, kind, severity, status, drill, description, commander,"
            " location, area, created_at, updated_at, log_count, log_head, version)"
            f" VALUES (:year, :serial, :title, :kind, :severity, :status, :drill, '', '', {point}, {area},"
            " :created_at, :updated_at, 0, :head, 1)"
        ).bindparams(bindparam("created_at", type_=UTCDateTime()), bindparam("updated_at", type_=UTCDateTime()))
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert, [{**row, "head": GENESIS_HASH} for row in rows])
        if not sqlite:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE) incidents"))
        return time.perf_counter() - started


def make_viewer(app) -> None:
    from incident.extensions import db
    from incident.operations.users import create_user

    with app.app_context():
        create_user(*VIEWER, "viewer")
        db.session.commit()


# The GeoJSON layers ------------------------------------------------------------------------


BROWSER_ENCODINGS = "gzip, deflate, br"  # what Chromium asks for


def fetch_layers(port: int, token: str) -> dict:
    """Each layer's bytes, gzipped bytes, server time (ms) and feature count; and as a browser
    asks for it (Accept-Encoding): the bytes sent, their encoding and the server time."""
    out = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        for name, path in LAYERS:
            started = time.perf_counter()
            conn.request("GET", path + "?lang=hu", headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                raise RuntimeError(f"{path}: HTTP {response.status} {body[:200]!r}")
            data = json.loads(body)
            started = time.perf_counter()
            conn.request("GET", path + "?lang=hu",
                         headers={"Authorization": f"Bearer {token}", "Accept-Encoding": BROWSER_ENCODINGS})
            response = conn.getresponse()
            sent = response.read()
            sent_ms = (time.perf_counter() - started) * 1000
            out[name] = {"bytes": len(body), "gzip": len(gzip.compress(body, 6)), "ms": elapsed,
                         "features": len(data["features"]), "data": data, "sent": len(sent), "sent_ms": sent_ms,
                         "encoding": response.getheader("Content-Encoding") or "none"}
    finally:
        conn.close()
    return out


# folium's plain map ------------------------------------------------------------------------


def plain_folium_map(layers: dict, static_url) -> tuple[str, float]:
    """folium as its documentation shows it: one Marker with a Popup and a Tooltip per feature;
    (the page, seconds to build and render it)."""
    import folium

    from maps.assets import LocalAssets

    class PlainMap(LocalAssets, folium.Map):
        """folium's own Map (its template, its page styles) with the vendored Leaflet."""

        local_js = ("leaflet",)
        local_css = ("leaflet_css",)

    started = time.perf_counter()
    m = PlainMap(location=[47.48, 19.13], zoom_start=11, tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                 attr="&copy; OpenStreetMap contributors", static_url=static_url)
    incidents = folium.FeatureGroup(name="Incidents").add_to(m)
    for feature in layers["incidents"]["data"]["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        p = feature["properties"]
        text = html.escape(f"{p['number']} {p['title']}")
        folium.Marker([lat, lon], popup=folium.Popup(f"<b>{text}</b><br>{html.escape(p['severity_label'])}"),
                      tooltip=text).add_to(incidents)
    folium.GeoJson(layers["areas"]["data"], name="Areas").add_to(m)
    resources = folium.FeatureGroup(name="Resources").add_to(m)
    for feature in layers["resources"]["data"]["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        p = feature["properties"]
        name = html.escape(p["name"])
        folium.Marker([lat, lon], popup=folium.Popup(f"<b>{name}</b><br>{html.escape(p['kind_label'])}: "
                                                     f"{p['available_quantity']}/{p['quantity']}"),
                      tooltip=name).add_to(resources)
    folium.LayerControl().add_to(m)
    m.get_root().title = "folium plain map"
    page = m.get_root().render()
    page = page.replace("<head>", '<head>\n<script src="/bench/jquery-shim.js"></script>', 1)
    return page, time.perf_counter() - started


def dispatcher(app, plain_html: bytes):
    """The app, plus the plain map and the shim under /bench/."""
    files = {"/bench/plain.html": (plain_html, "text/html; charset=utf-8"),
             "/bench/jquery-shim.js": (JQUERY_SHIM.encode(), "text/javascript")}

    def wsgi(environ, start_response):
        found = files.get(environ.get("PATH_INFO", ""))
        if found is None:
            return app(environ, start_response)
        body, kind = found
        start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]

    return wsgi


# The browser -------------------------------------------------------------------------------


def new_page(browser, state=None):
    context = browser.new_context(viewport=VIEWPORT, locale="hu-HU", storage_state=state)
    page = context.new_page()
    page.offsite = []
    page.errors = []

    def request(request):
        host = request.url.split("/")[2].split(":")[0]
        if host not in ("127.0.0.1", "localhost") and not request.url.startswith("data:"):
            page.offsite.append(request.url)

    page.on("request", request)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("dialog", lambda dialog: (page.errors.append("dialog: " + dialog.message), dialog.dismiss()))
    return context, page


def sign_in(browser, base: str) -> dict:
    context, page = new_page(browser)
    try:
        page.goto(base + "/login")
        page.fill("#email", VIEWER[0])
        page.fill("#password", VIEWER[1])
        page.click("form button[type=submit]")
        page.wait_for_url(base + "/")
        return context.storage_state()
    finally:
        context.close()


def time_riado_map(browser, base: str, state: dict) -> dict:
    context, page = new_page(browser, state)
    responses = []
    page.on("response", lambda r: responses.append(r))
    try:
        started = time.perf_counter()
        response = page.goto(base + "/map")
        page.wait_for_selector("[data-riado-map][data-state=ready]", timeout=120_000)
        wall = (time.perf_counter() - started) * 1000
        frame = page.locator("[data-riado-map]")
        fetched = sum(len(r.body()) for r in responses if r.status < 300)  # a redirect has no body
        trace = page.evaluate("""() => {
            const out = {};
            performance.getEntriesByType('mark').forEach(m => { if (m.name.startsWith('riado:')) out[m.name.slice(6)] = m.startTime; });
            performance.getEntriesByType('resource').forEach(r => {
                const name = r.name.split('/').pop().split('?')[0];
                out['fetch ' + name] = [Math.round(r.startTime), Math.round(r.responseEnd)];
            });
            const nav = performance.getEntriesByType('navigation')[0];
            out['html done'] = nav.responseEnd; out['DOMContentLoaded'] = nav.domContentLoadedEventEnd;
            return out;
        }""")
        return {
            "trace": trace,
            "page_bytes": len(response.body()),
            "drawn_ms": float(frame.get_attribute("data-drawn-ms")),
            "wall_ms": wall,
            "incidents": int(frame.get_attribute("data-incidents-drawn")),
            "resources": int(frame.get_attribute("data-resources-drawn")),
            "areas": int(frame.get_attribute("data-areas-drawn")),
            "fetched": fetched,
            "requests": len(responses),
            "offsite": list(page.offsite),
            "errors": list(page.errors),
        }
    finally:
        context.close()


def time_plain_map(browser, base: str) -> dict:
    context, page = new_page(browser)
    try:
        started = time.perf_counter()
        page.goto(base + "/bench/plain.html", wait_until="load", timeout=300_000)
        drawn = page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame("
                              "() => r(performance.now()))))")
        wall = (time.perf_counter() - started) * 1000
        markers = page.evaluate("() => document.querySelectorAll('.leaflet-marker-icon').length")
        return {"drawn_ms": float(drawn), "wall_ms": wall, "markers": markers, "offsite": list(page.offsite),
                "errors": list(page.errors)}
    finally:
        context.close()


# One backend -------------------------------------------------------------------------------


def run_backend(backend: str, args, workdir: Path, browser) -> dict:
    from incident.extensions import db

    result = {"backend": backend, "errors": 0}
    url, drop = create_database(backend, workdir, args.pg_url)
    app = server = None
    try:
        app = build_app(url)
        result["load_resources_s"] = load_resources(app, resource_rows(args.resources))
        result["load_incidents_s"] = load_incidents(app, incident_rows(args.incidents))
        token = make_token(app)
        make_viewer(app)

        # The app first (the layers, for the plain map too), then the app with the plain map.
        server, _thread = serve(app)
        port = server.server_port
        layers = fetch_layers(port, token)
        server.shutdown()
        server.server_close()
        with app.test_request_context():
            from flask import url_for

            plain, build_s = plain_folium_map(layers, lambda f: url_for("static", filename=f))
        plain_bytes = plain.encode("utf-8")
        server, _thread = serve(dispatcher(app, plain_bytes))
        base = f"http://127.0.0.1:{server.server_port}"
        first = layers
        layers = fetch_layers(server.server_port, token)  # again: the resource layer is kept encoded
        for name, layer in layers.items():
            layer.pop("data")
            layer["first_ms"] = first[name]["ms"]

        state = sign_in(browser, base)
        time_riado_map(browser, base, state)  # warm-up: the server's first requests
        runs = [time_riado_map(browser, base, state) for _ in range(args.runs)]
        plain_runs = [time_plain_map(browser, base) for _ in range(max(1, args.runs // 2))]

        expected = {"incidents": layers["incidents"]["features"], "resources": layers["resources"]["features"],
                    "areas": layers["areas"]["features"]}
        problems = []
        for run in runs:
            for key, n in expected.items():
                if run[key] != n:
                    problems.append(f"{key}: {run[key]} drawn, {n} in the layer")
            problems.extend(f"other host: {u}" for u in run["offsite"] if "tile.openstreetmap.org" not in u)
            problems.extend(f"script: {e}" for e in run["errors"])
        for run in plain_runs:
            want = expected["incidents"] + expected["resources"]
            if run["markers"] != want:
                problems.append(f"plain map: {run['markers']} markers, {want} features")
            problems.extend(f"plain map: {e}" for e in run["errors"])
            problems.extend(f"plain map, other host: {u}" for u in run["offsite"] if "tile.openstreetmap.org" not in u)
        result.update({
            "layers": layers, "runs": runs, "plain_runs": plain_runs, "plain_bytes": len(plain_bytes),
            "plain_build_s": build_s, "problems": problems, "resources": args.resources, "incidents": args.incidents,
        })
        result["errors"] += len(problems)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        drop()
    return result


# Report ------------------------------------------------------------------------------------


def kb(n: float) -> str:
    return f"{n / 1024:,.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:,.2f} MB"


def report(result: dict) -> None:
    print(f"\n== {BACKEND_TITLES[result['backend']]} ==")
    print(f"data          {result['resources']:,} resources ({result['load_resources_s']:.2f} s), "
          f"{result['incidents']:,} incidents ({result['load_incidents_s']:.2f} s), bulk INSERTs")
    print(f"{'GeoJSON layer':36}{'features':>9}{'bytes':>12}{'gzip':>11}{'ms first':>10}{'ms again':>10}")
    for name, path in LAYERS:
        layer = result["layers"][name]
        print(f"{path:36}{layer['features']:>9,}{kb(layer['bytes']):>12}{kb(layer['gzip']):>11}"
              f"{layer['first_ms']:>10.0f}{layer['ms']:>10.0f}")
    print("(ms: the request over a keep-alive connection; again: unchanged data, the resource layer is kept"
          " encoded until its data change)")
    print(f"\n{'compressed, as a browser asks':36}{'encoding':>9}{'sent':>12}{'of plain':>11}{'ms':>10}")
    for name, path in LAYERS:
        layer = result["layers"][name]
        print(f"{path:36}{layer['encoding']:>9}{kb(layer['sent']):>12}{layer['sent'] / layer['bytes']:>10.1%}"
              f"{layer['sent_ms']:>10.0f}")
    resource_layers = [layer for name, layer in result["layers"].items() if "resource" in name]
    sent_resources = sum(layer["sent"] for layer in resource_layers)
    plain_resources = sum(layer["bytes"] for layer in resource_layers)
    print(f"goal resource layers ≤ 600 KB transferred: {'met' if sent_resources <= 600 * 1024 else 'NOT met'} "
          f"({kb(sent_resources)} sent for {kb(plain_resources)}, {plain_resources / max(sent_resources, 1):.1f}× less)")
    runs, plain_runs = result["runs"], result["plain_runs"]
    page = runs[0]["page_bytes"]
    drawn = statistics.median(r["drawn_ms"] for r in runs)
    wall = statistics.median(r["wall_ms"] for r in runs)
    fetched = statistics.median(r["fetched"] for r in runs)
    geojson = sum(layer["bytes"] for layer in result["layers"].values())
    plain_drawn = statistics.median(r["drawn_ms"] for r in plain_runs)
    plain_wall = statistics.median(r["wall_ms"] for r in plain_runs)
    print(f"\n{'':34}{'Riadó /map':>16}{'folium plain':>16}{'ratio':>9}")
    print(f"{'page (HTML) bytes':34}{kb(page):>16}{kb(result['plain_bytes']):>16}"
          f"{result['plain_bytes'] / page:>8.0f}×")
    print(f"{'page + GeoJSON layers':34}{kb(page + geojson):>16}{kb(result['plain_bytes']):>16}"
          f"{result['plain_bytes'] / (page + geojson):>8.1f}×")
    print(f"{'all bytes the browser fetched':34}{kb(fetched):>16}{'':>16}")
    print(f"{'built on the server':34}{'(per request)':>16}{result['plain_build_s']:>15.1f}s")
    print(f"{'drawn, ms since navigation start':34}{drawn:>16.0f}{plain_drawn:>16.0f}{plain_drawn / drawn:>8.1f}×")
    print(f"{'  as the test driver saw it, ms':34}{wall:>16.0f}{plain_wall:>16.0f}")
    print(f"{'features drawn':34}{runs[0]['incidents'] + runs[0]['resources']:>16,}{plain_runs[0]['markers']:>16,}"
          f"   (+{runs[0]['areas']} areas)")
    each = ", ".join(f"{r['drawn_ms']:.0f}" for r in runs)
    print(f"(Riadó: median of {len(runs)} cold-cache loads: {each} ms; folium: {len(plain_runs)} load(s))")
    if getattr(report, "trace", False):
        print("where the time went in the first load (ms since navigation start):")
        for name, value in sorted(runs[0]["trace"].items(), key=lambda item: item[1] if not isinstance(item[1], list) else item[1][0]):
            print(f"  {name:40} {value}")
    page_ok, drawn_ok = page <= PAGE_GOAL_BYTES, drawn <= DRAWN_GOAL_MS
    print(f"goal page ≤ 300 KB: {'met' if page_ok else 'NOT met'} ({kb(page)}); "
          f"all layers drawn ≤ 2 s: {'met' if drawn_ok else 'NOT met'} ({drawn / 1000:.2f} s)")
    if result["problems"]:
        print(f"PROBLEMS ({len(result['problems'])}):")
        for line in result["problems"][:20]:
            print("  " + line)
    result["summary"] = (page, geojson, drawn, result["plain_bytes"], plain_drawn, page_ok and drawn_ok)


def table(results: list[dict]) -> None:
    print("\n== Summary ==")
    head = (f"{'backend':10}{'page':>11}{'GeoJSON':>11}{'drawn s':>9}{'plain page':>12}{'plain s':>9}"
            f"{'bytes ×':>9}{'time ×':>8}  goal")
    print(head)
    print("-" * len(head))
    for r in results:
        if "summary" not in r:
            print(f"{r['backend']:10}  failed: {r.get('failure', 'see above')}")
            continue
        page, geojson, drawn, plain, plain_drawn, met = r["summary"]
        print(f"{r['backend']:10}{kb(page):>11}{kb(geojson):>11}{drawn / 1000:>9.2f}{kb(plain):>12}"
              f"{plain_drawn / 1000:>9.2f}{plain / page:>8.0f}×{plain_drawn / drawn:>7.1f}×  {'met' if met else 'NOT met'}")
    print("(bytes ×: folium's plain page / Riadó's /map page; time ×: its time until drawn / Riadó's)")


def summarise(results: list[dict]) -> None:
    """The figures for bench/all.py's table (with RIADO_BENCH_SUMMARY set, see bench/_summary.py)."""
    from bench._summary import failed, record

    for r in results:
        if "summary" not in r:
            failed("map", r["backend"], r.get("failure", "see above"))
            continue
        page, geojson, drawn, plain, plain_drawn, _met = r["summary"]
        record("map", r["backend"], "features", r["resources"] + r["incidents"], "")
        record("map", r["backend"], "/map page", page / 1024, "KB", "≤ 300 KB", page <= PAGE_GOAL_BYTES)
        record("map", r["backend"], "GeoJSON layers", geojson / 1024, "KB")
        record("map", r["backend"], "all layers drawn", drawn / 1000, "s", f"≤ {DRAWN_GOAL_MS / 1000:g} s",
               drawn <= DRAWN_GOAL_MS)
        record("map", r["backend"], "folium plain page", plain / 1024, "KB")
        record("map", r["backend"], "folium plain drawn", plain_drawn / 1000, "s")
        record("map", r["backend"], "plain ÷ Riadó, bytes", plain / page, "×")
        record("map", r["backend"], "plain ÷ Riadó, time", plain_drawn / drawn, "×")
        record("map", r["backend"], "checks", "ok" if not r["errors"] else f"{r['errors']} problems", "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgis", "both"), default="both")
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--incidents", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5, help="cold-cache loads of /map (folium's map: half as many)")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_PG_URL", DEFAULT_PG_URL),
                        help="an administrative PostgreSQL URL; the bench creates and drops its own database")
    parser.add_argument("--trace", action="store_true", help="print where the time of the first load went")
    args = parser.parse_args(argv)
    report.trace = args.trace
    if args.resources < 1 or args.incidents < 1 or args.runs < 1:
        parser.error("--resources, --incidents and --runs must be at least 1")

    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="riado-bench-map-"))
    os.environ["RIADO_INSTANCE_PATH"] = str(workdir / "instance")
    for key in ("REDIS_URL", "SECRET_KEY", "RIADO_EMBEDDED_WORKER", "RIADO_BOUNDARY_GEOJSON"):
        os.environ.pop(key, None)
    backends = ("sqlite", "postgis") if args.backend == "both" else (args.backend,)
    results = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                for backend in backends:
                    print(f"\n… {BACKEND_TITLES[backend]}: {args.resources:,} resources, {args.incidents:,} incidents",
                          flush=True)
                    try:
                        result = run_backend(backend, args, workdir, browser)
                    except Exception as exc:  # noqa: BLE001 (report it, then measure the other backend)
                        traceback.print_exc()
                        results.append({"backend": backend, "errors": 1, "failure": " ".join(str(exc).split())[:120]})
                        continue
                    report(result)
                    results.append(result)
            finally:
                browser.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table(results)
    summarise(results)
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
