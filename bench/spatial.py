"""Nearest-5 over 100,000 resources, through the API and as bare SQL, on both backends.

    .venv/bin/python bench/spatial.py [--backend sqlite|postgis|both] [--rows N] [--queries N]
                                      [--pg-url URL] [--profile]

For each backend: a fresh database (a SQLite file in a temporary folder; a PostgreSQL database
``riado_bench_<pid>`` created through ``--pg-url`` and dropped WITH (FORCE) at the end),
migrated with ``flask_migrate.upgrade()``, filled with ``--rows`` resources spread uniformly
over greater Budapest by plain bulk INSERTs, then queried from the same random points:

- API: ``GET /api/v1/resources?lat=&lon=&limit=5`` with a bearer token, over HTTP to the real
  app served in this process by werkzeug's threaded server (not gunicorn: one process keeps the
  set-up simple and lets us time the server side too), through one keep-alive connection;
- nearest(): ``incident.geo.nearest(Resource, lon, lat, 5)`` in an app context, which is the SQL
  the API runs, without HTTP, Flask or serialisation;
- hand-written SQL: one statement on the driver connection, for reference (PostGIS: KNN on the
  geography expression index; SpatiaLite: the ``KNN`` virtual table).

The three are interleaved point by point so that they see the same caches. Prints median and
p95 latencies and the ratios; the goal is an API median of at most 15 ms on both backends.
Timing never fails the run: the exit status is 1 only if an answer is wrong or something fails.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import http.client
import io
import json
import math
import os
import pstats
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # runnable as a plain script from any folder

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Greater Budapest: lon 18.93–19.33, lat 47.35–47.61 (about 30 km × 29 km).
AREA = (18.93, 47.35, 19.33, 47.61)
DATA_SEED = 20_260_101
QUERY_SEED = 20_260_102
WARM_UP = 20
LIMIT = 5
GOAL_MS = 15.0
PROFILE_REQUESTS = 200

KINDS = ("vehicle", "boat", "pump", "generator", "sandbags", "shelter", "heavy_machinery", "medical",
         "food_water", "communications", "lighting", "other")
STATUSES = ("available", "deployed", "maintenance", "unavailable")
STATUS_WEIGHTS = (70, 15, 10, 5)
UNITS = {"sandbags": "zsák", "food_water": "karton", "shelter": "fő"}
OWNERS = ("Fővárosi Katasztrófavédelmi Igazgatóság", "BKV Zrt.", "Fővárosi Vízművek",
          "Polgármesteri Hivatal", "Magyar Vöröskereszt", "Önkéntes tűzoltó egyesület")

BACKEND_TITLES = {"sqlite": "SQLite + SpatiaLite", "postgis": "PostgreSQL + PostGIS"}


# Databases ---------------------------------------------------------------------------------


def _pg_admin(admin_url: str):
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(admin_url)
    return psycopg.connect(
        host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
        password=u.password, dbname=u.database or "postgres", autocommit=True,
    )


def create_database(backend: str, workdir: Path, admin_url: str) -> tuple[str, Callable[[], None]]:
    """A fresh, empty database: (its URL, a function that removes it)."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'riado_bench.db'}", lambda: None
    from sqlalchemy.engine import make_url

    name = f"riado_bench_{os.getpid()}"
    with _pg_admin(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with _pg_admin(admin_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def build_app(url: str):
    """The real app on ``url`` (through DATABASE_URL, as in production), migrated to head."""
    os.environ["DATABASE_URL"] = url
    from flask_migrate import upgrade

    from incident import create_app

    app = create_app()
    with app.app_context():
        upgrade()
    return app


# Data --------------------------------------------------------------------------------------


def resource_rows(count: int) -> list[dict]:
    """``count`` resources uniformly over AREA, from a fixed seed (the same on both backends)."""
    from incident.collation import sort_key
    from incident.validation import fold

    rng = random.Random(DATA_SEED)
    now = dt.datetime.now(dt.timezone.utc)
    rows = []
    for i in range(1, count + 1):
        kind = rng.choice(KINDS)
        name = f"{kind.replace('_', ' ').capitalize()} {i:06d}"
        owner = rng.choice(OWNERS)
        unit = UNITS.get(kind, "db")
        notes = "" if rng.random() < 0.8 else f"Raktár {rng.randint(1, 40)}"
        rows.append({
            "name": name,
            "name_key": sort_key(name),  # as the model stores it
            "kind": kind,
            "quantity": 500 if kind == "sandbags" else rng.randint(1, 12),
            "unit": unit,
            "capacity": rng.randint(40, 600) if kind == "shelter" else None,
            "status": rng.choices(STATUSES, STATUS_WEIGHTS)[0],
            "owner": owner,
            "notes": notes,
            # What operations.resources._apply stores, so that ?q= would behave as in production.
            "search": fold(" ".join((name, owner, unit, notes))),
            "lon": rng.uniform(AREA[0], AREA[2]),
            "lat": rng.uniform(AREA[1], AREA[3]),
            "created_at": now,
            "updated_at": now,
        })
    return rows


def load_resources(app, rows: list[dict]) -> float:
    """Bulk-insert ``rows`` in one transaction (executemany, not the ORM); seconds taken.

    SpatiaLite keeps its R*Tree by triggers and the PostGIS GiST indexes are ordinary indexes,
    so plain INSERTs leave both spatial indexes up to date."""
    from sqlalchemy import bindparam, text

    from incident.database import UTCDateTime
    from incident.extensions import db

    with app.app_context():
        engine = db.engine
        point = ("MakePoint(:lon, :lat, 4326)" if engine.dialect.name == "sqlite"
                 else "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)")
        insert = text(
            "INSERT INTO resources (name, name_key, kind, quantity, unit, capacity, status, owner, contact_id,"
            " location, notes, search, created_at, updated_at, version)"
            " VALUES (:name, :name_key, :kind, :quantity, :unit, :capacity, :status, :owner, NULL,"
            f" {point}, :notes, :search, :created_at, :updated_at, 1)"
        ).bindparams(
            # The app's own column type: naive UTC text on SQLite, timestamptz on PostgreSQL.
            bindparam("created_at", type_=UTCDateTime()),
            bindparam("updated_at", type_=UTCDateTime()),
        )
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert, rows)
        if engine.dialect.name == "postgresql":
            # ANALYZE: fresh statistics, or the planner guesses the table is small. VACUUM too (it
            # cannot run in a transaction): otherwise autovacuum wakes up for the 100,000 new rows
            # in the middle of the measurement, and a settled table has its visibility map set.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE) resources"))
        elapsed = time.perf_counter() - started
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM resources")).scalar_one()
        if stored != len(rows):
            raise RuntimeError(f"{stored} resources stored, {len(rows)} inserted")
        return elapsed


def make_token(app) -> str:
    """A bearer token of a fresh officer."""
    from incident.extensions import db
    from incident.operations.users import create_user
    from incident.operations.sessions import issue_token

    with app.app_context():
        user = create_user("bench-officer@riado-bench.example", "bench-password-not-secret", "officer")
        token = issue_token(user, "bench")
        db.session.commit()
        return token


def query_points(count: int) -> list[tuple[float, float]]:
    rng = random.Random(QUERY_SEED)
    return [(rng.uniform(AREA[0], AREA[2]), rng.uniform(AREA[1], AREA[3])) for _ in range(count)]


# The HTTP server ---------------------------------------------------------------------------


class ServerSide:
    """WSGI middleware: server-side time of each request and the part of it spent in the
    database (SQLAlchemy cursor events in the serving thread), optionally under cProfile."""

    def __init__(self, app, engine):
        from sqlalchemy import event

        self.app = app
        self.local = threading.local()
        self.wsgi_ms: list[float] = []
        self.db_ms: list[float] = []
        self.statements: list[int] = []
        self.profile: cProfile.Profile | None = None
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args):
        self.local.sql_started = time.perf_counter()

    def _after(self, *_args):
        if getattr(self.local, "active", False):
            self.local.db += time.perf_counter() - self.local.sql_started
            self.local.count += 1

    def reset(self):
        self.wsgi_ms.clear()
        self.db_ms.clear()
        self.statements.clear()

    def __call__(self, environ, start_response):
        local = self.local
        local.active, local.db, local.count = True, 0.0, 0
        profile = self.profile
        if profile is not None:
            profile.enable()  # profiles this (the serving) thread only
        started = time.perf_counter()
        try:
            # Materialise the body so that its generation is inside the measurement.
            body = b"".join(self.app(environ, start_response))
        finally:
            elapsed = time.perf_counter() - started
            if profile is not None:
                profile.disable()
            local.active = False
        self.wsgi_ms.append(elapsed * 1000)
        self.db_ms.append(local.db * 1000)
        self.statements.append(local.count)
        return [body]


def serve(wsgi_app):
    """Serve ``wsgi_app`` on 127.0.0.1 (a free port) in a background thread."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Handler(WSGIRequestHandler):
        # The response goes out as two writes (headers, body): with Nagle's algorithm the
        # second waits for the client's delayed ACK, adding ~40 ms that no real server has.
        disable_nagle_algorithm = True

        def log_request(self, code="-", size="-"):
            pass  # one line per request would be measured too

    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True, request_handler=Handler)
    thread = threading.Thread(target=server.serve_forever, name="bench-http", daemon=True)
    thread.start()
    return server, thread


class ApiClient:
    """One persistent keep-alive connection with TCP_NODELAY: the client adds little."""

    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def nearest(self, lon: float, lat: float) -> tuple[int, bytes]:
        query = urlencode({"lat": repr(lat), "lon": repr(lon), "limit": LIMIT})
        self.conn.request("GET", f"/api/v1/resources?{query}", headers=self.headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def close(self):
        self.conn.close()


# Hand-written SQL --------------------------------------------------------------------------

PG_SQL = (
    "SELECT id, ST_Distance(location::geography, ref) AS d"
    " FROM resources, (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography AS ref) AS p"
    " ORDER BY location::geography <-> ref LIMIT 5"
)
KNN_SQL = (
    "SELECT fid, distance FROM KNN WHERE f_table_name = 'resources' AND f_geometry_column = 'location'"
    " AND ref_geometry = MakePoint(?, ?, 4326) AND max_items = 5"
)

KNN_PROBE = """
import json, sys
from incident.database import spatialite_library, sqlite_dbapi
conn = sqlite_dbapi().connect(sys.argv[1])
conn.enable_load_extension(True)
conn.load_extension(spatialite_library())
version = conn.execute("SELECT sqlite_version() || ' with SpatiaLite ' || spatialite_version()").fetchone()[0]
rows = conn.execute(sys.argv[2], (19.05, 47.5)).fetchall()
print(json.dumps({"version": version, "rows": len(rows)}), flush=True)
conn.close()
"""


def probe_knn(path: str) -> str | None:
    """Why the SpatiaLite KNN virtual table cannot be used here, or None if it can.

    Tried in a child process: with some SQLite/SpatiaLite pairs it answers nothing and then
    crashes the process when the connection closes."""
    child = subprocess.run(
        [sys.executable, "-c", KNN_PROBE, path, KNN_SQL],
        capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
    )
    try:
        found = json.loads(child.stdout.splitlines()[0])
    except (IndexError, ValueError):
        error = (child.stderr.strip().splitlines() or ["no output"])[-1]
        return f"the KNN virtual table failed ({error})"
    problems = []
    if found["rows"] != LIMIT:
        problems.append(f"returned {found['rows']} rows instead of {LIMIT}")
    if child.returncode < 0:
        problems.append(f"crashed the process when the connection closed ({signal.Signals(-child.returncode).name})")
    elif child.returncode:
        problems.append(f"failed when the connection closed (exit status {child.returncode})")
    return f"KNN {' and '.join(problems)}, on SQLite {found['version']}" if problems else None


class HandSql:
    """The reference statement on the driver connection (autocommit, no SQLAlchemy around it).
    ``skip`` says why there is none."""

    def __init__(self, engine):
        self.pooled = engine.raw_connection()
        self.conn = self.pooled.driver_connection
        self.skip: str | None = None
        if engine.dialect.name == "postgresql":
            self.conn.rollback()  # the pool's pre-ping may have begun a transaction
            self.conn.autocommit = True
            self.label, self.sql, self.params = "hand SQL (<-> geography)", PG_SQL, lambda lon, lat: {"lon": lon, "lat": lat}
        else:
            # The driver connection is in autocommit already (see incident/database.py).
            self.label, self.sql, self.params = "hand SQL (KNN vtable)", KNN_SQL, lambda lon, lat: (lon, lat)
            self.skip = probe_knn(engine.url.database)

    def run(self, lon: float, lat: float) -> list[tuple[int, float]]:
        cur = self.conn.cursor()
        try:
            cur.execute(self.sql, self.params(lon, lat))
            return [(int(i), float(d)) for i, d in cur.fetchall()]
        finally:
            cur.close()

    def close(self):
        if getattr(self.conn, "autocommit", None) is True:  # psycopg: as the pool expects it
            self.conn.autocommit = False
        self.pooled.close()


# The measurement ---------------------------------------------------------------------------


def summary(samples_ms: list[float]) -> tuple[float, float]:
    """(median, p95) in ms."""
    if not samples_ms:
        return float("nan"), float("nan")
    p95 = statistics.quantiles(samples_ms, n=100, method="inclusive")[94] if len(samples_ms) > 1 else samples_ms[0]
    return statistics.median(samples_ms), p95


def check_api(status: int, body: bytes, expected) -> str | None:
    """What is wrong with an API answer compared with nearest()'s, or None."""
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}"
    items = json.loads(body)["items"]
    if len(items) != LIMIT:
        return f"{len(items)} items, not {LIMIT}"
    distances = [item.get("distance_m") for item in items]
    if any(d is None for d in distances) or distances != sorted(distances):
        return f"not ordered by distance_m: {distances}"
    ids = [item["id"] for item in items]
    if ids != [hit.id for hit in expected]:
        return f"ids {ids} but nearest() gives {[hit.id for hit in expected]}"
    for item, hit in zip(items, expected):
        if abs(item["distance_m"] - hit.distance_m) > 0.051:  # the API rounds to 0.1 m
            return f"id {hit.id}: distance_m {item['distance_m']} but nearest() gives {hit.distance_m:.3f}"
    return None


def run_backend(backend: str, args, workdir: Path) -> dict:
    """Set up one backend, measure, and return the figures."""
    from incident.extensions import db
    from incident.geo import nearest
    from incident.models import Resource

    result = {"backend": backend, "rows": args.rows, "errors": 0}
    url, drop = create_database(backend, workdir, args.pg_url)
    app = server = client = hand = None
    try:
        app = build_app(url)
        with app.app_context():
            result["version"] = app.config.get("RIADO_DATABASE_VERSION", "")
        rows = resource_rows(args.rows)
        result["load_s"] = load_resources(app, rows)
        del rows
        token = make_token(app)

        with app.app_context():
            server_side = ServerSide(app, db.engine)
        server, _thread = serve(server_side)
        client = ApiClient(server.server_port, token)

        points = query_points(WARM_UP + args.queries)
        times = {"api": [], "nearest": [], "hand": []}
        mismatches: list[str] = []
        hand_differs = 0
        with app.app_context():
            hand = HandSql(db.engine)
            result["hand_label"] = hand.label
            result["hand_skip"] = hand.skip
            for n, (lon, lat) in enumerate(points):
                timed = n >= WARM_UP
                if n == WARM_UP:
                    server_side.reset()

                started = time.perf_counter()
                hits = nearest(Resource, lon, lat, LIMIT)
                # End the transaction as a request does (on SQLite it holds the write lock:
                # BEGIN IMMEDIATE, see incident/database.py).
                db.session.rollback()
                elapsed = time.perf_counter() - started
                if timed:
                    times["nearest"].append(elapsed * 1000)

                if hand.skip is None:
                    started = time.perf_counter()
                    reference = hand.run(lon, lat)
                    elapsed = time.perf_counter() - started
                    if timed:
                        times["hand"].append(elapsed * 1000)
                    # Informational only: <-> ranks on the sphere and KNN on its own metric,
                    # nearest() on the spheroid, so near-ties may come out in another order.
                    if {i for i, _ in reference} != {h.id for h in hits}:
                        hand_differs += 1

                started = time.perf_counter()
                status, body = client.nearest(lon, lat)
                elapsed = time.perf_counter() - started
                if timed:
                    times["api"].append(elapsed * 1000)
                problem = check_api(status, body, hits)
                if problem is not None:
                    mismatches.append(f"({lon:.5f}, {lat:.5f}): {problem}")

            if hand.skip is None:
                # One sample of the hand-written statement's distances, to show its metric.
                lon, lat = points[0]
                result["hand_sample"] = (hand.run(lon, lat)[0], nearest(Resource, lon, lat, 1)[0])
                db.session.rollback()

        result["times"] = times
        result["mismatches"] = mismatches
        result["hand_differs"] = hand_differs
        result["errors"] += len(mismatches)
        result["server"] = {
            "wsgi": summary(server_side.wsgi_ms),
            "db": summary(server_side.db_ms),
            "statements": statistics.median(server_side.statements) if server_side.statements else 0,
        }
        if args.profile:
            profiled = points[WARM_UP:][:PROFILE_REQUESTS]
            result["profiled"] = len(profiled)
            result["profile"] = profile_api(server_side, client, profiled)
    finally:
        if client is not None:
            client.close()
        if server is not None:
            server.shutdown()
            server.server_close()
        if app is not None:
            with app.app_context():
                if hand is not None:
                    hand.close()
                db.session.remove()
                db.engine.dispose()
        drop()
    return result


def profile_api(server_side: ServerSide, client: ApiClient, points) -> str:
    """cProfile of the serving thread over ``points`` API requests (after the timed run, so
    that the profiler's overhead is not in the figures): the top functions by cumulative time."""
    server_side.profile = cProfile.Profile()
    try:
        for lon, lat in points:
            client.nearest(lon, lat)
    finally:
        profile, server_side.profile = server_side.profile, None
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(40)
    out.write(f"(per request: divide by {len(points)})\n")
    stats.sort_stats("tottime").print_stats(25)
    return out.getvalue()


# Report ------------------------------------------------------------------------------------


def ratio(a: float, b: float) -> str:
    return "–" if math.isnan(b) or not b else f"{a / b:.1f}×"


def report(result: dict) -> None:
    backend = result["backend"]
    print(f"\n== {BACKEND_TITLES[backend]} ({result.get('version', '')}) ==")
    analyzed = " incl. VACUUM (ANALYZE)" if backend == "postgis" else ""
    print(f"rows          {result['rows']:,} loaded in {result['load_s']:.2f} s{analyzed} "
          f"({result['rows'] / result['load_s']:,.0f} rows/s)")
    times = result["times"]
    queries = len(times["api"])
    print(f"queries       {queries} nearest-{LIMIT} from random points (after {WARM_UP} warm-up)")
    print(f"{'':34}{'median ms':>10}{'p95 ms':>10}")
    api_med, api_p95 = summary(times["api"])
    near_med, near_p95 = summary(times["nearest"])
    print(f"{'API (HTTP GET, keep-alive)':34}{api_med:10.2f}{api_p95:10.2f}")
    print(f"{'nearest() (the app’s SQL)':34}{near_med:10.2f}{near_p95:10.2f}")
    hand_med = float("nan")
    if result["hand_skip"]:
        print(f"{result['hand_label']:34}  skipped: {result['hand_skip']}")
    else:
        hand_med, hand_p95 = summary(times["hand"])
        print(f"{result['hand_label']:34}{hand_med:10.2f}{hand_p95:10.2f}")
    server = result["server"]
    print(f"{'  server side of the API: WSGI app':34}{server['wsgi'][0]:10.2f}{server['wsgi'][1]:10.2f}")
    print(f"{'  of which in cursor.execute':34}{server['db'][0]:10.2f}{server['db'][1]:10.2f}"
          f"   ({server['statements']:.0f} SQL statements per request)")
    print(f"API / nearest()   {ratio(api_med, near_med)}")
    print(f"API / hand SQL    {ratio(api_med, hand_med)}")
    if result["mismatches"]:
        print(f"API vs nearest(): {len(result['mismatches'])} MISMATCHES")
        for line in result["mismatches"][:10]:
            print("  " + line)
    else:
        print(f"API vs nearest(): 0 mismatches ({queries + WARM_UP} answers checked: "
              f"{LIMIT} items, ordered by distance_m, same ids and distances)")
    if not result["hand_skip"]:
        (hid, hdist), nearest_hit = result["hand_sample"]
        print(f"hand SQL vs nearest(): {result['hand_differs']} of {queries + WARM_UP} differ in their set of ids "
              f"(informational; e.g. id {hid}: {hdist:.6g} by hand, {nearest_hit.distance_m:.1f} m by nearest())")
    met = api_med <= GOAL_MS
    print(f"goal API median ≤ {GOAL_MS:g} ms: {'met' if met else 'NOT met'} ({api_med:.2f} ms)")
    result["api_med"], result["near_med"], result["hand_med"], result["met"] = api_med, near_med, hand_med, met
    if "profile" in result:
        print(f"\n-- cProfile of the serving thread, {result['profiled']} API requests --")
        print(result["profile"])


def table(results: list[dict]) -> None:
    print("\n== Summary ==")
    head = (f"{'backend':10}{'rows':>9}{'load s':>8}{'API med':>9}{'API p95':>9}{'nearest()':>11}"
            f"{'hand SQL':>10}{'API/near':>10}{'API/hand':>10}  goal ≤{GOAL_MS:g} ms")
    print(head)
    print("-" * len(head))
    for r in results:
        if "api_med" not in r:
            print(f"{r['backend']:10}  failed: {r.get('failure', 'see above')}")
            continue
        api_p95 = summary(r["times"]["api"])[1]
        hand = "skipped" if r["hand_skip"] else f"{r['hand_med']:.2f}"
        print(f"{r['backend']:10}{r['rows']:>9,}{r['load_s']:8.2f}{r['api_med']:9.2f}{api_p95:9.2f}"
              f"{r['near_med']:11.2f}{hand:>10}{ratio(r['api_med'], r['near_med']):>10}"
              f"{ratio(r['api_med'], r['hand_med']):>10}  {'met' if r['met'] else 'NOT met'}")
    print("(milliseconds; median unless marked p95)")


def summarise(results: list[dict]) -> None:
    """The figures for bench/all.py's table (with RIADO_BENCH_SUMMARY set, see bench/_summary.py)."""
    from bench._summary import failed, record

    for r in results:
        if "api_med" not in r:
            failed("spatial", r["backend"], r.get("failure", "see above"))
            continue
        record("spatial", r["backend"], "rows", r["rows"], "")
        record("spatial", r["backend"], "nearest-5 API median", r["api_med"], "ms", f"≤ {GOAL_MS:g} ms", r["met"])
        record("spatial", r["backend"], "nearest-5 API p95", summary(r["times"]["api"])[1], "ms")
        record("spatial", r["backend"], "nearest() median", r["near_med"], "ms")
        record("spatial", r["backend"], "hand SQL median", None if r["hand_skip"] else r["hand_med"], "ms")
        record("spatial", r["backend"], "API ÷ nearest()", r["api_med"] / r["near_med"] if r["near_med"] else None, "×")
        record("spatial", r["backend"], "checks", "ok" if not r["errors"] else f"{r['errors']} mismatches", "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgis", "both"), default="both")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--pg-url", default=os.environ.get("TEST_PG_URL", DEFAULT_PG_URL),
                        help="an administrative PostgreSQL URL; the bench creates and drops its own database")
    parser.add_argument("--profile", action="store_true",
                        help=f"afterwards, cProfile {PROFILE_REQUESTS} API requests on the serving thread")
    args = parser.parse_args(argv)
    if args.rows < LIMIT or args.queries < 1:
        parser.error(f"--rows must be at least {LIMIT} and --queries at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="riado-bench-"))
    # The app reads its settings at create_app: a private instance folder (secret key, queue
    # file), no Redis, no embedded worker.
    os.environ["RIADO_INSTANCE_PATH"] = str(workdir / "instance")
    for key in ("REDIS_URL", "SECRET_KEY", "RIADO_EMBEDDED_WORKER"):
        os.environ.pop(key, None)

    backends = ("sqlite", "postgis") if args.backend == "both" else (args.backend,)
    results = []
    try:
        for backend in backends:
            print(f"\n… {BACKEND_TITLES[backend]}: creating the database and loading {args.rows:,} resources",
                  flush=True)
            try:
                result = run_backend(backend, args, workdir)
            except Exception as exc:  # noqa: BLE001 (report it, then measure the other backend)
                traceback.print_exc()
                results.append({"backend": backend, "errors": 1, "failure": " ".join(str(exc).split())[:120]})
                continue
            report(result)
            results.append(result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table(results)
    summarise(results)
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
